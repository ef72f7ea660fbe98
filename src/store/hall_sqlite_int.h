/*
 * hall_sqlite_int.h — what the files of the hall's SQLite store share:
 * the handle and small statement helpers (hall_sqlite.c defines them).
 *
 * A handle belongs to one thread at a time (the hall opens one per worker
 * thread and one per event loop), so its statement cache needs no lock.
 * hall_sqlite.c holds the schema and the login/session half,
 * hall_apps_sqlite.c applications, registration and SMS codes,
 * hall_notify_sqlite.c the outbox and the mobile segment table.
 */
#ifndef ONECERT_HALL_SQLITE_INT_H
#define ONECERT_HALL_SQLITE_INT_H

#include <stdbool.h>
#include <sqlite3.h>

#include "onecert/hall_store.h"

#define HS_CACHE 64

struct oc_hall_store {
	sqlite3 *db;
	/* Prepared statements kept for the life of the handle, keyed by the
	 * address of their SQL text (hs_stmt). */
	struct {
		const char *sql;
		sqlite3_stmt *stmt;
		bool busy;               /* handed out, not yet hs_done */
	} cache[HS_CACHE];
	int ncache;
	/* The commits of every handle on this database file, for group
	 * commit (hall_sqlite.c, oc_hall_commit); NULL: not in WAL mode. */
	struct hs_group *group;
	bool at_normal;              /* PRAGMA synchronous = NORMAL is in force */
	bool gated;                  /* in the group's writer gate (oc_hall_begin) */
	unsigned long long serial;   /* this handle's number in the process */
};

/* Fill err from the connection's last error: OC_EEXIST for a unique or
 * primary-key violation, OC_EINVAL for another constraint, else
 * OC_ESTORE.  Returns the code. */
int hs_dberr(struct oc_hall_store *st, struct oc_err *err, const char *what);
int hs_exec(struct oc_hall_store *st, const char *sql, struct oc_err *err);
sqlite3_stmt *hs_prep(struct oc_hall_store *st, const char *sql, struct oc_err *err);
/* A statement for sql from the handle's cache (prepared the first time),
 * or NULL with err set.  sql must be a string literal: its address is the
 * key.  Give it back with hs_done, which resets it and clears its
 * bindings; a statement asked for again while it is still out (a callback
 * of a listing that reads the same query) is prepared afresh and
 * finalized by hs_done. */
sqlite3_stmt *hs_stmt(struct oc_hall_store *st, const char *sql, struct oc_err *err);
/* Give back a statement from hs_stmt (reset) or hs_prep (finalized);
 * NULL is fine. */
void hs_done(struct oc_hall_store *st, sqlite3_stmt *s);
/* hs_exec for one statement without a result, through the cache. */
int hs_run(struct oc_hall_store *st, const char *sql, struct oc_err *err);
void hs_bt(sqlite3_stmt *s, int i, const char *v);            /* NULL binds '' */
void hs_col(sqlite3_stmt *s, int i, char *dst, size_t cap);  /* NULL reads '' */

/* The columns hs_account_row reads, in its order. */
#define ACCOUNT_COLS "id, uid, serial, issuer, company_id, kind, role, subject_cn," \
	" not_after, first_login, last_login, status, holder_name, holder_mobile, note," \
	" requested_at, decided_by, reason, removed_at"
void hs_account_row(sqlite3_stmt *s, struct oc_hall_account *a);
/* May the account become its company's main certificate by a 主数字证书更新?
 * Not when the company suspended or removed it (OC_ECONFLICT): checked
 * again where the update is approved, whatever the handler saw. */
int hs_new_main_allowed(struct oc_hall_store *st, long long account_id, struct oc_err *err);

/* The SET of the UPDATE that retires a company's main certificate (an
 * approved or signed 主数字证书更新), with the company's id as ?1: no role,
 * status retired, and the registration's holder (证书持有人) kept on it
 * unless it had one of its own, so that 副证书管理 still names it. */
#define RETIRE_MAIN_SET "UPDATE accounts SET role = '', status = 'retired'," \
	" holder_name = CASE WHEN holder_name = '' THEN coalesce((SELECT" \
	" json_extract(profile, '$.holder') FROM companies WHERE id = ?1), '')" \
	" ELSE holder_name END, holder_mobile = CASE WHEN holder_name = '' THEN" \
	" coalesce((SELECT json_extract(profile, '$.holder_mobile') FROM companies" \
	" WHERE id = ?1), '') ELSE holder_mobile END"

#endif
