/*
 * review.c — the reviewer console's API (SPEC §4.2 step 5), for staff
 * certificates holding the reviewer or admin role:
 *
 *   GET  /api/v1/review/queue                       submitted, by deadline
 *   GET  /api/v1/review/applications/{id}           form, applicant, QR verdict
 *   GET  /api/v1/review/applications/{id}/scan      the scan (image/jpeg)
 *   GET  /api/v1/review/applications/{id}/attachments/{name}
 *                                                   a matter application's
 *                                                   attachment (JPEG or PDF)
 *   POST /api/v1/review/applications/{id}/decision  approve, or reject with a reason
 *
 * A decision is one conditional transaction in the store: a second decision
 * (or a decision racing a withdrawal) gets 409 and changes nothing.  Every
 * decision is audit-logged with the reviewer certificate's serial, and the
 * applicant's contact is told by SMS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hall/hall_int.h"
#include "hall/matters.h"
#include "onecert/json.h"
#include "onecert/log.h"

static bool
require_reviewer(struct hall_call *c)
{
	char role[16];

	if (!hall_session_require(c, strcmp(oc_http_req_method(c->req), "GET") != 0))
		return false;
	if (hall_staff_role(c, role, sizeof(role))[0] == '\0') {
		oc_http_reply_error(c->req, 403, "forbidden",
		    "仅审核员或管理员可以审核申请 / only reviewers and admins may review");
		return false;
	}
	return true;
}

struct queue {
	struct hall_call *c;
	json_t *items;
	time_t now;
};

static int
queue_item(const struct oc_hall_application *a, void *arg)
{
	struct queue *q = arg;
	struct oc_hall_company co;
	char sub[32], dl[32];
	json_t *item;

	if (oc_hall_company_get(q->c->st, a->company_id, &co, NULL) != 0)
		memset(&co, 0, sizeof(co));
	hall_iso(a->submitted_at, sub, sizeof(sub));
	hall_iso(a->deadline, dl, sizeof(dl));
	item = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:b, s:s}",
	    "id", (json_int_t)a->id, "kind", a->kind, "company_name", co.name,
	    "org_code", co.uscc[0] ? co.uscc : co.org_code, "submitted_at", sub,
	    "deadline", dl, "overdue", a->deadline != 0 && a->deadline < q->now, "qr", a->qr);
	/* a matter application: which matter (the queue names it) */
	if (item != NULL && strcmp(a->kind, "matter") == 0)
		json_object_set_new(item, "matter", hall_matter_ref_json(q->c->h, a->matter));
	json_array_append_new(q->items, item);
	return 0;
}

void
hall_review_queue(struct hall_call *c)
{
	struct queue q = { c, json_array(), time(NULL) };
	struct oc_err err;
	char now[32];

	if (!require_reviewer(c)) {
		json_decref(q.items);
		return;
	}
	if (oc_hall_app_list(c->st, "submitted", 1000, queue_item, &q, &err) != 0) {
		json_decref(q.items);
		return oc_http_reply_err(c->req, &err);
	}
	hall_iso(q.now, now, sizeof(now));
	oc_http_reply_json(c->req, 200, json_pack("{s:s, s:o}", "now", now, "items", q.items));
}

static json_t *
detail_json(struct hall_call *c, const struct oc_hall_application *a)
{
	struct oc_hall_company co;
	struct oc_hall_account ap;
	char sub[32], dl[32], dec[32], na[32];
	json_t *form = json_loads(a->form, 0, NULL), *j;

	if (oc_hall_company_get(c->st, a->company_id, &co, NULL) != 0)
		memset(&co, 0, sizeof(co));
	if (oc_hall_account_get(c->st, a->account_id, &ap, NULL) != 0)
		memset(&ap, 0, sizeof(ap));
	hall_iso(a->submitted_at, sub, sizeof(sub));
	hall_iso(a->deadline, dl, sizeof(dl));
	hall_iso(a->decided_at, dec, sizeof(dec));
	hall_iso(ap.not_after, na, sizeof(na));
	j = json_pack("{s:I, s:s, s:s, s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s, s:s},"
	    " s:o, s:s, s:b, s:I, s:s, s:s, s:b, s:s, s:s, s:s}",
	    "id", (json_int_t)a->id, "kind", a->kind, "state", a->state,
	    "company", "name", co.name, "org_code", co.org_code, "uscc", co.uscc,
	    "applicant", "serial", ap.serial, "unique_id", ap.uid, "subject_cn", ap.subject_cn,
	    "not_after", na,
	    "form", form ? form : json_object(), "qr", a->qr, "has_scan", a->scan_len > 0,
	    "scan_size", (json_int_t)a->scan_len, "submitted_at", sub, "deadline", dl,
	    "overdue", strcmp(a->state, "submitted") == 0 && a->deadline != 0 &&
	    a->deadline < time(NULL),
	    "decided_at", dec, "decided_by", a->decided_by, "reason", a->reason);
	/* a matter application: which matter, and its attachments */
	if (j != NULL && strcmp(a->kind, "matter") == 0) {
		json_object_set_new(j, "matter", hall_matter_ref_json(c->h, a->matter));
		json_object_set_new(j, "attachments", hall_matter_attachments_json(c, a));
	}
	return j;
}

/* Staff see every company's applications, but not drafts (not yet
 * handed in). */
static bool
load(struct hall_call *c, long long id, struct oc_hall_application *a)
{
	if (oc_hall_app_get(c->st, id, a, NULL) != 0 || strcmp(a->state, "draft") == 0) {
		oc_http_reply_error(c->req, 404, "not_found", "申请不存在 / no such application");
		return false;
	}
	return true;
}

static void
decide(struct hall_call *c, struct oc_hall_application *a)
{
	struct oc_hall_company co;
	struct oc_err err;
	const char *decision = NULL, *reason = NULL;
	char phone[32] = "", text[1024], detail[700], retired[43] = "";
	json_t *body;
	bool approve;

	if ((body = hall_body_json(c, 4096)) == NULL)
		return;
	oc_err_clear(&err);
	if (oc_json_get_str(body, "decision", true, 16, &decision, &err) != 0 ||
	    oc_json_get_str(body, "reason", false, 400, &reason, &err) != 0) {
		json_decref(body);
		return oc_http_reply_err(c->req, &err);
	}
	if (strcmp(decision, "approve") != 0 && strcmp(decision, "reject") != 0) {
		json_decref(body);
		return oc_http_reply_error(c->req, 400, "invalid_input",
		    "decision 只能是 approve 或 reject / decision must be approve or reject");
	}
	approve = strcmp(decision, "approve") == 0;
	if (!approve && (reason == NULL || reason[strspn(reason, " \t\r\n")] == '\0')) {
		json_decref(body);
		return oc_http_reply_error(c->req, 400, "invalid_input",
		    "驳回申请须填写原因 / a rejection needs a reason");
	}
	for (const char *p = reason ? reason : ""; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\n') {
			json_decref(body);
			return oc_http_reply_error(c->req, 400, "invalid_input",
			    "原因含有非法字符 / the reason has control characters");
		}
	if (oc_hall_app_decide2(c->st, a->id, approve, c->a.serial, reason ? reason : "",
	    time(NULL), retired, &err) != 0) {
		json_decref(body);
		return oc_http_reply_err(c->req, &err);
	}
	{
		json_t *d = json_pack("{s:s, s:s}", "decision", decision, "reason", reason ? reason : "");
		char *s = json_dumps(d, JSON_COMPACT);

		snprintf(detail, sizeof(detail), "%s", s ? s : "{}");
		free(s);
		json_decref(d);
	}
	json_decref(body);
	if (oc_hall_app_get(c->st, a->id, a, &err) != 0)
		return oc_http_reply_err(c->req, &err);
	if (oc_hall_company_get(c->st, a->company_id, &co, NULL) != 0)
		memset(&co, 0, sizeof(co));
	oc_hall_audit(c->st, c->a.serial, oc_http_req_peer(c->req),
	    approve ? "application.approve" : "application.reject", co.org_code, detail, NULL);
	oc_log(OC_LOG_INFO, "hall.application_decided", "app=%lld kind=%s decision=%s reviewer=%s",
	    a->id, a->kind, decision, c->a.serial);
	if (retired[0] != '\0')
		oc_hall_audit(c->st, c->a.serial, oc_http_req_peer(c->req), "main.retired", retired,
		    "{\"by\":\"main_update\"}", NULL);
	hall_app_contact_phone(a, phone, sizeof(phone));
	{
		const char *what = strcmp(a->kind, "main_open") == 0 ? "主数字证书开通申请" :
		    strcmp(a->kind, "main_update") == 0 ? "主数字证书更新申请" : "事项申请";

		if (approve && strcmp(a->kind, "main_open") == 0)
			snprintf(text, sizeof(text), "【网上办事大厅】%s的%s已通过审核，"
			    "请使用该证书登录并完成用户信息填写。", co.name, what);
		else if (approve)
			snprintf(text, sizeof(text), "【网上办事大厅】%s的%s已通过审核。", co.name, what);
		else
			snprintf(text, sizeof(text), "【网上办事大厅】%s的%s未通过审核，原因：%.300s",
			    co.name, what, a->reason);
	}
	hall_notify(c, phone, approve ? "application.approved" : "application.rejected", text);
	oc_http_reply_json(c->req, 200, detail_json(c, a));
}

void
hall_review_dispatch(struct hall_call *c)
{
	const char *m = oc_http_req_method(c->req), *rest, *att;
	struct oc_hall_application *a;
	unsigned char *jpeg = NULL;
	struct oc_err err;
	size_t len;
	long long id;

	if (!hall_parse_id_tail(oc_http_req_tail(c->req), &id, &rest))
		return oc_http_reply_error(c->req, 404, "not_found", "申请不存在 / no such application");
	att = strncmp(rest, "attachments/", 12) == 0 && rest[12] != '\0' &&
	    strchr(rest + 12, '/') == NULL ? rest + 12 : NULL;
	if (!((strcmp(rest, "") == 0 && strcmp(m, "GET") == 0) ||
	    (strcmp(rest, "scan") == 0 && strcmp(m, "GET") == 0) ||
	    (att != NULL && strcmp(m, "GET") == 0) ||
	    (strcmp(rest, "decision") == 0 && strcmp(m, "POST") == 0)))
		return strcmp(rest, "") == 0 || strcmp(rest, "scan") == 0 || att != NULL ||
		    strcmp(rest, "decision") == 0 ?
		    oc_http_reply_error(c->req, 405, "method_not_allowed", "method not allowed") :
		    oc_http_reply_error(c->req, 404, "not_found", "not found");
	if (!require_reviewer(c))
		return;
	if ((a = malloc(sizeof(*a))) == NULL)
		return oc_http_reply_error(c->req, 500, "internal_error", "out of memory");
	if (!load(c, id, a)) {
		free(a);
		return;
	}
	if (strcmp(rest, "") == 0) {
		oc_http_reply_json(c->req, 200, detail_json(c, a));
	} else if (att != NULL) {
		if (strcmp(a->kind, "matter") != 0)
			oc_http_reply_error(c->req, 404, "not_found", "附件不存在 / no such attachment");
		else
			hall_matter_attachment_reply(c, a, att);
	} else if (strcmp(rest, "scan") == 0) {
		if (oc_hall_app_get_scan(c->st, id, &jpeg, &len, &err) != 0) {
			oc_http_reply_err(c->req, &err);
		} else {
			oc_http_set_header(c->req, "Cache-Control", "private, no-store");
			/* uploaded bytes: never sniffed, never run as a page */
			oc_http_set_header(c->req, "X-Content-Type-Options", "nosniff");
			oc_http_set_header(c->req, "Content-Security-Policy", "sandbox");
			oc_http_reply(c->req, 200, "image/jpeg", jpeg, len);
		}
		free(jpeg);
	} else {
		decide(c, a);
	}
	free(a);
}
