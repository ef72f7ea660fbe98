/*
 * batch.c — oc_ca_issue_batch: many certificates, one store transaction
 * (group commit).
 *
 * Why: a certificate is returned only once it is on disk, and with SQLite
 * in WAL mode and synchronous=FULL every commit is an fsync, so one
 * transaction per certificate (oc_ca_issue) caps issuance at the disk's
 * fsync rate.  One transaction per batch spreads that fsync over the batch.
 *
 * Shape, in two phases:
 *  1. make, outside any transaction: for each item read its enrollment,
 *     check that it is approved, and build, sign and lint its certificate
 *     (oc__ca_cert_make).  That is nearly all of the work — the key check,
 *     the signature in the signer process, the lint's verification of it —
 *     and it holds no database lock, so several handles on one database
 *     (one per thread, each with its own signer process and connection)
 *     make certificates at the same time.
 *  2. record, one transaction: BEGIN IMMEDIATE, oc__ca_cert_record for
 *     each certificate made (certificate row, approved → issued, audit
 *     row), COMMIT.  Only this phase is serialized between handles.
 * Issued still means stored: a certificate leaves the engine only after
 * the commit that holds it, and one that was signed but not committed is
 * freed here (its enrollment stays approved and can be issued again).
 *
 * Failures.  An item that fails while it is made (enrollment not approved,
 * key refused) is simply left out.  An item whose record fails may have
 * left some of its writes in the transaction, so the whole transaction is
 * rolled back and recorded again without that item; the other
 * certificates are already signed, so a retry costs only database work.
 * Which record failures are the item's own: OC_ECONFLICT (its enrollment
 * is no longer approved: another operator or a duplicate in this batch
 * issued it), OC_EINVAL (a value the schema refuses), and OC_EEXIST (its
 * serial or unique ID is taken), after which its certificate is made
 * again, up to MAKE_TRIES times, as oc__ca_issue_locked does.  Any other
 * record failure (the database itself) fails the whole batch.  Every
 * retry drops or remakes an item, so a call ends after at most
 * MAKE_TRIES * n + 1 transactions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/ca_priv.h"
#include "onecert/log.h"
#include "store/store_int.h"

#define MAKE_TRIES 4

/* What one item needs between the phases: the enrollment's fields that
 * make and record read (not the whole record, whose materials and notes
 * would make a batch's working set megabytes), and its certificate. */
struct slot {
	long long id;
	long long company_id;
	enum oc_enroll_kind kind;
	char profile[16];
	char person_name[128];
	char identity_code[32];
	char medium[17];
	int tries;
	struct oc__made m;           /* m.cert NULL: nothing to record */
};

static void
slot_enrollment(const struct slot *s, struct oc_enrollment *e)
{
	memset(e, 0, sizeof(*e));
	e->id = s->id;
	e->company_id = s->company_id;
	e->kind = s->kind;
	e->status = OC_ENR_APPROVED;
	memcpy(e->profile, s->profile, sizeof(e->profile));
	memcpy(e->person_name, s->person_name, sizeof(e->person_name));
	memcpy(e->identity_code, s->identity_code, sizeof(e->identity_code));
	memcpy(e->medium, s->medium, sizeof(e->medium));
}

/* Phase 1 for one item: 0 and s->m.cert set, or the item's error. */
static int
make_one(struct oc_ca *ca, struct oc_ca_batch_item *it, struct slot *s)
{
	struct oc_enrollment e;
	int rc;

	if (it->csr == NULL)
		return oc_err_set(&it->err, OC_EINVAL, "item has no CSR");
	if (it->medium != NULL && (rc = oc__check_medium(it->medium, &it->err)) != 0)
		return rc;
	if ((rc = oc_store_enroll_get(ca->st, it->enrollment, &e, &it->err)) != 0)
		return rc;
	if (e.status != OC_ENR_APPROVED)
		return oc_err_set(&it->err, OC_ECONFLICT,
		    "申请 %lld 未审核通过，不能签发 / enrollment %lld is %s, not approved: nothing issued",
		    e.id, e.id, oc_enroll_status_name(e.status));
	s->id = e.id;
	s->company_id = e.company_id;
	s->kind = e.kind;
	memcpy(s->profile, e.profile, sizeof(s->profile));
	memcpy(s->person_name, e.person_name, sizeof(s->person_name));
	memcpy(s->identity_code, e.identity_code, sizeof(s->identity_code));
	snprintf(s->medium, sizeof(s->medium), "%s", it->medium != NULL ? it->medium : e.medium);
	s->tries = 1;
	return oc__ca_cert_make(ca, &e, it->csr, &s->m, &it->err);
}

/* Phase 2: one transaction with every certificate still to record.
 * 0: committed.  1: rolled back, an item was dropped or remade: again.
 * < 0: the batch failed (err set, rolled back). */
static int
record_all(struct oc_ca *ca, const struct oc_actor *who,
    struct oc_ca_batch_item *items, struct slot *slots, size_t n,
    struct oc_err *err)
{
	struct oc_enrollment e;
	struct slot *s;
	int rc;

	if ((rc = oc_store_begin(ca->st, err)) != 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		s = &slots[i];
		if (s->m.cert == NULL)
			continue;
		slot_enrollment(s, &e);
		rc = oc__ca_cert_record(ca, who, &e, &s->m, s->medium[0] ? s->medium : NULL,
		    NULL, &items[i].err);
		if (rc == 0)
			continue;
		oc_store_rollback(ca->st);
		oc__made_cleanup(&s->m);
		if (rc == OC_EEXIST && s->tries < MAKE_TRIES) {
			/* Serial or unique ID taken: a new certificate, made
			 * outside the transaction like the others. */
			s->tries++;
			oc_err_clear(&items[i].err);
			oc__ca_cert_make(ca, &e, items[i].csr, &s->m, &items[i].err);
			return 1;
		}
		if (rc == OC_ECONFLICT || rc == OC_EINVAL || rc == OC_EEXIST)
			return 1;       /* this item's own failure: drop it */
		if (err != NULL)
			*err = items[i].err;
		return rc;
	}
	return oc_store_commit(ca->st, err);
}

int
oc_ca_issue_batch(struct oc_ca *ca, const struct oc_actor *who,
    struct oc_ca_batch_item *items, size_t n, struct oc_err *err)
{
	struct slot *slots = NULL;
	int rc, issued = 0;

	if (n == 0)
		return 0;
	if (items == NULL || n > OC_CA_BATCH_MAX)
		return oc_err_set(err, OC_EINVAL, "a batch holds 1..%d items", OC_CA_BATCH_MAX);
	if (ca->st->depth != 0)
		return oc_err_set(err, OC_EINVAL,
		    "oc_ca_issue_batch commits by itself: not inside an open transaction");
	if ((slots = calloc(n, sizeof(*slots))) == NULL)
		return oc_err_set(err, OC_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		items[i].cert = NULL;
		oc_err_clear(&items[i].err);
		make_one(ca, &items[i], &slots[i]);
	}
	while ((rc = record_all(ca, who, items, slots, n, err)) == 1)
		;
	for (size_t i = 0; i < n; i++) {
		if (rc == 0 && slots[i].m.cert != NULL) {
			items[i].cert = slots[i].m.cert;
			slots[i].m.cert = NULL;
			issued++;
			oc_log(OC_LOG_DEBUG, "cert.issued", "enrollment=%lld serial=%s",
			    slots[i].id, slots[i].m.serial);
		}
		oc__made_cleanup(&slots[i].m);
	}
	free(slots);
	if (rc != 0)
		return rc;
	oc_log(OC_LOG_INFO, "cert.issued_batch", "issued=%d items=%zu", issued, n);
	return issued;
}
