/*
 * buf.h — a growable byte buffer with a hard maximum (curl's dynbuf is the
 * model).  Any size a client controls goes into one of these, so it can
 * never make the process allocate without bound.  The contents are always
 * NUL-terminated (the NUL is not counted in len).
 *
 * oc_buf_init/oc_buf_cleanup: the caller owns the struct; the buffer owns
 * p.  oc_buf_cleanse wipes before freeing (PINs, keys).
 */
#ifndef ONECERT_BUF_H
#define ONECERT_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct oc_buf {
	unsigned char *p;
	size_t len;
	size_t cap;
	size_t max;   /* the most len may ever be */
};

void oc_buf_init(struct oc_buf *b, size_t max);
void oc_buf_cleanup(struct oc_buf *b);
void oc_buf_cleanse(struct oc_buf *b);       /* wipe, then cleanup */
void oc_buf_reset(struct oc_buf *b);         /* len = 0, keep memory */
/* Returns 0, OC_ETOOBIG (nothing appended) or OC_ENOMEM. */
int oc_buf_add(struct oc_buf *b, const void *data, size_t len);
int oc_buf_adds(struct oc_buf *b, const char *s);
int oc_buf_printf(struct oc_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int oc_buf_vprintf(struct oc_buf *b, const char *fmt, va_list ap);
/* Hand the memory to the caller (free() it); the buffer becomes empty. */
unsigned char *oc_buf_steal(struct oc_buf *b, size_t *len);

/* Read a whole file into b (at most b->max bytes: OC_ETOOBIG beyond). */
int oc_buf_read_file(struct oc_buf *b, const char *path);
/* Write data to path atomically: temp file in the same folder, fsync,
 * rename, fsync the folder.  mode as for open(2). */
int oc_write_file_atomic(const char *path, const void *data, size_t len, int mode);

#endif
