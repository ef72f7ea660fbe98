/*
 * buf.c — bounded growable buffers and atomic file writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "onecert/buf.h"
#include "onecert/error.h"

void
oc_buf_init(struct oc_buf *b, size_t max)
{
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void
oc_buf_cleanup(struct oc_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void
oc_buf_cleanse(struct oc_buf *b)
{
	if (b->p != NULL)
		OPENSSL_cleanse(b->p, b->cap);
	oc_buf_cleanup(b);
}

void
oc_buf_reset(struct oc_buf *b)
{
	b->len = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

static int
grow(struct oc_buf *b, size_t add)
{
	size_t need, ncap;
	unsigned char *np;

	/* len + add + 1 (the NUL) must not wrap, even with max = SIZE_MAX. */
	if (add > b->max || b->len > b->max - add || b->len + add == SIZE_MAX)
		return OC_ETOOBIG;
	need = b->len + add + 1;
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 64;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	if (b->max < SIZE_MAX && ncap > b->max + 1)
		ncap = b->max + 1;
	np = realloc(b->p, ncap);
	if (np == NULL)
		return OC_ENOMEM;
	b->p = np;
	b->cap = ncap;
	return 0;
}

int
oc_buf_add(struct oc_buf *b, const void *data, size_t len)
{
	int rc;

	if ((rc = grow(b, len)) != 0)
		return rc;
	if (len > 0)
		memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
	return 0;
}

int
oc_buf_adds(struct oc_buf *b, const char *s)
{
	return oc_buf_add(b, s, strlen(s));
}

int
oc_buf_vprintf(struct oc_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n, rc;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return OC_EINVAL;
	if ((rc = grow(b, (size_t)n)) != 0)
		return rc;
	vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int
oc_buf_printf(struct oc_buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = oc_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

unsigned char *
oc_buf_steal(struct oc_buf *b, size_t *len)
{
	unsigned char *p = b->p;

	if (p == NULL && (p = calloc(1, 1)) == NULL)
		return NULL;
	if (len != NULL)
		*len = b->len;
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

int
oc_buf_read_file(struct oc_buf *b, const char *path)
{
	unsigned char tmp[8192];
	ssize_t r;
	int fd, rc = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? OC_ENOTFOUND : OC_EIO;
	for (;;) {
		r = read(fd, tmp, sizeof(tmp));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = OC_EIO;
			break;
		}
		if (r == 0)
			break;
		if ((rc = oc_buf_add(b, tmp, (size_t)r)) != 0)
			break;
	}
	close(fd);
	/* An empty file still gives a NUL-terminated "" (buf.h's promise):
	 * callers treat b->p as a string. */
	if (rc == 0 && b->p == NULL)
		rc = oc_buf_add(b, "", 0);
	return rc;
}

static atomic_uint tmp_seq;

int
oc_write_file_atomic(const char *path, const void *data, size_t len, int mode)
{
	char tmp[4096], dir[4096];
	const unsigned char *p = data;
	int fd = -1, dfd = -1, rc = OC_EIO;
	size_t off = 0;

	/* A name no other thread or process uses at the same time (two
	 * threads saving one file must not write into one temp file);
	 * created 0600 so nobody reads it half-written, chmod'ed below. */
	for (int tries = 0; fd < 0; tries++) {
		if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld.%u", path,
		    (long)getpid(), atomic_fetch_add(&tmp_seq, 1u)) >= (int)sizeof(tmp))
			return OC_EINVAL;
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 && (errno != EEXIST || tries >= 16))
			return OC_EIO;
	}
	while (off < len) {
		ssize_t w = write(fd, p + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto out;
		off += (size_t)w;
	}
	if (fchmod(fd, (mode_t)mode) != 0 || fsync(fd) != 0)
		goto out;
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto out;
	snprintf(dir, sizeof(dir), "%s", path);
	if ((dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		unlink(tmp);
	return rc;
}
