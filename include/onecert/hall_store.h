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
	long long main_account_id;  /* the main certificate's account; 0 = none */
	char profile[4096];         /* registration data (JSON object) */
	time_t registered_at;
};

struct oc_hall_account {
	long long id;
	char uid[128];              /* the certificate's unique ID */
	char serial[43];
	char issuer[256];
	long long company_id;       /* 0 for staff */
	char kind[16];              /* "enterprise" or "staff" */
	char role[16];              /* "" (no standing), main, cert_admin (证书管理员),
	                               clerk (办事员); staff accounts: "" (roles
	                               are in staff_roles) */
	char subject_cn[256];
	time_t not_after;
	time_t first_login, last_login;
	/* standing in the company (issue 6) */
	char status[16];            /* active, pending (asked to be a sub
	                               certificate), refused, suspended,
	                               removed, retired (a replaced main: never
	                               logs in again) */
	char holder_name[64];       /* 持证人 */
	char holder_mobile[16];
	char note[256];             /* the sub request's note */
	time_t requested_at;
	char decided_by[43];        /* serial of the certificate that decided */
	char reason[256];           /* why a request was refused */
	time_t removed_at;          /* when the company last removed it from its
	                               sub certificates; 0 when never, or once
	                               approved again since (it may ask again,
	                               and is pending or refused meanwhile) */
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

/* A handle is for one thread at a time. */
struct oc_hall_store *oc_hall_store_open(const char *path, struct oc_err *err);
void oc_hall_store_close(struct oc_hall_store *st);

/* One write transaction around several calls (BEGIN IMMEDIATE … COMMIT):
 * one commit, so one fsync, instead of one per call.  On a failed commit
 * the transaction is rolled back; rollback outside a transaction does
 * nothing.  Such transactions of the handles of one process on one file
 * take turns (the writer gate, src/store/hall_sqlite.c): a thread inside
 * one must not begin another on a second handle (refused: OC_ESTORE). */
int oc_hall_begin(struct oc_hall_store *st, struct oc_err *err);
int oc_hall_commit(struct oc_hall_store *st, struct oc_err *err);
void oc_hall_rollback(struct oc_hall_store *st);
/* Several reads from one snapshot (BEGIN DEFERRED … COMMIT): one read
 * transaction, so SQLite takes its WAL read lock once, not per query.
 * Only for reads: a write inside would have to upgrade the snapshot. */
int oc_hall_read_begin(struct oc_hall_store *st, struct oc_err *err);
void oc_hall_read_end(struct oc_hall_store *st);
/* What the handle sees of the database: two equal versions from one
 * handle mean no connection (another handle, thread or process, or this
 * one) has committed a change in between.  Read it inside a read
 * transaction to pair it with what that transaction reads. */
struct oc_hall_version {
	unsigned long long handle;   /* which handle */
	long long data;              /* PRAGMA data_version */
	long long changes;           /* sqlite3_total_changes64 */
};
int oc_hall_data_version(struct oc_hall_store *st, struct oc_hall_version *out,
	struct oc_err *err);

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
/* Delete at most limit (≤ 0: every) sessions last seen before `before`,
 * oldest first; *pruned (may be NULL) gets how many. */
int oc_hall_session_prune(struct oc_hall_store *st, time_t before, int limit,
	int *pruned, struct oc_err *err);

/* --- applications (开通 and, later, 主数字证书更新) -------------------------
 *
 * An application is a draft while the applicant fills the form, prints it
 * and uploads the scan; submitted (保存提交) when it waits for a reviewer;
 * then withdrawn (撤回), approved or rejected.  At most one open (draft or
 * submitted) application of a kind per company: the database enforces it.
 * Every transition is a conditional update in one transaction: the state
 * it starts from is part of the WHERE, so two racing requests cannot both
 * succeed, and the company's state moves with it (none → main_pending on
 * submit; back to none on withdraw or reject; main_active on approval,
 * with the applying account made the main certificate). */
struct oc_hall_application {
	long long id;
	long long company_id;
	long long account_id;       /* the certificate that applied */
	char kind[16];              /* main_open, main_update, matter */
	char state[16];             /* draft, submitted, withdrawn, approved, rejected */
	char form[8192];            /* the form's fields (JSON object) */
	char form_digest[65];       /* digest of the fields on the PDF last made */
	char qr[16];                /* the scan's QR verdict (oc_qr_verdict_name) */
	size_t scan_len;            /* 0 = no scan yet */
	char scan_sha256[65];
	/* The QR payloads read from the scan when it was stored
	 * (oc_scan_check), kept with it and replaced with it: 保存提交 judges
	 * them against the fields as submitted without decoding the scan
	 * again.  scan_qr_known is false for a scan stored without them
	 * (before schema 4, or by oc_hall_app_put_scan). */
	bool scan_qr_known;
	size_t n_scan_qr;
	char scan_qr[4][128];
	time_t created_at, updated_at, submitted_at, deadline, decided_at;
	char decided_by[43];        /* the reviewer certificate's serial */
	char reason[512];           /* why it was rejected */
	char matter[32];            /* kind matter: the matter's code */
};

/* Insert a draft (id, created_at, updated_at are set).  OC_EEXIST when the
 * company already has an open application of this kind. */
int oc_hall_app_create(struct oc_hall_store *st, struct oc_hall_application *app,
	struct oc_err *err);
int oc_hall_app_get(struct oc_hall_store *st, long long id,
	struct oc_hall_application *out, struct oc_err *err);
/* The company's open application of a kind, else its latest one, else
 * OC_ENOTFOUND. */
int oc_hall_app_current(struct oc_hall_store *st, long long company_id, const char *kind,
	struct oc_hall_application *out, struct oc_err *err);
/* Drafts only (OC_ECONFLICT otherwise): new form fields; the digest of the
 * PDF last made (form_digest, may be NULL to keep it). */
int oc_hall_app_update_form(struct oc_hall_store *st, long long id, const char *form_json,
	const char *form_digest, struct oc_err *err);
int oc_hall_app_set_digest(struct oc_hall_store *st, long long id, const char *form_digest,
	struct oc_err *err);
/* Drafts only: store (or replace, atomically) the scan with its QR verdict. */
int oc_hall_app_put_scan(struct oc_hall_store *st, long long id, const unsigned char *jpeg,
	size_t len, const char *sha256_hex, const char *qr, struct oc_err *err);
/* The same with the QR payloads read from it (text without NULs; at
 * most 4 are kept, each cut to 127 bytes), stored in the same statement:
 * payloads NULL stores none known (scan_qr_known false), n_payloads 0
 * with payloads non-NULL a scan without QR codes. */
int oc_hall_app_put_scan2(struct oc_hall_store *st, long long id, const unsigned char *jpeg,
	size_t len, const char *sha256_hex, const char *qr, const char *const *payloads,
	size_t n_payloads, struct oc_err *err);
/* The scan into out (allocated with malloc; caller frees).  OC_ENOTFOUND
 * without a scan. */
int oc_hall_app_get_scan(struct oc_hall_store *st, long long id, unsigned char **out,
	size_t *len, struct oc_err *err);
/* draft → submitted (company none → main_pending for main_open). */
int oc_hall_app_submit(struct oc_hall_store *st, long long id, time_t now, time_t deadline,
	const char *qr, struct oc_err *err);
/* 保存提交: the form (form_json; NULL keeps the stored one) saved and the
 * application submitted in one transaction — a refused or failed
 * submission leaves the draft's fields as they were. */
int oc_hall_app_submit_form(struct oc_hall_store *st, long long id, const char *form_json,
	time_t now, time_t deadline, const char *qr, struct oc_err *err);
/* Bounds on a company's matter applications (hall.matter_draft_max,
 * hall.matter_daily_max in docs/config.md); 0: no bound.  Only the
 * applications of the company's active certificates count: suspending or
 * removing a sub certificate that filled the company's bound frees it. */
struct oc_hall_matter_bounds {
	long draft_max;             /* unsubmitted drafts at once */
	long daily_max;             /* created in the last 24 hours */
};
/* Which bound oc_hall_matter_app_create met. */
struct oc_hall_matter_refusal {
	char which[8];              /* "draft" or "daily"; "" when none */
	long limit;
	time_t retry_at;            /* daily: when one more may be created */
};
/* oc_hall_app_create for a matter application, with the company's bounds
 * counted in the same transaction, so that racing requests cannot pass
 * them together.  OC_ECONFLICT with *ref filled (nothing stored) when a
 * bound is met. */
int oc_hall_matter_app_create(struct oc_hall_store *st, struct oc_hall_application *app,
	const struct oc_hall_matter_bounds *b, time_t now, struct oc_hall_matter_refusal *ref,
	struct oc_err *err);
/* draft|submitted → withdrawn (company back to none). */
int oc_hall_app_withdraw(struct oc_hall_store *st, long long id, time_t now,
	struct oc_err *err);
/* submitted → approved or rejected (with a reason).  main_open approved:
 * company main_active, main_account_id = the applicant, its role "main";
 * rejected: company back to none.  main_update approved: the applicant
 * becomes the main certificate (role main, status active), the old main
 * account is retired (role "", status retired) and its sessions end — all
 * in the same transaction; *retired_serial (may be NULL, cap 43) gets the
 * old main's serial.  matter: no company change.  OC_ECONFLICT when it is
 * not submitted (already decided, withdrawn), or (main_update) when the
 * company's main certificate changed since the application was made. */
int oc_hall_app_decide(struct oc_hall_store *st, long long id, bool approve,
	const char *by_serial, const char *reason, time_t now, struct oc_err *err);
/* The same, telling which main certificate was retired (main_update). */
int oc_hall_app_decide2(struct oc_hall_store *st, long long id, bool approve,
	const char *by_serial, const char *reason, time_t now, char *retired_serial,
	struct oc_err *err);
/* Applications of a company (kind NULL = all kinds; matter NULL = all),
 * newest first, at most limit (≤ 0: all). */
int oc_hall_app_list_company(struct oc_hall_store *st, long long company_id,
	const char *kind, const char *matter, int limit,
	int (*fn)(const struct oc_hall_application *app, void *arg), void *arg,
	struct oc_err *err);
/* Applications in a state, ordered by deadline then id; fn returns non-zero
 * to stop.  limit ≤ 0: all. */
int oc_hall_app_list(struct oc_hall_store *st, const char *state, int limit,
	int (*fn)(const struct oc_hall_application *app, void *arg), void *arg,
	struct oc_err *err);
/* The signed main-certificate update (hall_update_sqlite.c): app
 * (company_id, account_id = the new certificate, form naming old_serial)
 * is recorded as a main_update approved by by_serial at now, and — in the
 * same transaction, as oc_hall_app_decide2 approving a main_update — the
 * old main is retired and its sessions end, the applicant becomes the
 * main.  The applicant's own open update application is withdrawn
 * (*withdrawn_id, may be NULL: its id or 0).  app is filled with the row
 * written.  OC_ECONFLICT, nothing changed, when old_serial is not (or no
 * longer) the company's main certificate. */
int oc_hall_app_update_signed(struct oc_hall_store *st, struct oc_hall_application *app,
	const char *by_serial, time_t now, long long *withdrawn_id, char *retired_serial,
	struct oc_err *err);

/* --- sub certificates and grants (issue 6) ---------------------------- */

/* The accounts of a company (every certificate that logged in), oldest
 * first. */
int oc_hall_account_list(struct oc_hall_store *st, long long company_id,
	int (*fn)(const struct oc_hall_account *a, void *arg), void *arg, struct oc_err *err);
/* Move an account: only from one of the states in from_csv (e.g.
 * "active,suspended") and, when role_from_csv is not NULL, one of those
 * roles ("" matches the empty role); sets status, role (NULL: kept),
 * decided_by, reason (NULL: kept).  OC_ECONFLICT when the account is not
 * in such a state (nothing changed). */
int oc_hall_account_move(struct oc_hall_store *st, long long id, long long company_id,
	const char *from_csv, const char *role_from_csv, const char *status, const char *role,
	const char *by_serial, const char *reason, struct oc_err *err);
/* oc_hall_account_move and, in the same transaction, the account's grants
 * replaced by codes[0..n) (n = 0: none left): approving a sub certificate
 * with its matters, changing them (a move to the same state, as a
 * compare-and-set on the standing), removing one.  Both or neither:
 * OC_ECONFLICT when the move's condition fails, the store's error when the
 * grants cannot be written, and then nothing changed. */
int oc_hall_account_move_grants(struct oc_hall_store *st, long long id, long long company_id,
	const char *from_csv, const char *role_from_csv, const char *status, const char *role,
	const char *by_serial, const char *reason, const char *const *codes, size_t n,
	struct oc_err *err);
/* A sub certificate the company suspended or removed loses what it had in
 * flight that it can no longer be trusted with: its open 主数字证书更新
 * application (whatever its state: approving it would hand the company to
 * a certificate the company has just distrusted, and it holds the
 * company's one update slot) and, when removed, its matter drafts (which
 * nobody else may finish or withdraw).  Submitted matter applications stay
 * with the reviewers: they were filed while the certificate was trusted.
 * Call inside the transaction of the move; *n gets how many were
 * withdrawn, and *submitted_update (when not NULL) the id of the update
 * withdrawn after it was submitted — its contact was told to wait for a
 * review that will not come — or 0. */
int oc_hall_account_withdraw_open(struct oc_hall_store *st, long long account_id,
	bool removed, time_t now, int *n, long long *submitted_update, struct oc_err *err);
/* The sub request (状态 pending) with holder, mobile and note. */
int oc_hall_account_request_sub(struct oc_hall_store *st, long long id, const char *holder,
	const char *mobile, const char *note, time_t now, struct oc_err *err);
/* 设置持证人. */
int oc_hall_account_set_holder(struct oc_hall_store *st, long long id, const char *name,
	const char *mobile, struct oc_err *err);

/* Grants: which matters (事项, by code) a sub certificate may do. */
int oc_hall_grants_set(struct oc_hall_store *st, long long account_id,
	const char *const *codes, size_t n, const char *by_serial, struct oc_err *err);
/* fn once per granted code, sorted. */
int oc_hall_grants_list(struct oc_hall_store *st, long long account_id,
	int (*fn)(const char *code, void *arg), void *arg, struct oc_err *err);
/* 0 when granted, OC_ENOTFOUND when not. */
int oc_hall_grant_has(struct oc_hall_store *st, long long account_id, const char *code,
	struct oc_err *err);

/* --- attachments of matter applications (issue 6) --------------------- */
struct oc_hall_attachment {
	long long app_id;
	char name[64];              /* the catalogue's attachment name */
	char content_type[32];      /* image/jpeg, application/pdf */
	size_t size;
	char sha256[65];
	time_t uploaded_at;
};
/* Drafts only: store (or replace) an attachment. */
int oc_hall_attachment_put(struct oc_hall_store *st, const struct oc_hall_attachment *a,
	const unsigned char *data, struct oc_err *err);
int oc_hall_attachment_list(struct oc_hall_store *st, long long app_id,
	int (*fn)(const struct oc_hall_attachment *a, void *arg), void *arg, struct oc_err *err);
/* The bytes (malloc'd) of one attachment; OC_ENOTFOUND. */
int oc_hall_attachment_get(struct oc_hall_store *st, long long app_id, const char *name,
	struct oc_hall_attachment *meta, unsigned char **data, struct oc_err *err);

/* --- registration ---------------------------------------------------- */

/* main_active → registered, only for the company's main account; the
 * profile (JSON object) stored.  OC_ECONFLICT otherwise. */
int oc_hall_company_register(struct oc_hall_store *st, long long company_id,
	long long account_id, const char *profile_json, time_t now, struct oc_err *err);

/* SMS verification codes, one live code per account, stored as a hash. */
struct oc_hall_sms_code {
	long long account_id;
	char mobile[16];
	char code_hash[65];
	time_t sent_at, expires_at;
	int tries;
};
/* Replace the account's code (tries reset). */
int oc_hall_sms_code_put(struct oc_hall_store *st, const struct oc_hall_sms_code *c,
	struct oc_err *err);
int oc_hall_sms_code_get(struct oc_hall_store *st, long long account_id,
	struct oc_hall_sms_code *out, struct oc_err *err);
/* Count one wrong try; *tries gets the count after it. */
int oc_hall_sms_code_fail(struct oc_hall_store *st, long long account_id, int *tries,
	struct oc_err *err);
int oc_hall_sms_code_delete(struct oc_hall_store *st, long long account_id,
	struct oc_err *err);

/* --- outbox and mobile segments (hall_notify_sqlite.c) ---------------- */

struct oc_hall_sms {
	long long id;
	time_t ts;
	char to[16];
	char text[1024];
	char purpose[48];
	char via[16];               /* outbox, kannel */
	char status[16];            /* stored, sent, failed */
	char answer[256];           /* the gateway's answer */
};
int oc_hall_outbox_put(struct oc_hall_store *st, struct oc_hall_sms *m, struct oc_err *err);
/* Messages with id > after_id (to: one number or NULL for all), oldest
 * first, at most limit (≤ 0: all). */
int oc_hall_outbox_list(struct oc_hall_store *st, const char *to, long long after_id,
	int limit, int (*fn)(const struct oc_hall_sms *m, void *arg), void *arg,
	struct oc_err *err);
/* Segments: n prefixes (7 digits) and their cities, in one transaction;
 * replace drops the old table first. */
int oc_hall_segments_put(struct oc_hall_store *st, const char *const *prefixes,
	const char *const *cities, size_t n, bool replace, struct oc_err *err);
/* The city of a 7-digit prefix, or OC_ENOTFOUND. */
int oc_hall_segment_city(struct oc_hall_store *st, const char *prefix7, char *city,
	size_t cap, struct oc_err *err);

int oc_hall_audit(struct oc_hall_store *st, const char *actor, const char *source,
	const char *action, const char *object, const char *detail_json,
	struct oc_err *err);

#endif
