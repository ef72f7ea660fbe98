/*
 * test_hall_durability.c — the hall database's group commit when the disk
 * fails (src/store/hall_sqlite.c).  A VFS wrapped around SQLite's own
 * ("unix") fails the syncs of the WAL file on demand, once each, as Linux
 * reports a failed write-back once per open file: a failed group sync
 * fails every committer waiting for it; a failed sync inside a checkpoint
 * (which SQLite's automatic checkpoint ignores) and one inside a
 * synchronous=FULL commit break the group as well, so that the next sync
 * through the same descriptor, which then succeeds, vouches for nothing;
 * and once broken, no write of the process commits, whatever its road
 * (grouped, autocommit at FULL, a transaction or savepoint of its own,
 * which is then left closed), while reads still work.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
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

/* ---- the faulty VFS ---- */

struct ffile {
	sqlite3_file base;
	sqlite3_file *real;          /* the unix VFS's file, right after */
	bool wal, db;
};

static sqlite3_vfs *unix_vfs;
static sqlite3_vfs faulty;
static pthread_mutex_t fmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fcv = PTHREAD_COND_INITIALIZER;
static int fail_wal_syncs;     /* the next n WAL syncs fail */
static bool hold_wal_sync;     /* the next WAL sync waits for release */
static bool held, released;
static int wal_syncs, db_syncs, wal_writes;

#define REAL(f) (((struct ffile *)(f))->real)

static int
f_close(sqlite3_file *f)
{
	return REAL(f)->pMethods->xClose(REAL(f));
}

static int
f_read(sqlite3_file *f, void *b, int n, sqlite3_int64 off)
{
	return REAL(f)->pMethods->xRead(REAL(f), b, n, off);
}

static int
f_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 off)
{
	if (((struct ffile *)f)->wal) {
		pthread_mutex_lock(&fmu);
		wal_writes++;
		pthread_cond_broadcast(&fcv);
		pthread_mutex_unlock(&fmu);
	}
	return REAL(f)->pMethods->xWrite(REAL(f), b, n, off);
}

static int
f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int
f_sync(sqlite3_file *f, int flags)
{
	struct ffile *ff = (struct ffile *)f;
	bool fail = false;

	pthread_mutex_lock(&fmu);
	if (ff->db)
		db_syncs++;
	if (ff->wal) {
		wal_syncs++;
		if (hold_wal_sync) {
			hold_wal_sync = false;
			held = true;
			pthread_cond_broadcast(&fcv);
			while (!released)
				pthread_cond_wait(&fcv, &fmu);
		}
		if (fail_wal_syncs > 0) {
			fail_wal_syncs--;
			fail = true;
		}
	}
	pthread_mutex_unlock(&fmu);
	if (fail)
		return SQLITE_IOERR_FSYNC;
	return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int
f_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int
f_lock(sqlite3_file *f, int l)
{
	return REAL(f)->pMethods->xLock(REAL(f), l);
}

static int
f_unlock(sqlite3_file *f, int l)
{
	return REAL(f)->pMethods->xUnlock(REAL(f), l);
}

static int
f_reserved(sqlite3_file *f, int *out)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int
f_fcntl(sqlite3_file *f, int op, void *arg)
{
	return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int
f_sector(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int
f_devchar(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int
f_shmmap(sqlite3_file *f, int pg, int sz, int ext, void volatile **p)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, ext, p);
}

static int
f_shmlock(sqlite3_file *f, int off, int n, int flags)
{
	return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}

static void
f_shmbarrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int
f_shmunmap(sqlite3_file *f, int del)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

static int
f_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **p)
{
	return REAL(f)->pMethods->xFetch(REAL(f), off, n, p);
}

static int
f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static const sqlite3_io_methods f_methods = {
	3, f_close, f_read, f_write, f_truncate, f_sync, f_size, f_lock,
	f_unlock, f_reserved, f_fcntl, f_sector, f_devchar, f_shmmap,
	f_shmlock, f_shmbarrier, f_shmunmap, f_fetch, f_unfetch,
};

static int
f_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags,
    int *out)
{
	struct ffile *ff = (struct ffile *)f;
	int rc;

	(void)vfs;
	memset(ff, 0, sizeof(*ff));
	ff->real = (sqlite3_file *)(ff + 1);
	ff->wal = (flags & SQLITE_OPEN_WAL) != 0;
	ff->db = (flags & SQLITE_OPEN_MAIN_DB) != 0;
	rc = unix_vfs->xOpen(unix_vfs, name, ff->real, flags, out);
	/* the unix VFS's own methods must be at least version 3 here */
	if (ff->real->pMethods != NULL)
		ff->base.pMethods = &f_methods;
	return rc;
}

static void
faulty_register(void)
{
	unix_vfs = sqlite3_vfs_find("unix");
	assert_non_null(unix_vfs);
	assert_true(unix_vfs->iVersion >= 2);
	faulty = *unix_vfs;
	faulty.zName = "onecert-test-faulty";
	faulty.szOsFile = (int)sizeof(struct ffile) + unix_vfs->szOsFile;
	faulty.xOpen = f_open;
	faulty.pNext = NULL;
	assert_int_equal(sqlite3_vfs_register(&faulty, 1), SQLITE_OK);
}

static void
faults_reset(void)
{
	pthread_mutex_lock(&fmu);
	fail_wal_syncs = 0;
	hold_wal_sync = held = released = false;
	pthread_mutex_unlock(&fmu);
}

/* ---- fixture ---- */

static char dbpath[512];

static struct oc_hall_store *
open_store(void)
{
	struct oc_err err;
	struct oc_hall_store *st;

	oc_err_clear(&err);
	st = oc_hall_store_open(dbpath, &err);
	if (st == NULL)
		fail_msg("open %s: %s", dbpath, err.msg);
	/* the group commit is in force: WAL mode, a group joined */
	assert_non_null(st->group);
	return st;
}

static int
setup(void **state)
{
	const char *tmp = getenv("ONECERT_TEST_TMP");
	static int n;
	struct oc_hall_company co;

	if (tmp == NULL)
		tmp = "/tmp";
	mkdir(tmp, 0755);
	snprintf(dbpath, sizeof(dbpath), "%s/test_hall_durability.%ld.%d.db",
	    tmp, (long)getpid(), n++);
	unlink(dbpath);
	faults_reset();
	*state = open_store();
	/* something in the WAL, so that no commit below starts a new one
	 * (whose header SQLite syncs even at NORMAL) */
	return oc_hall_company_get_or_create(*state, "MA1FL8XY7",
	    "91310115MA1FL8XY7N", "上海浦江建筑工程有限公司", &co, NULL);
}

static int
teardown(void **state)
{
	char p[600];

	faults_reset();
	oc_hall_store_close(*state);
	unlink(dbpath);
	snprintf(p, sizeof(p), "%s-wal", dbpath);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", dbpath);
	unlink(p);
	return 0;
}

/* One grouped transaction: begin, an audit row, commit. */
static int
grouped_write(struct oc_hall_store *st, const char *what, struct oc_err *err)
{
	int rc;

	if ((rc = oc_hall_begin(st, err)) != 0)
		return rc;
	if ((rc = oc_hall_audit(st, "01", "test", what, "", "{}", err)) != 0) {
		oc_hall_rollback(st);
		return rc;
	}
	return oc_hall_commit(st, err);
}

/* After the group broke: no write commits, on any handle of the process
 * (one opened afterwards included), whatever its road; reads work. */
static void
expect_writes_refused(struct oc_hall_store *st)
{
	struct oc_hall_store *late = open_store();
	struct oc_hall_company co;
	struct oc_err err;

	oc_err_clear(&err);
	assert_int_not_equal(grouped_write(st, "after", &err), 0);
	assert_non_null(strstr(err.msg, "must be restarted"));
	/* autocommit, at FULL */
	assert_int_not_equal(oc_hall_audit(st, "01", "test", "autocommit", "",
	    "{}", NULL), 0);
	assert_int_not_equal(oc_hall_audit(late, "01", "test", "autocommit", "",
	    "{}", NULL), 0);
	/* a transaction of its own (hs_exec's BEGIN IMMEDIATE … COMMIT) */
	assert_int_not_equal(hs_exec(late, "BEGIN IMMEDIATE", NULL), 0);
	/* a savepoint as the transaction (hall_subs_sqlite.c): its write
	 * runs, its release does not commit and leaves no transaction open,
	 * released after a rollback to it as well */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(hs_exec(late, "SAVEPOINT sp", NULL), 0);
		assert_int_equal(oc_hall_audit(late, "01", "test", "in savepoint",
		    "", "{}", NULL), 0);
		if (i == 1)
			assert_int_equal(hs_exec(late, "ROLLBACK TO sp", NULL), 0);
		assert_int_not_equal(hs_exec(late, "RELEASE sp", NULL), 0);
		assert_true(sqlite3_get_autocommit(late->db));
	}
	/* a read, and a read transaction begun and ended */
	assert_int_equal(oc_hall_company_get(late, 1, &co, NULL), 0);
	assert_int_equal(oc_hall_read_begin(late, NULL), 0);
	assert_int_equal(oc_hall_company_get(late, 1, &co, NULL), 0);
	oc_hall_read_end(late);
	assert_true(sqlite3_get_autocommit(late->db));
	oc_hall_store_close(late);
}

/* ---- a failed group sync ---- */

struct writer {
	struct oc_hall_store *st;
	int rc;
	struct oc_err err;
};

static void *
writer_main(void *arg)
{
	struct writer *w = arg;

	oc_err_clear(&w->err);
	w->rc = grouped_write(w->st, "login", &w->err);
	return NULL;
}

/* Two committers on two handles: the first one's group sync is held and
 * then fails; the second committed while it was held, so it waits for the
 * next sync or the verdict.  Both are told their data is not stored. */
static void
test_failed_sync_fails_every_waiter(void **state)
{
	struct oc_hall_store *st = *state, *other = open_store();
	struct writer a = { .st = st }, b = { .st = other };
	pthread_t ta, tb;
	int writes;

	/* a healthy commit first: the sync is the group's */
	assert_int_equal(grouped_write(st, "before", NULL), 0);

	pthread_mutex_lock(&fmu);
	hold_wal_sync = true;
	fail_wal_syncs = 1;
	pthread_mutex_unlock(&fmu);
	assert_int_equal(pthread_create(&ta, NULL, writer_main, &a), 0);
	pthread_mutex_lock(&fmu);
	while (!held)
		pthread_cond_wait(&fcv, &fmu);
	writes = wal_writes;
	pthread_mutex_unlock(&fmu);
	/* a's commit is in the WAL, its sync under way: b commits now */
	assert_int_equal(pthread_create(&tb, NULL, writer_main, &b), 0);
	pthread_mutex_lock(&fmu);
	while (wal_writes == writes)
		pthread_cond_wait(&fcv, &fmu);
	pthread_mutex_unlock(&fmu);
	/* b's frames are written; give it the moment to reach the wait
	 * (if it has not, it finds the group broken: the same answer) */
	usleep(50 * 1000);
	pthread_mutex_lock(&fmu);
	released = true;
	pthread_cond_broadcast(&fcv);
	pthread_mutex_unlock(&fmu);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	assert_int_equal(a.rc, OC_ESTORE);
	assert_int_equal(b.rc, OC_ESTORE);
	assert_non_null(strstr(a.err.detail, "WAL sync failed"));
	assert_non_null(strstr(b.err.detail, "WAL sync failed"));
	/* and the syncs that would now succeed are not trusted */
	expect_writes_refused(other);
	expect_writes_refused(st);
	oc_hall_store_close(other);
}

/* ---- a failed sync in a checkpoint ---- */

/* One grouped transaction large enough (6 MB, about 1,500 pages) to pass
 * the automatic checkpoint's threshold of 1,000 frames. */
static int
big_write(struct oc_hall_store *st, struct oc_err *err)
{
	int rc;

	if ((rc = oc_hall_begin(st, err)) != 0)
		return rc;
	if (sqlite3_exec(st->db, "CREATE TABLE IF NOT EXISTS big (b);"
	    " INSERT INTO big VALUES (zeroblob(6000000))", NULL, NULL, NULL) !=
	    SQLITE_OK)
		fail_msg("%s (%d)", sqlite3_errmsg(st->db),
		    sqlite3_extended_errcode(st->db));
	return oc_hall_commit(st, err);
}

/* The checkpoint still runs after a commit past the threshold (it syncs
 * the database file, which no commit in WAL mode does); when its sync of
 * the WAL fails, the commit that ran it is not reported stored, though
 * the group's sync after it, through the same descriptor, would succeed. */
static void
test_failed_checkpoint_sync_breaks_group(void **state)
{
	struct oc_hall_store *st = *state;
	struct oc_err err;
	int before;

	pthread_mutex_lock(&fmu);
	before = db_syncs;
	pthread_mutex_unlock(&fmu);
	oc_err_clear(&err);
	if (big_write(st, &err) != 0)
		fail_msg("%s | %s", err.msg, err.detail);
	pthread_mutex_lock(&fmu);
	assert_true(db_syncs > before);         /* a checkpoint completed */
	pthread_mutex_unlock(&fmu);
	/* the WAL, all copied back, starts over with the next write, whose
	 * header SQLite syncs: done here, so that the only WAL sync left
	 * before the group's is the checkpoint's */
	assert_int_equal(grouped_write(st, "restart", NULL), 0);
	pthread_mutex_lock(&fmu);
	fail_wal_syncs = 1;
	pthread_mutex_unlock(&fmu);
	oc_err_clear(&err);
	assert_int_equal(big_write(st, &err), OC_ESTORE);
	pthread_mutex_lock(&fmu);
	assert_int_equal(fail_wal_syncs, 0);    /* the checkpoint met it */
	pthread_mutex_unlock(&fmu);
	expect_writes_refused(st);
}

/* ---- a failed sync in a commit at FULL ---- */

static void
test_failed_full_commit_breaks_group(void **state)
{
	struct oc_hall_store *st = *state;

	pthread_mutex_lock(&fmu);
	fail_wal_syncs = 1;
	pthread_mutex_unlock(&fmu);
	/* an autocommit write, at FULL: SQLite syncs the WAL in its commit */
	assert_int_not_equal(oc_hall_audit(st, "01", "test", "autocommit", "",
	    "{}", NULL), 0);
	expect_writes_refused(st);
}

/* Without a fault the roads stay open (the checks above are not refusing
 * everything). */
static void
test_healthy(void **state)
{
	struct oc_hall_store *st = *state, *other = open_store();

	assert_int_equal(grouped_write(st, "a", NULL), 0);
	assert_int_equal(grouped_write(other, "b", NULL), 0);
	assert_int_equal(oc_hall_audit(st, "01", "test", "autocommit", "", "{}",
	    NULL), 0);
	assert_int_equal(hs_exec(other, "BEGIN IMMEDIATE", NULL), 0);
	assert_int_equal(hs_exec(other, "COMMIT", NULL), 0);
	oc_hall_store_close(other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_healthy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_sync_fails_every_waiter,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_checkpoint_sync_breaks_group,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_full_commit_breaks_group,
		    setup, teardown),
	};

	faulty_register();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
