/*
 * activate.c — the applications of the main certificate, on one set of
 * routes for both kinds:
 *
 *   main_open    开通 (SPEC §4.2 steps 3–4): a company certificate applies
 *                to become the company's main certificate;
 *   main_update  主数字证书更新 (SPEC §4.4): the new certificate of a company
 *                that has a main certificate applies to replace it (its
 *                own endpoints, GET/POST /api/v1/main-update, are in
 *                update.c).
 *
 *   GET  /api/v1/activation                 prefill + the current 开通 application
 *   POST /api/v1/applications               a 开通 draft with the form's fields
 *   GET  /api/v1/applications/{id}          the application (either kind)
 *   PUT  /api/v1/applications/{id}          new fields (drafts)
 *   GET  /api/v1/applications/{id}/form.pdf the prefilled PDF with its QR code
 *   PUT  /api/v1/applications/{id}/scan     the signed, sealed scan (JPEG)
 *   GET  /api/v1/applications/{id}/scan
 *   POST /api/v1/applications/{id}/submit   保存提交
 *   POST /api/v1/applications/{id}/withdraw 撤回
 *
 * The field table, the checks, the printed form and the words come from
 * the application's kind (struct app_kind); other kinds (matters) have
 * their own routes and are not found here.  An application of another
 * company answers 404, as if it did not exist.  Only the certificate that
 * applied changes its application.  Who reads it (form, PDF, scan) depends
 * on the company: while it has no main certificate every certificate of it
 * is equal and sees the 开通 application (the page says who applied); once
 * it has one, the main certificate's business is the 法定代表人's, and only
 * the applicant and the main certificate read these applications — a
 * clerk, a 证书管理员, a pending or an unknown certificate of the company get
 * 403 here, and an application without its form in GET /activation and GET
 * /main-update (docs/authorization.md).  The form's certificate fields
 * come from the session's certificate (and, for an update, the old
 * certificate from the company's record), never from the request.  The
 * QR verdict is judged against the fields as they are: at upload, and
 * again at submission, so fields changed after printing are flagged
 * "stale".  The QR payloads read at upload are stored with the scan (the
 * same statement; a new scan replaces them), and submission judges those:
 * the same bytes give the same payloads, so decoding the JPEG again would
 * only cost time.  A scan stored without them (before schema 4), or one
 * over a scan_max lowered since, is decoded at submission as before.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "hall/apps.h"
#include "hall/hall_int.h"
#include "onecert/calendar.h"
#include "onecert/forms.h"
#include "onecert/ident.h"
#include "onecert/json.h"
#include "onecert/log.h"
#include "onecert/pki.h"

#define FORM_MAX 8192

/* How a field is checked. */
enum field_check {
	FC_TEXT,                /* printable text */
	FC_LICENSE,             /* 营业执照注册号 (check_license) */
	FC_PHONE,               /* a mobile or a fixed line */
	FC_MEDIUM,              /* 介质单号 */
	FC_REASON,              /* one of update_reasons */
	FC_REASON_TEXT,         /* required when the reason is 其他, else dropped */
	FC_OLD_SERIAL,          /* the company's current main certificate */
};

struct app_field {
	const char *key, *label;
	size_t max;             /* characters (UTF-8 code points) */
	enum field_check check;
	bool optional;
};

/* 开通: the applicant's fields, in the order of the paper form. */
static const struct app_field open_fields[] = {
	{ "legal_rep", "企业法定代表人", 32, FC_TEXT, false },
	{ "license_no", "营业执照注册号（或事业单位证书号、社团编号）", 32, FC_LICENSE, false },
	{ "contact", "联系人", 32, FC_TEXT, false },
	{ "phone", "联系电话", 20, FC_PHONE, false },
	{ "medium", "拟设为主数字证书的介质单号（硬件背面）", 64, FC_MEDIUM, false },
};

/* 主数字证书更新: what the applicant gives.  The old certificate is chosen
 * by its serial from the company's record (old_uid follows from it); the
 * new one is the applying certificate itself. */
static const struct app_field update_fields[] = {
	{ "license_no", "营业执照注册号（或统一社会信用代码）", 32, FC_LICENSE, false },
	{ "old_serial", "原证书序列号", 42, FC_OLD_SERIAL, false },
	{ "medium", "新证书介质单号（硬件背面）", 64, FC_MEDIUM, false },
	{ "reason", "更新原因", 8, FC_REASON, false },
	{ "reason_text", "其他原因说明", 100, FC_REASON_TEXT, true },
	{ "contact", "联系人", 32, FC_TEXT, false },
	{ "phone", "联系电话", 20, FC_PHONE, false },
};

static const char *const update_reasons[] = { "信息变更", "续费", "遗失办证", "其他" };

/* What differs between the kinds that share these routes. */
struct app_kind {
	const char *kind;
	enum oc_form_kind form_kind;
	const struct app_field *fields;
	size_t n_fields;
	const char *what;               /* in messages and SMS */
	const char *file;               /* the PDF's file name */
};

static const struct app_kind kinds[] = {
	{ "main_open", OC_FORM_MAIN_OPEN, open_fields,
	  sizeof(open_fields) / sizeof(open_fields[0]), "主数字证书开通申请", "activation" },
	{ "main_update", OC_FORM_MAIN_UPDATE, update_fields,
	  sizeof(update_fields) / sizeof(update_fields[0]), "主数字证书更新申请", "main-update" },
};

/* The kind's description, NULL for a kind these routes do not serve. */
static const struct app_kind *
kind_of(const char *kind)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].kind, kind) == 0)
			return &kinds[i];
	return NULL;
}

void
hall_iso(time_t t, char *buf, size_t cap)
{
	struct tm tm;

	if (t == 0) {
		snprintf(buf, cap, "%s", "");
		return;
	}
	gmtime_r(&t, &tm);
	strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

json_t *
hall_body_json(struct hall_call *c, size_t max)
{
	const unsigned char *body;
	struct oc_err err;
	size_t len;
	json_t *j;

	body = oc_http_req_body(c->req, &len);
	if (len == 0)
		return json_object();
	if ((j = oc_json_parse_object((const char *)body, len, max, &err)) == NULL)
		oc_http_reply_err(c->req, &err);
	return j;
}

static size_t
utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* Printable text: no control characters (the JSON parser already
 * guarantees valid UTF-8). */
static bool
plain_text(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static bool
is_landline(const char *s)
{
	/* 0 + area code (2–3 more digits) + optional '-' + 7–8 digits, with an
	 * optional extension "-123" */
	size_t i = 0, d;

	if (s[0] != '0')
		return false;
	for (d = 0; isdigit((unsigned char)s[i]); i++, d++)
		;
	if (s[i] == '-') {
		if (d < 3 || d > 4)
			return false;
		i++;
		for (d = 0; isdigit((unsigned char)s[i]); i++, d++)
			;
		if (d < 7 || d > 8)
			return false;
	} else if (d < 10 || d > 12) {
		return false;
	}
	if (s[i] == '-') {
		i++;
		for (d = 0; isdigit((unsigned char)s[i]); i++, d++)
			;
		if (d < 1 || d > 6)
			return false;
	}
	return s[i] == '\0';
}

/* 营业执照注册号: an 18-character USCC (checked digit by digit, and its
 * organization code must be the certificate's), a 15-digit registration
 * number of the old scheme, or a 事业单位证书号 / 社团编号 (letters, digits,
 * at most 32 characters). */
static int
check_license(const char *v, const char *cert_org_code, struct oc_err *err)
{
	size_t n = strlen(v);
	char org[10];

	if (n == 18) {
		if (oc_uscc_check(v, err) != 0)
			return oc_err_set(err, OC_EINVAL,
			    "营业执照注册号（统一社会信用代码）校验位错误 / the USCC's check character is wrong");
		if (oc_uscc_orgcode(v, org) == 0 && cert_org_code[0] &&
		    strcmp(org, cert_org_code) != 0)
			return oc_err_set(err, OC_EINVAL,
			    "统一社会信用代码与证书的机构代码不符 / the USCC does not match the certificate's organization code");
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)v[i]) && v[i] != '-')
			return oc_err_set(err, OC_EINVAL,
			    "营业执照注册号只能包含字母、数字和“-” / the registration number has invalid characters");
	if (n < 6)
		return oc_err_set(err, OC_EINVAL,
		    "营业执照注册号过短 / the registration number is too short");
	return 0;
}

static int
check_medium(const char *v, struct oc_err *err)
{
	for (const char *p = v; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-')
			return oc_err_set(err, OC_EINVAL,
			    "介质单号只能包含字母、数字和“-” / the medium serial has invalid characters");
	return 0;
}

/* What a form is checked against: the company's organization code and,
 * for an update, its current main certificate (NULL: none). */
struct form_ctx {
	const char *org_code;
	const struct oc_hall_account *main;
};

static int
check_reason(const char *v, struct oc_err *err)
{
	for (size_t i = 0; i < sizeof(update_reasons) / sizeof(update_reasons[0]); i++)
		if (strcmp(v, update_reasons[i]) == 0)
			return 0;
	return oc_err_set(err, OC_EINVAL,
	    "更新原因须为“信息变更”“续费”“遗失办证”或“其他” / reason must be one of 信息变更, 续费, 遗失办证, 其他");
}

/* The old certificate is chosen from the company's record: it must be
 * the current main certificate.  canon gets its serial as recorded. */
static int
check_old_serial(const char *v, const struct form_ctx *ctx, char canon[43], struct oc_err *err)
{
	if (ctx->main == NULL)
		return oc_err_set(err, OC_EINVAL,
		    "贵企业没有可更新的主数字证书 / the company has no main certificate to replace");
	if (oc_serial_canon(v, canon, NULL) != 0 || strcmp(canon, ctx->main->serial) != 0)
		return oc_err_set(err, OC_EINVAL,
		    "所选原证书不是贵企业当前的主数字证书 / old_serial is not the company's current main certificate");
	return 0;
}

/* Validate the request's FORM into a fresh JSON object of exactly the
 * kind's fields (an update's also old_uid, from the record).  NULL after
 * replying 400 (naming the field). */
static json_t *
parse_form(struct hall_call *c, const struct app_kind *k, json_t *body,
    const struct form_ctx *ctx)
{
	json_t *form = json_object();
	struct oc_err err;
	char canon[43];

	for (size_t i = 0; i < k->n_fields; i++) {
		const struct app_field *fd = &k->fields[i];
		const char *v = NULL, *key = fd->key;
		int rc;

		oc_err_clear(&err);
		rc = oc_json_get_str(body, key, !fd->optional, 256, &v, &err);
		if (rc == 0 && v == NULL)
			v = "";
		if (rc == 0 && fd->check == FC_REASON_TEXT) {
			const char *r = json_string_value(json_object_get(form, "reason"));

			if (r == NULL || strcmp(r, "其他") != 0)
				v = "";         /* only 其他 has a text */
			else if (v[0] == '\0')
				rc = oc_err_set(&err, OC_EINVAL,
				    "更新原因为“其他”时请填写原因说明 / reason_text is required when the reason is 其他");
		}
		if (rc == 0 && !plain_text(v))
			rc = oc_err_set(&err, OC_EINVAL, "%s含有非法字符 / %s has control characters",
			    fd->label, key);
		if (rc == 0 && v[0] == '\0' && !fd->optional)
			rc = oc_err_set(&err, OC_EINVAL, "请填写%s / %s is required", fd->label, key);
		if (rc == 0 && utf8_chars(v) > fd->max)
			rc = oc_err_set(&err, OC_EINVAL, "%s过长（最多%zu个字符） / %s is too long",
			    fd->label, fd->max, key);
		if (rc == 0) {
			switch (fd->check) {
			case FC_LICENSE:
				rc = check_license(v, ctx->org_code, &err);
				break;
			case FC_PHONE:
				if (!oc_mobile_valid(v) && !is_landline(v))
					rc = oc_err_set(&err, OC_EINVAL,
					    "联系电话格式错误：请填写11位手机号码或带区号的固定电话（如021-12345678） / the phone number is not a phone number");
				break;
			case FC_MEDIUM:
				rc = check_medium(v, &err);
				break;
			case FC_REASON:
				rc = check_reason(v, &err);
				break;
			case FC_OLD_SERIAL:
				if ((rc = check_old_serial(v, ctx, canon, &err)) == 0)
					v = canon;
				break;
			case FC_TEXT:
			case FC_REASON_TEXT:
				break;
			}
		}
		if (rc != 0) {
			json_decref(form);
			oc_http_reply_json(c->req, 400, json_pack("{s:{s:s, s:s, s:s}}", "error",
			    "code", "invalid_input", "message", err.msg, "field", key));
			return NULL;
		}
		json_object_set_new(form, key, json_string(v));
		if (fd->check == FC_OLD_SERIAL)
			json_object_set_new(form, "old_uid", json_string(ctx->main->uid));
	}
	return form;
}

static bool
load_company(struct hall_call *c, struct oc_hall_company *co)
{
	struct oc_err err;

	if (strcmp(c->a.kind, "enterprise") != 0 || c->a.company_id == 0) {
		oc_http_reply_error(c->req, 403, "forbidden",
		    "仅企业数字证书可以办理 / only a company certificate can apply");
		return false;
	}
	if (oc_hall_company_get(c->st, c->a.company_id, co, &err) != 0) {
		oc_http_reply_err(c->req, &err);
		return false;
	}
	return true;
}

/* The company's main certificate into main; false when it has none. */
static bool
current_main(struct hall_call *c, const struct oc_hall_company *co, struct oc_hall_account *main)
{
	return co->main_account_id != 0 &&
	    oc_hall_account_get(c->st, co->main_account_id, main, NULL) == 0 &&
	    main->company_id == co->id;
}

/* Parse a body as the kind's form for the company.  NULL after replying. */
static json_t *
form_of(struct hall_call *c, const struct app_kind *k, const struct oc_hall_company *co,
    json_t *body)
{
	struct oc_hall_account main;
	struct form_ctx ctx = { co->org_code, NULL };

	if (strcmp(k->kind, "main_update") == 0 && current_main(c, co, &main))
		ctx.main = &main;
	return parse_form(c, k, body, &ctx);
}

void
hall_company_holder_mobile(const struct oc_hall_company *co, char *buf, size_t cap)
{
	json_t *p = json_loads(co->profile, 0, NULL);
	const char *m = p ? json_string_value(json_object_get(p, "holder_mobile")) : NULL;

	snprintf(buf, cap, "%s", m ? m : "");
	json_decref(p);
}

/* The fields printed on the form, certificate fields first. */
struct printed {
	struct oc_form_field f[16];
	size_t n;
	char not_after[32];
	char reason[400];
	json_t *form;
};

static const char *
form_str(const struct printed *p, const char *key)
{
	const char *v = p->form ? json_string_value(json_object_get(p->form, key)) : NULL;

	return v ? v : "";
}

static void
printed_fields(const struct app_kind *k, const struct oc_hall_company *co,
    const struct oc_hall_account *applicant, const char *form_json, struct printed *p)
{
	struct tm tm;
	time_t t = applicant->not_after + 8 * 3600;

	memset(p, 0, sizeof(*p));
	gmtime_r(&t, &tm);
	strftime(p->not_after, sizeof(p->not_after), "%Y年%m月%d日", &tm);
	p->form = json_loads(form_json, 0, NULL);
	if (k->form_kind == OC_FORM_MAIN_UPDATE) {
		const char *r = form_str(p, "reason"), *rt = form_str(p, "reason_text");

		if (rt[0] != '\0')
			snprintf(p->reason, sizeof(p->reason), "%s：%s", r, rt);
		else
			snprintf(p->reason, sizeof(p->reason), "%s", r);
		p->f[p->n++] = (struct oc_form_field){ "单位名称", co->name };
		p->f[p->n++] = (struct oc_form_field){ "组织机构代码", co->org_code };
		p->f[p->n++] = (struct oc_form_field){ update_fields[0].label,
		    form_str(p, "license_no") };
		p->f[p->n++] = (struct oc_form_field){ "原证书唯一标识码", form_str(p, "old_uid") };
		p->f[p->n++] = (struct oc_form_field){ "原证书序列号", form_str(p, "old_serial") };
		p->f[p->n++] = (struct oc_form_field){ "新证书唯一标识码", applicant->uid };
		p->f[p->n++] = (struct oc_form_field){ "新证书序列号", applicant->serial };
		p->f[p->n++] = (struct oc_form_field){ "新证书有效期至", p->not_after };
		p->f[p->n++] = (struct oc_form_field){ "新证书介质单号", form_str(p, "medium") };
		p->f[p->n++] = (struct oc_form_field){ "更新原因", p->reason };
		p->f[p->n++] = (struct oc_form_field){ "联系人", form_str(p, "contact") };
		p->f[p->n++] = (struct oc_form_field){ "联系电话", form_str(p, "phone") };
		return;
	}
	p->f[p->n++] = (struct oc_form_field){ "企业名称", co->name };
	p->f[p->n++] = (struct oc_form_field){ "机构代码证", co->uscc[0] ? co->uscc : co->org_code };
	p->f[p->n++] = (struct oc_form_field){ "证书唯一标识码", applicant->uid };
	p->f[p->n++] = (struct oc_form_field){ "证书序列号", applicant->serial };
	p->f[p->n++] = (struct oc_form_field){ "有效期至", p->not_after };
	for (size_t i = 0; i < k->n_fields; i++)
		p->f[p->n++] = (struct oc_form_field){ k->fields[i].label,
		    form_str(p, k->fields[i].key) };
}

static void
printed_free(struct printed *p)
{
	json_decref(p->form);
}

static void
digest_of(struct hall_call *c, const struct app_kind *k, const struct oc_hall_company *co,
    const struct oc_hall_application *app, char hex[65])
{
	struct oc_hall_account applicant;
	struct printed p;

	if (oc_hall_account_get(c->st, app->account_id, &applicant, NULL) != 0)
		memset(&applicant, 0, sizeof(applicant));
	printed_fields(k, co, &applicant, app->form, &p);
	oc_form_digest(p.f, p.n, hex);
	printed_free(&p);
}

/* May the caller read the application (its form, PDF and scan)?  The
 * applicant always; while the company has no main certificate, every
 * certificate of it; then only the main certificate.  co may be NULL (it is
 * read). */
static bool
readable(struct hall_call *c, const struct oc_hall_company *co,
    const struct oc_hall_application *a)
{
	struct oc_hall_company buf;

	if (a->account_id == c->a.id)
		return true;
	if (co == NULL) {
		if (oc_hall_company_get(c->st, a->company_id, &buf, NULL) != 0)
			return false;
		co = &buf;
	}
	if (co->id != c->a.company_id || strcmp(c->a.kind, "enterprise") != 0)
		return false;
	return co->main_account_id == 0 || (co->main_account_id == c->a.id &&
	    strcmp(c->a.role, "main") == 0 && strcmp(c->a.status, "active") == 0);
}

json_t *
hall_app_json(struct hall_call *c, const struct oc_hall_application *a)
{
	char cr[32], sub[32], dl[32], dec[32];
	/* who may not read it still learns that it exists and its state (the
	 * pages say "another certificate has applied"), not what it says */
	json_t *form = readable(c, NULL, a) ? json_loads(a->form, 0, NULL) : NULL;

	hall_iso(a->created_at, cr, sizeof(cr));
	hall_iso(a->submitted_at, sub, sizeof(sub));
	hall_iso(a->deadline, dl, sizeof(dl));
	hall_iso(a->decided_at, dec, sizeof(dec));
	return json_pack("{s:I, s:s, s:s, s:b, s:o, s:s, s:b, s:I, s:s, s:s, s:s, s:s, s:s}",
	    "id", (json_int_t)a->id, "kind", a->kind, "state", a->state,
	    "mine", a->account_id == c->a.id, "form", form ? form : json_object(),
	    "qr", a->qr, "has_scan", a->scan_len > 0, "scan_size", (json_int_t)a->scan_len,
	    "created_at", cr, "submitted_at", sub, "deadline", dl, "decided_at", dec,
	    "reason", a->reason);
}

json_t *
hall_app_summary(struct hall_call *c)
{
	struct oc_hall_application *a;
	char dl[32];
	json_t *j = NULL;

	if (c->a.company_id == 0 || (a = malloc(sizeof(*a))) == NULL)
		return NULL;
	if (oc_hall_app_current(c->st, c->a.company_id, "main_open", a, NULL) == 0) {
		hall_iso(a->deadline, dl, sizeof(dl));
		j = json_pack("{s:I, s:s, s:b, s:s, s:s}", "id", (json_int_t)a->id,
		    "state", a->state, "mine", a->account_id == c->a.id, "deadline", dl,
		    "reason", a->reason);
	}
	free(a);
	return j;
}

void
hall_activation_get(struct hall_call *c)
{
	struct oc_hall_company co;
	struct oc_hall_application *a;
	char na[32];
	json_t *app = NULL;

	if (!hall_session_require(c, false) || !load_company(c, &co))
		return;
	if ((a = malloc(sizeof(*a))) == NULL)
		return oc_http_reply_error(c->req, 500, "internal_error", "out of memory");
	if (oc_hall_app_current(c->st, co.id, "main_open", a, NULL) == 0)
		app = hall_app_json(c, a);
	free(a);
	hall_iso(c->a.not_after, na, sizeof(na));
	oc_http_reply_json(c->req, 200, json_pack("{s:{s:s, s:s, s:s, s:s, s:s}, s:s, s:o}",
	    "prefill", "company_name", co.name, "org_code", co.uscc[0] ? co.uscc : co.org_code,
	    "unique_id", c->a.uid, "serial", c->a.serial, "not_after", na,
	    "company_state", co.state, "application", app ? app : json_null()));
}

void
hall_app_create_kind(struct hall_call *c, const struct oc_hall_company *co, const char *kind)
{
	const struct app_kind *k = kind_of(kind);
	struct oc_hall_application *a;
	struct oc_err err;
	json_t *body, *form;
	char *s, detail[64];
	int rc;

	if (k == NULL)
		return oc_http_reply_error(c->req, 500, "internal_error", "unknown application kind");
	if ((body = hall_body_json(c, FORM_MAX)) == NULL)
		return;
	form = form_of(c, k, co, body);
	json_decref(body);
	if (form == NULL)
		return;
	s = json_dumps(form, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(form);
	if (s == NULL || (a = calloc(1, sizeof(*a))) == NULL) {
		free(s);
		return oc_http_reply_error(c->req, 500, "internal_error", "out of memory");
	}
	a->company_id = co->id;
	a->account_id = c->a.id;
	snprintf(a->kind, sizeof(a->kind), "%s", k->kind);
	snprintf(a->form, sizeof(a->form), "%s", s);
	free(s);
	oc_err_clear(&err);
	if ((rc = oc_hall_app_create(c->st, a, &err)) != 0) {
		if (rc == OC_EEXIST && oc_hall_app_current(c->st, co->id, k->kind, a, NULL) == 0) {
			char msg[512];
			json_t *e;

			if (a->account_id == c->a.id)
				snprintf(msg, sizeof(msg), "本证书已有一份未完成的%s / this certificate"
				    " already has an open application", k->what);
			else
				snprintf(msg, sizeof(msg), "贵企业已有另一张证书提交了%s，请等待处理结果"
				    " / another certificate of the company has an open application", k->what);
			e = json_pack("{s:{s:s, s:s, s:I}}", "error", "code", "conflict",
			    "message", msg, "application_id", (json_int_t)a->id);
			free(a);
			return oc_http_reply_json(c->req, 409, e);
		}
		free(a);
		return oc_http_reply_err(c->req, &err);
	}
	snprintf(detail, sizeof(detail), "{\"kind\":\"%s\"}", k->kind);
	oc_hall_audit(c->st, c->a.serial, oc_http_req_peer(c->req), "application.create",
	    co->org_code, detail, NULL);
	oc_http_reply_json(c->req, 201, hall_app_json(c, a));
	free(a);
}

void
hall_app_create(struct hall_call *c)
{
	struct oc_hall_company co;

	if (!hall_session_require(c, true) || !load_company(c, &co))
		return;
	if (strcmp(co.state, "main_active") == 0 || strcmp(co.state, "registered") == 0)
		return oc_http_reply_error(c->req, 409, "conflict",
		    "贵企业已开通主数字证书 / the company already has a main certificate");
	hall_app_create_kind(c, &co, "main_open");
}

/* The application {id} of the caller's company, of a kind these routes
 * serve (404 otherwise); with mine, it must be the caller's own, else one
 * the caller may read (403). */
static const struct app_kind *
load_app(struct hall_call *c, long long id, bool mine, struct oc_hall_company *co,
    struct oc_hall_application *a)
{
	const struct app_kind *k;
	struct oc_err err;

	if (!load_company(c, co))
		return NULL;
	if (oc_hall_app_get(c->st, id, a, &err) != 0 || a->company_id != co->id ||
	    (k = kind_of(a->kind)) == NULL) {
		oc_http_reply_error(c->req, 404, "not_found", "申请不存在 / no such application");
		return NULL;
	}
	if (mine && a->account_id != c->a.id) {
		oc_http_reply_error(c->req, 403, "forbidden",
		    "只有提交申请的证书可以修改此申请 / only the applying certificate may change it");
		return NULL;
	}
	if (!readable(c, co, a)) {
		oc_http_reply_error(c->req, 403, "forbidden",
		    "仅提交申请的证书和主数字证书可以查看此申请 / only the applying certificate and the"
		    " main certificate may see this application");
		return NULL;
	}
	return k;
}

static void
app_update(struct hall_call *c, long long id)
{
	struct oc_hall_company co;
	struct oc_hall_application *a = malloc(sizeof(*a));
	const struct app_kind *k;
	struct oc_err err;
	json_t *body = NULL, *form = NULL;
	char *s = NULL;

	if (a == NULL)
		return oc_http_reply_error(c->req, 500, "internal_error", "out of memory");
	if (!hall_session_require(c, true) || (k = load_app(c, id, true, &co, a)) == NULL)
		goto out;
	if ((body = hall_body_json(c, FORM_MAX)) == NULL || (form = form_of(c, k, &co, body)) == NULL)
		goto out;
	s = json_dumps(form, JSON_COMPACT | JSON_SORT_KEYS);
	oc_err_clear(&err);
	if (s == NULL || oc_hall_app_update_form(c->st, id, s, NULL, &err) != 0 ||
	    oc_hall_app_get(c->st, id, a, &err) != 0) {
		if (s == NULL)
			oc_err_set(&err, OC_ENOMEM, "out of memory");
		oc_http_reply_err(c->req, &err);
		goto out;
	}
	oc_http_reply_json(c->req, 200, hall_app_json(c, a));
out:
	free(s);
	json_decref(form);
	json_decref(body);
	free(a);
}

static void
app_pdf(struct hall_call *c, long long id)
{
	struct oc_hall_company co;
	struct oc_hall_application *a = malloc(sizeof(*a));
	struct oc_hall_account applicant;
	const struct app_kind *k;
	struct oc_err err;
	struct oc_buf pdf;
	struct printed p;
	char digest[65], qr[128], disp[160];

	oc_buf_init(&pdf, 4 << 20);
	memset(&p, 0, sizeof(p));
	if (a == NULL)
		return oc_http_reply_error(c->req, 500, "internal_error", "out of memory");
	if (!hall_session_require(c, false) || (k = load_app(c, id, false, &co, a)) == NULL)
		goto out;
	if (oc_hall_account_get(c->st, a->account_id, &applicant, &err) != 0) {
		oc_http_reply_err(c->req, &err);
		goto out;
	}
	printed_fields(k, &co, &applicant, a->form, &p);
	oc_form_digest(p.f, p.n, digest);
	if (oc_form_qr_payload(c->h->form_key, sizeof(c->h->form_key), a->id, digest, qr,
	    sizeof(qr), &err) != 0) {
		oc_http_reply_err(c->req, &err);
		goto out;
	}
	struct oc_form form = {
		.kind = k->form_kind, .app_id = a->id, .fields = p.f, .n_fields = p.n,
		.created = time(NULL), .qr_payload = qr,
	};
	if (oc_form_pdf(&form, &pdf, &err) != 0) {
		oc_http_reply_err(c->req, &err);
		goto out;
	}
	if (strcmp(a->state, "draft") == 0)
		oc_hall_app_set_digest(c->st, a->id, digest, NULL);
	snprintf(disp, sizeof(disp), "attachment; filename=\"%s-%lld.pdf\"", k->file, a->id);
	oc_http_set_header(c->req, "Content-Disposition", disp);
	oc_http_set_header(c->req, "Cache-Control", "no-store");
	oc_http_reply(c->req, 200, "application/pdf", pdf.p, pdf.len);
out:
	printed_free(&p);
	oc_buf_cleanup(&pdf);
	free(a);
}

static void
sha256_hex(const unsigned char *d, size_t n, char out[65])
{
	unsigned char md[32];
	unsigned int mdl = 0;

	EVP_Digest(d, n, md, &mdl, EVP_sha256(), NULL);
	for (unsigned i = 0; i < mdl; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* The QR verdict of a scan's payloads against the application's fields
 * now. */
static enum oc_qr_verdict
verdict(struct hall_call *c, const struct app_kind *k, const struct oc_hall_company *co,
    const struct oc_hall_application *a, const char (*qr)[128], size_t n)
{
	const char *payloads[4];
	char digest[65];

	if (n > 4)
		n = 4;
	for (size_t i = 0; i < n; i++)
		payloads[i] = qr[i];
	digest_of(c, k, co, a, digest);
	return oc_form_qr_judge(c->h->form_key, sizeof(c->h->form_key), a->id, digest,
	    payloads, n);
}

/* Check and decode a scan (oc_scan_check into info), then its verdict. */
static int
judge(struct hall_call *c, const struct app_kind *k, const struct oc_hall_company *co,
    const struct oc_hall_application *a, const unsigned char *jpeg, size_t len,
    struct oc_scan_info *info, enum oc_qr_verdict *v, struct oc_err *err)
{
	int rc;

	if ((rc = oc_scan_check(jpeg, len, (size_t)c->h->scan_max, info, err)) != 0)
		return rc;
	*v = verdict(c, k, co, a, (const char (*)[128])info->qr, info->n_qr);
	return 0;
}

static void
scan_put(struct hall_call *c, long long id)
{
	struct oc_hall_company co;
	struct oc_hall_application *a = malloc(sizeof(*a));
	const struct app_kind *k;
	struct oc_err err;
	const unsigned char *body;
	const char *ct;
	enum oc_qr_verdict v = OC_QR_NONE;
	struct oc_scan_info info;
	const char *payloads[4];
	char sha[65], detail[160];
	size_t len;

	if (a == NULL)
		return oc_http_reply_error(c->req, 500, "internal_error", "out of memory");
	if (!hall_session_require(c, true) || (k = load_app(c, id, true, &co, a)) == NULL)
		goto out;
	ct = oc_http_req_header(c->req, "Content-Type");
	if (ct == NULL || strncasecmp(ct, "image/jpeg", 10) != 0 ||
	    (ct[10] != '\0' && ct[10] != ';' && ct[10] != ' ')) {
		oc_http_reply_error(c->req, 415, "unsupported_media_type",
		    "请上传JPG格式的扫描件（Content-Type: image/jpeg） / upload the scan as image/jpeg");
		goto out;
	}
	if (strcmp(a->state, "draft") != 0) {
		oc_http_reply_error(c->req, 409, "conflict",
		    "申请已提交或已处理，不能更换扫描件 / only a draft's scan can be replaced");
		goto out;
	}
	body = oc_http_req_body(c->req, &len);
	oc_err_clear(&err);
	if (judge(c, k, &co, a, body, len, &info, &v, &err) != 0) {
		oc_log(OC_LOG_INFO, "hall.scan_refused", "app=%lld reason=%s", id, oc_err_name(err.code));
		oc_http_reply_err(c->req, &err);
		goto out;
	}
	sha256_hex(body, len, sha);
	for (size_t i = 0; i < info.n_qr && i < 4; i++)
		payloads[i] = info.qr[i];
	if (oc_hall_app_put_scan2(c->st, id, body, len, sha, oc_qr_verdict_name(v), payloads,
	    info.n_qr, &err) != 0 ||
	    oc_hall_app_get(c->st, id, a, &err) != 0) {
		oc_http_reply_err(c->req, &err);
		goto out;
	}
	snprintf(detail, sizeof(detail), "{\"bytes\":%zu,\"qr\":\"%s\",\"sha256\":\"%s\"}", len,
	    oc_qr_verdict_name(v), sha);
	oc_hall_audit(c->st, c->a.serial, oc_http_req_peer(c->req), "application.scan",
	    co.org_code, detail, NULL);
	oc_http_reply_json(c->req, 200, hall_app_json(c, a));
out:
	free(a);
}

static void
scan_get(struct hall_call *c, long long id)
{
	struct oc_hall_company co;
	struct oc_hall_application *a = malloc(sizeof(*a));
	struct oc_err err;
	unsigned char *jpeg = NULL;
	size_t len = 0;

	if (a == NULL)
		return oc_http_reply_error(c->req, 500, "internal_error", "out of memory");
	if (hall_session_require(c, false) && load_app(c, id, false, &co, a) != NULL) {
		if (oc_hall_app_get_scan(c->st, id, &jpeg, &len, &err) != 0) {
			oc_http_reply_err(c->req, &err);
		} else {
			oc_http_set_header(c->req, "Cache-Control", "private, no-store");
			/* uploaded bytes: never sniffed, never run as a page */
			oc_http_set_header(c->req, "X-Content-Type-Options", "nosniff");
			oc_http_set_header(c->req, "Content-Security-Policy", "sandbox");
			oc_http_reply(c->req, 200, "image/jpeg", jpeg, len);
		}
	}
	free(jpeg);
	free(a);
}

/* Tell the application's contact by SMS; an update also the company's
 * registered holder (持证人) mobile, once when both are the same number. */
static void
notify_app(struct hall_call *c, const struct app_kind *k, const struct oc_hall_company *co,
    const struct oc_hall_application *a, const char *purpose, const char *text)
{
	char phone[32], holder[32];

	hall_app_contact_phone(a, phone, sizeof(phone));
	hall_notify(c, phone, purpose, text);
	if (strcmp(k->kind, "main_update") != 0)
		return;
	hall_company_holder_mobile(co, holder, sizeof(holder));
	if (holder[0] != '\0' && strcmp(holder, phone) != 0)
		hall_notify(c, holder, purpose, text);
}

/* An update is filed against the main certificate of its time: still
 * that one?  false after replying 409. */
static bool
update_still_applies(struct hall_call *c, const struct app_kind *k,
    const struct oc_hall_company *co, const struct oc_hall_application *a)
{
	struct oc_hall_account main;
	json_t *f;
	const char *old;
	bool ok;

	if (strcmp(k->kind, "main_update") != 0)
		return true;
	f = json_loads(a->form, 0, NULL);
	old = f ? json_string_value(json_object_get(f, "old_serial")) : NULL;
	ok = old != NULL && current_main(c, co, &main) && strcmp(main.serial, old) == 0 &&
	    main.id != c->a.id;
	json_decref(f);
	if (!ok)
		oc_http_reply_error(c->req, 409, "conflict",
		    "企业的主数字证书已变化，此更新申请不再适用，请撤回后重新申请 / the company's main"
		    " certificate changed since this update was filed");
	return ok;
}

static void
app_submit(struct hall_call *c, long long id)
{
	struct oc_hall_company co;
	struct oc_hall_application *a = malloc(sizeof(*a));
	const struct app_kind *k;
	struct oc_err err;
	enum oc_qr_verdict v = OC_QR_NONE;
	struct oc_scan_info info;
	unsigned char *jpeg = NULL;
	size_t len = 0;
	time_t now = time(NULL), deadline;
	json_t *body = NULL, *form = NULL, *reply;
	char *s = NULL, dl[32], text[640], msg[160];

	if (a == NULL)
		return oc_http_reply_error(c->req, 500, "internal_error", "out of memory");
	if (!hall_session_require(c, true) || (k = load_app(c, id, true, &co, a)) == NULL)
		goto out;
	if ((body = hall_body_json(c, FORM_MAX)) == NULL)
		goto out;
	oc_err_clear(&err);
	if (strcmp(a->state, "draft") != 0) {
		oc_http_reply_error(c->req, 409, "conflict",
		    "申请已提交或已处理，不能重复提交 / the application was already submitted or decided");
		goto out;
	}
	/* 保存提交: the fields on the page are checked now, judged below as
	 * the application's, and saved only once every check has passed — a
	 * refused submission leaves the draft as it was (SPEC §7) */
	if (json_object_size(body) > 0) {
		if ((form = form_of(c, k, &co, body)) == NULL)
			goto out;
		if ((s = json_dumps(form, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
			oc_http_reply_error(c->req, 500, "internal_error", "out of memory");
			goto out;
		}
		if (strlen(s) >= sizeof(a->form)) {
			oc_http_reply_error(c->req, 413, "too_large", "填写内容过长 / the fields are too long");
			goto out;
		}
		snprintf(a->form, sizeof(a->form), "%s", s);
	}
	if (!update_still_applies(c, k, &co, a))
		goto out;
	if (a->scan_len == 0) {
		oc_http_reply_error(c->req, 409, "conflict",
		    "请先上传签字盖章后的申请表扫描件 / upload the signed, sealed scan first");
		goto out;
	}
	/* the verdict against the fields as submitted: from the payloads
	 * read at upload; decoded again only for a scan stored without them
	 * or one that a lowered scan_max would refuse now */
	if (a->scan_qr_known && a->scan_len <= (size_t)c->h->scan_max) {
		v = verdict(c, k, &co, a, (const char (*)[128])a->scan_qr, a->n_scan_qr);
	} else if (oc_hall_app_get_scan(c->st, id, &jpeg, &len, &err) != 0 ||
	    judge(c, k, &co, a, jpeg, len, &info, &v, &err) != 0) {
		oc_http_reply_err(c->req, &err);
		goto out;
	}
	if (oc_calendar_deadline(c->h->cal, now, 1, &deadline) != 0)
		deadline = now + 86400;
	/* the fields and the submission: one transaction, so that a failure
	 * between them saves nothing */
	snprintf(msg, sizeof(msg), "{\"kind\":\"%s\",\"qr\":\"%s\"}", k->kind,
	    v == OC_QR_MATCH ? "match" : "flagged");
	if (oc_hall_app_submit_form(c->st, id, s, now, deadline, oc_qr_verdict_name(v), &err) != 0 ||
	    oc_hall_app_get(c->st, id, a, &err) != 0) {
		oc_http_reply_err(c->req, &err);
		goto out;
	}
	oc_hall_audit(c->st, c->a.serial, oc_http_req_peer(c->req), "application.submit",
	    co.org_code, msg, NULL);
	{
		struct tm tm;
		time_t t = deadline + 8 * 3600;

		gmtime_r(&t, &tm);
		strftime(dl, sizeof(dl), "%Y年%m月%d日", &tm);
	}
	snprintf(text, sizeof(text), "【网上办事大厅】%.200s的%s已提交，网站将于1个工作日内（%s前）处理。",
	    co.name, k->what, dl);
	notify_app(c, k, &co, a, "application.submitted", text);
	snprintf(msg, sizeof(msg), "已提交%s，网站将于1个工作日内处理",
	    strcmp(k->kind, "main_open") == 0 ? "主证书开通申请" : k->what);
	reply = hall_app_json(c, a);
	json_object_set_new(reply, "message", json_string(msg));
	oc_http_reply_json(c->req, 200, reply);
out:
	free(jpeg);
	free(s);
	json_decref(form);
	json_decref(body);
	free(a);
}

static void
app_withdraw(struct hall_call *c, long long id)
{
	struct oc_hall_company co;
	struct oc_hall_application *a = malloc(sizeof(*a));
	const struct app_kind *k;
	struct oc_err err;
	char text[512], detail[64];
	bool was_submitted;

	if (a == NULL)
		return oc_http_reply_error(c->req, 500, "internal_error", "out of memory");
	if (!hall_session_require(c, true) || (k = load_app(c, id, true, &co, a)) == NULL)
		goto out;
	was_submitted = strcmp(a->state, "submitted") == 0;
	if (oc_hall_app_withdraw(c->st, id, time(NULL), &err) != 0 ||
	    oc_hall_app_get(c->st, id, a, &err) != 0) {
		oc_http_reply_err(c->req, &err);
		goto out;
	}
	snprintf(detail, sizeof(detail), "{\"kind\":\"%s\"}", k->kind);
	oc_hall_audit(c->st, c->a.serial, oc_http_req_peer(c->req), "application.withdraw",
	    co.org_code, detail, NULL);
	if (was_submitted) {
		snprintf(text, sizeof(text), "【网上办事大厅】%.200s的%s已撤回。", co.name, k->what);
		notify_app(c, k, &co, a, "application.withdrawn", text);
	}
	oc_http_reply_json(c->req, 200, hall_app_json(c, a));
out:
	free(a);
}

static void
app_get(struct hall_call *c, long long id)
{
	struct oc_hall_company co;
	struct oc_hall_application *a = malloc(sizeof(*a));

	if (a == NULL)
		return oc_http_reply_error(c->req, 500, "internal_error", "out of memory");
	if (hall_session_require(c, false) && load_app(c, id, false, &co, a) != NULL)
		oc_http_reply_json(c->req, 200, hall_app_json(c, a));
	free(a);
}

bool
hall_parse_id_tail(const char *tail, long long *id, const char **rest)
{
	long long v = 0;
	const char *p = tail;

	if (p == NULL || *p < '1' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (9000000000000000000LL - 9) / 10)
			return false;
		v = v * 10 + (*p - '0');
	}
	if (*p != '\0' && *p != '/')
		return false;
	*id = v;
	*rest = *p == '/' ? p + 1 : p;
	return true;
}

void
hall_app_dispatch(struct hall_call *c)
{
	const char *m = oc_http_req_method(c->req), *rest;
	long long id;

	if (!hall_parse_id_tail(oc_http_req_tail(c->req), &id, &rest))
		return oc_http_reply_error(c->req, 404, "not_found", "申请不存在 / no such application");
	if (strcmp(rest, "") == 0) {
		if (strcmp(m, "GET") == 0)
			return app_get(c, id);
		if (strcmp(m, "PUT") == 0)
			return app_update(c, id);
	} else if (strcmp(rest, "form.pdf") == 0) {
		if (strcmp(m, "GET") == 0)
			return app_pdf(c, id);
	} else if (strcmp(rest, "scan") == 0) {
		if (strcmp(m, "GET") == 0)
			return scan_get(c, id);
		if (strcmp(m, "PUT") == 0)
			return scan_put(c, id);
	} else if (strcmp(rest, "submit") == 0) {
		if (strcmp(m, "POST") == 0)
			return app_submit(c, id);
	} else if (strcmp(rest, "withdraw") == 0) {
		if (strcmp(m, "POST") == 0)
			return app_withdraw(c, id);
	} else {
		return oc_http_reply_error(c->req, 404, "not_found", "not found");
	}
	oc_http_reply_error(c->req, 405, "method_not_allowed", "method not allowed");
}
