/*
 * sqlite.c — the SQLite backend of the store (the default, one machine).
 *
 * WAL journal, synchronous=FULL (an issued certificate is on disk before
 * the caller returns it), foreign keys on, a busy timeout so that the CLI
 * and a running service can share one file.  Migrations are compiled in
 * (generated/sqlite_migrations.h from src/store/migrations/sqlite/NNN_name.sql)
 * and applied in order inside one transaction each; PRAGMA user_version
 * records the schema version.  Prepared statements are cached per handle,
 * keyed by their SQL text's address.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "onecert/store.h"
#include "store/store_int.h"
#include "sqlite_migrations.h"

#define STMT_CACHE 32

struct sq {
	sqlite3 *db;
	struct {
		const char *sql;
		sqlite3_stmt *stmt;
	} cache[STMT_CACHE];
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void
global_init(void)
{
	/* Only possible before sqlite3_initialize (the first open): later it
	 * fails with SQLITE_MISUSE and the statistics simply stay on. */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	sqlite3_initialize();
}

void
oc__sqlite_global_init(void)
{
	pthread_once(&global_once, global_init);
}

static sqlite3 *
DB(struct oc_store *st)
{
	return ((struct sq *)st->impl)->db;
}

static int
sqerr(struct oc_store *st, struct oc_err *err, const char *what)
{
	int ec = sqlite3_extended_errcode(DB(st));
	int code = OC_ESTORE;

	if (ec == SQLITE_CONSTRAINT_UNIQUE || ec == SQLITE_CONSTRAINT_PRIMARYKEY)
		code = OC_EEXIST;
	else if ((ec & 0xff) == SQLITE_CONSTRAINT)
		code = OC_EINVAL;   /* CHECK, NOT NULL: a value the schema refuses */
	oc_err_set(err, code, "database error while %s", what);
	oc_err_detail(err, "sqlite: %s (%d)", sqlite3_errmsg(DB(st)), ec);
	return code;
}

/* A reset prepared statement for sql (cached), or NULL with err set. */
static sqlite3_stmt *
prep(struct oc_store *st, const char *sql, struct oc_err *err)
{
	struct sq *s = st->impl;
	sqlite3_stmt *stmt = NULL;
	int i, slot = -1;

	for (i = 0; i < STMT_CACHE; i++) {
		if (s->cache[i].sql == sql) {
			sqlite3_reset(s->cache[i].stmt);
			sqlite3_clear_bindings(s->cache[i].stmt);
			return s->cache[i].stmt;
		}
		if (slot < 0 && s->cache[i].sql == NULL)
			slot = i;
	}
	if (sqlite3_prepare_v2(s->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		sqerr(st, err, "preparing a statement");
		return NULL;
	}
	if (slot >= 0) {
		s->cache[slot].sql = sql;
		s->cache[slot].stmt = stmt;
	}
	return stmt;
}

/* Statements not in the cache are finalized; cached ones are reset. */
static void
done(struct oc_store *st, sqlite3_stmt *stmt)
{
	struct sq *s = st->impl;

	for (int i = 0; i < STMT_CACHE; i++)
		if (s->cache[i].stmt == stmt) {
			sqlite3_reset(stmt);
			return;
		}
	sqlite3_finalize(stmt);
}

static void
bt(sqlite3_stmt *s, int i, const char *v)
{
	sqlite3_bind_text(s, i, v ? v : "", -1, SQLITE_TRANSIENT);
}

static void
col(sqlite3_stmt *s, int i, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

static int
sq_exec(struct oc_store *st, const char *sql, struct oc_err *err)
{
	char *msg = NULL;

	if (sqlite3_exec(DB(st), sql, NULL, NULL, &msg) != SQLITE_OK) {
		oc_err_set(err, OC_ESTORE, "database error");
		oc_err_detail(err, "sqlite: %s", msg ? msg : "?");
		sqlite3_free(msg);
		return OC_ESTORE;
	}
	return 0;
}

static int
sq_schema_version(struct oc_store *st)
{
	sqlite3_stmt *s;
	int v = -1;

	if (sqlite3_prepare_v2(DB(st), "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return v;
}

static void
sq_close(struct oc_store *st)
{
	struct sq *s = st->impl;

	for (int i = 0; i < STMT_CACHE; i++)
		if (s->cache[i].stmt)
			sqlite3_finalize(s->cache[i].stmt);
	sqlite3_close(s->db);
	free(s);
	free(st);
}

/* ---- companies ---- */

#define COMPANY_COLS "id, COALESCE(uscc, ''), orgcode, name, st, l, legal_rep, contact, phone, " \
	"ic_reg_no, tax_no, insurance_no, created_at, updated_at"

static void
company_row(sqlite3_stmt *s, struct oc_company *c)
{
	memset(c, 0, sizeof(*c));
	c->id = sqlite3_column_int64(s, 0);
	col(s, 1, c->uscc, sizeof(c->uscc));
	col(s, 2, c->orgcode, sizeof(c->orgcode));
	col(s, 3, c->name, sizeof(c->name));
	col(s, 4, c->st, sizeof(c->st));
	col(s, 5, c->l, sizeof(c->l));
	col(s, 6, c->legal_rep, sizeof(c->legal_rep));
	col(s, 7, c->contact, sizeof(c->contact));
	col(s, 8, c->phone, sizeof(c->phone));
	col(s, 9, c->ic_reg_no, sizeof(c->ic_reg_no));
	col(s, 10, c->tax_no, sizeof(c->tax_no));
	col(s, 11, c->insurance_no, sizeof(c->insurance_no));
	c->created_at = (time_t)sqlite3_column_int64(s, 12);
	c->updated_at = (time_t)sqlite3_column_int64(s, 13);
}

static int
sq_company_put(struct oc_store *st, struct oc_company *c, struct oc_err *err)
{
	static const char sql[] =
	    "INSERT INTO companies (uscc, orgcode, name, st, l, legal_rep, contact, phone,"
	    " ic_reg_no, tax_no, insurance_no, created_at, updated_at)"
	    " VALUES (NULLIF(?1, ''), ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)"
	    " ON CONFLICT(orgcode) DO UPDATE SET uscc = COALESCE(NULLIF(?1, ''), uscc),"
	    " name = ?3, st = ?4, l = ?5, legal_rep = ?6, contact = ?7, phone = ?8,"
	    " ic_reg_no = ?9, tax_no = ?10, insurance_no = ?11, updated_at = ?12"
	    " RETURNING id, created_at";
	sqlite3_stmt *s = prep(st, sql, err);
	time_t now = time(NULL);
	int rc;

	if (s == NULL)
		return OC_ESTORE;
	bt(s, 1, c->uscc); bt(s, 2, c->orgcode); bt(s, 3, c->name); bt(s, 4, c->st);
	bt(s, 5, c->l); bt(s, 6, c->legal_rep); bt(s, 7, c->contact); bt(s, 8, c->phone);
	bt(s, 9, c->ic_reg_no); bt(s, 10, c->tax_no); bt(s, 11, c->insurance_no);
	sqlite3_bind_int64(s, 12, now);
	if (sqlite3_step(s) != SQLITE_ROW) {
		rc = sqerr(st, err, "saving the company");
		done(st, s);
		return rc;
	}
	c->id = sqlite3_column_int64(s, 0);
	c->created_at = (time_t)sqlite3_column_int64(s, 1);
	c->updated_at = now;
	sqlite3_step(s);
	done(st, s);
	return 0;
}

static int
company_one(struct oc_store *st, const char *sql, long long id, const char *code,
    struct oc_company *out, struct oc_err *err)
{
	sqlite3_stmt *s = prep(st, sql, err);
	int rc;

	if (s == NULL)
		return OC_ESTORE;
	if (code != NULL)
		bt(s, 1, code);
	else
		sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		company_row(s, out);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = oc_err_set(err, OC_ENOTFOUND, "no such company (%s)", code ? code : "id");
	} else {
		rc = sqerr(st, err, "reading a company");
	}
	done(st, s);
	return rc;
}

static int
sq_company_get(struct oc_store *st, long long id, struct oc_company *out, struct oc_err *err)
{
	static const char sql[] = "SELECT " COMPANY_COLS " FROM companies WHERE id = ?1";
	return company_one(st, sql, id, NULL, out, err);
}

static int
sq_company_find(struct oc_store *st, const char *code, struct oc_company *out, struct oc_err *err)
{
	static const char sql[] = "SELECT " COMPANY_COLS " FROM companies"
	    " WHERE uscc = ?1 OR orgcode = ?1 OR orgcode = substr(?1, 9, 9) LIMIT 1";
	return company_one(st, sql, 0, code, out, err);
}

/* ---- enrollments ---- */

static const char *const enr_status_names[] = { "", "pending", "approved", "rejected", "issued" };
static const char *const enr_kind_names[] = { "", "apply", "renew", "change", "reissue" };

static int
name_index(const char *const *names, int n, const char *v)
{
	for (int i = 1; i < n; i++)
		if (strcmp(names[i], v) == 0)
			return i;
	return 0;
}

static int
sq_enroll_insert(struct oc_store *st, struct oc_enrollment *e, struct oc_err *err)
{
	static const char sql[] =
	    "INSERT INTO enrollments (company_id, kind, status, profile, person_name,"
	    " identity_code, materials, old_serial, medium, operator, decided_by,"
	    " note, created_at, decided_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
	    " ?9, ?10, ?11, ?12, ?13, ?14)";
	sqlite3_stmt *s = prep(st, sql, err);
	int rc = 0;

	if (s == NULL)
		return OC_ESTORE;
	if (e->created_at == 0)
		e->created_at = time(NULL);
	sqlite3_bind_int64(s, 1, e->company_id);
	bt(s, 2, enr_kind_names[e->kind]);
	bt(s, 3, enr_status_names[e->status]);
	bt(s, 4, e->profile); bt(s, 5, e->person_name); bt(s, 6, e->identity_code);
	bt(s, 7, e->materials[0] ? e->materials : "{}"); bt(s, 8, e->old_serial);
	bt(s, 9, e->medium); bt(s, 10, e->operator_); bt(s, 11, e->decided_by);
	bt(s, 12, e->note);
	sqlite3_bind_int64(s, 13, e->created_at);
	sqlite3_bind_int64(s, 14, e->decided_at);
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = sqerr(st, err, "saving the enrollment");
	else
		e->id = sqlite3_last_insert_rowid(DB(st));
	done(st, s);
	return rc;
}

static int
sq_enroll_get(struct oc_store *st, long long id, struct oc_enrollment *e, struct oc_err *err)
{
	static const char sql[] =
	    "SELECT id, company_id, kind, status, profile, person_name, identity_code,"
	    " materials, old_serial, medium, operator, decided_by, note, serial,"
	    " created_at, decided_at FROM enrollments WHERE id = ?1";
	sqlite3_stmt *s = prep(st, sql, err);
	char tmp[16];
	int rc;

	if (s == NULL)
		return OC_ESTORE;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		memset(e, 0, sizeof(*e));
		e->id = sqlite3_column_int64(s, 0);
		e->company_id = sqlite3_column_int64(s, 1);
		col(s, 2, tmp, sizeof(tmp));
		e->kind = (enum oc_enroll_kind)name_index(enr_kind_names, 5, tmp);
		col(s, 3, tmp, sizeof(tmp));
		e->status = (enum oc_enroll_status)name_index(enr_status_names, 5, tmp);
		col(s, 4, e->profile, sizeof(e->profile));
		col(s, 5, e->person_name, sizeof(e->person_name));
		col(s, 6, e->identity_code, sizeof(e->identity_code));
		col(s, 7, e->materials, sizeof(e->materials));
		col(s, 8, e->old_serial, sizeof(e->old_serial));
		col(s, 9, e->medium, sizeof(e->medium));
		col(s, 10, e->operator_, sizeof(e->operator_));
		col(s, 11, e->decided_by, sizeof(e->decided_by));
		col(s, 12, e->note, sizeof(e->note));
		col(s, 13, e->serial, sizeof(e->serial));
		e->created_at = (time_t)sqlite3_column_int64(s, 14);
		e->decided_at = (time_t)sqlite3_column_int64(s, 15);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = oc_err_set(err, OC_ENOTFOUND, "no enrollment %lld", id);
	} else {
		rc = sqerr(st, err, "reading the enrollment");
	}
	done(st, s);
	return rc;
}

static int
sq_enroll_transition(struct oc_store *st, long long id, enum oc_enroll_status from,
    enum oc_enroll_status to, const char *by, const char *note, const char *serial,
    struct oc_err *err)
{
	static const char sql[] =
	    "UPDATE enrollments SET status = ?3,"
	    " decided_by = CASE WHEN ?4 IS NULL THEN decided_by ELSE ?4 END,"
	    " note = CASE WHEN ?5 IS NULL THEN note ELSE ?5 END,"
	    " serial = CASE WHEN ?6 IS NULL THEN serial ELSE ?6 END,"
	    " decided_at = CASE WHEN ?4 IS NULL THEN decided_at ELSE ?7 END"
	    " WHERE id = ?1 AND status = ?2";
	sqlite3_stmt *s = prep(st, sql, err);
	int rc = 0;

	if (s == NULL)
		return OC_ESTORE;
	sqlite3_bind_int64(s, 1, id);
	bt(s, 2, enr_status_names[from]);
	bt(s, 3, enr_status_names[to]);
	if (by) bt(s, 4, by);
	if (note) bt(s, 5, note);
	if (serial) bt(s, 6, serial);
	sqlite3_bind_int64(s, 7, time(NULL));
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = sqerr(st, err, "updating the enrollment");
	else if (sqlite3_changes(DB(st)) != 1)
		rc = oc_err_set(err, OC_ECONFLICT,
		    "enrollment %lld is not %s (cannot become %s)", id,
		    enr_status_names[from], enr_status_names[to]);
	done(st, s);
	return rc;
}

/* ---- certificates ---- */

/* The row takes the next change number (migration 003) and the counter
 * moves on to it, in one transaction: the caller's, or one of its own.
 * Two statements rather than a trigger, which would cost ~14 µs more per
 * insert (a trigger program is set up per row); a failed insert leaves
 * the counter alone, so OC_EEXIST still means nothing was written. */
static int
sq_cert_insert(struct oc_store *st, const struct oc_cert_rec *c, struct oc_err *err)
{
	static const char sql[] =
	    "INSERT INTO certificates (serial, uid, ca, profile, status, company_id,"
	    " enrollment_id, medium, subject_cn, org_code, not_before, not_after,"
	    " issued_at, replaces, der, chg) VALUES (?1, NULLIF(?2, ''), ?3, ?4, 'valid', ?5, ?6,"
	    " ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
	    " (SELECT value + 1 FROM counters WHERE name = 'cert_change'))";
	static const char bump[] =
	    "UPDATE counters SET value = value + 1 WHERE name = 'cert_change'";
	bool own = sqlite3_get_autocommit(DB(st)) != 0;
	sqlite3_stmt *s;
	int rc = 0;

	if (own && sq_exec(st, "BEGIN IMMEDIATE", err) != 0)
		return OC_ESTORE;
	if ((s = prep(st, sql, err)) == NULL) {
		rc = OC_ESTORE;
		goto out;
	}
	bt(s, 1, c->serial); bt(s, 2, c->uid); bt(s, 3, c->ca); bt(s, 4, c->profile);
	sqlite3_bind_int64(s, 5, c->company_id);
	sqlite3_bind_int64(s, 6, c->enrollment_id);
	bt(s, 7, c->medium); bt(s, 8, c->subject_cn); bt(s, 9, c->org_code);
	sqlite3_bind_int64(s, 10, c->not_before);
	sqlite3_bind_int64(s, 11, c->not_after);
	sqlite3_bind_int64(s, 12, c->issued_at ? c->issued_at : time(NULL));
	bt(s, 13, c->replaces);
	sqlite3_bind_blob(s, 14, c->der, (int)c->der_len, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_DONE) {
		rc = sqerr(st, err, "storing the certificate");
		if (rc == OC_EEXIST)
			oc_err_set(err, OC_EEXIST, "serial or unique ID already used");
	}
	done(st, s);
	if (rc != 0)
		goto out;
	if ((s = prep(st, bump, err)) == NULL) {
		rc = OC_ESTORE;
		goto out;
	}
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = sqerr(st, err, "numbering the certificate");
	else if (sqlite3_changes(DB(st)) != 1)
		rc = oc_err_set(err, OC_ESTORE, "the counter cert_change is missing");
	done(st, s);
out:
	if (own) {
		if (rc == 0 && sq_exec(st, "COMMIT", err) != 0)
			rc = OC_ESTORE;
		if (rc != 0)
			sq_exec(st, "ROLLBACK", NULL);
	}
	return rc;
}

/* The columns CERT_COLS select, plus the DER (or NULL) in column 18. */
#define CERT_COLS "serial, COALESCE(uid, ''), ca, profile, status, company_id," \
	" enrollment_id, medium, subject_cn, org_code, not_before, not_after," \
	" issued_at, revoked_at, reason, revoked_by, replaces, replaced_by"

/* r borrows the DER from s (valid until the next step). */
static void
cert_row(sqlite3_stmt *s, struct oc_cert_rec *r, bool with_der)
{
	char tmp[16];

	memset(r, 0, sizeof(*r));
	col(s, 0, r->serial, sizeof(r->serial));
	col(s, 1, r->uid, sizeof(r->uid));
	col(s, 2, r->ca, sizeof(r->ca));
	col(s, 3, r->profile, sizeof(r->profile));
	col(s, 4, tmp, sizeof(tmp));
	r->status = strcmp(tmp, "revoked") == 0 ? OC_CERT_REVOKED : OC_CERT_VALID;
	r->company_id = sqlite3_column_int64(s, 5);
	r->enrollment_id = sqlite3_column_int64(s, 6);
	col(s, 7, r->medium, sizeof(r->medium));
	col(s, 8, r->subject_cn, sizeof(r->subject_cn));
	col(s, 9, r->org_code, sizeof(r->org_code));
	r->not_before = (time_t)sqlite3_column_int64(s, 10);
	r->not_after = (time_t)sqlite3_column_int64(s, 11);
	r->issued_at = (time_t)sqlite3_column_int64(s, 12);
	r->revoked_at = (time_t)sqlite3_column_int64(s, 13);
	r->reason = sqlite3_column_int(s, 14);
	col(s, 15, r->revoked_by, sizeof(r->revoked_by));
	col(s, 16, r->replaces, sizeof(r->replaces));
	col(s, 17, r->replaced_by, sizeof(r->replaced_by));
	if (with_der) {
		r->der = (unsigned char *)sqlite3_column_blob(s, 18);
		r->der_len = (size_t)sqlite3_column_bytes(s, 18);
	}
}

static int
sq_cert_list(struct oc_store *st, const struct oc_cert_filter *f, oc_cert_cb cb,
    void *arg, struct oc_err *err)
{
	char sql[1024];
	sqlite3_stmt *s = NULL;
	struct oc_cert_rec r;
	int rc, n = 0, idx[8];

	snprintf(sql, sizeof(sql),
	    "SELECT serial, COALESCE(uid, ''), ca, profile, status, company_id,"
	    " enrollment_id, medium, subject_cn, org_code, not_before, not_after,"
	    " issued_at, revoked_at, reason, revoked_by, replaces, replaced_by, %s"
	    " FROM certificates WHERE 1 = 1%s%s%s%s%s%s%s ORDER BY issued_at, serial",
	    f->with_der ? "der" : "NULL",
	    f->serial ? " AND serial = ?1" : "",
	    f->uid ? " AND uid = ?2" : "",
	    f->org_code ? " AND (org_code = ?3 OR org_code = substr(?3, 9, 9)"
	        " OR substr(org_code, 9, 9) = ?3)" : "",
	    f->company_id ? " AND company_id = ?4" : "",
	    f->medium ? " AND medium = ?5" : "",
	    f->revoked_only ? " AND status = 'revoked'" : "",
	    f->ca ? " AND ca = ?6" : "");
	(void)idx;
	/* One certificate by serial (oc_store_cert_get, which every RA API
	 * request makes for its operator): a cached statement, as parsing
	 * and planning the SQL costs more than running it. */
	if (f->serial && f->with_der && !f->uid && !f->org_code && !f->company_id &&
	    !f->medium && !f->revoked_only && !f->ca) {
		static const char by_serial[] =
		    "SELECT serial, COALESCE(uid, ''), ca, profile, status, company_id,"
		    " enrollment_id, medium, subject_cn, org_code, not_before, not_after,"
		    " issued_at, revoked_at, reason, revoked_by, replaces, replaced_by, der"
		    " FROM certificates WHERE serial = ?1 ORDER BY issued_at, serial";

		if ((s = prep(st, by_serial, err)) == NULL)
			return OC_ESTORE;
	} else if (sqlite3_prepare_v2(DB(st), sql, -1, &s, NULL) != SQLITE_OK) {
		return sqerr(st, err, "listing certificates");
	}
	if (f->serial) bt(s, 1, f->serial);
	if (f->uid) bt(s, 2, f->uid);
	if (f->org_code) bt(s, 3, f->org_code);
	if (f->company_id) sqlite3_bind_int64(s, 4, f->company_id);
	if (f->medium) bt(s, 5, f->medium);
	if (f->ca) bt(s, 6, f->ca);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		cert_row(s, &r, f->with_der);
		n++;
		if ((rc = cb(&r, arg)) != 0) {
			done(st, s);
			return rc;
		}
	}
	if (rc != SQLITE_DONE) {
		rc = sqerr(st, err, "listing certificates");
		done(st, s);
		return rc;
	}
	done(st, s);
	return 0;
}

/* Migration 003 numbers every insert and status change of a certificate
 * from the counter 'cert_change' (triggers, in the writing statement).
 * The counter and the rows are read in one read transaction, i.e. one
 * snapshot; inside a caller's transaction they are that transaction's. */
static int
sq_cert_changes(struct oc_store *st, const char *ca, long long after,
    oc_cert_cb cb, void *arg, long long *upto, struct oc_err *err)
{
	static const char hw[] =
	    "SELECT value FROM counters WHERE name = 'cert_change'";
	static const char sql[] =
	    "SELECT " CERT_COLS ", NULL FROM certificates"
	    " WHERE ca = ?1 AND chg > ?2 ORDER BY chg";
	bool own = sqlite3_get_autocommit(DB(st)) != 0;
	sqlite3_stmt *s = NULL;
	struct oc_cert_rec r;
	int rc = 0, x;

	*upto = 0;
	if (own && sq_exec(st, "BEGIN", err) != 0)
		return OC_ESTORE;
	if ((s = prep(st, hw, err)) == NULL) {
		rc = OC_ESTORE;
		goto out;
	}
	if ((x = sqlite3_step(s)) == SQLITE_ROW)
		*upto = sqlite3_column_int64(s, 0);
	else if (x != SQLITE_DONE)
		rc = sqerr(st, err, "reading the certificate change number");
	done(st, s);
	if (rc != 0)
		goto out;
	if ((s = prep(st, sql, err)) == NULL) {
		rc = OC_ESTORE;
		goto out;
	}
	bt(s, 1, ca);
	/* after 0 is "all of them": rows without a number (chg 0, inserted
	 * by hand) included. */
	sqlite3_bind_int64(s, 2, after > 0 ? after : -1);
	while ((x = sqlite3_step(s)) == SQLITE_ROW) {
		cert_row(s, &r, false);
		if ((rc = cb(&r, arg)) != 0)
			break;
	}
	if (rc == 0 && x != SQLITE_DONE)
		rc = sqerr(st, err, "listing changed certificates");
	done(st, s);
out:
	/* Nothing was written: ending the read transaction either way only
	 * releases its snapshot. */
	if (own)
		sq_exec(st, rc == 0 ? "COMMIT" : "ROLLBACK", NULL);
	return rc;
}

static int
sq_cert_revoke(struct oc_store *st, const char *serial, time_t at, int reason,
    const char *by, struct oc_err *err)
{
	static const char sql[] =
	    "UPDATE certificates SET status = 'revoked', revoked_at = ?2, reason = ?3,"
	    " revoked_by = ?4 WHERE serial = ?1 AND status = 'valid'";
	static const char probe[] = "SELECT status FROM certificates WHERE serial = ?1";
	sqlite3_stmt *s = prep(st, sql, err);
	int rc = 0;

	if (s == NULL)
		return OC_ESTORE;
	bt(s, 1, serial);
	sqlite3_bind_int64(s, 2, at);
	sqlite3_bind_int(s, 3, reason);
	bt(s, 4, by);
	if (sqlite3_step(s) != SQLITE_DONE) {
		rc = sqerr(st, err, "revoking the certificate");
		done(st, s);
		return rc;
	}
	done(st, s);
	if (sqlite3_changes(DB(st)) == 1)
		return 0;
	if ((s = prep(st, probe, err)) == NULL)
		return OC_ESTORE;
	bt(s, 1, serial);
	if (sqlite3_step(s) == SQLITE_ROW)
		rc = oc_err_set(err, OC_ECONFLICT,
		    "证书已吊销 / certificate %s is already revoked", serial);
	else
		rc = oc_err_set(err, OC_ENOTFOUND,
		    "无此证书 / no certificate with serial %s", serial);
	done(st, s);
	return rc;
}

static int
sq_cert_set_replaced_by(struct oc_store *st, const char *serial, const char *by,
    struct oc_err *err)
{
	static const char sql[] =
	    "UPDATE certificates SET replaced_by = ?2 WHERE serial = ?1";
	sqlite3_stmt *s = prep(st, sql, err);
	int rc = 0;

	if (s == NULL)
		return OC_ESTORE;
	bt(s, 1, serial);
	bt(s, 2, by);
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = sqerr(st, err, "linking certificates");
	done(st, s);
	return rc;
}

/* ---- media ---- */

static int
sq_medium_put(struct oc_store *st, const struct oc_medium *m, struct oc_err *err)
{
	static const char sql[] =
	    "INSERT INTO media (serial, label, company_id, escrow, status, created_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(serial) DO UPDATE SET"
	    " label = ?2, company_id = ?3,"
	    " escrow = CASE WHEN ?4 IS NULL THEN escrow ELSE ?4 END, status = ?5";
	sqlite3_stmt *s = prep(st, sql, err);
	int rc = 0;

	if (s == NULL)
		return OC_ESTORE;
	bt(s, 1, m->serial); bt(s, 2, m->label);
	sqlite3_bind_int64(s, 3, m->company_id);
	if (m->escrow_len > 0)
		sqlite3_bind_blob(s, 4, m->escrow, (int)m->escrow_len, SQLITE_STATIC);
	bt(s, 5, m->status[0] ? m->status : "active");
	sqlite3_bind_int64(s, 6, m->created_at ? m->created_at : time(NULL));
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = sqerr(st, err, "saving the medium");
	done(st, s);
	return rc;
}

static int
sq_medium_get(struct oc_store *st, const char *serial, struct oc_medium *m, struct oc_err *err)
{
	static const char sql[] =
	    "SELECT serial, label, company_id, escrow, status, created_at FROM media WHERE serial = ?1";
	sqlite3_stmt *s = prep(st, sql, err);
	int rc;

	if (s == NULL)
		return OC_ESTORE;
	bt(s, 1, serial);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		int n = sqlite3_column_bytes(s, 3);

		memset(m, 0, sizeof(*m));
		col(s, 0, m->serial, sizeof(m->serial));
		col(s, 1, m->label, sizeof(m->label));
		m->company_id = sqlite3_column_int64(s, 2);
		if (n > 0 && (size_t)n <= sizeof(m->escrow)) {
			memcpy(m->escrow, sqlite3_column_blob(s, 3), (size_t)n);
			m->escrow_len = (size_t)n;
		}
		col(s, 4, m->status, sizeof(m->status));
		m->created_at = (time_t)sqlite3_column_int64(s, 5);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = oc_err_set(err, OC_ENOTFOUND, "介质未登记 / medium %s is not registered", serial);
	} else {
		rc = sqerr(st, err, "reading the medium");
	}
	done(st, s);
	return rc;
}

static int
sq_medium_set_status(struct oc_store *st, const char *serial, const char *status,
    struct oc_err *err)
{
	static const char sql[] = "UPDATE media SET status = ?2 WHERE serial = ?1";
	sqlite3_stmt *s = prep(st, sql, err);
	int rc = 0;

	if (s == NULL)
		return OC_ESTORE;
	bt(s, 1, serial);
	bt(s, 2, status);
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = sqerr(st, err, "updating the medium");
	else if (sqlite3_changes(DB(st)) != 1)
		rc = oc_err_set(err, OC_ENOTFOUND, "medium %s is not registered", serial);
	done(st, s);
	return rc;
}

/* ---- audit ---- */

static int
sq_audit_last(struct oc_store *st, char prev[65], struct oc_err *err)
{
	static const char sql[] = "SELECT hash FROM audit ORDER BY id DESC LIMIT 1";
	sqlite3_stmt *s = prep(st, sql, err);
	int rc;

	if (s == NULL)
		return OC_ESTORE;
	memset(prev, '0', 64);
	prev[64] = '\0';
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		col(s, 0, prev, 65);
	else if (rc != SQLITE_DONE) {
		rc = sqerr(st, err, "reading the audit log");
		done(st, s);
		return rc;
	}
	done(st, s);
	return 0;
}

static int
sq_audit_insert(struct oc_store *st, const struct oc_audit_rec *r, struct oc_err *err)
{
	static const char sql[] =
	    "INSERT INTO audit (ts, actor, source, action, object, detail, prev_hash, hash)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
	sqlite3_stmt *s = prep(st, sql, err);
	int rc = 0;

	if (s == NULL)
		return OC_ESTORE;
	sqlite3_bind_int64(s, 1, r->ts);
	bt(s, 2, r->actor); bt(s, 3, r->source); bt(s, 4, r->action);
	bt(s, 5, r->object); bt(s, 6, r->detail); bt(s, 7, r->prev_hash);
	bt(s, 8, r->hash);
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = sqerr(st, err, "writing the audit log");
	done(st, s);
	return rc;
}

static int
sq_audit_list(struct oc_store *st, long long after, oc_audit_cb cb, void *arg,
    struct oc_err *err)
{
	static const char sql[] =
	    "SELECT id, ts, actor, source, action, object, detail, prev_hash, hash"
	    " FROM audit WHERE id > ?1 ORDER BY id";
	sqlite3_stmt *s = NULL;
	struct oc_audit_rec r;
	int rc;

	if (sqlite3_prepare_v2(DB(st), sql, -1, &s, NULL) != SQLITE_OK)
		return sqerr(st, err, "reading the audit log");
	sqlite3_bind_int64(s, 1, after);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&r, 0, sizeof(r));
		r.id = sqlite3_column_int64(s, 0);
		r.ts = (time_t)sqlite3_column_int64(s, 1);
		col(s, 2, r.actor, sizeof(r.actor));
		col(s, 3, r.source, sizeof(r.source));
		col(s, 4, r.action, sizeof(r.action));
		col(s, 5, r.object, sizeof(r.object));
		col(s, 6, r.detail, sizeof(r.detail));
		col(s, 7, r.prev_hash, sizeof(r.prev_hash));
		col(s, 8, r.hash, sizeof(r.hash));
		if ((rc = cb(&r, arg)) != 0) {
			sqlite3_finalize(s);
			return rc;
		}
	}
	rc = rc == SQLITE_DONE ? 0 : sqerr(st, err, "reading the audit log");
	sqlite3_finalize(s);
	return rc;
}

static int
sq_counter_next(struct oc_store *st, const char *name, long long *out, struct oc_err *err)
{
	static const char sql[] =
	    "INSERT INTO counters (name, value) VALUES (?1, 1) ON CONFLICT(name)"
	    " DO UPDATE SET value = value + 1 RETURNING value";
	sqlite3_stmt *s = prep(st, sql, err);
	int rc = 0;

	if (s == NULL)
		return OC_ESTORE;
	bt(s, 1, name);
	if (sqlite3_step(s) == SQLITE_ROW) {
		*out = sqlite3_column_int64(s, 0);
		sqlite3_step(s);
	} else {
		rc = sqerr(st, err, "advancing a counter");
	}
	done(st, s);
	return rc;
}

/* ---- operators ---- */

static int
sq_operator_grant(struct oc_store *st, const char *serial, const char *name,
    const char *by, struct oc_err *err)
{
	static const char sql[] =
	    "INSERT INTO operators (serial, name, granted_by, granted_at) VALUES (?1, ?2, ?3, ?4)"
	    " ON CONFLICT(serial) DO UPDATE SET name = ?2, granted_by = ?3, granted_at = ?4,"
	    " revoked_by = '', revoked_at = 0";
	sqlite3_stmt *s = prep(st, sql, err);
	int rc = 0;

	if (s == NULL)
		return OC_ESTORE;
	bt(s, 1, serial); bt(s, 2, name); bt(s, 3, by);
	sqlite3_bind_int64(s, 4, time(NULL));
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = sqerr(st, err, "granting the operator role");
	done(st, s);
	return rc;
}

static int
sq_operator_revoke(struct oc_store *st, const char *serial, const char *by,
    struct oc_err *err)
{
	static const char sql[] =
	    "UPDATE operators SET revoked_by = ?2, revoked_at = ?3 WHERE serial = ?1 AND revoked_at = 0";
	sqlite3_stmt *s = prep(st, sql, err);
	int rc = 0;

	if (s == NULL)
		return OC_ESTORE;
	bt(s, 1, serial); bt(s, 2, by);
	sqlite3_bind_int64(s, 3, time(NULL));
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = sqerr(st, err, "revoking the operator role");
	else if (sqlite3_changes(DB(st)) != 1)
		rc = oc_err_set(err, OC_ENOTFOUND, "certificate %s holds no operator role", serial);
	done(st, s);
	return rc;
}

static int
sq_operator_check(struct oc_store *st, const char *serial, char *name, size_t cap,
    struct oc_err *err)
{
	static const char sql[] =
	    "SELECT name FROM operators WHERE serial = ?1 AND revoked_at = 0";
	sqlite3_stmt *s = prep(st, sql, err);
	int rc;

	if (s == NULL)
		return OC_ESTORE;
	bt(s, 1, serial);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		if (name != NULL)
			col(s, 0, name, cap);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = oc_err_set(err, OC_EPERM, "此证书没有操作员权限 / this certificate holds no operator role");
	} else {
		rc = sqerr(st, err, "checking the operator role");
	}
	done(st, s);
	return rc;
}

/* Migration 004's counter, moved by triggers. */
static int
sq_auth_version(struct oc_store *st, long long *out, struct oc_err *err)
{
	static const char sql[] =
	    "SELECT value FROM counters WHERE name = 'auth_change'";
	sqlite3_stmt *s = prep(st, sql, err);
	int rc = 0, x;

	if (s == NULL)
		return OC_ESTORE;
	if ((x = sqlite3_step(s)) == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	else if (x == SQLITE_DONE)
		rc = oc_err_set(err, OC_ESTORE, "the counter auth_change is missing");
	else
		rc = sqerr(st, err, "reading the operators' version");
	done(st, s);
	return rc;
}

/* ---- applications ---- */

static int
sq_app_open(struct oc_store *st, const char *serial, const char *app, const char *by,
    struct oc_err *err)
{
	static const char sql[] =
	    "INSERT INTO applications (serial, app, status, opened_by, opened_at)"
	    " VALUES (?1, ?2, 'open', ?3, ?4) ON CONFLICT(serial, app) DO UPDATE SET"
	    " status = 'open', opened_by = ?3, opened_at = ?4, closed_by = '', closed_at = 0"
	    " WHERE status = 'closed'";
	sqlite3_stmt *s = prep(st, sql, err);
	int rc = 0;

	if (s == NULL)
		return OC_ESTORE;
	bt(s, 1, serial); bt(s, 2, app); bt(s, 3, by);
	sqlite3_bind_int64(s, 4, time(NULL));
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = sqerr(st, err, "opening the application");
	else if (sqlite3_changes(DB(st)) != 1)
		rc = oc_err_set(err, OC_ECONFLICT, "应用已开通 / application %s is already open for %s", app, serial);
	done(st, s);
	return rc;
}

static int
sq_app_close(struct oc_store *st, const char *serial, const char *app, const char *by,
    struct oc_err *err)
{
	static const char sql[] =
	    "UPDATE applications SET status = 'closed', closed_by = ?3, closed_at = ?4"
	    " WHERE serial = ?1 AND app = ?2 AND status = 'open'";
	sqlite3_stmt *s = prep(st, sql, err);
	int rc = 0;

	if (s == NULL)
		return OC_ESTORE;
	bt(s, 1, serial); bt(s, 2, app); bt(s, 3, by);
	sqlite3_bind_int64(s, 4, time(NULL));
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = sqerr(st, err, "closing the application");
	else if (sqlite3_changes(DB(st)) != 1)
		rc = oc_err_set(err, OC_ECONFLICT, "应用未开通 / application %s is not open for %s", app, serial);
	done(st, s);
	return rc;
}

static int
sq_app_list(struct oc_store *st, const char *serial, oc_app_cb cb, void *arg,
    struct oc_err *err)
{
	static const char sql[] =
	    "SELECT serial, app, status, opened_by, opened_at, closed_by, closed_at"
	    " FROM applications WHERE serial = ?1 ORDER BY app";
	sqlite3_stmt *s = NULL;
	struct oc_app_rec r;
	char tmp[16];
	int rc;

	if (sqlite3_prepare_v2(DB(st), sql, -1, &s, NULL) != SQLITE_OK)
		return sqerr(st, err, "listing applications");
	bt(s, 1, serial);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&r, 0, sizeof(r));
		col(s, 0, r.serial, sizeof(r.serial));
		col(s, 1, r.app, sizeof(r.app));
		col(s, 2, tmp, sizeof(tmp));
		r.open = strcmp(tmp, "open") == 0;
		col(s, 3, r.opened_by, sizeof(r.opened_by));
		r.opened_at = (time_t)sqlite3_column_int64(s, 4);
		col(s, 5, r.closed_by, sizeof(r.closed_by));
		r.closed_at = (time_t)sqlite3_column_int64(s, 6);
		if ((rc = cb(&r, arg)) != 0) {
			sqlite3_finalize(s);
			return rc;
		}
	}
	rc = rc == SQLITE_DONE ? 0 : sqerr(st, err, "listing applications");
	sqlite3_finalize(s);
	return rc;
}

static const struct oc_store_ops sqlite_ops = {
	.name = "sqlite",
	.close = sq_close,
	.schema_version = sq_schema_version,
	.exec = sq_exec,
	.company_put = sq_company_put,
	.company_get = sq_company_get,
	.company_find = sq_company_find,
	.enroll_insert = sq_enroll_insert,
	.enroll_get = sq_enroll_get,
	.enroll_transition = sq_enroll_transition,
	.cert_insert = sq_cert_insert,
	.cert_list = sq_cert_list,
	.cert_changes = sq_cert_changes,
	.cert_revoke = sq_cert_revoke,
	.cert_set_replaced_by = sq_cert_set_replaced_by,
	.medium_put = sq_medium_put,
	.medium_get = sq_medium_get,
	.medium_set_status = sq_medium_set_status,
	.audit_last = sq_audit_last,
	.audit_insert = sq_audit_insert,
	.audit_list = sq_audit_list,
	.counter_next = sq_counter_next,
	.operator_grant = sq_operator_grant,
	.operator_revoke = sq_operator_revoke,
	.operator_check = sq_operator_check,
	.auth_version = sq_auth_version,
	.app_open = sq_app_open,
	.app_close = sq_app_close,
	.app_list = sq_app_list,
};

static int
migrate(struct oc_store *st, struct oc_err *err)
{
	int v = sq_schema_version(st);
	char pragma[64];

	if (v < 0)
		return oc_err_set(err, OC_ESTORE, "cannot read the schema version");
	if (v > SQLITE_MIGRATION_COUNT)
		return oc_err_set(err, OC_ESTORE,
		    "the database schema (%d) is newer than this onecert (%d)", v,
		    SQLITE_MIGRATION_COUNT);
	for (int i = v; i < SQLITE_MIGRATION_COUNT; i++) {
		if (sq_exec(st, "BEGIN IMMEDIATE", err) != 0)
			return OC_ESTORE;
		/* Another process may have migrated while we waited. */
		if (sq_schema_version(st) > i) {
			sq_exec(st, "ROLLBACK", NULL);
			continue;
		}
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", i + 1);
		if (sq_exec(st, sqlite_migrations[i], err) != 0 ||
		    sq_exec(st, pragma, err) != 0) {
			sq_exec(st, "ROLLBACK", NULL);
			oc_err_detail(err, " (migration %d)", i + 1);
			return OC_ESTORE;
		}
		if (sq_exec(st, "COMMIT", err) != 0)
			return OC_ESTORE;
	}
	return 0;
}

struct oc_store *
oc__store_sqlite_open(const char *path, struct oc_err *err)
{
	struct oc_store *st = NULL;
	struct sq *s = NULL;

	if ((st = calloc(1, sizeof(*st))) == NULL || (s = calloc(1, sizeof(*s))) == NULL) {
		free(st);
		oc_err_set(err, OC_ENOMEM, "out of memory");
		return NULL;
	}
	st->ops = &sqlite_ops;
	st->impl = s;
	oc__sqlite_global_init();
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		oc_err_set(err, OC_ESTORE, "cannot open the database %s", path);
		oc_err_detail(err, "sqlite: %s", s->db ? sqlite3_errmsg(s->db) : "?");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 10000);
	if (sq_exec(st, "PRAGMA journal_mode = WAL", err) != 0 ||
	    sq_exec(st, "PRAGMA synchronous = FULL", err) != 0 ||
	    sq_exec(st, "PRAGMA foreign_keys = ON", err) != 0 ||
	    migrate(st, err) != 0)
		goto fail;
	return st;
fail:
	sq_close(st);
	return NULL;
}
