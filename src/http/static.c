/*
 * static.c — files under static_dir for GET/HEAD of paths no route claims.
 *
 * Path safety, in layers: the decoded path may not contain a "." or ".."
 * segment, an empty segment, a backslash or a dotfile (".git", ".env");
 * the file name is then resolved with realpath and must still lie under
 * the (realpath'd) static root, so a symbolic link cannot lead out; the
 * result must be a regular file.  Anything refused is a plain 404, the
 * same as a missing file.
 *
 * Files are read whole into memory (at most OC__STATIC_MAX) on the event
 * loop: they are small and in the page cache.  HTML gets "Cache-Control:
 * no-cache" (always revalidated, so a new release shows at once), the
 * rest is cacheable for an hour; an ETag from size and mtime answers
 * If-None-Match with 304.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onecert/log.h"
#include "http_int.h"

#define OC__STATIC_MAX (32u * 1024 * 1024)

static const struct {
	const char *ext, *type;
} types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".htm", "text/html; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".mjs", "text/javascript; charset=utf-8" },
	{ ".json", "application/json; charset=utf-8" },
	{ ".png", "image/png" },
	{ ".jpg", "image/jpeg" },
	{ ".jpeg", "image/jpeg" },
	{ ".svg", "image/svg+xml" },
	{ ".ico", "image/x-icon" },
	{ ".pdf", "application/pdf" },
	{ ".txt", "text/plain; charset=utf-8" },
	{ ".woff2", "font/woff2" },
};

static const char *
content_type(const char *path)
{
	const char *dot = strrchr(path, '.');

	if (dot != NULL && strchr(dot, '/') == NULL)
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (strcasecmp(dot, types[i].ext) == 0)
				return types[i].type;
	return "application/octet-stream";
}

/* The segments of a decoded URL path are acceptable. */
static bool
path_ok(const char *path)
{
	const char *seg = path;

	if (path[0] != '/' || strchr(path, '\\') != NULL)
		return false;
	while (*seg == '/') {
		const char *end;
		size_t n;

		seg++;
		end = strchr(seg, '/');
		n = end != NULL ? (size_t)(end - seg) : strlen(seg);
		if (n == 0)
			return end == NULL;   /* only a trailing "/" may be empty */
		if (seg[0] == '.')
			return false;         /* ".", "..", dotfiles */
		seg += n;
	}
	return *seg == '\0';
}

/* Resolve path under the static root: 0 and real (malloc'd) or -1. */
static int
resolve(const struct oc_http_server *srv, const char *path, char **real)
{
	char full[PATH_MAX];
	size_t rl = strlen(srv->static_root);
	int n;

	*real = NULL;
	if (!path_ok(path))
		return -1;
	n = snprintf(full, sizeof(full), "%s%s%s", srv->static_root, path,
	    path[strlen(path) - 1] == '/' ? "index.html" : "");
	if (n < 0 || (size_t)n >= sizeof(full))
		return -1;
	if ((*real = realpath(full, NULL)) == NULL)
		return -1;
	if (strncmp(*real, srv->static_root, rl) != 0 ||
	    ((*real)[rl] != '/' && (*real)[rl] != '\0')) {
		free(*real);
		*real = NULL;
		return -2;                    /* a link leads out */
	}
	return 0;
}

bool
oc__static_exists(const struct oc_http_server *srv, const char *path)
{
	char *real;
	struct stat st;
	bool ok;

	if (resolve(srv, path, &real) != 0)
		return false;
	ok = stat(real, &st) == 0 && S_ISREG(st.st_mode);
	free(real);
	return ok;
}

bool
oc__static_serve(struct oc_http_req *req)
{
	struct oc_http_server *srv = req->loop->srv;
	char *real = NULL, etag[64], qp[OC_LOG_QBUF];
	const char *inm;
	unsigned char *buf = NULL;
	struct stat st;
	size_t got = 0;
	int fd = -1, r;

	if ((r = resolve(srv, req->path, &real)) != 0) {
		if (r == -2 || !path_ok(req->path))
			oc_log(OC_LOG_WARN, "http.static_refused", "service=%s path=%s "
			    "peer=%s", srv->name, oc_log_q(qp, sizeof(qp), req->path),
			    req->peer);
		return false;
	}
	fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) != 0)
		goto missing;
	if (S_ISDIR(st.st_mode)) {
		char loc[PATH_MAX];

		/* /guides -> /guides/ (then index.html) */
		if (snprintf(loc, sizeof(loc), "%s/", req->path) >= (int)sizeof(loc))
			goto missing;
		close(fd);
		free(real);
		oc_http_set_header(req, "Location", loc);
		oc_http_reply(req, 301, "text/plain; charset=utf-8", NULL, 0);
		return true;
	}
	if (!S_ISREG(st.st_mode))
		goto missing;
	if ((unsigned long long)st.st_size > OC__STATIC_MAX) {
		oc_log(OC_LOG_ERROR, "http.static_too_big", "service=%s path=%s "
		    "size=%lld", srv->name, oc_log_q(qp, sizeof(qp), req->path),
		    (long long)st.st_size);
		goto missing;
	}
	snprintf(etag, sizeof(etag), "\"%llx-%llx\"",
	    (unsigned long long)st.st_size, (unsigned long long)st.st_mtime);
	oc_http_set_header(req, "ETag", etag);
	oc_http_set_header(req, "Cache-Control",
	    strncmp(content_type(real), "text/html", 9) == 0 ? "no-cache" :
	    "public, max-age=3600");
	inm = oc_http_req_header(req, "If-None-Match");
	if (inm != NULL && strcmp(inm, etag) == 0) {
		close(fd);
		free(real);
		oc_http_reply(req, 304, NULL, NULL, 0);
		return true;
	}
	if (st.st_size > 0 && (buf = malloc((size_t)st.st_size)) == NULL)
		goto missing;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;                    /* shrank underneath us */
		got += (size_t)n;
	}
	close(fd);
	oc__reply_owned(req, 200, content_type(real), buf, got);
	free(real);
	return true;
missing:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(real);
	return false;
}
