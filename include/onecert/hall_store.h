/*
 * hall_store.h — the service hall's database: companies as the hall knows
 * them, certificates (accounts) mapped to companies, staff roles,
 * single-use login challenges, server-side sessions, and the hall's audit
 * log.  Sessions live here (not in memory) so that any hall instance can
 * serve any request.  SQLite today (src/store/hall_sqlite.c); the calls
 * carry no SQL so a PostgreSQL backend can implement them unchanged.
 *
 * One handle per thread.
 */
#ifndef ONECERT_HALL_STORE_H
#define ONECERT_HALL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include "onecert/error.h"

struct oc_hall_store;

struct oc_hall_company {
	long long id;
	char org_code[10];          /* 9-character organization code: the key */
	char uscc[19];
	char name[256];
	char state[16];             /* none, main_pending, main_active, registered */
	time_t created_at;
};

struct oc_hall_account {
	long long id;
	char uid[128];              /* the certificate's unique ID */
	char serial[43];
	char issuer[256];
	long long company_id;       /* 0 for staff */
	char kind[16];              /* "enterprise" or "staff" */
	char role[16];              /* "" (not yet), main, sub, …; staff: reviewer/admin */
	char subject_cn[256];
	time_t not_after;
	time_t first_login, last_login;
};

struct oc_hall_session {
	char id_hash[65];           /* SHA-256 of the cookie value, hex */
	long long account_id;
	char csrf[64];
	char serial[43];
	time_t created_at, last_seen, checked_at;
	unsigned char cert[8192];   /* the certificate (DER), for re-checks */
	size_t cert_len;
};

struct oc_hall_store *oc_hall_store_open(const char *path, struct oc_err *err);
void oc_hall_store_close(struct oc_hall_store *st);

/* The company with this organization code, created (state none) if new;
 * name/uscc updated from the latest certificate. */
int oc_hall_company_get_or_create(struct oc_hall_store *st, const char *org_code,
	const char *uscc, const char *name, struct oc_hall_company *out, struct oc_err *err);
int oc_hall_company_get(struct oc_hall_store *st, long long id,
	struct oc_hall_company *out, struct oc_err *err);

/* The account of this certificate (by unique ID, or by issuer + serial when
 * the certificate has no unique ID), created on first login; last_login set. */
int oc_hall_account_login(struct oc_hall_store *st, struct oc_hall_account *a,
	struct oc_err *err);
int oc_hall_account_get(struct oc_hall_store *st, long long id,
	struct oc_hall_account *out, struct oc_err *err);

/* Staff roles by certificate serial (granted with `onecert hall grant-role`). */
int oc_hall_role_grant(struct oc_hall_store *st, const char *serial, const char *role,
	const char *by, struct oc_err *err);
int oc_hall_role_revoke(struct oc_hall_store *st, const char *serial, const char *role,
	struct oc_err *err);
/* role[cap] gets the staff role ("reviewer" or "admin"; admin wins), or
 * OC_ENOTFOUND. */
int oc_hall_role_get(struct oc_hall_store *st, const char *serial, char *role,
	size_t cap, struct oc_err *err);

/* Login challenges: stored by the SHA-256 of their value. */
int oc_hall_challenge_put(struct oc_hall_store *st, const char *hash_hex,
	time_t expires_at, struct oc_err *err);
/* Consume: succeeds once, only before expiry (OC_EPERM otherwise: replayed,
 * expired or unknown). */
int oc_hall_challenge_take(struct oc_hall_store *st, const char *hash_hex,
	time_t now, struct oc_err *err);

int oc_hall_session_put(struct oc_hall_store *st, const struct oc_hall_session *s,
	struct oc_err *err);
/* OC_ENOTFOUND for an unknown or ended session. */
int oc_hall_session_get(struct oc_hall_store *st, const char *id_hash,
	struct oc_hall_session *out, struct oc_err *err);
int oc_hall_session_touch(struct oc_hall_store *st, const char *id_hash, time_t now,
	bool checked, struct oc_err *err);
int oc_hall_session_end(struct oc_hall_store *st, const char *id_hash, struct oc_err *err);
/* End every session of a certificate (revoked, retired). */
int oc_hall_session_end_serial(struct oc_hall_store *st, const char *serial,
	struct oc_err *err);

int oc_hall_audit(struct oc_hall_store *st, const char *actor, const char *source,
	const char *action, const char *object, const char *detail_json,
	struct oc_err *err);

#endif
