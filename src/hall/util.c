/*
 * util.c — small things the hall's handlers share: staff roles, SMS
 * notifications of state changes, the hall's MAC.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "hall/hall_int.h"
#include "onecert/ident.h"
#include "onecert/log.h"
#include "onecert/notify.h"

const char *
hall_staff_role(struct hall_call *c, char *buf, size_t cap)
{
	buf[0] = '\0';
	if (strcmp(c->a.kind, "staff") != 0 ||
	    oc_hall_role_get(c->st, c->a.serial, buf, cap, NULL) != 0)
		buf[0] = '\0';
	return buf;
}

void
hall_notify(struct hall_call *c, const char *mobile, const char *purpose, const char *text)
{
	struct oc_err err;
	char q[OC_LOG_QBUF];

	if (mobile == NULL || !oc_mobile_valid(mobile)) {
		oc_log(OC_LOG_INFO, "hall.notify_skipped", "purpose=%s reason=not_a_mobile", purpose);
		return;
	}
	oc_err_clear(&err);
	if (oc_notify_sms(c->h->notify, c->st, mobile, text, purpose, &err) != 0)
		oc_log(OC_LOG_WARN, "hall.notify_failed", "purpose=%s msg=%s", purpose,
		    oc_log_q(q, sizeof(q), err.msg));
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
