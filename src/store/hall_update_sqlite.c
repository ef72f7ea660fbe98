/*
 * hall_update_sqlite.c — the signed main-certificate update (主数字证书更新
 * by the old key, issue 6) in the hall's SQLite database.
 *
 * The hall has already checked what makes it safe (the old certificate
 * valid and not revoked, its key's signature, the CA's word that the new
 * certificate renews it on the same medium); what is left is the same
 * change as a reviewer's approval of a main_update application
 * (hall_apps_sqlite.c, oc_hall_app_decide2), without the review: the
 * application is written already approved, the old main is retired and
 * its sessions end, the applicant becomes the main — in one transaction
 * whose statements name the state they start from, so that a racing
 * decision or a second signed update changes nothing (OC_ECONFLICT).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/hall_sqlite_int.h"

/* Run a statement that returns no rows; with want_change exactly one row
 * must change (else OC_ECONFLICT with msg). */
static int
run(struct oc_hall_store *st, sqlite3_stmt *s, bool want_change, const char *what,
    const char *msg, struct oc_err *err)
{
	int rc = 0;

	if (s == NULL)
		return OC_ESTORE;
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = hs_dberr(st, err, what);
	else if (want_change && sqlite3_changes(st->db) != 1)
		rc = oc_err_set(err, OC_ECONFLICT, "%s", msg);
	sqlite3_finalize(s);
	return rc;
}

/* The applicant's own open update application (if any) is withdrawn:
 * the signed update supersedes it.  *id gets its id, 0 for none. */
static int
withdraw_own(struct oc_hall_store *st, const struct oc_hall_application *app, time_t now,
    long long *id, struct oc_err *err)
{
	sqlite3_stmt *s = hs_prep(st, "UPDATE applications SET state = 'withdrawn', updated_at = ?3"
	    " WHERE company_id = ?1 AND account_id = ?2 AND kind = 'main_update'"
	    " AND state IN ('draft','submitted') RETURNING id", err);
	int rc;

	*id = 0;
	if (s == NULL)
		return OC_ESTORE;
	sqlite3_bind_int64(s, 1, app->company_id);
	sqlite3_bind_int64(s, 2, app->account_id);
	sqlite3_bind_int64(s, 3, now);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		*id = sqlite3_column_int64(s, 0);
	rc = rc == SQLITE_DONE ? 0 : hs_dberr(st, err, "withdrawing the open update");
	sqlite3_finalize(s);
	return rc;
}

static int
insert_approved(struct oc_hall_store *st, const struct oc_hall_application *app,
    const char *by_serial, time_t now, long long *id, struct oc_err *err)
{
	sqlite3_stmt *s = hs_prep(st, "INSERT INTO applications (company_id, account_id, kind,"
	    " state, form, form_digest, qr, created_at, updated_at, submitted_at, deadline,"
	    " decided_at, decided_by, reason, matter) VALUES (?1, ?2, 'main_update', 'approved',"
	    " ?3, '', 'none', ?4, ?4, ?4, 0, ?4, ?5, '', '')", err);
	int rc;

	if (s == NULL)
		return OC_ESTORE;
	sqlite3_bind_int64(s, 1, app->company_id);
	sqlite3_bind_int64(s, 2, app->account_id);
	hs_bt(s, 3, app->form);
	sqlite3_bind_int64(s, 4, now);
	hs_bt(s, 5, by_serial);
	rc = sqlite3_step(s) == SQLITE_DONE ? 0 : hs_dberr(st, err, "recording the update");
	sqlite3_finalize(s);
	*id = sqlite3_last_insert_rowid(st->db);
	return rc;
}

/* The same swap as a reviewer's approval: the main named by the form's
 * old_serial (still the main of a company that has one) is retired, its
 * sessions end, the applicant becomes the main. */
static int
swap(struct oc_hall_store *st, const struct oc_hall_application *app, char retired[43],
    struct oc_err *err)
{
	const char *conflict = "企业的主数字证书已变化，此更新不再适用 / the company's main"
	    " certificate is no longer the one this update replaces";
	sqlite3_stmt *s;
	int rc;

	if ((rc = hs_new_main_allowed(st, app->account_id, err)) != 0)
		return rc;
	s = hs_prep(st, RETIRE_MAIN_SET
	    " WHERE id = (SELECT main_account_id FROM companies WHERE id = ?1"
	    " AND state IN ('main_active','registered'))"
	    " AND company_id = ?1 AND serial = json_extract(?2, '$.old_serial')"
	    " AND id <> ?3 AND status <> 'retired' RETURNING serial", err);
	if (s == NULL)
		return OC_ESTORE;
	sqlite3_bind_int64(s, 1, app->company_id);
	hs_bt(s, 2, app->form);
	sqlite3_bind_int64(s, 3, app->account_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		hs_col(s, 0, retired, 43);
		rc = sqlite3_step(s) == SQLITE_DONE ? 0 : hs_dberr(st, err, "retiring the main certificate");
	} else {
		rc = rc == SQLITE_DONE ? oc_err_set(err, OC_ECONFLICT, "%s", conflict) :
		    hs_dberr(st, err, "retiring the main certificate");
	}
	sqlite3_finalize(s);
	if (rc != 0)
		return rc;
	s = hs_prep(st, "DELETE FROM sessions WHERE serial = ?1", err);
	if (s != NULL)
		hs_bt(s, 1, retired);
	if ((rc = run(st, s, false, "ending sessions", NULL, err)) != 0)
		return rc;
	s = hs_prep(st, "UPDATE accounts SET role = 'main', status = 'active'"
	    " WHERE id = ?1 AND company_id = ?2 AND status <> 'retired'", err);
	if (s != NULL) {
		sqlite3_bind_int64(s, 1, app->account_id);
		sqlite3_bind_int64(s, 2, app->company_id);
	}
	if ((rc = run(st, s, true, "setting the new main certificate", conflict, err)) != 0)
		return rc;
	s = hs_prep(st, "UPDATE companies SET main_account_id = ?2 WHERE id = ?1", err);
	if (s != NULL) {
		sqlite3_bind_int64(s, 1, app->company_id);
		sqlite3_bind_int64(s, 2, app->account_id);
	}
	return run(st, s, true, "setting the new main certificate", conflict, err);
}

int
oc_hall_app_update_signed(struct oc_hall_store *st, struct oc_hall_application *app,
    const char *by_serial, time_t now, long long *withdrawn_id, char *retired_serial,
    struct oc_err *err)
{
	char retired[43] = "";
	long long id = 0, wid = 0;
	int rc;

	if ((rc = hs_exec(st, "BEGIN IMMEDIATE", err)) != 0)
		return rc;
	rc = withdraw_own(st, app, now, &wid, err);
	if (rc == 0)
		rc = insert_approved(st, app, by_serial, now, &id, err);
	if (rc == 0)
		rc = swap(st, app, retired, err);
	if (rc != 0) {
		hs_exec(st, "ROLLBACK", NULL);
		return rc;
	}
	if (hs_exec(st, "COMMIT", err) != 0) {
		hs_exec(st, "ROLLBACK", NULL);
		return OC_ESTORE;
	}
	if (withdrawn_id != NULL)
		*withdrawn_id = wid;
	if (retired_serial != NULL)
		snprintf(retired_serial, 43, "%s", retired);
	return oc_hall_app_get(st, id, app, err);
}
