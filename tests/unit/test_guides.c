/*
 * test_guides.c — the guides' Markdown renderer (src/hall/markdown.c) and
 * the guides' loader (src/hall/guides.c).
 *
 * The renderer is judged on exact HTML: every special character escaped,
 * <script> kept as text, javascript:/data:/scheme-relative links dropped
 * (their text kept), nested and mixed lists, bold inside links and links
 * inside bold, and hostile input (unbalanced markers, control
 * characters, deep indentation) that must still come out well formed.
 * The loader is run on the shipped data/guides (the seed's guide first)
 * and on broken folders that must stop the hall with a message naming
 * the file and what is wrong.
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
#include "hall/markdown.h"
#include "onecert/config.h"

static char *
render(const char *md)
{
	struct oc_buf b;
	size_t len;
	char *s;

	oc_buf_init(&b, 1 << 20);
	assert_int_equal(hall_md_render(md, strlen(md), &b), 0);
	assert_int_equal(oc_buf_add(&b, "", 0), 0);
	s = (char *)oc_buf_steal(&b, &len);
	return s;
}

static void
expect(const char *md, const char *html)
{
	char *got = render(md);

	if (strcmp(got, html) != 0)
		fail_msg("markdown:\n%s\nwanted:\n%s\ngot:\n%s", md, html, got);
	free(got);
}

static void
headings_and_paragraphs(void **state)
{
	(void)state;
	expect("# 申领\n", "<h1>申领</h1>\n");
	expect("###### six ######\n", "<h6>six</h6>\n");
	expect("####### seven\n", "<p>####### seven</p>\n");
	expect("#no space\n", "<p>#no space</p>\n");
	expect("## C#\n", "<h2>C#</h2>\n");
	expect("one\ntwo\n\nthree", "<p>one\ntwo</p>\n<p>three</p>\n");
	expect("para\n# head\nafter", "<p>para</p>\n<h1>head</h1>\n<p>after</p>\n");
	expect("", "");
	expect("\n\n  \n", "");
	expect("crlf\r\nline\r\n", "<p>crlf\nline</p>\n");
}

static void
escaping(void **state)
{
	(void)state;
	expect("<script>alert(1)</script>",
	    "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n");
	expect("a & b \"c\" 'd' <i>", "<p>a &amp; b &quot;c&quot; &#39;d&#39; &lt;i&gt;</p>\n");
	expect("# <img src=x onerror=alert(1)>", "<h1>&lt;img src=x onerror=alert(1)&gt;</h1>\n");
	expect("- <b>x</b>", "<ul>\n<li>&lt;b&gt;x&lt;/b&gt;</li>\n</ul>\n");
	expect("&lt; stays &amp;lt;", "<p>&amp;lt; stays &amp;amp;lt;</p>\n");
	/* control characters are dropped, tabs kept */
	expect("a\x01" "b\x7f" "c\td", "<p>abc\td</p>\n");
	/* what the subset does not know is text */
	expect("*em* `code` > quote", "<p>*em* `code` &gt; quote</p>\n");
	expect("\\*\\*not bold\\*\\* \\[x\\](y)", "<p>**not bold** [x](y)</p>\n");
}

static void
bold(void **state)
{
	(void)state;
	expect("**开通** now", "<p><strong>开通</strong> now</p>\n");
	expect("**a** and **b**", "<p><strong>a</strong> and <strong>b</strong></p>\n");
	expect("**unclosed", "<p>**unclosed</p>\n");
	expect("****", "<p>****</p>\n");
	expect("**<x>**", "<p><strong>&lt;x&gt;</strong></p>\n");
}

static void
links(void **state)
{
	(void)state;
	expect("[站](https://example.com/a?b=1&c=2)",
	    "<p><a href=\"https://example.com/a?b=1&amp;c=2\" rel=\"noopener noreferrer\">站</a></p>\n");
	expect("[x](http://h)", "<p><a href=\"http://h\" rel=\"noopener noreferrer\">x</a></p>\n");
	expect("[guide](/guides.html?id=01-x)", "<p><a href=\"/guides.html?id=01-x\">guide</a></p>\n");
	expect("[rel](04-sub#part)", "<p><a href=\"04-sub#part\">rel</a></p>\n");
	/* other schemes lose the link, keep the text */
	expect("[bad](javascript:alert(1))", "<p>bad</p>\n");
	expect("[bad](JavaScript:alert(1))", "<p>bad</p>\n");
	expect("[bad](data:text/html,<script>)", "<p>bad</p>\n");
	expect("[bad](//evil.example/x)", "<p>bad</p>\n");
	expect("[bad](mailto:a@b)", "<p>bad</p>\n");
	expect("[bad](vbscript:x)", "<p>bad</p>\n");
	expect("[bad](http:)", "<p>bad</p>\n");
	/* quotes and spaces cannot break out of the attribute */
	expect("[q](/a\"onmouseover=\"x)", "<p>q</p>\n");
	expect("[q](/a b)", "<p>q</p>\n");
	expect("[**b**](/p)", "<p><a href=\"/p\"><strong>b</strong></a></p>\n");
	expect("**x [l](/p) y**", "<p><strong>x <a href=\"/p\">l</a> y</strong></p>\n");
	/* a link's text ends at the first ']': never a link inside a link */
	expect("[a [b](/c)](/d)", "<p><a href=\"/c\">a [b</a>](/d)</p>\n");
	expect("[a [b](/c)", "<p><a href=\"/c\">a [b</a></p>\n");
	expect("[not a link] (x)", "<p>[not a link] (x)</p>\n");
	expect("[open(", "<p>[open(</p>\n");
	assert_true(hall_md_url_ok("https://x", 9));
	assert_true(hall_md_url_ok("?a=b:c", 6));
	assert_false(hall_md_url_ok("java\tscript:x", 13));
	assert_false(hall_md_url_ok("javascript:x", 12));
	assert_false(hall_md_url_ok("", 0));
	assert_false(hall_md_url_ok("/a\\b", 4));
}

static void
lists(void **state)
{
	(void)state;
	expect("- a\n- b\n", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n");
	expect("1. a\n2. b\n", "<ol>\n<li>a</li>\n<li>b</li>\n</ol>\n");
	expect("3) c\n4) d", "<ol start=\"3\">\n<li>c</li>\n<li>d</li>\n</ol>\n");
	expect("- a\n  - b\n    1. c\n  - d\n- e\n",
	    "<ul>\n<li>a<ul>\n<li>b<ol>\n<li>c</li>\n</ol>\n</li>\n<li>d</li>\n</ul>\n</li>\n"
	    "<li>e</li>\n</ul>\n");
	/* lazy continuation, then a paragraph after a blank line */
	expect("- a\nmore\n\nafter", "<ul>\n<li>a\nmore</li>\n</ul>\n<p>after</p>\n");
	/* a blank line between items keeps one list */
	expect("1. a\n\n2. b", "<ol>\n<li>a</li>\n<li>b</li>\n</ol>\n");
	/* a list interrupts a paragraph; another kind starts another list */
	expect("para\n- a\n1. b", "<p>para</p>\n<ul>\n<li>a</li>\n</ul>\n<ol>\n<li>b</li>\n</ol>\n");
	expect("- **x** [l](/p)", "<ul>\n<li><strong>x</strong> <a href=\"/p\">l</a></li>\n</ul>\n");
	expect("-x\n1.5 m\n2025年", "<p>-x\n1.5 m\n2025年</p>\n");
	expect("-\n", "<ul>\n<li></li>\n</ul>\n");
}

/* Hostile shapes still give balanced tags. */
static void
deep_and_odd(void **state)
{
	char md[4096] = "", *got;
	size_t opens = 0, closes = 0;

	(void)state;
	for (int i = 0; i < 30; i++) {
		char line[128];

		snprintf(line, sizeof(line), "%*s- level %d\n", i * 2, "", i);
		strcat(md, line);
	}
	strcat(md, "# end\n");
	got = render(md);
	for (const char *p = got; (p = strstr(p, "<ul>")) != NULL; p++)
		opens++;
	for (const char *p = got; (p = strstr(p, "</ul>")) != NULL; p++)
		closes++;
	assert_int_equal(opens, closes);
	assert_true(opens <= 8);
	assert_non_null(strstr(got, "<h1>end</h1>"));
	free(got);
	expect("- a\n\t- b", "<ul>\n<li>a<ul>\n<li>b</li>\n</ul>\n</li>\n</ul>\n");
}

static void
output_limit(void **state)
{
	struct oc_buf b;

	(void)state;
	oc_buf_init(&b, 16);
	assert_int_equal(hall_md_render("<<<<<<<<<<", 10, &b), OC_ETOOBIG);
	oc_buf_cleanup(&b);
}

/* ---- the loader ------------------------------------------------------ */

static char tmpdir[1024];

static void
write_file(const char *dir, const char *name, const char *text)
{
	char path[8300];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static int
load_from(const char *sub, struct hall *h, struct oc_err *err)
{
	memset(h, 0, sizeof(*h));
	snprintf(h->dir, sizeof(h->dir), "%s", tmpdir);
	assert_non_null(h->cfg = oc_config_new());
	if (sub != NULL)
		assert_int_equal(oc_config_set(h->cfg, "hall", "guides", sub), 0);
	oc_err_clear(err);
	return hall_guides_load(h, err);
}

static void
unload(struct hall *h)
{
	json_decref(h->guides);
	oc_config_free(h->cfg);
}

static const char GOOD[] =
	"---\n"
	"title: 测试指南\n"
	"指南通用性: 通用\n企业现状: 新企业\n地域: 本市、外省市\n对象类别: 企业\n"
	"行业角色: 施工企业, 监理企业\n资质动作: 首次办理\n涉及信息管理系统: 网上办事大厅\n"
	"---\n# 测试\n<script>x</script>\n";

static void
shipped_guides(void **state)
{
	struct hall h;
	struct oc_err err;
	json_t *list, *first, *facets;
	const char *src = getenv("ONECERT_SOURCE_DIR");
	char dir[4200];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/data/guides", src ? src : ONECERT_SOURCE_DIR);
	if (load_from(dir, &h, &err) != 0)
		fail_msg("%s (%s)", err.msg, err.detail);
	list = json_object_get(h.guides, "list");
	assert_true(json_array_size(list) >= 4);
	first = json_array_get(list, 0);
	assert_string_equal(json_string_value(json_object_get(first, "title")),
	    "申领——开通数字证书（新企业适用）");
	assert_non_null(strstr(json_string_value(json_object_get(first, "html")), "<h2>"));
	assert_null(strstr(json_string_value(json_object_get(first, "html")), "---"));
	facets = json_object_get(h.guides, "facets");
	assert_int_equal(json_array_size(facets), 7);
	/* 地域 has both values across the guides */
	assert_int_equal(json_array_size(json_object_get(json_array_get(facets, 2), "values")), 2);
	unload(&h);
}

static void
a_good_folder(void **state)
{
	char dir[4200];
	struct hall h;
	struct oc_err err;
	json_t *g, *tags;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/good", tmpdir);
	mkdir(dir, 0755);
	write_file(dir, "02-b.md", GOOD);
	write_file(dir, "01-a.md", GOOD);
	write_file(dir, "notes.txt", "not a guide");
	assert_int_equal(load_from("good", &h, &err), 0);
	assert_int_equal(json_array_size(json_object_get(h.guides, "list")), 2);
	g = json_array_get(json_object_get(h.guides, "list"), 0);
	assert_string_equal(json_string_value(json_object_get(g, "id")), "01-a");
	tags = json_object_get(g, "tags");
	assert_int_equal(json_array_size(json_object_get(tags, "region")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(tags, "role"), 1)),
	    "监理企业");
	assert_string_equal(json_string_value(json_object_get(g, "html")),
	    "<h1>测试</h1>\n<p>&lt;script&gt;x&lt;/script&gt;</p>\n");
	unload(&h);
}

/* Each broken guide stops the start, naming the file and the fault. */
static void
broken_guides(void **state)
{
	static const struct {
		const char *file, *text, *says;
	} cases[] = {
		{ "01-x.md", "# no front matter\n", "front matter" },
		{ "01-x.md", "---\ntitle: t\n指南通用性: 通用\n企业现状: 新企业\n地域: 本市\n对象类别: 企业\n"
		  "行业角色: 施工企业\n资质动作: 首次办理\n---\nbody\n", "missing tag 涉及信息管理系统" },
		{ "01-x.md", "---\n指南通用性: 通用\n企业现状: 新企业\n地域: 本市\n对象类别: 企业\n"
		  "行业角色: 施工企业\n资质动作: 首次办理\n涉及信息管理系统: 大厅\n---\n", "missing \"title\"" },
		{ "01-x.md", "---\ntitle: t\n颜色: 红\n---\n", "unknown front matter key" },
		{ "01-x.md", "---\ntitle: t\n地域: 北京\n---\n", "地域 must be" },
		{ "01-x.md", "---\ntitle: t\n地域: 本市、本市\n---\n", "twice" },
		{ "01-x.md", "---\ntitle: t\n地域: 本市、\n---\n", "empty value" },
		{ "01-x.md", "---\ntitle: t\n", "not closed" },
		{ "Bad Name.md", GOOD, "file name" },
		{ "01-x.md", "---\ntitle: \xff\xfe\n---\n", "UTF-8" },
	};
	char dir[4200];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hall h;
		struct oc_err err;
		char name[32], path[8300];

		snprintf(name, sizeof(name), "bad%zu", i);
		snprintf(dir, sizeof(dir), "%s/%s", tmpdir, name);
		mkdir(dir, 0755);
		write_file(dir, cases[i].file, cases[i].text);
		if (load_from(name, &h, &err) == 0)
			fail_msg("case %zu loaded", i);
		if (strstr(err.msg, cases[i].says) == NULL || strstr(err.msg, cases[i].file) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\" or the file name", i, err.msg, cases[i].says);
		assert_null(h.guides);
		unload(&h);
		snprintf(path, sizeof(path), "%s/%s", dir, cases[i].file);
		unlink(path);
	}
	{
		struct hall h;
		struct oc_err err;

		snprintf(dir, sizeof(dir), "%s/empty", tmpdir);
		mkdir(dir, 0755);
		assert_int_not_equal(load_from("empty", &h, &err), 0);
		assert_non_null(strstr(err.msg, "no guides"));
		unload(&h);
		assert_int_not_equal(load_from("missing", &h, &err), 0);
		unload(&h);
	}
}

int
main(void)
{
	const char *tmp = getenv("ONECERT_TEST_TMP");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(headings_and_paragraphs),
		cmocka_unit_test(escaping),
		cmocka_unit_test(bold),
		cmocka_unit_test(links),
		cmocka_unit_test(lists),
		cmocka_unit_test(deep_and_odd),
		cmocka_unit_test(output_limit),
		cmocka_unit_test(shipped_guides),
		cmocka_unit_test(a_good_folder),
		cmocka_unit_test(broken_guides),
	};
	int rc;

	mkdir(tmp ? tmp : "/tmp", 0755);
	snprintf(tmpdir, sizeof(tmpdir), "%s/guides.XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	{
		char cmd[4300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			rc = rc ? rc : 1;
	}
	return rc;
}
