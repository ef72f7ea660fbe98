/*
 * admin.c — what the hall's admins read over the API:
 *
 *   GET /api/v1/admin/outbox?to=MOBILE&after=ID   every SMS the hall sent
 *
 * With the embedded SMS backend the outbox is the delivery, so this is
 * where a demo's or a test's codes are read (also `onecert admin outbox`).
 */
#include <stdlib.h>
#include <string.h>

#include "hall/hall_int.h"
#include "onecert/ident.h"

static int
item(const struct oc_hall_sms *m, void *arg)
{
	char ts[32];

	hall_iso(m->ts, ts, sizeof(ts));
	json_array_append_new(arg, json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s}",
	    "id", (json_int_t)m->id, "ts", ts, "to", m->to, "text", m->text,
	    "purpose", m->purpose, "via", m->via, "status", m->status));
	return 0;
}

void
hall_admin_outbox(struct hall_call *c)
{
	const char *to = oc_http_req_query(c->req, "to");
	const char *after = oc_http_req_query(c->req, "after");
	struct oc_err err;
	char role[16];
	long long a = 0;
	json_t *items;

	if (!hall_session_require(c, false))
		return;
	if (strcmp(hall_staff_role(c, role, sizeof(role)), "admin") != 0)
		return oc_http_reply_error(c->req, 403, "forbidden",
		    "仅管理员可以查看短信发件箱 / only admins may read the outbox");
	if (to != NULL && to[0] != '\0' && !oc_mobile_valid(to))
		return oc_http_reply_error(c->req, 400, "invalid_input", "to 须为11位手机号 / to must be a mobile");
	if (after != NULL && after[0] != '\0') {
		char *end;
		a = strtoll(after, &end, 10);
		if (*end != '\0' || a < 0)
			return oc_http_reply_error(c->req, 400, "invalid_input", "after 须为非负整数 / after must be a number");
	}
	items = json_array();
	if (oc_hall_outbox_list(c->st, to && to[0] ? to : NULL, a, 500, item, items, &err) != 0) {
		json_decref(items);
		return oc_http_reply_err(c->req, &err);
	}
	oc_http_reply_json(c->req, 200, json_pack("{s:o}", "items", items));
}
