/*
 * test_hall_store.c — the hall's applications in SQLite: one open
 * application per company (enforced by the database), the transitions and
 * the company state that moves with them, impossible transitions refused
 * with nothing changed, two racing decisions of which exactly one wins, a
 * replaced scan and the QR payloads stored and replaced with it (and
 * unknown for a scan stored before schema 4), SMS codes and registration
 * only by the main account; sessions and transactions, and group commit
 * from several threads.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <sqlite3.h>

#include "onecert/hall_store.h"
#include "store/hall_sqlite_int.h"

static char dbpath[512];

struct fx {
	struct oc_hall_store *st;
	struct oc_hall_company co;
	struct oc_hall_account a1, a2;
};

static int
setup(void **state)
{
	const char *tmp = getenv("ONECERT_TEST_TMP");
	static int n;
	struct fx *f = calloc(1, sizeof(*f));

	if (tmp == NULL)
		tmp = "/tmp";
	mkdir(tmp, 0755);
	snprintf(dbpath, sizeof(dbpath), "%s/test_hall_store.%ld.%d.db", tmp, (long)getpid(), n++);
	unlink(dbpath);
	if (f == NULL || (f->st = oc_hall_store_open(dbpath, NULL)) == NULL)
		return -1;
	if (oc_hall_company_get_or_create(f->st, "MA1FL8XY7", "91310115MA1FL8XY7N",
	    "上海浦江建筑工程有限公司", &f->co, NULL) != 0)
		return -1;
	snprintf(f->a1.uid, sizeof(f->a1.uid), "OC20261204AAAAAAAAAA");
	snprintf(f->a1.serial, sizeof(f->a1.serial), "01");
	snprintf(f->a1.kind, sizeof(f->a1.kind), "enterprise");
	f->a1.company_id = f->co.id;
	f->a2 = f->a1;
	snprintf(f->a2.uid, sizeof(f->a2.uid), "OC20261204BBBBBBBBBB");
	snprintf(f->a2.serial, sizeof(f->a2.serial), "02");
	if (oc_hall_account_login(f->st, &f->a1, NULL) != 0 ||
	    oc_hall_account_login(f->st, &f->a2, NULL) != 0)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char p[600];

	oc_hall_store_close(f->st);
	free(f);
	unlink(dbpath);
	snprintf(p, sizeof(p), "%s-wal", dbpath);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", dbpath);
	unlink(p);
	return 0;
}

static long long
draft(struct fx *f, const struct oc_hall_account *a)
{
	struct oc_hall_application app;

	memset(&app, 0, sizeof(app));
	app.company_id = f->co.id;
	app.account_id = a->id;
	snprintf(app.kind, sizeof(app.kind), "main_open");
	snprintf(app.form, sizeof(app.form), "{\"phone\":\"13816001234\"}");
	if (oc_hall_app_create(f->st, &app, NULL) != 0)
		return 0;
	return app.id;
}

static const char *
company_state(struct fx *f)
{
	static struct oc_hall_company co;

	assert_int_equal(oc_hall_company_get(f->st, f->co.id, &co, NULL), 0);
	return co.state;
}

static void
test_one_open_application(void **state)
{
	struct fx *f = *state;
	struct oc_hall_application cur;
	struct oc_err err;
	long long id = draft(f, &f->a1);

	assert_true(id > 0);
	/* the second certificate of the company cannot open another */
	struct oc_hall_application app;
	memset(&app, 0, sizeof(app));
	app.company_id = f->co.id;
	app.account_id = f->a2.id;
	snprintf(app.kind, sizeof(app.kind), "main_open");
	assert_int_equal(oc_hall_app_create(f->st, &app, &err), OC_EEXIST);
	assert_int_equal(oc_hall_app_current(f->st, f->co.id, "main_open", &cur, NULL), 0);
	assert_int_equal(cur.id, id);
	/* once withdrawn, a new one may start; the open one is "current" */
	assert_int_equal(oc_hall_app_withdraw(f->st, id, 100, NULL), 0);
	long long id2 = draft(f, &f->a2);
	assert_true(id2 > id);
	assert_int_equal(oc_hall_app_current(f->st, f->co.id, "main_open", &cur, NULL), 0);
	assert_int_equal(cur.id, id2);
}

static void
test_transitions(void **state)
{
	struct fx *f = *state;
	struct oc_hall_application app;
	struct oc_hall_account acc;
	struct oc_err err;
	long long id = draft(f, &f->a1);
	unsigned char jpeg[4] = { 0xff, 0xd8, 0xff, 0xd9 }, *back = NULL;
	size_t len = 0;

	/* no scan: no submission, nothing changed — the fields given with it
	 * (保存提交) not saved either: one transaction */
	assert_int_equal(oc_hall_app_submit(f->st, id, 100, 200, "none", &err), OC_ECONFLICT);
	assert_int_equal(oc_hall_app_submit_form(f->st, id, "{\"x\":\"new\"}", 100, 200, "none",
	    &err), OC_ECONFLICT);
	assert_int_equal(oc_hall_app_get(f->st, id, &app, NULL), 0);
	assert_string_not_equal(app.form, "{\"x\":\"new\"}");
	assert_string_equal(app.state, "draft");
	assert_string_equal(company_state(f), "none");
	assert_int_equal(oc_hall_app_put_scan(f->st, id, jpeg, 4, "aa", "match", NULL), 0);
	jpeg[1] = 0xd9;
	assert_int_equal(oc_hall_app_put_scan(f->st, id, jpeg, 3, "bb", "none", NULL), 0);
	assert_int_equal(oc_hall_app_get_scan(f->st, id, &back, &len, NULL), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(back, jpeg, 3);
	free(back);
	/* deciding a draft is impossible */
	assert_int_equal(oc_hall_app_decide(f->st, id, true, "R1", "", 150, &err), OC_ECONFLICT);
	assert_int_equal(oc_hall_app_submit_form(f->st, id, "{\"x\":\"sent\"}", 100, 200, "match",
	    NULL), 0);
	assert_string_equal(company_state(f), "main_pending");
	assert_int_equal(oc_hall_app_get(f->st, id, &app, NULL), 0);
	assert_string_equal(app.form, "{\"x\":\"sent\"}");
	assert_int_equal(oc_hall_app_submit(f->st, id, 100, 200, "match", &err), OC_ECONFLICT);
	assert_int_equal(oc_hall_app_update_form(f->st, id, "{}", NULL, &err), OC_ECONFLICT);
	assert_int_equal(oc_hall_app_put_scan(f->st, id, jpeg, 4, "cc", "none", &err), OC_ECONFLICT);
	assert_int_equal(oc_hall_app_get(f->st, id, &app, NULL), 0);
	assert_string_equal(app.state, "submitted");
	assert_int_equal(app.deadline, 200);
	assert_int_equal(app.scan_len, 3);
	/* approve: main certificate set, account role main */
	assert_int_equal(oc_hall_app_decide(f->st, id, true, "R1", "", 150, NULL), 0);
	assert_string_equal(company_state(f), "main_active");
	assert_int_equal(oc_hall_account_get(f->st, f->a1.id, &acc, NULL), 0);
	assert_string_equal(acc.role, "main");
	assert_int_equal(oc_hall_app_decide(f->st, id, false, "R2", "x", 160, &err), OC_ECONFLICT);
	assert_int_equal(oc_hall_app_withdraw(f->st, id, 170, &err), OC_ECONFLICT);
	assert_int_equal(oc_hall_app_get(f->st, id, &app, NULL), 0);
	assert_string_equal(app.state, "approved");
	assert_string_equal(app.decided_by, "R1");
	/* registration: only by the main account, once */
	assert_int_equal(oc_hall_company_register(f->st, f->co.id, f->a2.id, "{}", 180, &err),
	    OC_ECONFLICT);
	assert_int_equal(oc_hall_company_register(f->st, f->co.id, f->a1.id, "{\"a\":1}", 180, NULL), 0);
	assert_string_equal(company_state(f), "registered");
	assert_int_equal(oc_hall_company_register(f->st, f->co.id, f->a1.id, "{}", 190, &err),
	    OC_ECONFLICT);
}

/* The QR payloads read at upload are stored with the scan, byte for
 * byte (whatever they hold), and replaced with it. */
static void
test_scan_qr(void **state)
{
	struct fx *f = *state;
	struct oc_hall_application app;
	struct oc_err err;
	long long id = draft(f, &f->a1);
	unsigned char jpeg[4] = { 0xff, 0xd8, 0xff, 0xd9 };
	char longer[200];
	const char *qr[5] = { "OC1-7-0123456789ABCDEF-0123456789ABCDEF0123456789ABCDEF",
	    "\xff\xfe not UTF-8 \x01", longer, "", "fifth" };

	memset(longer, 'L', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	assert_int_equal(oc_hall_app_get(f->st, id, &app, NULL), 0);
	assert_false(app.scan_qr_known);
	assert_int_equal(oc_hall_app_put_scan2(f->st, id, jpeg, 4, "aa", "match", qr, 5, NULL), 0);
	assert_int_equal(oc_hall_app_get(f->st, id, &app, NULL), 0);
	assert_true(app.scan_qr_known);
	assert_int_equal(app.n_scan_qr, 4);         /* at most 4, as oc_scan_check */
	assert_string_equal(app.scan_qr[0], qr[0]);
	assert_string_equal(app.scan_qr[1], qr[1]);
	assert_int_equal(strlen(app.scan_qr[2]), 127);
	assert_memory_equal(app.scan_qr[2], longer, 127);
	assert_string_equal(app.scan_qr[3], "");
	/* a new scan without QR codes: none known, not the old ones */
	assert_int_equal(oc_hall_app_put_scan2(f->st, id, jpeg, 3, "bb", "none", qr, 0, NULL), 0);
	assert_int_equal(oc_hall_app_get(f->st, id, &app, NULL), 0);
	assert_true(app.scan_qr_known);
	assert_int_equal(app.n_scan_qr, 0);
	assert_int_equal(app.scan_len, 3);
	/* replaced again with one */
	assert_int_equal(oc_hall_app_put_scan2(f->st, id, jpeg, 4, "cc", "match", qr, 1, NULL), 0);
	assert_int_equal(oc_hall_app_current(f->st, f->co.id, "main_open", &app, NULL), 0);
	assert_true(app.scan_qr_known);
	assert_int_equal(app.n_scan_qr, 1);
	assert_string_equal(app.scan_qr[0], qr[0]);
	/* the old call stores a scan whose payloads are not known */
	assert_int_equal(oc_hall_app_put_scan(f->st, id, jpeg, 4, "dd", "match", NULL), 0);
	assert_int_equal(oc_hall_app_get(f->st, id, &app, NULL), 0);
	assert_false(app.scan_qr_known);
	assert_int_equal(app.n_scan_qr, 0);
	/* once submitted, a refused replacement leaves scan and payloads */
	assert_int_equal(oc_hall_app_put_scan2(f->st, id, jpeg, 4, "ee", "match", qr, 1, NULL), 0);
	assert_int_equal(oc_hall_app_submit(f->st, id, 100, 200, "match", NULL), 0);
	assert_int_equal(oc_hall_app_put_scan2(f->st, id, jpeg, 3, "ff", "none", qr + 1, 1, &err),
	    OC_ECONFLICT);
	assert_int_equal(oc_hall_app_get(f->st, id, &app, NULL), 0);
	assert_string_equal(app.scan_sha256, "ee");
	assert_int_equal(app.n_scan_qr, 1);
	assert_string_equal(app.scan_qr[0], qr[0]);
}

/* A database of schema 3 with a scan: after the migration the scan is
 * there and its payloads are not known (submission decodes it). */
static void
test_scan_qr_migration(void **state)
{
	struct fx *f = *state;
	struct oc_hall_application app;
	long long id = draft(f, &f->a1);
	unsigned char jpeg[4] = { 0xff, 0xd8, 0xff, 0xd9 };
	const char *qr[1] = { "OC1-1-X" };
	int v = 0;
	sqlite3_stmt *s;

	assert_int_equal(oc_hall_app_put_scan2(f->st, id, jpeg, 4, "aa", "match", qr, 1, NULL), 0);
	/* back to schema 3 */
	assert_int_equal(sqlite3_exec(f->st->db, "ALTER TABLE applications DROP COLUMN scan_qr;"
	    " ALTER TABLE accounts DROP COLUMN removed_at; DROP INDEX sessions_last_seen;"
	    " PRAGMA user_version = 3;", NULL, NULL,
	    NULL), SQLITE_OK);
	oc_hall_store_close(f->st);
	assert_non_null(f->st = oc_hall_store_open(dbpath, NULL));
	assert_int_equal(sqlite3_prepare_v2(f->st->db, "PRAGMA user_version", -1, &s, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	assert_int_equal(v, 6);     /* the latest schema */
	assert_int_equal(oc_hall_app_get(f->st, id, &app, NULL), 0);
	assert_int_equal(app.scan_len, 4);
	assert_string_equal(app.scan_sha256, "aa");
	assert_false(app.scan_qr_known);
	assert_int_equal(app.n_scan_qr, 0);
}

static void
test_reject_returns_to_none(void **state)
{
	struct fx *f = *state;
	unsigned char jpeg[4] = { 0xff, 0xd8, 0xff, 0xd9 };
	struct oc_hall_application app;
	long long id = draft(f, &f->a1);

	assert_int_equal(oc_hall_app_put_scan(f->st, id, jpeg, 4, "aa", "match", NULL), 0);
	assert_int_equal(oc_hall_app_submit(f->st, id, 100, 200, "match", NULL), 0);
	assert_int_equal(oc_hall_app_decide(f->st, id, false, "R1", "印章不清晰", 150, NULL), 0);
	assert_string_equal(company_state(f), "none");
	assert_int_equal(oc_hall_app_get(f->st, id, &app, NULL), 0);
	assert_string_equal(app.reason, "印章不清晰");
}

struct racer {
	long long id;
	bool approve;
	int rc;
};

static void *
race(void *arg)
{
	struct racer *r = arg;
	struct oc_hall_store *st = oc_hall_store_open(dbpath, NULL);

	r->rc = st == NULL ? -999 : oc_hall_app_decide(st, r->id, r->approve, r->approve ? "A" : "B",
	    "reason", 150, NULL);
	oc_hall_store_close(st);
	return NULL;
}

static void
test_racing_decisions(void **state)
{
	struct fx *f = *state;
	unsigned char jpeg[4] = { 0xff, 0xd8, 0xff, 0xd9 };

	for (int round = 0; round < 20; round++) {
		struct oc_hall_application app;
		long long id = draft(f, &f->a1);
		struct racer r[2] = { { id, true, 1 }, { id, false, 1 } };
		pthread_t t[2];

		assert_true(id > 0);
		assert_int_equal(oc_hall_app_put_scan(f->st, id, jpeg, 4, "aa", "match", NULL), 0);
		assert_int_equal(oc_hall_app_submit(f->st, id, 100, 200, "match", NULL), 0);
		for (int i = 0; i < 2; i++)
			assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
		for (int i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		/* exactly one decision won; the company agrees with it */
		assert_true((r[0].rc == 0) != (r[1].rc == 0));
		assert_int_equal(r[0].rc == 0 ? r[1].rc : r[0].rc, OC_ECONFLICT);
		assert_int_equal(oc_hall_app_get(f->st, id, &app, NULL), 0);
		assert_string_equal(app.state, r[0].rc == 0 ? "approved" : "rejected");
		if (r[0].rc == 0) {
			assert_string_equal(company_state(f), "main_active");
			return;
		}
		assert_string_equal(company_state(f), "none");
	}
}

static void
test_sms_codes(void **state)
{
	struct fx *f = *state;
	struct oc_hall_sms_code c, got;
	int tries = 0;

	memset(&c, 0, sizeof(c));
	c.account_id = f->a1.id;
	snprintf(c.mobile, sizeof(c.mobile), "13816001234");
	snprintf(c.code_hash, sizeof(c.code_hash), "%064d", 1);
	c.sent_at = 100;
	c.expires_at = 700;
	assert_int_equal(oc_hall_sms_code_get(f->st, f->a1.id, &got, NULL), OC_ENOTFOUND);
	assert_int_equal(oc_hall_sms_code_put(f->st, &c, NULL), 0);
	assert_int_equal(oc_hall_sms_code_fail(f->st, f->a1.id, &tries, NULL), 0);
	assert_int_equal(oc_hall_sms_code_fail(f->st, f->a1.id, &tries, NULL), 0);
	assert_int_equal(tries, 2);
	assert_int_equal(oc_hall_sms_code_get(f->st, f->a1.id, &got, NULL), 0);
	assert_int_equal(got.tries, 2);
	assert_int_equal(got.expires_at, 700);
	/* a new code resets the tries */
	assert_int_equal(oc_hall_sms_code_put(f->st, &c, NULL), 0);
	assert_int_equal(oc_hall_sms_code_get(f->st, f->a1.id, &got, NULL), 0);
	assert_int_equal(got.tries, 0);
	assert_int_equal(oc_hall_sms_code_delete(f->st, f->a1.id, NULL), 0);
	assert_int_equal(oc_hall_sms_code_get(f->st, f->a1.id, &got, NULL), OC_ENOTFOUND);
}

/* Sessions through the statement cache, and one transaction around
 * several writes: rolled back, nothing; committed, everything. */
static void
test_sessions_and_transactions(void **state)
{
	struct fx *f = *state;
	struct oc_hall_session x, got;
	struct oc_err err;

	memset(&x, 0, sizeof(x));
	snprintf(x.id_hash, sizeof(x.id_hash), "%064d", 1);
	snprintf(x.csrf, sizeof(x.csrf), "csrf1");
	snprintf(x.serial, sizeof(x.serial), "01");
	x.account_id = f->a1.id;
	x.created_at = x.last_seen = x.checked_at = 1000;
	x.cert[0] = 0x30;
	x.cert_len = 1;

	assert_int_equal(oc_hall_begin(f->st, &err), 0);
	assert_int_equal(oc_hall_session_put(f->st, &x, &err), 0);
	assert_int_equal(oc_hall_audit(f->st, "01", "test", "login", "", "{}", &err), 0);
	oc_hall_rollback(f->st);
	assert_int_equal(oc_hall_session_get(f->st, x.id_hash, &got, &err), OC_ENOTFOUND);
	oc_hall_rollback(f->st);                 /* outside a transaction: nothing */

	assert_int_equal(oc_hall_begin(f->st, &err), 0);
	assert_int_equal(oc_hall_session_put(f->st, &x, &err), 0);
	/* a second session with the same id fails inside the transaction */
	assert_int_equal(oc_hall_session_put(f->st, &x, &err), OC_EEXIST);
	assert_int_equal(oc_hall_commit(f->st, &err), 0);
	/* the same cached statements, many times over */
	for (int i = 0; i < 100; i++) {
		assert_int_equal(oc_hall_session_get(f->st, x.id_hash, &got, &err), 0);
		assert_string_equal(got.csrf, "csrf1");
		assert_int_equal(oc_hall_session_touch(f->st, x.id_hash, 1000 + i, i == 50, &err), 0);
	}
	assert_int_equal(oc_hall_session_get(f->st, x.id_hash, &got, &err), 0);
	assert_int_equal(got.last_seen, 1099);
	assert_int_equal(got.checked_at, 1050);
	/* a read snapshot: a write from another handle is not seen inside it */
	{
		struct oc_hall_store *other = oc_hall_store_open(dbpath, &err);

		assert_non_null(other);
		assert_int_equal(oc_hall_read_begin(f->st, &err), 0);
		assert_int_equal(oc_hall_session_get(f->st, x.id_hash, &got, &err), 0);
		assert_int_equal(oc_hall_session_end(other, x.id_hash, &err), 0);
		assert_int_equal(oc_hall_session_get(f->st, x.id_hash, &got, &err), 0);
		oc_hall_read_end(f->st);
		assert_int_equal(oc_hall_session_get(f->st, x.id_hash, &got, &err), OC_ENOTFOUND);
		oc_hall_store_close(other);
	}
}

/* Idle sessions go, oldest first, at most limit at a time; a session seen
 * at or after the cut stays. */
static void
test_session_prune(void **state)
{
	struct fx *f = *state;
	struct oc_hall_session x, got;
	struct oc_err err;
	int n = -1;

	memset(&x, 0, sizeof(x));
	snprintf(x.csrf, sizeof(x.csrf), "c");
	snprintf(x.serial, sizeof(x.serial), "01");
	x.account_id = f->a1.id;
	x.cert[0] = 0x30;
	x.cert_len = 1;
	for (int i = 0; i < 10; i++) {
		snprintf(x.id_hash, sizeof(x.id_hash), "%064d", i);
		x.created_at = x.last_seen = x.checked_at = 1000 + i * 100;
		assert_int_equal(oc_hall_session_put(f->st, &x, &err), 0);
	}
	/* before 1500: sessions 0..4 are idle; 3 at a time, oldest first */
	assert_int_equal(oc_hall_session_prune(f->st, 1500, 3, &n, &err), 0);
	assert_int_equal(n, 3);
	snprintf(x.id_hash, sizeof(x.id_hash), "%064d", 2);
	assert_int_equal(oc_hall_session_get(f->st, x.id_hash, &got, &err), OC_ENOTFOUND);
	snprintf(x.id_hash, sizeof(x.id_hash), "%064d", 3);
	assert_int_equal(oc_hall_session_get(f->st, x.id_hash, &got, &err), 0);
	assert_int_equal(oc_hall_session_prune(f->st, 1500, 3, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(oc_hall_session_prune(f->st, 1500, 3, &n, &err), 0);
	assert_int_equal(n, 0);
	/* limit 0: every idle one; last_seen == the cut is not idle */
	assert_int_equal(oc_hall_session_prune(f->st, 1800, 0, &n, &err), 0);
	assert_int_equal(n, 3);
	snprintf(x.id_hash, sizeof(x.id_hash), "%064d", 8);
	assert_int_equal(oc_hall_session_get(f->st, x.id_hash, &got, &err), 0);
	snprintf(x.id_hash, sizeof(x.id_hash), "%064d", 9);
	assert_int_equal(oc_hall_session_get(f->st, x.id_hash, &got, &err), 0);
}

/* The version the loop's /me cache keys on (oc_hall_data_version): equal
 * while nothing is committed; moves for a commit by another handle (also
 * one that only ends a session) and for this handle's own writes; never
 * equal across handles. */
static void
test_data_version(void **state)
{
	struct fx *f = *state;
	struct oc_hall_store *other = oc_hall_store_open(dbpath, NULL);
	struct oc_hall_version v1, v2, w;
	struct oc_hall_session x;
	struct oc_err err;

	assert_non_null(other);
	memset(&x, 0, sizeof(x));
	snprintf(x.id_hash, sizeof(x.id_hash), "%064d", 7);
	snprintf(x.csrf, sizeof(x.csrf), "c");
	x.account_id = f->a1.id;
	x.cert_len = 1;
	assert_int_equal(oc_hall_data_version(f->st, &v1, &err), 0);
	assert_int_equal(oc_hall_data_version(f->st, &v2, &err), 0);
	assert_true(v1.handle != 0 && v1.handle == v2.handle);
	assert_true(v1.data == v2.data && v1.changes == v2.changes);
	assert_int_equal(oc_hall_data_version(other, &w, &err), 0);
	assert_true(w.handle != v1.handle);
	/* another handle commits */
	assert_int_equal(oc_hall_session_put(other, &x, &err), 0);
	assert_int_equal(oc_hall_data_version(f->st, &v2, &err), 0);
	assert_true(v2.data != v1.data);
	/* inside a read transaction: the snapshot's version, stable */
	assert_int_equal(oc_hall_read_begin(f->st, &err), 0);
	assert_int_equal(oc_hall_data_version(f->st, &v1, &err), 0);
	assert_int_equal(oc_hall_session_end(other, x.id_hash, &err), 0);
	assert_int_equal(oc_hall_data_version(f->st, &v2, &err), 0);
	assert_true(v1.data == v2.data && v1.changes == v2.changes);
	oc_hall_read_end(f->st);
	assert_int_equal(oc_hall_data_version(f->st, &v2, &err), 0);
	assert_true(v2.data != v1.data);
	/* this handle's own write */
	assert_int_equal(oc_hall_data_version(f->st, &v1, &err), 0);
	assert_int_equal(oc_hall_session_put(f->st, &x, &err), 0);
	assert_int_equal(oc_hall_data_version(f->st, &v2, &err), 0);
	assert_true(v2.data != v1.data || v2.changes != v1.changes);
	oc_hall_store_close(other);
}

/* Group commit: threads with their own handles commit at once; every
 * commit returns only when it is in the synced WAL, and every row is
 * there afterwards. */
struct committer {
	long long account;
	int id;
	int failed;
};

static void *
commit_many(void *arg)
{
	struct committer *c = arg;
	struct oc_hall_store *st = oc_hall_store_open(dbpath, NULL);
	struct oc_hall_session x;

	if (st == NULL) {
		c->failed = 1000;
		return NULL;
	}
	for (int i = 0; i < 50; i++) {
		memset(&x, 0, sizeof(x));
		snprintf(x.id_hash, sizeof(x.id_hash), "%032d%032d", c->id, i);
		snprintf(x.csrf, sizeof(x.csrf), "c");
		snprintf(x.serial, sizeof(x.serial), "%02d", c->id);
		x.account_id = c->account;
		x.cert[0] = 0x30;
		x.cert_len = 1;
		if (oc_hall_begin(st, NULL) != 0 || oc_hall_session_put(st, &x, NULL) != 0 ||
		    oc_hall_audit(st, x.serial, "test", "login", "", "{}", NULL) != 0 ||
		    oc_hall_commit(st, NULL) != 0) {
			oc_hall_rollback(st);
			c->failed++;
		}
		/* a rolled-back transaction in between, and an autocommit write */
		if (i % 10 == 0) {
			if (oc_hall_begin(st, NULL) != 0)
				c->failed++;
			oc_hall_rollback(st);
			if (oc_hall_audit(st, x.serial, "test", "autocommit", "", "{}", NULL) != 0)
				c->failed++;
		}
	}
	oc_hall_store_close(st);
	return NULL;
}

static void
test_group_commit(void **state)
{
	struct fx *f = *state;
	struct committer c[4];
	pthread_t t[4];
	struct oc_hall_store *st;
	struct oc_hall_session got;
	char id[65];

	for (int i = 0; i < 4; i++) {
		c[i].account = f->a1.id;
		c[i].id = i;
		c[i].failed = 0;
		assert_int_equal(pthread_create(&t[i], NULL, commit_many, &c[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(c[i].failed, 0);
	}
	assert_non_null(st = oc_hall_store_open(dbpath, NULL));
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 50; j++) {
			snprintf(id, sizeof(id), "%032d%032d", i, j);
			assert_int_equal(oc_hall_session_get(st, id, &got, NULL), 0);
		}
	oc_hall_store_close(st);
	/* the fixture's handle still commits after the others closed */
	assert_int_equal(oc_hall_begin(f->st, NULL), 0);
	assert_int_equal(oc_hall_audit(f->st, "01", "test", "login", "", "{}", NULL), 0);
	assert_int_equal(oc_hall_commit(f->st, NULL), 0);
}

/* The writer gate (hall_sqlite.c, struct hs_group): while one handle of
 * the process is in an oc_hall_begin transaction, another handle's
 * oc_hall_begin waits for it without trying SQLite's write lock, so
 * SQLite's busy handler (which sleeps 1, 2, 5… ms between tries) is never
 * called between handles of one process; and every way a transaction
 * ends lets the next writer in. */
struct gated {
	struct oc_hall_store *st;
	int busy_calls;
	int rc;
};

static int
count_busy(void *arg, int n)
{
	(void)n;
	((struct gated *)arg)->busy_calls++;
	return 1;                    /* try again at once */
}

static void *
begin_commit(void *arg)
{
	struct gated *g = arg;

	g->rc = oc_hall_begin(g->st, NULL);
	if (g->rc == 0) {
		oc_hall_audit(g->st, "02", "test", "gate", "", "{}", NULL);
		g->rc = oc_hall_commit(g->st, NULL);
	}
	return NULL;
}

static void
test_writer_gate(void **state)
{
	struct fx *f = *state;
	struct gated g = { 0 };
	struct oc_hall_store *other;
	pthread_t t;

	assert_non_null(g.st = oc_hall_store_open(dbpath, NULL));
	sqlite3_busy_handler(g.st->db, count_busy, &g);
	/* f->st writes while the other handle begins: it waits at the gate */
	assert_int_equal(oc_hall_begin(f->st, NULL), 0);
	assert_int_equal(oc_hall_audit(f->st, "01", "test", "gate", "", "{}", NULL), 0);
	assert_int_equal(pthread_create(&t, NULL, begin_commit, &g), 0);
	usleep(50 * 1000);           /* let it reach the gate (or SQLite's lock) */
	assert_int_equal(oc_hall_commit(f->st, NULL), 0);
	pthread_join(t, NULL);
	assert_int_equal(g.rc, 0);
	assert_int_equal(g.busy_calls, 0);

	/* a thread in a transaction that begins another on a second handle
	 * is refused at once, instead of waiting at the gate for itself */
	assert_int_equal(oc_hall_begin(f->st, NULL), 0);
	assert_int_equal(oc_hall_begin(g.st, NULL), OC_ESTORE);
	assert_int_equal(oc_hall_commit(f->st, NULL), 0);
	assert_int_equal(oc_hall_begin(g.st, NULL), 0);
	assert_int_equal(oc_hall_commit(g.st, NULL), 0);

	/* a rollback, and a BEGIN after SQLite rolled back by itself,
	 * leave the gate */
	assert_int_equal(oc_hall_begin(f->st, NULL), 0);
	oc_hall_rollback(f->st);
	begin_commit(&g);
	assert_int_equal(g.rc, 0);
	assert_int_equal(oc_hall_begin(f->st, NULL), 0);
	assert_int_equal(sqlite3_exec(f->st->db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(oc_hall_begin(f->st, NULL), 0);   /* its own gate: no wait */
	assert_int_equal(oc_hall_commit(f->st, NULL), 0);
	begin_commit(&g);
	assert_int_equal(g.rc, 0);
	/* a handle closed in the middle of a transaction leaves it too */
	assert_non_null(other = oc_hall_store_open(dbpath, NULL));
	assert_int_equal(oc_hall_begin(other, NULL), 0);
	oc_hall_store_close(other);
	begin_commit(&g);
	assert_int_equal(g.rc, 0);
	assert_int_equal(g.busy_calls, 0);
	/* a BEGIN refused inside the handle's own transaction ends nothing:
	 * the other handle still waits at the gate, not on SQLite's lock */
	assert_int_equal(oc_hall_begin(f->st, NULL), 0);
	assert_int_not_equal(oc_hall_begin(f->st, NULL), 0);
	assert_int_equal(pthread_create(&t, NULL, begin_commit, &g), 0);
	usleep(50 * 1000);
	assert_int_equal(oc_hall_commit(f->st, NULL), 0);
	pthread_join(t, NULL);
	assert_int_equal(g.rc, 0);
	assert_int_equal(g.busy_calls, 0);
	oc_hall_store_close(g.st);
}

static int
sync_level(sqlite3 *db)
{
	sqlite3_stmt *s;
	int v = -1;

	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA synchronous", -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* oc_hall_begin's transactions run at synchronous=NORMAL (group commit);
 * every other write runs at FULL: a statement outside a transaction, or a
 * transaction begun any other way — also after SQLite has rolled a
 * transaction back by itself (SQLITE_FULL).  The level is not switched
 * back after each commit: a read outside a transaction leaves it as it
 * is, and the next write outside one switches it first. */
static void
test_writes_outside_group_at_full(void **state)
{
	struct fx *f = *state;
	struct oc_hall_company co;
	sqlite3_stmt *s;
	char q[64], hash[65];
	int pages;

	memset(hash, 'a', 64);
	hash[64] = '\0';
	assert_int_equal(sync_level(f->st->db), 2);
	assert_int_equal(oc_hall_begin(f->st, NULL), 0);
	assert_int_equal(sync_level(f->st->db), 1);
	assert_int_equal(oc_hall_commit(f->st, NULL), 0);
	/* reads leave it alone */
	assert_int_not_equal(oc_hall_company_get(f->st, 424242, &co, NULL), 0);
	assert_int_equal(sync_level(f->st->db), 1);
	/* a write outside a transaction: FULL before it runs */
	assert_int_equal(oc_hall_challenge_put(f->st, hash, time(NULL) + 60, NULL), 0);
	assert_int_equal(sync_level(f->st->db), 2);
	assert_int_equal(oc_hall_begin(f->st, NULL), 0);
	oc_hall_rollback(f->st);
	assert_int_equal(sync_level(f->st->db), 1);
	/* a transaction of its own: a read transaction (which may write) … */
	assert_int_equal(oc_hall_read_begin(f->st, NULL), 0);
	assert_int_equal(sync_level(f->st->db), 2);
	oc_hall_read_end(f->st);
	/* … and one begun by hs_exec, as the other store files do */
	assert_int_equal(oc_hall_begin(f->st, NULL), 0);
	assert_int_equal(oc_hall_commit(f->st, NULL), 0);
	assert_int_equal(sync_level(f->st->db), 1);
	assert_int_equal(hs_exec(f->st, "BEGIN IMMEDIATE", NULL), 0);
	assert_int_equal(sync_level(f->st->db), 2);
	assert_int_equal(hs_exec(f->st, "COMMIT", NULL), 0);

	/* the database may grow by 3 pages only: a 100 KB row fails with
	 * SQLITE_FULL and SQLite rolls the transaction back by itself */
	assert_int_equal(sqlite3_exec(f->st->db, "CREATE TABLE big (x BLOB)", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(f->st->db, "PRAGMA page_count", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	pages = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	snprintf(q, sizeof(q), "PRAGMA max_page_count = %d", pages + 3);
	assert_int_equal(sqlite3_exec(f->st->db, q, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(oc_hall_begin(f->st, NULL), 0);
	assert_int_equal(sqlite3_exec(f->st->db, "INSERT INTO big VALUES (zeroblob(100000))",
	    NULL, NULL, NULL), SQLITE_FULL);
	assert_true(sqlite3_get_autocommit(f->st->db));
	oc_hall_rollback(f->st);
	hash[0] = 'b';
	assert_int_equal(oc_hall_challenge_put(f->st, hash, time(NULL) + 60, NULL), 0);
	assert_int_equal(sync_level(f->st->db), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_one_open_application, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transitions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_qr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_qr_migration, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reject_returns_to_none, setup, teardown),
		cmocka_unit_test_setup_teardown(test_racing_decisions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sms_codes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions_and_transactions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_prune, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_data_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writes_outside_group_at_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_gate, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
