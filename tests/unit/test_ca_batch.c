/*
 * test_ca_batch.c — oc_ca_issue_batch (group commit): what a batch issues
 * is exactly what is stored; items that cannot be issued fail alone;
 * nothing escapes a batch that fails as a whole; two handles racing over
 * the same enrollments issue each one once; and handles (each with its
 * own signer process) close in any order.
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
#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "onecert/ca.h"
#include "onecert/ident.h"
#include "onecert/log.h"
#include "onecert/pki.h"
#include "onecert/signer.h"

static char dir[1024];
static const struct oc_actor op = { "op-batch", "unit" };

static void
rmdir_all(void)
{
	char cmd[1200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static struct oc_ca *
make_ca(const char *tag)
{
	struct oc_ca_init_opts o = { .algo = OC_ALGO_EC, .dev_file_keys = true,
	    .actor = "op-batch", .base_url = "http://127.0.0.1:18080" };
	const char *base = getenv("ONECERT_TEST_TMP");
	struct oc_err err;
	struct oc_ca *ca;

	if (base == NULL)
		base = "/tmp";
	mkdir(base, 0755);
	snprintf(dir, sizeof(dir), "%s/test_ca_batch.%s.%ld", base, tag, (long)getpid());
	rmdir_all();
	o.dir = dir;
	if (oc_ca_init(&o, &err) != 0)
		fail_msg("init: %s (%s)", err.msg, err.detail);
	if ((ca = oc_ca_open(dir, &err)) == NULL)
		fail_msg("open: %s (%s)", err.msg, err.detail);
	return ca;
}

static X509_REQ *
csr(enum oc_algo a)
{
	EVP_PKEY *k = oc_pkey_generate(a, 2048, NULL);
	struct oc_signer *s;
	X509_REQ *r;

	assert_non_null(k);
	assert_non_null(s = oc_signer_from_pkey(k, NULL));
	assert_non_null(r = oc_csr_build(&(struct oc_cert_subject){ .cn = "x" }, s, NULL));
	oc_signer_free(s);
	EVP_PKEY_free(k);
	return r;
}

/* Company i: a distinct, valid USCC. */
static long long
enroll(struct oc_ca *ca, int i, bool approve)
{
	char org[16], uscc[19], name[64];
	struct oc_enroll_req r = { .profile = OC_PROFILE_ENTERPRISE, .name = name,
	    .uscc = uscc };
	long long id = 0;

	snprintf(org, sizeof(org), "%08d", 30000000 + i);
	org[8] = oc_orgcode_check_char(org);
	org[9] = '\0';
	memcpy(uscc, "91310115", 8);
	memcpy(uscc + 8, org, 9);
	uscc[17] = '\0';
	uscc[17] = oc_uscc_check_char(uscc);
	uscc[18] = '\0';
	snprintf(name, sizeof(name), "上海批量签发测试%d有限公司", i);
	assert_int_equal(oc_ca_enroll(ca, &op, &r, &id, NULL), 0);
	if (approve)
		assert_int_equal(oc_ca_decide(ca, &op, id, true, NULL, NULL), 0);
	return id;
}

/* The store holds cert, byte for byte, for enrollment id, which is now
 * issued with cert's serial. */
static void
assert_stored(struct oc_ca *ca, X509 *cert, long long id, const char *medium)
{
	struct oc_cert_rec rec;
	struct oc_enrollment e;
	unsigned char *der = NULL;
	char serial[43];
	int n;

	assert_int_equal(oc_serial_hex(X509_get0_serialNumber(cert), serial), 0);
	assert_int_equal(oc_store_cert_get(oc_ca_store(ca), serial, &rec, NULL), 0);
	n = i2d_X509(cert, &der);
	assert_true(n > 0);
	assert_int_equal(rec.der_len, (size_t)n);
	assert_memory_equal(rec.der, der, (size_t)n);
	assert_int_equal(rec.enrollment_id, id);
	assert_string_equal(rec.medium, medium ? medium : "");
	OPENSSL_free(der);
	free(rec.der);
	assert_int_equal(oc_store_enroll_get(oc_ca_store(ca), id, &e, NULL), 0);
	assert_int_equal(e.status, OC_ENR_ISSUED);
	assert_string_equal(e.serial, serial);
}

static int
count_cb(const struct oc_cert_rec *r, void *arg)
{
	if (strcmp(r->profile, "enterprise") == 0)
		(*(int *)arg)++;
	return 0;
}

static int
count_issued(struct oc_ca *ca)
{
	struct oc_cert_filter f = { 0 };
	int n = 0;

	assert_int_equal(oc_store_cert_list(oc_ca_store(ca), &f, count_cb, &n, NULL), 0);
	return n;
}

static void
free_items(struct oc_ca_batch_item *it, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		X509_free(it[i].cert);
		it[i].cert = NULL;
	}
}

static void
test_batch_issues_and_refuses_per_item(void **state)
{
	struct oc_ca *ca = make_ca("items");
	X509_REQ *ec[4] = { csr(OC_ALGO_EC), csr(OC_ALGO_EC), csr(OC_ALGO_EC), csr(OC_ALGO_EC) };
	X509_REQ *rsa = csr(OC_ALGO_RSA);
	long long a1 = enroll(ca, 1, true), a2 = enroll(ca, 2, true), p = enroll(ca, 3, false);
	long long a3 = enroll(ca, 4, true), a4 = enroll(ca, 5, true);
	struct oc_ca_batch_item it[6] = {
		{ .enrollment = a1, .csr = ec[0] },
		{ .enrollment = a2, .csr = ec[1] },
		{ .enrollment = p, .csr = ec[2] },        /* not approved */
		{ .enrollment = a3, .csr = rsa },         /* RSA key, EC CA */
		{ .enrollment = a1, .csr = ec[3] },       /* a1 twice: second loses */
		{ .enrollment = a4, .csr = ec[3], .medium = "MEDIUM-0001" },
	};
	struct oc_enrollment e;
	struct oc_err err;
	long long rows0, rows1;
	(void)state;

	assert_int_equal(oc_store_audit_verify(oc_ca_store(ca), &rows0, NULL), 0);
	assert_int_equal(oc_ca_issue_batch(ca, &op, it, 6, &err), 3);
	assert_non_null(it[0].cert);
	assert_non_null(it[1].cert);
	assert_non_null(it[5].cert);
	assert_null(it[2].cert);
	assert_int_equal(it[2].err.code, OC_ECONFLICT);
	assert_null(it[3].cert);
	assert_int_equal(it[3].err.code, OC_EINVAL);
	assert_null(it[4].cert);
	assert_int_equal(it[4].err.code, OC_ECONFLICT);
	assert_stored(ca, it[0].cert, a1, NULL);
	assert_stored(ca, it[1].cert, a2, NULL);
	assert_stored(ca, it[5].cert, a4, "MEDIUM-0001");
	assert_int_equal(count_issued(ca), 3);
	/* the refused ones are untouched */
	assert_int_equal(oc_store_enroll_get(oc_ca_store(ca), a3, &e, NULL), 0);
	assert_int_equal(e.status, OC_ENR_APPROVED);
	assert_int_equal(oc_store_enroll_get(oc_ca_store(ca), p, &e, NULL), 0);
	assert_int_equal(e.status, OC_ENR_PENDING);
	/* one cert.issue audit row each, chain intact */
	assert_int_equal(oc_store_audit_verify(oc_ca_store(ca), &rows1, NULL), 0);
	assert_int_equal(rows1 - rows0, 3);
	/* and the certificates chain to the CA */
	{
		STACK_OF(X509) *anchors = sk_X509_new_null(), *untrusted = sk_X509_new_null();

		sk_X509_push(anchors, oc_ca_get0_root(ca));
		sk_X509_push(untrusted, oc_ca_get0_issuing(ca));
		assert_int_equal(oc_chain_verify(it[5].cert, untrusted, anchors, NULL, 0, 0, NULL), 0);
		sk_X509_free(anchors);
		sk_X509_free(untrusted);
	}
	free_items(it, 6);
	for (int i = 0; i < 4; i++)
		X509_REQ_free(ec[i]);
	X509_REQ_free(rsa);
	oc_ca_close(ca);
	rmdir_all();
}

static void
test_batch_refusals(void **state)
{
	struct oc_ca *ca = make_ca("refuse");
	X509_REQ *r = csr(OC_ALGO_EC);
	long long a = enroll(ca, 1, true);
	struct oc_ca_batch_item it[2] = { { .enrollment = a, .csr = r }, { .enrollment = a } };
	struct oc_enrollment e;
	struct oc_err err;
	(void)state;

	assert_int_equal(oc_ca_issue_batch(ca, &op, it, 0, &err), 0);
	assert_int_equal(oc_ca_issue_batch(ca, &op, it, OC_CA_BATCH_MAX + 1, &err), OC_EINVAL);
	/* it commits by itself: refused inside the caller's transaction */
	assert_int_equal(oc_store_begin(oc_ca_store(ca), NULL), 0);
	assert_int_equal(oc_ca_issue_batch(ca, &op, it, 1, &err), OC_EINVAL);
	oc_store_rollback(oc_ca_store(ca));
	assert_null(it[0].cert);
	/* an item without a CSR, a medium too long: those items only */
	it[0].medium = "0123456789abcdefg";
	assert_int_equal(oc_ca_issue_batch(ca, &op, it, 2, &err), 0);
	assert_int_equal(it[0].err.code, OC_EINVAL);
	assert_int_equal(it[1].err.code, OC_EINVAL);
	assert_int_equal(count_issued(ca), 0);
	assert_int_equal(oc_store_enroll_get(oc_ca_store(ca), a, &e, NULL), 0);
	assert_int_equal(e.status, OC_ENR_APPROVED);
	it[0].medium = NULL;
	assert_int_equal(oc_ca_issue_batch(ca, &op, it, 1, &err), 1);
	assert_stored(ca, it[0].cert, a, NULL);
	free_items(it, 2);
	X509_REQ_free(r);
	oc_ca_close(ca);
	rmdir_all();
}

/* Two handles (two signer processes, two connections) issue batches over
 * the same enrollments at once: each enrollment is issued exactly once,
 * every certificate handed out is stored. */
#define RACE_N 24

struct racer {
	struct oc_ca *ca;
	long long *ids;
	X509_REQ *req;
	struct oc_ca_batch_item it[RACE_N];
	int issued;
};

static void *
race(void *p)
{
	struct racer *r = p;
	struct oc_err err;

	/* two batches of half each, so the handles interleave */
	for (int half = 0; half < 2; half++) {
		struct oc_ca_batch_item *it = r->it + half * (RACE_N / 2);
		int rc;

		for (int i = 0; i < RACE_N / 2; i++) {
			it[i].enrollment = r->ids[half * (RACE_N / 2) + i];
			it[i].csr = r->req;
		}
		rc = oc_ca_issue_batch(r->ca, &op, it, RACE_N / 2, &err);
		if (rc < 0)
			return NULL;
		r->issued += rc;
	}
	return NULL;
}

static void
test_batch_race_and_close_order(void **state)
{
	struct oc_ca *ca = make_ca("race"), *other;
	long long ids[RACE_N], rev[RACE_N];
	struct racer a, b;
	pthread_t ta, tb;
	(void)state;

	for (int i = 0; i < RACE_N; i++)
		ids[i] = enroll(ca, i, true);
	for (int i = 0; i < RACE_N; i++)
		rev[i] = ids[RACE_N - 1 - i];
	assert_non_null(other = oc_ca_open(dir, NULL));
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a = (struct racer){ .ca = ca, .ids = ids, .req = csr(OC_ALGO_EC) };
	b = (struct racer){ .ca = other, .ids = rev, .req = csr(OC_ALGO_EC) };
	assert_int_equal(pthread_create(&ta, NULL, race, &a), 0);
	assert_int_equal(pthread_create(&tb, NULL, race, &b), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	assert_int_equal(a.issued + b.issued, RACE_N);
	assert_int_equal(count_issued(ca), RACE_N);
	for (int i = 0; i < RACE_N; i++) {
		struct racer *w = a.it[i].cert != NULL ? &a : &b;
		int j = w == &a ? i : RACE_N - 1 - i;

		/* exactly one of the two got enrollment ids[i] */
		assert_true((a.it[i].cert != NULL) != (b.it[RACE_N - 1 - i].cert != NULL));
		assert_stored(ca, w->it[j].cert, ids[i], NULL);
	}
	assert_int_equal(oc_store_audit_verify(oc_ca_store(ca), NULL, NULL), 0);
	free_items(a.it, RACE_N);
	free_items(b.it, RACE_N);
	X509_REQ_free(a.req);
	X509_REQ_free(b.req);
	/* First opened, first closed: each signer must see its own parent
	 * go, whatever the later signers inherited at fork. */
	alarm(60);
	oc_ca_close(ca);
	oc_ca_close(other);
	alarm(0);
	rmdir_all();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch_issues_and_refuses_per_item),
		cmocka_unit_test(test_batch_refusals),
		cmocka_unit_test(test_batch_race_and_close_order),
	};

	oc_log_set_level(OC_LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
