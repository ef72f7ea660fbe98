/*
 * json.h — small helpers on jansson for reading untrusted JSON bodies with
 * limits and clear errors, and for writing replies.
 */
#ifndef ONECERT_JSON_H
#define ONECERT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "onecert/error.h"

/* Parse at most max bytes of JSON; must be an object.  Caller owns the
 * result (json_decref).  OC_ETOOBIG / OC_EINVAL with a message that says
 * where parsing failed. */
json_t *oc_json_parse_object(const char *data, size_t len, size_t max, struct oc_err *err);

/* Member readers.  A member whose value is null counts as absent; when an
 * optional member is absent the readers return 0 and leave *out alone
 * (oc_json_get_str sets it to NULL).
 *
 * Read a string member.  required: absence is OC_EINVAL.  The value must be
 * valid UTF-8 without NUL and at most maxlen bytes.  *out is borrowed from
 * obj (NULL when absent and not required). */
int oc_json_get_str(json_t *obj, const char *key, bool required, size_t maxlen,
	const char **out, struct oc_err *err);
int oc_json_get_int(json_t *obj, const char *key, bool required, long long min,
	long long max, long long *out, struct oc_err *err);
int oc_json_get_bool(json_t *obj, const char *key, bool required, bool *out,
	struct oc_err *err);

/* {"error": {"code": "...", "message": "..."}}; caller owns the result. */
json_t *oc_json_error(const char *code, const char *message);

/* Serialize compactly (JSON_COMPACT | JSON_ENSURE_ASCII off, sorted keys
 * off); caller frees. */
char *oc_json_dumps(const json_t *v);

#endif
