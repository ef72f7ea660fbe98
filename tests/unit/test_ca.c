/*
 * test_ca.c — the CA engine's state machine through its C API: every
 * lifecycle transition and every refusal, on a CA with development file
 * keys (fast) and one with keys on a SoftHSM2 token; and two operators
 * racing for the same transition, of whom exactly one wins.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "onecert/buf.h"
#include "onecert/ca.h"
#include "onecert/config.h"
#include "onecert/log.h"
#include "onecert/pki.h"
#include "onecert/signer.h"
#include "onecert/store.h"

#define USCC "91310115MA1FL8XY7N"

static char dir[1024];
static const struct oc_actor op = { "op-test", "unit" };

static void
tmpdir(const char *tag)
{
	const char *base = getenv("ONECERT_TEST_TMP");
	char cmd[1200];

	if (base == NULL)
		base = "/tmp";
	mkdir(base, 0755);
	snprintf(dir, sizeof(dir), "%s/test_ca.%s.%ld", base, tag, (long)getpid());
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void
rmdir_all(void)
{
	char cmd[1200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static X509_REQ *
csr(enum oc_algo a)
{
	EVP_PKEY *k = oc_pkey_generate(a, 2048, NULL);
	struct oc_signer *s;
	X509_REQ *r;

	assert_non_null(k);
	s = oc_signer_from_pkey(k, NULL);
	assert_non_null(s);
	r = oc_csr_build(&(struct oc_cert_subject){ .cn = "ignored" }, s, NULL);
	assert_non_null(r);
	oc_signer_free(s);
	EVP_PKEY_free(k);
	return r;
}

static struct oc_ca *
make_ca(const char *tag, enum oc_algo a, bool dev)
{
	struct oc_ca_init_opts o = { .algo = a, .dev_file_keys = dev, .actor = "op-test",
	    .base_url = "http://127.0.0.1:18080" };
	struct oc_err err;
	struct oc_ca *ca;

	tmpdir(tag);
	o.dir = dir;
	if (oc_ca_init(&o, &err) != 0)
		fail_msg("init: %s (%s)", err.msg, err.detail);
	ca = oc_ca_open(dir, &err);
	if (ca == NULL)
		fail_msg("open: %s (%s)", err.msg, err.detail);
	return ca;
}

static long long
enroll(struct oc_ca *ca, bool approve)
{
	struct oc_enroll_req r = { .profile = OC_PROFILE_ENTERPRISE,
	    .name = "上海浦江建筑工程有限公司", .uscc = USCC, .materials = "[\"营业执照\"]" };
	long long id = 0;

	assert_int_equal(oc_ca_enroll(ca, &op, &r, &id, NULL), 0);
	if (approve)
		assert_int_equal(oc_ca_decide(ca, &op, id, true, NULL, NULL), 0);
	return id;
}

static void
serial_of(X509 *c, char out[43])
{
	assert_int_equal(oc_serial_hex(X509_get0_serialNumber(c), out), 0);
}

static void
test_enroll_refusals(void **state)
{
	struct oc_ca *ca = make_ca("enroll", OC_ALGO_EC, true);
	struct oc_err err;
	long long id;
	struct oc_enroll_req r = { .profile = OC_PROFILE_ENTERPRISE, .name = "某公司", .uscc = USCC };
	(void)state;

	r.uscc = "91310115MA1FL8XY7A";
	assert_int_equal(oc_ca_enroll(ca, &op, &r, &id, &err), OC_EINVAL);
	assert_non_null(strstr(err.msg, "18"));
	r.uscc = USCC;
	r.phone = "12345678901";
	assert_int_equal(oc_ca_enroll(ca, &op, &r, &id, &err), OC_EINVAL);
	r.phone = NULL;
	r.materials = "{not json";
	assert_int_equal(oc_ca_enroll(ca, &op, &r, &id, &err), OC_EINVAL);
	r.materials = NULL;
	r.name = "bad\nname";
	assert_int_equal(oc_ca_enroll(ca, &op, &r, &id, &err), OC_EINVAL);
	r.name = "\xff\xfe";
	assert_int_equal(oc_ca_enroll(ca, &op, &r, &id, &err), OC_EINVAL);
	r.name = "某公司";
	r.tax_no = "税号";
	assert_int_equal(oc_ca_enroll(ca, &op, &r, &id, &err), OC_EINVAL);
	r.tax_no = NULL;
	r.profile = OC_PROFILE_OCSP;
	assert_int_equal(oc_ca_enroll(ca, &op, &r, &id, &err), OC_EINVAL);
	/* personal: GB 11643 check character */
	struct oc_enroll_req p = { .profile = OC_PROFILE_PERSONAL, .name = "王五",
	    .identity_code = "110101199003074511" };
	assert_int_equal(oc_ca_enroll(ca, &op, &p, &id, &err), OC_EINVAL);
	p.identity_code = "110101199003074514";
	assert_int_equal(oc_ca_enroll(ca, &op, &p, &id, &err), 0);
	/* the refusals wrote nothing: the only enrollment is the last one */
	struct oc_enrollment e;
	assert_int_equal(oc_store_enroll_get(oc_ca_store(ca), id, &e, NULL), 0);
	assert_int_equal(id, 1);
	oc_ca_close(ca);
	rmdir_all();
}

static void
test_transitions(void **state)
{
	struct oc_ca *ca = make_ca("trans", OC_ALGO_EC, true);
	struct oc_err err;
	X509_REQ *r1 = csr(OC_ALGO_EC), *r2 = csr(OC_ALGO_EC), *rsa = csr(OC_ALGO_RSA);
	X509 *c1, *c2, *c3, *c4;
	char s1[43], s2[43], s3[43];
	long long pending = enroll(ca, false), approved = enroll(ca, true);
	(void)state;

	/* issue: only approved enrollments, only allowed keys */
	assert_null(oc_ca_issue(ca, &op, pending, r1, NULL, &err));
	assert_int_equal(err.code, OC_ECONFLICT);
	assert_null(oc_ca_issue(ca, &op, approved, rsa, NULL, &err));
	assert_int_equal(err.code, OC_EINVAL);
	assert_null(oc_ca_issue(ca, &op, 999, r1, NULL, &err));
	assert_int_equal(err.code, OC_ENOTFOUND);
	unsigned char *der = NULL, *enc = NULL;
	size_t derlen = 0;
	int enclen;
	c1 = oc_ca_issue_der(ca, &op, approved, r1, "0123456789abcdef", &der, &derlen, &err);
	assert_non_null(c1);
	serial_of(c1, s1);
	/* the DER handed back is what c1 encodes to (and, below, what the
	 * store holds) */
	assert_non_null(der);
	enclen = i2d_X509(c1, &enc);
	assert_int_equal((size_t)enclen, derlen);
	assert_memory_equal(der, enc, derlen);
	OPENSSL_free(enc);
	assert_null(oc_ca_issue(ca, &op, approved, r2, NULL, &err));
	assert_int_equal(err.code, OC_ECONFLICT);
	/* decide: pending only; a rejection needs a reason */
	assert_int_equal(oc_ca_decide(ca, &op, approved, true, NULL, &err), OC_ECONFLICT);
	assert_int_equal(oc_ca_decide(ca, &op, pending, false, NULL, &err), OC_EINVAL);
	assert_int_equal(oc_ca_decide(ca, &op, pending, false, "材料不全", NULL), 0);
	assert_int_equal(oc_ca_decide(ca, &op, pending, true, NULL, &err), OC_ECONFLICT);

	/* the issued certificate is stored, with its medium and unique ID */
	struct oc_cert_rec rec;
	char uid[64];
	assert_int_equal(oc_store_cert_get(oc_ca_store(ca), s1, &rec, NULL), 0);
	assert_string_equal(rec.medium, "0123456789abcdef");
	assert_int_equal(oc_cert_ext_string(c1, OC_OID_UNIQUE_ID, uid, sizeof(uid), NULL), 0);
	assert_string_equal(rec.uid, uid);
	assert_string_equal(rec.org_code, USCC);
	assert_int_equal(rec.der_len, derlen);
	assert_memory_equal(rec.der, der, derlen);
	OPENSSL_free(der);
	free(rec.der);

	/* renew: a new certificate, old one linked, still valid */
	c2 = oc_ca_renew(ca, &op, s1, r2, &err);
	assert_non_null(c2);
	serial_of(c2, s2);
	assert_int_equal(oc_store_cert_get(oc_ca_store(ca), s1, &rec, NULL), 0);
	assert_string_equal(rec.replaced_by, s2);
	assert_int_equal(rec.status, OC_CERT_VALID);
	free(rec.der);
	assert_null(oc_ca_renew(ca, &op, s1, r2, &err));     /* already replaced */
	assert_int_equal(err.code, OC_ECONFLICT);

	/* change: the organization code cannot change; other data can */
	struct oc_enroll_req ch = { .uscc = "91110000600037341L" };
	assert_null(oc_ca_change(ca, &op, s2, &ch, r1, &err));
	assert_int_equal(err.code, OC_EINVAL);
	struct oc_enroll_req ch2 = { .legal_rep = "赵六", .st = "上海市", .l = "浦东新区" };
	c3 = oc_ca_change(ca, &op, s2, &ch2, r1, &err);
	if (c3 == NULL)
		fail_msg("change: %s (%s)", err.msg, err.detail);
	serial_of(c3, s3);
	assert_int_equal(oc_store_cert_get(oc_ca_store(ca), s2, &rec, NULL), 0);
	assert_int_equal(rec.status, OC_CERT_REVOKED);
	assert_int_equal(rec.reason, CRL_REASON_SUPERSEDED);
	free(rec.der);
	char l[64];
	X509_NAME *n = X509_get_subject_name(c3);
	assert_true(X509_NAME_get_text_by_NID(n, NID_localityName, l, sizeof(l)) > 0);
	assert_string_equal(l, "浦东新区");

	/* reissue: needs a different medium; the old one is revoked */
	assert_null(oc_ca_reissue(ca, &op, s3, r2, "0123456789abcdef", &err));
	assert_int_equal(err.code, OC_EINVAL);
	assert_null(oc_ca_reissue(ca, &op, s3, r2, NULL, &err));
	c4 = oc_ca_reissue(ca, &op, s3, r2, "fedcba9876543210", &err);
	assert_non_null(c4);
	assert_int_equal(oc_store_cert_get(oc_ca_store(ca), s3, &rec, NULL), 0);
	assert_int_equal(rec.reason, CRL_REASON_KEY_COMPROMISE);
	free(rec.der);

	/* revoke: once; not CA certificates; renewing a revoked one fails */
	assert_int_equal(oc_ca_revoke(ca, &op, s3, CRL_REASON_KEY_COMPROMISE, &err), OC_ECONFLICT);
	char ca_serial[43];
	serial_of(oc_ca_get0_issuing(ca), ca_serial);
	assert_int_equal(oc_ca_revoke(ca, &op, ca_serial, CRL_REASON_KEY_COMPROMISE, &err), OC_EPERM);
	assert_int_equal(oc_ca_revoke(ca, &op, "zz", 1, &err), OC_EINVAL);
	assert_null(oc_ca_renew(ca, &op, s3, r1, &err));
	assert_int_equal(err.code, OC_ECONFLICT);

	/* the CRL lists exactly the revoked ones */
	X509_CRL *crl = oc_ca_crl(ca, &op, &err);
	assert_non_null(crl);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 2);
	X509_CRL_free(crl);

	long long rows = 0;
	assert_int_equal(oc_store_audit_verify(oc_ca_store(ca), &rows, NULL), 0);
	assert_true(rows > 10);

	X509_free(c1); X509_free(c2); X509_free(c3); X509_free(c4);
	X509_REQ_free(r1); X509_REQ_free(r2); X509_REQ_free(rsa);
	oc_ca_close(ca);
	rmdir_all();
}

/* Each racer has its own handle, opened (and its signer forked) before
 * any thread starts, as ca serve does: a fork while another thread holds
 * a lock (OpenSSL's, the allocator's) can leave the child stuck on it. */
struct race {
	struct oc_ca *ca;
	const char *serial;
	int rc;
};

static void *
racer(void *arg)
{
	struct race *r = arg;
	struct oc_err err;

	r->rc = oc_ca_revoke(r->ca, &op, r->serial, CRL_REASON_KEY_COMPROMISE, &err);
	if (r->rc != 0 && r->rc != OC_ECONFLICT)
		fprintf(stderr, "racer: %s (%s)\n", err.msg, err.detail);
	return NULL;
}

static void
test_race(void **state)
{
	struct oc_ca *ca = make_ca("race", OC_ALGO_EC, true);
	X509_REQ *r = csr(OC_ALGO_EC);
	X509 *c;
	char s[43];
	pthread_t t[4];
	struct race rr[4];
	int wins = 0, conflicts = 0;
	(void)state;

	c = oc_ca_issue(ca, &op, enroll(ca, true), r, NULL, NULL);
	assert_non_null(c);
	serial_of(c, s);
	oc_ca_close(ca);
	for (int i = 0; i < 4; i++) {
		rr[i] = (struct race){ oc_ca_open(dir, NULL), s, 0 };
		assert_non_null(rr[i].ca);
	}
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, racer, &rr[i]);
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		wins += rr[i].rc == 0;
		conflicts += rr[i].rc == OC_ECONFLICT;
		oc_ca_close(rr[i].ca);
	}
	assert_int_equal(wins, 1);
	assert_int_equal(conflicts, 3);
	X509_free(c);
	X509_REQ_free(r);
	rmdir_all();
}

/* Group commit (src/ca/group.c): handles on one database issuing at the
 * same time share transactions.  Two threads issue each enrollment at the
 * same moment, so groups hold items that lose their race at record time:
 * such an item must fail alone (OC_ECONFLICT) while every other item of
 * its group is stored, and every certificate handed out must be in the
 * store, with distinct serials and an audit chain that verifies. */
#define GROUP_THREADS 4
#define GROUP_N 24

struct grouper {
	struct oc_ca *ca;
	X509_REQ *csr;
	long long *ids;
	pthread_barrier_t *bar;
	X509 *certs[GROUP_N];
	int rcs[GROUP_N];
};

static void *
grouper(void *arg)
{
	struct grouper *g = arg;
	struct oc_err err;

	for (int i = 0; i < GROUP_N; i++) {
		pthread_barrier_wait(g->bar);
		g->certs[i] = oc_ca_issue(g->ca, &op, g->ids[i], g->csr, NULL, &err);
		g->rcs[i] = g->certs[i] != NULL ? 0 : err.code;
		if (g->certs[i] == NULL && err.code != OC_ECONFLICT)
			fprintf(stderr, "grouper: %s (%s)\n", err.msg, err.detail);
	}
	return NULL;
}

static void
test_issue_group(void **state)
{
	struct oc_ca *ca = make_ca("group", OC_ALGO_EC, true);
	X509_REQ *r = csr(OC_ALGO_EC);
	long long ids[GROUP_THREADS / 2][GROUP_N], rows = 0;
	struct grouper gg[GROUP_THREADS];
	pthread_t t[GROUP_THREADS];
	pthread_barrier_t bar;
	char serials[GROUP_THREADS / 2 * GROUP_N][43];
	struct oc_cert_rec rec;
	struct oc_enrollment e;
	struct oc_err err;
	int nserial = 0;
	(void)state;

	for (int p = 0; p < GROUP_THREADS / 2; p++)
		for (int i = 0; i < GROUP_N; i++)
			ids[p][i] = enroll(ca, true);
	oc_ca_close(ca);
	pthread_barrier_init(&bar, NULL, GROUP_THREADS);
	for (int i = 0; i < GROUP_THREADS; i++) {
		memset(&gg[i], 0, sizeof(gg[i]));
		gg[i].ca = oc_ca_open(dir, NULL);
		assert_non_null(gg[i].ca);
		gg[i].csr = r;
		gg[i].ids = ids[i / 2];
		gg[i].bar = &bar;
	}
	for (int i = 0; i < GROUP_THREADS; i++)
		pthread_create(&t[i], NULL, grouper, &gg[i]);
	for (int i = 0; i < GROUP_THREADS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&bar);

	/* each enrollment: exactly one of its two threads won, the other
	 * was refused as a conflict */
	for (int p = 0; p < GROUP_THREADS / 2; p++)
		for (int i = 0; i < GROUP_N; i++) {
			struct grouper *a = &gg[2 * p], *b = &gg[2 * p + 1];
			X509 *c = a->certs[i] != NULL ? a->certs[i] : b->certs[i];

			assert_true((a->rcs[i] == 0) != (b->rcs[i] == 0));
			assert_int_equal(a->rcs[i] + b->rcs[i], OC_ECONFLICT);
			serial_of(c, serials[nserial]);
			for (int k = 0; k < nserial; k++)
				assert_string_not_equal(serials[k], serials[nserial]);
			/* stored, valid, and its enrollment issued with it */
			assert_int_equal(oc_store_cert_get(oc_ca_store(gg[0].ca),
			    serials[nserial], &rec, &err), 0);
			assert_int_equal(rec.status, OC_CERT_VALID);
			assert_int_equal(rec.enrollment_id, ids[p][i]);
			free(rec.der);
			assert_int_equal(oc_store_enroll_get(oc_ca_store(gg[0].ca), ids[p][i],
			    &e, &err), 0);
			assert_int_equal(e.status, OC_ENR_ISSUED);
			assert_string_equal(e.serial, serials[nserial]);
			nserial++;
		}
	assert_int_equal(oc_store_audit_verify(oc_ca_store(gg[0].ca), &rows, &err), 0);
	assert_true(rows > 0);
	for (int i = 0; i < GROUP_THREADS; i++) {
		for (int k = 0; k < GROUP_N; k++)
			X509_free(gg[i].certs[k]);
		oc_ca_close(gg[i].ca);
	}
	X509_REQ_free(r);
	rmdir_all();
}

/* oc_ca_operator_auth keeps a verified chain for a while on its handle,
 * and the store's yes while the store's auth version stays; what can
 * change meanwhile — the certificate's status, the role — must show on
 * the very next request, whoever changed it. */
static X509 *
personal(struct oc_ca *ca, X509_REQ *r)
{
	struct oc_enroll_req e = { .profile = OC_PROFILE_PERSONAL, .name = "柜员甲",
	    .identity_code = "110101199003074514" };
	long long id = 0;
	X509 *c;

	assert_int_equal(oc_ca_enroll(ca, &op, &e, &id, NULL), 0);
	assert_int_equal(oc_ca_decide(ca, &op, id, true, NULL, NULL), 0);
	c = oc_ca_issue(ca, &op, id, r, NULL, NULL);
	assert_non_null(c);
	return c;
}

static void
test_operator_auth(void **state)
{
	struct oc_ca *ca = make_ca("opauth", OC_ALGO_EC, true);
	X509_REQ *r = csr(OC_ALGO_EC);
	X509 *a = personal(ca, r), *b = personal(ca, r);
	char sa[43], sb[43], got[43], name[128];
	struct oc_err err;
	(void)state;

	serial_of(a, sa);
	serial_of(b, sb);
	/* not granted yet: refused, though its chain verifies */
	assert_int_equal(oc_ca_operator_auth(ca, a, name, sizeof(name), got, &err), OC_EPERM);
	assert_int_equal(oc_ca_operator_grant(ca, &op, sa, &err), 0);
	assert_int_equal(oc_ca_operator_grant(ca, &op, sb, &err), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(oc_ca_operator_auth(ca, a, name, sizeof(name), got, &err), 0);
		assert_string_equal(got, sa);
	}
	/* revoked right after a success on the same handle: refused */
	assert_int_equal(oc_ca_revoke(ca, &op, sa, CRL_REASON_AFFILIATION_CHANGED, &err), 0);
	assert_int_equal(oc_ca_operator_auth(ca, a, name, sizeof(name), got, &err), OC_EPERM);
	assert_non_null(strstr(err.msg, "revoked"));
	/* the role taken away: refused */
	assert_int_equal(oc_ca_operator_auth(ca, b, name, sizeof(name), got, &err), 0);
	assert_int_equal(oc_ca_operator_revoke(ca, &op, sb, &err), 0);
	assert_int_equal(oc_ca_operator_auth(ca, b, name, sizeof(name), got, &err), OC_EPERM);

	/* The handle keeps the store's yes only while nothing it depends on
	 * changed — whoever changes it: another process (another store
	 * handle on the database), or the sqlite3 shell. */
	{
		X509 *c = personal(ca, r);
		char sc[43], db[1100], sql[200];
		struct oc_store *other;
		sqlite3 *h;

		serial_of(c, sc);
		snprintf(db, sizeof(db), "%s/ca.db", dir);
		assert_non_null(other = oc_store_open(db, &err));
		assert_int_equal(oc_store_operator_grant(other, sc, "柜员丙", "cli:root", &err), 0);
		for (int i = 0; i < 3; i++) {
			assert_int_equal(oc_ca_operator_auth(ca, c, name, sizeof(name), got, &err), 0);
			assert_string_equal(name, "柜员丙");
		}
		/* the role taken away by another process: the very next request */
		assert_int_equal(oc_store_operator_revoke(other, sc, "cli:root", &err), 0);
		assert_int_equal(oc_ca_operator_auth(ca, c, name, sizeof(name), got, &err), OC_EPERM);
		/* given back (a no is not kept) */
		assert_int_equal(oc_store_operator_grant(other, sc, "柜员丁", "cli:root", &err), 0);
		assert_int_equal(oc_ca_operator_auth(ca, c, name, sizeof(name), got, &err), 0);
		assert_string_equal(name, "柜员丁");
		/* another operator's certificate in between changes nothing */
		assert_int_equal(oc_ca_operator_auth(ca, b, name, sizeof(name), got, &err), OC_EPERM);
		assert_int_equal(oc_ca_operator_auth(ca, c, name, sizeof(name), got, &err), 0);
		/* by hand in the database */
		assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
		sqlite3_busy_timeout(h, 5000);
		snprintf(sql, sizeof(sql), "UPDATE operators SET revoked_at = 1 WHERE serial = '%s'", sc);
		assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
		assert_int_equal(oc_ca_operator_auth(ca, c, name, sizeof(name), got, &err), OC_EPERM);
		snprintf(sql, sizeof(sql), "UPDATE operators SET revoked_at = 0 WHERE serial = '%s'", sc);
		assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
		assert_int_equal(oc_ca_operator_auth(ca, c, name, sizeof(name), got, &err), 0);
		sqlite3_close(h);
		/* its certificate revoked by another process (`onecert ca
		 * revoke` while `ca serve` runs) */
		assert_int_equal(oc_store_cert_revoke(other, sc, time(NULL),
		    CRL_REASON_KEY_COMPROMISE, "cli:root", &err), 0);
		assert_int_equal(oc_ca_operator_auth(ca, c, name, sizeof(name), got, &err), OC_EPERM);
		assert_non_null(strstr(err.msg, "revoked"));
		oc_store_close(other);
		X509_free(c);
	}
	X509_free(a);
	X509_free(b);
	X509_REQ_free(r);
	oc_ca_close(ca);
	rmdir_all();
}

static void
test_pkcs11_and_sm2(void **state)
{
	/* keys on the CA's SoftHSM2 token (EC) and wrapped under it (SM2) */
	enum oc_algo algos[2] = { OC_ALGO_EC, OC_ALGO_SM2 };
	(void)state;

	for (int i = 0; i < 2; i++) {
		struct oc_ca *ca = make_ca(i ? "sm2" : "p11", algos[i], false);
		X509_REQ *r = csr(algos[i]);
		struct oc_err err;
		X509 *c = oc_ca_issue(ca, &op, enroll(ca, true), r, NULL, &err);
		STACK_OF(X509) *anchors = sk_X509_new_null(), *mid = sk_X509_new_null();

		if (c == NULL)
			fail_msg("issue: %s (%s)", err.msg, err.detail);
		sk_X509_push(anchors, oc_ca_get0_root(ca));
		sk_X509_push(mid, oc_ca_get0_issuing(ca));
		assert_int_equal(oc_chain_verify(c, mid, anchors, NULL, 0,
		    X509_PURPOSE_SSL_CLIENT, NULL), 0);
		/* the CA process holds no private key: its signers are remote */
		assert_string_equal(oc_ca_signer(ca, "issuing")->ops->name, "remote");
		sk_X509_free(anchors);
		sk_X509_free(mid);
		X509_free(c);
		X509_REQ_free(r);
		oc_ca_close(ca);
		rmdir_all();
	}
}

/* 更新 and 补办 certify a new key: the old certificate's key is refused
 * (补办 revokes it as keyCompromise; certifying it again would hand out a
 * fresh certificate for a key declared compromised). */
static void
test_new_key_required(void **state)
{
	struct oc_ca *ca = make_ca("newkey", OC_ALGO_EC, true);
	X509_REQ *r1 = csr(OC_ALGO_EC), *r2 = csr(OC_ALGO_EC);
	struct oc_err err;
	struct oc_cert_rec rec;
	X509 *c1, *c2;
	char s1[43];
	(void)state;

	c1 = oc_ca_issue(ca, &op, enroll(ca, true), r1, "MEDIUM-A", &err);
	assert_non_null(c1);
	serial_of(c1, s1);
	assert_null(oc_ca_renew(ca, &op, s1, r1, &err));
	assert_int_equal(err.code, OC_EINVAL);
	assert_null(oc_ca_reissue(ca, &op, s1, r1, "MEDIUM-B", &err));
	assert_int_equal(err.code, OC_EINVAL);
	/* nothing changed */
	assert_int_equal(oc_store_cert_get(oc_ca_store(ca), s1, &rec, NULL), 0);
	assert_int_equal(rec.status, OC_CERT_VALID);
	assert_string_equal(rec.replaced_by, "");
	free(rec.der);
	c2 = oc_ca_reissue(ca, &op, s1, r2, "MEDIUM-B", &err);
	if (c2 == NULL)
		fail_msg("reissue: %s", err.msg);
	X509_free(c1);
	X509_free(c2);
	X509_REQ_free(r1);
	X509_REQ_free(r2);
	oc_ca_close(ca);
	rmdir_all();
}

/* What an operator (or an HTTP client) types is checked before anything
 * is signed or stored. */
static void
test_input_checks(void **state)
{
	struct oc_ca *ca = make_ca("input", OC_ALGO_EC, true);
	X509_REQ *r1 = csr(OC_ALGO_EC), *r2 = csr(OC_ALGO_EC);
	struct oc_err err;
	struct oc_cert_rec rec;
	long long id, approved = enroll(ca, true);
	char s1[43], name[400];
	X509 *c1, *c2;
	(void)state;

	/* a medium serial that does not fit, or that no token has */
	assert_null(oc_ca_issue(ca, &op, approved, r1, "0123456789abcdefX", &err));
	assert_int_equal(err.code, OC_EINVAL);
	assert_null(oc_ca_issue(ca, &op, approved, r1, "bad\nmedium", &err));
	assert_int_equal(err.code, OC_EINVAL);
	struct oc_enroll_req bad = { .profile = OC_PROFILE_ENTERPRISE, .name = "某公司",
	    .uscc = USCC, .medium = "a/b" };
	assert_int_equal(oc_ca_enroll(ca, &op, &bad, &id, &err), OC_EINVAL);
	c1 = oc_ca_issue(ca, &op, approved, r1, "0123456789abcdef", &err);
	assert_non_null(c1);
	serial_of(c1, s1);

	/* reasons a full CRL cannot carry, or that this CA cannot undo */
	assert_int_equal(oc_ca_revoke(ca, &op, s1, 8, &err), OC_EINVAL);    /* removeFromCRL */
	assert_int_equal(oc_ca_revoke(ca, &op, s1, 6, &err), OC_EINVAL);    /* certificateHold */
	assert_int_equal(oc_ca_revoke(ca, &op, s1, 10, &err), OC_EINVAL);   /* aACompromise */
	assert_int_equal(oc_store_cert_get(oc_ca_store(ca), s1, &rec, NULL), 0);
	assert_int_equal(rec.status, OC_CERT_VALID);
	free(rec.der);

	/* 变更 with no changes at all (r == NULL) */
	c2 = oc_ca_change(ca, &op, s1, NULL, r2, &err);
	if (c2 == NULL)
		fail_msg("change: %s", err.msg);
	X509_free(c2);

	/* the name becomes the CN and O: at most 64 characters (RFC 5280
	 * ub-common-name), refused at enrollment, not at signing */
	name[0] = '\0';
	for (int i = 0; i < 65; i++)
		strcat(name, "建");
	struct oc_enroll_req longname = { .profile = OC_PROFILE_ENTERPRISE, .name = name,
	    .uscc = "91110000600037341L" };
	assert_int_equal(oc_ca_enroll(ca, &op, &longname, &id, &err), OC_EINVAL);
	name[strlen(name) - 3] = '\0';     /* 64 characters */
	assert_int_equal(oc_ca_enroll(ca, &op, &longname, &id, &err), 0);
	assert_int_equal(oc_ca_decide(ca, &op, id, true, NULL, NULL), 0);
	X509_REQ *r3 = csr(OC_ALGO_EC);
	c2 = oc_ca_issue(ca, &op, id, r3, NULL, &err);
	if (c2 == NULL)
		fail_msg("64-character name: %s", err.msg);
	X509_free(c2);
	X509_REQ_free(r3);
	memset(name, 'a', 65);
	name[65] = '\0';
	struct oc_enroll_req longperson = { .profile = OC_PROFILE_PERSONAL, .name = name,
	    .identity_code = "110101199003074514" };
	assert_int_equal(oc_ca_enroll(ca, &op, &longperson, &id, &err), OC_EINVAL);

	X509_free(c1);
	X509_REQ_free(r1);
	X509_REQ_free(r2);
	oc_ca_close(ca);
	rmdir_all();
}

struct audit_find {
	const char *action, *object, *detail;
	int n;
};

static int
audit_find_cb(const struct oc_audit_rec *r, void *arg)
{
	struct audit_find *f = arg;

	if (strcmp(r->action, f->action) == 0 &&
	    (f->object == NULL || strcmp(r->object, f->object) == 0) &&
	    (f->detail == NULL || strstr(r->detail, f->detail) != NULL))
		f->n++;
	return 0;
}

static int
audit_count(struct oc_ca *ca, const char *action, const char *object, const char *detail)
{
	struct audit_find f = { action, object, detail, 0 };

	assert_int_equal(oc_store_audit_list(oc_ca_store(ca), 0, audit_find_cb, &f, NULL), 0);
	return f.n;
}

/* Media (escrow, lost), and that every state change leaves an audit row. */
static void
test_media_and_audit(void **state)
{
	struct oc_ca *ca = make_ca("media", OC_ALGO_EC, true);
	X509_REQ *r1 = csr(OC_ALGO_EC), *r2 = csr(OC_ALGO_EC), *r3 = csr(OC_ALGO_EC);
	struct oc_err err;
	struct oc_medium m;
	char s1[43], s2[43], *pin = NULL;
	X509 *c1, *c2, *c3;
	(void)state;

	assert_int_equal(oc_ca_medium_register(ca, &op, "MEDIUM-A", "key A", 0,
	    "SOPIN-A-123456", &err), 0);
	assert_int_equal(oc_ca_medium_register(ca, &op, "MEDIUM-C", "key C", 0,
	    "SOPIN-C-123456", &err), 0);
	assert_int_equal(oc_ca_escrow_get(ca, &op, "MEDIUM-A", &pin, &err), 0);
	assert_string_equal(pin, "SOPIN-A-123456");
	free(pin);
	pin = NULL;

	c1 = oc_ca_issue(ca, &op, enroll(ca, true), r1, "MEDIUM-A", &err);
	assert_non_null(c1);
	serial_of(c1, s1);
	/* 变更: the company's new data is in the audit log */
	struct oc_enroll_req ch = { .legal_rep = "赵六" };
	c2 = oc_ca_change(ca, &op, s1, &ch, r2, &err);
	assert_non_null(c2);
	serial_of(c2, s2);
	assert_int_equal(audit_count(ca, "company.update", NULL, "赵六"), 1);
	/* 补办: the lost medium is marked lost, in the audit log too */
	c3 = oc_ca_reissue(ca, &op, s2, r3, "MEDIUM-B", &err);
	if (c3 == NULL)
		fail_msg("reissue: %s", err.msg);
	assert_int_equal(oc_store_medium_get(oc_ca_store(ca), "MEDIUM-A", &m, NULL), 0);
	assert_string_equal(m.status, "lost");
	assert_int_equal(audit_count(ca, "medium.lost", "MEDIUM-A", NULL), 1);
	/* a lost medium's SO PIN is not handed out, nor is it re-registered
	 * (which would make it active again) */
	assert_int_equal(oc_ca_escrow_get(ca, &op, "MEDIUM-A", &pin, &err), OC_ECONFLICT);
	assert_null(pin);
	assert_int_equal(oc_ca_medium_register(ca, &op, "MEDIUM-A", "key A", 0,
	    "SOPIN-X", &err), OC_ECONFLICT);
	assert_int_equal(oc_store_medium_get(oc_ca_store(ca), "MEDIUM-A", &m, NULL), 0);
	assert_string_equal(m.status, "lost");

	/* a CRL is a state change (its number): audit-logged */
	X509_CRL *crl = oc_ca_crl(ca, &op, &err);
	assert_non_null(crl);
	X509_CRL_free(crl);
	assert_true(audit_count(ca, "crl.issue", NULL, "\"issuing\"") >= 1);

	/* a tampered escrow blob: the message says so, the library's detail
	 * stays in err.detail (for the log), never in the message a client
	 * is shown */
	assert_int_equal(oc_store_medium_get(oc_ca_store(ca), "MEDIUM-C", &m, NULL), 0);
	m.escrow[m.escrow_len - 1] ^= 0x01;
	assert_int_equal(oc_store_medium_put(oc_ca_store(ca), &m, NULL), 0);
	assert_int_not_equal(oc_ca_escrow_get(ca, &op, "MEDIUM-C", &pin, &err), 0);
	assert_null(pin);
	assert_non_null(strstr(err.msg, "does not decrypt"));
	assert_null(strstr(err.msg, " | "));

	/* 应用开通 only for a certificate that is valid now: not an expired one */
	struct oc_cert_rec old;
	memset(&old, 0, sizeof(old));
	snprintf(old.serial, sizeof(old.serial), "%s", "0A0B0C0D");
	snprintf(old.ca, sizeof(old.ca), "issuing");
	snprintf(old.profile, sizeof(old.profile), "enterprise");
	snprintf(old.subject_cn, sizeof(old.subject_cn), "old");
	old.not_before = time(NULL) - 400 * 86400L;
	old.not_after = time(NULL) - 86400;
	old.der = (unsigned char *)"x";
	old.der_len = 1;
	assert_int_equal(oc_store_cert_insert(oc_ca_store(ca), &old, NULL), 0);
	assert_int_equal(oc_ca_app_open(ca, &op, "0A0B0C0D", "hall", &err), OC_ECONFLICT);
	assert_int_equal(oc_ca_app_open(ca, &op, s1, "hall", &err), OC_ECONFLICT); /* revoked */

	long long rows = 0;
	assert_int_equal(oc_store_audit_verify(oc_ca_store(ca), &rows, NULL), 0);
	X509_free(c1); X509_free(c2); X509_free(c3);
	X509_REQ_free(r1); X509_REQ_free(r2); X509_REQ_free(r3);
	oc_ca_close(ca);
	rmdir_all();
}

/* CRLs published concurrently by several handles (ca serve: one per
 * worker, the CRL schedule, a CLI next to it): the file a relying party
 * downloads never goes back to a lower number, never loses a revocation,
 * and a higher number never lists fewer certificates. */
#define CRL_THREADS 4
#define CRL_PER_THREAD 4

struct crl_race {
	struct oc_ca *ca;              /* opened before the threads start */
	char serials[CRL_PER_THREAD][43];
	int rc;
};

static void *
crl_racer(void *arg)
{
	struct crl_race *r = arg;
	struct oc_err err;

	r->rc = 0;
	for (int i = 0; i < CRL_PER_THREAD && r->rc == 0; i++)
		r->rc = oc_ca_revoke(r->ca, &op, r->serials[i], CRL_REASON_CESSATION_OF_OPERATION, &err);
	if (r->rc != 0)
		fprintf(stderr, "crl racer: %s (%s)\n", err.msg, err.detail);
	return NULL;
}

static atomic_int crl_watch_stop;   /* volatile is no synchronization */

struct crl_seen {
	char path[1200];
	long last_number;
	int last_count;
	int regressions;
};

static int
read_crl(const char *path, long *number, int *count)
{
	struct oc_buf b;
	const unsigned char *p;
	X509_CRL *crl;
	ASN1_INTEGER *n;

	oc_buf_init(&b, 1 << 20);
	if (oc_buf_read_file(&b, path) != 0) {
		oc_buf_cleanup(&b);
		return -1;
	}
	p = b.p;
	crl = d2i_X509_CRL(NULL, &p, (long)b.len);
	oc_buf_cleanup(&b);
	if (crl == NULL)
		return -1;
	n = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	*number = n ? ASN1_INTEGER_get(n) : -1;
	*count = sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl));
	if (*count < 0)
		*count = 0;             /* no revokedCertificates at all */
	ASN1_INTEGER_free(n);
	X509_CRL_free(crl);
	return 0;
}

static void *
crl_watcher(void *arg)
{
	struct crl_seen *w = arg;
	long number;
	int count;

	while (!crl_watch_stop) {
		if (read_crl(w->path, &number, &count) == 0) {
			if (number < w->last_number ||
			    (number >= w->last_number && count < w->last_count)) {
				w->regressions++;
				fprintf(stderr, "CRL regressed: #%ld (%d revoked) after #%ld (%d revoked)\n",
				    number, count, w->last_number, w->last_count);
			}
			w->last_number = number;
			w->last_count = count;
		}
	}
	return NULL;
}

static void
test_crl_race(void **state)
{
	struct oc_ca *ca = make_ca("crlrace", OC_ALGO_EC, true);
	struct crl_race rr[CRL_THREADS];
	struct crl_seen w;
	pthread_t t[CRL_THREADS], wt;
	long number;
	long long next;
	int count;
	(void)state;

	for (int i = 0; i < CRL_THREADS; i++) {
		rr[i].rc = 0;
		for (int j = 0; j < CRL_PER_THREAD; j++) {
			X509_REQ *r = csr(OC_ALGO_EC);
			X509 *c = oc_ca_issue(ca, &op, enroll(ca, true), r, NULL, NULL);
			assert_non_null(c);
			serial_of(c, rr[i].serials[j]);
			X509_free(c);
			X509_REQ_free(r);
		}
	}
	oc_ca_close(ca);
	for (int i = 0; i < CRL_THREADS; i++)
		assert_non_null(rr[i].ca = oc_ca_open(dir, NULL));
	memset(&w, 0, sizeof(w));
	snprintf(w.path, sizeof(w.path), "%s/crl/ec-issuing.crl", dir);
	crl_watch_stop = 0;
	pthread_create(&wt, NULL, crl_watcher, &w);
	for (int i = 0; i < CRL_THREADS; i++)
		pthread_create(&t[i], NULL, crl_racer, &rr[i]);
	for (int i = 0; i < CRL_THREADS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(rr[i].rc, 0);
		oc_ca_close(rr[i].ca);
	}
	crl_watch_stop = 1;
	pthread_join(wt, NULL);
	assert_int_equal(w.regressions, 0);
	/* the file left is the newest CRL, listing every revocation */
	assert_int_equal(read_crl(w.path, &number, &count), 0);
	assert_int_equal(count, CRL_THREADS * CRL_PER_THREAD);
	ca = oc_ca_open(dir, NULL);
	assert_non_null(ca);
	assert_int_equal(oc_store_counter_next(oc_ca_store(ca), "crl:issuing", &next, NULL), 0);
	assert_int_equal(number, next - 1);
	oc_ca_close(ca);
	rmdir_all();
}

/* A signer that stops answering (a hung HSM; here SIGSTOP) fails the
 * request within ca.signer_timeout and is then reported dead, instead of
 * blocking the caller (and the liveness check) for ever. */
static pid_t
signer_child(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t found = 0;
	char path[300], buf[512];

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		FILE *f;
		char *rp;
		long ppid;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fgets(buf, sizeof(buf), f) != NULL && (rp = strrchr(buf, ')')) != NULL &&
		    sscanf(rp + 2, "%*c %ld", &ppid) == 1 && ppid == (long)getpid())
			found = (pid_t)atol(de->d_name);
		fclose(f);
	}
	closedir(d);
	return found;
}

/* The signer's errors keep the library detail out of the message (which
 * the RA API shows its clients) and in err.detail (for the log). */
static void
test_signer_error_detail(void **state)
{
	struct oc_ca *ca = make_ca("sperr", OC_ALGO_EC, true);
	struct oc_err err;
	char path[1200];
	FILE *f;
	(void)state;

	oc_ca_close(ca);
	snprintf(path, sizeof(path), "%s/private/issuing.key", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", f);
	fclose(f);
	assert_null(oc_ca_open(dir, &err));
	assert_non_null(strstr(err.msg, "cannot open the CA keys"));
	assert_true(err.detail[0] != '\0');
	assert_null(strstr(err.msg, err.detail));
	assert_null(strstr(err.msg, " | "));
	rmdir_all();
}

static void
test_signer_timeout(void **state)
{
	struct oc_ca *ca = make_ca("timeout", OC_ALGO_EC, true);
	struct oc_config *cfg;
	struct oc_err err;
	char path[1200];
	pid_t child;
	time_t t0;
	(void)state;

	oc_ca_close(ca);
	snprintf(path, sizeof(path), "%s/ca.ini", dir);
	assert_non_null(cfg = oc_config_load(path, NULL));
	oc_config_set(cfg, "ca", "signer_timeout", "1");
	assert_int_equal(oc_config_save(cfg, path, 0644, NULL), 0);
	oc_config_free(cfg);
	assert_non_null(ca = oc_ca_open(dir, &err));
	assert_true(oc_ca_signer_alive(ca));
	child = signer_child();
	assert_true(child > 0);
	alarm(30);                       /* without the timeout: hangs */
	kill(child, SIGSTOP);
	t0 = time(NULL);
	assert_null(oc_ca_crl(ca, &op, &err));
	assert_non_null(strstr(err.msg, "signer"));
	assert_true(time(NULL) - t0 <= 5);
	assert_false(oc_ca_signer_alive(ca));
	oc_ca_close(ca);                 /* kills the stopped signer */
	alarm(0);
	assert_int_equal(kill(child, 0), -1);
	rmdir_all();
}

/* The signer process's own policy: what each CA key may sign, whatever
 * the (possibly compromised) calling process asks. */
static int
remote_sign(struct oc_ca *ca, const char *key, X509 *x, struct oc_err *err)
{
	unsigned char *tbs = NULL, *sig = NULL;
	size_t siglen = 0;
	int n = i2d_re_X509_tbs(x, &tbs), rc;

	assert_true(n > 0);
	rc = oc_signer_sign(oc_ca_signer(ca, key), tbs, (size_t)n, &sig, &siglen, err);
	OPENSSL_free(tbs);
	OPENSSL_free(sig);
	return rc;
}

static void
test_signer_policy(void **state)
{
	struct oc_ca *ca = make_ca("policy", OC_ALGO_EC, true);
	EVP_PKEY *k = oc_pkey_generate(OC_ALGO_EC, 0, NULL);
	struct oc_signer *ls = oc_signer_from_pkey(k, NULL);
	struct oc_err err;
	time_t now = time(NULL);
	struct oc_cert_template t = { .profile = OC_PROFILE_ROOT, .pubkey = k,
	    .subject = { .c = "CN", .o = "x", .cn = "rogue CA" },
	    .not_before = now, .not_after = now + 86400 };
	struct oc_cert_issuer iss = { .signer = ls };
	X509 *rogue = oc_cert_issue(&t, &iss, NULL);
	(void)state;

	assert_non_null(rogue);
	/* a CA certificate's TBS: the issuing key refuses it */
	assert_int_equal(remote_sign(ca, "issuing", rogue, &err), OC_EPERM);
	assert_non_null(strstr(err.msg, "signer policy"));
	/* the root key signs no certificate at all */
	assert_int_equal(remote_sign(ca, "root", rogue, &err), OC_EPERM);
	/* the OCSP key signs no certificate either */
	assert_int_equal(remote_sign(ca, "ocsp", rogue, &err), OC_EPERM);
	/* nor a CRL */
	struct oc_cert_issuer oi = { .cert = oc_ca_get0_issuing(ca), .signer = oc_ca_signer(ca, "ocsp") };
	assert_null(oc_crl_build(&oi, NULL, 0, 1, now, now + 3600, &err));
	/* ordinary work still goes through */
	X509_CRL *crl = oc_ca_crl(ca, &op, &err);
	assert_non_null(crl);
	X509_CRL_free(crl);
	X509_free(rogue);
	oc_signer_free(ls);
	EVP_PKEY_free(k);
	oc_ca_close(ca);
	rmdir_all();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enroll_refusals),
		cmocka_unit_test(test_transitions),
		cmocka_unit_test(test_race),
		cmocka_unit_test(test_issue_group),
		cmocka_unit_test(test_operator_auth),
		cmocka_unit_test(test_pkcs11_and_sm2),
		cmocka_unit_test(test_signer_policy),
		cmocka_unit_test(test_new_key_required),
		cmocka_unit_test(test_input_checks),
		cmocka_unit_test(test_media_and_audit),
		cmocka_unit_test(test_crl_race),
		cmocka_unit_test(test_signer_error_detail),
		cmocka_unit_test(test_signer_timeout),
	};
	oc_log_set_level(OC_LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
