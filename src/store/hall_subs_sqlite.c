/*
 * hall_subs_sqlite.c — a company's certificates and what each may do, in
 * the hall's SQLite database: accounts' standing (sub requests, 证书管理员 /
 * 办事员, suspension, removal, retirement), holders (持证人), grants of
 * matters (事项) and the attachments of matter applications.
 *
 * Moves are conditional updates: the caller names the states (and roles)
 * the account may be in, so a request that raced another one changes
 * nothing and gets OC_ECONFLICT.  A move that changes what the account may
 * do (approval with matters, new matters, removal) writes the grants in
 * the same transaction (oc_hall_account_move_grants): "active with these
 * matters" and "removed, no grants" are never seen half done.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/hall_sqlite_int.h"

static int
step_done(struct oc_hall_store *st, sqlite3_stmt *s, bool want_change, const char *what,
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

int
oc_hall_account_list(struct oc_hall_store *st, long long company_id,
    int (*fn)(const struct oc_hall_account *a, void *arg), void *arg, struct oc_err *err)
{
	sqlite3_stmt *s = hs_prep(st, "SELECT " ACCOUNT_COLS " FROM accounts WHERE company_id = ?1"
	    " AND kind = 'enterprise' ORDER BY id", err);
	struct oc_hall_account *a;
	int rc;

	if (s == NULL)
		return OC_ESTORE;
	if ((a = malloc(sizeof(*a))) == NULL) {
		sqlite3_finalize(s);
		return oc_err_set(err, OC_ENOMEM, "out of memory");
	}
	sqlite3_bind_int64(s, 1, company_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		hs_account_row(s, a);
		if (fn(a, arg) != 0)
			break;
	}
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : hs_dberr(st, err, "listing certificates");
	free(a);
	sqlite3_finalize(s);
	return rc;
}

/* ',' + csv + ',' contains ',' + v + ',' — done in SQL with instr(). */
int
oc_hall_account_move(struct oc_hall_store *st, long long id, long long company_id,
    const char *from_csv, const char *role_from_csv, const char *status, const char *role,
    const char *by_serial, const char *reason, struct oc_err *err)
{
	/* removed_at: set by a removal, kept while the certificate asks again,
	 * cleared when it is approved (pending → active) */
	sqlite3_stmt *s = hs_prep(st, "UPDATE accounts SET status = ?4,"
	    " role = COALESCE(?5, role), decided_by = ?6, reason = COALESCE(?7, reason),"
	    " removed_at = CASE ?4 WHEN 'removed' THEN CAST(strftime('%s','now') AS INTEGER)"
	    " WHEN 'active' THEN 0 ELSE removed_at END"
	    " WHERE id = ?1 AND company_id = ?2 AND kind = 'enterprise'"
	    " AND instr(',' || ?3 || ',', ',' || status || ',') > 0"
	    " AND (?8 IS NULL OR instr(',' || ?8 || ',', ',' || role || ',') > 0)", err);

	if (s != NULL) {
		sqlite3_bind_int64(s, 1, id);
		sqlite3_bind_int64(s, 2, company_id);
		hs_bt(s, 3, from_csv);
		hs_bt(s, 4, status);
		if (role != NULL)
			hs_bt(s, 5, role);
		hs_bt(s, 6, by_serial);
		if (reason != NULL)
			hs_bt(s, 7, reason);
		if (role_from_csv != NULL)
			hs_bt(s, 8, role_from_csv);
	}
	return step_done(st, s, true, "changing the certificate's standing",
	    "该证书的状态已变化，请刷新后重试 / the certificate's standing does not allow this"
	    " (it changed meanwhile?)", err);
}

int
oc_hall_account_move_grants(struct oc_hall_store *st, long long id, long long company_id,
    const char *from_csv, const char *role_from_csv, const char *status, const char *role,
    const char *by_serial, const char *reason, const char *const *codes, size_t n,
    struct oc_err *err)
{
	int rc;

	/* a savepoint, not BEGIN: it is the transaction when there is none,
	 * and nests in a caller's (oc_hall_begin).  Its first statement is
	 * the move's UPDATE, so the write lock is taken at once and a racing
	 * move waits on the busy timeout instead of failing at the release. */
	if ((rc = hs_exec(st, "SAVEPOINT move_grants", err)) != 0)
		return rc;
	if ((rc = oc_hall_account_move(st, id, company_id, from_csv, role_from_csv, status, role,
	    by_serial, reason, err)) == 0)
		rc = oc_hall_grants_set(st, id, codes, n, by_serial, err);
	if (rc == 0 && (rc = hs_exec(st, "RELEASE move_grants", err)) == 0)
		return 0;
	hs_exec(st, "ROLLBACK TO move_grants", NULL);
	hs_exec(st, "RELEASE move_grants", NULL);
	return rc;
}

int
oc_hall_account_withdraw_open(struct oc_hall_store *st, long long account_id, bool removed,
    time_t now, int *n, long long *submitted_update, struct oc_err *err)
{
	sqlite3_stmt *s;
	int rc;

	*n = 0;
	if (submitted_update != NULL) {
		/* at most one: a company has one open update (applications_open) */
		*submitted_update = 0;
		if ((s = hs_prep(st, "SELECT id FROM applications WHERE account_id = ?1"
		    " AND kind = 'main_update' AND state = 'submitted'", err)) == NULL)
			return OC_ESTORE;
		sqlite3_bind_int64(s, 1, account_id);
		if ((rc = sqlite3_step(s)) == SQLITE_ROW)
			*submitted_update = sqlite3_column_int64(s, 0);
		else if (rc != SQLITE_DONE) {
			rc = hs_dberr(st, err, "reading the certificate's submitted update");
			sqlite3_finalize(s);
			return rc;
		}
		sqlite3_finalize(s);
	}
	if ((s = hs_prep(st, "UPDATE applications SET state = 'withdrawn', updated_at = ?2"
	    " WHERE account_id = ?1 AND ((kind = 'main_update' AND state IN ('draft','submitted'))"
	    " OR (?3 AND kind = 'matter' AND state = 'draft'))", err)) == NULL)
		return OC_ESTORE;
	sqlite3_bind_int64(s, 1, account_id);
	sqlite3_bind_int64(s, 2, now);
	sqlite3_bind_int(s, 3, removed);
	if (sqlite3_step(s) == SQLITE_DONE) {
		*n = sqlite3_changes(st->db);
		rc = 0;
	} else {
		rc = hs_dberr(st, err, "withdrawing the certificate's applications");
	}
	sqlite3_finalize(s);
	return rc;
}

int
hs_new_main_allowed(struct oc_hall_store *st, long long account_id, struct oc_err *err)
{
	sqlite3_stmt *s = hs_prep(st, "SELECT status, removed_at FROM accounts WHERE id = ?1", err);
	char status[16] = "";
	long long removed_at = 0;
	int rc;

	if (s == NULL)
		return OC_ESTORE;
	sqlite3_bind_int64(s, 1, account_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		hs_col(s, 0, status, sizeof(status));
		removed_at = sqlite3_column_int64(s, 1);
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? oc_err_set(err, OC_ENOTFOUND, "申请证书不存在 / no such"
		    " certificate") : hs_dberr(st, err, "reading the applying certificate");
	}
	sqlite3_finalize(s);
	if (rc == 0 && strcmp(status, "suspended") == 0)
		rc = oc_err_set(err, OC_ECONFLICT, "申请证书已被企业暂停使用，不能成为主数字证书"
		    " / the applying certificate was suspended by the company");
	else if (rc == 0 && (strcmp(status, "removed") == 0 || removed_at != 0))
		rc = oc_err_set(err, OC_ECONFLICT, "申请证书已被企业删除，不能成为主数字证书"
		    " / the applying certificate was removed by the company");
	return rc;
}

int
oc_hall_account_request_sub(struct oc_hall_store *st, long long id, const char *holder,
    const char *mobile, const char *note, time_t now, struct oc_err *err)
{
	/* a certificate without standing, or one refused or removed before,
	 * may ask (again) */
	sqlite3_stmt *s = hs_prep(st, "UPDATE accounts SET status = 'pending', role = '',"
	    " holder_name = ?2, holder_mobile = ?3, note = ?4, requested_at = ?5, reason = '',"
	    " decided_by = '' WHERE id = ?1 AND kind = 'enterprise' AND role = ''"
	    " AND status IN ('active','refused','removed')", err);

	if (s != NULL) {
		sqlite3_bind_int64(s, 1, id);
		hs_bt(s, 2, holder);
		hs_bt(s, 3, mobile);
		hs_bt(s, 4, note);
		sqlite3_bind_int64(s, 5, now);
	}
	return step_done(st, s, true, "recording the request",
	    "本证书已是本企业的主证书或副证书，或申请正在处理中 / this certificate already has"
	    " a standing in the company, or its request is pending", err);
}

int
oc_hall_account_set_holder(struct oc_hall_store *st, long long id, const char *name,
    const char *mobile, struct oc_err *err)
{
	sqlite3_stmt *s = hs_prep(st, "UPDATE accounts SET holder_name = ?2, holder_mobile = ?3"
	    " WHERE id = ?1 AND kind = 'enterprise' AND status <> 'retired'", err);

	if (s != NULL) {
		sqlite3_bind_int64(s, 1, id);
		hs_bt(s, 2, name);
		hs_bt(s, 3, mobile);
	}
	return step_done(st, s, true, "setting the holder",
	    "证书不存在或已注销 / no such certificate, or it was retired", err);
}

int
oc_hall_grants_set(struct oc_hall_store *st, long long account_id, const char *const *codes,
    size_t n, const char *by_serial, struct oc_err *err)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = hs_exec(st, "SAVEPOINT grants_set", err)) != 0)
		return rc;
	s = hs_prep(st, "DELETE FROM grants WHERE account_id = ?1", err);
	if (s != NULL)
		sqlite3_bind_int64(s, 1, account_id);
	rc = step_done(st, s, false, "replacing grants", NULL, err);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		s = hs_prep(st, "INSERT INTO grants (account_id, matter, granted_by, granted_at)"
		    " VALUES (?1, ?2, ?3, strftime('%s','now'))", err);
		if (s != NULL) {
			sqlite3_bind_int64(s, 1, account_id);
			hs_bt(s, 2, codes[i]);
			hs_bt(s, 3, by_serial);
		}
		rc = step_done(st, s, false, "granting a matter", NULL, err);
	}
	if (rc != 0) {
		hs_exec(st, "ROLLBACK TO grants_set", NULL);
		hs_exec(st, "RELEASE grants_set", NULL);
		return rc;
	}
	return hs_exec(st, "RELEASE grants_set", err);
}

int
oc_hall_grants_list(struct oc_hall_store *st, long long account_id,
    int (*fn)(const char *code, void *arg), void *arg, struct oc_err *err)
{
	sqlite3_stmt *s = hs_prep(st, "SELECT matter FROM grants WHERE account_id = ?1"
	    " ORDER BY matter", err);
	char code[64];
	int rc;

	if (s == NULL)
		return OC_ESTORE;
	sqlite3_bind_int64(s, 1, account_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		hs_col(s, 0, code, sizeof(code));
		if (fn(code, arg) != 0)
			break;
	}
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : hs_dberr(st, err, "listing grants");
	sqlite3_finalize(s);
	return rc;
}

int
oc_hall_grant_has(struct oc_hall_store *st, long long account_id, const char *code,
    struct oc_err *err)
{
	sqlite3_stmt *s = hs_prep(st, "SELECT 1 FROM grants WHERE account_id = ?1 AND matter = ?2",
	    err);
	int rc;

	if (s == NULL)
		return OC_ESTORE;
	sqlite3_bind_int64(s, 1, account_id);
	hs_bt(s, 2, code);
	rc = sqlite3_step(s);
	rc = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ?
	    oc_err_set(err, OC_ENOTFOUND, "not granted") : hs_dberr(st, err, "reading grants");
	sqlite3_finalize(s);
	return rc;
}

int
oc_hall_attachment_put(struct oc_hall_store *st, const struct oc_hall_attachment *a,
    const unsigned char *data, struct oc_err *err)
{
	/* only while the application is a draft: checked in the same statement */
	sqlite3_stmt *s = hs_prep(st, "INSERT OR REPLACE INTO attachments (app_id, name,"
	    " content_type, data, size, sha256, uploaded_at)"
	    " SELECT ?1, ?2, ?3, ?4, ?5, ?6, strftime('%s','now') FROM applications"
	    " WHERE id = ?1 AND state = 'draft'", err);

	if (s != NULL) {
		sqlite3_bind_int64(s, 1, a->app_id);
		hs_bt(s, 2, a->name);
		hs_bt(s, 3, a->content_type);
		sqlite3_bind_blob64(s, 4, data, a->size, SQLITE_STATIC);
		sqlite3_bind_int64(s, 5, (sqlite3_int64)a->size);
		hs_bt(s, 6, a->sha256);
	}
	return step_done(st, s, true, "saving the attachment",
	    "申请已提交或已处理，不能更换附件 / only a draft's attachments can be changed", err);
}

static void
attachment_row(sqlite3_stmt *s, struct oc_hall_attachment *a)
{
	memset(a, 0, sizeof(*a));
	a->app_id = sqlite3_column_int64(s, 0);
	hs_col(s, 1, a->name, sizeof(a->name));
	hs_col(s, 2, a->content_type, sizeof(a->content_type));
	a->size = (size_t)sqlite3_column_int64(s, 3);
	hs_col(s, 4, a->sha256, sizeof(a->sha256));
	a->uploaded_at = (time_t)sqlite3_column_int64(s, 5);
}

int
oc_hall_attachment_list(struct oc_hall_store *st, long long app_id,
    int (*fn)(const struct oc_hall_attachment *a, void *arg), void *arg, struct oc_err *err)
{
	sqlite3_stmt *s = hs_prep(st, "SELECT app_id, name, content_type, size, sha256, uploaded_at"
	    " FROM attachments WHERE app_id = ?1 ORDER BY name", err);
	struct oc_hall_attachment a;
	int rc;

	if (s == NULL)
		return OC_ESTORE;
	sqlite3_bind_int64(s, 1, app_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		attachment_row(s, &a);
		if (fn(&a, arg) != 0)
			break;
	}
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : hs_dberr(st, err, "listing attachments");
	sqlite3_finalize(s);
	return rc;
}

int
oc_hall_attachment_get(struct oc_hall_store *st, long long app_id, const char *name,
    struct oc_hall_attachment *meta, unsigned char **data, struct oc_err *err)
{
	sqlite3_stmt *s = hs_prep(st, "SELECT app_id, name, content_type, size, sha256, uploaded_at,"
	    " data FROM attachments WHERE app_id = ?1 AND name = ?2", err);
	int rc;

	*data = NULL;
	if (s == NULL)
		return OC_ESTORE;
	sqlite3_bind_int64(s, 1, app_id);
	hs_bt(s, 2, name);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		int n = sqlite3_column_bytes(s, 6);

		attachment_row(s, meta);
		if ((*data = malloc(n > 0 ? (size_t)n : 1)) == NULL) {
			rc = oc_err_set(err, OC_ENOMEM, "out of memory");
		} else {
			if (n > 0)
				memcpy(*data, sqlite3_column_blob(s, 6), (size_t)n);
			meta->size = (size_t)n;
			rc = 0;
		}
	} else if (rc == SQLITE_DONE) {
		rc = oc_err_set(err, OC_ENOTFOUND, "附件不存在 / no such attachment");
	} else {
		rc = hs_dberr(st, err, "reading the attachment");
	}
	sqlite3_finalize(s);
	return rc;
}
