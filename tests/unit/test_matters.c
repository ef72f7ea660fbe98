/*
 * test_matters.c — the matter catalogue's check at start-up
 * (src/hall/matters.c, hall_matters_load): the shipped data/matters.json
 * loads with the SPEC's examples, and every kind of broken entry stops
 * the start with a message naming the entry (its number and code) and the
 * fault, leaving no catalogue behind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "hall/hall_int.h"
#include "hall/matters.h"
#include "onecert/config.h"

static char tmpdir[1024];

static int
load(const char *file, struct hall *h, struct oc_err *err)
{
	memset(h, 0, sizeof(*h));
	snprintf(h->dir, sizeof(h->dir), "%s", tmpdir);
	assert_non_null(h->cfg = oc_config_new());
	if (file != NULL)
		assert_int_equal(oc_config_set(h->cfg, "hall", "matters", file), 0);
	oc_err_clear(err);
	return hall_matters_load(h, err);
}

static void
unload(struct hall *h)
{
	json_decref(h->matters);
	oc_config_free(h->cfg);
}

static void
shipped_catalogue(void **state)
{
	static const char *const names[] = { "建筑施工企业安全生产许可证", "三类人员安全生产考核合格证书",
	    "建设工程企业资质", "报建", "施工许可", "招标投标备案" };
	const char *src = getenv("ONECERT_SOURCE_DIR");
	char path[4200];
	struct hall h;
	struct oc_err err;
	json_t *m;
	size_t i, j;

	(void)state;
	snprintf(path, sizeof(path), "%s/data/matters.json", src ? src : ONECERT_SOURCE_DIR);
	if (load(path, &h, &err) != 0)
		fail_msg("%s (%s)", err.msg, err.detail);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		bool found = false;

		json_array_foreach(h.matters, j, m)
			found |= strcmp(json_string_value(json_object_get(m, "name")), names[i]) == 0;
		assert_true(found);
	}
	m = hall_matter_find(&h, "safety-permit");
	assert_non_null(m);
	assert_non_null(hall_matter_attachment_find(m, "license"));
	assert_null(hall_matter_attachment_find(m, "nope"));
	assert_null(hall_matter_find(&h, "nope"));
	unload(&h);
}

static const char FIELD[] = "{\"key\":\"k\",\"label\":\"项\",\"type\":\"text\",\"required\":true,\"max\":10}";
static const char ATT[] = "{\"name\":\"a\",\"label\":\"附件\",\"required\":true,"
	"\"types\":[\"application/pdf\"],\"max_kb\":100}";

/* One good matter with its parts replaced. */
static char *
matter(const char *code, const char *fields, const char *atts, const char *extra)
{
	static char buf[4][8192];
	static int n;
	char *b = buf[n++ % 4];

	int w;

	w = snprintf(b, sizeof(buf[0]), "{\"code\":\"%s\",\"name\":\"事项%s\",\"department\":\"市住房城乡建设管理委\","
	    "\"fields\":[%s],\"attachments\":[%s]%s}", code, code, fields ? fields : FIELD,
	    atts ? atts : ATT, extra ? extra : "");
	assert_true(w > 0 && (size_t)w < sizeof(buf[0]));
	return b;
}

static void
broken_catalogues(void **state)
{
	char big[8192];
	struct {
		char text[9000];
		const char *says;
	} *c = calloc(32, sizeof(*c));
	size_t n = 0;

	(void)state;
	assert_non_null(c);
	snprintf(big, sizeof(big), "{\"key\":\"a\",\"label\":\"甲\",\"type\":\"text\",\"required\":true,\"max\":1500},"
	    "{\"key\":\"b\",\"label\":\"乙\",\"type\":\"text\",\"required\":true,\"max\":1500}");
#define CASE(says_, ...) do { snprintf(c[n].text, sizeof(c[n].text), __VA_ARGS__); c[n++].says = says_; } while (0)
	CASE("matter #2 \"ab\": the code is used twice", "[%s,%s]", matter("ab", 0, 0, 0), matter("ab", 0, 0, 0));
	CASE("matter #1 \"a b\": \"code\"", "[%s]", matter("a b", 0, 0, 0));
	CASE("unknown type \"memo\"", "[%s]", matter("m", "{\"key\":\"k\",\"label\":\"l\",\"type\":\"memo\",\"required\":true}", 0, 0));
	CASE("\"required\" must be", "[%s]", matter("m", "{\"key\":\"k\",\"label\":\"l\",\"type\":\"date\"}", 0, 0));
	CASE("needs \"max\"", "[%s]", matter("m", "{\"key\":\"k\",\"label\":\"l\",\"type\":\"text\",\"required\":false}", 0, 0));
	CASE("takes no \"max\"", "[%s]", matter("m", "{\"key\":\"k\",\"label\":\"l\",\"type\":\"date\",\"required\":false,\"max\":3}", 0, 0));
	CASE("needs \"max\"", "[%s]", matter("m", "{\"key\":\"k\",\"label\":\"l\",\"type\":\"number\",\"required\":false,\"max\":-1}", 0, 0));
	CASE("field \"k\": the key is used twice", "[%s]", matter("m", "{\"key\":\"k\",\"label\":\"l\",\"type\":\"date\",\"required\":false},"
	    "{\"key\":\"k\",\"label\":\"l\",\"type\":\"date\",\"required\":false}", 0, 0));
	CASE("unknown key \"colour\"", "[%s]", matter("m", 0, 0, ",\"colour\":\"red\""));
	CASE("unknown key \"size\"", "[%s]", matter("m", "{\"key\":\"k\",\"label\":\"l\",\"type\":\"date\",\"required\":false,\"size\":1}", 0, 0));
	CASE("unknown type \"image/png\"", "[%s]", matter("m", 0, "{\"name\":\"a\",\"label\":\"l\",\"required\":true,\"types\":[\"image/png\"],\"max_kb\":1}", 0));
	CASE("\"max_kb\"", "[%s]", matter("m", 0, "{\"name\":\"a\",\"label\":\"l\",\"required\":true,\"types\":[\"image/jpeg\"],\"max_kb\":0}", 0));
	CASE("\"max_kb\"", "[%s]", matter("m", 0, "{\"name\":\"a\",\"label\":\"l\",\"required\":true,\"types\":[\"image/jpeg\"],\"max_kb\":99999}", 0));
	CASE("is listed twice", "[%s]", matter("m", 0, "{\"name\":\"a\",\"label\":\"l\",\"required\":true,\"types\":[\"image/jpeg\",\"image/jpeg\"],\"max_kb\":1}", 0));
	CASE("attachment \"a\": the name is used twice", "[%s]", matter("m", 0, "{\"name\":\"a\",\"label\":\"l\",\"required\":true,\"types\":[\"image/jpeg\"],\"max_kb\":1},"
	    "{\"name\":\"a\",\"label\":\"l\",\"required\":true,\"types\":[\"image/jpeg\"],\"max_kb\":1}", 0));
	CASE("\"label\" must be non-empty", "[%s]", matter("m", "{\"key\":\"k\",\"label\":\" \",\"type\":\"date\",\"required\":false}", 0, 0));
	CASE("\"fields\" must be", "[%s]", matter("m", "", 0, 0));
	CASE("more than a form may hold", "[%s]", matter("m", big, 0, 0));
	CASE("matter #2 \"cc\": the name", "[%s,%s]", matter("c", 0, 0, 0),
	    "{\"code\":\"cc\",\"name\":\"事项c\",\"department\":\"d\",\"fields\":[{\"key\":\"k\",\"label\":\"l\",\"type\":\"date\",\"required\":false}],\"attachments\":[]}");
	CASE("JSON array", "{\"code\":\"x\"}");
	CASE("JSON array", "[]");
	CASE("line 1", "[{\"code\": ");
	CASE("line 1", "[{\"code\":\"a\",\"code\":\"b\"}]");
#undef CASE
	for (size_t i = 0; i < n; i++) {
		char path[4200];
		struct hall h;
		struct oc_err err;
		FILE *f;

		snprintf(path, sizeof(path), "%s/m%zu.json", tmpdir, i);
		assert_non_null(f = fopen(path, "w"));
		fputs(c[i].text, f);
		fclose(f);
		snprintf(path, sizeof(path), "m%zu.json", i);
		if (load(path, &h, &err) == 0)
			fail_msg("case %zu loaded: %s", i, c[i].text);
		if (strstr(err.msg, c[i].says) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.msg, c[i].says);
		assert_non_null(strstr(err.detail, path));
		assert_null(h.matters);
		unload(&h);
	}
	{
		struct hall h;
		struct oc_err err;

		assert_int_not_equal(load("missing.json", &h, &err), 0);
		assert_non_null(strstr(err.msg, "cannot read"));
		unload(&h);
	}
	free(c);
}

int
main(void)
{
	const char *tmp = getenv("ONECERT_TEST_TMP");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(shipped_catalogue),
		cmocka_unit_test(broken_catalogues),
	};
	char cmd[4300];
	int rc;

	mkdir(tmp ? tmp : "/tmp", 0755);
	snprintf(tmpdir, sizeof(tmpdir), "%s/matters.XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0 && rc == 0)
		rc = 1;
	return rc;
}
