/*
 * hall_notify_sqlite.c — the hall's SMS outbox and its mobile number-segment
 * table (first 7 digits → city) on SQLite.
 *
 * The outbox is append-only: every message the hall sends, whatever the
 * backend, is one row (SPEC §4.2 step 7), so an admin can read what went
 * out and what the gateway answered.  The segment table is replaced or
 * extended as a whole in one transaction: an import with one bad row
 * leaves the table as it was (SPEC §7, nothing half-written).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "store/hall_sqlite_int.h"

#define CITY_MAX 64

int
oc_hall_outbox_put(struct oc_hall_store *st, struct oc_hall_sms *m, struct oc_err *err)
{
	sqlite3_stmt *s;
	int rc = 0;

	if (m->ts == 0)
		m->ts = time(NULL);
	s = hs_prep(st, "INSERT INTO outbox (ts, dest, text, purpose, via, status, answer)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id", err);
	if (s == NULL)
		return OC_ESTORE;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)m->ts);
	hs_bt(s, 2, m->to); hs_bt(s, 3, m->text); hs_bt(s, 4, m->purpose);
	hs_bt(s, 5, m->via); hs_bt(s, 6, m->status); hs_bt(s, 7, m->answer);
	if (sqlite3_step(s) == SQLITE_ROW)
		m->id = sqlite3_column_int64(s, 0);
	else
		rc = hs_dberr(st, err, "storing the message in the outbox");
	sqlite3_finalize(s);
	return rc;
}

int
oc_hall_outbox_list(struct oc_hall_store *st, const char *to, long long after_id,
    int limit, int (*fn)(const struct oc_hall_sms *m, void *arg), void *arg,
    struct oc_err *err)
{
	/* two statements so that a lookup by number uses outbox_dest */
	sqlite3_stmt *s = hs_prep(st, to != NULL ?
	    "SELECT id, ts, dest, text, purpose, via, status, answer FROM outbox"
	    " WHERE dest = ?3 AND id > ?1 ORDER BY id LIMIT ?2" :
	    "SELECT id, ts, dest, text, purpose, via, status, answer FROM outbox"
	    " WHERE id > ?1 ORDER BY id LIMIT ?2", err);
	struct oc_hall_sms m;
	int rc = 0, r;

	if (s == NULL)
		return OC_ESTORE;
	sqlite3_bind_int64(s, 1, after_id);
	sqlite3_bind_int(s, 2, limit > 0 ? limit : -1);
	if (to != NULL)
		hs_bt(s, 3, to);
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&m, 0, sizeof(m));
		m.id = sqlite3_column_int64(s, 0);
		m.ts = (time_t)sqlite3_column_int64(s, 1);
		hs_col(s, 2, m.to, sizeof(m.to));
		hs_col(s, 3, m.text, sizeof(m.text));
		hs_col(s, 4, m.purpose, sizeof(m.purpose));
		hs_col(s, 5, m.via, sizeof(m.via));
		hs_col(s, 6, m.status, sizeof(m.status));
		hs_col(s, 7, m.answer, sizeof(m.answer));
		if ((rc = fn(&m, arg)) != 0)
			break;
	}
	if (rc == 0 && r != SQLITE_DONE)
		rc = hs_dberr(st, err, "reading the outbox");
	sqlite3_finalize(s);
	return rc;
}

static bool
prefix_ok(const char *p)
{
	if (p == NULL || strlen(p) != 7 || p[0] != '1')
		return false;
	for (int i = 0; i < 7; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	return true;
}

int
oc_hall_segments_put(struct oc_hall_store *st, const char *const *prefixes,
    const char *const *cities, size_t n, bool replace, struct oc_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	/* check every row before touching the table */
	for (size_t i = 0; i < n; i++) {
		size_t cl = cities[i] ? strlen(cities[i]) : 0;

		if (!prefix_ok(prefixes[i]))
			return oc_err_set(err, OC_EINVAL, "号段第%zu条：号段应为以1开头的7位数字 / "
			    "segment %zu: the prefix must be 7 digits starting with 1", i + 1, i + 1);
		if (cl == 0 || cl > CITY_MAX)
			return oc_err_set(err, OC_EINVAL, "号段第%zu条：城市名为空或超过%d字节 / "
			    "segment %zu: the city is empty or longer than %d bytes",
			    i + 1, CITY_MAX, i + 1, CITY_MAX);
	}
	if ((rc = hs_exec(st, "BEGIN IMMEDIATE", err)) != 0)
		return rc;
	rc = OC_ESTORE;
	if (replace && hs_exec(st, "DELETE FROM mobile_segments", err) != 0)
		goto out;
	if ((s = hs_prep(st, "INSERT OR REPLACE INTO mobile_segments (prefix, city)"
	    " VALUES (?1, ?2)", err)) == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		sqlite3_reset(s);
		hs_bt(s, 1, prefixes[i]);
		hs_bt(s, 2, cities[i]);
		if (sqlite3_step(s) != SQLITE_DONE) {
			rc = hs_dberr(st, err, "storing the number segments");
			goto out;
		}
	}
	sqlite3_finalize(s);
	s = NULL;
	if ((rc = hs_exec(st, "COMMIT", err)) != 0)
		goto out;
	return 0;
out:
	sqlite3_finalize(s);
	hs_exec(st, "ROLLBACK", NULL);
	return rc;
}

int
oc_hall_segment_city(struct oc_hall_store *st, const char *prefix7, char *city,
    size_t cap, struct oc_err *err)
{
	sqlite3_stmt *s = hs_prep(st, "SELECT city FROM mobile_segments WHERE prefix = ?1", err);
	int rc;

	if (s == NULL)
		return OC_ESTORE;
	hs_bt(s, 1, prefix7);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		hs_col(s, 0, city, cap);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = oc_err_set(err, OC_ENOTFOUND, "号段表中没有 %s / the segment table does not "
		    "know %s", prefix7 ? prefix7 : "", prefix7 ? prefix7 : "");
	} else {
		rc = hs_dberr(st, err, "reading the segment table");
	}
	sqlite3_finalize(s);
	return rc;
}
