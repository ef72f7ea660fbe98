/*
 * store.h — the CA's database, behind a table of functions so that the
 * SQLite backend (src/store/sqlite.c, the default) and a PostgreSQL
 * backend (src/store/pg.c, later) implement the same calls and callers
 * never see SQL.
 *
 * Every state change is one conditional statement ("revoke if still
 * valid", "approve if still pending"), so that two operators racing each
 * other get one success and one OC_ECONFLICT, never a double transition.
 * Records use fixed-size fields sized for their content; values that do
 * not fit are refused with OC_EINVAL, never truncated.
 *
 * A store handle is used by one thread at a time; open one per thread.
 */
#ifndef ONECERT_STORE_H
#define ONECERT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include "onecert/error.h"

struct oc_company {
	long long id;
	char uscc[19];          /* 18-char USCC, or "" for an old record */
	char orgcode[10];       /* 9-char organization code (always set) */
	char name[256];         /* registered name, UTF-8 */
	char st[64], l[64];     /* province, city */
	char legal_rep[128];
	char contact[128];
	char phone[32];
	char ic_reg_no[32], tax_no[32], insurance_no[32];
	time_t created_at, updated_at;
};

enum oc_enroll_kind { OC_ENROLL_APPLY = 1, OC_ENROLL_RENEW, OC_ENROLL_CHANGE, OC_ENROLL_REISSUE };
enum oc_enroll_status { OC_ENR_PENDING = 1, OC_ENR_APPROVED, OC_ENR_REJECTED, OC_ENR_ISSUED };

struct oc_enrollment {
	long long id;
	long long company_id;          /* 0 for a personal certificate */
	enum oc_enroll_kind kind;
	enum oc_enroll_status status;
	char profile[16];              /* "enterprise", "personal" */
	char person_name[128];         /* personal: the holder's name */
	char identity_code[32];        /* personal: resident ID number */
	char materials[2048];          /* JSON checklist the operator saw */
	char old_serial[43];           /* renew/change/reissue: the old cert */
	char medium[17];               /* target USB key, if known */
	char operator_[64];            /* who enrolled */
	char decided_by[64];
	char note[512];                /* reject reason / remarks */
	char serial[43];               /* issued certificate */
	time_t created_at, decided_at;
};

enum oc_cert_status { OC_CERT_VALID = 1, OC_CERT_REVOKED };

struct oc_cert_rec {
	char serial[43];               /* canonical upper-case hex */
	char uid[32];                  /* 证书唯一标识 ("" for CA/service certs) */
	char ca[16];                   /* which key signed it: "root", "issuing" */
	char profile[16];
	enum oc_cert_status status;
	long long company_id;
	long long enrollment_id;
	char medium[17];
	char subject_cn[256];
	char org_code[20];             /* the .4 value as issued */
	time_t not_before, not_after, issued_at;
	time_t revoked_at;             /* 0 when valid */
	int reason;                    /* RFC 5280 code, -1 when valid */
	char revoked_by[64];
	char replaces[43];             /* the certificate this one renews/changes */
	char replaced_by[43];
	unsigned char *der;            /* owned; free() — NULL in list callbacks
	                                  that did not ask for it */
	size_t der_len;
};

struct oc_medium {
	char serial[17];               /* 介质号 */
	char label[33];
	long long company_id;
	unsigned char escrow[512];     /* SO PIN, encrypted by the CA's escrow key */
	size_t escrow_len;
	char status[16];               /* "active", "lost", "retired" */
	time_t created_at;
};

struct oc_audit_rec {
	long long id;
	time_t ts;
	char actor[64];                /* operator / certificate / "cli:root" */
	char source[64];               /* where from: "cli", an address */
	char action[48];               /* "cert.issue", "cert.revoke", … */
	char object[96];               /* what it was done to */
	char detail[1024];             /* JSON */
	char prev_hash[65], hash[65];  /* SHA-256 chain over the log */
};

struct oc_cert_filter {
	const char *serial;
	const char *uid;
	const char *org_code;           /* USCC or organization code */
	long long company_id;           /* 0 = any */
	const char *medium;
	bool revoked_only;
	bool with_der;
	const char *ca;                 /* revoked_only: which issuer */
};

typedef int (*oc_cert_cb)(const struct oc_cert_rec *rec, void *arg);
typedef int (*oc_audit_cb)(const struct oc_audit_rec *rec, void *arg);

struct oc_store;

/* uri: "sqlite:PATH" or a plain path (SQLite, WAL, created if missing and
 * migrated to the newest schema), or "postgresql://…" (not built yet:
 * OC_EUNSUPPORTED).  Caller owns the result. */
struct oc_store *oc_store_open(const char *uri, struct oc_err *err);
void oc_store_close(struct oc_store *st);
int oc_store_schema_version(struct oc_store *st);

/* Transactions nest by counting: only the outermost commit commits.  A
 * rollback anywhere makes the outermost commit fail with OC_ECONFLICT. */
int oc_store_begin(struct oc_store *st, struct oc_err *err);
int oc_store_commit(struct oc_store *st, struct oc_err *err);
void oc_store_rollback(struct oc_store *st);
/* Inside an open transaction: a savepoint, then either released (its
 * writes stay in the transaction) or rolled back to (its writes undone,
 * and a nested rollback since the savepoint forgotten, so the transaction
 * can still commit the rest).  One level: no savepoint inside another.
 * OC_ECONFLICT when the transaction is already doomed by a rollback. */
int oc_store_savepoint(struct oc_store *st, struct oc_err *err);
int oc_store_savepoint_release(struct oc_store *st, struct oc_err *err);
int oc_store_savepoint_rollback(struct oc_store *st, struct oc_err *err);

/* Companies: insert, or update the one with the same organization code. */
int oc_store_company_put(struct oc_store *st, struct oc_company *c, struct oc_err *err);
int oc_store_company_get(struct oc_store *st, long long id, struct oc_company *out, struct oc_err *err);
/* By USCC or organization code. */
int oc_store_company_find(struct oc_store *st, const char *code, struct oc_company *out, struct oc_err *err);

int oc_store_enroll_insert(struct oc_store *st, struct oc_enrollment *e, struct oc_err *err);
int oc_store_enroll_get(struct oc_store *st, long long id, struct oc_enrollment *out, struct oc_err *err);
/* Move from `from` to `to` only if still in `from`; OC_ECONFLICT otherwise.
 * by / note / serial may be NULL (left unchanged). */
int oc_store_enroll_transition(struct oc_store *st, long long id,
	enum oc_enroll_status from, enum oc_enroll_status to, const char *by,
	const char *note, const char *serial, struct oc_err *err);

/* OC_EEXIST when the serial or the unique ID is already taken. */
int oc_store_cert_insert(struct oc_store *st, const struct oc_cert_rec *c, struct oc_err *err);
/* Caller frees out->der. */
int oc_store_cert_get(struct oc_store *st, const char *serial, struct oc_cert_rec *out, struct oc_err *err);
int oc_store_cert_list(struct oc_store *st, const struct oc_cert_filter *f,
	oc_cert_cb cb, void *arg, struct oc_err *err);
/* The certificates of `ca` ("issuing") inserted, or whose status changed,
 * after change number `after` (0: all of them), oldest change first,
 * without their DER, and in *upto the newest change number of the store
 * (0 if none), read in the same snapshot as the rows: pass it as `after`
 * next time to read only what changed since.  A certificate changed twice
 * is listed once, as it is now.  A backend numbers each insert and each
 * status change in the transaction that makes it, from one counter that
 * concurrent writers take in commit order (a counter row updated in the
 * transaction, whose lock orders them; not a sequence, which hands out
 * numbers in start order, nor a clock), so that a reader that sees change
 * N has seen every change below N.  *upto below an `after` it returned
 * before means the database was replaced (a backup restored): read
 * everything again. */
int oc_store_cert_changes(struct oc_store *st, const char *ca, long long after,
	oc_cert_cb cb, void *arg, long long *upto, struct oc_err *err);
/* valid → revoked, only if still valid (OC_ECONFLICT: already revoked). */
int oc_store_cert_revoke(struct oc_store *st, const char *serial, time_t at,
	int reason, const char *by, struct oc_err *err);
int oc_store_cert_set_replaced_by(struct oc_store *st, const char *serial,
	const char *by_serial, struct oc_err *err);

int oc_store_medium_put(struct oc_store *st, const struct oc_medium *m, struct oc_err *err);
int oc_store_medium_get(struct oc_store *st, const char *serial, struct oc_medium *out, struct oc_err *err);
int oc_store_medium_set_status(struct oc_store *st, const char *serial, const char *status, struct oc_err *err);

/* Append to the audit log, chaining the SHA-256 hash of the previous row. */
int oc_store_audit(struct oc_store *st, const char *actor, const char *source,
	const char *action, const char *object, const char *detail_json,
	struct oc_err *err);
int oc_store_audit_list(struct oc_store *st, long long after_id, oc_audit_cb cb,
	void *arg, struct oc_err *err);
/* Recompute the chain; OC_ECONFLICT naming the first bad row. */
int oc_store_audit_verify(struct oc_store *st, long long *rows, struct oc_err *err);

/* RA operators, by the serial of their personal certificate. */
int oc_store_operator_grant(struct oc_store *st, const char *serial,
	const char *name, const char *by, struct oc_err *err);
/* OC_ENOTFOUND if the serial holds no active grant. */
int oc_store_operator_revoke(struct oc_store *st, const char *serial,
	const char *by, struct oc_err *err);
/* 0 if serial is an active operator (name copied to name[cap]),
 * OC_EPERM if not. */
int oc_store_operator_check(struct oc_store *st, const char *serial,
	char *name, size_t cap, struct oc_err *err);

/* A number that changes, in the transaction of the change, whenever
 * oc_store_operator_check or a certificate's status, DER or profile could
 * read differently (any write to the operators, a status change, a
 * certificate altered or deleted; not a new certificate), by any writer
 * of the database: a caller may keep a successful operator check while
 * this stays the same, and must read it before the check it keeps. */
int oc_store_auth_version(struct oc_store *st, long long *out, struct oc_err *err);

/* 应用开通 / 应用注销: the relying applications a certificate is opened for. */
struct oc_app_rec {
	char serial[43];
	char app[64];
	bool open;
	char opened_by[64], closed_by[64];
	time_t opened_at, closed_at;
};
typedef int (*oc_app_cb)(const struct oc_app_rec *rec, void *arg);
/* OC_ECONFLICT if already open. */
int oc_store_app_open(struct oc_store *st, const char *serial, const char *app,
	const char *by, struct oc_err *err);
/* OC_ECONFLICT if not open. */
int oc_store_app_close(struct oc_store *st, const char *serial, const char *app,
	const char *by, struct oc_err *err);
int oc_store_app_list(struct oc_store *st, const char *serial, oc_app_cb cb,
	void *arg, struct oc_err *err);

/* Monotonic named counters (CRL numbers). */
int oc_store_counter_next(struct oc_store *st, const char *name, long long *out, struct oc_err *err);

const char *oc_enroll_kind_name(enum oc_enroll_kind k);
const char *oc_enroll_status_name(enum oc_enroll_status s);
const char *oc_cert_status_name(enum oc_cert_status s);

#endif
