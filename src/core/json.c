/*
 * json.c — reading untrusted JSON bodies with jansson, and writing replies.
 *
 * The parser runs with JSON_REJECT_DUPLICATES (two "uscc" members must not
 * let a front end and a back end read different values) and without
 * JSON_ALLOW_NUL, so "\u0000" is refused and C strings taken from a parsed
 * document are whole.  JSON_DECODE_ANY only lets a scalar body reach the
 * clearer "must be an object" message.  Size is checked before parsing,
 * depth is bounded by jansson itself (JSON_PARSER_MAX_DEPTH).  The member
 * readers check again (length, NUL, UTF-8) because an object may also have
 * been built in code with json_stringn_nocheck.
 *
 * A member whose value is JSON null counts as absent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onecert/json.h"
#include "onecert/utf8.h"

json_t *
oc_json_parse_object(const char *data, size_t len, size_t max,
    struct oc_err *err)
{
	json_error_t jerr;
	json_t *v = NULL, *ret = NULL;

	if (data == NULL && len > 0) {
		oc_err_set(err, OC_EINVAL, "参数无效 / bad argument");
		goto out;
	}
	if (len > max) {
		oc_err_set(err, OC_ETOOBIG, "请求体过大（最多%zu字节） / JSON body "
		    "too large (%zu bytes at most)", max, max);
		goto out;
	}
	if (len == 0) {
		oc_err_set(err, OC_EINVAL, "请求体为空，应为 JSON 对象 / empty "
		    "body; expected a JSON object");
		goto out;
	}
	if ((v = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
	    &jerr)) == NULL) {
		oc_err_set(err, OC_EINVAL, "JSON 格式错误：第%d行第%d列 / JSON "
		    "syntax error at line %d, column %d: %s", jerr.line,
		    jerr.column, jerr.line, jerr.column, jerr.text);
		oc_err_detail(err, "position %d: %s", jerr.position, jerr.text);
		goto out;
	}
	if (!json_is_object(v)) {
		oc_err_set(err, OC_EINVAL, "JSON 顶层应为对象 / the JSON body must "
		    "be an object");
		goto out;
	}
	ret = v;
	v = NULL;
out:
	json_decref(v);
	return ret;
}

/* The member, or NULL when absent or null; OC_EINVAL if required. */
static int
member(json_t *obj, const char *key, bool required, json_t **out,
    struct oc_err *err)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (required)
			return oc_err_set(err, OC_EINVAL, "缺少字段 %s / missing "
			    "field %s", key, key);
		return 0;
	}
	*out = v;
	return 0;
}

int
oc_json_get_str(json_t *obj, const char *key, bool required, size_t maxlen,
    const char **out, struct oc_err *err)
{
	json_t *v;
	const char *s;
	size_t len;
	int rc;

	*out = NULL;
	if ((rc = member(obj, key, required, &v, err)) != 0 || v == NULL)
		return rc;
	if (!json_is_string(v))
		return oc_err_set(err, OC_EINVAL, "字段 %s 应为字符串 / field %s "
		    "must be a string", key, key);
	s = json_string_value(v);
	len = json_string_length(v);
	if (memchr(s, '\0', len) != NULL)
		return oc_err_set(err, OC_EINVAL, "字段 %s 含 NUL 字符 / field %s "
		    "contains a NUL character", key, key);
	if (!oc_utf8_valid(s, len))
		return oc_err_set(err, OC_EINVAL, "字段 %s 不是有效的 UTF-8 / "
		    "field %s is not valid UTF-8", key, key);
	if (len > maxlen)
		return oc_err_set(err, OC_EINVAL, "字段 %s 过长（最多%zu字节） / "
		    "field %s is too long (%zu bytes at most)", key, maxlen,
		    key, maxlen);
	*out = s;
	return 0;
}

int
oc_json_get_int(json_t *obj, const char *key, bool required, long long min,
    long long max, long long *out, struct oc_err *err)
{
	json_t *v;
	long long n;
	int rc;

	if ((rc = member(obj, key, required, &v, err)) != 0 || v == NULL)
		return rc;
	if (!json_is_integer(v))
		return oc_err_set(err, OC_EINVAL, "字段 %s 应为整数 / field %s "
		    "must be an integer", key, key);
	n = (long long)json_integer_value(v);
	if (n < min || n > max)
		return oc_err_set(err, OC_EINVAL, "字段 %s 应在 %lld 到 %lld 之间 / "
		    "field %s must be between %lld and %lld", key, min, max,
		    key, min, max);
	*out = n;
	return 0;
}

int
oc_json_get_bool(json_t *obj, const char *key, bool required, bool *out,
    struct oc_err *err)
{
	json_t *v;
	int rc;

	if ((rc = member(obj, key, required, &v, err)) != 0 || v == NULL)
		return rc;
	if (!json_is_boolean(v))
		return oc_err_set(err, OC_EINVAL, "字段 %s 应为 true 或 false / "
		    "field %s must be true or false", key, key);
	*out = json_is_true(v);
	return 0;
}

json_t *
oc_json_error(const char *code, const char *message)
{
	size_t mlen;

	if (code == NULL || !oc_utf8_valid(code, strlen(code)))
		code = "internal_error";
	if (message == NULL)
		message = "";
	/* JSON holds only UTF-8: keep what comes before a bad byte (a message
	 * cut inside a character by a fixed-size buffer, say). */
	mlen = oc_utf8_prefix((const unsigned char *)message, strlen(message));
	return json_pack("{s:{s:s, s:s%}}", "error", "code", code, "message",
	    message, mlen);
}

char *
oc_json_dumps(const json_t *v)
{
	if (v == NULL)
		return NULL;
	return json_dumps(v, JSON_COMPACT);
}
