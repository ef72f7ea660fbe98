/*
 * matters.c — 事项 (SPEC §4.3): the catalogue of matters a company files
 * in the hall, and the one generic application every matter accepts —
 * the catalogue's form fields plus attachments (JPEG or PDF, limited in
 * size, checked by content) — that goes to the reviewers' queue with the
 * same one-working-day deadline as 开通, so that permissions guard real
 * work.
 *
 *   GET  /api/v1/matters                                      the catalogue, "allowed" per matter
 *   POST /api/v1/matters/{code}/applications                  a draft with the fields
 *   GET  /api/v1/matters/{code}/applications                  the company's applications of it
 *   GET  /api/v1/matters/{code}/applications/{id}
 *   PUT  /api/v1/matters/{code}/applications/{id}             new fields (drafts)
 *   PUT  /api/v1/matters/{code}/applications/{id}/attachments/{name}
 *   GET  /api/v1/matters/{code}/applications/{id}/attachments/{name}
 *   POST /api/v1/matters/{code}/applications/{id}/submit      保存提交
 *   POST /api/v1/matters/{code}/applications/{id}/withdraw    撤回
 *
 * The permission (hall_matter_allowed) is checked on every request to
 * every endpoint under /api/v1/matters/{code}/, reads included: a page
 * that hides a button is not a permission.  An application of another
 * company, or one filed under another matter code, answers 404 as if it
 * did not exist.  Only the certificate that applied changes an
 * application; the company's other certificates that may do the matter
 * see it.
 *
 * The catalogue (data/matters.json, or [hall] matters) is checked strictly
 * at start-up — unique codes, known field types, sane limits, and a form
 * that always fits the store's column — so a broken file stops the hall
 * with a message naming the entry instead of failing a company later.
 * After start-up nothing changes it: every thread reads it without a lock.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "hall/hall_int.h"
#include "hall/matters.h"
#include "onecert/calendar.h"
#include "onecert/forms.h"
#include "onecert/json.h"
#include "onecert/log.h"

#define CATALOGUE_MAX   (1 << 20)       /* bytes of data/matters.json */
#define MATTERS_MAX     200
#define FIELDS_MAX      40
#define ATTACH_MAX      20
#define ATTACH_KB_MAX   20480           /* 20 MB per attachment */
#define TEXT_MAX        2000            /* characters of one text field */
#define NUMBER_MAX      1e15
#define FORM_BYTES      8100            /* < sizeof(oc_hall_application.form) */
#define BODY_JSON_MAX   16384           /* a request's JSON body */
#define LIST_MAX        200             /* applications listed per matter */

static const char *const TYPES[] = { "image/jpeg", "application/pdf" };

/* ---- small text checks --------------------------------------------- */

static size_t
utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* No control characters (a line feed only where multiline). */
static bool
plain_text(const char *s, bool multiline)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '\n' && multiline)
			continue;
		if (ch < 0x20 || ch == 0x7f)
			return false;
	}
	return true;
}

static bool
blank(const char *s)
{
	for (; *s; s++)
		if (!isspace((unsigned char)*s))
			return false;
	return true;
}

/* first letter [a-z], then [a-z0-9] and the characters in extra; 1..max */
static bool
ident(const char *s, const char *extra, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max || s[0] < 'a' || s[0] > 'z')
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		    strchr(extra, s[i]) != NULL))
			return false;
	return true;
}

static const unsigned char *
find_bytes(const unsigned char *hay, size_t n, const char *needle)
{
	size_t k = strlen(needle);

	for (size_t i = 0; k <= n && i <= n - k; i++)
		if (memcmp(hay + i, needle, k) == 0)
			return hay + i;
	return NULL;
}

/* ---- the catalogue ---------------------------------------------------- */

struct cat_ctx {
	struct oc_err *err;
	size_t index;           /* 1-based entry number, for messages */
	const char *code;
};

static int
bad(struct cat_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
bad(struct cat_ctx *x, const char *fmt, ...)
{
	char what[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return oc_err_set(x->err, OC_ECONFIG, "事项目录有误 / bad matter catalogue: matter #%zu \"%s\": %s",
	    x->index, x->code ? x->code : "?", what);
}

/* Only the keys in allowed[] (NULL-terminated). */
static const char *
unknown_key(json_t *o, const char *const *allowed)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v) {
		size_t i;

		for (i = 0; allowed[i] != NULL && strcmp(allowed[i], k) != 0; i++)
			;
		if (allowed[i] == NULL)
			return k;
	}
	return NULL;
}

/* A string member of 1..max characters of plain text (optional: may be
 * absent). */
static int
cat_str(struct cat_ctx *x, json_t *o, const char *where, const char *key, size_t max,
    bool required, bool multiline, const char **out)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL && !required)
		return 0;
	if (!json_is_string(v))
		return bad(x, "%s\"%s\" must be a string", where, key);
	*out = json_string_value(v);
	if (strlen(*out) != json_string_length(v) || blank(*out) || !plain_text(*out, multiline))
		return bad(x, "%s\"%s\" must be non-empty plain text", where, key);
	if (utf8_chars(*out) > max)
		return bad(x, "%s\"%s\" is longer than %zu characters", where, key, max);
	return 0;
}

static int
check_field(struct cat_ctx *x, json_t *f, size_t fi, json_t *seen, size_t *budget)
{
	static const char *const keys[] = { "key", "label", "type", "required", "max", "hint", NULL };
	const char *key, *label, *type, *hint, *k;
	char where[96];
	json_t *max, *req;
	int rc;

	snprintf(where, sizeof(where), "field #%zu: ", fi + 1);
	if (!json_is_object(f))
		return bad(x, "%sshould be an object", where);
	if ((k = unknown_key(f, keys)) != NULL)
		return bad(x, "%sunknown key \"%.40s\"", where, k);
	if (!json_is_string(json_object_get(f, "key")) ||
	    !ident(key = json_string_value(json_object_get(f, "key")), "_", 32))
		return bad(x, "%s\"key\" must be 1-32 of [a-z0-9_], starting with a letter", where);
	snprintf(where, sizeof(where), "field \"%s\": ", key);
	if (json_object_get(seen, key) != NULL)
		return bad(x, "%sthe key is used twice", where);
	json_object_set_new(seen, key, json_true());
	if ((rc = cat_str(x, f, where, "label", 64, true, false, &label)) != 0 ||
	    (rc = cat_str(x, f, where, "type", 16, true, false, &type)) != 0 ||
	    (rc = cat_str(x, f, where, "hint", 200, false, false, &hint)) != 0)
		return rc;
	if (!json_is_boolean(req = json_object_get(f, "required")))
		return bad(x, "%s\"required\" must be true or false", where);
	max = json_object_get(f, "max");
	if (strcmp(type, "text") == 0) {
		if (!json_is_integer(max) || json_integer_value(max) < 1 ||
		    json_integer_value(max) > TEXT_MAX)
			return bad(x, "%sa text field needs \"max\" (characters, 1-%d)", where, TEXT_MAX);
		/* a character is at most 4 bytes of UTF-8 or 2 of a JSON escape */
		*budget += strlen(key) + 6 + 4 * (size_t)json_integer_value(max);
	} else if (strcmp(type, "number") == 0) {
		if (!json_is_number(max) || !(json_number_value(max) > 0) ||
		    json_number_value(max) > NUMBER_MAX)
			return bad(x, "%sa number field needs \"max\" (the largest value, up to 1e15)", where);
		*budget += strlen(key) + 6 + 24;
	} else if (strcmp(type, "date") == 0) {
		if (max != NULL)
			return bad(x, "%sa date field takes no \"max\"", where);
		*budget += strlen(key) + 6 + 10;
	} else {
		return bad(x, "%sunknown type \"%.20s\" (text, date or number)", where, type);
	}
	return 0;
}

static int
check_attachment(struct cat_ctx *x, json_t *a, size_t ai, json_t *seen)
{
	static const char *const keys[] = { "name", "label", "required", "types", "max_kb", "hint", NULL };
	const char *name, *label, *hint, *k;
	char where[96];
	json_t *types, *t, *kb;
	size_t ti;
	int rc;

	snprintf(where, sizeof(where), "attachment #%zu: ", ai + 1);
	if (!json_is_object(a))
		return bad(x, "%sshould be an object", where);
	if ((k = unknown_key(a, keys)) != NULL)
		return bad(x, "%sunknown key \"%.40s\"", where, k);
	if (!json_is_string(json_object_get(a, "name")) ||
	    !ident(name = json_string_value(json_object_get(a, "name")), "_-", 48))
		return bad(x, "%s\"name\" must be 1-48 of [a-z0-9_-], starting with a letter", where);
	snprintf(where, sizeof(where), "attachment \"%s\": ", name);
	if (json_object_get(seen, name) != NULL)
		return bad(x, "%sthe name is used twice", where);
	json_object_set_new(seen, name, json_true());
	if ((rc = cat_str(x, a, where, "label", 64, true, false, &label)) != 0 ||
	    (rc = cat_str(x, a, where, "hint", 200, false, false, &hint)) != 0)
		return rc;
	if (!json_is_boolean(json_object_get(a, "required")))
		return bad(x, "%s\"required\" must be true or false", where);
	types = json_object_get(a, "types");
	if (!json_is_array(types) || json_array_size(types) == 0 || json_array_size(types) > 2)
		return bad(x, "%s\"types\" must list image/jpeg and/or application/pdf", where);
	json_array_foreach(types, ti, t) {
		const char *s = json_string_value(t);

		if (s == NULL || (strcmp(s, TYPES[0]) != 0 && strcmp(s, TYPES[1]) != 0))
			return bad(x, "%sunknown type \"%.40s\" (image/jpeg, application/pdf)", where,
			    s ? s : "?");
		for (size_t tj = 0; tj < ti; tj++)
			if (strcmp(s, json_string_value(json_array_get(types, tj))) == 0)
				return bad(x, "%s\"%s\" is listed twice", where, s);
	}
	kb = json_object_get(a, "max_kb");
	if (!json_is_integer(kb) || json_integer_value(kb) < 1 || json_integer_value(kb) > ATTACH_KB_MAX)
		return bad(x, "%s\"max_kb\" must be a whole number of KB, 1-%d", where, ATTACH_KB_MAX);
	return 0;
}

static int
check_matter(struct cat_ctx *x, json_t *m, json_t *codes, json_t *names)
{
	static const char *const keys[] = { "code", "name", "department", "description",
	    "fields", "attachments", NULL };
	const char *code, *name, *dept, *desc, *k;
	json_t *fields, *atts, *v, *seen;
	size_t i, budget = 2;
	int rc = 0;

	if (!json_is_object(m))
		return bad(x, "should be an object");
	if (json_is_string(json_object_get(m, "code")))
		x->code = json_string_value(json_object_get(m, "code"));
	if ((k = unknown_key(m, keys)) != NULL)
		return bad(x, "unknown key \"%.40s\"", k);
	if (x->code == NULL || !ident(code = x->code, "-", 31))
		return bad(x, "\"code\" must be 1-31 of [a-z0-9-], starting with a letter");
	if (json_object_get(codes, code) != NULL)
		return bad(x, "the code is used twice");
	json_object_set_new(codes, code, json_true());
	if ((rc = cat_str(x, m, "", "name", 64, true, false, &name)) != 0 ||
	    (rc = cat_str(x, m, "", "department", 64, true, false, &dept)) != 0 ||
	    (rc = cat_str(x, m, "", "description", 1000, false, true, &desc)) != 0)
		return rc;
	if (json_object_get(names, name) != NULL)
		return bad(x, "the name \"%.60s\" is used twice", name);
	json_object_set_new(names, name, json_true());
	fields = json_object_get(m, "fields");
	if (!json_is_array(fields) || json_array_size(fields) == 0 ||
	    json_array_size(fields) > FIELDS_MAX)
		return bad(x, "\"fields\" must be an array of 1-%d fields", FIELDS_MAX);
	atts = json_object_get(m, "attachments");
	if (!json_is_array(atts) || json_array_size(atts) > ATTACH_MAX)
		return bad(x, "\"attachments\" must be an array of at most %d attachments", ATTACH_MAX);
	if ((seen = json_object()) == NULL)
		return oc_err_set(x->err, OC_ENOMEM, "out of memory");
	json_array_foreach(fields, i, v)
		if ((rc = check_field(x, v, i, seen, &budget)) != 0)
			break;
	json_object_clear(seen);
	if (rc == 0)
		json_array_foreach(atts, i, v)
			if ((rc = check_attachment(x, v, i, seen)) != 0)
				break;
	json_decref(seen);
	if (rc == 0 && budget > FORM_BYTES)
		rc = bad(x, "the fields' limits add up to more than a form may hold (%zu of %d bytes):"
		    " lower some \"max\"", budget, FORM_BYTES);
	return rc;
}

/* Check the whole catalogue; err names the first bad entry. */
static int
check_catalogue(json_t *cat, struct oc_err *err)
{
	struct cat_ctx x = { err, 0, NULL };
	json_t *codes = json_object(), *names = json_object(), *m;
	size_t i;
	int rc = 0;

	if (codes == NULL || names == NULL)
		rc = oc_err_set(err, OC_ENOMEM, "out of memory");
	else if (!json_is_array(cat) || json_array_size(cat) == 0 || json_array_size(cat) > MATTERS_MAX)
		rc = oc_err_set(err, OC_ECONFIG, "事项目录有误 / bad matter catalogue: it must be a JSON"
		    " array of 1-%d matters", MATTERS_MAX);
	else
		json_array_foreach(cat, i, m) {
			x.index = i + 1;
			x.code = NULL;
			if ((rc = check_matter(&x, m, codes, names)) != 0)
				break;
		}
	json_decref(codes);
	json_decref(names);
	return rc;
}

int
hall_matters_load(struct hall *h, struct oc_err *err)
{
	const char *v = oc_config_get(h->cfg, "hall", "matters", NULL);
	char path[4096];
	struct oc_buf b;
	json_error_t je;
	json_t *cat = NULL;
	int rc;

	if (v != NULL)
		snprintf(path, sizeof(path), "%s%s%s", v[0] == '/' ? "" : h->dir,
		    v[0] == '/' ? "" : "/", v);
	else
		snprintf(path, sizeof(path), "%s/data/matters.json", ONECERT_SOURCE_DIR);
	oc_buf_init(&b, CATALOGUE_MAX);
	if ((rc = oc_buf_read_file(&b, path)) != 0) {
		rc = oc_err_set(err, OC_ECONFIG, "cannot read the matter catalogue %s: %s", path,
		    rc == OC_ETOOBIG ? "over 1 MB" : oc_err_name(rc));
		goto out;
	}
	if ((cat = json_loadb((const char *)b.p, b.len, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		rc = oc_err_set(err, OC_ECONFIG, "事项目录有误 / bad matter catalogue: line %d column %d: %s",
		    je.line, je.column, je.text);
		oc_err_detail(err, "%s", path);
		goto out;
	}
	if ((rc = check_catalogue(cat, err)) != 0) {
		oc_err_detail(err, "%s", path);
		goto out;
	}
	json_decref(h->matters);
	h->matters = cat;
	cat = NULL;
	oc_log(OC_LOG_INFO, "hall.matters_loaded", "count=%zu", json_array_size(h->matters));
out:
	json_decref(cat);
	oc_buf_cleanup(&b);
	return rc;
}

json_t *
hall_matter_find(const struct hall *h, const char *code)
{
	json_t *m;
	size_t i;

	if (h->matters == NULL || code == NULL)
		return NULL;
	json_array_foreach(h->matters, i, m)
		if (strcmp(json_string_value(json_object_get(m, "code")), code) == 0)
			return m;
	return NULL;
}

static json_t *
named(const json_t *arr, const char *key, const char *value)
{
	json_t *e;
	size_t i;

	json_array_foreach(arr, i, e)
		if (strcmp(json_string_value(json_object_get(e, key)), value) == 0)
			return e;
	return NULL;
}

json_t *
hall_matter_attachment_find(const json_t *matter, const char *name)
{
	return named(json_object_get(matter, "attachments"), "name", name);
}

static const char *
mstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

json_t *
hall_matter_ref_json(const struct hall *h, const char *code)
{
	json_t *m = hall_matter_find(h, code);

	return json_pack("{s:s, s:s, s:s}", "code", code, "name", mstr(m, "name"),
	    "department", mstr(m, "department"));
}

/* ---- applications ----------------------------------------------------- */

static int
collect_attachment(const struct oc_hall_attachment *a, void *arg)
{
	char up[32];

	hall_iso(a->uploaded_at, up, sizeof(up));
	json_array_append_new(arg, json_pack("{s:s, s:s, s:I, s:s, s:s}", "name", a->name,
	    "content_type", a->content_type, "size", (json_int_t)a->size, "sha256", a->sha256,
	    "uploaded_at", up));
	return 0;
}

json_t *
hall_matter_attachments_json(struct hall_call *c, const struct oc_hall_application *a)
{
	json_t *stored = json_array(), *out = json_array(), *catalogue, *e, *s;
	size_t i;

	if (stored == NULL || out == NULL ||
	    oc_hall_attachment_list(c->st, a->id, collect_attachment, stored, NULL) != 0) {
		json_decref(stored);
		return out;
	}
	catalogue = json_object_get(hall_matter_find(c->h, a->matter), "attachments");
	/* catalogue order first, then any the catalogue no longer names */
	json_array_foreach(catalogue, i, e)
		if ((s = named(stored, "name", mstr(e, "name"))) != NULL) {
			json_object_set_new(s, "label", json_string(mstr(e, "label")));
			json_array_append(out, s);
		}
	json_array_foreach(stored, i, s)
		if (json_object_get(s, "label") == NULL) {
			json_object_set_new(s, "label", json_string(mstr(s, "name")));
			json_array_append(out, s);
		}
	json_decref(stored);
	return out;
}

void
hall_matter_attachment_reply(struct hall_call *c, const struct oc_hall_application *a,
    const char *name)
{
	struct oc_hall_attachment meta;
	struct oc_err err;
	unsigned char *data = NULL;
	char disp[160];

	oc_err_clear(&err);
	if (oc_hall_attachment_get(c->st, a->id, name, &meta, &data, &err) != 0) {
		if (err.code == OC_ENOTFOUND)
			oc_http_reply_error(c->req, 404, "not_found", "附件不存在 / no such attachment");
		else
			oc_http_reply_err(c->req, &err);
		return;
	}
	snprintf(disp, sizeof(disp), "inline; filename=\"%s-%lld.%s\"", meta.name, a->id,
	    strcmp(meta.content_type, "application/pdf") == 0 ? "pdf" : "jpg");
	oc_http_set_header(c->req, "Content-Disposition", disp);
	oc_http_set_header(c->req, "Cache-Control", "private, no-store");
	oc_http_set_header(c->req, "X-Content-Type-Options", "nosniff");
	oc_http_set_header(c->req, "Content-Security-Policy", "sandbox");
	oc_http_reply(c->req, 200, meta.content_type, data, meta.size);
	free(data);
}

/* The required attachments not yet uploaded (names). */
static json_t *
missing_of(const json_t *matter, const json_t *attachments)
{
	json_t *out = json_array(), *e;
	size_t i;

	json_array_foreach(json_object_get(matter, "attachments"), i, e)
		if (json_is_true(json_object_get(e, "required")) &&
		    named(attachments, "name", mstr(e, "name")) == NULL)
			json_array_append_new(out, json_string(mstr(e, "name")));
	return out;
}

static json_t *
app_json(struct hall_call *c, const json_t *matter, const struct oc_hall_application *a)
{
	char cr[32], up[32], sub[32], dl[32], dec[32];
	json_t *form = json_loads(a->form, 0, NULL);
	json_t *atts = hall_matter_attachments_json(c, a);

	hall_iso(a->created_at, cr, sizeof(cr));
	hall_iso(a->updated_at, up, sizeof(up));
	hall_iso(a->submitted_at, sub, sizeof(sub));
	hall_iso(a->deadline, dl, sizeof(dl));
	hall_iso(a->decided_at, dec, sizeof(dec));
	return json_pack("{s:I, s:s, s:o, s:s, s:b, s:o, s:o, s:o, s:s, s:s, s:s, s:s, s:s, s:s}",
	    "id", (json_int_t)a->id, "kind", "matter", "matter", hall_matter_ref_json(c->h, a->matter),
	    "state", a->state, "mine", a->account_id == c->a.id,
	    "form", form ? form : json_object(), "missing", missing_of(matter, atts),
	    "attachments", atts, "created_at", cr, "updated_at", up, "submitted_at", sub,
	    "deadline", dl, "decided_at", dec, "reason", a->reason);
}

static void
reply_field(struct hall_call *c, const char *field, const char *msg)
{
	oc_http_reply_json(c->req, 400, json_pack("{s:{s:s, s:s, s:s}}", "error", "code",
	    "invalid_input", "message", msg, "field", field));
}

static bool
valid_date(const char *s)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, m, d, n = 0;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
			return false;
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10)
		return false;
	if (y < 1900 || y > 2100 || m < 1 || m > 12 || d < 1)
		return false;
	return d <= days[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
}

/* A non-negative decimal: up to 15 digits before the point, 4 after, no
 * leading zeros. */
static bool
valid_number(const char *s)
{
	size_t i = 0, d = 0;

	if (s[0] == '0' && isdigit((unsigned char)s[1]))
		return false;
	for (; isdigit((unsigned char)s[i]); i++)
		d++;
	if (d == 0 || d > 15)
		return false;
	if (s[i] == '.') {
		size_t f = 0;

		for (i++; isdigit((unsigned char)s[i]); i++)
			f++;
		if (f == 0 || f > 4)
			return false;
	}
	return s[i] == '\0';
}

/* The request's fields, checked against the matter's: a fresh object of
 * the non-empty values, as strings.  NULL after replying 400 naming the
 * field (unknown keys are refused, not dropped). */
static json_t *
parse_fields(struct hall_call *c, const json_t *matter, json_t *body)
{
	json_t *fields = json_object_get(matter, "fields"), *out = json_object(), *f, *v;
	const char *k;
	char msg[300], num[64];
	size_t i;

	if (out == NULL) {
		oc_http_reply_error(c->req, 500, "internal_error", "out of memory");
		return NULL;
	}
	json_object_foreach(body, k, v)
		if (named(fields, "key", k) == NULL) {
			/* quoted up to 60 bytes, cut between characters: a
			 * message that is not UTF-8 would make no reply (500) */
			int kn = (int)strlen(k);

			for (kn = kn > 60 ? 60 : kn; kn > 0 && ((unsigned char)k[kn] & 0xc0) == 0x80; kn--)
				;
			snprintf(msg, sizeof(msg), "“%.*s”不是此事项的填写项 / %.*s is not a field of this matter",
			    kn, k, kn, k);
			reply_field(c, k, msg);
			goto bad;
		}
	json_array_foreach(fields, i, f) {
		const char *key = mstr(f, "key"), *label = mstr(f, "label"), *type = mstr(f, "type");
		const char *s = NULL;

		v = json_object_get(body, key);
		if (json_is_string(v)) {
			s = json_string_value(v);
			if (strlen(s) != json_string_length(v)) {
				snprintf(msg, sizeof(msg), "%s含有非法字符 / %s has a NUL character", label, key);
				reply_field(c, key, msg);
				goto bad;
			}
		} else if (json_is_integer(v) && strcmp(type, "number") == 0) {
			snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
			s = num;
		} else if (json_is_real(v) && strcmp(type, "number") == 0) {
			double d = json_real_value(v);
			size_t n;

			if (!isfinite(d) || d < 0 || d > NUMBER_MAX)
				snprintf(num, sizeof(num), "-");
			else
				snprintf(num, sizeof(num), "%.4f", d);
			n = strlen(num);
			while (n > 0 && strchr(num, '.') && (num[n - 1] == '0' || num[n - 1] == '.'))
				num[--n] = '\0';
			s = num;
		} else if (v != NULL && !json_is_null(v)) {
			snprintf(msg, sizeof(msg), "%s格式错误 / %s has the wrong JSON type", label, key);
			reply_field(c, key, msg);
			goto bad;
		}
		if (s == NULL || blank(s)) {
			if (!json_is_true(json_object_get(f, "required")))
				continue;
			snprintf(msg, sizeof(msg), "请填写%s / %s is required", label, key);
			reply_field(c, key, msg);
			goto bad;
		}
		if (strcmp(type, "text") == 0) {
			json_int_t max = json_integer_value(json_object_get(f, "max"));

			if (!plain_text(s, max > 100)) {
				snprintf(msg, sizeof(msg), "%s含有非法字符 / %s has control characters", label, key);
				reply_field(c, key, msg);
				goto bad;
			}
			if ((json_int_t)utf8_chars(s) > max) {
				snprintf(msg, sizeof(msg), "%s过长（最多%" JSON_INTEGER_FORMAT "个字符） / %s is too long",
				    label, max, key);
				reply_field(c, key, msg);
				goto bad;
			}
		} else if (strcmp(type, "date") == 0) {
			if (!valid_date(s)) {
				snprintf(msg, sizeof(msg), "%s应为有效日期，格式如2026-03-01 / %s must be a date (YYYY-MM-DD)",
				    label, key);
				reply_field(c, key, msg);
				goto bad;
			}
		} else {
			double max = json_number_value(json_object_get(f, "max"));

			if (!valid_number(s)) {
				snprintf(msg, sizeof(msg), "%s应为不小于0的数字（最多4位小数） / %s must be a number ≥ 0",
				    label, key);
				reply_field(c, key, msg);
				goto bad;
			}
			if (strtod(s, NULL) > max) {
				snprintf(msg, sizeof(msg), "%s不能大于%.15g / %s may be at most %.15g", label, max,
				    key, max);
				reply_field(c, key, msg);
				goto bad;
			}
		}
		json_object_set_new(out, key, json_string(s));
	}
	return out;
bad:
	json_decref(out);
	return NULL;
}

/* The fields as stored (sorted keys, compact); NULL after replying. */
static char *
form_dump(struct hall_call *c, json_t *form)
{
	char *s = json_dumps(form, JSON_COMPACT | JSON_SORT_KEYS);

	if (s == NULL)
		oc_http_reply_error(c->req, 500, "internal_error", "out of memory");
	else if (strlen(s) >= sizeof(((struct oc_hall_application *)0)->form)) {
		/* the catalogue check keeps this from happening */
		free(s);
		s = NULL;
		oc_http_reply_error(c->req, 413, "too_large", "填写内容过长 / the fields are too long");
	}
	return s;
}

/* What one request under /api/v1/matters/{code}/ is about. */
struct mreq {
	struct hall_call *c;
	const json_t *matter;
	const char *code;
	struct oc_hall_company co;
	struct oc_hall_application *a;  /* loaded by load_app */
};

/* The application {id} of the caller's company under this matter (404
 * otherwise); with mine, it must be the caller's own (403). */
static bool
load_app(struct mreq *r, long long id, bool mine)
{
	struct hall_call *c = r->c;

	if (oc_hall_app_get(c->st, id, r->a, NULL) != 0 || r->a->company_id != r->co.id ||
	    strcmp(r->a->kind, "matter") != 0 || strcmp(r->a->matter, r->code) != 0) {
		oc_http_reply_error(c->req, 404, "not_found", "申请不存在 / no such application");
		return false;
	}
	if (mine && r->a->account_id != c->a.id) {
		oc_http_reply_error(c->req, 403, "forbidden",
		    "只有提交申请的证书可以修改此申请 / only the applying certificate may change it");
		return false;
	}
	return true;
}

static void
audit(struct mreq *r, const char *action, json_t *detail)
{
	char *s;

	json_object_set_new(detail, "app", json_integer(r->a->id));
	json_object_set_new(detail, "matter", json_string(r->code));
	s = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
	oc_hall_audit(r->c->st, r->c->a.serial, oc_http_req_peer(r->c->req), action,
	    r->co.org_code, s ? s : "{}", NULL);
	free(s);
	json_decref(detail);
}

/* The applicant's holder mobile (持证人手机); for the main certificate
 * without one, the holder mobile given at registration.  "" when none. */
static const char *
holder_mobile(struct mreq *r, char *buf, size_t cap)
{
	const struct oc_hall_account *a = &r->c->a;
	json_t *p;

	snprintf(buf, cap, "%s", a->holder_mobile);
	if (buf[0] == '\0' && r->co.main_account_id == a->id &&
	    (p = json_loads(r->co.profile, 0, NULL)) != NULL) {
		snprintf(buf, cap, "%s", mstr(p, "holder_mobile"));
		json_decref(p);
	}
	return buf;
}

static void
notify(struct mreq *r, const char *purpose, const char *text)
{
	char mobile[32];

	if (holder_mobile(r, mobile, sizeof(mobile))[0] != '\0')
		hall_notify(r->c, mobile, purpose, text);
}

struct list_ctx {
	struct mreq *r;
	json_t *items;
};

static int
list_item(const struct oc_hall_application *a, void *arg)
{
	struct list_ctx *l = arg;

	json_array_append_new(l->items, app_json(l->r->c, l->r->matter, a));
	return 0;
}

static void
app_list(struct mreq *r)
{
	struct list_ctx l = { r, json_array() };
	struct oc_err err;

	oc_err_clear(&err);
	if (oc_hall_app_list_company(r->c->st, r->co.id, "matter", r->code, LIST_MAX, list_item,
	    &l, &err) != 0) {
		json_decref(l.items);
		return oc_http_reply_err(r->c->req, &err);
	}
	oc_http_reply_json(r->c->req, 200, json_pack("{s:o, s:o}", "matter",
	    hall_matter_ref_json(r->c->h, r->code), "items", l.items));
}

static void
app_create(struct mreq *r)
{
	struct hall_call *c = r->c;
	struct oc_hall_matter_refusal ref;
	struct oc_err err;
	time_t now = time(NULL);
	json_t *body, *form;
	char *s;

	if ((body = hall_body_json(c, BODY_JSON_MAX)) == NULL)
		return;
	form = parse_fields(c, r->matter, body);
	json_decref(body);
	if (form == NULL)
		return;
	s = form_dump(c, form);
	json_decref(form);
	if (s == NULL)
		return;
	memset(r->a, 0, sizeof(*r->a));
	r->a->company_id = r->co.id;
	r->a->account_id = c->a.id;
	snprintf(r->a->kind, sizeof(r->a->kind), "matter");
	snprintf(r->a->matter, sizeof(r->a->matter), "%s", r->code);
	snprintf(r->a->form, sizeof(r->a->form), "%s", s);
	free(s);
	oc_err_clear(&err);
	if (oc_hall_matter_app_create(c->st, r->a, &c->h->matter_bounds, now, &ref, &err) != 0) {
		if (ref.which[0] == '\0')
			return oc_http_reply_err(c->req, &err);
		/* a bound: 409 while too many drafts are open (submitting
		 * or withdrawing one frees room), 429 for too many started
		 * in 24 hours (with when to try again) */
		oc_log(OC_LOG_INFO, "hall.matter_bound", "company=%s bound=%s limit=%ld by=%s",
		    r->co.org_code, ref.which, ref.limit, c->a.serial);
		if (strcmp(ref.which, "draft") == 0)
			return oc_http_reply_json(c->req, 409, json_pack("{s:{s:s, s:s, s:I}}", "error",
			    "code", "too_many_drafts", "message", err.msg, "limit", (json_int_t)ref.limit));
		return oc_http_reply_json(c->req, 429, json_pack("{s:{s:s, s:s, s:I, s:I}}", "error",
		    "code", "too_many", "message", err.msg, "limit", (json_int_t)ref.limit,
		    "retry_after", (json_int_t)(ref.retry_at > now ? ref.retry_at - now : 1)));
	}
	audit(r, "matter.create", json_object());
	oc_http_reply_json(c->req, 201, app_json(c, r->matter, r->a));
}

static void
app_update(struct mreq *r, long long id)
{
	struct hall_call *c = r->c;
	struct oc_err err;
	json_t *body, *form;
	char *s;

	if (!load_app(r, id, true) || (body = hall_body_json(c, BODY_JSON_MAX)) == NULL)
		return;
	form = parse_fields(c, r->matter, body);
	json_decref(body);
	if (form == NULL)
		return;
	s = form_dump(c, form);
	json_decref(form);
	if (s == NULL)
		return;
	oc_err_clear(&err);
	if (oc_hall_app_update_form(c->st, id, s, NULL, &err) != 0 ||
	    oc_hall_app_get(c->st, id, r->a, &err) != 0) {
		free(s);
		return oc_http_reply_err(c->req, &err);
	}
	free(s);
	audit(r, "matter.update", json_object());
	oc_http_reply_json(c->req, 200, app_json(c, r->matter, r->a));
}

/* The media type of a Content-Type header ("image/jpeg; x=y" → image/jpeg)
 * when it is one of TYPES, else NULL. */
static const char *
media_type(const char *ct)
{
	size_t n;

	if (ct == NULL)
		return NULL;
	while (*ct == ' ')
		ct++;
	n = strcspn(ct, "; \t");
	for (size_t i = 0; i < sizeof(TYPES) / sizeof(TYPES[0]); i++)
		if (n == strlen(TYPES[i]) && strncasecmp(ct, TYPES[i], n) == 0)
			return TYPES[i];
	return NULL;
}

static bool
allows_type(const json_t *att, const char *type)
{
	json_t *t;
	size_t i;

	json_array_foreach(json_object_get(att, "types"), i, t)
		if (type != NULL && strcmp(json_string_value(t), type) == 0)
			return true;
	return false;
}

/* A PDF by its content: it begins with "%PDF-1.x" (or "%PDF-2.x"), and its
 * last KB holds "startxref", an offset inside the file, and "%%EOF" — what
 * a complete file ends with, and what a truncated one lacks. */
static int
pdf_check(const unsigned char *p, size_t len, struct oc_err *err)
{
	const unsigned char *tail, *eof, *sx, *q;
	size_t tlen;
	unsigned long long off = 0;
	int digits = 0;

	if (len < 16 || (memcmp(p, "%PDF-1.", 7) != 0 && memcmp(p, "%PDF-2.", 7) != 0) ||
	    !isdigit(p[7]))
		return oc_err_set(err, OC_EINVAL,
		    "文件不是PDF格式（内容不以%%PDF-开头） / not a PDF (it does not begin with %%PDF-1.x)");
	tlen = len > 1024 ? 1024 : len;
	tail = p + len - tlen;
	for (eof = NULL, q = tail; (q = find_bytes(q, tlen - (size_t)(q - tail), "%%EOF")) != NULL; q++)
		eof = q;
	if (eof == NULL)
		return oc_err_set(err, OC_EINVAL,
		    "PDF文件不完整或已损坏（缺少结尾标记%%%%EOF） / the PDF is truncated (no %%%%EOF at its end)");
	for (sx = NULL, q = tail; (q = find_bytes(q, (size_t)(eof - q), "startxref")) != NULL; q++)
		sx = q;
	if (sx != NULL) {
		for (q = sx + 9; q < eof && isspace(*q); q++)
			;
		for (; q < eof && isdigit(*q) && digits < 19; q++, digits++)
			off = off * 10 + (unsigned)(*q - '0');
	}
	if (sx == NULL || digits == 0 || off >= len)
		return oc_err_set(err, OC_EINVAL,
		    "PDF文件不完整或已损坏（缺少交叉引用表位置startxref） / the PDF is damaged (no startxref)");
	return 0;
}

static void
sha256_hex(const unsigned char *d, size_t n, char out[65])
{
	unsigned char md[32];
	unsigned int mdl = 0;

	EVP_Digest(d, n, md, &mdl, EVP_sha256(), NULL);
	out[0] = '\0';
	for (unsigned i = 0; i < mdl; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void
attachment_put(struct mreq *r, long long id, const char *name)
{
	struct hall_call *c = r->c;
	struct oc_hall_attachment meta;
	struct oc_scan_info info;
	struct oc_err err;
	const json_t *att = hall_matter_attachment_find(r->matter, name);
	const unsigned char *body;
	const char *type;
	char msg[300];
	json_int_t kb;
	size_t len, max;
	int rc;

	if (att == NULL)
		return oc_http_reply_error(c->req, 404, "not_found",
		    "此事项没有这项附件 / this matter has no such attachment");
	if (!load_app(r, id, true))
		return;
	type = media_type(oc_http_req_header(c->req, "Content-Type"));
	if (!allows_type(att, type)) {
		bool jpeg = allows_type(att, TYPES[0]), pdf = allows_type(att, TYPES[1]);

		snprintf(msg, sizeof(msg), "“%s”请上传%s文件（Content-Type: %s） / upload %s as %s",
		    mstr(att, "label"), jpeg && pdf ? "JPG或PDF" : jpeg ? "JPG" : "PDF",
		    jpeg && pdf ? "image/jpeg 或 application/pdf" : jpeg ? TYPES[0] : TYPES[1],
		    name, jpeg && pdf ? "image/jpeg or application/pdf" : jpeg ? TYPES[0] : TYPES[1]);
		return oc_http_reply_error(c->req, 415, "unsupported_media_type", msg);
	}
	if (strcmp(r->a->state, "draft") != 0)
		return oc_http_reply_error(c->req, 409, "conflict",
		    "申请已提交或已处理，不能更换附件 / only a draft's attachments can be changed");
	kb = json_integer_value(json_object_get(att, "max_kb"));
	max = (size_t)kb * 1024;
	body = oc_http_req_body(c->req, &len);
	if (len > max) {
		snprintf(msg, sizeof(msg), "“%s”最大不超过%" JSON_INTEGER_FORMAT "KB / %s may be at most %"
		    JSON_INTEGER_FORMAT " KB", mstr(att, "label"), kb, name, kb);
		return oc_http_reply_error(c->req, 413, "too_large", msg);
	}
	if (len == 0)
		return oc_http_reply_error(c->req, 400, "invalid_input", "文件为空 / the file is empty");
	oc_err_clear(&err);
	rc = type == TYPES[0] ? oc_scan_check(body, len, max, &info, &err) : pdf_check(body, len, &err);
	if (rc != 0) {
		oc_log(OC_LOG_INFO, "hall.attachment_refused", "app=%lld name=%s type=%s bytes=%zu",
		    id, name, type, len);
		return oc_http_reply_err(c->req, &err);
	}
	memset(&meta, 0, sizeof(meta));
	meta.app_id = id;
	snprintf(meta.name, sizeof(meta.name), "%s", name);
	snprintf(meta.content_type, sizeof(meta.content_type), "%s", type);
	meta.size = len;
	sha256_hex(body, len, meta.sha256);
	if (oc_hall_attachment_put(c->st, &meta, body, &err) != 0)
		return oc_http_reply_err(c->req, &err);
	audit(r, "matter.attachment", json_pack("{s:s, s:s, s:I, s:s}", "name", name,
	    "content_type", type, "bytes", (json_int_t)len, "sha256", meta.sha256));
	oc_http_reply_json(c->req, 200, app_json(c, r->matter, r->a));
}

static void
deadline_cn(time_t deadline, char *buf, size_t cap)
{
	struct tm tm;
	time_t t = deadline + 8 * 3600;

	gmtime_r(&t, &tm);
	strftime(buf, cap, "%Y年%m月%d日", &tm);
}

static void
app_submit(struct mreq *r, long long id)
{
	struct hall_call *c = r->c;
	struct oc_err err;
	time_t now = time(NULL), deadline;
	json_t *body = NULL, *form = NULL, *atts = NULL, *missing = NULL, *reply;
	char *s = NULL, dl[32], text[512], msg[300];

	if (!load_app(r, id, true) || (body = hall_body_json(c, BODY_JSON_MAX)) == NULL)
		goto out;
	oc_err_clear(&err);
	if (strcmp(r->a->state, "draft") != 0) {
		oc_http_reply_error(c->req, 409, "conflict",
		    "申请已提交或已处理，不能重复提交 / the application was already submitted or decided");
		goto out;
	}
	/* 保存提交: the fields on the page are checked now and saved only
	 * once the submission's own checks have passed — a refused
	 * submission leaves the draft as it was (SPEC §7) */
	if (json_object_size(body) > 0 &&
	    ((form = parse_fields(c, r->matter, body)) == NULL || (s = form_dump(c, form)) == NULL))
		goto out;
	/* attachments are only ever added or replaced in a draft, never
	 * removed: what is present now is present at submission */
	atts = hall_matter_attachments_json(c, r->a);
	missing = missing_of(r->matter, atts);
	if (json_array_size(missing) > 0) {
		json_t *e;
		size_t i, n = 0;

		n += (size_t)snprintf(msg, sizeof(msg), "请先上传：");
		json_array_foreach(missing, i, e) {
			const json_t *att = hall_matter_attachment_find(r->matter, json_string_value(e));

			if (n < sizeof(msg))
				n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%s%s", i ? "、" : "",
				    mstr(att, "label"));
		}
		if (n < sizeof(msg))
			snprintf(msg + n, sizeof(msg) - n, " / upload the required attachments first");
		oc_http_reply_json(c->req, 409, json_pack("{s:{s:s, s:s, s:O}}", "error", "code",
		    "conflict", "message", msg, "missing", missing));
		goto out;
	}
	if (oc_calendar_deadline(c->h->cal, now, 1, &deadline) != 0)
		deadline = now + 86400;
	/* the fields and the submission: one transaction, so that a failure
	 * between them saves nothing */
	if (oc_hall_app_submit_form(c->st, id, s, now, deadline, "none", &err) != 0 ||
	    oc_hall_app_get(c->st, id, r->a, &err) != 0) {
		oc_http_reply_err(c->req, &err);
		goto out;
	}
	audit(r, "matter.submit", json_object());
	deadline_cn(deadline, dl, sizeof(dl));
	snprintf(text, sizeof(text), "【网上办事大厅】%.150s的“%.60s”申请已提交，网站将于1个工作日内（%s前）处理。",
	    r->co.name, mstr(r->matter, "name"), dl);
	notify(r, "matter.submitted", text);
	reply = app_json(c, r->matter, r->a);
	snprintf(msg, sizeof(msg), "已提交“%s”申请，网站将于1个工作日内处理", mstr(r->matter, "name"));
	json_object_set_new(reply, "message", json_string(msg));
	oc_http_reply_json(c->req, 200, reply);
out:
	json_decref(missing);
	json_decref(atts);
	free(s);
	json_decref(form);
	json_decref(body);
}

static void
app_withdraw(struct mreq *r, long long id)
{
	struct hall_call *c = r->c;
	struct oc_err err;
	char text[512];
	bool was_submitted;

	if (!load_app(r, id, true))
		return;
	was_submitted = strcmp(r->a->state, "submitted") == 0;
	oc_err_clear(&err);
	if (oc_hall_app_withdraw(c->st, id, time(NULL), &err) != 0 ||
	    oc_hall_app_get(c->st, id, r->a, &err) != 0)
		return oc_http_reply_err(c->req, &err);
	audit(r, "matter.withdraw", json_object());
	if (was_submitted) {
		snprintf(text, sizeof(text), "【网上办事大厅】%.150s的“%.60s”申请已撤回。", r->co.name,
		    mstr(r->matter, "name"));
		notify(r, "matter.withdrawn", text);
	}
	oc_http_reply_json(c->req, 200, app_json(c, r->matter, r->a));
}

/* ---- routing ---------------------------------------------------------- */

enum op { OP_LIST, OP_CREATE, OP_GET, OP_PUT, OP_ATT_GET, OP_ATT_PUT, OP_SUBMIT, OP_WITHDRAW };

/* "{code}/applications[/{id}[/…]]" → op, code, id, attachment name; false
 * after replying 404/405. */
static bool
route(struct hall_call *c, char *code, size_t cap, enum op *op, long long *id,
    const char **name)
{
	const char *m = oc_http_req_method(c->req), *tail = oc_http_req_tail(c->req), *rest;
	bool get = strcmp(m, "GET") == 0, put = strcmp(m, "PUT") == 0, post = strcmp(m, "POST") == 0;
	size_t n = strcspn(tail, "/");

	if (n == 0 || n >= cap) {
		oc_http_reply_error(c->req, 404, "not_found", "事项不存在 / no such matter");
		return false;
	}
	memcpy(code, tail, n);
	code[n] = '\0';
	rest = tail + n;
	if (strncmp(rest, "/applications", 13) != 0 || (rest[13] != '\0' && rest[13] != '/')) {
		oc_http_reply_error(c->req, 404, "not_found", "not found");
		return false;
	}
	rest += 13;
	if (*rest == '\0') {
		if (get || post) {
			*op = get ? OP_LIST : OP_CREATE;
			return true;
		}
	} else if (!hall_parse_id_tail(rest + 1, id, &rest)) {
		oc_http_reply_error(c->req, 404, "not_found", "申请不存在 / no such application");
		return false;
	} else if (*rest == '\0') {
		if (get || put) {
			*op = get ? OP_GET : OP_PUT;
			return true;
		}
	} else if (strcmp(rest, "submit") == 0 || strcmp(rest, "withdraw") == 0) {
		if (post) {
			*op = rest[0] == 's' ? OP_SUBMIT : OP_WITHDRAW;
			return true;
		}
	} else if (strncmp(rest, "attachments/", 12) == 0 && rest[12] != '\0' &&
	    strchr(rest + 12, '/') == NULL) {
		*name = rest + 12;
		if (get || put) {
			*op = get ? OP_ATT_GET : OP_ATT_PUT;
			return true;
		}
	} else {
		oc_http_reply_error(c->req, 404, "not_found", "not found");
		return false;
	}
	oc_http_reply_error(c->req, 405, "method_not_allowed", "method not allowed");
	return false;
}

static void
matters_dispatch(struct hall_call *c)
{
	struct mreq r;
	enum op op;
	long long id = 0;
	const char *name = NULL;
	char code[32];

	memset(&r, 0, sizeof(r));
	r.c = c;
	if (!route(c, code, sizeof(code), &op, &id, &name))
		return;
	if (!hall_session_require(c, op != OP_LIST && op != OP_GET && op != OP_ATT_GET) ||
	    !hall_company_of(c, &r.co))
		return;
	if ((r.matter = hall_matter_find(c->h, code)) == NULL)
		return oc_http_reply_error(c->req, 404, "not_found", "事项不存在 / no such matter");
	r.code = mstr(r.matter, "code");
	/* the permission, on every request */
	if (!hall_matter_allowed(c, r.code, true))
		return;
	if ((r.a = malloc(sizeof(*r.a))) == NULL)
		return oc_http_reply_error(c->req, 500, "internal_error", "out of memory");
	switch (op) {
	case OP_LIST:
		app_list(&r);
		break;
	case OP_CREATE:
		app_create(&r);
		break;
	case OP_GET:
		if (load_app(&r, id, false))
			oc_http_reply_json(c->req, 200, app_json(c, r.matter, r.a));
		break;
	case OP_PUT:
		app_update(&r, id);
		break;
	case OP_ATT_GET:
		if (hall_matter_attachment_find(r.matter, name) == NULL)
			oc_http_reply_error(c->req, 404, "not_found",
			    "此事项没有这项附件 / this matter has no such attachment");
		else if (load_app(&r, id, false))
			hall_matter_attachment_reply(c, r.a, name);
		break;
	case OP_ATT_PUT:
		attachment_put(&r, id, name);
		break;
	case OP_SUBMIT:
		app_submit(&r, id);
		break;
	case OP_WITHDRAW:
		app_withdraw(&r, id);
		break;
	}
	free(r.a);
}

/* GET /api/v1/matters: the catalogue, each entry with "allowed" for the
 * caller. */
static void
matters_list(struct hall_call *c)
{
	json_t *out, *m;
	size_t i;

	if (!hall_session_require(c, false))
		return;
	if ((out = json_array()) == NULL)
		return oc_http_reply_error(c->req, 500, "internal_error", "out of memory");
	json_array_foreach(c->h->matters, i, m) {
		json_t *e = json_deep_copy(m);

		if (e == NULL) {
			json_decref(out);
			return oc_http_reply_error(c->req, 500, "internal_error", "out of memory");
		}
		json_object_set_new(e, "allowed",
		    json_boolean(hall_matter_allowed(c, mstr(m, "code"), false)));
		json_array_append_new(out, e);
	}
	oc_http_reply_json(c->req, 200, json_pack("{s:o}", "matters", out));
}

static void
h_list(struct oc_http_req *req, void *arg)
{
	struct hall_call c;

	if (hall_call_init(&c, req, arg))
		matters_list(&c);
}

static void
h_dispatch(struct oc_http_req *req, void *arg)
{
	struct hall_call c;

	if (hall_call_init(&c, req, arg))
		matters_dispatch(&c);
}

/* the 413 text of the prefix route: one hall per process */
static char too_large[160];

size_t
hall_matters_routes(struct hall *h, struct oc_http_route *r, size_t cap)
{
	json_int_t kb = 0;
	json_t *m, *a;
	size_t i, j, max;

	json_array_foreach(h->matters, i, m)
		json_array_foreach(json_object_get(m, "attachments"), j, a)
			if (json_integer_value(json_object_get(a, "max_kb")) > kb)
				kb = json_integer_value(json_object_get(a, "max_kb"));
	max = (size_t)kb * 1024 > BODY_JSON_MAX ? (size_t)kb * 1024 : BODY_JSON_MAX;
	snprintf(too_large, sizeof(too_large), "附件最大不超过%" JSON_INTEGER_FORMAT
	    "KB / an attachment may be at most %" JSON_INTEGER_FORMAT " KB", kb, kb);
	if (cap < 2)
		return 0;
	r[0] = (struct oc_http_route){ "GET", "/api/v1/matters", h_list, h, 0,
	    OC_HTTP_BLOCKING | OC_HTTP_TLS_ONLY, NULL };
	r[1] = (struct oc_http_route){ NULL, "/api/v1/matters/", h_dispatch, h, max,
	    OC_HTTP_BLOCKING | OC_HTTP_TLS_ONLY | OC_HTTP_PREFIX, too_large };
	return 2;
}
