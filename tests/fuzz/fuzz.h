/*
 * fuzz.h — what the fuzz targets share: the libFuzzer entry point's
 * prototype, a check that stops the run when a property breaks (libFuzzer
 * and replay.c both report an abort as a crash, with the input), and a
 * scratch file for the loaders that only read from a path.
 *
 * Header-only on purpose: each target is one .c file plus this, linked
 * either with libFuzzer (make fuzz) or with replay.c (ctest).
 */
#ifndef ONECERT_FUZZ_H
#define ONECERT_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property the code promises; a break is a bug like a crash is. */
#define FUZZ_CHECK(cond) do {                                           \
	if (!(cond)) {                                                  \
		fprintf(stderr, "%s:%d: fuzz check failed: %s\n",       \
		    __FILE__, __LINE__, #cond);                         \
		abort();                                                \
	}                                                               \
} while (0)

/* data as a NUL-terminated string (cut at the first NUL it holds);
 * caller frees. */
static inline char *
fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* Strict UTF-8 without C0/C1 controls or DEL: what oc_cert_ext_string and
 * oc_cert_subject_string promise about their output. */
static inline int
fuzz_clean_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		unsigned int cp;
		int n;

		if (*p < 0x80) {
			if (*p < 0x20 || *p == 0x7f)
				return 0;
			p++;
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf)
			n = 1, cp = *p & 0x1f;
		else if (*p >= 0xe0 && *p <= 0xef)
			n = 2, cp = *p & 0x0f;
		else if (*p >= 0xf0 && *p <= 0xf4)
			n = 3, cp = *p & 0x07;
		else
			return 0;
		for (int k = 1; k <= n; k++) {
			if ((p[k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
		    (cp >= 0x80 && cp < 0xa0))
			return 0;
		p += n + 1;
	}
	return 1;
}

/*
 * Scratch files: fuzz_tmpfile(i) is the path of the i-th (0 or 1) private
 * file in $ONECERT_TEST_TMP (as ctest sets it for every test; created if
 * missing), else $TMPDIR, else /tmp; created on first use and removed at
 * exit.  fuzz_tmpfile_put writes data into it, replacing what was there.
 */
static char fuzz_tmp_paths[2][512];

static void
fuzz_tmp_cleanup(void)
{
	for (int i = 0; i < 2; i++)
		if (fuzz_tmp_paths[i][0] != '\0')
			unlink(fuzz_tmp_paths[i]);
}

static inline const char *
fuzz_tmpfile(int i)
{
	static int registered;
	const char *dir;
	int fd;

	if (fuzz_tmp_paths[i][0] != '\0')
		return fuzz_tmp_paths[i];
	if ((dir = getenv("ONECERT_TEST_TMP")) != NULL && *dir != '\0')
		(void)mkdir(dir, 0700);
	else if ((dir = getenv("TMPDIR")) == NULL || *dir == '\0')
		dir = "/tmp";
	snprintf(fuzz_tmp_paths[i], sizeof(fuzz_tmp_paths[i]),
	    "%s/onecert-fuzz-XXXXXX", dir);
	if ((fd = mkstemp(fuzz_tmp_paths[i])) < 0) {
		perror(fuzz_tmp_paths[i]);
		abort();
	}
	close(fd);
	if (!registered) {
		atexit(fuzz_tmp_cleanup);
		registered = 1;
	}
	return fuzz_tmp_paths[i];
}

static inline const char *
fuzz_tmpfile_put(int i, const uint8_t *data, size_t size)
{
	const char *path = fuzz_tmpfile(i);
	FILE *f;

	if ((f = fopen(path, "wb")) == NULL ||
	    (size > 0 && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
		perror(path);
		abort();
	}
	return path;
}

#endif
