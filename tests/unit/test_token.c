/*
 * test_token.c — src/token and `onecert token` against a real SoftHSM2
 * token in a fresh token directory under $ONECERT_TEST_TMP.
 *
 * The tests run in order and share one token: initialize it, generate EC
 * and RSA keys, sign and check the signatures with plain OpenSSL
 * (EVP_DigestVerify on the public key the token gave back, X509_verify on
 * a certificate the token signed), store certificates, change, "lock" and
 * unblock the PIN, AES-GCM escrow, and the CLI.
 *
 * SoftHSM2 2.6.1 never locks a user PIN: after any number of wrong PINs it
 * only raises CKF_USER_PIN_COUNT_LOW.  test_pin_lock_and_unblock asserts
 * exactly that (so the test notices if a newer SoftHSM2 starts locking)
 * and tests unblock anyway.
 */
#define _XOPEN_SOURCE 700   /* nftw */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cli/cli.h"
#include "onecert/pki.h"
#include "onecert/signer.h"
#include "onecert/token.h"

#define LABEL "onecert-test"
#define SO_PIN "87654321"
#define PIN1 "123456"
#define PIN2 "654321"
#define PIN3 "11112222"

static char dir[4096];
static char conf[4200];
static struct oc_p11 *p11;
static char serial[17];
static char ec_id[41], rsa_id[41];
static EVP_PKEY *ec_pub, *rsa_pub;
static X509 *ec_cert;
static const char *pin = PIN1;   /* the user PIN as the tests change it */

/* --- helpers ----------------------------------------------------------- */

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
must(int rc, const struct oc_err *err, const char *what)
{
	if (rc != 0)
		fail_msg("%s: rc %d: %s (%s)", what, rc, err->msg, err->detail);
}

static bool
is_hex(const char *s, size_t len)
{
	if (strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!strchr("0123456789abcdef", s[i]))
			return false;
	return true;
}

/* SHA-1 of the subjectPublicKey BIT STRING contents, computed the long
 * way round: i2d_PublicKey gives the EC point / the PKCS#1 RSAPublicKey,
 * which is exactly what the BIT STRING holds. */
static void
expected_id(EVP_PKEY *pub, char out[41])
{
	unsigned char *der = NULL, md[20];
	unsigned int mdlen = 0;
	int n = i2d_PublicKey(pub, &der);

	assert_true(n > 0);
	assert_int_equal(EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha1(),
	    NULL), 1);
	for (int i = 0; i < 20; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	OPENSSL_free(der);
}

static int
verify_plain(EVP_PKEY *pub, const char *msg, const unsigned char *sig,
    size_t siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int r;

	assert_non_null(ctx);
	assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL,
	    pub), 1);
	r = EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)msg,
	    strlen(msg));
	EVP_MD_CTX_free(ctx);
	return r;
}

/* A self-signed certificate for the signer's key, signed on the token. */
static X509 *
self_signed(struct oc_signer *s, const char *cn)
{
	X509 *x = X509_new(), *out;
	X509_NAME *name = X509_NAME_new();
	X509_ALGOR *alg = oc_algo_sigalg_new(oc_signer_algo(s));
	unsigned char *tbs = NULL, *sig = NULL, *der = NULL;
	const unsigned char *p;
	size_t siglen = 0, derlen = 0;
	struct oc_err err;
	int tbslen;

	assert_non_null(x);
	assert_non_null(name);
	assert_non_null(alg);
	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 4242), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_set_subject_name(x, name), 1);
	assert_int_equal(X509_set_issuer_name(x, name), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 30));
	assert_int_equal(X509_set_pubkey(x, oc_signer_get0_pubkey(s)), 1);
	/* The TBS carries the signature algorithm too. */
	assert_int_equal(X509_ALGOR_copy((X509_ALGOR *)X509_get0_tbs_sigalg(x),
	    alg), 1);
	tbslen = i2d_re_X509_tbs(x, &tbs);
	assert_true(tbslen > 0);
	oc_err_clear(&err);
	must(oc_signer_sign(s, tbs, (size_t)tbslen, &sig, &siglen, &err), &err,
	    "sign tbs");
	assert_int_equal(oc_der_signed(tbs, (size_t)tbslen, alg, sig, siglen,
	    &der, &derlen), 0);
	p = der;
	out = d2i_X509(NULL, &p, (long)derlen);
	assert_non_null(out);
	OPENSSL_free(tbs);
	OPENSSL_free(sig);
	OPENSSL_free(der);
	X509_ALGOR_free(alg);
	X509_NAME_free(name);
	X509_free(x);
	return out;
}

static struct oc_token_object *
find_obj(struct oc_token_object *objs, size_t n, const char *cls,
    const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(objs[i].cls, cls) == 0 &&
		    strcmp(objs[i].id_hex, id) == 0)
			return &objs[i];
	return NULL;
}

static size_t
count_cls(struct oc_token_object *objs, size_t n, const char *cls)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += strcmp(objs[i].cls, cls) == 0;
	return k;
}

/* --- setup ------------------------------------------------------------- */

static int
group_setup(void **state)
{
	const char *tmp = getenv("ONECERT_TEST_TMP");
	char tokdir[4200];
	FILE *f;

	(void)state;
	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	mkdir(tmp, 0700);
	snprintf(dir, sizeof(dir), "%s/token-%ld", tmp, (long)getpid());
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	if (mkdir(dir, 0700) != 0)
		return -1;
	snprintf(tokdir, sizeof(tokdir), "%s/tokens", dir);
	if (mkdir(tokdir, 0700) != 0)
		return -1;
	snprintf(conf, sizeof(conf), "%s/softhsm2.conf", dir);
	if ((f = fopen(conf, "w")) == NULL)
		return -1;
	fprintf(f, "directories.tokendir = %s\nobjectstore.backend = file\n"
	    "log.level = ERROR\n", tokdir);
	fclose(f);
	setenv("SOFTHSM2_CONF", conf, 1);
	unsetenv("ONECERT_PKCS11_MODULE");
	unsetenv("ONECERT_PIN");
	unsetenv("ONECERT_SO_PIN");
	unsetenv("ONECERT_NEW_PIN");
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	oc_p11_unload(p11);
	EVP_PKEY_free(ec_pub);
	EVP_PKEY_free(rsa_pub);
	X509_free(ec_cert);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* --- tests ------------------------------------------------------------- */

static void
test_load_bad_module(void **state)
{
	struct oc_err err;

	(void)state;
	oc_err_clear(&err);
	assert_null(oc_p11_load("/nonexistent/libnothing.so", &err));
	assert_int_equal(err.code, OC_ECONFIG);
	assert_non_null(strstr(err.msg, "/nonexistent/libnothing.so"));
}

static void
test_init_and_find(void **state)
{
	struct oc_err err;
	struct oc_token_info *list = NULL, ti, t2;
	size_t n = 0;

	(void)state;
	oc_err_clear(&err);
	p11 = oc_p11_load(NULL, &err);   /* the default: SoftHSM2 */
	if (p11 == NULL)
		fail_msg("load: %s (%s)", err.msg, err.detail);

	/* A fresh token directory: one free, uninitialized token. */
	must(oc_token_list(p11, &list, &n, &err), &err, "list");
	assert_int_equal(n, 1);
	assert_false(list[0].initialized);
	assert_string_equal(list[0].serial, "");
	assert_string_equal(list[0].manufacturer, "SoftHSM project");
	free(list);
	assert_int_equal(oc_token_find(p11, NULL, &ti, &err), OC_ENOTFOUND);

	/* PINs are checked before the token is touched. */
	assert_int_equal(oc_token_init(p11, LABEL, "123", PIN1, &ti, &err),
	    OC_EINVAL);
	assert_int_equal(oc_token_init(p11, LABEL, SO_PIN, "12", &ti, &err),
	    OC_EINVAL);
	assert_int_equal(oc_token_init(p11, "a label that is longer than "
	    "32 bytes", SO_PIN, PIN1, &ti, &err), OC_EINVAL);

	must(oc_token_init(p11, LABEL, SO_PIN, PIN1, &ti, &err), &err, "init");
	/* SoftHSM2's medium serial: 16 lower-case hex digits. */
	assert_true(is_hex(ti.serial, 16));
	assert_string_equal(ti.label, LABEL);
	assert_true(ti.initialized);
	assert_true(ti.user_pin_initialized);
	assert_false(ti.user_pin_locked);
	assert_string_equal(ti.model, "SoftHSM v2");
	memcpy(serial, ti.serial, sizeof(serial));

	/* SoftHSM2 adds a new free slot at the next C_GetSlotList length
	 * query, which oc_token_list makes; the new token keeps its slot id
	 * while the module stays loaded. */
	must(oc_token_list(p11, &list, &n, &err), &err, "list");
	assert_int_equal(n, 2);
	assert_int_equal(list[0].slot, ti.slot);
	assert_true(list[0].initialized);
	assert_false(list[1].initialized);
	free(list);

	/* Found by serial, by label, and as the only initialized token. */
	must(oc_token_find(p11, serial, &t2, &err), &err, "find serial");
	assert_int_equal(t2.slot, ti.slot);
	must(oc_token_find(p11, LABEL, &t2, &err), &err, "find label");
	assert_string_equal(t2.serial, serial);
	must(oc_token_find(p11, NULL, &t2, &err), &err, "find only");
	assert_string_equal(t2.serial, serial);
	assert_int_equal(oc_token_find(p11, "no-such-token", &t2, &err),
	    OC_ENOTFOUND);
}

static void
test_reload_second_token(void **state)
{
	struct oc_err err;
	struct oc_token_info *list = NULL, ti, t2;
	size_t n = 0, inited = 0;

	(void)state;
	assert_non_null(p11);
	oc_err_clear(&err);
	oc_p11_unload(p11);
	p11 = oc_p11_load(OC_P11_DEFAULT_MODULE, &err);
	if (p11 == NULL)
		fail_msg("reload: %s (%s)", err.msg, err.detail);
	/* The token survived, with a free slot next to it; SoftHSM2 has
	 * moved it to a slot id made of its serial's low 31 bits (which is
	 * why tokens are named by serial, never by slot). */
	must(oc_token_list(p11, &list, &n, &err), &err, "list");
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++)
		if (list[i].initialized) {
			inited++;
			assert_string_equal(list[i].serial, serial);
			assert_int_equal(list[i].slot,
			    strtoul(serial + 8, NULL, 16) & 0x7fffffffUL);
		}
	assert_int_equal(inited, 1);
	free(list);
	must(oc_token_init(p11, "second", SO_PIN, PIN1, &t2, &err), &err,
	    "init second");
	assert_true(is_hex(t2.serial, 16));
	assert_string_not_equal(t2.serial, serial);
	must(oc_token_list(p11, &list, &n, &err), &err, "list");
	assert_int_equal(n, 3);
	free(list);
	/* Two tokens now: NULL names none of them. */
	assert_int_equal(oc_token_find(p11, NULL, &ti, &err), OC_EINVAL);
	must(oc_token_find(p11, LABEL, &ti, &err), &err, "find label");
	assert_string_equal(ti.serial, serial);
}

static void
test_keygen_ec_and_sign(void **state)
{
	struct oc_err err;
	struct oc_signer *s;
	char want[41];
	unsigned char *sig = NULL;
	const unsigned char *p;
	size_t siglen = 0;
	ECDSA_SIG *es;
	const char *msg = "申请开通主数字证书 challenge 1234";

	(void)state;
	oc_err_clear(&err);
	must(oc_token_keygen(p11, serial, pin, OC_ALGO_EC, 0, "ec-key", ec_id,
	    &ec_pub, &err), &err, "keygen ec");
	assert_true(is_hex(ec_id, 40));
	assert_non_null(ec_pub);
	assert_int_equal(oc_algo_of_pkey(ec_pub), OC_ALGO_EC);
	expected_id(ec_pub, want);
	assert_string_equal(ec_id, want);

	/* The only private key: no id needed. */
	s = oc_token_signer(p11, serial, pin, NULL, &err);
	if (s == NULL)
		fail_msg("signer: %s (%s)", err.msg, err.detail);
	assert_int_equal(oc_signer_algo(s), OC_ALGO_EC);
	assert_int_equal(EVP_PKEY_eq(oc_signer_get0_pubkey(s), ec_pub), 1);
	must(oc_signer_sign(s, (const unsigned char *)msg, strlen(msg), &sig,
	    &siglen, &err), &err, "sign");
	/* A DER ECDSA-Sig-Value, not raw r || s. */
	p = sig;
	es = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
	assert_non_null(es);
	assert_ptr_equal(p, sig + siglen);
	ECDSA_SIG_free(es);
	assert_int_equal(verify_plain(ec_pub, msg, sig, siglen), 1);
	assert_int_equal(verify_plain(ec_pub, "another message", sig, siglen),
	    0);
	assert_int_equal(oc_verify_tbs(ec_pub, (const unsigned char *)msg,
	    strlen(msg), sig, siglen, &err), 0);
	OPENSSL_free(sig);
	oc_signer_free(s);

	/* By id, and an id that is not there. */
	s = oc_token_signer(p11, serial, pin, ec_id, &err);
	assert_non_null(s);
	oc_signer_free(s);
	assert_null(oc_token_signer(p11, serial, pin,
	    "00112233445566778899aabbccddeeff00112233", &err));
	assert_int_equal(err.code, OC_ENOTFOUND);
	assert_null(oc_token_signer(p11, serial, pin, "xyz", &err));
	assert_int_equal(err.code, OC_EINVAL);

	/* A signer on a session copy of the key (the CA signer process's
	 * way): it signs; while it lives one more private key shows in this
	 * process, sensitive and not extractable like the token key; another
	 * signer by id still finds the token key alone. */
	{
		struct oc_token_object *objs = NULL;
		struct oc_signer *s2;
		size_t n = 0, priv0 = 0, priv = 0;

		must(oc_token_objects(p11, serial, pin, &objs, &n, &err), &err,
		    "objects");
		for (size_t i = 0; i < n; i++)
			priv0 += strcmp(objs[i].cls, "private") == 0;
		oc_token_objects_free(objs, n);
		s = oc_token_signer_copy(p11, serial, pin, ec_id, &err);
		if (s == NULL)
			fail_msg("copy signer: %s (%s)", err.msg, err.detail);
		must(oc_signer_sign(s, (const unsigned char *)msg, strlen(msg),
		    &sig, &siglen, &err), &err, "sign with the copy");
		assert_int_equal(oc_verify_tbs(ec_pub, (const unsigned char *)
		    msg, strlen(msg), sig, siglen, &err), 0);
		OPENSSL_free(sig);
		sig = NULL;
		must(oc_token_objects(p11, serial, pin, &objs, &n, &err), &err,
		    "objects with the copy");
		for (size_t i = 0; i < n; i++) {
			if (strcmp(objs[i].cls, "private") != 0)
				continue;
			priv++;
			assert_true(objs[i].sensitive);
			assert_false(objs[i].extractable);
		}
		oc_token_objects_free(objs, n);
		assert_int_equal(priv, priv0 + 1);
		s2 = oc_token_signer(p11, serial, pin, ec_id, &err);
		if (s2 == NULL)
			fail_msg("second signer: %s (%s)", err.msg, err.detail);
		oc_signer_free(s2);
		oc_signer_free(s);
		must(oc_token_objects(p11, serial, pin, &objs, &n, &err), &err,
		    "objects after");
		priv = 0;
		for (size_t i = 0; i < n; i++)
			priv += strcmp(objs[i].cls, "private") == 0;
		oc_token_objects_free(objs, n);
		assert_int_equal(priv, priv0);
	}
}

static void
test_keygen_rsa_and_sign(void **state)
{
	struct oc_err err;
	struct oc_signer *s;
	char want[41], id[41];
	unsigned char *sig = NULL;
	size_t siglen = 0;
	const char *msg = "tbs bytes for an RSA signature";

	(void)state;
	oc_err_clear(&err);
	assert_int_equal(oc_token_keygen(p11, serial, pin, OC_ALGO_RSA, 1000,
	    NULL, id, NULL, &err), OC_EINVAL);
	must(oc_token_keygen(p11, serial, pin, OC_ALGO_RSA, 0, NULL, rsa_id,
	    &rsa_pub, &err), &err, "keygen rsa");
	assert_int_equal(oc_algo_of_pkey(rsa_pub), OC_ALGO_RSA);
	assert_int_equal(EVP_PKEY_get_bits(rsa_pub), 2048);
	expected_id(rsa_pub, want);
	assert_string_equal(rsa_id, want);
	assert_string_not_equal(rsa_id, ec_id);

	/* Two private keys now: the id is required. */
	assert_null(oc_token_signer(p11, serial, pin, NULL, &err));
	assert_int_equal(err.code, OC_EINVAL);

	s = oc_token_signer(p11, serial, pin, rsa_id, &err);
	if (s == NULL)
		fail_msg("signer: %s (%s)", err.msg, err.detail);
	assert_int_equal(oc_signer_algo(s), OC_ALGO_RSA);
	must(oc_signer_sign(s, (const unsigned char *)msg, strlen(msg), &sig,
	    &siglen, &err), &err, "sign");
	assert_int_equal(siglen, 256);
	assert_int_equal(verify_plain(rsa_pub, msg, sig, siglen), 1);
	sig[10] ^= 1;
	assert_int_equal(verify_plain(rsa_pub, msg, sig, siglen), 0);
	OPENSSL_free(sig);
	oc_signer_free(s);
}

static void
test_sm2_unsupported(void **state)
{
	struct oc_err err;
	char id[41];
	EVP_PKEY *pub = NULL;

	(void)state;
	oc_err_clear(&err);
	assert_int_equal(oc_token_keygen(p11, serial, pin, OC_ALGO_SM2, 0,
	    NULL, id, &pub, &err), OC_EUNSUPPORTED);
	assert_non_null(strstr(err.msg, "this token offers no SM2 mechanism"));
	assert_null(pub);
	assert_string_equal(id, "");
}

static void
test_objects(void **state)
{
	struct oc_err err;
	struct oc_token_object *objs = NULL, *o;
	size_t n = 0;

	(void)state;
	oc_err_clear(&err);
	must(oc_token_objects(p11, serial, pin, &objs, &n, &err), &err,
	    "objects");
	assert_int_equal(n, 4);
	assert_int_equal(count_cls(objs, n, "private"), 2);
	assert_int_equal(count_cls(objs, n, "public"), 2);
	o = find_obj(objs, n, "private", ec_id);
	assert_non_null(o);
	assert_string_equal(o->label, "ec-key");
	assert_int_equal(o->algo, OC_ALGO_EC);
	assert_true(o->sensitive);
	assert_false(o->extractable);
	assert_true(o->never_extractable);
	o = find_obj(objs, n, "private", rsa_id);
	assert_non_null(o);
	assert_int_equal(o->algo, OC_ALGO_RSA);
	assert_true(o->sensitive);
	assert_false(o->extractable);
	/* Default label: key- and the id's first 8 digits. */
	assert_memory_equal(o->label, "key-", 4);
	assert_memory_equal(o->label + 4, rsa_id, 8);
	o = find_obj(objs, n, "public", ec_id);
	assert_non_null(o);
	assert_int_equal(o->algo, OC_ALGO_EC);
	oc_token_objects_free(objs, n);

	/* Without a PIN: the public keys only. */
	must(oc_token_objects(p11, serial, NULL, &objs, &n, &err), &err,
	    "objects public");
	assert_int_equal(n, 2);
	assert_int_equal(count_cls(objs, n, "public"), 2);
	oc_token_objects_free(objs, n);
}

static void
test_put_cert(void **state)
{
	struct oc_err err;
	struct oc_signer *s;
	struct oc_token_object *objs = NULL, *o;
	size_t n = 0;
	EVP_PKEY *other;
	X509 *foreign;

	(void)state;
	oc_err_clear(&err);
	s = oc_token_signer(p11, serial, pin, ec_id, &err);
	if (s == NULL)
		fail_msg("signer: %s (%s)", err.msg, err.detail);
	ec_cert = self_signed(s, "上海测试企业有限公司");
	/* The token's signature verifies with plain OpenSSL. */
	assert_int_equal(X509_verify(ec_cert, ec_pub), 1);

	/* A certificate for a key that is not on the token is refused... */
	other = EVP_EC_gen("P-256");
	assert_non_null(other);
	{
		struct oc_signer *fs = oc_signer_from_pkey(other, &err);

		assert_non_null(fs);
		foreign = self_signed(fs, "someone else");
		oc_signer_free(fs);
	}
	assert_int_equal(oc_token_put_cert(p11, serial, pin, foreign, NULL,
	    &err), OC_EINVAL);
	assert_non_null(strstr(err.msg, "matches no private key"));
	X509_free(foreign);
	EVP_PKEY_free(other);
	oc_signer_free(s);

	/* ...and one for our key is stored with the key's id. */
	must(oc_token_put_cert(p11, serial, pin, ec_cert, NULL, &err), &err,
	    "put cert");
	assert_int_equal(oc_token_put_cert(p11, serial, pin, ec_cert, NULL,
	    &err), OC_EEXIST);
	/* Certificates are public objects: visible without a PIN. */
	must(oc_token_objects(p11, serial, NULL, &objs, &n, &err), &err,
	    "objects");
	assert_int_equal(count_cls(objs, n, "cert"), 1);
	o = find_obj(objs, n, "cert", ec_id);
	assert_non_null(o);
	assert_non_null(o->cert);
	assert_int_equal(X509_cmp(o->cert, ec_cert), 0);
	assert_int_equal(o->algo, OC_ALGO_EC);
	assert_string_equal(o->label, "ec-key");   /* the key's label */
	oc_token_objects_free(objs, n);

	/* The signer can also find its public key through the certificate
	 * pairing; deleting by id removes key pair and certificate. */
	{
		char id[41];
		EVP_PKEY *pub = NULL;

		must(oc_token_keygen(p11, serial, pin, OC_ALGO_EC, 0, "temp",
		    id, &pub, &err), &err, "keygen temp");
		EVP_PKEY_free(pub);
		must(oc_token_objects(p11, serial, pin, &objs, &n, &err), &err,
		    "objects");
		assert_int_equal(n, 7);
		oc_token_objects_free(objs, n);
		must(oc_token_delete_id(p11, serial, pin, id, &err), &err,
		    "delete");
		must(oc_token_objects(p11, serial, pin, &objs, &n, &err), &err,
		    "objects");
		assert_int_equal(n, 5);
		assert_null(find_obj(objs, n, "private", id));
		oc_token_objects_free(objs, n);
		assert_int_equal(oc_token_delete_id(p11, serial, pin, id, &err),
		    OC_ENOTFOUND);
	}
}

static void
test_wrong_pin(void **state)
{
	struct oc_err err;
	struct oc_token_object *objs = NULL;
	struct oc_signer *s;
	size_t n = 0;

	(void)state;
	oc_err_clear(&err);
	assert_int_equal(oc_token_objects(p11, serial, "000000", &objs, &n,
	    &err), OC_EPIN);
	assert_string_equal(err.msg, "PIN 错误 / wrong PIN");
	assert_non_null(strstr(err.detail, "CKR_PIN_INCORRECT"));
	assert_null(oc_token_signer(p11, serial, "000000", ec_id, &err));
	assert_int_equal(err.code, OC_EPIN);
	assert_int_equal(oc_token_objects(p11, serial, "12", &objs, &n, &err),
	    OC_EPIN);

	/* While a signer keeps the token logged in, C_Login answers
	 * "already logged in" to any PIN: a wrong one must still fail. */
	s = oc_token_signer(p11, serial, pin, ec_id, &err);
	assert_non_null(s);
	assert_int_equal(oc_token_objects(p11, serial, "000000", &objs, &n,
	    &err), OC_EPIN);
	assert_string_equal(err.msg, "PIN 错误 / wrong PIN");
	must(oc_token_objects(p11, serial, pin, &objs, &n, &err), &err,
	    "objects while logged in");
	assert_int_equal(n, 5);
	oc_token_objects_free(objs, n);
	/* The SO cannot log in while the user is: unblock says so. */
	int rc = oc_token_unblock(p11, serial, SO_PIN, PIN3, &err);
	oc_signer_free(s);
	if (rc != OC_ECONFLICT)
		fail_msg("unblock while logged in: %d %s (%s)", rc, err.msg,
		    err.detail);
}

static void
test_change_pin(void **state)
{
	struct oc_err err;
	struct oc_signer *s;
	unsigned char *sig = NULL;
	size_t siglen = 0;

	(void)state;
	oc_err_clear(&err);
	assert_int_equal(oc_token_change_pin(p11, serial, "999999", PIN2,
	    &err), OC_EPIN);
	assert_string_equal(err.msg, "PIN 错误 / wrong PIN");
	assert_int_equal(oc_token_change_pin(p11, serial, pin, "12", &err),
	    OC_EINVAL);
	must(oc_token_change_pin(p11, serial, pin, PIN2, &err), &err,
	    "change pin");
	assert_null(oc_token_signer(p11, serial, PIN1, ec_id, &err));
	assert_int_equal(err.code, OC_EPIN);
	pin = PIN2;
	s = oc_token_signer(p11, serial, pin, ec_id, &err);
	if (s == NULL)
		fail_msg("signer: %s (%s)", err.msg, err.detail);
	must(oc_signer_sign(s, (const unsigned char *)"x", 1, &sig, &siglen,
	    &err), &err, "sign");
	assert_int_equal(verify_plain(ec_pub, "x", sig, siglen), 1);
	OPENSSL_free(sig);
	oc_signer_free(s);
}

static void
test_pin_lock_and_unblock(void **state)
{
	struct oc_err err;
	struct oc_token_info ti;
	struct oc_token_object *objs = NULL;
	size_t n = 0;

	(void)state;
	oc_err_clear(&err);
	for (int i = 0; i < 15; i++)
		assert_int_equal(oc_token_objects(p11, serial, "000000", &objs,
		    &n, &err), OC_EPIN);
	must(oc_token_find(p11, serial, &ti, &err), &err, "find");
	/* SoftHSM2 2.6: the count runs low but the PIN never locks. */
	assert_true(ti.user_pin_low);
	assert_false(ti.user_pin_locked);

	/* Unblock: a wrong SO PIN is refused and says which PIN. */
	assert_int_equal(oc_token_unblock(p11, serial, "00000000", PIN3, &err),
	    OC_EPIN);
	assert_string_equal(err.msg, "SO PIN 错误 / wrong SO PIN");
	must(oc_token_unblock(p11, serial, SO_PIN, PIN3, &err), &err,
	    "unblock");
	assert_int_equal(oc_token_objects(p11, serial, pin, &objs, &n, &err),
	    OC_EPIN);
	pin = PIN3;
	must(oc_token_objects(p11, serial, pin, &objs, &n, &err), &err,
	    "objects with new pin");
	assert_int_equal(count_cls(objs, n, "private"), 2);
	oc_token_objects_free(objs, n);
	must(oc_token_find(p11, serial, &ti, &err), &err, "find");
	assert_false(ti.user_pin_low);
}

static void
test_aes_gcm(void **state)
{
	struct oc_err err;
	const char *secret = "SO PIN of USB key 0123: 87654321";
	const char *aad = "medium=0123456789abcdef";
	unsigned char *ct = NULL, *ct2 = NULL, *pt = NULL;
	size_t ctlen = 0, ct2len = 0, ptlen = 0;
	struct oc_token_object *objs = NULL, *o = NULL;
	size_t n = 0;
	size_t pos[] = { 0, 11, 12, 20, 0 };   /* IV, ct, tag (last byte) */

	(void)state;
	oc_err_clear(&err);
	must(oc_token_secret_create(p11, serial, pin, "escrow", &err), &err,
	    "secret create");
	assert_int_equal(oc_token_secret_create(p11, serial, pin, "escrow",
	    &err), OC_EEXIST);
	must(oc_token_encrypt(p11, serial, pin, "escrow",
	    (const unsigned char *)secret, strlen(secret),
	    (const unsigned char *)aad, strlen(aad), &ct, &ctlen, &err), &err,
	    "encrypt");
	assert_int_equal(ctlen, 12 + strlen(secret) + 16);
	assert_memory_not_equal(ct + 12, secret, strlen(secret));
	must(oc_token_encrypt(p11, serial, pin, "escrow",
	    (const unsigned char *)secret, strlen(secret),
	    (const unsigned char *)aad, strlen(aad), &ct2, &ct2len, &err), &err,
	    "encrypt again");
	/* A fresh IV every time. */
	assert_memory_not_equal(ct, ct2, 12);
	free(ct2);

	must(oc_token_decrypt(p11, serial, pin, "escrow", ct, ctlen,
	    (const unsigned char *)aad, strlen(aad), &pt, &ptlen, &err), &err,
	    "decrypt");
	assert_int_equal(ptlen, strlen(secret));
	assert_memory_equal(pt, secret, ptlen);
	free(pt);
	pt = NULL;

	/* One flipped bit anywhere: IV, ciphertext or tag. */
	pos[4] = ctlen - 1;
	for (size_t i = 0; i < sizeof(pos) / sizeof(pos[0]); i++) {
		ct[pos[i]] ^= 0x01;
		assert_int_equal(oc_token_decrypt(p11, serial, pin, "escrow", ct,
		    ctlen, (const unsigned char *)aad, strlen(aad), &pt, &ptlen,
		    &err), OC_ECRYPTO);
		assert_null(pt);
		ct[pos[i]] ^= 0x01;
	}
	/* Other associated data, or none. */
	assert_int_equal(oc_token_decrypt(p11, serial, pin, "escrow", ct, ctlen,
	    (const unsigned char *)"medium=other", 12, &pt, &ptlen, &err),
	    OC_ECRYPTO);
	assert_int_equal(oc_token_decrypt(p11, serial, pin, "escrow", ct, ctlen,
	    NULL, 0, &pt, &ptlen, &err), OC_ECRYPTO);
	assert_int_equal(oc_token_decrypt(p11, serial, pin, "escrow", ct, 20,
	    NULL, 0, &pt, &ptlen, &err), OC_EINVAL);
	assert_int_equal(oc_token_decrypt(p11, serial, pin, "no-such-key", ct,
	    ctlen, NULL, 0, &pt, &ptlen, &err), OC_ENOTFOUND);
	assert_int_equal(oc_token_encrypt(p11, serial, "000000", "escrow", ct,
	    ctlen, NULL, 0, &pt, &ptlen, &err), OC_EPIN);
	free(ct);

	/* The AES key is sensitive and cannot leave the token. */
	must(oc_token_objects(p11, serial, pin, &objs, &n, &err), &err,
	    "objects");
	for (size_t i = 0; i < n; i++)
		if (strcmp(objs[i].cls, "secret") == 0)
			o = &objs[i];
	assert_non_null(o);
	assert_string_equal(o->label, "escrow");
	assert_true(o->sensitive);
	assert_false(o->extractable);
	assert_true(o->never_extractable);
	oc_token_objects_free(objs, n);
}

/* --- the CLI ----------------------------------------------------------- */

/* Run `onecert token <args…>` with stdout captured into out. */
static int
run_cli(char *out, size_t cap, ...)
{
	char *argv[32], path[4300];
	int argc = 0, saved, fd, rc;
	va_list ap;
	FILE *f;
	size_t k;

	va_start(ap, cap);
	while (argc < 31 && (argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	snprintf(path, sizeof(path), "%s/cli.out", dir);
	fflush(stdout);
	saved = dup(1);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, 1);
	close(fd);
	rc = oc_cli_token(argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	assert_non_null(f = fopen(path, "r"));
	k = fread(out, 1, cap - 1, f);
	out[k] = '\0';
	fclose(f);
	return rc;
}

static void
test_cli(void **state)
{
	char out[65536], id[64], req[4300], certpath[4300];
	json_t *j, *toks, *objs, *t;
	json_error_t jerr;
	size_t i;
	bool seen = false;
	X509_REQ *r;
	EVP_PKEY *rpub;
	FILE *f;

	(void)state;
	/* list --json, with the configuration given on the command line. */
	assert_int_equal(run_cli(out, sizeof(out), "list", "--softhsm-conf",
	    conf, "--json", NULL), 0);
	assert_non_null(j = json_loads(out, 0, &jerr));
	toks = json_object_get(j, "tokens");
	/* Two tokens and a free slot. */
	assert_int_equal(json_array_size(toks), 3);
	json_array_foreach(toks, i, t) {
		if (strcmp(json_string_value(json_object_get(t, "serial")),
		    serial) == 0) {
			seen = true;
			assert_string_equal(json_string_value(
			    json_object_get(t, "label")), LABEL);
			assert_string_equal(json_string_value(
			    json_object_get(t, "state")), "ready");
		}
	}
	assert_true(seen);
	json_decref(j);

	/* keygen prints the new key's id. */
	assert_int_equal(run_cli(out, sizeof(out), "keygen", "--token", serial,
	    "--pin", pin, "--algo", "ec", "--label", "cli-key", NULL), 0);
	assert_true(strlen(out) == 41 && out[40] == '\n');
	memcpy(id, out, 40);
	id[40] = '\0';
	assert_true(is_hex(id, 40));

	/* objects --json shows it, sensitive and not extractable. */
	assert_int_equal(run_cli(out, sizeof(out), "objects", "--token", serial,
	    "--pin", pin, "--json", NULL), 0);
	assert_non_null(j = json_loads(out, 0, &jerr));
	assert_string_equal(json_string_value(json_object_get(j, "token")),
	    serial);
	objs = json_object_get(j, "objects");
	seen = false;
	json_array_foreach(objs, i, t) {
		if (strcmp(json_string_value(json_object_get(t, "id")), id) == 0 &&
		    strcmp(json_string_value(json_object_get(t, "class")),
		    "private") == 0) {
			seen = true;
			assert_true(json_is_true(json_object_get(t, "sensitive")));
			assert_true(json_is_false(json_object_get(t,
			    "extractable")));
			assert_string_equal(json_string_value(
			    json_object_get(t, "algo")), "ec");
		}
	}
	assert_true(seen);
	json_decref(j);

	/* csr: a request signed on the token for that key. */
	snprintf(req, sizeof(req), "%s/req.pem", dir);
	assert_int_equal(run_cli(out, sizeof(out), "csr", "--token", serial,
	    "--pin", pin, "--id", id, "--cn", "cli test", "--out", req, NULL),
	    0);
	assert_non_null(f = fopen(req, "r"));
	r = PEM_read_X509_REQ(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(r);
	rpub = X509_REQ_get0_pubkey(r);
	assert_int_equal(X509_REQ_verify(r, rpub), 1);
	{
		char rid[41];

		expected_id(rpub, rid);
		assert_string_equal(rid, id);
	}
	X509_REQ_free(r);

	/* put-cert: a certificate for the new key is stored... */
	{
		struct oc_err err;
		struct oc_signer *s;
		X509 *x;

		oc_err_clear(&err);
		s = oc_token_signer(p11, serial, pin, id, &err);
		assert_non_null(s);
		x = self_signed(s, "cli cert");
		oc_signer_free(s);
		snprintf(certpath, sizeof(certpath), "%s/cli.pem", dir);
		assert_non_null(f = fopen(certpath, "w"));
		assert_int_equal(PEM_write_X509(f, x), 1);
		fclose(f);
		X509_free(x);
	}
	assert_int_equal(run_cli(out, sizeof(out), "put-cert", "--token",
	    serial, "--pin", pin, "--cert", certpath, "--json", NULL), 0);
	assert_non_null(j = json_loads(out, 0, &jerr));
	assert_string_equal(json_string_value(json_object_get(j, "subject")),
	    "CN=cli cert");
	assert_string_equal(json_string_value(json_object_get(j, "serial")),
	    "1092");   /* 4242 */
	json_decref(j);
	/* ...and a second time it is refused (exit 1), as is a file that
	 * holds no certificate. */
	assert_int_equal(run_cli(out, sizeof(out), "put-cert", "--token",
	    serial, "--pin", pin, "--cert", certpath, NULL), 1);
	assert_int_equal(run_cli(out, sizeof(out), "put-cert", "--token",
	    serial, "--pin", pin, "--cert", req, NULL), 1);

	/* Wrong PIN: exit 1.  Usage errors: exit 2. */
	assert_int_equal(run_cli(out, sizeof(out), "change-pin", "--token",
	    serial, "--pin", "000000", "--new-pin", "55556666", NULL), 1);
	assert_int_equal(run_cli(out, sizeof(out), "list", "--pin", "x", NULL),
	    2);
	assert_int_equal(run_cli(out, sizeof(out), "frobnicate", NULL), 2);
	assert_int_equal(run_cli(out, sizeof(out), "keygen", "--bogus", NULL),
	    2);
	assert_int_equal(run_cli(out, sizeof(out), "csr", "--token", serial,
	    "--pin", pin, NULL), 2);

	/* change-pin and back through the CLI. */
	assert_int_equal(run_cli(out, sizeof(out), "change-pin", "--token",
	    LABEL, "--pin", pin, "--new-pin", "55556666", "--json", NULL), 0);
	assert_non_null(j = json_loads(out, 0, &jerr));
	assert_string_equal(json_string_value(json_object_get(j, "result")),
	    "pin_changed");
	json_decref(j);
	assert_int_equal(run_cli(out, sizeof(out), "unblock", "--token", serial,
	    "--so-pin", SO_PIN, "--new-pin", pin, NULL), 0);
	assert_non_null(strstr(out, serial));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_bad_module),
		cmocka_unit_test(test_init_and_find),
		cmocka_unit_test(test_reload_second_token),
		cmocka_unit_test(test_keygen_ec_and_sign),
		cmocka_unit_test(test_keygen_rsa_and_sign),
		cmocka_unit_test(test_sm2_unsupported),
		cmocka_unit_test(test_objects),
		cmocka_unit_test(test_put_cert),
		cmocka_unit_test(test_wrong_pin),
		cmocka_unit_test(test_change_pin),
		cmocka_unit_test(test_pin_lock_and_unblock),
		cmocka_unit_test(test_aes_gcm),
		cmocka_unit_test(test_cli),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
