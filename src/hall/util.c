/*
 * util.c — small things the hall's handlers share: staff roles, SMS
 * notifications of state changes, the hall's MAC.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "hall/hall_int.h"
#include "onecert/ident.h"
#include "onecert/log.h"
#include "onecert/notify.h"
#include "onecert/utf8.h"

const char *
hall_staff_role(struct hall_call *c, char *buf, size_t cap)
{
	buf[0] = '\0';
	if (strcmp(c->a.kind, "staff") != 0 ||
	    oc_hall_role_get(c->st, c->a.serial, buf, cap, NULL) != 0)
		buf[0] = '\0';
	return buf;
}

const char *
hall_app_contact_phone(const struct oc_hall_application *a, char *buf, size_t cap)
{
	json_t *f = json_loads(a->form, 0, NULL);
	const char *p = f ? json_string_value(json_object_get(f, "phone")) : NULL;

	snprintf(buf, cap, "%s", p ? p : "");
	json_decref(f);
	return buf;
}

void
hall_notify(struct hall_call *c, const char *mobile, const char *purpose, const char *text)
{
	struct oc_err err;
	char q[OC_LOG_QBUF], *t;
	size_t o = 0;

	if (mobile == NULL || !oc_mobile_valid(mobile)) {
		oc_log(OC_LOG_INFO, "hall.notify_skipped", "purpose=%s reason=not_a_mobile", purpose);
		return;
	}
	/* a text made with "%.300s" of a longer value (a reviewer's reason, a
	 * company's name) can hold a character cut in two, and the SMS
	 * backend refuses a text that is not UTF-8 whole: the cut bytes are
	 * dropped and the rest is sent */
	if ((t = malloc(strlen(text) + 1)) == NULL) {
		oc_log(OC_LOG_WARN, "hall.notify_failed", "purpose=%s msg=out_of_memory", purpose);
		return;
	}
	for (const unsigned char *p = (const unsigned char *)text, *end = p + strlen(text);
	    p < end; ) {
		size_t n = oc_utf8_char(p, (size_t)(end - p));

		if (n == 0) {
			p++;
			continue;
		}
		memcpy(t + o, p, n);
		o += n;
		p += n;
	}
	t[o] = '\0';
	oc_err_clear(&err);
	if (oc_notify_sms(c->h->notify, c->st, mobile, t, purpose, &err) != 0)
		oc_log(OC_LOG_WARN, "hall.notify_failed", "purpose=%s msg=%s", purpose,
		    oc_log_q(q, sizeof(q), err.msg));
	free(t);
}

void
hall_mac_hex(const struct hall *h, const char *s, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (HMAC(EVP_sha256(), h->form_key, sizeof(h->form_key), (const unsigned char *)s,
	    strlen(s), md, &n) == NULL)
		n = 0;
	out[0] = '\0';
	for (unsigned i = 0; i < n && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

bool
hall_company_of(struct hall_call *c, struct oc_hall_company *co)
{
	struct oc_err err;

	if (strcmp(c->a.kind, "enterprise") != 0 || c->a.company_id == 0) {
		oc_http_reply_error(c->req, 403, "forbidden",
		    "仅企业数字证书可以办理 / only a company certificate may do this");
		return false;
	}
	if (oc_hall_company_get(c->st, c->a.company_id, co, &err) != 0) {
		oc_http_reply_err(c->req, &err);
		return false;
	}
	return true;
}

bool
hall_matter_allowed(struct hall_call *c, const char *code, bool reply)
{
	struct oc_hall_company co;
	bool ok = false;

	if (strcmp(c->a.kind, "enterprise") == 0 && c->a.company_id != 0 &&
	    strcmp(c->a.status, "active") == 0 &&
	    oc_hall_company_get(c->st, c->a.company_id, &co, NULL) == 0 &&
	    strcmp(co.state, "registered") == 0) {
		if (co.main_account_id == c->a.id && strcmp(c->a.role, "main") == 0)
			ok = true;
		else if ((strcmp(c->a.role, "cert_admin") == 0 || strcmp(c->a.role, "clerk") == 0) &&
		    oc_hall_grant_has(c->st, c->a.id, code, NULL) == 0)
			ok = true;
	}
	if (!ok && reply)
		oc_http_reply_error(c->req, 403, "forbidden",
		    "本证书未被授权办理此事项 / this certificate may not do this matter");
	return ok;
}
