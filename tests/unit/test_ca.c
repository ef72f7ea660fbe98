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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "onecert/ca.h"
#include "onecert/log.h"
#include "onecert/pki.h"
#include "onecert/signer.h"

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
	c1 = oc_ca_issue(ca, &op, approved, r1, "0123456789abcdef", &err);
	assert_non_null(c1);
	serial_of(c1, s1);
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

struct race {
	const char *dir;
	const char *serial;
	int rc;
};

static void *
racer(void *arg)
{
	struct race *r = arg;
	struct oc_err err;
	struct oc_ca *ca = oc_ca_open(r->dir, &err);

	r->rc = ca ? oc_ca_revoke(ca, &op, r->serial, CRL_REASON_KEY_COMPROMISE, &err) : -100;
	oc_ca_close(ca);
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
		rr[i] = (struct race){ dir, s, 0 };
		pthread_create(&t[i], NULL, racer, &rr[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		wins += rr[i].rc == 0;
		conflicts += rr[i].rc == OC_ECONFLICT;
	}
	assert_int_equal(wins, 1);
	assert_int_equal(conflicts, 3);
	X509_free(c);
	X509_REQ_free(r);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enroll_refusals),
		cmocka_unit_test(test_transitions),
		cmocka_unit_test(test_race),
		cmocka_unit_test(test_pkcs11_and_sm2),
	};
	oc_log_set_level(OC_LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
