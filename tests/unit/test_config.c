/*
 * test_config.c — INI configuration: reading, typed readers and their
 * messages, lines inih would misread, set/save/load round trips in
 * insertion order; the same from memory (oc_config_parse).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onecert/buf.h"
#include "onecert/config.h"

/* A string literal and its length (it may contain NUL). */
#define LIT(s) (s), (sizeof(s) - 1)

static char tmpdir[4096];

static const char *
path_of(const char *name)
{
	static char p[4200];
	int n = snprintf(p, sizeof(p), "%s/%s", tmpdir, name);

	assert_true(n > 0 && (size_t)n < sizeof(p));
	return p;
}

static void
write_text(const char *name, const char *text, size_t len)
{
	FILE *f = fopen(path_of(name), "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static struct oc_config *
load_text(const char *text)
{
	struct oc_err err;
	struct oc_config *cfg;

	write_text("c.ini", text, strlen(text));
	oc_err_clear(&err);
	cfg = oc_config_load(path_of("c.ini"), &err);
	if (cfg == NULL)
		fail_msg("load: %s", err.msg);
	return cfg;
}

/* Loading text must fail with code and a message containing want. */
static void
load_fails(const char *text, size_t len, int code, const char *want)
{
	struct oc_err err;

	write_text("bad.ini", text, len);
	oc_err_clear(&err);
	assert_null(oc_config_load(path_of("bad.ini"), &err));
	assert_int_equal(err.code, code);
	if (strstr(err.msg, want) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, want);
}

static const char sample[] =
	"\xEF\xBB\xBF; onecert hall configuration\r\n"
	"log_level = debug\r\n"
	"\n"
	"# the hall\n"
	"[hall]\n"
	"listen = 0.0.0.0:8443   ; inline comment\n"
	"url = https://hall.example.cn/a;b\n"
	"workers=4\n"
	"session_ttl: 30m\n"
	"  ; an indented comment is fine\n"
	"tls = yes\n"
	"workers = 8\n"
	"empty =\n"
	"\n"
	"[ca]\n"
	"ocsp = http://127.0.0.1:8080/ocsp\n"
	"[Hall]\n"
	"workers = 1\n";

static void
reads_values(void **state)
{
	struct oc_config *cfg = load_text(sample);

	(void)state;
	assert_string_equal(oc_config_get(cfg, "", "log_level", NULL), "debug");
	assert_string_equal(oc_config_get(cfg, "hall", "listen", NULL),
	    "0.0.0.0:8443");
	/* ';' without white space before it is part of the value. */
	assert_string_equal(oc_config_get(cfg, "hall", "url", NULL),
	    "https://hall.example.cn/a;b");
	/* A later duplicate replaces the earlier value. */
	assert_string_equal(oc_config_get(cfg, "hall", "workers", NULL), "8");
	assert_string_equal(oc_config_get(cfg, "hall", "session_ttl", NULL), "30m");
	assert_string_equal(oc_config_get(cfg, "hall", "empty", "x"), "");
	assert_string_equal(oc_config_get(cfg, "ca", "ocsp", NULL),
	    "http://127.0.0.1:8080/ocsp");
	/* Case-sensitive sections and keys. */
	assert_string_equal(oc_config_get(cfg, "Hall", "workers", NULL), "1");
	assert_null(oc_config_get(cfg, "hall", "Workers", NULL));
	assert_string_equal(oc_config_get(cfg, "nope", "x", "def"), "def");
	assert_string_equal(oc_config_get(NULL, "hall", "x", "def"), "def");
	oc_config_free(cfg);
}

static void
typed_readers(void **state)
{
	struct oc_config *cfg = oc_config_new();
	struct oc_err err;
	long n = 0;
	bool b = false;

	(void)state;
	assert_int_equal(oc_config_set(cfg, "ca", "port", "8443"), 0);
	assert_int_equal(oc_config_set(cfg, "ca", "neg", "-5"), 0);
	assert_int_equal(oc_config_set(cfg, "ca", "junk", "12abc"), 0);
	assert_int_equal(oc_config_set(cfg, "ca", "huge", "99999999999999999999"), 0);
	assert_int_equal(oc_config_set(cfg, "ca", "blank", ""), 0);
	assert_int_equal(oc_config_set(cfg, "", "top", "70000"), 0);

	assert_int_equal(oc_config_get_long(cfg, "ca", "port", 1, 1, 65535, &n,
	    &err), 0);
	assert_int_equal(n, 8443);
	assert_int_equal(oc_config_get_long(cfg, "ca", "neg", 0, -10, 10, &n,
	    &err), 0);
	assert_int_equal(n, -5);
	assert_int_equal(oc_config_get_long(cfg, "ca", "absent", 42, 1, 100, &n,
	    &err), 0);
	assert_int_equal(n, 42);
	/* An empty value means "use the default". */
	assert_int_equal(oc_config_get_long(cfg, "ca", "blank", 7, 1, 100, &n,
	    &err), 0);
	assert_int_equal(n, 7);
	n = 0;
	assert_int_equal(oc_config_get_long(cfg, "ca", "junk", 1, 0, 100, &n,
	    &err), OC_EINVAL);
	assert_non_null(strstr(err.msg, "ca.junk must be an integer"));
	assert_int_equal(n, 0);
	assert_int_equal(oc_config_get_long(cfg, "ca", "huge", 1, 0, LONG_MAX,
	    &n, &err), OC_EINVAL);
	assert_non_null(strstr(err.msg, "ca.huge is out of range"));
	assert_int_equal(oc_config_get_long(cfg, "", "top", 1, 1, 65535, &n,
	    &err), OC_EINVAL);
	assert_non_null(strstr(err.msg, "top is out of range [1, 65535]"));
	assert_non_null(strstr(err.detail, "70000"));

	assert_int_equal(oc_config_set(cfg, "x", "t1", "TRUE"), 0);
	assert_int_equal(oc_config_set(cfg, "x", "t2", "On"), 0);
	assert_int_equal(oc_config_set(cfg, "x", "t3", "1"), 0);
	assert_int_equal(oc_config_set(cfg, "x", "f1", "no"), 0);
	assert_int_equal(oc_config_set(cfg, "x", "f2", "off"), 0);
	assert_int_equal(oc_config_set(cfg, "x", "f3", "0"), 0);
	assert_int_equal(oc_config_set(cfg, "x", "bad", "maybe"), 0);
	for (int i = 1; i <= 3; i++) {
		char k[16];

		snprintf(k, sizeof(k), "t%d", i);
		b = false;
		assert_int_equal(oc_config_get_bool(cfg, "x", k, false, &b, &err), 0);
		assert_true(b);
		snprintf(k, sizeof(k), "f%d", i);
		assert_int_equal(oc_config_get_bool(cfg, "x", k, true, &b, &err), 0);
		assert_false(b);
	}
	assert_int_equal(oc_config_get_bool(cfg, "x", "absent", true, &b, &err), 0);
	assert_true(b);
	assert_int_equal(oc_config_get_bool(cfg, "x", "bad", true, &b, &err),
	    OC_EINVAL);
	assert_non_null(strstr(err.msg, "x.bad must be true/false"));
	oc_config_free(cfg);
}

static void
durations(void **state)
{
	static const struct { const char *v; long want; } ok[] = {
		{ "30", 30 }, { "30s", 30 }, { "5m", 300 }, { "2h", 7200 },
		{ "1d", 86400 }, { "0", 0 }, { "90m", 5400 },
	};
	static const char *bad[] = {
		"5x", "m", "1.5h", "-5", "5mm", "5 m", "+5", "h5", "99999999999999999999",
	};
	struct oc_config *cfg = oc_config_new();
	struct oc_err err;
	long s;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(oc_config_set(cfg, "t", "d", ok[i].v), 0);
		s = -1;
		assert_int_equal(oc_config_get_duration(cfg, "t", "d", 1, &s, &err), 0);
		if (s != ok[i].want)
			fail_msg("%s: got %ld, want %ld", ok[i].v, s, ok[i].want);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(oc_config_set(cfg, "t", "d", bad[i]), 0);
		oc_err_clear(&err);
		if (oc_config_get_duration(cfg, "t", "d", 1, &s, &err) != OC_EINVAL)
			fail_msg("%s accepted", bad[i]);
		assert_non_null(strstr(err.msg, "t.d"));
	}
	/* Overflow through the unit: LONG_MAX days. */
	assert_int_equal(oc_config_set(cfg, "t", "d", "9223372036854775807d"), 0);
	assert_int_equal(oc_config_get_duration(cfg, "t", "d", 1, &s, &err),
	    OC_EINVAL);
	assert_non_null(strstr(err.msg, "too large"));
	assert_int_equal(oc_config_get_duration(cfg, "t", "absent", 600, &s, &err), 0);
	assert_int_equal(s, 600);
	oc_config_free(cfg);
}

static void
set_refuses_what_would_not_read_back(void **state)
{
	struct oc_config *cfg = oc_config_new();
	char longv[300];

	(void)state;
	assert_int_equal(oc_config_set(cfg, "s", "k", "two\nlines"), OC_EINVAL);
	assert_int_equal(oc_config_set(cfg, "s", "k", "cr\r"), OC_EINVAL);
	assert_int_equal(oc_config_set(cfg, "s", "k", " lead"), OC_EINVAL);
	assert_int_equal(oc_config_set(cfg, "s", "k", "trail "), OC_EINVAL);
	assert_int_equal(oc_config_set(cfg, "s", "k", "a ;b"), OC_EINVAL);
	assert_int_equal(oc_config_set(cfg, "s", "k", ";x"), OC_EINVAL);
	assert_int_equal(oc_config_set(cfg, "s", "k=x", "v"), OC_EINVAL);
	assert_int_equal(oc_config_set(cfg, "s", "k x", "v"), OC_EINVAL);
	assert_int_equal(oc_config_set(cfg, "s", "", "v"), OC_EINVAL);
	assert_int_equal(oc_config_set(cfg, "s]", "k", "v"), OC_EINVAL);
	assert_int_equal(oc_config_set(cfg, "s", "k", NULL), OC_EINVAL);
	assert_int_equal(oc_config_set(cfg,
	    "s12345678901234567890123456789012345678901234567890", "k", "v"),
	    OC_EINVAL);
	memset(longv, 'a', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	assert_int_equal(oc_config_set(cfg, "s", "k", longv), OC_EINVAL);
	longv[198 - 4] = '\0';            /* "k = " + 194 = 198 bytes */
	assert_int_equal(oc_config_set(cfg, "s", "k", longv), 0);
	assert_int_equal(oc_config_set(cfg, "s", "k2", "a;b #c"), 0);
	assert_null(oc_config_get(cfg, "s", "k x", NULL));
	oc_config_free(cfg);
}

static void
save_round_trip(void **state)
{
	struct oc_config *cfg = oc_config_new(), *back;
	struct oc_err err;
	struct oc_buf b;
	struct stat st;
	char longv[200];
	static const char want[] =
		"top = 1\n"
		"\n"
		"[zeta]\n"
		"b = 2\n"
		"a = replaced\n"
		"\n"
		"[alpha]\n"
		"url = https://x.example/a;b?c=d#e\n"
		"name = 上海市 一证通\n";

	(void)state;
	assert_int_equal(oc_config_set(cfg, "zeta", "b", "2"), 0);
	assert_int_equal(oc_config_set(cfg, "zeta", "a", "1"), 0);
	assert_int_equal(oc_config_set(cfg, "alpha", "url",
	    "https://x.example/a;b?c=d#e"), 0);
	assert_int_equal(oc_config_set(cfg, "alpha", "name", "上海市 一证通"), 0);
	/* Top-level keys set last still go before the first header. */
	assert_int_equal(oc_config_set(cfg, "", "top", "1"), 0);
	/* Replacing keeps the key's place. */
	assert_int_equal(oc_config_set(cfg, "zeta", "a", "replaced"), 0);
	assert_int_equal(oc_config_save(cfg, path_of("out.ini"), 0640, &err), 0);

	oc_buf_init(&b, 4096);
	assert_int_equal(oc_buf_read_file(&b, path_of("out.ini")), 0);
	assert_string_equal((char *)b.p, want);
	oc_buf_cleanup(&b);
	assert_int_equal(stat(path_of("out.ini"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);

	back = oc_config_load(path_of("out.ini"), &err);
	assert_non_null(back);
	assert_string_equal(oc_config_get(back, "", "top", NULL), "1");
	assert_string_equal(oc_config_get(back, "zeta", "a", NULL), "replaced");
	assert_string_equal(oc_config_get(back, "alpha", "url", NULL),
	    "https://x.example/a;b?c=d#e");
	assert_string_equal(oc_config_get(back, "alpha", "name", NULL),
	    "上海市 一证通");
	oc_config_free(back);

	/* The longest value set accepts survives the 200-byte line of inih. */
	memset(longv, 'v', 194);
	longv[194] = '\0';
	assert_int_equal(oc_config_set(cfg, "alpha", "k", longv), 0);
	assert_int_equal(oc_config_save(cfg, path_of("out.ini"), 0600, &err), 0);
	back = oc_config_load(path_of("out.ini"), &err);
	assert_non_null(back);
	assert_string_equal(oc_config_get(back, "alpha", "k", NULL), longv);
	oc_config_free(back);
	assert_int_equal(stat(path_of("out.ini"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* An empty config saves as an empty file that loads again. */
	oc_config_free(cfg);
	cfg = oc_config_new();
	assert_int_equal(oc_config_save(cfg, path_of("empty.ini"), 0600, &err), 0);
	back = oc_config_load(path_of("empty.ini"), &err);
	assert_non_null(back);
	assert_null(oc_config_get(back, "", "x", NULL));
	oc_config_free(back);
	/* Saving into a missing folder fails cleanly. */
	assert_int_equal(oc_config_save(cfg, path_of("no/such/dir.ini"), 0600,
	    &err), OC_EIO);
	oc_config_free(cfg);
}

static void
load_errors(void **state)
{
	char big[300], text[400];
	struct oc_err err;
	char *huge;

	(void)state;
	assert_null(oc_config_load(path_of("missing.ini"), &err));
	assert_int_equal(err.code, OC_ENOTFOUND);
	load_fails(LIT("a = 1\n[ok]\n[broken\nb = 2\n"), OC_ECONFIG, "line 3");
	load_fails(LIT("a = 1\nno equals sign\n"), OC_ECONFIG, "第2行");
	load_fails(LIT("= value\n"), OC_ECONFIG, "line 1");
	/* inih would silently glue this onto "a" as a continuation. */
	load_fails(LIT("[s]\na = 1\n  b = 2\n"), OC_ECONFIG,
	    "line 3: 行首不能有空白");
	/* inih would silently split this line in two. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(text, sizeof(text), "a = 1\nk = %s\n", big);
	load_fails(text, strlen(text), OC_ECONFIG, "line 2: 行过长");
	/* inih would silently cut this section name at 49 bytes. */
	load_fails(LIT("[s12345678901234567890123456789012345678901234567890]\n"),
	    OC_ECONFIG, "section name too long");
	load_fails(LIT("a = 1\0b = 2\n"), OC_ECONFIG, "NUL");
	/* Over the 1 MiB limit. */
	huge = malloc(1024 * 1024 + 2);
	assert_non_null(huge);
	memset(huge, '#', 1024 * 1024 + 1);
	huge[1024 * 1024 + 1] = '\n';
	write_text("huge.ini", huge, 1024 * 1024 + 2);
	free(huge);
	assert_null(oc_config_load(path_of("huge.ini"), &err));
	assert_int_equal(err.code, OC_ETOOBIG);
	assert_null(oc_config_load(NULL, &err));
	assert_int_equal(err.code, OC_EINVAL);
}

/* oc_config_parse: the same rules from memory, without a NUL at the end. */
static void
parse_from_memory(void **state)
{
	static const char text[] = "[ca]\nalgo = sm2\nname = x";
	struct oc_config *cfg;
	struct oc_err err;
	char *big;

	(void)state;
	oc_err_clear(&err);
	/* Cut before "name": len is honoured, no NUL needed. */
	cfg = oc_config_parse(text, strlen(text) - strlen("name = x"), &err);
	assert_non_null(cfg);
	assert_string_equal(oc_config_get(cfg, "ca", "algo", ""), "sm2");
	assert_null(oc_config_get(cfg, "ca", "name", NULL));
	oc_config_free(cfg);

	cfg = oc_config_parse(NULL, 0, &err);       /* empty is empty */
	assert_non_null(cfg);
	oc_config_free(cfg);

	assert_null(oc_config_parse(LIT("[ca]\nk = a\0b\n"), &err));
	assert_int_equal(err.code, OC_ECONFIG);
	assert_non_null(strstr(err.msg, "NUL"));
	assert_null(oc_config_parse(LIT("[ca]\n  k = v\n"), &err));
	assert_int_equal(err.code, OC_ECONFIG);
	assert_non_null(strstr(err.msg, "line 2"));
	assert_null(oc_config_parse(NULL, 3, &err));
	assert_int_equal(err.code, OC_EINVAL);

	big = malloc(1024 * 1024 + 1);
	assert_non_null(big);
	memset(big, '#', 1024 * 1024 + 1);
	assert_null(oc_config_parse(big, 1024 * 1024 + 1, &err));
	assert_int_equal(err.code, OC_ETOOBIG);
	free(big);
}

static int
setup(void **state)
{
	const char *tmp = getenv("ONECERT_TEST_TMP");
	char base[4096];

	(void)state;
	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	(void)mkdir(tmp, 0700);
	snprintf(base, sizeof(base), "%s/config.XXXXXX", tmp);
	if (mkdtemp(base) == NULL)
		return -1;
	snprintf(tmpdir, sizeof(tmpdir), "%s", base);
	return 0;
}

static int
teardown(void **state)
{
	DIR *d;
	struct dirent *de;
	int left = 0;

	(void)state;
	/* Also checks that no temp file of an atomic write was left. */
	if ((d = opendir(tmpdir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (strstr(de->d_name, ".tmp.") != NULL)
			left++;
		unlink(path_of(de->d_name));
	}
	closedir(d);
	rmdir(tmpdir);
	return left == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reads_values),
		cmocka_unit_test(typed_readers),
		cmocka_unit_test(durations),
		cmocka_unit_test(set_refuses_what_would_not_read_back),
		cmocka_unit_test(save_round_trip),
		cmocka_unit_test(load_errors),
		cmocka_unit_test(parse_from_memory),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
