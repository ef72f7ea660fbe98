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
#include <openssl/x509.h>

#include "onecert/config.h"
#include "onecert/hall_store.h"
#include "onecert/http.h"

struct oc_rp;

struct hall {
	char dir[2048];
	struct oc_config *cfg;
	struct oc_rp *rp;
	char db_path[4096];
	long session_idle;      /* s */
	long session_recheck;   /* s */
	long challenge_ttl;     /* s */
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
 * CSRF for state changes).  false after replying 401/403. */
bool hall_session_require(struct hall_call *c, bool state_change);
void hall_reply_me(struct hall_call *c, int status);
void hall_logout(struct hall_call *c);
/* SHA-256 of a NUL-terminated string, as 64 hex digits. */
void hall_sha256_hex(const char *s, char out[65]);

/* login.c */
void hall_login_tls(struct hall_call *c);
void hall_login_challenge(struct hall_call *c);
void hall_login_signed(struct hall_call *c);

#endif
