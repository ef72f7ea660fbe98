/*
 * fuzz_config.c — INI configuration files: oc_config_parse (in memory) and
 * oc_config_load (the same text from a file) must agree on every input;
 * on what loads, the typed readers run on every key the text seems to
 * name and on the keys of docs/config.md.
 *
 * Then the promise of config.h about writing: oc_config_set accepts only
 * what reads back identically, so every (section, key, value) the input's
 * "key=value" lines offer (the value as written and trimmed) is passed to
 * oc_config_set on a fresh configuration, which is saved with
 * oc_config_save and loaded again: every value must come back byte for
 * byte.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "onecert/config.h"
#include "fuzz.h"

#define MAX_PAIRS 64

struct pair {
	char *section, *key, *value;
};

/* Trimmed copy of [p, p+n). */
static char *
dup_trim(const char *p, size_t n, bool trim)
{
	char *s;

	while (trim && n > 0 && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (trim && n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' ||
	    p[n - 1] == '\r'))
		n--;
	if ((s = malloc(n + 1)) == NULL)
		abort();
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/* A rough reading of the text: "[name]" lines and "key = value" lines.
 * Not a second INI parser — only a source of names to ask about. */
static size_t
scan_pairs(const char *text, struct pair *pairs)
{
	char *section = dup_trim("", 0, false);
	const char *p = text, *nl, *eq, *rb;
	size_t n = 0, len;

	for (; *p != '\0' && n < MAX_PAIRS; p = nl != NULL ? nl + 1 : p + len) {
		nl = strchr(p, '\n');
		len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		if (len > 0 && p[0] == '[' &&
		    (rb = memchr(p, ']', len)) != NULL) {
			free(section);
			section = dup_trim(p + 1, (size_t)(rb - p - 1), true);
			continue;
		}
		if ((eq = memchr(p, '=', len)) == NULL)
			continue;
		pairs[n].section = dup_trim(section, strlen(section), false);
		pairs[n].key = dup_trim(p, (size_t)(eq - p), true);
		/* Untrimmed: oc_config_set must refuse edge white space. */
		pairs[n].value = dup_trim(eq + 1, len - (size_t)(eq - p) - 1,
		    false);
		n++;
	}
	free(section);
	return n;
}

static void
read_key(const struct oc_config *cfg, const char *section, const char *key)
{
	struct oc_err err;
	long n;
	bool b;

	(void)oc_config_get(cfg, section, key, NULL);
	oc_err_clear(&err);
	if (oc_config_get_long(cfg, section, key, 5, 1, 3650, &n, &err) == 0)
		FUZZ_CHECK(n >= 1 && n <= 3650);
	else
		FUZZ_CHECK(err.msg[0] != '\0');
	oc_err_clear(&err);
	(void)oc_config_get_long(cfg, section, key, 0, LONG_MIN, LONG_MAX, &n,
	    &err);
	oc_err_clear(&err);
	(void)oc_config_get_bool(cfg, section, key, false, &b, &err);
	oc_err_clear(&err);
	if (oc_config_get_duration(cfg, section, key, 86400, &n, &err) == 0)
		FUZZ_CHECK(n >= 0);
	else
		FUZZ_CHECK(err.msg[0] != '\0');
}

static bool
same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* set → save → load gives back what was set. */
static void
check_set_roundtrip(const struct pair *pairs, size_t n)
{
	struct oc_config *cfg, *back;
	struct oc_err err;
	const char *path = fuzz_tmpfile(1);
	size_t accepted = 0;

	if ((cfg = oc_config_new()) == NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		char *trimmed = dup_trim(pairs[i].value, strlen(pairs[i].value),
		    true);

		/* As written (edge white space must be refused), then
		 * trimmed (as a caller would pass it). */
		if (oc_config_set(cfg, pairs[i].section, pairs[i].key,
		    pairs[i].value) == 0)
			accepted++;
		if (oc_config_set(cfg, pairs[i].section, pairs[i].key,
		    trimmed) == 0)
			accepted++;
		free(trimmed);
	}
	if (accepted == 0) {
		oc_config_free(cfg);
		return;
	}
	oc_err_clear(&err);
	FUZZ_CHECK(oc_config_save(cfg, path, 0600, &err) == 0);
	back = oc_config_load(path, &err);
	if (back == NULL)
		fprintf(stderr, "saved configuration does not load: %s\n",
		    err.msg);
	FUZZ_CHECK(back != NULL);
	for (size_t i = 0; i < n; i++) {
		const char *want = oc_config_get(cfg, pairs[i].section,
		    pairs[i].key, NULL);
		const char *got = oc_config_get(back, pairs[i].section,
		    pairs[i].key, NULL);

		if (!same(want, got))
			fprintf(stderr, "[%s] %s: set \"%s\", read back \"%s\"\n",
			    pairs[i].section, pairs[i].key, want ? want : "(null)",
			    got ? got : "(null)");
		FUZZ_CHECK(same(want, got));
	}
	oc_config_free(back);
	oc_config_free(cfg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const known[][2] = {
		{ "ca", "algo" }, { "ca", "name" }, { "ca", "base_url" },
		{ "ca", "enterprise_days" }, { "ca", "crl_next_update" },
		{ "keys", "mode" }, { "keys", "wrapped" },
		{ "pkcs11", "module" }, { "", "top" },
	};
	struct pair pairs[MAX_PAIRS];
	struct oc_config *mem, *file;
	struct oc_err err, ferr;
	char *text;
	size_t n;

	oc_err_clear(&err);
	mem = oc_config_parse((const char *)data, size, &err);
	oc_err_clear(&ferr);
	file = oc_config_load(fuzz_tmpfile_put(0, data, size), &ferr);
	FUZZ_CHECK((mem == NULL) == (file == NULL));
	if (mem == NULL)
		FUZZ_CHECK(err.code < 0 && err.code == ferr.code &&
		    strcmp(err.msg, ferr.msg) == 0);

	text = fuzz_cstr(data, size);
	n = scan_pairs(text, pairs);
	if (mem != NULL) {
		for (size_t i = 0; i < n; i++) {
			read_key(mem, pairs[i].section, pairs[i].key);
			FUZZ_CHECK(same(oc_config_get(mem, pairs[i].section,
			    pairs[i].key, NULL), oc_config_get(file,
			    pairs[i].section, pairs[i].key, NULL)));
		}
		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			read_key(mem, known[i][0], known[i][1]);
	}
	check_set_roundtrip(pairs, n);
	for (size_t i = 0; i < n; i++) {
		free(pairs[i].section);
		free(pairs[i].key);
		free(pairs[i].value);
	}
	free(text);
	oc_config_free(mem);
	oc_config_free(file);
	return 0;
}
