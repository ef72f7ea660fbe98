/*
 * fuzz_static.c — which decoded URL paths reach a file under static_dir
 * (oc__static_exists, src/http/static.c: the checks oc__static_serve
 * makes before it opens anything).
 *
 * A scratch static root holds index.html, app.js, css/app.css,
 * guides/index.html, a dotfile (.env), a symbolic link to a file inside
 * (in.js) and one to a file outside the root (out.txt → ../secret.txt).
 * The input, cut at its first NUL, is the path.  Besides "no crash":
 * a path is served exactly when a separate reader here says so — it starts
 * with '/', holds no backslash, no empty segment but a trailing one, no
 * segment starting with '.' ("." and "..", dotfiles), and what it names
 * (index.html for a trailing '/'), with every link followed, is a regular
 * file inside the root.  So nothing outside the root, no dotfile, and no
 * directory is ever served.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/http_int.h"
#include "fuzz.h"

static struct oc_http_server srv;
static char base[PATH_MAX], root[PATH_MAX];

static const char *const files[] = { "secret.txt", "root/index.html",
    "root/app.js", "root/css/app.css", "root/guides/index.html",
    "root/.env" };
static const char *const dirs[] = { "root/css", "root/guides", "root" };

/* p = base/rel (p has PATH_MAX bytes) */
static void
at(char *p, const char *rel)
{
	if ((size_t)snprintf(p, PATH_MAX, "%s/%s", base, rel) >= PATH_MAX)
		abort();
}

static void
put(const char *rel, const char *target)
{
	char p[PATH_MAX];
	FILE *f;

	at(p, rel);
	if (target != NULL) {
		if (symlink(target, p) != 0)
			abort();
		return;
	}
	if ((f = fopen(p, "w")) == NULL)
		abort();
	fputs(rel, f);
	fclose(f);
}

static void
cleanup(void)
{
	char p[PATH_MAX];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		at(p, files[i]);
		unlink(p);
	}
	at(p, "root/in.js");
	unlink(p);
	at(p, "root/out.txt");
	unlink(p);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		at(p, dirs[i]);
		rmdir(p);
	}
	rmdir(base);
}

static void
setup(void)
{
	const char *dir = getenv("ONECERT_TEST_TMP");
	char p[PATH_MAX];

	if (dir != NULL && *dir != '\0')
		(void)mkdir(dir, 0700);
	else if ((dir = getenv("TMPDIR")) == NULL || *dir == '\0')
		dir = "/tmp";
	if ((size_t)snprintf(base, sizeof(base), "%s/onecert-fuzz-static-XXXXXX",
	    dir) >= sizeof(base) || mkdtemp(base) == NULL)
		abort();
	atexit(cleanup);
	for (size_t i = sizeof(dirs) / sizeof(dirs[0]); i-- > 0; ) {
		at(p, dirs[i]);
		if (mkdir(p, 0700) != 0)
			abort();
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		put(files[i], NULL);
	put("root/in.js", "app.js");
	put("root/out.txt", "../secret.txt");
	at(p, "root");
	if (realpath(p, root) == NULL)
		abort();
	srv.static_root = root;
	/* what must and must not be served, whatever the fuzzer does */
	FUZZ_CHECK(oc__static_exists(&srv, "/"));
	FUZZ_CHECK(oc__static_exists(&srv, "/in.js"));
	FUZZ_CHECK(oc__static_exists(&srv, "/guides/"));
	FUZZ_CHECK(!oc__static_exists(&srv, "/guides"));
	FUZZ_CHECK(!oc__static_exists(&srv, "/out.txt"));
	FUZZ_CHECK(!oc__static_exists(&srv, "/.env"));
	FUZZ_CHECK(!oc__static_exists(&srv, "/css/../app.js"));
}

/* The path rules, written again. */
static bool
ref_path_ok(const char *path)
{
	const char *seg;

	if (path[0] != '/' || strchr(path, '\\') != NULL)
		return false;
	for (seg = path + 1; ; ) {
		const char *end = strchr(seg, '/');

		if (end == NULL)
			return seg[0] != '.';   /* "" (trailing '/') is fine */
		if (end == seg || seg[0] == '.')
			return false;
		seg = end + 1;
	}
}

static bool
ref_served(const char *path)
{
	char *full, *real;
	size_t n = strlen(path), rl = strlen(root);
	struct stat st;
	bool ok;

	if (!ref_path_ok(path))
		return false;
	if ((full = malloc(rl + n + sizeof("index.html"))) == NULL)
		abort();
	sprintf(full, "%s%s%s", root, path, path[n - 1] == '/' ? "index.html" : "");
	real = strlen(full) < PATH_MAX ? realpath(full, NULL) : NULL;
	ok = real != NULL && strncmp(real, root, rl) == 0 && real[rl] == '/' &&
	    stat(real, &st) == 0 && S_ISREG(st.st_mode);
	free(real);
	free(full);
	return ok;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *path = fuzz_cstr(data, size);
	bool got;

	if (srv.static_root == NULL)
		setup();
	got = oc__static_exists(&srv, path);
	FUZZ_CHECK(got == ref_served(path));
	if (got) {
		FUZZ_CHECK(strstr(path, "/.") == NULL);
		FUZZ_CHECK(strstr(path, "out.txt") == NULL);
	}
	free(path);
	return 0;
}
