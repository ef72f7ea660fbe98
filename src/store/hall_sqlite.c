/*
 * hall_sqlite.c — the service hall's database on SQLite (WAL,
 * synchronous=FULL, busy timeout).  The schema is versioned with PRAGMA
 * user_version; each step runs in one transaction.  Session ids and
 * challenges are stored only as SHA-256 hashes, so a copy of the database
 * cannot be replayed as a login.
 *
 * Every request of the hall runs a handful of these queries, so each
 * handle keeps its prepared statements (hs_stmt/hs_done): parsing and
 * planning the SQL again cost more than running it (bench/README.md,
 * "Hall TLS").  SQLite's global memory statistics are switched off before
 * the first connection (oc__sqlite_global_init): they put every
 * allocation of every connection under one mutex.
 *
 * Group commit.  A write transaction (oc_hall_begin … oc_hall_commit: a
 * login's session and audit rows, an application, a decision) is made
 * durable before oc_hall_commit returns, as synchronous=FULL would, but
 * the fsync is shared: the transaction commits at synchronous=NORMAL (its
 * WAL frames written, not synced, and the write lock released at once),
 * then the WAL file is synced by whichever committer of this database
 * file gets there first, for every transaction committed before that
 * sync began; the others wait for it.  With FULL each commit synced
 * inside the write lock, so concurrent logins queued one fsync after
 * another.  The same bytes reach the disk in the same order, so a crash
 * leaves what FULL would: NORMAL differs from FULL only by the commit's
 * sync (the WAL header and checkpoints are synced alike), which is done
 * here before the caller is told the data is stored.  Statements outside
 * oc_hall_begin (autocommit) stay at FULL.
 *
 * Why a sync begun after a commit covers it: the commit's frames were
 * written (write(2) returned) before it counted itself in, fsync flushes
 * every dirty page of the file whichever descriptor asks, and the WAL is
 * one file for every connection of every process: SQLite deletes it only
 * when the last connection closes (a handle of the group is open while it
 * syncs), and restarting or truncating it after a checkpoint keeps the
 * file.  A checkpoint never overwrites unsynced frames: at NORMAL it syncs
 * the WAL before copying pages back, and the database before it records
 * the last frame copied; the WAL starts over only once every frame is
 * recorded copied (and its new header is then synced, at NORMAL too).  Several hall
 * processes on one file each have their own group; each still syncs after
 * its own commits, they only share fewer syncs.
 *
 * When a write or sync fails, nothing is vouched for any more (group_sync:
 * after a failed write-back Linux reports the error once per open file and
 * then syncs "successfully" without the lost pages, and SQLite's recovery
 * drops every frame after the first bad one).  Every committer waiting is
 * told its data is not stored, and every write of this process is refused
 * from then on, at FULL too, until a restart.  Failed syncs are caught
 * where SQLite would let them pass: the automatic checkpoint (wal_hook,
 * which replaces SQLite's, whose result is ignored) and any statement of a
 * group handle that reports an I/O error (write_failed).
 *
 * Trade-offs, deliberate: unlike FULL, other connections (and processes:
 * the CLI) may read a transaction between its commit and the shared sync;
 * a power cut in that window loses it together with its writer's
 * (unsent) answer.  A committer told "not stored" after a failed sync may
 * find its transaction stored after all (it was committed; a restart may
 * recover it).  Other processes do not learn that this one broke its
 * group; their own descriptors, if open before the failure, get its error
 * reported by Linux at their next sync.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "onecert/log.h"
#include "store/hall_sqlite_int.h"
#include "store/store_int.h"

static const char *const migrations[] = {
	/* 1 */
	"CREATE TABLE companies (id INTEGER PRIMARY KEY, org_code TEXT NOT NULL UNIQUE,"
	" uscc TEXT NOT NULL DEFAULT '', name TEXT NOT NULL,"
	" state TEXT NOT NULL DEFAULT 'none' CHECK (state IN ('none','main_pending','main_active','registered')),"
	" created_at INTEGER NOT NULL);"
	"CREATE TABLE accounts (id INTEGER PRIMARY KEY, uid TEXT NOT NULL UNIQUE, serial TEXT NOT NULL,"
	" issuer TEXT NOT NULL DEFAULT '', company_id INTEGER NOT NULL DEFAULT 0,"
	" kind TEXT NOT NULL, role TEXT NOT NULL DEFAULT '', subject_cn TEXT NOT NULL DEFAULT '',"
	" not_after INTEGER NOT NULL DEFAULT 0, first_login INTEGER NOT NULL, last_login INTEGER NOT NULL);"
	"CREATE INDEX accounts_company ON accounts(company_id);"
	"CREATE TABLE staff_roles (serial TEXT NOT NULL, role TEXT NOT NULL CHECK (role IN ('reviewer','admin')),"
	" granted_by TEXT NOT NULL, granted_at INTEGER NOT NULL, PRIMARY KEY (serial, role));"
	"CREATE TABLE challenges (hash TEXT PRIMARY KEY, expires_at INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE sessions (id_hash TEXT PRIMARY KEY, account_id INTEGER NOT NULL, csrf TEXT NOT NULL,"
	" serial TEXT NOT NULL, created_at INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
	" checked_at INTEGER NOT NULL, cert BLOB NOT NULL);"
	"CREATE INDEX sessions_serial ON sessions(serial);"
	"CREATE TABLE audit (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, actor TEXT NOT NULL,"
	" source TEXT NOT NULL, action TEXT NOT NULL, object TEXT NOT NULL DEFAULT '',"
	" detail TEXT NOT NULL DEFAULT '{}');",
	/* 2: activation (开通), review, registration, SMS (issue 5) */
	"ALTER TABLE companies ADD COLUMN main_account_id INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE companies ADD COLUMN profile TEXT NOT NULL DEFAULT '{}';"
	"ALTER TABLE companies ADD COLUMN registered_at INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE applications (id INTEGER PRIMARY KEY, company_id INTEGER NOT NULL,"
	" account_id INTEGER NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('main_open','main_update')),"
	" state TEXT NOT NULL CHECK (state IN ('draft','submitted','withdrawn','approved','rejected')),"
	" form TEXT NOT NULL DEFAULT '{}', form_digest TEXT NOT NULL DEFAULT '',"
	" scan BLOB, scan_sha256 TEXT NOT NULL DEFAULT '', qr TEXT NOT NULL DEFAULT 'none',"
	" created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
	" submitted_at INTEGER NOT NULL DEFAULT 0, deadline INTEGER NOT NULL DEFAULT 0,"
	" decided_at INTEGER NOT NULL DEFAULT 0, decided_by TEXT NOT NULL DEFAULT '',"
	" reason TEXT NOT NULL DEFAULT '');"
	/* one open application of a kind per company, enforced by the database */
	"CREATE UNIQUE INDEX applications_open ON applications(company_id, kind)"
	" WHERE state IN ('draft','submitted');"
	"CREATE INDEX applications_queue ON applications(state, deadline);"
	"CREATE TABLE sms_codes (account_id INTEGER PRIMARY KEY, mobile TEXT NOT NULL,"
	" code_hash TEXT NOT NULL, sent_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
	" tries INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE outbox (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, dest TEXT NOT NULL,"
	" text TEXT NOT NULL, purpose TEXT NOT NULL DEFAULT '', via TEXT NOT NULL,"
	" status TEXT NOT NULL, answer TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX outbox_dest ON outbox(dest, id);"
	"CREATE TABLE mobile_segments (prefix TEXT PRIMARY KEY CHECK (length(prefix) = 7),"
	" city TEXT NOT NULL);",
	/* 3: sub certificates, grants, matters, main-certificate update (issue 6) */
	"ALTER TABLE accounts ADD COLUMN status TEXT NOT NULL DEFAULT 'active'"
	" CHECK (status IN ('active','pending','refused','suspended','removed','retired'));"
	"ALTER TABLE accounts ADD COLUMN holder_name TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE accounts ADD COLUMN holder_mobile TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE accounts ADD COLUMN note TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE accounts ADD COLUMN requested_at INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE accounts ADD COLUMN decided_by TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE accounts ADD COLUMN reason TEXT NOT NULL DEFAULT '';"
	"CREATE TABLE grants (account_id INTEGER NOT NULL, matter TEXT NOT NULL,"
	" granted_by TEXT NOT NULL, granted_at INTEGER NOT NULL, PRIMARY KEY (account_id, matter));"
	"CREATE TABLE applications_v3 (id INTEGER PRIMARY KEY, company_id INTEGER NOT NULL,"
	" account_id INTEGER NOT NULL,"
	" kind TEXT NOT NULL CHECK (kind IN ('main_open','main_update','matter')),"
	" state TEXT NOT NULL CHECK (state IN ('draft','submitted','withdrawn','approved','rejected')),"
	" form TEXT NOT NULL DEFAULT '{}', form_digest TEXT NOT NULL DEFAULT '',"
	" scan BLOB, scan_sha256 TEXT NOT NULL DEFAULT '', qr TEXT NOT NULL DEFAULT 'none',"
	" created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
	" submitted_at INTEGER NOT NULL DEFAULT 0, deadline INTEGER NOT NULL DEFAULT 0,"
	" decided_at INTEGER NOT NULL DEFAULT 0, decided_by TEXT NOT NULL DEFAULT '',"
	" reason TEXT NOT NULL DEFAULT '', matter TEXT NOT NULL DEFAULT '');"
	"INSERT INTO applications_v3 (id, company_id, account_id, kind, state, form, form_digest,"
	" scan, scan_sha256, qr, created_at, updated_at, submitted_at, deadline, decided_at,"
	" decided_by, reason) SELECT id, company_id, account_id, kind, state, form, form_digest,"
	" scan, scan_sha256, qr, created_at, updated_at, submitted_at, deadline, decided_at,"
	" decided_by, reason FROM applications;"
	"DROP TABLE applications;"
	"ALTER TABLE applications_v3 RENAME TO applications;"
	/* one open main application of a kind per company; matters: any number */
	"CREATE UNIQUE INDEX applications_open ON applications(company_id, kind)"
	" WHERE state IN ('draft','submitted') AND kind <> 'matter';"
	"CREATE INDEX applications_queue ON applications(state, deadline);"
	"CREATE INDEX applications_company ON applications(company_id, kind, matter);"
	"CREATE TABLE attachments (app_id INTEGER NOT NULL, name TEXT NOT NULL,"
	" content_type TEXT NOT NULL, data BLOB NOT NULL, size INTEGER NOT NULL,"
	" sha256 TEXT NOT NULL, uploaded_at INTEGER NOT NULL, PRIMARY KEY (app_id, name));",
	/* 4: the QR payloads read from the scan at upload, each followed by a
	 * NUL (an empty blob: none found), so that 保存提交 judges them
	 * without decoding the scan again; NULL for scans stored before */
	"ALTER TABLE applications ADD COLUMN scan_qr BLOB;",
	/* 5: when a sub certificate was last removed by its company, kept
	 * while it asks again (pending, refused) and cleared when approved:
	 * a certificate the company removed may not file a 主数字证书更新
	 * by asking again first (src/hall/update.c) */
	"ALTER TABLE accounts ADD COLUMN removed_at INTEGER NOT NULL DEFAULT 0;",
	/* 6: sessions idle past session_idle are deleted by the next logins
	 * (oc_hall_session_prune), found by when they were last seen */
	"CREATE INDEX sessions_last_seen ON sessions(last_seen);",
};
#define NMIG ((int)(sizeof(migrations) / sizeof(migrations[0])))

static void write_failed(struct oc_hall_store *, int);

int
hs_dberr(struct oc_hall_store *st, struct oc_err *err, const char *what)
{
	int ec = sqlite3_extended_errcode(st->db);
	int code = ec == SQLITE_CONSTRAINT_UNIQUE || ec == SQLITE_CONSTRAINT_PRIMARYKEY ?
	    OC_EEXIST : (ec & 0xff) == SQLITE_CONSTRAINT ? OC_EINVAL : OC_ESTORE;

	write_failed(st, ec);

	oc_err_set(err, code, "database error while %s", what);
	oc_err_detail(err, "sqlite: %s (%d)", sqlite3_errmsg(st->db), ec);
	return code;
}

static int sync_full_for(struct oc_hall_store *, sqlite3_stmt *, const char *,
    struct oc_err *);

int
hs_exec(struct oc_hall_store *st, const char *sql, struct oc_err *err)
{
	char *msg = NULL;

	/* statements of any kind, a transaction of its own (BEGIN …
	 * COMMIT) among them: FULL, as outside oc_hall_begin */
	if (sync_full_for(st, NULL, sql, err) != 0)
		return OC_ESTORE;
	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		write_failed(st, sqlite3_extended_errcode(st->db));
		oc_err_set(err, OC_ESTORE, "database error");
		oc_err_detail(err, "sqlite: %s", msg ? msg : "?");
		sqlite3_free(msg);
		return OC_ESTORE;
	}
	return 0;
}

static sqlite3_stmt *
prep(struct oc_hall_store *st, const char *sql, struct oc_err *err)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
		hs_dberr(st, err, "preparing a statement");
		return NULL;
	}
	return s;
}

sqlite3_stmt *
hs_prep(struct oc_hall_store *st, const char *sql, struct oc_err *err)
{
	sqlite3_stmt *s = prep(st, sql, err);

	if (s != NULL && sync_full_for(st, s, sql, err) != 0) {
		sqlite3_finalize(s);
		return NULL;
	}
	return s;
}

/* hs_stmt without the synchronous check (sync_full_for). */
static sqlite3_stmt *
cached(struct oc_hall_store *st, const char *sql, struct oc_err *err)
{
	sqlite3_stmt *s = NULL;
	int i;

	for (i = 0; i < st->ncache; i++)
		if (st->cache[i].sql == sql) {
			if (st->cache[i].busy)
				return prep(st, sql, err);      /* re-entered: a private one */
			st->cache[i].busy = true;
			return st->cache[i].stmt;
		}
	if (st->ncache == HS_CACHE)
		return prep(st, sql, err);
	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s,
	    NULL) != SQLITE_OK) {
		hs_dberr(st, err, "preparing a statement");
		return NULL;
	}
	i = st->ncache++;
	st->cache[i].sql = sql;
	st->cache[i].stmt = s;
	st->cache[i].busy = true;
	return s;
}

sqlite3_stmt *
hs_stmt(struct oc_hall_store *st, const char *sql, struct oc_err *err)
{
	sqlite3_stmt *s = cached(st, sql, err);

	if (s != NULL && sync_full_for(st, s, sql, err) != 0) {
		hs_done(st, s);
		return NULL;
	}
	return s;
}

void
hs_done(struct oc_hall_store *st, sqlite3_stmt *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < st->ncache; i++)
		if (st->cache[i].stmt == s) {
			/* ends the statement's read transaction at once */
			sqlite3_reset(s);
			sqlite3_clear_bindings(s);
			st->cache[i].busy = false;
			return;
		}
	sqlite3_finalize(s);
}

static int
run(sqlite3_stmt *s, struct oc_hall_store *st, struct oc_err *err)
{
	int rc = 0;

	if (s == NULL)
		return OC_ESTORE;
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = hs_dberr(st, err, "running a statement");
	hs_done(st, s);
	return rc;
}

int
hs_run(struct oc_hall_store *st, const char *sql, struct oc_err *err)
{
	return run(hs_stmt(st, sql, err), st, err);
}

void
hs_bt(sqlite3_stmt *s, int i, const char *v)
{
	sqlite3_bind_text(s, i, v ? v : "", -1, SQLITE_TRANSIENT);
}

void
hs_col(sqlite3_stmt *s, int i, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

/* ---- group commit (see the top) ---- */

struct hs_group {
	struct oc__dbshared sh;      /* mu, cv (src/store/dbshared.c) */
	unsigned long long committed;/* transactions committed at NORMAL */
	unsigned long long synced;   /* of those, the first n are durable */
	bool syncing;                /* a committer is syncing the WAL */
	atomic_bool broken;          /* a WAL sync failed: no more writes */
	int ckpt_frames;             /* wal_hook checkpoints at this many frames */
	/* The writer gate (oc_hall_begin): a handle of this process is
	 * between its BEGIN IMMEDIATE and its COMMIT or ROLLBACK.  The
	 * others wait on gate_cv, woken the moment it ends, instead of
	 * SQLite's busy handler, which sleeps 1, 2, 5, 10… ms between tries
	 * of the write lock while a login's transaction takes about 0.1 ms:
	 * concurrent logins spent more time asleep there than in their
	 * fsync.  Another process (the CLI) still meets the busy timeout. */
	bool writing;
	pthread_t writer;            /* the thread in it, while writing */
	bool gate_ready;             /* gate_cv initialised (group_join) */
	pthread_cond_t gate_cv;      /* never destroyed: glibc's holds nothing */
};

/* Sync this handle's WAL file (every handle's WAL file is the same file:
 * SQLite deletes it only when the last connection closes). */
static int
wal_sync(struct oc_hall_store *st)
{
	sqlite3_file *f = NULL;

	if (sqlite3_file_control(st->db, "main", SQLITE_FCNTL_JOURNAL_POINTER,
	    &f) != SQLITE_OK || f == NULL || f->pMethods == NULL)
		return SQLITE_IOERR;
	return f->pMethods->xSync(f, SQLITE_SYNC_NORMAL);
}

static int wal_hook(void *, sqlite3 *, const char *, int);

/* Join the group of the database file at path when it is in WAL mode. */
static void
group_join(struct oc_hall_store *st, const char *path)
{
	sqlite3_stmt *s;
	bool wal = false;
	int ckpt = -1;

	if (sqlite3_prepare_v2(st->db, "PRAGMA journal_mode", -1, &s, NULL) != SQLITE_OK)
		return;
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) != NULL)
		wal = strcmp((const char *)sqlite3_column_text(s, 0), "wal") == 0;
	sqlite3_finalize(s);
	/* The WAL file is open now; syncing it through this handle also
	 * syncs the folder if this handle created it (SQLite's unix VFS
	 * does that on a new journal's first sync), which a commit at
	 * NORMAL would not. */
	if (!wal || wal_sync(st) != SQLITE_OK)
		return;
	if (sqlite3_prepare_v2(st->db, "PRAGMA wal_autocheckpoint", -1, &s,
	    NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW)
			ckpt = sqlite3_column_int(s, 0);
		sqlite3_finalize(s);
	}
	st->group = oc__dbshared_get(path, "hall.wal_sync", sizeof(struct hs_group));
	if (st->group != NULL) {
		pthread_mutex_lock(&st->group->sh.mu);
		if (!st->group->gate_ready) {
			pthread_cond_init(&st->group->gate_cv, NULL);
			st->group->gate_ready = true;
		}
		/* SQLite's automatic checkpoint, with its threshold (1000
		 * frames unless built otherwise), made by wal_hook instead;
		 * set by the first handle only (the hooks read it unlocked) */
		if (ckpt > 0 && st->group->ckpt_frames == 0)
			st->group->ckpt_frames = ckpt;
		pthread_mutex_unlock(&st->group->sh.mu);
		sqlite3_wal_hook(st->db, wal_hook, st);
	}
}

/* The writer gate (struct hs_group): wait until no other handle of this
 * process is in a group transaction, and enter.  -1, without waiting,
 * when the thread in it is this one (a transaction begun on a second
 * handle inside one on the first): it would wait for itself for ever. */
static int
gate_enter(struct oc_hall_store *st)
{
	struct hs_group *g = st->group;

	pthread_mutex_lock(&g->sh.mu);
	while (g->writing) {
		if (pthread_equal(g->writer, pthread_self())) {
			pthread_mutex_unlock(&g->sh.mu);
			return -1;
		}
		pthread_cond_wait(&g->gate_cv, &g->sh.mu);
	}
	g->writing = true;
	g->writer = pthread_self();
	pthread_mutex_unlock(&g->sh.mu);
	st->gated = true;
	return 0;
}

/* Leave the gate if this handle is in it (a commit, a rollback, a BEGIN
 * that failed), and let the next writer in. */
static void
gate_leave(struct oc_hall_store *st)
{
	struct hs_group *g = st->group;

	if (!st->gated)
		return;
	st->gated = false;
	pthread_mutex_lock(&g->sh.mu);
	g->writing = false;
	pthread_cond_signal(&g->gate_cv);
	pthread_mutex_unlock(&g->sh.mu);
}

static void
group_leave(struct oc_hall_store *st)
{
	oc__dbshared_put(st->group);
	st->group = NULL;
}

/* Breaks the group for good (see group_sync): ec, an SQLite error code,
 * came from an I/O that may have lost frames of the WAL.  Wakes the
 * committers waiting for a sync: they are told their data is not known
 * to be on disk. */
static void
group_break(struct hs_group *g, int ec, const char *what)
{
	bool was;

	pthread_mutex_lock(&g->sh.mu);
	was = atomic_exchange(&g->broken, true);
	pthread_cond_broadcast(&g->sh.cv);
	pthread_mutex_unlock(&g->sh.mu);
	if (!was)
		oc_log(OC_LOG_ERROR, "store.wal_sync_failed", "rc=%d in=%s "
		    "writes=refused_until_restart", ec, what);
}

/* A statement of st failed with ec: a write or sync that failed breaks
 * the group.  The error is reported once per open file (Linux's errseq),
 * to whichever sync or write meets it first; a later sync of the same
 * descriptor succeeds though the pages it lost are still lost, so the
 * group's next sync would vouch for them. */
static void
write_failed(struct oc_hall_store *st, int ec)
{
	if (st->group == NULL || (ec & 0xff) != SQLITE_IOERR ||
	    ec == SQLITE_IOERR_NOMEM || ec == SQLITE_IOERR_SHORT_READ ||
	    ec == SQLITE_IOERR_READ)
		return;
	group_break(st->group, ec, "statement");
}

/*
 * The WAL hook, in place of SQLite's automatic checkpoint (its
 * sqlite3WalDefaultHook, which this replaces with the same threshold and
 * mode, PASSIVE): SQLite's ignores the checkpoint's result, and a
 * checkpoint begins by syncing the WAL at NORMAL.  Were that sync to fail
 * inside a commit, the error would be spent on this handle's descriptor
 * and the group's sync that follows, through the same descriptor, would
 * succeed for frames that never reached the disk.  Here an I/O error of
 * the checkpoint breaks the group and fails the statement that committed
 * (SQLite reports a hook's error from it; the commit itself stands).
 */
static int
wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct oc_hall_store *st = arg;
	int rc;

	/* the commit is done and its write lock released: the next writer
	 * need not wait for this checkpoint (a PASSIVE one lets it write) */
	gate_leave(st);
	if (st->group->ckpt_frames <= 0 || frames < st->group->ckpt_frames)
		return SQLITE_OK;
	rc = sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	if ((rc & 0xff) != SQLITE_IOERR)
		return SQLITE_OK;       /* busy: the next commit tries again */
	group_break(st->group, rc, "checkpoint");
	return rc;
}

/* After a commit at NORMAL: return once a WAL sync begun after it has
 * ended (made by this thread or by another committer).
 *
 * A failed sync breaks the group for good, as PostgreSQL does since
 * "fsyncgate": Linux may mark the pages of a failed write-back clean, so
 * a later sync that succeeds proves nothing about the frames before it
 * (and SQLite's recovery stops at the first frame whose checksum fails,
 * dropping every later transaction with it).  Every committer still
 * waiting, and every later one, is told its data is not known to be on
 * disk; oc_hall_begin refuses new transactions on this database, and
 * sync_full_for every other write, until the process restarts (and SQLite
 * recovers the WAL from what really is on disk).  A sync that succeeds
 * after the group broke another way (write_failed, wal_hook) vouches for
 * nothing either. */
static int
group_sync(struct oc_hall_store *st, struct oc_err *err)
{
	struct hs_group *g = st->group;
	unsigned long long mine, upto;
	int rc = 0, src = SQLITE_OK;

	pthread_mutex_lock(&g->sh.mu);
	mine = ++g->committed;
	while (g->synced < mine) {
		if (atomic_load(&g->broken)) {
			rc = OC_ESTORE;
			break;
		}
		if (g->syncing) {
			pthread_cond_wait(&g->sh.cv, &g->sh.mu);
			continue;
		}
		g->syncing = true;
		upto = g->committed;
		pthread_mutex_unlock(&g->sh.mu);
		src = wal_sync(st);
		pthread_mutex_lock(&g->sh.mu);
		g->syncing = false;
		if (src != SQLITE_OK)
			atomic_store(&g->broken, true);
		else if (upto > g->synced && !atomic_load(&g->broken))
			g->synced = upto;
		pthread_cond_broadcast(&g->sh.cv);
	}
	pthread_mutex_unlock(&g->sh.mu);
	if (rc != 0) {
		if (src != SQLITE_OK)
			oc_log(OC_LOG_ERROR, "store.wal_sync_failed", "rc=%d in=group_sync "
			    "writes=refused_until_restart", src);
		oc_err_set(err, OC_ESTORE, "database error while committing");
		oc_err_detail(err, "sqlite: a WAL sync failed; the hall must be restarted");
	}
	return rc;
}

static bool
group_broken(struct hs_group *g)
{
	return atomic_load(&g->broken);
}

static int
version(struct oc_hall_store *st)
{
	sqlite3_stmt *s;
	int v = -1;

	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* handles opened so far (oc_hall_data_version) */
static atomic_ullong handle_serial;

struct oc_hall_store *
oc_hall_store_open(const char *path, struct oc_err *err)
{
	struct oc_hall_store *st = calloc(1, sizeof(*st));
	char pragma[64];
	int v;

	if (st == NULL) {
		oc_err_set(err, OC_ENOMEM, "out of memory");
		return NULL;
	}
	oc__sqlite_global_init();
	st->serial = atomic_fetch_add(&handle_serial, 1) + 1;
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		oc_err_set(err, OC_ESTORE, "cannot open the hall database %s", path);
		goto fail;
	}
	sqlite3_busy_timeout(st->db, 10000);
	if (hs_exec(st, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;", err) != 0)
		goto fail;
	if ((v = version(st)) < 0 || v > NMIG) {
		oc_err_set(err, OC_ESTORE, "the hall database schema (%d) is unknown to this onecert", v);
		goto fail;
	}
	for (int i = v; i < NMIG; i++) {
		if (hs_exec(st, "BEGIN IMMEDIATE", err) != 0)
			goto fail;
		if (version(st) > i) {
			hs_exec(st, "ROLLBACK", NULL);
			continue;
		}
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", i + 1);
		if (hs_exec(st, migrations[i], err) != 0 || hs_exec(st, pragma, err) != 0) {
			hs_exec(st, "ROLLBACK", NULL);
			goto fail;
		}
		if (hs_exec(st, "COMMIT", err) != 0)
			goto fail;
	}
	group_join(st, path);
	return st;
fail:
	oc_hall_store_close(st);
	return NULL;
}

void
oc_hall_store_close(struct oc_hall_store *st)
{
	if (st == NULL)
		return;
	for (int i = 0; i < st->ncache; i++)
		sqlite3_finalize(st->cache[i].stmt);
	sqlite3_close(st->db);       /* rolls back a transaction left open */
	if (st->group != NULL)
		gate_leave(st);
	group_leave(st);
	free(st);
}

/*
 * The synchronous level.  oc_hall_begin's transactions commit at NORMAL
 * and are synced by the group (above); every other write — a statement
 * outside a transaction, or a transaction begun any other way (hs_exec,
 * oc_hall_read_begin, a SAVEPOINT) — commits at FULL, as before.  The
 * level may change only outside a transaction, and each change is a
 * statement, so it is not switched back to FULL after every
 * oc_hall_begin … oc_hall_commit (a worker that only logs people in
 * would switch twice per login): it stays NORMAL until a statement that
 * may write, or that begins a transaction, is about to run outside one;
 * that statement switches it to FULL first (sync_full_for, called by
 * hs_stmt, hs_prep and hs_exec for every statement).  A read outside a
 * transaction commits nothing and runs at either level.
 */
static const char begin_group[] = "BEGIN IMMEDIATE";   /* oc_hall_begin's own */

static int
set_sync(struct oc_hall_store *st, bool normal, struct oc_err *err)
{
	int rc = run(cached(st, normal ? "PRAGMA synchronous = NORMAL" :
	    "PRAGMA synchronous = FULL", err), st, err);

	if (rc == 0)
		st->at_normal = normal;
	return rc;
}

/* Whether sql (prepared as s, or NULL: not known) may commit a write: a
 * statement that may write, outside a transaction; BEGIN IMMEDIATE or
 * EXCLUSIVE; the COMMIT, END or RELEASE of a transaction that has
 * written.  Not a ROLLBACK, a read, or the end of a read transaction. */
static bool
may_commit(struct oc_hall_store *st, sqlite3_stmt *s, const char *sql)
{
	if (!sqlite3_get_autocommit(st->db))
		return (sqlite3_strnicmp(sql, "COMMIT", 6) == 0 ||
		    sqlite3_strnicmp(sql, "END", 3) == 0 ||
		    sqlite3_strnicmp(sql, "RELEASE", 7) == 0) &&
		    sqlite3_txn_state(st->db, NULL) == SQLITE_TXN_WRITE;
	if (sqlite3_strnicmp(sql, "BEGIN", 5) == 0)
		return sqlite3_strnicmp(sql, "BEGIN IMMEDIATE", 15) == 0 ||
		    sqlite3_strnicmp(sql, "BEGIN EXCLUSIVE", 15) == 0;
	if (sqlite3_strnicmp(sql, "SAVEPOINT", 9) == 0 ||
	    sqlite3_strnicmp(sql, "ROLLBACK", 8) == 0)
		return false;
	return s == NULL || !sqlite3_stmt_readonly(s);
}

/* Switch to FULL before sql (prepared as s, or NULL: not known) runs
 * outside a transaction, unless it neither writes nor begins one. */
static int
sync_full_for(struct oc_hall_store *st, sqlite3_stmt *s, const char *sql,
    struct oc_err *err)
{
	/* after a failed sync no write is durable, at FULL either (group_sync);
	 * a transaction that cannot commit is rolled back at once, so that
	 * the handle is not left in it, holding the write lock, when its
	 * caller's error path only releases a savepoint */
	if (st->group != NULL && group_broken(st->group) && may_commit(st, s, sql)) {
		if (!sqlite3_get_autocommit(st->db))
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return oc_err_set(err, OC_ESTORE, "database error: a WAL sync "
		    "failed; the hall must be restarted");
	}
	if (!st->at_normal || !sqlite3_get_autocommit(st->db) || sql == begin_group)
		return 0;
	/* BEGIN and SAVEPOINT count as read-only for SQLite */
	if (s != NULL && sqlite3_stmt_readonly(s) &&
	    sqlite3_strnicmp(sql, "BEGIN", 5) != 0 &&
	    sqlite3_strnicmp(sql, "SAVEPOINT", 9) != 0)
		return 0;
	return set_sync(st, false, err);
}

int
oc_hall_begin(struct oc_hall_store *st, struct oc_err *err)
{
	int rc;

	if (st->group != NULL && sqlite3_get_autocommit(st->db)) {
		if (group_broken(st->group))
			return oc_err_set(err, OC_ESTORE, "database error: a WAL sync "
			    "failed; the hall must be restarted");
		if (!st->at_normal && (rc = set_sync(st, true, err)) != 0)
			return rc;
		/* still in it when SQLite rolled this handle's last
		 * transaction back by itself and no rollback followed */
		if (!st->gated && gate_enter(st) != 0)
			return oc_err_set(err, OC_ESTORE, "database error: this thread "
			    "is already in a hall transaction on another handle");
	}
	/* a BEGIN refused inside this handle's own transaction ends nothing:
	 * the gate is left when that transaction ends */
	if ((rc = hs_run(st, begin_group, err)) != 0 && sqlite3_get_autocommit(st->db))
		gate_leave(st);
	return rc;
}

int
oc_hall_commit(struct oc_hall_store *st, struct oc_err *err)
{
	bool grouped = st->at_normal;

	if (hs_run(st, "COMMIT", err) != 0) {
		oc_hall_rollback(st);
		return OC_ESTORE;
	}
	/* the write lock is free: the next writer need not wait for our sync */
	gate_leave(st);
	/* a transaction oc_hall_begin did not start at NORMAL (nested in
	 * one of hs_exec's, or without a group) committed at FULL */
	if (st->group == NULL || !grouped)
		return 0;
	return group_sync(st, err);
}

void
oc_hall_rollback(struct oc_hall_store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		hs_run(st, "ROLLBACK", NULL);
	gate_leave(st);
}

int
oc_hall_read_begin(struct oc_hall_store *st, struct oc_err *err)
{
	return hs_run(st, "BEGIN DEFERRED", err);
}

void
oc_hall_read_end(struct oc_hall_store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		hs_run(st, "COMMIT", NULL);
}

/* The handle's number (hall_sqlite.c numbers each handle it opens, so a
 * handle opened where a closed one was is not taken for it), SQLite's
 * data_version (moves when another connection, of this process or of
 * another, has committed) and the rows this handle has changed itself
 * (data_version does not move for those). */
int
oc_hall_data_version(struct oc_hall_store *st, struct oc_hall_version *out,
    struct oc_err *err)
{
	sqlite3_stmt *s = hs_stmt(st, "PRAGMA data_version", err);
	int rc = OC_ESTORE;

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return OC_ESTORE;
	if (sqlite3_step(s) != SQLITE_ROW) {
		hs_dberr(st, err, "reading the data version");
		goto out;
	}
	out->handle = st->serial;
	out->data = sqlite3_column_int64(s, 0);
	out->changes = sqlite3_total_changes64(st->db);
	rc = 0;
out:
	hs_done(st, s);
	return rc;
}

static void
company_row(sqlite3_stmt *s, struct oc_hall_company *c)
{
	memset(c, 0, sizeof(*c));
	c->id = sqlite3_column_int64(s, 0);
	hs_col(s, 1, c->org_code, sizeof(c->org_code));
	hs_col(s, 2, c->uscc, sizeof(c->uscc));
	hs_col(s, 3, c->name, sizeof(c->name));
	hs_col(s, 4, c->state, sizeof(c->state));
	c->created_at = (time_t)sqlite3_column_int64(s, 5);
	c->main_account_id = sqlite3_column_int64(s, 6);
	hs_col(s, 7, c->profile, sizeof(c->profile));
	c->registered_at = (time_t)sqlite3_column_int64(s, 8);
}

#define COMPANY_COLS "id, org_code, uscc, name, state, created_at, main_account_id," \
	" profile, registered_at"

int
oc_hall_company_get_or_create(struct oc_hall_store *st, const char *org_code,
    const char *uscc, const char *name, struct oc_hall_company *out, struct oc_err *err)
{
	/* The row is written only when it is new or changed: a login of a
	 * known company (the usual case) then writes no page for it.  That
	 * case is read first, by the unique index: the upsert below finds
	 * it too, but an INSERT that turns into no UPDATE costs SQLite
	 * several times the look-up. */
	sqlite3_stmt *s = hs_stmt(st, "SELECT " COMPANY_COLS " FROM companies"
	    " WHERE org_code = ?1", err);
	int rc = 0, r;

	if (s == NULL)
		return OC_ESTORE;
	hs_bt(s, 1, org_code);
	if ((r = sqlite3_step(s)) == SQLITE_ROW) {
		company_row(s, out);
		if (strcmp(out->name, name ? name : "") == 0 &&
		    (uscc == NULL || uscc[0] == '\0' || strcmp(out->uscc, uscc) == 0)) {
			hs_done(st, s);
			return 0;
		}
	} else if (r != SQLITE_DONE) {
		rc = hs_dberr(st, err, "reading the company");
		hs_done(st, s);
		return rc;
	}
	hs_done(st, s);
	if ((s = hs_stmt(st,
	    "INSERT INTO companies (org_code, uscc, name, created_at) VALUES (?1, ?2, ?3, ?4)"
	    " ON CONFLICT(org_code) DO UPDATE SET name = ?3,"
	    " uscc = CASE WHEN ?2 <> '' THEN ?2 ELSE uscc END"
	    " WHERE name <> ?3 OR (?2 <> '' AND uscc <> ?2)"
	    " RETURNING " COMPANY_COLS, err)) == NULL)
		return OC_ESTORE;
	hs_bt(s, 1, org_code); hs_bt(s, 2, uscc); hs_bt(s, 3, name);
	sqlite3_bind_int64(s, 4, time(NULL));
	if ((r = sqlite3_step(s)) == SQLITE_ROW)
		company_row(s, out);
	else if (r != SQLITE_DONE)
		rc = hs_dberr(st, err, "saving the company");
	hs_done(st, s);
	if (rc != 0 || r == SQLITE_ROW)
		return rc;
	/* unchanged: as it is */
	if ((s = hs_stmt(st, "SELECT " COMPANY_COLS " FROM companies WHERE org_code = ?1",
	    err)) == NULL)
		return OC_ESTORE;
	hs_bt(s, 1, org_code);
	if (sqlite3_step(s) == SQLITE_ROW)
		company_row(s, out);
	else
		rc = hs_dberr(st, err, "reading the company");
	hs_done(st, s);
	return rc;
}

int
oc_hall_company_get(struct oc_hall_store *st, long long id, struct oc_hall_company *out,
    struct oc_err *err)
{
	sqlite3_stmt *s = hs_stmt(st, "SELECT " COMPANY_COLS
	    " FROM companies WHERE id = ?1", err);
	int rc;

	if (s == NULL)
		return OC_ESTORE;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		company_row(s, out);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = oc_err_set(err, OC_ENOTFOUND, "no such company");
	} else {
		rc = hs_dberr(st, err, "reading the company");
	}
	hs_done(st, s);
	return rc;
}

void
hs_account_row(sqlite3_stmt *s, struct oc_hall_account *a)
{
	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(s, 0);
	hs_col(s, 1, a->uid, sizeof(a->uid));
	hs_col(s, 2, a->serial, sizeof(a->serial));
	hs_col(s, 3, a->issuer, sizeof(a->issuer));
	a->company_id = sqlite3_column_int64(s, 4);
	hs_col(s, 5, a->kind, sizeof(a->kind));
	hs_col(s, 6, a->role, sizeof(a->role));
	hs_col(s, 7, a->subject_cn, sizeof(a->subject_cn));
	a->not_after = (time_t)sqlite3_column_int64(s, 8);
	a->first_login = (time_t)sqlite3_column_int64(s, 9);
	a->last_login = (time_t)sqlite3_column_int64(s, 10);
	hs_col(s, 11, a->status, sizeof(a->status));
	hs_col(s, 12, a->holder_name, sizeof(a->holder_name));
	hs_col(s, 13, a->holder_mobile, sizeof(a->holder_mobile));
	hs_col(s, 14, a->note, sizeof(a->note));
	a->requested_at = (time_t)sqlite3_column_int64(s, 15);
	hs_col(s, 16, a->decided_by, sizeof(a->decided_by));
	hs_col(s, 17, a->reason, sizeof(a->reason));
	a->removed_at = (time_t)sqlite3_column_int64(s, 18);
}



int
oc_hall_account_login(struct oc_hall_store *st, struct oc_hall_account *a, struct oc_err *err)
{
	sqlite3_stmt *s = hs_stmt(st,
	    "INSERT INTO accounts (uid, serial, issuer, company_id, kind, role, subject_cn,"
	    " not_after, first_login, last_login) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)"
	    " ON CONFLICT(uid) DO UPDATE SET last_login = ?9, subject_cn = ?7, not_after = ?8"
	    " RETURNING " ACCOUNT_COLS, err);
	int rc = 0;

	if (s == NULL)
		return OC_ESTORE;
	hs_bt(s, 1, a->uid); hs_bt(s, 2, a->serial); hs_bt(s, 3, a->issuer);
	sqlite3_bind_int64(s, 4, a->company_id);
	hs_bt(s, 5, a->kind); hs_bt(s, 6, a->role); hs_bt(s, 7, a->subject_cn);
	sqlite3_bind_int64(s, 8, a->not_after);
	sqlite3_bind_int64(s, 9, time(NULL));
	if (sqlite3_step(s) == SQLITE_ROW) {
		struct oc_hall_account got;

		hs_account_row(s, &got);
		/* a unique ID that moved to another company or serial is not
		 * this account: refuse rather than merge */
		if (got.company_id != a->company_id || strcmp(got.serial, a->serial) != 0)
			rc = oc_err_set(err, OC_EPERM,
			    "证书唯一标识与已登记的证书不符 / this unique ID belongs to another certificate");
		else
			*a = got;
	} else {
		rc = hs_dberr(st, err, "recording the login");
	}
	hs_done(st, s);
	return rc;
}

int
oc_hall_account_get(struct oc_hall_store *st, long long id, struct oc_hall_account *out,
    struct oc_err *err)
{
	sqlite3_stmt *s = hs_stmt(st, "SELECT " ACCOUNT_COLS " FROM accounts WHERE id = ?1", err);
	int rc;

	if (s == NULL)
		return OC_ESTORE;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		hs_account_row(s, out);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = oc_err_set(err, OC_ENOTFOUND, "no such account");
	} else {
		rc = hs_dberr(st, err, "reading the account");
	}
	hs_done(st, s);
	return rc;
}

int
oc_hall_role_grant(struct oc_hall_store *st, const char *serial, const char *role,
    const char *by, struct oc_err *err)
{
	sqlite3_stmt *s = hs_stmt(st, "INSERT OR REPLACE INTO staff_roles (serial, role, granted_by,"
	    " granted_at) VALUES (?1, ?2, ?3, ?4)", err);
	int rc = 0;

	if (s == NULL)
		return OC_ESTORE;
	hs_bt(s, 1, serial); hs_bt(s, 2, role); hs_bt(s, 3, by);
	sqlite3_bind_int64(s, 4, time(NULL));
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = hs_dberr(st, err, "granting the role");
	hs_done(st, s);
	return rc;
}

int
oc_hall_role_revoke(struct oc_hall_store *st, const char *serial, const char *role,
    struct oc_err *err)
{
	sqlite3_stmt *s = hs_stmt(st, "DELETE FROM staff_roles WHERE serial = ?1 AND role = ?2", err);
	int rc = 0;

	if (s == NULL)
		return OC_ESTORE;
	hs_bt(s, 1, serial); hs_bt(s, 2, role);
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = hs_dberr(st, err, "revoking the role");
	else if (sqlite3_changes(st->db) != 1)
		rc = oc_err_set(err, OC_ENOTFOUND, "certificate %s does not hold the role %s", serial, role);
	hs_done(st, s);
	return rc;
}

int
oc_hall_role_get(struct oc_hall_store *st, const char *serial, char *role, size_t cap,
    struct oc_err *err)
{
	sqlite3_stmt *s = hs_stmt(st, "SELECT role FROM staff_roles WHERE serial = ?1"
	    " ORDER BY role = 'admin' DESC LIMIT 1", err);
	int rc;

	if (s == NULL)
		return OC_ESTORE;
	hs_bt(s, 1, serial);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		hs_col(s, 0, role, cap);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = oc_err_set(err, OC_ENOTFOUND, "no staff role");
	} else {
		rc = hs_dberr(st, err, "reading the role");
	}
	hs_done(st, s);
	return rc;
}

int
oc_hall_challenge_put(struct oc_hall_store *st, const char *hash, time_t expires_at,
    struct oc_err *err)
{
	sqlite3_stmt *s = hs_stmt(st, "INSERT INTO challenges (hash, expires_at) VALUES (?1, ?2)", err);
	int rc = 0;

	if (s == NULL)
		return OC_ESTORE;
	hs_bt(s, 1, hash);
	sqlite3_bind_int64(s, 2, expires_at);
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = hs_dberr(st, err, "storing the challenge");
	hs_done(st, s);
	/* old challenges are of no use to anyone */
	hs_run(st, "DELETE FROM challenges WHERE expires_at < strftime('%s','now') - 3600", NULL);
	return rc;
}

int
oc_hall_challenge_take(struct oc_hall_store *st, const char *hash, time_t now,
    struct oc_err *err)
{
	sqlite3_stmt *s = hs_stmt(st, "UPDATE challenges SET used = 1 WHERE hash = ?1 AND used = 0"
	    " AND expires_at >= ?2", err);
	int rc = 0;

	if (s == NULL)
		return OC_ESTORE;
	hs_bt(s, 1, hash);
	sqlite3_bind_int64(s, 2, now);
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = hs_dberr(st, err, "using the challenge");
	else if (sqlite3_changes(st->db) != 1)
		rc = oc_err_set(err, OC_EPERM,
		    "登录挑战无效、已过期或已使用 / the challenge is unknown, expired or already used");
	hs_done(st, s);
	return rc;
}

int
oc_hall_session_put(struct oc_hall_store *st, const struct oc_hall_session *x,
    struct oc_err *err)
{
	sqlite3_stmt *s = hs_stmt(st, "INSERT INTO sessions (id_hash, account_id, csrf, serial,"
	    " created_at, last_seen, checked_at, cert) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", err);
	int rc = 0;

	if (s == NULL)
		return OC_ESTORE;
	hs_bt(s, 1, x->id_hash);
	sqlite3_bind_int64(s, 2, x->account_id);
	hs_bt(s, 3, x->csrf); hs_bt(s, 4, x->serial);
	sqlite3_bind_int64(s, 5, x->created_at);
	sqlite3_bind_int64(s, 6, x->last_seen);
	sqlite3_bind_int64(s, 7, x->checked_at);
	sqlite3_bind_blob(s, 8, x->cert, (int)x->cert_len, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = hs_dberr(st, err, "storing the session");
	hs_done(st, s);
	return rc;
}

int
oc_hall_session_get(struct oc_hall_store *st, const char *id_hash,
    struct oc_hall_session *out, struct oc_err *err)
{
	sqlite3_stmt *s = hs_stmt(st, "SELECT id_hash, account_id, csrf, serial, created_at,"
	    " last_seen, checked_at, cert FROM sessions WHERE id_hash = ?1", err);
	int rc;

	if (s == NULL)
		return OC_ESTORE;
	hs_bt(s, 1, id_hash);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		hs_col(s, 0, out->id_hash, sizeof(out->id_hash));
		out->account_id = sqlite3_column_int64(s, 1);
		hs_col(s, 2, out->csrf, sizeof(out->csrf));
		hs_col(s, 3, out->serial, sizeof(out->serial));
		out->created_at = (time_t)sqlite3_column_int64(s, 4);
		out->last_seen = (time_t)sqlite3_column_int64(s, 5);
		out->checked_at = (time_t)sqlite3_column_int64(s, 6);
		{
			int n = sqlite3_column_bytes(s, 7);
			if (n > 0 && (size_t)n <= sizeof(out->cert)) {
				memcpy(out->cert, sqlite3_column_blob(s, 7), (size_t)n);
				out->cert_len = (size_t)n;
			}
		}
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = oc_err_set(err, OC_ENOTFOUND, "no such session");
	} else {
		rc = hs_dberr(st, err, "reading the session");
	}
	hs_done(st, s);
	return rc;
}

int
oc_hall_session_touch(struct oc_hall_store *st, const char *id_hash, time_t now,
    bool checked, struct oc_err *err)
{
	sqlite3_stmt *s = hs_stmt(st, "UPDATE sessions SET last_seen = ?2,"
	    " checked_at = CASE WHEN ?3 THEN ?2 ELSE checked_at END WHERE id_hash = ?1", err);
	int rc = 0;

	if (s == NULL)
		return OC_ESTORE;
	hs_bt(s, 1, id_hash);
	sqlite3_bind_int64(s, 2, now);
	sqlite3_bind_int(s, 3, checked);
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = hs_dberr(st, err, "updating the session");
	hs_done(st, s);
	return rc;
}

static int
delete_where(struct oc_hall_store *st, const char *sql, const char *v, struct oc_err *err)
{
	sqlite3_stmt *s = hs_stmt(st, sql, err);
	int rc = 0;

	if (s == NULL)
		return OC_ESTORE;
	hs_bt(s, 1, v);
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = hs_dberr(st, err, "ending sessions");
	hs_done(st, s);
	return rc;
}

int
oc_hall_session_end(struct oc_hall_store *st, const char *id_hash, struct oc_err *err)
{
	return delete_where(st, "DELETE FROM sessions WHERE id_hash = ?1", id_hash, err);
}

int
oc_hall_session_end_serial(struct oc_hall_store *st, const char *serial, struct oc_err *err)
{
	return delete_where(st, "DELETE FROM sessions WHERE serial = ?1", serial, err);
}

int
oc_hall_session_prune(struct oc_hall_store *st, time_t before, int limit, int *pruned,
    struct oc_err *err)
{
	sqlite3_stmt *s = hs_stmt(st, "DELETE FROM sessions WHERE id_hash IN (SELECT id_hash"
	    " FROM sessions WHERE last_seen < ?1 ORDER BY last_seen LIMIT ?2)", err);
	int rc = 0;

	if (pruned != NULL)
		*pruned = 0;
	if (s == NULL)
		return OC_ESTORE;
	sqlite3_bind_int64(s, 1, before);
	sqlite3_bind_int(s, 2, limit > 0 ? limit : -1);
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = hs_dberr(st, err, "deleting idle sessions");
	else if (pruned != NULL)
		*pruned = sqlite3_changes(st->db);
	hs_done(st, s);
	return rc;
}

int
oc_hall_audit(struct oc_hall_store *st, const char *actor, const char *source,
    const char *action, const char *object, const char *detail_json, struct oc_err *err)
{
	sqlite3_stmt *s = hs_stmt(st, "INSERT INTO audit (ts, actor, source, action, object, detail)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)", err);
	int rc = 0;

	if (s == NULL)
		return OC_ESTORE;
	sqlite3_bind_int64(s, 1, time(NULL));
	hs_bt(s, 2, actor); hs_bt(s, 3, source); hs_bt(s, 4, action); hs_bt(s, 5, object);
	hs_bt(s, 6, detail_json ? detail_json : "{}");
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = hs_dberr(st, err, "writing the audit log");
	hs_done(st, s);
	return rc;
}
