/*
 * hall_int.h — internals of `onecert hall serve` shared by its files:
 * serve.c (start-up, routes), login.c (the three logins), session.c
 * (cookies, CSRF, idle timeout, revocation re-checks), verify.c (the
 * relying-party check of a certificate).
 */
#ifndef ONECERT_HALL_INT_H
#define ONECERT_HALL_INT_H

#include <stdbool.h>
#include <time.h>
#include <jansson.h>
#include <openssl/x509.h>

#include "onecert/config.h"
#include "onecert/hall_store.h"
#include "onecert/http.h"

struct oc_rp;
struct oc_calendar;
struct oc_notify;

struct hall {
	char dir[2048];
	struct oc_config *cfg;
	struct oc_rp *rp;
	char db_path[4096];
	long session_idle;      /* s */
	long session_recheck;   /* s */
	long challenge_ttl;     /* s */
	struct oc_calendar *cal;        /* working days, for review deadlines */
	struct oc_notify *notify;       /* SMS */
	unsigned char form_key[32];     /* MACs the forms' QR codes and SMS codes */
	long scan_max;                  /* bytes (图片最大不超过200KB) */
	long sms_ttl, sms_cooldown;     /* s */
	long sms_max_tries;
	/* a company's matter applications: no certificate of it can fill the
	 * database (docs/config.md hall.matter_draft_max, matter_daily_max) */
	struct oc_hall_matter_bounds matter_bounds;
	json_t *matters;                /* the matter catalogue (matters.c) */
	json_t *guides;                 /* the guides (guides.c) */
	/* the local agent (证书助手) the login page tries: "" = none
	 * (docs/config.md hall.agent_url; always a loopback http URL) */
	char agent_url[64];
};

/* What a verified certificate says about its holder. */
struct hall_identity {
	bool staff;              /* a personal certificate (no organization code) */
	char serial[43];
	char uid[128];
	char issuer[256];
	char subject_cn[256];
	char org_value[128];      /* as in the certificate: USCC or org code */
	char org_code[10];       /* the 9-character organization code */
	char uscc[19];
	time_t not_after;
	/* why hall_identify refused the certificate (OC_EPERM): the relying
	 * party's whole bilingual sentence, which err->msg (256 bytes) would
	 * cut in its English half */
	char refusal[512];
};

/* verify.c: the relying-party check (chain, validity, usage, revocation)
 * and the mapping to an identity.  OC_EPERM with a Chinese + English
 * message when the certificate is refused. */
int hall_identify(struct hall *h, X509 *cert, STACK_OF(X509) *chain,
	struct hall_identity *id, struct oc_err *err);
/* Revocation only, for a session's periodic re-check. */
int hall_recheck(struct hall *h, X509 *cert, struct oc_err *err);

/* session.c */
struct hall_call {
	struct oc_http_req *req;
	struct hall *h;
	struct oc_hall_store *st;
	struct oc_hall_session s;
	struct oc_hall_account a;
	bool have_session;
};
/* Start a session for the account: cookie + CSRF token; replies with
 * {"csrf": …, "me": …}. */
void hall_session_start(struct hall_call *c, const struct hall_identity *id,
	X509 *cert);
/* Load and check the caller's session (idle timeout, revocation re-check,
 * CSRF for state changes).  false after replying 401/403, or after handing
 * the request to a worker (oc_http_req_defer, on an event loop only): the
 * caller returns at once either way. */
bool hall_session_require(struct hall_call *c, bool state_change);
void hall_reply_me(struct hall_call *c, int status);
/* GET /api/v1/me on an event loop, inside one read transaction:
 * hall_me_cached answers from the loop's cache when nothing was committed
 * since the answer was kept and the session's clock rules need nothing
 * done (true: replied); else hall_me, with the version hall_me_cached
 * read (kept with the answer; a zero version keeps nothing). */
bool hall_me_cached(struct hall_call *c, struct oc_hall_version *v);
void hall_me(struct hall_call *c, const struct oc_hall_version *v);
void hall_logout(struct hall_call *c);
/* SHA-256 of a NUL-terminated string, as 64 hex digits. */
void hall_sha256_hex(const char *s, char out[65]);

/* activate.c — 开通: the application, its PDF form and scan */
void hall_activation_get(struct hall_call *c);
void hall_app_create(struct hall_call *c);
/* /api/v1/applications/{id}[/…]: dispatch on the tail */
void hall_app_dispatch(struct hall_call *c);
/* me.application: the company's current activation, or NULL */
json_t *hall_app_summary(struct hall_call *c);

/* review.c — the reviewer console (staff reviewer/admin) */
void hall_review_queue(struct hall_call *c);
void hall_review_dispatch(struct hall_call *c);

/* register.c — registration after approval, SMS codes */
void hall_registration_get(struct hall_call *c);
void hall_registration_sms(struct hall_call *c);
void hall_registration_submit(struct hall_call *c);

/* admin.c */
void hall_admin_outbox(struct hall_call *c);

/* notify one person of a state change by SMS (a landline or an empty
 * number is skipped; a failure is logged, never fails the request) */
void hall_notify(struct hall_call *c, const char *mobile, const char *purpose,
	const char *text);
/* the contact phone (联系电话) of an application's form into buf; '' when
 * the form has none */
const char *hall_app_contact_phone(const struct oc_hall_application *a, char *buf, size_t cap);
/* the caller's staff role ("reviewer"/"admin") or "" */
const char *hall_staff_role(struct hall_call *c, char *buf, size_t cap);
/* HMAC-SHA256(form_key, s) as hex */
void hall_mac_hex(const struct hall *h, const char *s, char out[65]);
/* ISO 8601 UTC, "" for 0 */
void hall_iso(time_t t, char *buf, size_t cap);
/* "123", "123/scan" → id and the rest ("" or "scan"); false for anything
 * that is not a positive decimal id without leading zeros. */
bool hall_parse_id_tail(const char *tail, long long *id, const char **rest);
/* The value of cookie name in a Cookie header (h may be NULL), copied
 * into buf: NULL when it is missing, or when its first occurrence is
 * empty or does not fit in cap. */
const char *hall_cookie_get(const char *h, const char *name, char *buf,
	size_t cap);
/* Parse a request body as a JSON object (reply 400 and NULL on failure). */
json_t *hall_body_json(struct hall_call *c, size_t max);

/* serve.c: the common start of every handler (the worker's database
 * handle); false after replying 503. */
bool hall_call_init(struct hall_call *c, struct oc_http_req *req, struct hall *h);

/* util.c — may the caller do this matter?  The main certificate of a
 * registered company may do every matter; an active 证书管理员 or 办事员 only
 * the matters granted to it; nobody else any.  false after replying 403
 * (or 401 without a session). */
bool hall_matter_allowed(struct hall_call *c, const char *code, bool reply);
/* The caller's company (enterprise accounts only); false after replying. */
bool hall_company_of(struct hall_call *c, struct oc_hall_company *co);

#define HALL_ROUTES_MAX 96
/* Feature files add their routes to the hall's table (serve.c calls each
 * once at start); each returns how many it wrote, at most cap. */
size_t hall_subs_routes(struct hall *h, struct oc_http_route *r, size_t cap);
size_t hall_matters_routes(struct hall *h, struct oc_http_route *r, size_t cap);
size_t hall_update_routes(struct hall *h, struct oc_http_route *r, size_t cap);
size_t hall_guides_routes(struct hall *h, struct oc_http_route *r, size_t cap);
/* Data the feature files load at start (data/matters.json, data/guides);
 * non-zero fails the start with err. */
int hall_matters_load(struct hall *h, struct oc_err *err);
int hall_guides_load(struct hall *h, struct oc_err *err);

/* login.c */
void hall_login_tls(struct hall_call *c);
void hall_login_challenge(struct hall_call *c);
void hall_login_signed(struct hall_call *c);

#endif
