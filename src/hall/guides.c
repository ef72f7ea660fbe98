/*
 * guides.c — 办事指南 (SPEC §4.5): guides as Markdown files with a small
 * front matter block, tagged on the seed's seven dimensions, listed and
 * filtered, and read as HTML.  Public: no login.
 *
 *   GET /api/v1/guides?region=本市&action=…   the guides (AND of the filters)
 *                                             and every tag's values
 *   GET /api/v1/guides/{id}                    one guide, rendered
 *
 * A guide is data/guides/NN-name.md (or [hall] guides): the file name
 * without ".md" is its id, and names sort the list, so the seed's own
 * guide — 申领——开通数字证书（新企业适用） — is 01-….  The front matter
 * is "---", "title: …" and one line per tag ("地域: 本市、外省市"; several
 * values separated by 、 or a comma), then "---".  Every file is checked
 * and rendered once, at start: a missing or unknown tag stops the hall
 * with a message naming the file, and serving is a lookup in memory
 * (no database, so the handlers run on the event loop).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hall/hall_int.h"
#include "hall/markdown.h"
#include "onecert/log.h"

#define GUIDES_MAX      200
#define GUIDE_BYTES     (64 * 1024)
#define HTML_BYTES      (1 << 20)
#define VALUES_MAX      12
#define VALUE_CHARS     32
#define TITLE_CHARS     100

/* The seven dimensions of SPEC §4.5: the front matter's name, the API's
 * key (query parameters are ASCII). */
static const struct {
	const char *name, *key;
} TAGS[] = {
	{ "指南通用性", "scope" },
	{ "企业现状", "status" },
	{ "地域", "region" },
	{ "对象类别", "object" },
	{ "行业角色", "role" },
	{ "资质动作", "action" },
	{ "涉及信息管理系统", "system" },
};
#define N_TAGS (sizeof(TAGS) / sizeof(TAGS[0]))

static size_t
utf8_chars(const char *s, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			k++;
	return k;
}

static bool
good_name(const char *n)
{
	size_t len = strlen(n);

	if (len < 4 || len > 64 + 3 || strcmp(n + len - 3, ".md") != 0)
		return false;
	for (size_t i = 0; i < len - 3; i++)
		if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= '0' && n[i] <= '9') ||
		    (n[i] == '-' && i > 0)))
			return false;
	return true;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
trim(const char **s, size_t *n)
{
	while (*n > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\r'))
		(*n)--;
}

/* The next separator of a value list (、 , ，) at or after s, or NULL. */
static const char *
next_sep(const char *s, const char *end, size_t *seplen)
{
	for (; s < end; s++) {
		if (*s == ',') {
			*seplen = 1;
			return s;
		}
		if (end - s >= 3 && (memcmp(s, "、", 3) == 0 || memcmp(s, "，", 3) == 0)) {
			*seplen = 3;
			return s;
		}
	}
	return NULL;
}

/* "a、b, c" → ["a", "b", "c"]; NULL with a reason for an empty, long or
 * repeated value. */
static json_t *
split_values(const char *s, size_t n, const char **why)
{
	const char *end = s + n;
	json_t *out = json_array();

	while (out != NULL) {
		size_t seplen = 0, vn;
		const char *sep = next_sep(s, end, &seplen), *v = s;
		json_t *e;
		size_t i;

		vn = (size_t)((sep ? sep : end) - s);
		trim(&v, &vn);
		if (vn == 0 || utf8_chars(v, vn) > VALUE_CHARS) {
			*why = vn == 0 ? "an empty value" : "a value over 32 characters";
			goto bad;
		}
		json_array_foreach(out, i, e)
			if (json_string_length(e) == vn && memcmp(json_string_value(e), v, vn) == 0) {
				*why = "a value listed twice";
				goto bad;
			}
		if (json_array_size(out) >= VALUES_MAX) {
			*why = "more than 12 values";
			goto bad;
		}
		json_array_append_new(out, json_stringn(v, vn));
		if (sep == NULL)
			break;
		s = sep + seplen;
	}
	return out;
bad:
	json_decref(out);
	return NULL;
}

/* Parse one guide file (text[0..len), valid UTF-8) into {"id", "title",
 * "tags", "html"}; NULL with err naming the file. */
static json_t *
parse_guide(const char *file, const char *text, size_t len, struct oc_err *err)
{
	const char *p = text, *end = text + len, *why = NULL;
	json_t *tags = json_object(), *g = NULL;
	char id[72], *title = NULL, what[160] = "";
	struct oc_buf html;
	bool closed = false;

	oc_buf_init(&html, HTML_BYTES);
	snprintf(id, sizeof(id), "%.*s", (int)(strlen(file) - 3), file);
	if (tags == NULL) {
		oc_err_set(err, OC_ENOMEM, "out of memory");
		goto out;
	}
	if (len < 4 || (memcmp(p, "---\n", 4) != 0 && (len < 5 || memcmp(p, "---\r\n", 5) != 0))) {
		snprintf(what, sizeof(what), "it must begin with a front matter block (\"---\")");
		goto bad;
	}
	p = memchr(p, '\n', len) + 1;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *colon, *k = p, *v;
		size_t ln = (size_t)((nl ? nl : end) - p), kn, vn;
		size_t t;

		v = p;
		vn = ln;
		trim(&v, &vn);
		p = nl ? nl + 1 : end;
		if (vn == 3 && memcmp(v, "---", 3) == 0) {
			closed = true;
			break;
		}
		if (vn == 0)
			continue;
		if ((colon = memchr(k, ':', ln)) == NULL) {
			snprintf(what, sizeof(what), "a front matter line without \"key: value\"");
			goto bad;
		}
		kn = (size_t)(colon - k);
		trim(&k, &kn);
		v = colon + 1;
		vn = (size_t)((nl ? nl : end) - v);
		trim(&v, &vn);
		if (kn == 5 && memcmp(k, "title", 5) == 0) {
			if (title != NULL) {
				snprintf(what, sizeof(what), "\"title\" is given twice");
				goto bad;
			}
			if (vn == 0 || utf8_chars(v, vn) > TITLE_CHARS) {
				snprintf(what, sizeof(what), "\"title\" must have 1-%d characters", TITLE_CHARS);
				goto bad;
			}
			if ((title = strndup(v, vn)) == NULL) {
				oc_err_set(err, OC_ENOMEM, "out of memory");
				goto out;
			}
			continue;
		}
		for (t = 0; t < N_TAGS; t++)
			if (strlen(TAGS[t].name) == kn && memcmp(TAGS[t].name, k, kn) == 0)
				break;
		if (t == N_TAGS) {
			snprintf(what, sizeof(what), "unknown front matter key \"%.*s\"",
			    (int)(kn > 40 ? 40 : kn), k);
			goto bad;
		}
		if (json_object_get(tags, TAGS[t].key) != NULL) {
			snprintf(what, sizeof(what), "the tag %s is given twice", TAGS[t].name);
			goto bad;
		}
		{
			json_t *vals = split_values(v, vn, &why);
			json_t *e;
			size_t i;

			if (vals == NULL) {
				snprintf(what, sizeof(what), "the tag %s has %s", TAGS[t].name, why);
				goto bad;
			}
			/* 地域 is 本市 or 外省市 (SPEC §4.5) */
			if (strcmp(TAGS[t].key, "region") == 0)
				json_array_foreach(vals, i, e)
					if (strcmp(json_string_value(e), "本市") != 0 &&
					    strcmp(json_string_value(e), "外省市") != 0) {
						json_decref(vals);
						snprintf(what, sizeof(what), "地域 must be 本市 and/or 外省市");
						goto bad;
					}
			json_object_set_new(tags, TAGS[t].key, vals);
		}
	}
	if (!closed) {
		snprintf(what, sizeof(what), "the front matter is not closed with \"---\"");
		goto bad;
	}
	if (title == NULL) {
		snprintf(what, sizeof(what), "missing \"title\"");
		goto bad;
	}
	for (size_t t = 0; t < N_TAGS; t++)
		if (json_object_get(tags, TAGS[t].key) == NULL) {
			snprintf(what, sizeof(what), "missing tag %s", TAGS[t].name);
			goto bad;
		}
	if (hall_md_render(p, (size_t)(end - p), &html) != 0) {
		snprintf(what, sizeof(what), "it renders to more than 1 MB of HTML");
		goto bad;
	}
	g = json_pack("{s:s, s:s, s:O, s:s}", "id", id, "title", title, "tags", tags,
	    "html", html.p ? (const char *)html.p : "");
	if (g == NULL)
		oc_err_set(err, OC_ENOMEM, "out of memory");
	goto out;
bad:
	oc_err_set(err, OC_ECONFIG, "办事指南有误 / bad guide %s: %s", file, what);
out:
	free(title);
	json_decref(tags);
	oc_buf_cleanup(&html);
	return g;
}

/* The values of each tag over all guides, in order of first appearance:
 * [{"key", "name", "values"}]. */
static json_t *
facets(json_t *list)
{
	json_t *out = json_array(), *g, *v;
	size_t i, j, k;

	for (size_t t = 0; t < N_TAGS; t++) {
		json_t *vals = json_array();

		json_array_foreach(list, i, g)
			json_array_foreach(json_object_get(json_object_get(g, "tags"), TAGS[t].key), j, v) {
				bool seen = false;
				json_t *w;

				json_array_foreach(vals, k, w)
					seen |= json_equal(v, w);
				if (!seen)
					json_array_append(vals, v);
			}
		json_array_append_new(out, json_pack("{s:s, s:s, s:o}", "key", TAGS[t].key,
		    "name", TAGS[t].name, "values", vals));
	}
	return out;
}

int
hall_guides_load(struct hall *h, struct oc_err *err)
{
	const char *v = oc_config_get(h->cfg, "hall", "guides", NULL);
	char dir[4096], path[4200], **names = NULL;
	size_t n = 0, i;
	struct dirent *de;
	struct oc_buf b;
	json_t *list = json_array();
	DIR *d = NULL;
	int rc = OC_ECONFIG;

	oc_buf_init(&b, GUIDE_BYTES);
	if (v != NULL)
		snprintf(dir, sizeof(dir), "%s%s%s", v[0] == '/' ? "" : h->dir, v[0] == '/' ? "" : "/", v);
	else
		snprintf(dir, sizeof(dir), "%s/data/guides", ONECERT_SOURCE_DIR);
	if (list == NULL || (names = calloc(GUIDES_MAX, sizeof(*names))) == NULL) {
		rc = oc_err_set(err, OC_ENOMEM, "out of memory");
		goto out;
	}
	if ((d = opendir(dir)) == NULL) {
		oc_err_set(err, OC_ECONFIG, "cannot read the guides folder %s", dir);
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.' || len < 3 || strcmp(de->d_name + len - 3, ".md") != 0)
			continue;               /* not a guide */
		if (!good_name(de->d_name)) {
			oc_err_set(err, OC_ECONFIG, "办事指南有误 / bad guide %.80s: the file name must be"
			    " [0-9a-z-]+.md (it is the guide's id)", de->d_name);
			goto out;
		}
		if (n == GUIDES_MAX) {
			oc_err_set(err, OC_ECONFIG, "more than %d guides in %s", GUIDES_MAX, dir);
			goto out;
		}
		if ((names[n] = strdup(de->d_name)) == NULL) {
			rc = oc_err_set(err, OC_ENOMEM, "out of memory");
			goto out;
		}
		n++;
	}
	if (n == 0) {
		oc_err_set(err, OC_ECONFIG, "no guides (*.md) in %s", dir);
		goto out;
	}
	qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		json_t *g, *probe;
		int r;

		oc_buf_reset(&b);
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if ((r = oc_buf_read_file(&b, path)) != 0) {
			oc_err_set(err, OC_ECONFIG, "办事指南有误 / bad guide %s: %s", names[i],
			    r == OC_ETOOBIG ? "over 64 KB" : "cannot be read");
			goto out;
		}
		/* valid UTF-8 without NUL: jansson checks both */
		if ((probe = json_stringn((const char *)b.p, b.len)) == NULL ||
		    memchr(b.p, '\0', b.len) != NULL) {
			json_decref(probe);
			oc_err_set(err, OC_ECONFIG, "办事指南有误 / bad guide %s: not UTF-8 text", names[i]);
			goto out;
		}
		json_decref(probe);
		if ((g = parse_guide(names[i], (const char *)b.p, b.len, err)) == NULL) {
			rc = err && err->code ? err->code : OC_ECONFIG;
			goto out;
		}
		json_array_append_new(list, g);
	}
	json_decref(h->guides);
	h->guides = json_pack("{s:O, s:o}", "list", list, "facets", facets(list));
	if (h->guides == NULL) {
		rc = oc_err_set(err, OC_ENOMEM, "out of memory");
		goto out;
	}
	oc_log(OC_LOG_INFO, "hall.guides_loaded", "count=%zu", n);
	rc = 0;
out:
	if (rc != 0 && err != NULL && err->detail[0] == '\0')
		oc_err_detail(err, "%s", dir);
	if (d != NULL)
		closedir(d);
	for (i = 0; names != NULL && i < n; i++)
		free(names[i]);
	free(names);
	json_decref(list);
	oc_buf_cleanup(&b);
	return rc;
}

/* A guide as listed: without its HTML.  Caller owns the result. */
static json_t *
summary(json_t *g)
{
	return json_pack("{s:s, s:s, s:o}", "id", json_string_value(json_object_get(g, "id")),
	    "title", json_string_value(json_object_get(g, "title")),
	    "tags", json_deep_copy(json_object_get(g, "tags")));
}

static bool
has_value(json_t *g, const char *key, const char *value)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(json_object_get(g, "tags"), key), i, v)
		if (strcmp(json_string_value(v), value) == 0)
			return true;
	return false;
}

static void
h_list(struct oc_http_req *req, void *arg)
{
	struct hall *h = arg;
	json_t *list = json_object_get(h->guides, "list"), *out = json_array(), *filters = json_object();
	json_t *g;
	const char *want[N_TAGS];
	size_t i;

	if (out == NULL || filters == NULL) {
		json_decref(out);
		json_decref(filters);
		return oc_http_reply_error(req, 500, "internal_error", "out of memory");
	}
	for (size_t t = 0; t < N_TAGS; t++) {
		want[t] = oc_http_req_query(req, TAGS[t].key);
		if (want[t] != NULL && want[t][0] == '\0')
			want[t] = NULL;         /* 全部 */
		if (want[t] != NULL)
			json_object_set_new(filters, TAGS[t].key, json_string(want[t]));
	}
	json_array_foreach(list, i, g) {
		bool ok = true;

		for (size_t t = 0; t < N_TAGS && ok; t++)
			ok = want[t] == NULL || has_value(g, TAGS[t].key, want[t]);
		if (ok)
			json_array_append_new(out, summary(g));
	}
	oc_http_set_header(req, "Cache-Control", "no-cache");
	oc_http_reply_json(req, 200, json_pack("{s:o, s:o, s:o, s:I}", "guides", out,
	    "tags", json_deep_copy(json_object_get(h->guides, "facets")), "filters", filters,
	    "total", (json_int_t)json_array_size(list)));
}

static void
h_guide(struct oc_http_req *req, void *arg)
{
	struct hall *h = arg;
	const char *id = oc_http_req_tail(req);
	json_t *g;
	size_t i;

	json_array_foreach(json_object_get(h->guides, "list"), i, g)
		if (strcmp(json_string_value(json_object_get(g, "id")), id) == 0) {
			oc_http_set_header(req, "Cache-Control", "no-cache");
			return oc_http_reply_json(req, 200, json_deep_copy(g));
		}
	oc_http_reply_error(req, 404, "not_found", "办事指南不存在 / no such guide");
}

size_t
hall_guides_routes(struct hall *h, struct oc_http_route *r, size_t cap)
{
	if (cap < 2)
		return 0;
	/* public, in memory: on the event loop, on either listener */
	r[0] = (struct oc_http_route){ "GET", "/api/v1/guides", h_list, h, 0, 0, NULL };
	r[1] = (struct oc_http_route){ "GET", "/api/v1/guides/", h_guide, h, 0, OC_HTTP_PREFIX, NULL };
	return 2;
}
