/*
 * store.c — the backend-independent half of the store: opening by URI,
 * nested transactions, the audit hash chain, and dispatch to the backend
 * table.  The audit chain is computed here, not in SQL, so that every
 * backend produces the same hashes and `onecert ca audit --verify` can
 * check a log copied between them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "onecert/store.h"
#include "store/store_int.h"

struct oc_store *
oc_store_open(const char *uri, struct oc_err *err)
{
	if (uri == NULL || *uri == '\0') {
		oc_err_set(err, OC_EINVAL, "empty store URI");
		return NULL;
	}
	if (strncmp(uri, "sqlite:", 7) == 0)
		return oc__store_sqlite_open(uri + 7, err);
	if (strncmp(uri, "postgresql:", 11) == 0 || strncmp(uri, "postgres:", 9) == 0) {
		oc_err_set(err, OC_EUNSUPPORTED,
		    "the PostgreSQL store is not built yet; use sqlite:PATH");
		return NULL;
	}
	return oc__store_sqlite_open(uri, err);
}

void
oc_store_close(struct oc_store *st)
{
	if (st != NULL)
		st->ops->close(st);
}

int
oc_store_schema_version(struct oc_store *st)
{
	return st->ops->schema_version(st);
}

int
oc_store_begin(struct oc_store *st, struct oc_err *err)
{
	int rc;

	if (st->depth++ > 0)
		return 0;
	st->failed = 0;
	if ((rc = st->ops->exec(st, "BEGIN IMMEDIATE", err)) != 0)
		st->depth = 0;
	return rc;
}

int
oc_store_commit(struct oc_store *st, struct oc_err *err)
{
	int rc;

	if (st->depth <= 0)
		return oc_err_set(err, OC_EINTERNAL, "commit without begin");
	if (--st->depth > 0)
		return 0;
	if (st->failed) {
		st->ops->exec(st, "ROLLBACK", NULL);
		return oc_err_set(err, OC_ECONFLICT, "transaction was rolled back");
	}
	if ((rc = st->ops->exec(st, "COMMIT", err)) != 0)
		st->ops->exec(st, "ROLLBACK", NULL);
	return rc;
}

void
oc_store_rollback(struct oc_store *st)
{
	if (st->depth <= 0)
		return;
	if (--st->depth > 0) {
		st->failed = 1;
		return;
	}
	st->ops->exec(st, "ROLLBACK", NULL);
}

int
oc_store_savepoint(struct oc_store *st, struct oc_err *err)
{
	if (st->depth <= 0)
		return oc_err_set(err, OC_EINTERNAL, "savepoint outside a transaction");
	if (st->failed)
		return oc_err_set(err, OC_ECONFLICT, "transaction was rolled back");
	return st->ops->exec(st, "SAVEPOINT oc_item", err);
}

int
oc_store_savepoint_release(struct oc_store *st, struct oc_err *err)
{
	if (st->depth <= 0)
		return oc_err_set(err, OC_EINTERNAL, "release outside a transaction");
	return st->ops->exec(st, "RELEASE oc_item", err);
}

int
oc_store_savepoint_rollback(struct oc_store *st, struct oc_err *err)
{
	int rc;

	if (st->depth <= 0)
		return oc_err_set(err, OC_EINTERNAL, "rollback outside a transaction");
	/* ROLLBACK TO keeps the savepoint open: release it too. */
	if ((rc = st->ops->exec(st, "ROLLBACK TO oc_item", err)) != 0 ||
	    (rc = st->ops->exec(st, "RELEASE oc_item", err)) != 0)
		return rc;
	/* A nested oc_store_rollback inside the savepoint doomed only what
	 * was just undone. */
	st->failed = 0;
	return 0;
}

int
oc__store_copy(char *dst, size_t cap, const char *src, const char *what,
    struct oc_err *err)
{
	size_t n;

	if (src == NULL)
		src = "";
	n = strlen(src);
	if (n >= cap)
		return oc_err_set(err, OC_EINVAL, "%s is too long (%zu bytes, at most %zu)",
		    what, n, cap - 1);
	memcpy(dst, src, n + 1);
	return 0;
}

int
oc_store_company_put(struct oc_store *st, struct oc_company *c, struct oc_err *err)
{
	return st->ops->company_put(st, c, err);
}

int
oc_store_company_get(struct oc_store *st, long long id, struct oc_company *out, struct oc_err *err)
{
	return st->ops->company_get(st, id, out, err);
}

int
oc_store_company_find(struct oc_store *st, const char *code, struct oc_company *out, struct oc_err *err)
{
	return st->ops->company_find(st, code, out, err);
}

int
oc_store_enroll_insert(struct oc_store *st, struct oc_enrollment *e, struct oc_err *err)
{
	return st->ops->enroll_insert(st, e, err);
}

int
oc_store_enroll_get(struct oc_store *st, long long id, struct oc_enrollment *out, struct oc_err *err)
{
	return st->ops->enroll_get(st, id, out, err);
}

int
oc_store_enroll_transition(struct oc_store *st, long long id,
    enum oc_enroll_status from, enum oc_enroll_status to, const char *by,
    const char *note, const char *serial, struct oc_err *err)
{
	return st->ops->enroll_transition(st, id, from, to, by, note, serial, err);
}

int
oc_store_cert_insert(struct oc_store *st, const struct oc_cert_rec *c, struct oc_err *err)
{
	return st->ops->cert_insert(st, c, err);
}

struct get_arg {
	struct oc_cert_rec *out;
	int found;
};

static int
get_cb(const struct oc_cert_rec *rec, void *arg)
{
	struct get_arg *g = arg;

	*g->out = *rec;
	g->out->der = NULL;
	if (rec->der != NULL) {
		g->out->der = malloc(rec->der_len);
		if (g->out->der == NULL)
			return OC_ENOMEM;
		memcpy(g->out->der, rec->der, rec->der_len);
	}
	g->found = 1;
	return 1;   /* stop */
}

int
oc_store_cert_get(struct oc_store *st, const char *serial, struct oc_cert_rec *out, struct oc_err *err)
{
	struct oc_cert_filter f = { .serial = serial, .with_der = true };
	struct get_arg g = { out, 0 };
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = st->ops->cert_list(st, &f, get_cb, &g, err)) < 0)
		return rc;
	if (!g.found)
		return oc_err_set(err, OC_ENOTFOUND, "no certificate with serial %s", serial);
	return 0;
}

int
oc_store_cert_list(struct oc_store *st, const struct oc_cert_filter *f,
    oc_cert_cb cb, void *arg, struct oc_err *err)
{
	int rc = st->ops->cert_list(st, f, cb, arg, err);
	return rc > 0 ? 0 : rc;
}

int
oc_store_cert_changes(struct oc_store *st, const char *ca, long long after,
    oc_cert_cb cb, void *arg, long long *upto, struct oc_err *err)
{
	long long dummy;
	int rc;

	if (ca == NULL || cb == NULL || after < 0)
		return oc_err_set(err, OC_EINVAL, "oc_store_cert_changes: bad arguments");
	rc = st->ops->cert_changes(st, ca, after, cb, arg,
	    upto != NULL ? upto : &dummy, err);
	return rc > 0 ? 0 : rc;
}

int
oc_store_cert_revoke(struct oc_store *st, const char *serial, time_t at,
    int reason, const char *by, struct oc_err *err)
{
	return st->ops->cert_revoke(st, serial, at, reason, by, err);
}

int
oc_store_cert_set_replaced_by(struct oc_store *st, const char *serial,
    const char *by_serial, struct oc_err *err)
{
	return st->ops->cert_set_replaced_by(st, serial, by_serial, err);
}

int
oc_store_medium_put(struct oc_store *st, const struct oc_medium *m, struct oc_err *err)
{
	return st->ops->medium_put(st, m, err);
}

int
oc_store_medium_get(struct oc_store *st, const char *serial, struct oc_medium *out, struct oc_err *err)
{
	return st->ops->medium_get(st, serial, out, err);
}

int
oc_store_medium_set_status(struct oc_store *st, const char *serial, const char *status, struct oc_err *err)
{
	return st->ops->medium_set_status(st, serial, status, err);
}

/* hash = SHA-256(prev_hash | ts | actor | source | action | object | detail),
 * each field followed by a 0x1f separator so that fields cannot run into
 * each other. */
static void
audit_hash(const struct oc_audit_rec *r, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	char ts[32];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	const char *fields[7];
	static const char sep = 0x1f;

	snprintf(ts, sizeof(ts), "%lld", (long long)r->ts);
	fields[0] = r->prev_hash; fields[1] = ts; fields[2] = r->actor;
	fields[3] = r->source; fields[4] = r->action; fields[5] = r->object;
	fields[6] = r->detail;
	out[0] = '\0';
	if (ctx == NULL || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		goto out;
	for (int i = 0; i < 7; i++) {
		EVP_DigestUpdate(ctx, fields[i], strlen(fields[i]));
		EVP_DigestUpdate(ctx, &sep, 1);
	}
	if (!EVP_DigestFinal_ex(ctx, md, &mdlen))
		goto out;
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
out:
	EVP_MD_CTX_free(ctx);
}

int
oc_store_audit(struct oc_store *st, const char *actor, const char *source,
    const char *action, const char *object, const char *detail_json,
    struct oc_err *err)
{
	struct oc_audit_rec r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.ts = time(NULL);
	if ((rc = oc__store_copy(r.actor, sizeof(r.actor), actor, "audit actor", err)) ||
	    (rc = oc__store_copy(r.source, sizeof(r.source), source, "audit source", err)) ||
	    (rc = oc__store_copy(r.action, sizeof(r.action), action, "audit action", err)) ||
	    (rc = oc__store_copy(r.object, sizeof(r.object), object, "audit object", err)) ||
	    (rc = oc__store_copy(r.detail, sizeof(r.detail), detail_json ? detail_json : "{}",
	    "audit detail", err)))
		return rc;
	/* The read of the last hash and the insert must be one transaction,
	 * or two writers could chain onto the same row. */
	if ((rc = oc_store_begin(st, err)) != 0)
		return rc;
	if ((rc = st->ops->audit_last(st, r.prev_hash, err)) != 0)
		goto fail;
	audit_hash(&r, r.hash);
	if ((rc = st->ops->audit_insert(st, &r, err)) != 0)
		goto fail;
	return oc_store_commit(st, err);
fail:
	oc_store_rollback(st);
	return rc;
}

int
oc_store_audit_list(struct oc_store *st, long long after_id, oc_audit_cb cb,
    void *arg, struct oc_err *err)
{
	int rc = st->ops->audit_list(st, after_id, cb, arg, err);
	return rc > 0 ? 0 : rc;
}

struct verify_arg {
	char prev[65];
	long long rows;
	long long bad;
};

static int
verify_cb(const struct oc_audit_rec *r, void *arg)
{
	struct verify_arg *v = arg;
	char h[65];

	if (strcmp(r->prev_hash, v->prev) != 0) {
		v->bad = r->id;
		return 1;
	}
	audit_hash(r, h);
	if (strcmp(h, r->hash) != 0) {
		v->bad = r->id;
		return 1;
	}
	memcpy(v->prev, r->hash, sizeof(v->prev));
	v->rows++;
	return 0;
}

int
oc_store_audit_verify(struct oc_store *st, long long *rows, struct oc_err *err)
{
	struct verify_arg v;
	int rc;

	memset(&v, 0, sizeof(v));
	memset(v.prev, '0', 64);
	if ((rc = oc_store_audit_list(st, 0, verify_cb, &v, err)) != 0)
		return rc;
	if (rows != NULL)
		*rows = v.rows;
	if (v.bad != 0)
		return oc_err_set(err, OC_ECONFLICT,
		    "audit log chain broken at row %lld (edited or deleted rows)", v.bad);
	return 0;
}

int
oc_store_counter_next(struct oc_store *st, const char *name, long long *out, struct oc_err *err)
{
	return st->ops->counter_next(st, name, out, err);
}

int
oc_store_operator_grant(struct oc_store *st, const char *serial, const char *name,
    const char *by, struct oc_err *err)
{
	return st->ops->operator_grant(st, serial, name, by, err);
}

int
oc_store_operator_revoke(struct oc_store *st, const char *serial, const char *by,
    struct oc_err *err)
{
	return st->ops->operator_revoke(st, serial, by, err);
}

int
oc_store_operator_check(struct oc_store *st, const char *serial, char *name,
    size_t cap, struct oc_err *err)
{
	return st->ops->operator_check(st, serial, name, cap, err);
}

int
oc_store_auth_version(struct oc_store *st, long long *out, struct oc_err *err)
{
	return st->ops->auth_version(st, out, err);
}

int
oc_store_app_open(struct oc_store *st, const char *serial, const char *app,
    const char *by, struct oc_err *err)
{
	return st->ops->app_open(st, serial, app, by, err);
}

int
oc_store_app_close(struct oc_store *st, const char *serial, const char *app,
    const char *by, struct oc_err *err)
{
	return st->ops->app_close(st, serial, app, by, err);
}

int
oc_store_app_list(struct oc_store *st, const char *serial, oc_app_cb cb, void *arg,
    struct oc_err *err)
{
	int rc = st->ops->app_list(st, serial, cb, arg, err);
	return rc > 0 ? 0 : rc;
}

const char *
oc_enroll_kind_name(enum oc_enroll_kind k)
{
	switch (k) {
	case OC_ENROLL_APPLY: return "apply";
	case OC_ENROLL_RENEW: return "renew";
	case OC_ENROLL_CHANGE: return "change";
	case OC_ENROLL_REISSUE: return "reissue";
	}
	return "?";
}

const char *
oc_enroll_status_name(enum oc_enroll_status s)
{
	switch (s) {
	case OC_ENR_PENDING: return "pending";
	case OC_ENR_APPROVED: return "approved";
	case OC_ENR_REJECTED: return "rejected";
	case OC_ENR_ISSUED: return "issued";
	}
	return "?";
}

const char *
oc_cert_status_name(enum oc_cert_status s)
{
	return s == OC_CERT_REVOKED ? "revoked" : "valid";
}
