/*
 * subs.c — sub certificates and permissions (副数字证书, SPEC §4.3), with the
 * hall's 2025 role model: the main certificate acts for the 法定代表人; it
 * may make a sub certificate 证书管理员 (cert_admin), who manages the 办事员
 * (clerk) sub certificates on its behalf; every certificate has a holder
 * (持证人, name and mobile).
 *
 *   POST /api/v1/subs/request          a certificate without standing asks
 *   GET  /api/v1/subs                  every certificate of the company
 *   GET  /api/v1/subs/{id}             one of them
 *   GET  /api/v1/subs/me               the caller's own entry
 *   POST /api/v1/subs/{id}/approve     {role, matters}: pending → active
 *   POST /api/v1/subs/{id}/refuse      {reason}: pending → refused
 *   PUT  /api/v1/subs/{id}/matters     {matters}: replace the grants
 *   PUT  /api/v1/subs/{id}/role        {role}: clerk ↔ cert_admin (main only)
 *   POST /api/v1/subs/{id}/suspend     active → suspended
 *   POST /api/v1/subs/{id}/resume      suspended → active
 *   POST /api/v1/subs/{id}/remove      → removed, role and grants cleared
 *   PUT  /api/v1/subs/{id}/holder      {name, mobile}: 设置持证人
 *
 * Who may do what is one function, check(): it answers 403 for the role
 * rules (a cert_admin never touches the main certificate, another
 * cert_admin, or itself except its holder; a clerk manages nothing; the
 * main certificate is never suspended or removed here) and 409 for the
 * state rules.  The handlers then move the account with the store's
 * conditional update (oc_hall_account_move), naming the states and roles
 * the account must still be in, so a request that raced another one
 * changes nothing; a change of what the account may do (approval with its
 * matters, new matters, removal) writes the grants in the same transaction
 * (oc_hall_account_move_grants).  The list's "can" uses the same check(),
 * so the page offers exactly what the server allows.
 *
 * An account of another company answers 404, whoever asks: its existence
 * is not revealed.  Every change is audit-logged with the actor's serial
 * and told to the affected certificate's holder by SMS.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hall/hall_int.h"
#include "onecert/ident.h"
#include "onecert/json.h"
#include "onecert/log.h"

#define SUBS_BODY_MAX   8192
#define SUBS_CODES_MAX  256     /* matters in one grant */
#define HOLDER_MAX      32      /* characters */
#define NOTE_MAX        200
#define REASON_MAX      200
#define HOLDER_MSG "请填写持证人姓名（1–32个字符，汉字最多21个） / the holder's name: 1–32" \
	" characters, at most 63 bytes"

/* What the caller is in its company. */
enum actor { ACT_NONE, ACT_MAIN, ACT_ADMIN };

enum action {
	A_APPROVE, A_REFUSE, A_MATTERS, A_ROLE, A_SUSPEND, A_RESUME, A_REMOVE, A_HOLDER,
	A_COUNT
};

static const struct {
	const char *name;       /* the path's tail, and the list's "can" */
	const char *method;
} actions[A_COUNT] = {
	[A_APPROVE] = { "approve", "POST" },
	[A_REFUSE] = { "refuse", "POST" },
	[A_MATTERS] = { "matters", "PUT" },
	[A_ROLE] = { "role", "PUT" },
	[A_SUSPEND] = { "suspend", "POST" },
	[A_RESUME] = { "resume", "POST" },
	[A_REMOVE] = { "remove", "POST" },
	[A_HOLDER] = { "holder", "PUT" },
};

/* --- the matter catalogue ---------------------------------------------
 *
 * h->matters: the array of {code, name, department, …} that matters.c
 * loads and checks at start (the hall does not start without it); read
 * without a lock, nothing changes it while serving. */
static const json_t *
catalogue(struct hall *h)
{
	return json_is_array(h->matters) ? h->matters : NULL;
}

/* The catalogue's entry for a code, or NULL.  Borrowed. */
static const json_t *
matter_find(struct hall *h, const char *code)
{
	const json_t *cat = catalogue(h), *e;
	size_t i;

	if (cat == NULL)
		return NULL;
	json_array_foreach(cat, i, e) {
		const char *k = json_string_value(json_object_get(e, "code"));

		if (k != NULL && strcmp(k, code) == 0)
			return e;
	}
	return NULL;
}

/* --- small helpers ----------------------------------------------------- */

/* j[key] = s.  A value cut mid-character by a fixed-size field loses the
 * partial character; anything else that is not UTF-8 becomes "" (a
 * database value never makes a reply fail). */
static void
set_str(json_t *j, const char *key, const char *s)
{
	json_t *v = json_string(s);
	size_t n = strlen(s);

	for (size_t cut = 1; v == NULL && cut <= 3 && cut <= n; cut++)
		v = json_stringn(s, n - cut);
	json_object_set_new(j, key, v ? v : json_string(""));
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

/* Text that fits: at most chars characters, and bytes (the store's field
 * size less the NUL: a 汉字 takes three). */
static bool
fits(const char *s, size_t chars, size_t bytes)
{
	return utf8_chars(s) <= chars && strlen(s) <= bytes;
}

static bool
plain_text(const char *s, bool newlines)
{
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && !(newlines && *s == '\n')) || *s == 0x7f)
			return false;
	return true;
}

static bool
blank(const char *s)
{
	return s == NULL || s[strspn(s, " \t\r\n")] == '\0';
}

static const char *
role_zh(const char *role)
{
	return strcmp(role, "main") == 0 ? "主数字证书" :
	    strcmp(role, "cert_admin") == 0 ? "证书管理员" :
	    strcmp(role, "clerk") == 0 ? "办事员" : "无";
}

static void
bad_field(struct hall_call *c, const char *field, const char *msg)
{
	oc_http_reply_json(c->req, 400, json_pack("{s:{s:s, s:s, s:s}}", "error",
	    "code", "invalid_input", "message", msg, "field", field));
}

static enum actor
actor_of(const struct hall_call *c, const struct oc_hall_company *co)
{
	if (strcmp(c->a.kind, "enterprise") != 0 || c->a.company_id == 0 ||
	    strcmp(co->state, "registered") != 0 || strcmp(c->a.status, "active") != 0)
		return ACT_NONE;
	if (co->main_account_id == c->a.id && strcmp(c->a.role, "main") == 0)
		return ACT_MAIN;
	if (strcmp(c->a.role, "cert_admin") == 0)
		return ACT_ADMIN;
	return ACT_NONE;
}

static bool
is_sub(const struct oc_hall_account *t)
{
	return strcmp(t->role, "clerk") == 0 || strcmp(t->role, "cert_admin") == 0;
}

/* May the caller (who) do act to t?  0, or 403 (the role rules) / 409 (the
 * state rules) with *msg. */
static int
check(const struct hall_call *c, const struct oc_hall_company *co, enum actor who,
    const struct oc_hall_account *t, enum action act, const char **msg)
{
	bool active = strcmp(t->status, "active") == 0;
	bool suspended = strcmp(t->status, "suspended") == 0;
	bool ok = false;

	if (who == ACT_NONE) {
		*msg = "仅主数字证书或证书管理员可以管理副证书 / only the main certificate or a"
		    " certificate administrator may manage sub certificates";
		return 403;
	}
	if (t->id == co->main_account_id || strcmp(t->role, "main") == 0) {
		if (who == ACT_MAIN && act == A_HOLDER)
			return 0;
		*msg = who == ACT_MAIN ?
		    "主数字证书只能设置持证人，不能在此暂停、删除或更改 / the main certificate can"
		    " only have its holder set here; it cannot be suspended, removed or changed" :
		    "证书管理员不能管理主数字证书 / a certificate administrator cannot manage the main"
		    " certificate";
		return 403;
	}
	if (who == ACT_ADMIN) {
		if (act == A_ROLE) {
			*msg = "仅主数字证书可以设置证书管理员 / only the main certificate may make or"
			    " unmake certificate administrators";
			return 403;
		}
		if (t->id == c->a.id) {
			if (act == A_HOLDER)
				return 0;
			*msg = "证书管理员不能管理本证书自身（持证人除外） / a certificate administrator"
			    " cannot manage its own certificate (except its holder)";
			return 403;
		}
		if (strcmp(t->role, "cert_admin") == 0) {
			*msg = "证书管理员不能管理其他证书管理员 / a certificate administrator cannot manage"
			    " another certificate administrator";
			return 403;
		}
		if (act == A_HOLDER && strcmp(t->role, "clerk") != 0) {
			*msg = "证书管理员只能为办事员和本证书设置持证人 / a certificate administrator sets"
			    " the holder of clerks and of itself only";
			return 403;
		}
	}
	switch (act) {
	case A_APPROVE:
	case A_REFUSE:
		ok = strcmp(t->status, "pending") == 0 && t->role[0] == '\0';
		*msg = "该证书没有待处理的副证书申请 / this certificate has no pending request";
		break;
	case A_MATTERS:
	case A_ROLE:
	case A_REMOVE:
		ok = is_sub(t) && (active || suspended);
		*msg = "该证书不是在用或已暂停的副证书 / this is not an active or suspended sub"
		    " certificate";
		break;
	case A_SUSPEND:
		ok = is_sub(t) && active;
		*msg = "只能暂停在用的副证书 / only an active sub certificate can be suspended";
		break;
	case A_RESUME:
		ok = is_sub(t) && suspended;
		*msg = "只能恢复已暂停的副证书 / only a suspended sub certificate can be resumed";
		break;
	case A_HOLDER:
		ok = strcmp(t->status, "retired") != 0;
		*msg = "该证书已注销 / this certificate was retired";
		break;
	default:
		*msg = "not found";
		return 404;
	}
	return ok ? 0 : 409;
}

/* The roles the store must still see for a change by who (the conditional
 * move's role_from): a cert_admin moves clerks only. */
static const char *
roles_from(enum actor who)
{
	return who == ACT_MAIN ? "clerk,cert_admin" : "clerk";
}

static int
code_item(const char *code, void *arg)
{
	json_array_append_new(arg, json_string(code));
	return 0;
}

/* One certificate as the list shows it; NULL when out of memory.  Caller
 * owns the result. */
static json_t *
item_json(struct hall_call *c, const struct oc_hall_company *co, enum actor who,
    const struct oc_hall_account *t)
{
	json_t *j = json_object(), *codes = json_array(), *matters = json_array(), *can = json_array();
	char na[32], rq[32];
	const char *msg;
	const json_t *e;
	size_t i;

	if (j == NULL || codes == NULL || matters == NULL || can == NULL) {
		json_decref(j);
		json_decref(codes);
		json_decref(matters);
		json_decref(can);
		return NULL;
	}
	hall_iso(t->not_after, na, sizeof(na));
	hall_iso(t->requested_at, rq, sizeof(rq));
	json_object_set_new(j, "id", json_integer(t->id));
	set_str(j, "serial", t->serial);
	set_str(j, "unique_id", t->uid);
	set_str(j, "subject_cn", t->subject_cn);
	set_str(j, "not_after", na);
	set_str(j, "role", t->role);
	set_str(j, "status", t->status);
	set_str(j, "holder", t->holder_name);
	set_str(j, "mobile", t->holder_mobile);
	if (t->id == co->main_account_id && t->holder_name[0] == '\0') {
		/* until a holder is set here, the main certificate's is the one
		 * given at registration (证书持有人) */
		json_t *p = json_loads(co->profile, 0, NULL);
		const char *hn = json_string_value(json_object_get(p, "holder"));
		const char *hm = json_string_value(json_object_get(p, "holder_mobile"));

		set_str(j, "holder", hn ? hn : "");
		set_str(j, "mobile", hm ? hm : "");
		json_decref(p);
	}
	set_str(j, "note", t->note);
	set_str(j, "requested_at", rq);
	set_str(j, "decided_by", t->decided_by);
	set_str(j, "reason", t->reason);
	json_object_set_new(j, "is_main", json_boolean(t->id == co->main_account_id));
	json_object_set_new(j, "is_self", json_boolean(t->id == c->a.id));
	if (is_sub(t))
		oc_hall_grants_list(c->st, t->id, code_item, codes, NULL);
	json_array_foreach(codes, i, e) {
		const char *code = json_string_value(e);
		const json_t *m = matter_find(c->h, code);
		const char *name = m ? json_string_value(json_object_get(m, "name")) : NULL;
		json_t *o = json_object();

		set_str(o, "code", code);
		set_str(o, "name", name ? name : code);
		json_array_append_new(matters, o);
	}
	json_object_set_new(j, "matters", matters);
	json_decref(codes);
	for (int a = 0; a < A_COUNT; a++)
		if (check(c, co, who, t, (enum action)a, &msg) == 0)
			json_array_append_new(can, json_string(actions[a].name));
	json_object_set_new(j, "can", can);
	return j;
}

/* The caller's session, company and standing.  false after replying. */
static bool
begin(struct hall_call *c, bool change, struct oc_hall_company *co, enum actor *who)
{
	if (!hall_session_require(c, change))
		return false;
	if (!hall_company_of(c, co))
		return false;
	*who = actor_of(c, co);
	return true;
}

/* Audit a change and log it.  detail: a JSON object (consumed). */
static void
audit(struct hall_call *c, const char *action, const struct oc_hall_account *t, json_t *detail)
{
	char *s;

	if (detail == NULL)
		detail = json_object();
	json_object_set_new(detail, "account", json_integer(t->id));
	s = oc_json_dumps(detail);
	oc_hall_audit(c->st, c->a.serial, oc_http_req_peer(c->req), action, t->serial,
	    s ? s : "{}", NULL);
	free(s);
	json_decref(detail);
	oc_log(OC_LOG_INFO, "hall.sub_changed", "action=%s account=%lld by=%s", action,
	    t->id, c->a.serial);
}

/* --- POST /api/v1/subs/request ----------------------------------------- */

static void
hall_subs_request(struct hall_call *c)
{
	struct oc_hall_company co;
	struct oc_hall_account m;
	struct oc_err err;
	const char *holder = NULL, *mobile = NULL, *note = NULL, *to = NULL;
	char text[512], tail[8];
	json_t *body = NULL, *profile = NULL, *j;

	if (!hall_session_require(c, true) || !hall_company_of(c, &co))
		return;
	if ((body = hall_body_json(c, 4096)) == NULL)
		return;
	oc_err_clear(&err);
	if (oc_json_get_str(body, "holder", true, 128, &holder, &err) != 0) {
		bad_field(c, "holder", err.msg);
		goto out;
	}
	if (blank(holder) || !plain_text(holder, false) ||
	    !fits(holder, HOLDER_MAX, sizeof(c->a.holder_name) - 1)) {
		bad_field(c, "holder", HOLDER_MSG);
		goto out;
	}
	if (oc_json_get_str(body, "mobile", true, 16, &mobile, &err) != 0 ||
	    oc_mobile_check(mobile, &err) != 0) {
		bad_field(c, "mobile", err.msg);
		goto out;
	}
	if (oc_json_get_str(body, "note", false, 1024, &note, &err) != 0) {
		bad_field(c, "note", err.msg);
		goto out;
	}
	if (note != NULL && (!plain_text(note, true) ||
	    !fits(note, NOTE_MAX, sizeof(c->a.note) - 1))) {
		bad_field(c, "note", "备注最多200个字符（汉字最多85个），且不能含控制字符 / note: at"
		    " most 200 characters and 255 bytes, no control characters");
		goto out;
	}
	if (strcmp(co.state, "registered") != 0) {
		oc_http_reply_error(c->req, 409, "conflict",
		    "贵企业尚未完成主数字证书开通和注册，暂不能申请副证书 / the company has not"
		    " registered its main certificate yet");
		goto out;
	}
	if (co.main_account_id == c->a.id || c->a.role[0] != '\0' ||
	    strcmp(c->a.status, "pending") == 0 || strcmp(c->a.status, "suspended") == 0) {
		oc_http_reply_error(c->req, 409, "conflict", strcmp(c->a.status, "pending") == 0 ?
		    "本证书的副证书申请正在处理中，请勿重复申请 / this certificate's request is pending" :
		    "本证书已是本企业的主证书或副证书，无需申请 / this certificate already has a standing"
		    " in the company");
		goto out;
	}
	/* the store moves only a certificate without standing (active, refused
	 * or removed, role "") */
	if (oc_hall_account_request_sub(c->st, c->a.id, holder, mobile, note ? note : "",
	    time(NULL), &err) != 0) {
		oc_http_reply_err(c->req, &err);
		goto out;
	}
	if (oc_hall_account_get(c->st, c->a.id, &c->a, &err) != 0) {
		oc_http_reply_err(c->req, &err);
		goto out;
	}
	audit(c, "sub.request", &c->a, json_pack("{s:s, s:s}", "holder", holder, "mobile", mobile));
	/* tell the main certificate's holder, else the registered holder */
	if (co.main_account_id != 0 && oc_hall_account_get(c->st, co.main_account_id, &m, NULL) == 0 &&
	    oc_mobile_valid(m.holder_mobile))
		to = m.holder_mobile;
	if (to == NULL && (profile = json_loads(co.profile, 0, NULL)) != NULL)
		to = json_string_value(json_object_get(profile, "holder_mobile"));
	snprintf(tail, sizeof(tail), "%.6s", strlen(c->a.serial) > 6 ?
	    c->a.serial + strlen(c->a.serial) - 6 : c->a.serial);
	snprintf(text, sizeof(text), "【网上办事大厅】%s的一张数字证书（序列号尾号%s，持证人%s）申请成为"
	    "副数字证书，请登录网上办事大厅“副证书管理”处理。", co.name, tail, holder);
	hall_notify(c, to, "sub.requested", text);
	if ((j = item_json(c, &co, ACT_NONE, &c->a)) == NULL) {
		oc_http_reply_error(c->req, 500, "internal_error", "out of memory");
		goto out;
	}
	set_str(j, "message", "已提交副证书申请，请等待主数字证书或证书管理员审核");
	oc_http_reply_json(c->req, 200, j);
out:
	json_decref(profile);
	json_decref(body);
}

/* --- GET /api/v1/subs ---------------------------------------------------- */

struct list {
	long long ids[1024];
	size_t n;
};

static int
list_id(const struct oc_hall_account *a, void *arg)
{
	struct list *l = arg;

	if (l->n < sizeof(l->ids) / sizeof(l->ids[0]))
		l->ids[l->n++] = a->id;
	return 0;
}

static json_t *
catalogue_json(struct hall *h)
{
	const json_t *cat = catalogue(h), *e;
	json_t *out = json_array();
	size_t i;

	if (cat != NULL)
		json_array_foreach(cat, i, e) {
			const char *code = json_string_value(json_object_get(e, "code"));
			const char *name = json_string_value(json_object_get(e, "name"));
			const char *dept = json_string_value(json_object_get(e, "department"));

			if (code == NULL)
				continue;
			json_array_append_new(out, json_pack("{s:s, s:s, s:s}", "code", code,
			    "name", name ? name : code, "department", dept ? dept : ""));
		}
	return out;
}

static void
hall_subs_list(struct hall_call *c)
{
	struct oc_hall_company co;
	struct oc_hall_account *t = NULL;
	struct list *l = NULL;
	struct oc_err err;
	enum actor who;
	json_t *items = NULL, *j;

	if (!begin(c, false, &co, &who))
		return;
	if (who == ACT_NONE)
		return oc_http_reply_error(c->req, 403, "forbidden",
		    "仅主数字证书或证书管理员可以查看副证书 / only the main certificate or a"
		    " certificate administrator may see the sub certificates");
	if ((l = calloc(1, sizeof(*l))) == NULL || (t = malloc(sizeof(*t))) == NULL ||
	    (items = json_array()) == NULL) {
		oc_http_reply_error(c->req, 500, "internal_error", "out of memory");
		goto out;
	}
	/* ids first, then each account with its grants: no query runs inside
	 * another's iteration */
	if (oc_hall_account_list(c->st, co.id, list_id, l, &err) != 0) {
		oc_http_reply_err(c->req, &err);
		goto out;
	}
	for (size_t i = 0; i < l->n; i++) {
		if (oc_hall_account_get(c->st, l->ids[i], t, NULL) != 0 || t->company_id != co.id)
			continue;
		if ((j = item_json(c, &co, who, t)) != NULL)
			json_array_append_new(items, j);
	}
	oc_http_reply_json(c->req, 200, json_pack("{s:s, s:s, s:{s:I, s:s}, s:o, s:o}",
	    "company_name", co.name, "org_code", co.uscc[0] ? co.uscc : co.org_code,
	    "me", "id", (json_int_t)c->a.id, "role", who == ACT_MAIN ? "main" : "cert_admin",
	    "items", items, "catalogue", catalogue_json(c->h)));
	items = NULL;
out:
	json_decref(items);
	free(t);
	free(l);
}

/* --- /api/v1/subs/{id}/… ------------------------------------------------- */

struct op {
	struct hall_call *c;
	struct oc_hall_company co;
	enum actor who;
	struct oc_hall_account t;       /* the target */
	json_t *body;
};

/* The "matters" member: known codes, duplicates collapsed, into codes[]
 * (borrowed from the body).  false after replying 400. */
static bool
parse_codes(struct op *o, bool required, const char **codes, size_t *n)
{
	json_t *arr = json_object_get(o->body, "matters"), *e;
	size_t i;

	*n = 0;
	if (arr == NULL || json_is_null(arr)) {
		if (!required)
			return true;
		bad_field(o->c, "matters", "请选择授权事项 / matters is required");
		return false;
	}
	if (!json_is_array(arr) || json_array_size(arr) > SUBS_CODES_MAX) {
		bad_field(o->c, "matters", "matters 应为事项代码的数组 / matters must be an array of"
		    " matter codes");
		return false;
	}
	json_array_foreach(arr, i, e) {
		const char *code = json_string_value(e);
		bool dup = false, safe = true;
		char msg[200];

		if (code == NULL || code[0] == '\0') {
			bad_field(o->c, "matters", "事项代码应为非空字符串 / each matter code must be a"
			    " non-empty string");
			return false;
		}
		if (matter_find(o->c->h, code) == NULL) {
			for (const char *p = code; *p; p++)
				safe &= isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == '.';
			if (safe && strlen(code) <= 40)
				snprintf(msg, sizeof(msg), "未知的事项代码：%s / unknown matter code %s",
				    code, code);
			else
				snprintf(msg, sizeof(msg), "未知的事项代码 / unknown matter code");
			bad_field(o->c, "matters", msg);
			return false;
		}
		for (size_t k = 0; k < *n; k++)
			dup |= strcmp(codes[k], code) == 0;
		if (!dup)
			codes[(*n)++] = code;
	}
	return true;
}

/* The "role" member: clerk or cert_admin.  NULL after replying 400. */
static const char *
parse_role(struct op *o)
{
	const char *role = NULL;
	struct oc_err err;

	oc_err_clear(&err);
	if (oc_json_get_str(o->body, "role", true, 16, &role, &err) != 0) {
		bad_field(o->c, "role", err.msg);
		return NULL;
	}
	if (strcmp(role, "clerk") != 0 && strcmp(role, "cert_admin") != 0) {
		bad_field(o->c, "role", "role 只能是 clerk（办事员）或 cert_admin（证书管理员） / role"
		    " must be clerk or cert_admin");
		return NULL;
	}
	return role;
}

static json_t *
codes_json(const char *const *codes, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(codes[i]));
	return a;
}

/* "a、b、c" of the matters' names, for an SMS. */
static void
names_text(struct hall *h, const char *const *codes, size_t n, char *out, size_t cap)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && len + 1 < cap; i++) {
		const json_t *m = matter_find(h, codes[i]);
		const char *name = m ? json_string_value(json_object_get(m, "name")) : NULL;
		int w = snprintf(out + len, cap - len, "%s%s", i ? "、" : "", name ? name : codes[i]);

		if (w < 0 || (size_t)w >= cap - len) {
			out[len] = '\0';
			break;
		}
		len += (size_t)w;
	}
	if (n == 0)
		snprintf(out, cap, "%s", "无");
}

/* Reply with the target as it is now. */
static void
reply_target(struct op *o, int status)
{
	struct oc_err err;
	json_t *j;

	if (oc_hall_account_get(o->c->st, o->t.id, &o->t, &err) != 0)
		return oc_http_reply_err(o->c->req, &err);
	if ((j = item_json(o->c, &o->co, o->who, &o->t)) == NULL)
		return oc_http_reply_error(o->c->req, 500, "internal_error", "out of memory");
	oc_http_reply_json(o->c->req, status, j);
}

static void
notify_target(struct op *o, const char *purpose, const char *what)
{
	const char *fmt = "【网上办事大厅】%s，您持有的%s数字证书（%s）%s";
	const char *who = o->t.holder_name[0] ? o->t.holder_name : "您好";
	char *text;
	int n;

	/* sized to fit: cutting a UTF-8 text at a byte count could split a
	 * character */
	if ((n = snprintf(NULL, 0, fmt, who, o->co.name, o->t.subject_cn, what)) < 0 ||
	    (text = malloc((size_t)n + 1)) == NULL)
		return;
	snprintf(text, (size_t)n + 1, fmt, who, o->co.name, o->t.subject_cn, what);
	hall_notify(o->c, o->t.holder_mobile, purpose, text);
	free(text);
}

static void
do_approve(struct op *o)
{
	const char *codes[SUBS_CODES_MAX], *role;
	char names[400], what[512];
	struct oc_err err;
	size_t n;

	if ((role = parse_role(o)) == NULL || !parse_codes(o, false, codes, &n))
		return;
	if (strcmp(role, "cert_admin") == 0 && o->who != ACT_MAIN)
		return oc_http_reply_error(o->c->req, 403, "forbidden",
		    "仅主数字证书可以设置证书管理员 / only the main certificate may make a certificate"
		    " administrator");
	/* the standing and the matters in one transaction: a failure leaves
	 * the request pending, never active with some matters or none */
	oc_err_clear(&err);
	if (oc_hall_account_move_grants(o->c->st, o->t.id, o->co.id, "pending", "", "active", role,
	    o->c->a.serial, "", codes, n, &err) != 0)
		return oc_http_reply_err(o->c->req, &err);
	audit(o->c, "sub.approve", &o->t, json_pack("{s:s, s:o}", "role", role, "matters",
	    codes_json(codes, n)));
	names_text(o->c->h, codes, n, names, sizeof(names));
	snprintf(what, sizeof(what), "已被设为副数字证书（%s），授权事项：%s。", role_zh(role), names);
	notify_target(o, "sub.approved", what);
	reply_target(o, 200);
}

static void
do_refuse(struct op *o)
{
	const char *reason = NULL;
	char what[512];
	struct oc_err err;

	oc_err_clear(&err);
	if (oc_json_get_str(o->body, "reason", false, 1024, &reason, &err) != 0)
		return bad_field(o->c, "reason", err.msg);
	if (blank(reason))
		return bad_field(o->c, "reason", "拒绝申请须填写原因 / a refusal needs a reason");
	if (!plain_text(reason, true) || !fits(reason, REASON_MAX, sizeof(o->t.reason) - 1))
		return bad_field(o->c, "reason", "原因最多200个字符（汉字最多85个），且不能含控制字符"
		    " / reason: at most 200 characters and 255 bytes, no control characters");
	if (oc_hall_account_move(o->c->st, o->t.id, o->co.id, "pending", "", "refused", NULL,
	    o->c->a.serial, reason, &err) != 0)
		return oc_http_reply_err(o->c->req, &err);
	audit(o->c, "sub.refuse", &o->t, json_pack("{s:s}", "reason", reason));
	snprintf(what, sizeof(what), "的副数字证书申请未获同意，原因：%.300s", reason);
	notify_target(o, "sub.refused", what);
	reply_target(o, 200);
}

static void
do_matters(struct op *o)
{
	const char *codes[SUBS_CODES_MAX];
	char names[400], what[512];
	struct oc_err err;
	size_t n;

	if (!parse_codes(o, true, codes, &n))
		return;
	/* a compare-and-set: the account must still be in the state and role
	 * it was read in (and nothing else changes), in the same transaction
	 * as the new grants, so a removal racing this leaves no grants */
	oc_err_clear(&err);
	if (oc_hall_account_move_grants(o->c->st, o->t.id, o->co.id, o->t.status,
	    roles_from(o->who), o->t.status, NULL, o->c->a.serial, NULL, codes, n, &err) != 0)
		return oc_http_reply_err(o->c->req, &err);
	audit(o->c, "sub.matters", &o->t, json_pack("{s:o}", "matters", codes_json(codes, n)));
	names_text(o->c->h, codes, n, names, sizeof(names));
	snprintf(what, sizeof(what), "的授权事项已变更为：%s。", names);
	notify_target(o, "sub.matters", what);
	reply_target(o, 200);
}

static void
do_role(struct op *o)
{
	const char *role;
	char what[256];
	struct oc_err err;

	if ((role = parse_role(o)) == NULL)
		return;
	oc_err_clear(&err);
	if (oc_hall_account_move(o->c->st, o->t.id, o->co.id, o->t.status, "clerk,cert_admin",
	    o->t.status, role, o->c->a.serial, NULL, &err) != 0)
		return oc_http_reply_err(o->c->req, &err);
	audit(o->c, "sub.role", &o->t, json_pack("{s:s, s:s}", "from", o->t.role, "to", role));
	snprintf(what, sizeof(what), "的角色已设为%s。", role_zh(role));
	notify_target(o, "sub.role", what);
	reply_target(o, 200);
}

/* The contact phone of the update withdrawn after it was submitted (id),
 * into buf ('' when it has none or cannot be read). */
static void
update_contact(struct op *o, long long id, char *buf, size_t cap)
{
	struct oc_hall_application *app;

	buf[0] = '\0';
	if ((app = calloc(1, sizeof(*app))) == NULL)
		return;
	if (oc_hall_app_get(o->c->st, id, app, NULL) == 0)
		hall_app_contact_phone(app, buf, cap);
	free(app);
}

/* suspend, resume, remove */
static void
do_standing(struct op *o, enum action act)
{
	const char *from = act == A_SUSPEND ? "active" : act == A_RESUME ? "suspended" :
	    "active,suspended";
	const char *to = act == A_SUSPEND ? "suspended" : act == A_RESUME ? "active" : "removed";
	const char *what = act == A_SUSPEND ? "已被暂停使用，暂停期间不能办理事项。" :
	    act == A_RESUME ? "已恢复使用。" : "已被移出本企业的副数字证书，授权事项已全部取消。";
	struct oc_err err;
	long long upd = 0;
	int withdrawn = 0, rc;
	char phone[32] = "", text[512], also[640];

	/* removed means no role and no grants; suspended or removed, it
	 * loses its open 主数字证书更新 (and, removed, its matter drafts:
	 * oc_hall_account_withdraw_open says why) — all in one transaction,
	 * so that no approval can come between */
	oc_err_clear(&err);
	if (oc_hall_begin(o->c->st, &err) != 0)
		return oc_http_reply_err(o->c->req, &err);
	rc = act == A_REMOVE ? oc_hall_account_move_grants(o->c->st, o->t.id, o->co.id, from,
	    roles_from(o->who), to, "", o->c->a.serial, NULL, NULL, 0, &err) :
	    oc_hall_account_move(o->c->st, o->t.id, o->co.id, from, roles_from(o->who), to, NULL,
	    o->c->a.serial, NULL, &err);
	if (rc == 0 && act != A_RESUME)
		rc = oc_hall_account_withdraw_open(o->c->st, o->t.id, act == A_REMOVE, time(NULL),
		    &withdrawn, &upd, &err);
	if (rc == 0)
		rc = oc_hall_commit(o->c->st, &err);
	if (rc != 0) {
		oc_hall_rollback(o->c->st);
		return oc_http_reply_err(o->c->req, &err);
	}
	audit(o->c, act == A_SUSPEND ? "sub.suspend" : act == A_RESUME ? "sub.resume" : "sub.remove",
	    &o->t, json_pack("{s:s, s:s, s:i}", "from", o->t.status, "to", to,
	    "withdrawn_applications", withdrawn));
	/* An update withdrawn after it was submitted: its contact was told
	 * 网站将于1个工作日内处理 and would wait for a review that will not
	 * come.  One text when the contact is the holder told below. */
	if (upd > 0)
		update_contact(o, upd, phone, sizeof(phone));
	if (phone[0] != '\0') {
		snprintf(text, sizeof(text), "%s的主数字证书更新申请（编号%lld）已撤回：申请所用的数字证书%s"
		    "。如仍需更新，请使用其他数字证书重新申请。", o->co.name, upd,
		    act == A_SUSPEND ? "已被贵企业暂停使用" : "已被移出本企业");
		if (strcmp(phone, o->t.holder_mobile) == 0) {
			snprintf(also, sizeof(also), "%s%s", what, text);
			what = also;
		} else {
			snprintf(also, sizeof(also), "【网上办事大厅】%s", text);
			hall_notify(o->c, phone, "main_update.withdrawn", also);
		}
	}
	notify_target(o, act == A_SUSPEND ? "sub.suspended" : act == A_RESUME ? "sub.resumed" :
	    "sub.removed", what);
	reply_target(o, 200);
}

static void
do_holder(struct op *o)
{
	const char *name = NULL, *mobile = NULL;
	char old[16], what[256];
	struct oc_err err;

	oc_err_clear(&err);
	if (oc_json_get_str(o->body, "name", true, 128, &name, &err) != 0)
		return bad_field(o->c, "name", err.msg);
	if (blank(name) || !plain_text(name, false) ||
	    !fits(name, HOLDER_MAX, sizeof(o->t.holder_name) - 1))
		return bad_field(o->c, "name", HOLDER_MSG);
	if (oc_json_get_str(o->body, "mobile", true, 16, &mobile, &err) != 0 ||
	    oc_mobile_check(mobile, &err) != 0)
		return bad_field(o->c, "mobile", err.msg);
	/* a cert_admin sets clerks' holders: the clerk must still be one */
	if (o->who == ACT_ADMIN && o->t.id != o->c->a.id &&
	    oc_hall_account_move(o->c->st, o->t.id, o->co.id, o->t.status, "clerk", o->t.status,
	    NULL, o->c->a.serial, NULL, &err) != 0)
		return oc_http_reply_err(o->c->req, &err);
	if (oc_hall_account_set_holder(o->c->st, o->t.id, name, mobile, &err) != 0)
		return oc_http_reply_err(o->c->req, &err);
	audit(o->c, "sub.holder", &o->t, json_pack("{s:s, s:s, s:s, s:s}", "from_name",
	    o->t.holder_name, "from_mobile", o->t.holder_mobile, "name", name, "mobile", mobile));
	/* the new holder is told, and the old one when the mobile changed */
	snprintf(old, sizeof(old), "%s", o->t.holder_mobile);
	snprintf(o->t.holder_name, sizeof(o->t.holder_name), "%s", name);
	snprintf(what, sizeof(what), "的持证人已设置为%s（手机%s）。", name, mobile);
	if (old[0] != '\0' && strcmp(old, mobile) != 0)
		notify_target(o, "sub.holder", what);
	snprintf(o->t.holder_mobile, sizeof(o->t.holder_mobile), "%s", mobile);
	notify_target(o, "sub.holder", what);
	reply_target(o, 200);
}

/* GET /api/v1/subs/me: the caller's own entry (its request, a refusal's
 * reason), for any company certificate. */
static void
hall_subs_me(struct hall_call *c)
{
	struct oc_hall_company co;
	enum actor who;
	json_t *j;

	if (!begin(c, false, &co, &who))
		return;
	if ((j = item_json(c, &co, who, &c->a)) == NULL)
		return oc_http_reply_error(c->req, 500, "internal_error", "out of memory");
	set_str(j, "company_state", co.state);
	oc_http_reply_json(c->req, 200, j);
}

static void
hall_subs_dispatch(struct hall_call *c)
{
	const char *m = oc_http_req_method(c->req), *rest, *msg;
	struct op *o = NULL;
	struct oc_err err;
	long long id;
	int act = -1, st;
	bool known = false;

	if (strcmp(oc_http_req_tail(c->req), "request") == 0)
		return oc_http_reply_error(c->req, 405, "method_not_allowed", "method not allowed");
	if (strcmp(oc_http_req_tail(c->req), "me") == 0)
		return strcmp(m, "GET") == 0 ? hall_subs_me(c) :
		    oc_http_reply_error(c->req, 405, "method_not_allowed", "method not allowed");
	if (!hall_parse_id_tail(oc_http_req_tail(c->req), &id, &rest))
		return oc_http_reply_error(c->req, 404, "not_found", "证书不存在 / no such certificate");
	if (strcmp(rest, "") == 0) {
		known = true;
		act = strcmp(m, "GET") == 0 ? A_COUNT : -1;
	}
	for (int a = 0; a < A_COUNT; a++)
		if (strcmp(rest, actions[a].name) == 0) {
			known = true;
			if (strcmp(m, actions[a].method) == 0)
				act = a;
		}
	if (!known)
		return oc_http_reply_error(c->req, 404, "not_found", "not found");
	if (act < 0)
		return oc_http_reply_error(c->req, 405, "method_not_allowed", "method not allowed");
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return oc_http_reply_error(c->req, 500, "internal_error", "out of memory");
	o->c = c;
	if (!begin(c, act != A_COUNT, &o->co, &o->who))
		goto out;
	/* another company's certificate (or a staff one) does not exist here */
	oc_err_clear(&err);
	if ((st = oc_hall_account_get(c->st, id, &o->t, &err)) != 0 && st != OC_ENOTFOUND) {
		oc_http_reply_err(c->req, &err);
		goto out;
	}
	if (st != 0 || o->t.company_id != o->co.id || strcmp(o->t.kind, "enterprise") != 0) {
		oc_http_reply_error(c->req, 404, "not_found", "证书不存在 / no such certificate");
		goto out;
	}
	if (act == A_COUNT) {
		if (o->who == ACT_NONE && o->t.id != c->a.id)
			oc_http_reply_error(c->req, 403, "forbidden",
			    "仅主数字证书或证书管理员可以查看副证书 / only the main certificate or a"
			    " certificate administrator may see the sub certificates");
		else
			reply_target(o, 200);
		goto out;
	}
	if (o->who == ACT_NONE) {
		check(c, &o->co, o->who, &o->t, (enum action)act, &msg);
		oc_http_reply_error(c->req, 403, "forbidden", msg);
		goto out;
	}
	if ((o->body = hall_body_json(c, SUBS_BODY_MAX)) == NULL)
		goto out;
	if ((st = check(c, &o->co, o->who, &o->t, (enum action)act, &msg)) != 0) {
		oc_http_reply_error(c->req, st, st == 403 ? "forbidden" : st == 409 ? "conflict" :
		    "not_found", msg);
		goto out;
	}
	switch (act) {
	case A_APPROVE: do_approve(o); break;
	case A_REFUSE: do_refuse(o); break;
	case A_MATTERS: do_matters(o); break;
	case A_ROLE: do_role(o); break;
	case A_SUSPEND:
	case A_RESUME:
	case A_REMOVE: do_standing(o, (enum action)act); break;
	case A_HOLDER: do_holder(o); break;
	}
out:
	if (o != NULL)
		json_decref(o->body);
	free(o);
}

#define SUBS_HANDLER(name, fn) \
static void \
name(struct oc_http_req *req, void *arg) \
{ \
	struct hall_call c; \
 \
	if (hall_call_init(&c, req, arg)) \
		fn(&c); \
}
SUBS_HANDLER(h_subs_request, hall_subs_request)
SUBS_HANDLER(h_subs_list, hall_subs_list)
SUBS_HANDLER(h_subs, hall_subs_dispatch)

size_t
hall_subs_routes(struct hall *h, struct oc_http_route *r, size_t cap)
{
	const struct oc_http_route mine[] = {
		{ "POST", "/api/v1/subs/request", h_subs_request, h, 4096,
		  OC_HTTP_BLOCKING | OC_HTTP_TLS_ONLY, NULL },
		{ "GET", "/api/v1/subs", h_subs_list, h, 0, OC_HTTP_BLOCKING | OC_HTTP_TLS_ONLY, NULL },
		{ NULL, "/api/v1/subs/", h_subs, h, SUBS_BODY_MAX,
		  OC_HTTP_BLOCKING | OC_HTTP_TLS_ONLY | OC_HTTP_PREFIX, NULL },
	};
	size_t n = sizeof(mine) / sizeof(mine[0]);

	if (n > cap) {
		oc_log(OC_LOG_ERROR, "hall.routes_full", "file=subs");
		return 0;
	}
	memcpy(r, mine, sizeof(mine));
	return n;
}
