/*
 * group.c — group commit for oc_ca_issue: the certificates that threads of
 * one process are issuing at the same time on one database are recorded
 * in one store transaction, so they share one fsync.
 *
 * Why: a certificate is returned only once it is on disk, and with SQLite
 * in WAL mode and synchronous=FULL every commit is an fsync that holds the
 * database's write lock.  With one transaction per certificate the RA
 * API's workers queue behind each other's fsync, and the cores idle while
 * they wait.  oc_ca_issue_batch (batch.c) solves this for a caller that
 * has many certificates at once; here each request has one, and the batch
 * is whatever the other workers have ready at the same moment.
 *
 * Shape: every handle opened on the same database file in this process
 * shares one struct oc__group (src/store/dbshared.c: keyed by the file).  A
 * thread makes its certificate (build, sign, lint) outside any lock, as
 * before, and then queues it.  If no thread is recording, it becomes the
 * leader: it takes everything queued, records it on its own connection in
 * one transaction — each item inside its own savepoint, so an item that
 * fails (its enrollment no longer approved, a serial or unique ID taken,
 * a value the schema refuses) is undone alone and the others commit —
 * commits once and wakes the threads whose items it recorded.  Otherwise
 * it sleeps until its item is done; items queued while a leader commits
 * form the next group, led by one of their threads.  A thread never
 * returns before the commit that holds its certificate has succeeded.
 *
 * A failure of the store itself (anything but the three item failures
 * above, or the commit) fails every item of that group: nothing of it was
 * committed.  The audit chain stays one chain: the leader appends each
 * item's row after the previous one inside its transaction.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ca/ca_priv.h"
#include "onecert/log.h"
#include "store/store_int.h"

/* At most this many certificates in one transaction (a bound on how long
 * the write lock is held); the rest wait for the next. */
#define GROUP_MAX 256

struct item {
	const struct oc_actor *who;
	const struct oc_enrollment *e;
	const struct oc__made *m;
	const char *medium;
	int rc;
	struct oc_err err;
	bool done;
	struct item *next;
};

struct oc__group {
	struct oc__dbshared sh;      /* mu, cv (src/store/dbshared.c) */
	bool leading;                /* a thread is recording a group */
	struct item *head, *tail;    /* queued, not yet taken by a leader */
};

struct oc__group *
oc__group_get(const char *db_path)
{
	return oc__dbshared_get(db_path, "ca.issue", sizeof(struct oc__group));
}

void
oc__group_put(struct oc__group *g)
{
	oc__dbshared_put(g);
}

static bool
own_failure(int rc)
{
	return rc == OC_ECONFLICT || rc == OC_EINVAL || rc == OC_EEXIST;
}

/* Every item of the list gets rc and err (the group failed as a whole). */
static void
fail_all(struct item *list, int rc, const struct oc_err *err)
{
	for (struct item *it = list; it != NULL; it = it->next) {
		it->rc = rc;
		if (err != NULL)
			it->err = *err;
		else
			oc_err_set(&it->err, rc, "the group's transaction failed");
	}
}

/* Record every item of list on ca's connection in one transaction; sets
 * each item's rc and err. */
static void
record_group(struct oc_ca *ca, struct item *list)
{
	struct oc_err err;
	struct item *it;
	int rc, ok = 0;

	oc_err_clear(&err);
	if ((rc = oc_store_begin(ca->st, &err)) != 0)
		return fail_all(list, rc, &err);
	for (it = list; it != NULL; it = it->next) {
		oc_err_clear(&it->err);
		if ((rc = oc_store_savepoint(ca->st, &err)) != 0)
			goto fail;
		it->rc = oc__ca_cert_record(ca, it->who, it->e, it->m, it->medium, NULL,
		    &it->err);
		if (it->rc == 0) {
			if ((rc = oc_store_savepoint_release(ca->st, &err)) != 0)
				goto fail;
			ok++;
			continue;
		}
		if (!own_failure(it->rc)) {
			rc = it->rc;
			err = it->err;
			goto fail;
		}
		if ((rc = oc_store_savepoint_rollback(ca->st, &err)) != 0)
			goto fail;
	}
	if (ok == 0) {
		oc_store_rollback(ca->st);
		return;
	}
	if ((rc = oc_store_commit(ca->st, &err)) != 0) {
		for (it = list; it != NULL; it = it->next)
			if (it->rc == 0) {
				it->rc = rc;
				it->err = err;
			}
	}
	return;
fail:
	oc_store_rollback(ca->st);
	fail_all(list, rc, &err);
}

int
oc__group_record(struct oc_ca *ca, const struct oc_actor *who,
    const struct oc_enrollment *e, const struct oc__made *m, const char *medium,
    struct oc_err *err)
{
	struct oc__group *g = ca->grp;
	struct item me, *list, *last;
	int n;

	memset(&me, 0, sizeof(me));
	me.who = who;
	me.e = e;
	me.m = m;
	me.medium = medium;
	if (g == NULL) {
		/* No group (the database file could not be named): one
		 * transaction of one. */
		record_group(ca, &me);
		goto out;
	}
	pthread_mutex_lock(&g->sh.mu);
	if (g->tail != NULL)
		g->tail->next = &me;
	else
		g->head = &me;
	g->tail = &me;
	while (!me.done) {
		if (g->leading) {
			pthread_cond_wait(&g->sh.cv, &g->sh.mu);
			continue;
		}
		/* Lead: take up to GROUP_MAX queued items (ours among them
		 * unless GROUP_MAX others came first). */
		list = last = g->head;
		for (n = 1; n < GROUP_MAX && last->next != NULL; n++)
			last = last->next;
		g->head = last->next;
		if (g->head == NULL)
			g->tail = NULL;
		last->next = NULL;
		g->leading = true;
		pthread_mutex_unlock(&g->sh.mu);

		record_group(ca, list);
		if (n > 1)
			oc_log(OC_LOG_DEBUG, "cert.group", "items=%d", n);

		pthread_mutex_lock(&g->sh.mu);
		for (struct item *it = list, *next; it != NULL; it = next) {
			next = it->next;
			it->done = true;
		}
		g->leading = false;
		pthread_cond_broadcast(&g->sh.cv);
	}
	pthread_mutex_unlock(&g->sh.mu);
out:
	if (me.rc != 0 && err != NULL)
		*err = me.err;
	return me.rc;
}
