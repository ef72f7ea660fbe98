/*
 * hall_apps_sqlite.c — applications (开通, later 主数字证书更新), company
 * registration and SMS verification codes in the hall's SQLite database.
 *
 * Every state change is one transaction whose UPDATE names the state it
 * starts from: when two requests race (a reviewer approving while the
 * applicant withdraws, two reviewers deciding), exactly one changes a row
 * and the other gets OC_ECONFLICT with nothing written.  The company's
 * state moves in the same transaction as its application.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/hall_sqlite_int.h"

#define APP_COLS "id, company_id, account_id, kind, state, form, form_digest, qr," \
	" length(scan), scan_sha256, created_at, updated_at, submitted_at, deadline," \
	" decided_at, decided_by, reason, matter, scan_qr"

/* The scan's QR payloads: each followed by a NUL; NULL when not known. */
static void
scan_qr_row(sqlite3_stmt *s, int i, struct oc_hall_application *a)
{
	const char *p = sqlite3_column_blob(s, i);
	size_t n = (size_t)sqlite3_column_bytes(s, i);
	size_t max = sizeof(a->scan_qr) / sizeof(a->scan_qr[0]);

	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return;
	a->scan_qr_known = true;
	while (n > 0 && a->n_scan_qr < max) {
		const char *nul = memchr(p, '\0', n);
		size_t len = nul != NULL ? (size_t)(nul - p) : n;
		size_t cut = len < sizeof(a->scan_qr[0]) - 1 ? len : sizeof(a->scan_qr[0]) - 1;

		memcpy(a->scan_qr[a->n_scan_qr], p, cut);
		a->scan_qr[a->n_scan_qr][cut] = '\0';
		a->n_scan_qr++;
		if (nul == NULL)
			break;
		p += len + 1;
		n -= len + 1;
	}
}

static void
app_row(sqlite3_stmt *s, struct oc_hall_application *a)
{
	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(s, 0);
	a->company_id = sqlite3_column_int64(s, 1);
	a->account_id = sqlite3_column_int64(s, 2);
	hs_col(s, 3, a->kind, sizeof(a->kind));
	hs_col(s, 4, a->state, sizeof(a->state));
	hs_col(s, 5, a->form, sizeof(a->form));
	hs_col(s, 6, a->form_digest, sizeof(a->form_digest));
	hs_col(s, 7, a->qr, sizeof(a->qr));
	a->scan_len = (size_t)sqlite3_column_int64(s, 8);
	hs_col(s, 9, a->scan_sha256, sizeof(a->scan_sha256));
	a->created_at = (time_t)sqlite3_column_int64(s, 10);
	a->updated_at = (time_t)sqlite3_column_int64(s, 11);
	a->submitted_at = (time_t)sqlite3_column_int64(s, 12);
	a->deadline = (time_t)sqlite3_column_int64(s, 13);
	a->decided_at = (time_t)sqlite3_column_int64(s, 14);
	hs_col(s, 15, a->decided_by, sizeof(a->decided_by));
	hs_col(s, 16, a->reason, sizeof(a->reason));
	hs_col(s, 17, a->matter, sizeof(a->matter));
	scan_qr_row(s, 18, a);
}

/* Run a prepared statement that returns no rows; with want_change, one
 * row must have changed (else OC_ECONFLICT with msg). */
static int
step_change(struct oc_hall_store *st, sqlite3_stmt *s, bool want_change, const char *what,
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

static int
begin(struct oc_hall_store *st, struct oc_err *err)
{
	return hs_exec(st, "BEGIN IMMEDIATE", err);
}

static int
finish(struct oc_hall_store *st, int rc, struct oc_err *err)
{
	if (rc != 0) {
		hs_exec(st, "ROLLBACK", NULL);
		return rc;
	}
	if (hs_exec(st, "COMMIT", err) != 0) {
		hs_exec(st, "ROLLBACK", NULL);
		return OC_ESTORE;
	}
	return 0;
}

int
oc_hall_app_create(struct oc_hall_store *st, struct oc_hall_application *app,
    struct oc_err *err)
{
	sqlite3_stmt *s = hs_prep(st, "INSERT INTO applications (company_id, account_id, kind,"
	    " state, form, form_digest, qr, created_at, updated_at, matter)"
	    " VALUES (?1, ?2, ?3, 'draft', ?4, ?5, 'none', ?6, ?6, ?7) RETURNING " APP_COLS, err);
	int rc = 0;

	if (s == NULL)
		return OC_ESTORE;
	sqlite3_bind_int64(s, 1, app->company_id);
	sqlite3_bind_int64(s, 2, app->account_id);
	hs_bt(s, 3, app->kind);
	hs_bt(s, 4, app->form[0] ? app->form : "{}");
	hs_bt(s, 5, app->form_digest);
	sqlite3_bind_int64(s, 6, time(NULL));
	hs_bt(s, 7, app->matter);
	if (sqlite3_step(s) == SQLITE_ROW) {
		app_row(s, app);
	} else {
		rc = hs_dberr(st, err, "saving the application");
		if (rc == OC_EEXIST)
			oc_err_set(err, OC_EEXIST,
			    "贵企业已有一份未完成的申请 / the company already has an open application");
	}
	sqlite3_finalize(s);
	return rc;
}

int
oc_hall_matter_app_create(struct oc_hall_store *st, struct oc_hall_application *app,
    const struct oc_hall_matter_bounds *b, time_t now, struct oc_hall_matter_refusal *ref,
    struct oc_err *err)
{
	/* the company's matter applications filed by its active certificates:
	 * the drafts (what nobody submits lies in the database with its
	 * attachments), and those created in the last 24 hours, withdrawn ones
	 * included (else withdrawing and starting again would have no end;
	 * what is submitted is bounded by this and decided by reviewers) */
	sqlite3_stmt *s;
	long long drafts = 0, recent = 0;
	time_t since = now - 86400;
	int rc;

	memset(ref, 0, sizeof(*ref));
	if ((rc = begin(st, err)) != 0)
		return rc;
	s = hs_prep(st, "SELECT coalesce(sum(a.state = 'draft'), 0),"
	    " coalesce(sum(a.created_at > ?2), 0) FROM applications a"
	    " JOIN accounts u ON u.id = a.account_id WHERE a.company_id = ?1 AND a.kind = 'matter'"
	    " AND u.status = 'active' AND (a.state = 'draft' OR a.created_at > ?2)", err);
	if (s == NULL)
		return finish(st, OC_ESTORE, err);
	sqlite3_bind_int64(s, 1, app->company_id);
	sqlite3_bind_int64(s, 2, since);
	if (sqlite3_step(s) == SQLITE_ROW) {
		drafts = sqlite3_column_int64(s, 0);
		recent = sqlite3_column_int64(s, 1);
	} else {
		rc = hs_dberr(st, err, "counting the company's applications");
	}
	sqlite3_finalize(s);
	if (rc != 0)
		return finish(st, rc, err);
	if (b->draft_max > 0 && drafts >= b->draft_max) {
		snprintf(ref->which, sizeof(ref->which), "draft");
		ref->limit = b->draft_max;
		return finish(st, oc_err_set(err, OC_ECONFLICT, "贵企业未提交的事项申请草稿已达%ld份，请先提交"
		    "或撤回 / the company already has %ld unsubmitted matter drafts: submit or withdraw"
		    " one first", b->draft_max, b->draft_max), err);
	}
	if (b->daily_max > 0 && recent >= b->daily_max) {
		snprintf(ref->which, sizeof(ref->which), "daily");
		ref->limit = b->daily_max;
		/* one more may be made when enough of them leave the window:
		 * the (recent - max + 1)-th oldest, 24 hours after it was made */
		ref->retry_at = now + 86400;
		s = hs_prep(st, "SELECT a.created_at FROM applications a JOIN accounts u"
		    " ON u.id = a.account_id WHERE a.company_id = ?1 AND a.kind = 'matter'"
		    " AND u.status = 'active' AND a.created_at > ?2 ORDER BY a.created_at"
		    " LIMIT 1 OFFSET ?3", err);
		if (s != NULL) {
			sqlite3_bind_int64(s, 1, app->company_id);
			sqlite3_bind_int64(s, 2, since);
			sqlite3_bind_int64(s, 3, recent - b->daily_max);
			if (sqlite3_step(s) == SQLITE_ROW)
				ref->retry_at = (time_t)sqlite3_column_int64(s, 0) + 86400;
			sqlite3_finalize(s);
		}
		return finish(st, oc_err_set(err, OC_ECONFLICT, "贵企业24小时内新建的事项申请已达%ld份，"
		    "请稍后再试 / the company started %ld matter applications in the last 24 hours: try"
		    " again later", b->daily_max, b->daily_max), err);
	}
	return finish(st, oc_hall_app_create(st, app, err), err);
}

static int
get_one(struct oc_hall_store *st, sqlite3_stmt *s, struct oc_hall_application *out,
    struct oc_err *err)
{
	int rc;

	if (s == NULL)
		return OC_ESTORE;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		app_row(s, out);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = oc_err_set(err, OC_ENOTFOUND, "申请不存在 / no such application");
	} else {
		rc = hs_dberr(st, err, "reading the application");
	}
	hs_done(st, s);             /* cached or not */
	return rc;
}

int
oc_hall_app_get(struct oc_hall_store *st, long long id, struct oc_hall_application *out,
    struct oc_err *err)
{
	sqlite3_stmt *s = hs_stmt(st, "SELECT " APP_COLS " FROM applications WHERE id = ?1", err);

	if (s != NULL)
		sqlite3_bind_int64(s, 1, id);
	return get_one(st, s, out, err);
}

int
oc_hall_app_current(struct oc_hall_store *st, long long company_id, const char *kind,
    struct oc_hall_application *out, struct oc_err *err)
{
	/* the open one, else the latest: two index look-ups rather than an
	 * ORDER BY, which builds a sorter on every call (GET /api/v1/me) */
	sqlite3_stmt *s = hs_stmt(st, "SELECT " APP_COLS " FROM applications WHERE id = coalesce("
	    "(SELECT max(id) FROM applications WHERE company_id = ?1 AND kind = ?2"
	    " AND (state = 'draft' OR state = 'submitted')),"
	    "(SELECT max(id) FROM applications WHERE company_id = ?1 AND kind = ?2))", err);

	if (s != NULL) {
		sqlite3_bind_int64(s, 1, company_id);
		hs_bt(s, 2, kind);
	}
	return get_one(st, s, out, err);
}

int
oc_hall_app_update_form(struct oc_hall_store *st, long long id, const char *form_json,
    const char *form_digest, struct oc_err *err)
{
	sqlite3_stmt *s = hs_prep(st, "UPDATE applications SET form = ?2,"
	    " form_digest = COALESCE(?3, form_digest), updated_at = ?4"
	    " WHERE id = ?1 AND state = 'draft'", err);

	if (s != NULL) {
		sqlite3_bind_int64(s, 1, id);
		hs_bt(s, 2, form_json);
		if (form_digest != NULL)
			hs_bt(s, 3, form_digest);
		else
			sqlite3_bind_null(s, 3);
		sqlite3_bind_int64(s, 4, time(NULL));
	}
	return step_change(st, s, true, "saving the form",
	    "申请已提交或已处理，不能修改 / only a draft can be changed", err);
}

int
oc_hall_app_set_digest(struct oc_hall_store *st, long long id, const char *form_digest,
    struct oc_err *err)
{
	sqlite3_stmt *s = hs_prep(st, "UPDATE applications SET form_digest = ?2"
	    " WHERE id = ?1 AND state = 'draft'", err);

	if (s != NULL) {
		sqlite3_bind_int64(s, 1, id);
		hs_bt(s, 2, form_digest);
	}
	return step_change(st, s, true, "saving the form digest",
	    "申请已提交或已处理，不能修改 / only a draft can be changed", err);
}

int
oc_hall_app_put_scan(struct oc_hall_store *st, long long id, const unsigned char *jpeg,
    size_t len, const char *sha256_hex, const char *qr, struct oc_err *err)
{
	return oc_hall_app_put_scan2(st, id, jpeg, len, sha256_hex, qr, NULL, 0, err);
}

int
oc_hall_app_put_scan2(struct oc_hall_store *st, long long id, const unsigned char *jpeg,
    size_t len, const char *sha256_hex, const char *qr, const char *const *payloads,
    size_t n_payloads, struct oc_err *err)
{
	/* 4 payloads of at most 127 bytes, each with its NUL */
	char blob[4 * 128];
	size_t blen = 0;
	sqlite3_stmt *s;

	for (size_t i = 0; payloads != NULL && i < n_payloads && i < 4; i++) {
		size_t n = strlen(payloads[i]);

		if (n > 127)
			n = 127;
		memcpy(blob + blen, payloads[i], n);
		blob[blen + n] = '\0';
		blen += n + 1;
	}
	s = hs_prep(st, "UPDATE applications SET scan = ?2, scan_sha256 = ?3,"
	    " qr = ?4, updated_at = ?5, scan_qr = ?6 WHERE id = ?1 AND state = 'draft'", err);
	if (s != NULL) {
		sqlite3_bind_int64(s, 1, id);
		sqlite3_bind_blob64(s, 2, jpeg, len, SQLITE_STATIC);
		hs_bt(s, 3, sha256_hex);
		hs_bt(s, 4, qr);
		sqlite3_bind_int64(s, 5, time(NULL));
		if (payloads == NULL)
			sqlite3_bind_null(s, 6);
		else if (blen == 0)
			sqlite3_bind_zeroblob(s, 6, 0);    /* known: no QR code */
		else
			sqlite3_bind_blob(s, 6, blob, (int)blen, SQLITE_TRANSIENT);
	}
	return step_change(st, s, true, "saving the scan",
	    "申请已提交或已处理，不能更换扫描件 / only a draft's scan can be replaced", err);
}

int
oc_hall_app_get_scan(struct oc_hall_store *st, long long id, unsigned char **out,
    size_t *len, struct oc_err *err)
{
	sqlite3_stmt *s = hs_prep(st, "SELECT scan FROM applications WHERE id = ?1"
	    " AND scan IS NOT NULL", err);
	int rc;

	*out = NULL;
	*len = 0;
	if (s == NULL)
		return OC_ESTORE;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const void *b = sqlite3_column_blob(s, 0);
		int n = sqlite3_column_bytes(s, 0);

		if (n > 0 && (*out = malloc((size_t)n)) != NULL) {
			memcpy(*out, b, (size_t)n);
			*len = (size_t)n;
			rc = 0;
		} else {
			rc = n > 0 ? oc_err_set(err, OC_ENOMEM, "out of memory") :
			    oc_err_set(err, OC_ENOTFOUND, "尚未上传扫描件 / no scan uploaded");
		}
	} else if (rc == SQLITE_DONE) {
		rc = oc_err_set(err, OC_ENOTFOUND, "尚未上传扫描件 / no scan uploaded");
	} else {
		rc = hs_dberr(st, err, "reading the scan");
	}
	sqlite3_finalize(s);
	return rc;
}

/* The company's state moves from one of `from` (a SQL list) to `to`. */
static int
company_move(struct oc_hall_store *st, long long company_id, const char *from_sql,
    const char *to, struct oc_err *err)
{
	char sql[256];
	sqlite3_stmt *s;

	snprintf(sql, sizeof(sql), "UPDATE companies SET state = ?2 WHERE id = ?1"
	    " AND state IN (%s)", from_sql);
	if ((s = hs_prep(st, sql, err)) != NULL) {
		sqlite3_bind_int64(s, 1, company_id);
		hs_bt(s, 2, to);
	}
	return step_change(st, s, true, "moving the company's state",
	    "企业状态已变化，请刷新后重试 / the company's state changed; reload and retry", err);
}

int
oc_hall_app_submit(struct oc_hall_store *st, long long id, time_t now, time_t deadline,
    const char *qr, struct oc_err *err)
{
	return oc_hall_app_submit_form(st, id, NULL, now, deadline, qr, err);
}

int
oc_hall_app_submit_form(struct oc_hall_store *st, long long id, const char *form_json,
    time_t now, time_t deadline, const char *qr, struct oc_err *err)
{
	struct oc_hall_application a;
	sqlite3_stmt *s;
	int rc;

	if ((rc = begin(st, err)) != 0)
		return rc;
	if ((rc = oc_hall_app_get(st, id, &a, err)) != 0)
		return finish(st, rc, err);
	if (strcmp(a.state, "draft") != 0)
		return finish(st, oc_err_set(err, OC_ECONFLICT,
		    "申请已提交或已处理 / the application was already submitted or decided"), err);
	/* the fields first, inside the transaction: rolled back with it */
	if (form_json != NULL &&
	    (rc = oc_hall_app_update_form(st, id, form_json, NULL, err)) != 0)
		return finish(st, rc, err);
	/* the forms of 开通 and 更新 need their signed, sealed scan; a
	 * matter's attachments are checked by its handler */
	if (a.scan_len == 0 && strcmp(a.kind, "matter") != 0)
		return finish(st, oc_err_set(err, OC_ECONFLICT,
		    "请先上传签字盖章后的申请表扫描件 / upload the signed, sealed scan first"), err);
	s = hs_prep(st, "UPDATE applications SET state = 'submitted', submitted_at = ?2,"
	    " deadline = ?3, qr = ?4, updated_at = ?2 WHERE id = ?1 AND state = 'draft'", err);
	if (s != NULL) {
		sqlite3_bind_int64(s, 1, id);
		sqlite3_bind_int64(s, 2, now);
		sqlite3_bind_int64(s, 3, deadline);
		hs_bt(s, 4, qr);
	}
	rc = step_change(st, s, true, "submitting the application",
	    "申请已提交或已处理 / the application was already submitted or decided", err);
	if (rc == 0 && strcmp(a.kind, "main_open") == 0)
		rc = company_move(st, a.company_id, "'none'", "main_pending", err);
	return finish(st, rc, err);
}

int
oc_hall_app_withdraw(struct oc_hall_store *st, long long id, time_t now, struct oc_err *err)
{
	struct oc_hall_application a;
	sqlite3_stmt *s;
	int rc;

	if ((rc = begin(st, err)) != 0)
		return rc;
	if ((rc = oc_hall_app_get(st, id, &a, err)) != 0)
		return finish(st, rc, err);
	s = hs_prep(st, "UPDATE applications SET state = 'withdrawn', updated_at = ?2"
	    " WHERE id = ?1 AND state IN ('draft','submitted')", err);
	if (s != NULL) {
		sqlite3_bind_int64(s, 1, id);
		sqlite3_bind_int64(s, 2, now);
	}
	rc = step_change(st, s, true, "withdrawing the application",
	    "申请已处理，不能撤回 / a decided application cannot be withdrawn", err);
	if (rc == 0 && strcmp(a.state, "submitted") == 0 && strcmp(a.kind, "main_open") == 0)
		rc = company_move(st, a.company_id, "'main_pending'", "none", err);
	return finish(st, rc, err);
}

/* main_update approved: the applicant replaces the main certificate named
 * in the form (old_serial), which must still be the company's main;
 * retired_serial (43 bytes) gets its serial. */
static int
swap_main(struct oc_hall_store *st, const struct oc_hall_application *a, char *retired_serial,
    struct oc_err *err)
{
	const char *conflict = "企业的主数字证书已变化，此更新申请不再适用 / the company's main"
	    " certificate changed since this update was filed";
	sqlite3_stmt *s;
	int rc;

	/* filed before the company suspended or removed the applicant: the
	 * suspension withdrew it, but the rule is kept where it matters */
	if ((rc = hs_new_main_allowed(st, a->account_id, err)) != 0)
		return rc;
	s = hs_prep(st, RETIRE_MAIN_SET
	    " WHERE id = (SELECT main_account_id FROM companies WHERE id = ?1)"
	    " AND company_id = ?1 AND serial = json_extract(?2, '$.old_serial')"
	    " AND id <> ?3 RETURNING serial", err);
	if (s == NULL)
		return OC_ESTORE;
	sqlite3_bind_int64(s, 1, a->company_id);
	hs_bt(s, 2, a->form);
	sqlite3_bind_int64(s, 3, a->account_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		hs_col(s, 0, retired_serial, 43);
		rc = sqlite3_step(s) == SQLITE_DONE ? 0 : hs_dberr(st, err, "retiring the main certificate");
	} else {
		rc = rc == SQLITE_DONE ? oc_err_set(err, OC_ECONFLICT, "%s", conflict) :
		    hs_dberr(st, err, "retiring the main certificate");
	}
	sqlite3_finalize(s);
	if (rc != 0)
		return rc;
	/* the retired certificate's sessions end with it */
	s = hs_prep(st, "DELETE FROM sessions WHERE serial = ?1", err);
	if (s != NULL)
		hs_bt(s, 1, retired_serial);
	if ((rc = step_change(st, s, false, "ending sessions", NULL, err)) != 0)
		return rc;
	s = hs_prep(st, "UPDATE accounts SET role = 'main', status = 'active'"
	    " WHERE id = ?1 AND company_id = ?2", err);
	if (s != NULL) {
		sqlite3_bind_int64(s, 1, a->account_id);
		sqlite3_bind_int64(s, 2, a->company_id);
	}
	if ((rc = step_change(st, s, true, "setting the new main certificate", conflict, err)) != 0)
		return rc;
	s = hs_prep(st, "UPDATE companies SET main_account_id = ?2 WHERE id = ?1", err);
	if (s != NULL) {
		sqlite3_bind_int64(s, 1, a->company_id);
		sqlite3_bind_int64(s, 2, a->account_id);
	}
	return step_change(st, s, true, "setting the new main certificate", conflict, err);
}

int
oc_hall_app_decide(struct oc_hall_store *st, long long id, bool approve,
    const char *by_serial, const char *reason, time_t now, struct oc_err *err)
{
	return oc_hall_app_decide2(st, id, approve, by_serial, reason, now, NULL, err);
}

int
oc_hall_app_decide2(struct oc_hall_store *st, long long id, bool approve,
    const char *by_serial, const char *reason, time_t now, char *retired_serial,
    struct oc_err *err)
{
	struct oc_hall_application a;
	char retired[43] = "";
	sqlite3_stmt *s;
	int rc;

	if ((rc = begin(st, err)) != 0)
		return rc;
	if ((rc = oc_hall_app_get(st, id, &a, err)) != 0)
		return finish(st, rc, err);
	s = hs_prep(st, "UPDATE applications SET state = ?2, decided_at = ?3, decided_by = ?4,"
	    " reason = ?5, updated_at = ?3 WHERE id = ?1 AND state = 'submitted'", err);
	if (s != NULL) {
		sqlite3_bind_int64(s, 1, id);
		hs_bt(s, 2, approve ? "approved" : "rejected");
		sqlite3_bind_int64(s, 3, now);
		hs_bt(s, 4, by_serial);
		hs_bt(s, 5, reason);
	}
	rc = step_change(st, s, true, "deciding the application",
	    "该申请不在待审核状态（已处理或已撤回） / the application is not waiting for a decision", err);
	if (rc == 0 && approve && strcmp(a.kind, "main_update") == 0) {
		rc = swap_main(st, &a, retired, err);
		if (rc == 0 && retired_serial != NULL)
			snprintf(retired_serial, 43, "%s", retired);
	}
	if (rc != 0 || strcmp(a.kind, "main_open") != 0)
		return finish(st, rc, err);
	if (!approve)
		return finish(st, company_move(st, a.company_id, "'main_pending'", "none", err), err);
	rc = company_move(st, a.company_id, "'main_pending'", "main_active", err);
	if (rc == 0) {
		s = hs_prep(st, "UPDATE companies SET main_account_id = ?2 WHERE id = ?1", err);
		if (s != NULL) {
			sqlite3_bind_int64(s, 1, a.company_id);
			sqlite3_bind_int64(s, 2, a.account_id);
		}
		rc = step_change(st, s, true, "setting the main certificate", "no such company", err);
	}
	if (rc == 0) {
		s = hs_prep(st, "UPDATE accounts SET role = 'main' WHERE id = ?1 AND company_id = ?2",
		    err);
		if (s != NULL) {
			sqlite3_bind_int64(s, 1, a.account_id);
			sqlite3_bind_int64(s, 2, a.company_id);
		}
		rc = step_change(st, s, true, "setting the main certificate",
		    "申请证书与企业不符 / the applying certificate is not the company's", err);
	}
	return finish(st, rc, err);
}

int
oc_hall_app_list(struct oc_hall_store *st, const char *state, int limit,
    int (*fn)(const struct oc_hall_application *app, void *arg), void *arg,
    struct oc_err *err)
{
	sqlite3_stmt *s = hs_prep(st, "SELECT " APP_COLS " FROM applications WHERE state = ?1"
	    " ORDER BY deadline, id LIMIT ?2", err);
	struct oc_hall_application *a;
	int rc;

	if (s == NULL)
		return OC_ESTORE;
	if ((a = malloc(sizeof(*a))) == NULL) {
		sqlite3_finalize(s);
		return oc_err_set(err, OC_ENOMEM, "out of memory");
	}
	hs_bt(s, 1, state);
	sqlite3_bind_int64(s, 2, limit > 0 ? limit : -1);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		app_row(s, a);
		if (fn(a, arg) != 0)
			break;
	}
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : hs_dberr(st, err, "listing applications");
	free(a);
	sqlite3_finalize(s);
	return rc;
}

int
oc_hall_app_list_company(struct oc_hall_store *st, long long company_id, const char *kind,
    const char *matter, int limit,
    int (*fn)(const struct oc_hall_application *app, void *arg), void *arg,
    struct oc_err *err)
{
	sqlite3_stmt *s = hs_prep(st, "SELECT " APP_COLS " FROM applications WHERE company_id = ?1"
	    " AND (?2 IS NULL OR kind = ?2) AND (?3 IS NULL OR matter = ?3)"
	    " ORDER BY id DESC LIMIT ?4", err);
	struct oc_hall_application *a;
	int rc;

	if (s == NULL)
		return OC_ESTORE;
	if ((a = malloc(sizeof(*a))) == NULL) {
		sqlite3_finalize(s);
		return oc_err_set(err, OC_ENOMEM, "out of memory");
	}
	sqlite3_bind_int64(s, 1, company_id);
	if (kind != NULL)
		hs_bt(s, 2, kind);
	if (matter != NULL)
		hs_bt(s, 3, matter);
	sqlite3_bind_int64(s, 4, limit > 0 ? limit : -1);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		app_row(s, a);
		if (fn(a, arg) != 0)
			break;
	}
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : hs_dberr(st, err, "listing applications");
	free(a);
	sqlite3_finalize(s);
	return rc;
}

int
oc_hall_company_register(struct oc_hall_store *st, long long company_id,
    long long account_id, const char *profile_json, time_t now, struct oc_err *err)
{
	sqlite3_stmt *s = hs_prep(st, "UPDATE companies SET state = 'registered', profile = ?3,"
	    " registered_at = ?4 WHERE id = ?1 AND main_account_id = ?2 AND state = 'main_active'",
	    err);

	if (s != NULL) {
		sqlite3_bind_int64(s, 1, company_id);
		sqlite3_bind_int64(s, 2, account_id);
		hs_bt(s, 3, profile_json);
		sqlite3_bind_int64(s, 4, now);
	}
	return step_change(st, s, true, "registering the company",
	    "只有待注册企业的主数字证书可以注册 / only the main certificate of an activated,"
	    " unregistered company can register", err);
}

int
oc_hall_sms_code_put(struct oc_hall_store *st, const struct oc_hall_sms_code *c,
    struct oc_err *err)
{
	sqlite3_stmt *s = hs_prep(st, "INSERT OR REPLACE INTO sms_codes (account_id, mobile,"
	    " code_hash, sent_at, expires_at, tries) VALUES (?1, ?2, ?3, ?4, ?5, 0)", err);

	if (s != NULL) {
		sqlite3_bind_int64(s, 1, c->account_id);
		hs_bt(s, 2, c->mobile);
		hs_bt(s, 3, c->code_hash);
		sqlite3_bind_int64(s, 4, c->sent_at);
		sqlite3_bind_int64(s, 5, c->expires_at);
	}
	return step_change(st, s, false, "storing the SMS code", NULL, err);
}

int
oc_hall_sms_code_get(struct oc_hall_store *st, long long account_id,
    struct oc_hall_sms_code *out, struct oc_err *err)
{
	sqlite3_stmt *s = hs_prep(st, "SELECT account_id, mobile, code_hash, sent_at, expires_at,"
	    " tries FROM sms_codes WHERE account_id = ?1", err);
	int rc;

	if (s == NULL)
		return OC_ESTORE;
	sqlite3_bind_int64(s, 1, account_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		out->account_id = sqlite3_column_int64(s, 0);
		hs_col(s, 1, out->mobile, sizeof(out->mobile));
		hs_col(s, 2, out->code_hash, sizeof(out->code_hash));
		out->sent_at = (time_t)sqlite3_column_int64(s, 3);
		out->expires_at = (time_t)sqlite3_column_int64(s, 4);
		out->tries = sqlite3_column_int(s, 5);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = oc_err_set(err, OC_ENOTFOUND, "请先获取手机验证码 / request an SMS code first");
	} else {
		rc = hs_dberr(st, err, "reading the SMS code");
	}
	sqlite3_finalize(s);
	return rc;
}

int
oc_hall_sms_code_fail(struct oc_hall_store *st, long long account_id, int *tries,
    struct oc_err *err)
{
	sqlite3_stmt *s = hs_prep(st, "UPDATE sms_codes SET tries = tries + 1"
	    " WHERE account_id = ?1 RETURNING tries", err);
	int rc;

	if (s == NULL)
		return OC_ESTORE;
	sqlite3_bind_int64(s, 1, account_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*tries = sqlite3_column_int(s, 0);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = oc_err_set(err, OC_ENOTFOUND, "请先获取手机验证码 / request an SMS code first");
	} else {
		rc = hs_dberr(st, err, "counting the try");
	}
	sqlite3_finalize(s);
	return rc;
}

int
oc_hall_sms_code_delete(struct oc_hall_store *st, long long account_id, struct oc_err *err)
{
	sqlite3_stmt *s = hs_prep(st, "DELETE FROM sms_codes WHERE account_id = ?1", err);

	if (s != NULL)
		sqlite3_bind_int64(s, 1, account_id);
	return step_change(st, s, false, "deleting the SMS code", NULL, err);
}
