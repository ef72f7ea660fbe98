/*
 * fuzz_json.c — oc_json_parse_object, the gate of every JSON request body,
 * and the member readers the handlers use on what it lets through.
 *
 * On every input: parse with the 64 KiB limit the RA API uses, and with a
 * limit smaller than the input (OC_ETOOBIG, never a parse).  On what
 * parses: every member through every reader (required and not, with a
 * roomy and a tiny string limit), the usual keys of our request bodies
 * too; then the object must survive oc_json_dumps → parse unchanged.
 * The input as a message must give an oc_json_error reply that jansson
 * can serialize (messages are cut to valid UTF-8, not refused).
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "onecert/json.h"
#include "fuzz.h"

#define BODY_MAX (64 * 1024)

static void
read_member(json_t *obj, const char *key)
{
	struct oc_err err;
	const char *s;
	long long n = 7;
	bool b = false;

	for (int required = 0; required <= 1; required++) {
		static const size_t maxlens[] = { 0, 1, 18, 4096 };

		for (size_t i = 0; i < sizeof(maxlens) / sizeof(maxlens[0]); i++) {
			oc_err_clear(&err);
			if (oc_json_get_str(obj, key, required, maxlens[i], &s,
			    &err) == 0) {
				if (s != NULL)
					FUZZ_CHECK(strlen(s) <= maxlens[i]);
				else
					FUZZ_CHECK(!required);
			} else {
				FUZZ_CHECK(s == NULL && err.msg[0] != '\0');
			}
		}
		oc_err_clear(&err);
		if (oc_json_get_int(obj, key, required, -5, 1000000, &n,
		    &err) == 0)
			FUZZ_CHECK(n >= -5 && n <= 1000000);
		oc_err_clear(&err);
		oc_json_get_int(obj, key, required, LLONG_MIN, LLONG_MAX, &n,
		    &err);
		oc_err_clear(&err);
		oc_json_get_bool(obj, key, required, &b, &err);
	}
}

static void
check_roundtrip(json_t *obj)
{
	struct oc_err err;
	json_t *again;
	char *text;

	if ((text = oc_json_dumps(obj)) == NULL)
		return;       /* jansson refuses some (e.g. too deep) */
	oc_err_clear(&err);
	again = oc_json_parse_object(text, strlen(text), SIZE_MAX, &err);
	if (again == NULL)
		fprintf(stderr, "round trip refused: %s\n", err.msg);
	FUZZ_CHECK(again != NULL);
	FUZZ_CHECK(json_equal(obj, again));
	json_decref(again);
	free(text);
}

static void
check_error_reply(const uint8_t *data, size_t size)
{
	char *msg = fuzz_cstr(data, size);
	json_t *reply;
	char *text;

	reply = oc_json_error(msg, msg);
	FUZZ_CHECK(reply != NULL);
	text = oc_json_dumps(reply);
	FUZZ_CHECK(text != NULL);
	free(text);
	json_decref(reply);
	free(msg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = { "uscc", "name", "csr", "serial",
	    "reason", "mobile", "profile", "days", "enrollment", "approve",
	    "", "\xe4\xbc\x81\xe4\xb8\x9a" };
	const char *body = (const char *)data;
	struct oc_err err;
	json_t *obj;
	const char *key;
	json_t *v;

	if (size > 0) {
		oc_err_clear(&err);
		FUZZ_CHECK(oc_json_parse_object(body, size, size - 1,
		    &err) == NULL && err.code == OC_ETOOBIG);
	}
	oc_err_clear(&err);
	if ((obj = oc_json_parse_object(body, size, BODY_MAX, &err)) == NULL) {
		FUZZ_CHECK(err.code < 0 && err.msg[0] != '\0');
	} else {
		FUZZ_CHECK(json_is_object(obj));
		json_object_foreach(obj, key, v)
			read_member(obj, key);
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			read_member(obj, keys[i]);
		check_roundtrip(obj);
		json_decref(obj);
	}
	check_error_reply(data, size);
	return 0;
}
