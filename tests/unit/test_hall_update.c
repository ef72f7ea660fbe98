/*
 * test_hall_update.c — the signed main-certificate update in the hall's
 * SQLite store (oc_hall_app_update_signed): the application written
 * approved, the old main retired with its sessions, the new one made main,
 * all in one transaction; a second update naming a main that is no longer
 * the main changes nothing; the applicant's own open paper update is
 * withdrawn by it, another certificate's is left and cannot be approved
 * afterwards (oc_hall_app_decide2 → OC_ECONFLICT, nothing changed).
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

#include "onecert/hall_store.h"

static char dbpath[512];

struct fx {
	struct oc_hall_store *st;
	struct oc_hall_company co;
	struct oc_hall_account a[4];    /* a[0] the first main; the rest new certificates */
};

static void
account(struct fx *f, int i, const char *uid, const char *serial)
{
	struct oc_hall_account *a = &f->a[i];

	snprintf(a->uid, sizeof(a->uid), "%s", uid);
	snprintf(a->serial, sizeof(a->serial), "%s", serial);
	snprintf(a->kind, sizeof(a->kind), "enterprise");
	a->company_id = f->co.id;
	assert_int_equal(oc_hall_account_login(f->st, a, NULL), 0);
}

/* 开通 of a[0], approved: the company's main certificate. */
static int
setup(void **state)
{
	const char *tmp = getenv("ONECERT_TEST_TMP");
	static int n;
	struct fx *f = calloc(1, sizeof(*f));
	struct oc_hall_application app;
	unsigned char jpeg[4] = { 0xff, 0xd8, 0xff, 0xd9 };

	if (tmp == NULL)
		tmp = "/tmp";
	mkdir(tmp, 0755);
	snprintf(dbpath, sizeof(dbpath), "%s/test_hall_update.%ld.%d.db", tmp, (long)getpid(), n++);
	unlink(dbpath);
	if (f == NULL || (f->st = oc_hall_store_open(dbpath, NULL)) == NULL)
		return -1;
	if (oc_hall_company_get_or_create(f->st, "MA1FL8XY7", "91310115MA1FL8XY7N",
	    "上海浦江建筑工程有限公司", &f->co, NULL) != 0)
		return -1;
	account(f, 0, "OC20261204AAAAAAAAAA", "0A");
	account(f, 1, "OC20261204BBBBBBBBBB", "0B");
	account(f, 2, "OC20261204CCCCCCCCCC", "0C");
	account(f, 3, "OC20261204DDDDDDDDDD", "0D");
	memset(&app, 0, sizeof(app));
	app.company_id = f->co.id;
	app.account_id = f->a[0].id;
	snprintf(app.kind, sizeof(app.kind), "main_open");
	if (oc_hall_app_create(f->st, &app, NULL) != 0 ||
	    oc_hall_app_put_scan(f->st, app.id, jpeg, sizeof(jpeg), "x", "match", NULL) != 0 ||
	    oc_hall_app_submit(f->st, app.id, 100, 200, "match", NULL) != 0 ||
	    oc_hall_app_decide(f->st, app.id, true, "REV", "", 150, NULL) != 0 ||
	    oc_hall_company_get(f->st, f->co.id, &f->co, NULL) != 0)
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

static void
signed_app(struct fx *f, int who, const char *old_serial, struct oc_hall_application *app)
{
	memset(app, 0, sizeof(*app));
	app->company_id = f->co.id;
	app->account_id = f->a[who].id;
	snprintf(app->kind, sizeof(app->kind), "main_update");
	snprintf(app->form, sizeof(app->form), "{\"method\":\"signed\",\"old_serial\":\"%s\"}",
	    old_serial);
}

static long long
paper(struct fx *f, int who, const char *old_serial, bool submit)
{
	struct oc_hall_application app;
	unsigned char jpeg[4] = { 0xff, 0xd8, 0xff, 0xd9 };

	memset(&app, 0, sizeof(app));
	app.company_id = f->co.id;
	app.account_id = f->a[who].id;
	snprintf(app.kind, sizeof(app.kind), "main_update");
	snprintf(app.form, sizeof(app.form), "{\"old_serial\":\"%s\"}", old_serial);
	assert_int_equal(oc_hall_app_create(f->st, &app, NULL), 0);
	if (submit) {
		assert_int_equal(oc_hall_app_put_scan(f->st, app.id, jpeg, sizeof(jpeg), "x", "match",
		    NULL), 0);
		assert_int_equal(oc_hall_app_submit(f->st, app.id, 300, 400, "match", NULL), 0);
	}
	return app.id;
}

static long long
main_of(struct fx *f)
{
	struct oc_hall_company co;

	assert_int_equal(oc_hall_company_get(f->st, f->co.id, &co, NULL), 0);
	return co.main_account_id;
}

static const char *
status_of(struct fx *f, int i, char *role)
{
	static struct oc_hall_account a;

	assert_int_equal(oc_hall_account_get(f->st, f->a[i].id, &a, NULL), 0);
	if (role != NULL)
		snprintf(role, 16, "%s", a.role);
	return a.status;
}

static int
count(const struct oc_hall_application *app, void *arg)
{
	(void)app;
	(*(int *)arg)++;
	return 0;
}

static int
n_apps(struct fx *f)
{
	int n = 0;

	assert_int_equal(oc_hall_app_list_company(f->st, f->co.id, "main_update", NULL, 0, count,
	    &n, NULL), 0);
	return n;
}

static void
test_signed_swaps_the_main(void **state)
{
	struct fx *f = *state;
	struct oc_hall_application app;
	struct oc_hall_session s, got;
	char retired[43] = "", role[16];
	long long withdrawn = -1;

	assert_int_equal(main_of(f), f->a[0].id);
	/* the old main has a session */
	memset(&s, 0, sizeof(s));
	snprintf(s.id_hash, sizeof(s.id_hash), "%064d", 1);
	s.account_id = f->a[0].id;
	snprintf(s.csrf, sizeof(s.csrf), "c");
	snprintf(s.serial, sizeof(s.serial), "0A");
	s.cert_len = 1;
	assert_int_equal(oc_hall_session_put(f->st, &s, NULL), 0);
	signed_app(f, 1, "0A", &app);
	assert_int_equal(oc_hall_app_update_signed(f->st, &app, "0B", 500, &withdrawn, retired, NULL), 0);
	assert_true(app.id > 0);
	assert_string_equal(app.state, "approved");
	assert_string_equal(app.kind, "main_update");
	assert_string_equal(app.decided_by, "0B");
	assert_int_equal(app.decided_at, 500);
	assert_int_equal(app.scan_len, 0);
	assert_int_equal(withdrawn, 0);
	assert_string_equal(retired, "0A");
	assert_int_equal(main_of(f), f->a[1].id);
	assert_string_equal(status_of(f, 0, role), "retired");
	assert_string_equal(role, "");
	assert_string_equal(status_of(f, 1, role), "active");
	assert_string_equal(role, "main");
	assert_int_equal(oc_hall_session_get(f->st, s.id_hash, &got, NULL), OC_ENOTFOUND);
}

static void
test_stale_old_serial_changes_nothing(void **state)
{
	struct fx *f = *state;
	struct oc_hall_application app;
	struct oc_err err;
	char role[16];

	signed_app(f, 1, "0A", &app);
	assert_int_equal(oc_hall_app_update_signed(f->st, &app, "0B", 500, NULL, NULL, NULL), 0);
	/* 0A is retired: an update naming it again is refused, nothing written */
	signed_app(f, 2, "0A", &app);
	assert_int_equal(oc_hall_app_update_signed(f->st, &app, "0C", 600, NULL, NULL, &err),
	    OC_ECONFLICT);
	assert_int_equal(n_apps(f), 1);
	assert_int_equal(main_of(f), f->a[1].id);
	assert_string_equal(status_of(f, 2, role), "active");
	assert_string_equal(role, "");
	/* nor does the main itself replace itself */
	signed_app(f, 1, "0B", &app);
	assert_int_equal(oc_hall_app_update_signed(f->st, &app, "0B", 600, NULL, NULL, NULL),
	    OC_ECONFLICT);
	assert_int_equal(n_apps(f), 1);
	assert_int_equal(main_of(f), f->a[1].id);
}

static void
test_open_paper_updates(void **state)
{
	struct fx *f = *state;
	struct oc_hall_application app, got;
	struct oc_err err;
	char retired[43] = "";
	long long mine, other, withdrawn = 0;

	/* a[2] files on paper and it waits for review; a[1] has a draft */
	other = paper(f, 2, "0A", true);
	assert_int_equal(oc_hall_app_withdraw(f->st, other, 310, NULL), 0);
	mine = paper(f, 1, "0A", false);
	signed_app(f, 1, "0A", &app);
	assert_int_equal(oc_hall_app_update_signed(f->st, &app, "0B", 500, &withdrawn, retired, NULL), 0);
	assert_int_equal(withdrawn, mine);
	assert_int_equal(oc_hall_app_get(f->st, mine, &got, NULL), 0);
	assert_string_equal(got.state, "withdrawn");
	/* another certificate's update against 0B, submitted; then 0B is
	 * replaced by a signed update of a[3] */
	other = paper(f, 2, "0B", true);
	signed_app(f, 3, "0B", &app);
	assert_int_equal(oc_hall_app_update_signed(f->st, &app, "0D", 700, &withdrawn, retired, NULL), 0);
	assert_int_equal(withdrawn, 0);
	assert_string_equal(retired, "0B");
	assert_int_equal(oc_hall_app_get(f->st, other, &got, NULL), 0);
	assert_string_equal(got.state, "submitted");
	/* approving it now would retire a main that is no longer the main */
	assert_int_equal(oc_hall_app_decide2(f->st, other, true, "REV", "", 800, retired, &err),
	    OC_ECONFLICT);
	assert_int_equal(oc_hall_app_get(f->st, other, &got, NULL), 0);
	assert_string_equal(got.state, "submitted");
	assert_int_equal(main_of(f), f->a[3].id);
	assert_string_equal(status_of(f, 3, NULL), "active");
	assert_string_equal(status_of(f, 2, NULL), "active");
	/* it can be rejected */
	assert_int_equal(oc_hall_app_decide2(f->st, other, false, "REV", "已更新", 800, NULL, NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_signed_swaps_the_main, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_old_serial_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_paper_updates, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
