/*
 * error.h — onecert's error codes and error detail.
 *
 * Every function that can fail returns an int: 0 (OC_OK) on success or a
 * negative OC_E… code.  Functions that return a pointer return NULL and fill
 * an optional struct oc_err.  The detail string carries what the lower layer
 * said: the OpenSSL error queue, the PKCS#11 CK_RV name, the SQLite message.
 * The message (msg) is meant for a person and may be shown to an operator;
 * detail is for the log.
 */
#ifndef ONECERT_ERROR_H
#define ONECERT_ERROR_H

#include <stddef.h>

enum {
	OC_OK = 0,
	OC_EINVAL = -1,       /* bad input: malformed, wrong check digit, … */
	OC_ENOMEM = -2,
	OC_ENOTFOUND = -3,
	OC_ECONFLICT = -4,    /* the object's state forbids this transition */
	OC_EEXIST = -5,       /* already exists */
	OC_ECRYPTO = -6,      /* OpenSSL failed */
	OC_ETOKEN = -7,       /* PKCS#11 failed */
	OC_ESTORE = -8,       /* database failed */
	OC_EIO = -9,          /* file system / process I/O */
	OC_EPROFILE = -10,    /* certificate breaks its profile (our lint) */
	OC_EPERM = -11,       /* caller may not do this */
	OC_ETOOBIG = -12,     /* input over its size limit */
	OC_EPIN = -13,        /* wrong PIN, or PIN locked */
	OC_EUNSUPPORTED = -14,/* algorithm / mechanism not available */
	OC_EINTERNAL = -15,   /* broken invariant */
	OC_ECONFIG = -16,     /* bad or missing configuration */
};

struct oc_err {
	int code;
	char msg[256];     /* for a person: what went wrong, in plain words */
	char detail[768];  /* for the log: library error text */
};

void oc_err_clear(struct oc_err *err);

/* Set code and message (printf-style); err may be NULL.  Returns code so
 * that callers can write `return oc_err_set(err, OC_EINVAL, "…");`.  Also
 * clears the OpenSSL error queue so stale entries do not leak into the next
 * error. */
int oc_err_set(struct oc_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* As oc_err_set, and drains the OpenSSL error queue into err->detail. */
int oc_err_openssl(struct oc_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* As oc_err_set, and writes the CK_RV's name (e.g. CKR_PIN_INCORRECT) into
 * err->detail. */
int oc_err_ckr(struct oc_err *err, unsigned long rv, int code,
	const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Append text to err->detail (bounded). */
void oc_err_detail(struct oc_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The PKCS#11 name of a CK_RV ("CKR_PIN_INCORRECT"); static storage. */
const char *oc_ckr_name(unsigned long rv);

/* A stable machine-readable name for a code ("invalid_input"). */
const char *oc_err_name(int code);

/* The HTTP status that an error code maps to (400, 404, 409, …). */
int oc_err_http_status(int code);

#endif
