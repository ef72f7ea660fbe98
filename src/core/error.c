/*
 * error.c — filling struct oc_err, and the one table that maps error codes
 * to names and HTTP statuses.  The OpenSSL error queue is drained into the
 * detail so that a later, unrelated error never reports stale entries.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <p11-kit/pkcs11.h>

#include "onecert/error.h"

void
oc_err_clear(struct oc_err *err)
{
	if (err == NULL)
		return;
	err->code = 0;
	err->msg[0] = '\0';
	err->detail[0] = '\0';
}

/* Cut an incomplete UTF-8 sequence off the end of s (vsnprintf truncates
 * by bytes, and a message cut inside a Chinese character is not valid
 * UTF-8: jansson would refuse it in a JSON error reply). */
static void
trim_utf8(char *s)
{
	size_t len = strlen(s), i = len, need;
	unsigned char c;

	while (i > 0 && i > len - 4 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--;
	if (i == 0)
		return;
	c = (unsigned char)s[i - 1];
	if (c < 0x80)
		return;
	need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
	if (len - (i - 1) < need)
		s[i - 1] = '\0';
}

/* Formatted into a local buffer first: callers may pass err->msg or
 * err->detail itself as an argument ("…: %s", err->msg), and vsnprintf
 * into the buffer it reads from is undefined. */
static void
vset(struct oc_err *err, int code, const char *fmt, va_list ap)
{
	char msg[sizeof(err->msg)];

	if (vsnprintf(msg, sizeof(msg), fmt, ap) >= (int)sizeof(msg))
		trim_utf8(msg);
	err->code = code;
	memcpy(err->msg, msg, sizeof(msg));
	err->detail[0] = '\0';
}

int
oc_err_set(struct oc_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	ERR_clear_error();
	if (err == NULL)
		return code;
	va_start(ap, fmt);
	vset(err, code, fmt, ap);
	va_end(ap);
	return code;
}

void
oc_err_detail(struct oc_err *err, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (err == NULL)
		return;
	n = strlen(err->detail);
	if (n >= sizeof(err->detail) - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(err->detail + n, sizeof(err->detail) - n, fmt, ap);
	va_end(ap);
}

int
oc_err_openssl(struct oc_err *err, int code, const char *fmt, ...)
{
	va_list ap;
	unsigned long e;
	const char *data;
	int flags;
	char buf[256];

	if (err == NULL) {
		ERR_clear_error();
		return code;
	}
	va_start(ap, fmt);
	vset(err, code, fmt, ap);
	va_end(ap);
	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		oc_err_detail(err, "%s%s%s%s", err->detail[0] ? "; " : "", buf,
		    (flags & ERR_TXT_STRING) && data && *data ? ": " : "",
		    (flags & ERR_TXT_STRING) && data ? data : "");
	}
	return code;
}

int
oc_err_ckr(struct oc_err *err, unsigned long rv, int code, const char *fmt, ...)
{
	va_list ap;

	ERR_clear_error();
	if (err == NULL)
		return code;
	va_start(ap, fmt);
	vset(err, code, fmt, ap);
	va_end(ap);
	oc_err_detail(err, "%s (0x%lx)", oc_ckr_name(rv), rv);
	return code;
}

const char *
oc_ckr_name(unsigned long rv)
{
	switch (rv) {
#define R(x) case x: return #x;
	R(CKR_OK) R(CKR_CANCEL) R(CKR_HOST_MEMORY) R(CKR_SLOT_ID_INVALID)
	R(CKR_GENERAL_ERROR) R(CKR_FUNCTION_FAILED) R(CKR_ARGUMENTS_BAD)
	R(CKR_ATTRIBUTE_READ_ONLY) R(CKR_ATTRIBUTE_SENSITIVE)
	R(CKR_ATTRIBUTE_TYPE_INVALID) R(CKR_ATTRIBUTE_VALUE_INVALID)
	R(CKR_DATA_INVALID) R(CKR_DATA_LEN_RANGE) R(CKR_DEVICE_ERROR)
	R(CKR_DEVICE_MEMORY) R(CKR_DEVICE_REMOVED) R(CKR_ENCRYPTED_DATA_INVALID)
	R(CKR_FUNCTION_NOT_SUPPORTED) R(CKR_KEY_HANDLE_INVALID)
	R(CKR_KEY_SIZE_RANGE) R(CKR_KEY_TYPE_INCONSISTENT)
	R(CKR_KEY_FUNCTION_NOT_PERMITTED) R(CKR_MECHANISM_INVALID)
	R(CKR_MECHANISM_PARAM_INVALID) R(CKR_OBJECT_HANDLE_INVALID)
	R(CKR_OPERATION_ACTIVE) R(CKR_OPERATION_NOT_INITIALIZED)
	R(CKR_PIN_INCORRECT) R(CKR_PIN_INVALID) R(CKR_PIN_LEN_RANGE)
	R(CKR_PIN_EXPIRED) R(CKR_PIN_LOCKED) R(CKR_SESSION_CLOSED)
	R(CKR_SESSION_HANDLE_INVALID) R(CKR_SESSION_READ_ONLY)
	R(CKR_SIGNATURE_INVALID) R(CKR_SIGNATURE_LEN_RANGE)
	R(CKR_TEMPLATE_INCOMPLETE) R(CKR_TEMPLATE_INCONSISTENT)
	R(CKR_TOKEN_NOT_PRESENT) R(CKR_TOKEN_NOT_RECOGNIZED)
	R(CKR_TOKEN_WRITE_PROTECTED) R(CKR_USER_ALREADY_LOGGED_IN)
	R(CKR_USER_NOT_LOGGED_IN) R(CKR_USER_PIN_NOT_INITIALIZED)
	R(CKR_USER_TYPE_INVALID) R(CKR_BUFFER_TOO_SMALL)
	R(CKR_CRYPTOKI_NOT_INITIALIZED) R(CKR_CRYPTOKI_ALREADY_INITIALIZED)
	R(CKR_DOMAIN_PARAMS_INVALID) R(CKR_CURVE_NOT_SUPPORTED)
	R(CKR_SESSION_READ_ONLY_EXISTS) R(CKR_USER_ANOTHER_ALREADY_LOGGED_IN)
	R(CKR_SESSION_COUNT) R(CKR_SESSION_PARALLEL_NOT_SUPPORTED)
	R(CKR_SESSION_EXISTS)
#undef R
	default:
		return "CKR_UNKNOWN";
	}
}

static const struct {
	int code;
	const char *name;
	int http;
} table[] = {
	{ OC_OK, "ok", 200 },
	{ OC_EINVAL, "invalid_input", 400 },
	{ OC_ENOMEM, "out_of_memory", 503 },
	{ OC_ENOTFOUND, "not_found", 404 },
	{ OC_ECONFLICT, "conflict", 409 },
	{ OC_EEXIST, "already_exists", 409 },
	{ OC_ECRYPTO, "crypto_error", 500 },
	{ OC_ETOKEN, "token_error", 502 },
	{ OC_ESTORE, "store_error", 503 },
	{ OC_EIO, "io_error", 500 },
	{ OC_EPROFILE, "profile_violation", 422 },
	{ OC_EPERM, "forbidden", 403 },
	{ OC_ETOOBIG, "too_large", 413 },
	{ OC_EPIN, "pin_error", 403 },
	{ OC_EUNSUPPORTED, "unsupported", 400 },
	{ OC_EINTERNAL, "internal_error", 500 },
	{ OC_ECONFIG, "config_error", 500 },
};

const char *
oc_err_name(int code)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].code == code)
			return table[i].name;
	return "internal_error";
}

int
oc_err_http_status(int code)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].code == code)
			return table[i].http;
	return 500;
}
