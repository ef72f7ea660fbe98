/*
 * test_store.c — the SQLite store: migrations, companies, enrollment
 * transitions, certificate uniqueness and revocation, the certificates
 * changed since a change number, media, the audit hash chain and nested
 * transactions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "onecert/store.h"

static char dbpath[512];

static int
setup(void **state)
{
	const char *tmp = getenv("ONECERT_TEST_TMP");
	static int n;

	if (tmp == NULL)
		tmp = "/tmp";
	mkdir(tmp, 0755);
	snprintf(dbpath, sizeof(dbpath), "%s/test_store.%ld.%d.db", tmp, (long)getpid(), n++);
	unlink(dbpath);
	*state = oc_store_open(dbpath, NULL);
	return *state == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char p[600];

	oc_store_close(*state);
	unlink(dbpath);
	snprintf(p, sizeof(p), "%s-wal", dbpath);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", dbpath);
	unlink(p);
	return 0;
}

static void
test_migrated(void **state)
{
	assert_int_equal(oc_store_schema_version(*state), 4);
	/* reopening an up-to-date database changes nothing */
	struct oc_store *again = oc_store_open(dbpath, NULL);
	assert_non_null(again);
	assert_int_equal(oc_store_schema_version(again), 4);
	oc_store_close(again);
}

static void
test_pg_not_built(void **state)
{
	struct oc_err err;
	(void)state;
	assert_null(oc_store_open("postgresql://localhost/x", &err));
	assert_int_equal(err.code, OC_EUNSUPPORTED);
}

static void
test_company(void **state)
{
	struct oc_store *st = *state;
	struct oc_company c, got;

	memset(&c, 0, sizeof(c));
	strcpy(c.uscc, "91310115MA1FL8XY7N");
	strcpy(c.orgcode, "MA1FL8XY7");
	strcpy(c.name, "上海浦江建筑工程有限公司");
	assert_int_equal(oc_store_company_put(st, &c, NULL), 0);
	assert_true(c.id > 0);
	long long id = c.id;
	/* same organization code: an update, not a second company */
	strcpy(c.name, "上海浦江建筑工程（集团）有限公司");
	assert_int_equal(oc_store_company_put(st, &c, NULL), 0);
	assert_int_equal(c.id, id);
	assert_int_equal(oc_store_company_find(st, "91310115MA1FL8XY7N", &got, NULL), 0);
	assert_string_equal(got.name, "上海浦江建筑工程（集团）有限公司");
	assert_int_equal(oc_store_company_find(st, "MA1FL8XY7", &got, NULL), 0);
	assert_int_equal(got.id, id);
	assert_int_equal(oc_store_company_find(st, "91110000600037341L", &got, NULL), OC_ENOTFOUND);
}

static void
test_enroll_transitions(void **state)
{
	struct oc_store *st = *state;
	struct oc_enrollment e, got;
	struct oc_err err;

	memset(&e, 0, sizeof(e));
	e.kind = OC_ENROLL_APPLY;
	e.status = OC_ENR_PENDING;
	strcpy(e.profile, "enterprise");
	strcpy(e.operator_, "op1");
	assert_int_equal(oc_store_enroll_insert(st, &e, NULL), 0);
	/* pending → issued is not a transition */
	assert_int_equal(oc_store_enroll_transition(st, e.id, OC_ENR_APPROVED,
	    OC_ENR_ISSUED, NULL, NULL, "AB", &err), OC_ECONFLICT);
	assert_int_equal(oc_store_enroll_transition(st, e.id, OC_ENR_PENDING,
	    OC_ENR_APPROVED, "op2", "ok", NULL, NULL), 0);
	/* the second of two racing approvals loses */
	assert_int_equal(oc_store_enroll_transition(st, e.id, OC_ENR_PENDING,
	    OC_ENR_APPROVED, "op3", NULL, NULL, NULL), OC_ECONFLICT);
	assert_int_equal(oc_store_enroll_get(st, e.id, &got, NULL), 0);
	assert_int_equal(got.status, OC_ENR_APPROVED);
	assert_string_equal(got.decided_by, "op2");
	assert_string_equal(got.materials, "{}");
	assert_int_equal(oc_store_enroll_get(st, e.id + 100, &got, NULL), OC_ENOTFOUND);
}

static void
fill_cert(struct oc_cert_rec *r, const char *serial, const char *uid)
{
	static unsigned char der[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };

	memset(r, 0, sizeof(*r));
	strcpy(r->serial, serial);
	strcpy(r->uid, uid);
	strcpy(r->ca, "issuing");
	strcpy(r->profile, "enterprise");
	strcpy(r->subject_cn, "某公司");
	strcpy(r->org_code, "91310115MA1FL8XY7N");
	r->not_before = 1000;
	r->not_after = 2000;
	r->der = der;
	r->der_len = sizeof(der);
}

static int
count_cb(const struct oc_cert_rec *r, void *arg)
{
	(void)r;
	(*(int *)arg)++;
	return 0;
}

static void
test_certs(void **state)
{
	struct oc_store *st = *state;
	struct oc_cert_rec r, got;
	struct oc_err err;
	int n = 0;

	fill_cert(&r, "0A1B", "OC20261124AAAAAAAAAA");
	assert_int_equal(oc_store_cert_insert(st, &r, NULL), 0);
	fill_cert(&r, "0A1B", "OC20261124BBBBBBBBBB");
	assert_int_equal(oc_store_cert_insert(st, &r, &err), OC_EEXIST);
	fill_cert(&r, "0C1D", "OC20261124AAAAAAAAAA");
	assert_int_equal(oc_store_cert_insert(st, &r, &err), OC_EEXIST);
	fill_cert(&r, "0C1D", "");
	assert_int_equal(oc_store_cert_insert(st, &r, NULL), 0);
	fill_cert(&r, "0E1F", "");   /* many certificates may lack a unique ID */
	assert_int_equal(oc_store_cert_insert(st, &r, NULL), 0);

	assert_int_equal(oc_store_cert_get(st, "0A1B", &got, NULL), 0);
	assert_int_equal(got.status, OC_CERT_VALID);
	assert_int_equal(got.der_len, 5);
	assert_int_equal(got.reason, -1);
	free(got.der);

	assert_int_equal(oc_store_cert_revoke(st, "0A1B", 1500, 1, "op", NULL), 0);
	assert_int_equal(oc_store_cert_revoke(st, "0A1B", 1600, 1, "op", &err), OC_ECONFLICT);
	assert_non_null(strstr(err.msg, "already revoked"));
	assert_int_equal(oc_store_cert_revoke(st, "FFFF", 1600, 1, "op", &err), OC_ENOTFOUND);
	assert_int_equal(oc_store_cert_get(st, "0A1B", &got, NULL), 0);
	assert_int_equal(got.status, OC_CERT_REVOKED);
	assert_int_equal(got.revoked_at, 1500);
	assert_int_equal(got.reason, 1);
	free(got.der);

	struct oc_cert_filter f = { .revoked_only = true, .ca = "issuing" };
	assert_int_equal(oc_store_cert_list(st, &f, count_cb, &n, NULL), 0);
	assert_int_equal(n, 1);
	n = 0;
	struct oc_cert_filter g = { .org_code = "MA1FL8XY7" };   /* embedded code */
	assert_int_equal(oc_store_cert_list(st, &g, count_cb, &n, NULL), 0);
	assert_int_equal(n, 3);
}

/* What oc_store_cert_changes listed: serials in order, and statuses. */
struct changes {
	int n;
	char serial[8][43];
	enum oc_cert_status status[8];
};

static int
changes_cb(const struct oc_cert_rec *r, void *arg)
{
	struct changes *c = arg;

	assert_true(c->n < 8);
	assert_null(r->der);
	strcpy(c->serial[c->n], r->serial);
	c->status[c->n++] = r->status;
	return 0;
}

static void
changes_since(struct oc_store *st, long long after, struct changes *c,
    long long *upto)
{
	memset(c, 0, sizeof(*c));
	assert_int_equal(oc_store_cert_changes(st, "issuing", after, changes_cb,
	    c, upto, NULL), 0);
}

static void
raw_exec(const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* Inserts and status changes are numbered in the writing transaction, by
 * any writer (another handle, the sqlite3 shell); other updates, failed
 * inserts and rolled-back transactions are not changes. */
static void
test_cert_changes(void **state)
{
	struct oc_store *st = *state, *other;
	struct oc_cert_rec r;
	struct changes c;
	struct oc_err err;
	long long u0, u1, u2, u3;

	changes_since(st, 0, &c, &u0);
	assert_int_equal(c.n, 0);
	assert_int_equal(u0, 0);
	fill_cert(&r, "0A", "");
	assert_int_equal(oc_store_cert_insert(st, &r, NULL), 0);
	fill_cert(&r, "0B", "");
	strcpy(r.ca, "root");               /* another CA's */
	assert_int_equal(oc_store_cert_insert(st, &r, NULL), 0);
	fill_cert(&r, "0C", "");
	assert_int_equal(oc_store_cert_insert(st, &r, NULL), 0);
	changes_since(st, 0, &c, &u1);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.serial[0], "0A");
	assert_string_equal(c.serial[1], "0C");
	assert_int_equal(u1, 3);
	changes_since(st, u1, &c, &u2);
	assert_int_equal(c.n, 0);
	assert_int_equal(u2, u1);

	/* Not changes: a failed insert, a rolled-back one, a link. */
	fill_cert(&r, "0A", "");
	assert_int_equal(oc_store_cert_insert(st, &r, &err), OC_EEXIST);
	assert_int_equal(oc_store_begin(st, NULL), 0);
	fill_cert(&r, "0D", "");
	assert_int_equal(oc_store_cert_insert(st, &r, NULL), 0);
	oc_store_rollback(st);
	assert_int_equal(oc_store_cert_set_replaced_by(st, "0A", "0C", NULL), 0);
	changes_since(st, u1, &c, &u2);
	assert_int_equal(c.n, 0);
	assert_int_equal(u2, u1);

	/* A revocation through another handle (as `onecert ca revoke` in
	 * another process): only that certificate, once, as revoked. */
	other = oc_store_open(dbpath, NULL);
	assert_non_null(other);
	assert_int_equal(oc_store_cert_revoke(other, "0A", 1500, 1, "op", NULL), 0);
	oc_store_close(other);
	changes_since(st, u1, &c, &u2);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.serial[0], "0A");
	assert_int_equal(c.status[0], OC_CERT_REVOKED);
	assert_true(u2 > u1);
	/* Listed once, in the order of its latest change. */
	changes_since(st, 0, &c, &u3);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.serial[0], "0C");
	assert_string_equal(c.serial[1], "0A");
	assert_int_equal(u3, u2);

	/* By hand, without onecert: still numbered (the triggers). */
	raw_exec("UPDATE certificates SET status = 'revoked', revoked_at = 9,"
	    " reason = 4 WHERE serial = '0C'");
	changes_since(st, u2, &c, &u3);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.serial[0], "0C");
	assert_int_equal(c.status[0], OC_CERT_REVOKED);
	assert_true(u3 > u2);
	raw_exec("UPDATE certificates SET revoked_by = 'x' WHERE serial = '0C'");
	changes_since(st, u3, &c, &u2);
	assert_int_equal(c.n, 0);

	/* Inside a caller's transaction: its own writes. */
	assert_int_equal(oc_store_begin(st, NULL), 0);
	fill_cert(&r, "0E", "");
	assert_int_equal(oc_store_cert_insert(st, &r, NULL), 0);
	changes_since(st, u3, &c, &u2);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.serial[0], "0E");
	assert_int_equal(oc_store_commit(st, NULL), 0);
	assert_int_equal(oc_store_cert_changes(st, NULL, 0, changes_cb, &c,
	    NULL, &err), OC_EINVAL);
}

/* A database made before migration 003: its certificates numbered, the
 * counter above them. */
static void
test_changes_migration(void **state)
{
	struct oc_store *st = *state;
	struct oc_cert_rec r;
	struct changes c;
	long long u;

	fill_cert(&r, "0A", "");
	assert_int_equal(oc_store_cert_insert(st, &r, NULL), 0);
	fill_cert(&r, "0B", "");
	assert_int_equal(oc_store_cert_insert(st, &r, NULL), 0);
	oc_store_close(st);
	/* back to schema 2 */
	raw_exec("DROP TRIGGER operators_auth_insert; DROP TRIGGER operators_auth_update;"
	    " DROP TRIGGER operators_auth_delete; DROP TRIGGER certificates_auth_update;"
	    " DROP TRIGGER certificates_auth_delete;"
	    " DELETE FROM counters WHERE name = 'auth_change';"
	    " DROP TRIGGER certificates_chg_status; DROP INDEX certificates_chg;"
	    " ALTER TABLE certificates DROP COLUMN chg;"
	    " DELETE FROM counters WHERE name = 'cert_change';"
	    " PRAGMA user_version = 2");
	*state = st = oc_store_open(dbpath, NULL);
	assert_non_null(st);
	assert_int_equal(oc_store_schema_version(st), 4);
	changes_since(st, 0, &c, &u);
	assert_int_equal(c.n, 2);
	assert_int_equal(u, 2);
	fill_cert(&r, "0C", "");
	assert_int_equal(oc_store_cert_insert(st, &r, NULL), 0);
	changes_since(st, u, &c, &u);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.serial[0], "0C");
	assert_int_equal(u, 3);
}

/* The auth version moves with what an operator check reads, and only
 * with that. */
static void
test_auth_version(void **state)
{
	struct oc_store *st = *state;
	struct oc_cert_rec r;
	long long v0, v1;

	assert_int_equal(oc_store_auth_version(st, &v0, NULL), 0);
	fill_cert(&r, "0A", "");
	assert_int_equal(oc_store_cert_insert(st, &r, NULL), 0);
	fill_cert(&r, "0B", "");
	assert_int_equal(oc_store_cert_insert(st, &r, NULL), 0);
	assert_int_equal(oc_store_cert_set_replaced_by(st, "0A", "0B", NULL), 0);
	assert_int_equal(oc_store_auth_version(st, &v1, NULL), 0);
	assert_true(v1 == v0);          /* issuing does not move it */
	assert_int_equal(oc_store_operator_grant(st, "0A", "甲", "root", NULL), 0);
	assert_int_equal(oc_store_auth_version(st, &v1, NULL), 0);
	assert_true(v1 > v0);
	v0 = v1;
	assert_int_equal(oc_store_operator_revoke(st, "0A", "root", NULL), 0);
	assert_int_equal(oc_store_auth_version(st, &v1, NULL), 0);
	assert_true(v1 > v0);
	v0 = v1;
	assert_int_equal(oc_store_cert_revoke(st, "0B", 1500, 1, "op", NULL), 0);
	assert_int_equal(oc_store_auth_version(st, &v1, NULL), 0);
	assert_true(v1 > v0);
	v0 = v1;
	raw_exec("DELETE FROM operators");
	assert_int_equal(oc_store_auth_version(st, &v1, NULL), 0);
	assert_true(v1 > v0);
	v0 = v1;
	raw_exec("UPDATE certificates SET profile = 'personal' WHERE serial = '0A'");
	assert_int_equal(oc_store_auth_version(st, &v1, NULL), 0);
	assert_true(v1 > v0);
	/* rolled back with its transaction */
	v0 = v1;
	assert_int_equal(oc_store_begin(st, NULL), 0);
	assert_int_equal(oc_store_operator_grant(st, "0B", "乙", "root", NULL), 0);
	oc_store_rollback(st);
	assert_int_equal(oc_store_auth_version(st, &v1, NULL), 0);
	assert_true(v1 == v0);
}

static void
test_medium(void **state)
{
	struct oc_store *st = *state;
	struct oc_medium m, got;

	memset(&m, 0, sizeof(m));
	strcpy(m.serial, "1a2b3c4d5e6f7a8b");
	strcpy(m.label, "ACME");
	memcpy(m.escrow, "\x01\x02\x03", 3);
	m.escrow_len = 3;
	assert_int_equal(oc_store_medium_put(st, &m, NULL), 0);
	assert_int_equal(oc_store_medium_get(st, m.serial, &got, NULL), 0);
	assert_int_equal(got.escrow_len, 3);
	assert_string_equal(got.status, "active");
	assert_int_equal(oc_store_medium_set_status(st, m.serial, "lost", NULL), 0);
	assert_int_equal(oc_store_medium_get(st, m.serial, &got, NULL), 0);
	assert_string_equal(got.status, "lost");
	assert_int_equal(oc_store_medium_set_status(st, m.serial, "melted", NULL), OC_EINVAL);
	assert_int_equal(oc_store_medium_get(st, "nope", &got, NULL), OC_ENOTFOUND);
}

static void
test_audit_chain(void **state)
{
	struct oc_store *st = *state;
	struct oc_err err;
	long long rows;
	sqlite3 *db;

	for (int i = 0; i < 5; i++)
		assert_int_equal(oc_store_audit(st, "op", "cli", "cert.issue", "cert:01",
		    "{\"n\":1}", NULL), 0);
	assert_int_equal(oc_store_audit_verify(st, &rows, NULL), 0);
	assert_int_equal(rows, 5);
	/* an edit by someone with the database file is detected */
	assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE audit SET detail = '{}' WHERE id = 3",
	    NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(oc_store_audit_verify(st, &rows, &err), OC_ECONFLICT);
	assert_non_null(strstr(err.msg, "row 3"));
	/* so is a deleted row */
	assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE audit SET detail = '{\"n\":1}' WHERE id = 3;"
	    "DELETE FROM audit WHERE id = 2", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(oc_store_audit_verify(st, &rows, &err), OC_ECONFLICT);
	assert_non_null(strstr(err.msg, "row 3"));
}

static void
test_nested_rollback(void **state)
{
	struct oc_store *st = *state;
	struct oc_company c, got;
	struct oc_err err;

	memset(&c, 0, sizeof(c));
	strcpy(c.orgcode, "600037341");
	strcpy(c.name, "x");
	assert_int_equal(oc_store_begin(st, NULL), 0);
	assert_int_equal(oc_store_company_put(st, &c, NULL), 0);
	assert_int_equal(oc_store_begin(st, NULL), 0);
	oc_store_rollback(st);          /* inner failure */
	assert_int_equal(oc_store_commit(st, &err), OC_ECONFLICT);
	assert_int_equal(oc_store_company_find(st, "600037341", &got, NULL), OC_ENOTFOUND);
}

static void
test_counter(void **state)
{
	long long v;

	assert_int_equal(oc_store_counter_next(*state, "crl:issuing", &v, NULL), 0);
	assert_int_equal(v, 1);
	assert_int_equal(oc_store_counter_next(*state, "crl:issuing", &v, NULL), 0);
	assert_int_equal(v, 2);
	assert_int_equal(oc_store_counter_next(*state, "crl:root", &v, NULL), 0);
	assert_int_equal(v, 1);
}

static int
app_cb(const struct oc_app_rec *r, void *arg)
{
	int *n = arg;

	if (r->open)
		(*n)++;
	return 0;
}

static void
test_operators_apps(void **state)
{
	struct oc_store *st = *state;
	struct oc_err err;
	char name[64];
	int n = 0;

	assert_int_equal(oc_store_operator_check(st, "0A", name, sizeof(name), &err), OC_EPERM);
	assert_int_equal(oc_store_operator_grant(st, "0A", "柜员甲", "admin", NULL), 0);
	assert_int_equal(oc_store_operator_check(st, "0A", name, sizeof(name), NULL), 0);
	assert_string_equal(name, "柜员甲");
	assert_int_equal(oc_store_operator_revoke(st, "0A", "admin", NULL), 0);
	assert_int_equal(oc_store_operator_revoke(st, "0A", "admin", &err), OC_ENOTFOUND);
	assert_int_equal(oc_store_operator_check(st, "0A", NULL, 0, &err), OC_EPERM);
	assert_int_equal(oc_store_operator_grant(st, "0A", "柜员甲", "admin", NULL), 0);
	assert_int_equal(oc_store_operator_check(st, "0A", NULL, 0, NULL), 0);

	assert_int_equal(oc_store_app_open(st, "0B", "hall", "op", NULL), 0);
	assert_int_equal(oc_store_app_open(st, "0B", "hall", "op", &err), OC_ECONFLICT);
	assert_int_equal(oc_store_app_open(st, "0B", "tax", "op", NULL), 0);
	assert_int_equal(oc_store_app_close(st, "0B", "tax", "op", NULL), 0);
	assert_int_equal(oc_store_app_close(st, "0B", "tax", "op", &err), OC_ECONFLICT);
	assert_int_equal(oc_store_app_list(st, "0B", app_cb, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_int_equal(oc_store_app_open(st, "0B", "tax", "op", NULL), 0);   /* reopen */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_migrated, setup, teardown),
		cmocka_unit_test(test_pg_not_built),
		cmocka_unit_test_setup_teardown(test_company, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enroll_transitions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_certs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cert_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changes_migration, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_medium, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nested_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_operators_apps, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
