/*
 * test_ocsp.c — the OCSP responder's engine: requests parsed (made by
 * OpenSSL's OCSP_request_* API and by `openssl ocsp -reqout`), responses
 * built for good / revoked / unknown under EC, RSA and SM2 and judged by
 * OpenSSL (OCSP_basic_verify, and the `openssl ocsp -respin … -CAfile …`
 * command); nonces echoed; malformed, truncated and oversized requests
 * answered malformedRequest; and the pre-signed cache over a real CA
 * directory (development keys, the signer process) answering without
 * signing, picking up revocations, re-signing near expiry and never
 * serving a stale `good`.
 *
 * SM2: OpenSSL 3.0 cannot verify an SM2 OCSP response (OCSP_basic_verify
 * and `openssl ocsp` verify without the distinguishing ID), so SM2
 * responses are checked with oc_verify_tbs and, independently, with
 * `openssl pkeyutl -verify -rawin -digest sm3 -pkeyopt distid:…` over the
 * ResponseData cut out of the DER; `openssl ocsp -noverify` still parses
 * them and reads the status.
 */
#include "pki_helpers.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/ocsp.h>
#include <sqlite3.h>

#include "onecert/ca.h"
#include "onecert/ocsp.h"
#include "onecert/store.h"
#include "pki/internal.h"

static char tmp[512];

static void
tmp_make(const char *tag)
{
	const char *base = getenv("ONECERT_TEST_TMP");
	char cmd[1400];

	if (base == NULL)
		base = "/tmp";
	mkdir(base, 0755);
	snprintf(tmp, sizeof(tmp), "%s/test_ocsp.%s.%ld", base, tag,
	    (long)getpid());
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s'", tmp, tmp);
	assert_int_equal(system(cmd), 0);
}

static void
tmp_remove(void)
{
	char cmd[1400];

	/* ONECERT_OCSP_KEEP=1 keeps the files (PEMs, requests, the last
	 * response) for a look with `openssl ocsp` by hand. */
	if (getenv("ONECERT_OCSP_KEEP") != NULL)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	assert_int_equal(system(cmd), 0);
}

static const char *
path(const char *name)
{
	static char p[8][600];
	static int i;

	i = (i + 1) % 8;
	snprintf(p[i], sizeof(p[i]), "%s/%s", tmp, name);
	return p[i];
}

static void
write_file(const char *name, const void *data, size_t len)
{
	FILE *f = fopen(path(name), "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void
write_pem(const char *name, X509 *const *certs, int n)
{
	FILE *f = fopen(path(name), "w");

	assert_non_null(f);
	for (int i = 0; i < n; i++)
		assert_true(PEM_write_X509(f, certs[i]));
	fclose(f);
}

static unsigned char *
read_file(const char *name, size_t *len)
{
	FILE *f = fopen(path(name), "rb");
	unsigned char *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Run a shell command; its output (stdout and stderr) in a static
 * buffer, exit status in *status. */
static const char *
run(const char *cmd, int *status)
{
	static char out[32768];
	char full[4096];
	size_t n = 0, r;
	FILE *p;
	int st;

	snprintf(full, sizeof(full), "%s 2>&1", cmd);
	p = popen(full, "r");
	assert_non_null(p);
	while (n < sizeof(out) - 1 &&
	    (r = fread(out + n, 1, sizeof(out) - 1 - n, p)) > 0)
		n += r;
	out[n] = '\0';
	st = pclose(p);
	if (status != NULL)
		*status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return out;
}

static void
expect_in(const char *out, const char *needle, const char *cmd)
{
	if (strstr(out, needle) == NULL)
		fail_msg("`%s` did not print \"%s\":\n%s", cmd, needle, out);
}

static void
expect_not_in(const char *out, const char *needle, const char *cmd)
{
	if (strstr(out, needle) != NULL)
		fail_msg("`%s` printed \"%s\":\n%s", cmd, needle, out);
}

/* ---- an in-memory CA with a delegated responder and leaves ---- */

struct world {
	struct hier h;
	EVP_PKEY *rkey;
	X509 *resp;
	struct oc_signer *rs;
	X509 *leaf[3];
	struct oc_ocsp_responder responder;
};

static void
world_make(struct world *w, enum oc_algo a)
{
	struct oc_err err;

	memset(w, 0, sizeof(*w));
	hier_make(&w->h, a);
	w->resp = issue_leaf(&w->h, OC_PROFILE_OCSP, &w->rkey);
	w->rs = oc_signer_from_pkey(w->rkey, &err);
	assert_non_null(w->rs);
	for (int i = 0; i < 3; i++)
		w->leaf[i] = issue_leaf(&w->h, OC_PROFILE_ENTERPRISE, NULL);
	w->responder.cert = w->resp;
	w->responder.signer = w->rs;
}

static void
world_free(struct world *w)
{
	for (int i = 0; i < 3; i++)
		X509_free(w->leaf[i]);
	X509_free(w->resp);
	oc_signer_free(w->rs);
	EVP_PKEY_free(w->rkey);
	hier_free(&w->h);
}

static void
serial_of(X509 *x, char out[43])
{
	assert_int_equal(oc_serial_hex(X509_get0_serialNumber(x), out), 0);
}

/* An OCSPRequest from OpenSSL's API: CertIDs for certs[0..n) with md,
 * a nonce of nonce_len bytes (0: none).  *reqp keeps the request. */
static unsigned char *
api_request(X509 *issuer, X509 *const *certs, int n, const EVP_MD *md,
    int nonce_len, size_t *len, OCSP_REQUEST **reqp)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	unsigned char *der = NULL;
	int l;

	assert_non_null(req);
	for (int i = 0; i < n; i++) {
		OCSP_CERTID *id = OCSP_cert_to_id(md, certs[i], issuer);

		assert_non_null(id);
		assert_non_null(OCSP_request_add0_id(req, id));
	}
	if (nonce_len > 0)
		assert_int_equal(OCSP_request_add1_nonce(req, NULL, nonce_len),
		    1);
	l = i2d_OCSP_REQUEST(req, &der);
	assert_true(l > 0);
	*len = (size_t)l;
	if (reqp != NULL)
		*reqp = req;
	else
		OCSP_REQUEST_free(req);
	return der;
}

static OCSP_BASICRESP *
basic_of(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	OCSP_RESPONSE *r = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
	OCSP_BASICRESP *bs;

	assert_non_null(r);
	assert_ptr_equal(p, der + len);
	assert_int_equal(OCSP_response_status(r),
	    OCSP_RESPONSE_STATUS_SUCCESSFUL);
	bs = OCSP_response_get1_basic(r);
	assert_non_null(bs);
	OCSP_RESPONSE_free(r);
	return bs;
}

/* OpenSSL's verdict: signature, responder chain to the root, and the
 * responder's authority (issued by the CA, id-kp-OCSPSigning). */
static void
openssl_verify(struct world *w, OCSP_BASICRESP *bs)
{
	X509_STORE *store = X509_STORE_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	int r;

	assert_non_null(store);
	assert_true(X509_STORE_add_cert(store, w->h.root));
	sk_X509_push(untrusted, w->h.ca);
	r = OCSP_basic_verify(bs, untrusted, store, 0);
	if (r != 1) {
		char buf[256];

		ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
		fail_msg("OCSP_basic_verify: %d (%s)", r, buf);
	}
	sk_X509_free(untrusted);
	X509_STORE_free(store);
}

/* Our own verdict (all algorithms; the only one for SM2 in-process). */
static void
our_verify(X509 *responder, OCSP_BASICRESP *bs)
{
	unsigned char *tbs = NULL;
	const ASN1_OCTET_STRING *sig = OCSP_resp_get0_signature(bs);
	int n = i2d_OCSP_RESPDATA(OCSP_resp_get0_respdata(bs), &tbs);
	struct oc_err err;

	assert_true(n > 0);
	if (oc_verify_tbs(X509_get0_pubkey(responder), tbs, (size_t)n,
	    ASN1_STRING_get0_data(sig), (size_t)ASN1_STRING_length(sig),
	    &err) != 0)
		fail_msg("oc_verify_tbs: %s | %s", err.msg, err.detail);
	OPENSSL_free(tbs);
}

static void
expect_status_id(OCSP_BASICRESP *bs, OCSP_CERTID *id, int status,
    int reason, time_t revoked_at)
{
	ASN1_GENERALIZEDTIME *rev = NULL, *tu = NULL, *nu = NULL;
	int st = -1, rs = -1;

	assert_int_equal(OCSP_resp_find_status(bs, id, &st, &rs, &rev, &tu,
	    &nu), 1);
	assert_int_equal(st, status);
	assert_int_equal(OCSP_check_validity(tu, nu, 300, -1), 1);
	assert_non_null(nu);
	if (status == V_OCSP_CERTSTATUS_REVOKED) {
		assert_int_equal(rs, reason);
		assert_non_null(rev);
		assert_int_equal(ASN1_TIME_cmp_time_t(rev, revoked_at), 0);
	}
}

static void
expect_status(OCSP_BASICRESP *bs, X509 *issuer, X509 *cert,
    const EVP_MD *md, int status, int reason, time_t revoked_at)
{
	OCSP_CERTID *id = OCSP_cert_to_id(md, cert, issuer);

	assert_non_null(id);
	expect_status_id(bs, id, status, reason, revoked_at);
	OCSP_CERTID_free(id);
}

static OCSP_CERTID *
id_for_serial(X509 *issuer, const EVP_MD *md, const char *hex)
{
	BIGNUM *bn = NULL;
	ASN1_INTEGER *ai;
	OCSP_CERTID *id;

	assert_true(BN_hex2bn(&bn, hex) > 0);
	ai = BN_to_ASN1_INTEGER(bn, NULL);
	id = OCSP_cert_id_new(md, X509_get_subject_name(issuer),
	    X509_get0_pubkey_bitstr(issuer), ai);
	assert_non_null(id);
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	return id;
}

/* The independent SM2 check (RECIPES.md): ResponseData and signature cut
 * out of the DER, verified by `openssl pkeyutl` with SM3 and the ID. */
static void
pkeyutl_verify_sm2(X509 *responder, OCSP_BASICRESP *bs)
{
	unsigned char *tbs = NULL;
	const ASN1_OCTET_STRING *sig = OCSP_resp_get0_signature(bs);
	int n = i2d_OCSP_RESPDATA(OCSP_resp_get0_respdata(bs), &tbs), st;
	char cmd[4096];
	const char *out;
	FILE *f;

	assert_true(n > 0);
	write_file("sm2-tbs.der", tbs, (size_t)n);
	write_file("sm2-sig.der", ASN1_STRING_get0_data(sig),
	    (size_t)ASN1_STRING_length(sig));
	f = fopen(path("sm2-resp-pub.pem"), "w");
	assert_non_null(f);
	assert_true(PEM_write_PUBKEY(f, X509_get0_pubkey(responder)));
	fclose(f);
	snprintf(cmd, sizeof(cmd), "openssl pkeyutl -verify -pubin -inkey %s "
	    "-rawin -in %s -sigfile %s -digest sm3 -pkeyopt distid:%s",
	    path("sm2-resp-pub.pem"), path("sm2-tbs.der"), path("sm2-sig.der"),
	    OC_SM2_DISTID);
	out = run(cmd, &st);
	expect_in(out, "Signature Verified Successfully", cmd);
	assert_int_equal(st, 0);
	/* The judge can say no: one bit of the ResponseData changed. */
	tbs[n - 1] ^= 0x01;
	write_file("sm2-tbs.der", tbs, (size_t)n);
	out = run(cmd, &st);
	expect_not_in(out, "Signature Verified Successfully", cmd);
	assert_int_not_equal(st, 0);
	OPENSSL_free(tbs);
}

/*
 * `openssl ocsp` as the judge: the response in resp.der, the status of
 * cert.pem asked with md ("" or "-sha256").  EC and RSA: full
 * verification against the root (-CAfile chain.pem); SM2: -noverify.
 */
static const char *
openssl_ocsp_check(enum oc_algo a, const char *md_opt, const char *certfile,
    const char *status_line)
{
	static char cmd[4096];
	const char *out;
	char line[1500];
	int st;

	snprintf(cmd, sizeof(cmd), "openssl ocsp -respin %s -issuer %s %s "
	    "-CAfile %s %s -cert %s -no_nonce -resp_text", path("resp.der"),
	    path("issuer.pem"), a == OC_ALGO_SM2 ? "-noverify" : "",
	    path("chain.pem"), md_opt, path(certfile));
	out = run(cmd, &st);
	if (a != OC_ALGO_SM2)
		expect_in(out, "Response verify OK", cmd);
	expect_not_in(out, "verify error", cmd);
	expect_not_in(out, "Status times invalid", cmd);
	expect_not_in(out, "No Status found", cmd);
	snprintf(line, sizeof(line), "%s: %s", path(certfile), status_line);
	expect_in(out, line, cmd);
	assert_int_equal(st, 0);
	return out;
}

/* `openssl ocsp` finds no status for certfile in resp.der (another
 * certificate's response). */
static void
openssl_ocsp_absent(const char *certfile)
{
	char cmd[4096];
	const char *out;
	int st;

	snprintf(cmd, sizeof(cmd), "openssl ocsp -respin %s -issuer %s "
	    "-noverify -cert %s -no_nonce", path("resp.der"),
	    path("issuer.pem"), path(certfile));
	out = run(cmd, &st);
	expect_in(out, "No Status found", cmd);
}

/* Signatures per pre-signed certificate: a response for its SHA-1
 * CertID and one for its SHA-256 CertID. */
#define NH 2

/* A pre-signed response: exactly one SingleResponse, for cert's CertID
 * with hash md (clients such as Python's cryptography and Go's
 * ocsp.ParseResponse expect one), none for the other hash. */
static void
expect_one_certid(OCSP_BASICRESP *bs, X509 *issuer, X509 *cert,
    const EVP_MD *md, int status, int reason, time_t revoked_at)
{
	const EVP_MD *other = md == EVP_sha1() ? EVP_sha256() : EVP_sha1();
	OCSP_CERTID *id = OCSP_cert_to_id(other, cert, issuer);
	ASN1_OBJECT *alg = NULL;

	assert_int_equal(OCSP_resp_count(bs), 1);
	assert_int_equal(OCSP_id_get0_info(NULL, &alg, NULL, NULL,
	    (OCSP_CERTID *)OCSP_SINGLERESP_get0_id(OCSP_resp_get0(bs, 0))),
	    1);
	assert_int_equal(OBJ_obj2nid(alg), EVP_MD_get_type(md));
	expect_status(bs, issuer, cert, md, status, reason, revoked_at);
	assert_non_null(id);
	assert_int_equal(OCSP_resp_find(bs, id, -1), -1);
	OCSP_CERTID_free(id);
}

static void
write_world_files(struct world *w)
{
	X509 *chain[2] = { w->h.ca, w->h.root };

	write_pem("issuer.pem", &w->h.ca, 1);
	write_pem("chain.pem", chain, 2);
	write_pem("root.pem", &w->h.root, 1);
	for (int i = 0; i < 3; i++) {
		char name[32];

		snprintf(name, sizeof(name), "leaf%d.pem", i);
		write_pem(name, &w->leaf[i], 1);
	}
	write_pem("responder.pem", &w->resp, 1);
}

/* ---- parsing ---- */

static void
parse_api(enum oc_algo a)
{
	struct world w;
	struct oc_ocsp_request *r;
	struct oc_err err;
	unsigned char *der;
	size_t len;
	char hex[43];
	X509 *issuers[2];
	OCSP_REQUEST *req;

	world_make(&w, a);
	issuers[0] = w.h.root;
	issuers[1] = w.h.ca;
	/* Two SHA-1 CertIDs with a 16-byte nonce. */
	der = api_request(w.h.ca, w.leaf, 2, EVP_sha1(), 16, &len, NULL);
	r = oc_ocsp_request_parse(der, len, &err);
	if (r == NULL)
		fail_msg("parse: %s | %s", err.msg, err.detail);
	assert_int_equal(r->n, 2);
	for (int i = 0; i < 2; i++) {
		serial_of(w.leaf[i], hex);
		assert_string_equal(r->ids[i].serial, hex);
		assert_int_equal(r->ids[i].hash, OC_OCSP_HASH_SHA1);
		assert_int_equal(r->ids[i].name_hash_len, 20);
		assert_true(oc_ocsp_certid_is_for(&r->ids[i], w.h.ca));
		assert_false(oc_ocsp_certid_is_for(&r->ids[i], w.h.root));
		assert_int_equal(oc_ocsp_certid_find_issuer(&r->ids[i],
		    issuers, 2), 1);
	}
	assert_true(r->has_nonce);
	assert_int_equal(r->nonce_len, 16);
	assert_int_equal(r->nonce_ext_len, 18);     /* 04 10 + 16 */
	assert_false(r->is_signed);
	oc_ocsp_request_free(r);
	OPENSSL_free(der);

	/* SHA-256, no nonce; the issuing CA asked about under the root. */
	der = api_request(w.h.root, &w.h.ca, 1, EVP_sha256(), 0, &len, NULL);
	r = oc_ocsp_request_parse(der, len, &err);
	assert_non_null(r);
	assert_int_equal(r->n, 1);
	assert_int_equal(r->ids[0].hash, OC_OCSP_HASH_SHA256);
	assert_int_equal(r->ids[0].key_hash_len, 32);
	assert_false(r->has_nonce);
	assert_int_equal(oc_ocsp_certid_find_issuer(&r->ids[0], issuers, 2),
	    0);
	{
		/* oc_ocsp_certid_make makes the same CertID. */
		struct oc_ocsp_certid mine;

		serial_of(w.h.ca, hex);
		assert_int_equal(oc_ocsp_certid_make(w.h.root,
		    OC_OCSP_HASH_SHA256, hex, &mine, &err), 0);
		assert_int_equal(mine.der_len, r->ids[0].der_len);
		assert_memory_equal(mine.der, r->ids[0].der, mine.der_len);
	}
	oc_ocsp_request_free(r);
	OPENSSL_free(der);

	/* A signed request (accepted; the signature is not required). */
	if (a != OC_ALGO_SM2) {
		unsigned char *sder = NULL;
		int l;

		der = api_request(w.h.ca, w.leaf, 1, EVP_sha1(), 0, &len, &req);
		OPENSSL_free(der);
		assert_int_equal(OCSP_request_sign(req, w.resp, w.rkey,
		    EVP_sha256(), NULL, 0), 1);
		l = i2d_OCSP_REQUEST(req, &sder);
		assert_true(l > 0);
		r = oc_ocsp_request_parse(sder, (size_t)l, &err);
		assert_non_null(r);
		assert_true(r->is_signed);
		assert_int_equal(r->n, 1);
		oc_ocsp_request_free(r);
		OPENSSL_free(sder);
		OCSP_REQUEST_free(req);
	}
	world_free(&w);
}

static void test_parse_api_ec(void **s) { (void)s; parse_api(OC_ALGO_EC); }
static void test_parse_api_rsa(void **s) { (void)s; parse_api(OC_ALGO_RSA); }
static void test_parse_api_sm2(void **s) { (void)s; parse_api(OC_ALGO_SM2); }

/* Requests made by the `openssl ocsp` command. */
static void
test_parse_cli(void **state)
{
	struct world w;
	struct oc_ocsp_request *r;
	struct oc_err err;
	unsigned char *der;
	size_t len;
	char cmd[4096], hex[43];
	int st;

	(void)state;
	tmp_make("cli");
	world_make(&w, OC_ALGO_SM2);
	write_world_files(&w);

	snprintf(cmd, sizeof(cmd), "openssl ocsp -issuer %s -cert %s -reqout "
	    "%s", path("issuer.pem"), path("leaf0.pem"), path("req1.der"));
	run(cmd, &st);
	assert_int_equal(st, 0);
	der = read_file("req1.der", &len);
	r = oc_ocsp_request_parse(der, len, &err);
	if (r == NULL)
		fail_msg("parse: %s | %s", err.msg, err.detail);
	assert_int_equal(r->n, 1);
	serial_of(w.leaf[0], hex);
	assert_string_equal(r->ids[0].serial, hex);
	assert_int_equal(r->ids[0].hash, OC_OCSP_HASH_SHA1);
	assert_true(oc_ocsp_certid_is_for(&r->ids[0], w.h.ca));
	assert_true(r->has_nonce);            /* openssl adds one by default */
	assert_int_equal(r->nonce_len, 16);
	oc_ocsp_request_free(r);
	free(der);

	snprintf(cmd, sizeof(cmd), "openssl ocsp -issuer %s -sha256 -cert %s "
	    "-cert %s -cert %s -no_nonce -reqout %s", path("issuer.pem"),
	    path("leaf0.pem"), path("leaf1.pem"), path("leaf2.pem"),
	    path("req2.der"));
	run(cmd, &st);
	assert_int_equal(st, 0);
	der = read_file("req2.der", &len);
	r = oc_ocsp_request_parse(der, len, &err);
	assert_non_null(r);
	assert_int_equal(r->n, 3);
	for (int i = 0; i < 3; i++) {
		serial_of(w.leaf[i], hex);
		assert_string_equal(r->ids[i].serial, hex);
		assert_int_equal(r->ids[i].hash, OC_OCSP_HASH_SHA256);
		assert_true(oc_ocsp_certid_is_for(&r->ids[i], w.h.ca));
	}
	assert_false(r->has_nonce);
	oc_ocsp_request_free(r);
	free(der);
	world_free(&w);
	tmp_remove();
}

/* ---- malformed input ---- */

static void
expect_malformed(const unsigned char *der, size_t len, const char *what)
{
	struct oc_err err;
	struct oc_ocsp_request *r = oc_ocsp_request_parse(der, len, &err);

	if (r != NULL)
		fail_msg("%s: parsed", what);
	assert_true(err.code == OC_EINVAL || err.code == OC_ETOOBIG);
}

/* A request whose nonce extension has extnValue `ev`. */
static unsigned char *
request_with_nonce_ext(X509 *issuer, X509 *leaf, const unsigned char *ev,
    int evlen, int copies, size_t *len)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), leaf, issuer);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	unsigned char *der = NULL;
	int l;

	assert_non_null(OCSP_request_add0_id(req, id));
	assert_true(ASN1_OCTET_STRING_set(os, ev, evlen));
	for (int i = 0; i < copies; i++) {
		X509_EXTENSION *ext = X509_EXTENSION_create_by_NID(NULL,
		    NID_id_pkix_OCSP_Nonce, 0, os);

		assert_non_null(ext);
		assert_int_equal(OCSP_REQUEST_add_ext(req, ext, -1), 1);
		X509_EXTENSION_free(ext);
	}
	l = i2d_OCSP_REQUEST(req, &der);
	assert_true(l > 0);
	*len = (size_t)l;
	ASN1_OCTET_STRING_free(os);
	OCSP_REQUEST_free(req);
	return der;
}

static void
test_malformed(void **state)
{
	struct world w;
	unsigned char *der, *buf, ev[200];
	size_t len, n;
	X509 *many[OC_OCSP_MAX_IDS + 1];
	struct oc_ocsp_request *r;
	struct oc_err err;

	(void)state;
	world_make(&w, OC_ALGO_EC);
	der = api_request(w.h.ca, w.leaf, 1, EVP_sha1(), 16, &len, NULL);
	assert_non_null(r = oc_ocsp_request_parse(der, len, &err));
	oc_ocsp_request_free(r);

	expect_malformed(NULL, 0, "NULL");
	expect_malformed(der, 0, "empty");
	for (size_t cut = 1; cut < len; cut++)
		expect_malformed(der, len - cut, "truncated");
	buf = malloc(OC_OCSP_REQ_MAX + 2);
	assert_non_null(buf);
	memcpy(buf, der, len);
	buf[len] = 0x00;
	expect_malformed(buf, len + 1, "trailing byte");
	memcpy(buf + len, der, len);
	expect_malformed(buf, 2 * len, "two requests");
	/* Garbage of every first byte, and random-ish bytes. */
	for (int b = 0; b < 256; b++) {
		memset(buf, b, 64);
		expect_malformed(buf, 64, "garbage");
	}
	/* Oversized: a valid-looking SEQUENCE header over 64 KiB. */
	memset(buf, 0, OC_OCSP_REQ_MAX + 2);
	buf[0] = 0x30;
	buf[1] = 0x83;
	buf[2] = (unsigned char)((OC_OCSP_REQ_MAX - 3) >> 16);
	buf[3] = (unsigned char)((OC_OCSP_REQ_MAX - 3) >> 8);
	buf[4] = (unsigned char)(OC_OCSP_REQ_MAX - 3);
	oc_err_clear(&err);
	assert_null(oc_ocsp_request_parse(buf, OC_OCSP_REQ_MAX + 2, &err));
	assert_int_equal(err.code, OC_ETOOBIG);
	/* Indefinite length (BER) outer SEQUENCE. */
	buf[0] = 0x30;
	buf[1] = 0x80;
	memcpy(buf + 2, der + 2, len - 2);
	buf[len] = 0;
	buf[len + 1] = 0;
	expect_malformed(buf, len + 2, "indefinite length");
	/* A certificate is not a request. */
	{
		unsigned char *c = NULL;
		int cl = i2d_X509(w.leaf[0], &c);

		expect_malformed(c, (size_t)cl, "certificate");
		OPENSSL_free(c);
	}
	OPENSSL_free(der);

	/* Nonces: 0 octets, 129 octets, twice → malformed; 128 and a bare
	 * (unwrapped) 20-octet value → accepted. */
	ev[0] = 0x04;
	ev[1] = 0x00;
	der = request_with_nonce_ext(w.h.ca, w.leaf[0], ev, 2, 1, &len);
	expect_malformed(der, len, "empty nonce");
	OPENSSL_free(der);
	ev[0] = 0x04;
	ev[1] = 0x81;
	ev[2] = 129;
	memset(ev + 3, 0x5a, 129);
	der = request_with_nonce_ext(w.h.ca, w.leaf[0], ev, 132, 1, &len);
	expect_malformed(der, len, "129-octet nonce");
	OPENSSL_free(der);
	ev[2] = 128;
	der = request_with_nonce_ext(w.h.ca, w.leaf[0], ev, 131, 1, &len);
	assert_non_null(r = oc_ocsp_request_parse(der, len, &err));
	assert_int_equal(r->nonce_len, 128);
	oc_ocsp_request_free(r);
	OPENSSL_free(der);
	der = request_with_nonce_ext(w.h.ca, w.leaf[0], ev, 131, 2, &len);
	expect_malformed(der, len, "two nonces");
	OPENSSL_free(der);
	memset(ev, 0xa5, 20);
	der = request_with_nonce_ext(w.h.ca, w.leaf[0], ev, 20, 1, &len);
	assert_non_null(r = oc_ocsp_request_parse(der, len, &err));
	assert_int_equal(r->nonce_len, 20);
	assert_int_equal(r->nonce_ext_len, 20);
	oc_ocsp_request_free(r);
	OPENSSL_free(der);

	/* Too many CertIDs; no CertID at all. */
	for (int i = 0; i <= OC_OCSP_MAX_IDS; i++)
		many[i] = w.leaf[i % 3];
	der = api_request(w.h.ca, many, OC_OCSP_MAX_IDS + 1, EVP_sha1(), 0,
	    &len, NULL);
	expect_malformed(der, len, "65 CertIDs");
	OPENSSL_free(der);
	der = api_request(w.h.ca, many, OC_OCSP_MAX_IDS, EVP_sha1(), 0, &len,
	    NULL);
	assert_non_null(r = oc_ocsp_request_parse(der, len, &err));
	assert_int_equal(r->n, OC_OCSP_MAX_IDS);
	oc_ocsp_request_free(r);
	OPENSSL_free(der);
	der = api_request(w.h.ca, many, 0, EVP_sha1(), 0, &len, NULL);
	expect_malformed(der, len, "no CertID");
	OPENSSL_free(der);

	/* Flipping each byte of a valid request never crashes; whatever
	 * parses still has sane fields. */
	der = api_request(w.h.ca, w.leaf, 2, EVP_sha256(), 32, &len, NULL);
	for (size_t i = 0; i < len; i++)
		for (int bit = 0; bit < 8; bit++) {
			memcpy(buf, der, len);
			buf[i] ^= (unsigned char)(1 << bit);
			r = oc_ocsp_request_parse(buf, len, NULL);
			if (r != NULL) {
				assert_true(r->n >= 1 && r->n <= 2);
				for (n = 0; n < r->n; n++)
					assert_true(r->ids[n].der_len > 0);
				oc_ocsp_request_free(r);
			}
		}
	OPENSSL_free(der);
	free(buf);
	world_free(&w);
}

/* GET: the base64 in the URL, plain and URL-encoded. */
static void
test_get_decode(void **state)
{
	struct world w;
	unsigned char *der, *got = NULL;
	size_t len, glen = 0;
	char b64[4096], enc[8192], *q;
	struct oc_err err;
	int n, saw_plus = 0, saw_slash = 0, saw_pad = 0;

	(void)state;
	world_make(&w, OC_ALGO_EC);
	/* Enough requests that some base64 has '+', '/' and padding. */
	for (int round = 0; round < 40; round++) {
		der = api_request(w.h.ca, w.leaf, 1 + round % 3, round % 2 ?
		    EVP_sha256() : EVP_sha1(), 16, &len, NULL);
		n = EVP_EncodeBlock((unsigned char *)b64, der, (int)len);
		assert_true(n > 0);
		saw_plus += strchr(b64, '+') != NULL;
		saw_slash += strchr(b64, '/') != NULL;
		saw_pad += b64[n - 1] == '=';
		assert_int_equal(oc_ocsp_get_decode(b64, &got, &glen, &err), 0);
		assert_int_equal(glen, len);
		assert_memory_equal(got, der, len);
		free(got);
		/* URL-encoded, with a leading slash. */
		q = enc;
		*q++ = '/';
		for (char *p = b64; *p != '\0'; p++)
			if (*p == '+' || *p == '/' || *p == '=')
				q += sprintf(q, "%%%02X", (unsigned char)*p);
			else
				*q++ = *p;
		*q = '\0';
		assert_int_equal(oc_ocsp_get_decode(enc, &got, &glen, &err), 0);
		assert_int_equal(glen, len);
		assert_memory_equal(got, der, len);
		free(got);
		/* Without padding; '+' turned into ' ' by a form decoder. */
		for (q = b64; *q != '\0'; q++)
			if (*q == '+')
				*q = ' ';
		while (n > 0 && b64[n - 1] == '=')
			b64[--n] = '\0';
		assert_int_equal(oc_ocsp_get_decode(b64, &got, &glen, &err), 0);
		assert_int_equal(glen, len);
		assert_memory_equal(got, der, len);
		free(got);
		OPENSSL_free(der);
	}
	assert_true(saw_plus > 0 && saw_slash > 0 && saw_pad > 0);
	/* Not base64: bad characters, a lone char, data after padding,
	 * too much padding, broken escapes, empty. */
	{
		static const char *const bad[] = { "", "/", "MEQ*", "M",
		    "MEQ=A", "ME===", "MEQ%2", "MEQ%ZZ", "MEQ%25", "MA=",
		    "MA\n" };

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			got = NULL;
			if (oc_ocsp_get_decode(bad[i], &got, &glen, &err) == 0)
				fail_msg("decoded \"%s\"", bad[i]);
			assert_null(got);
		}
	}
	/* Over the limit. */
	{
		size_t big = 4 * (OC_OCSP_REQ_MAX / 3 + 2);
		char *b = malloc(big + 1);

		memset(b, 'A', big);
		b[big] = '\0';
		assert_int_equal(oc_ocsp_get_decode(b, &got, &glen, &err),
		    OC_ETOOBIG);
		free(b);
	}
	world_free(&w);
}

/* ---- building ---- */

static unsigned char *
build(struct world *w, const struct oc_ocsp_single *s, size_t n,
    const struct oc_ocsp_request *req, size_t *len)
{
	unsigned char *out = NULL;
	struct oc_err err;

	if (oc_ocsp_response_build(&w->responder, s, n,
	    req != NULL && req->has_nonce ? req->nonce_ext : NULL,
	    req != NULL && req->has_nonce ? req->nonce_ext_len : 0,
	    time(NULL), &out, len, &err) != 0)
		fail_msg("build: %s | %s", err.msg, err.detail);
	return out;
}

/* A signer that signs other bytes than it is given (the last one
 * changed) with the real signer in impl: the self-check must catch it. */
static int
liar_sign(struct oc_signer *s, const unsigned char *tbs, size_t tbslen,
    unsigned char **sig, size_t *siglen, struct oc_err *err)
{
	unsigned char *t;
	int rc;

	assert_true(tbslen > 0);
	assert_non_null(t = malloc(tbslen));
	memcpy(t, tbs, tbslen);
	t[tbslen - 1] ^= 1;
	rc = oc_signer_sign(s->impl, t, tbslen, sig, siglen, err);
	free(t);
	return rc;
}

static const struct oc_signer_ops liar_ops = { "liar", liar_sign, NULL };

static void
build_responses(enum oc_algo a)
{
	struct world w;
	struct oc_ocsp_certid ids[3], bogus;
	struct oc_ocsp_single s[3];
	struct oc_ocsp_request *req;
	OCSP_REQUEST *oreq;
	OCSP_BASICRESP *bs;
	OCSP_CERTID *oid;
	unsigned char *der, *rder;
	size_t len, rlen;
	time_t now = time(NULL), rev_at = now - 3600;
	char hex[43], cmd[4096];
	const char *out;
	struct oc_err err;
	int st;

	tmp_make(oc_algo_name(a));
	world_make(&w, a);
	write_world_files(&w);
	for (int i = 0; i < 3; i++) {
		serial_of(w.leaf[i], hex);
		assert_int_equal(oc_ocsp_certid_make(w.h.ca, i == 1 ?
		    OC_OCSP_HASH_SHA256 : OC_OCSP_HASH_SHA1, hex, &ids[i], &err),
		    0);
	}
	memset(s, 0, sizeof(s));
	for (int i = 0; i < 3; i++) {
		s[i].id = &ids[i];
		s[i].this_update = now - 60;
		s[i].next_update = now + 3600;
	}
	s[0].status = OC_OCSP_GOOD;
	s[1].status = OC_OCSP_REVOKED;
	s[1].revoked_at = rev_at;
	s[1].reason = 1;                  /* keyCompromise */
	s[2].status = OC_OCSP_UNKNOWN;

	/* All three in one response. */
	der = build(&w, s, 3, NULL, &len);
	bs = basic_of(der, len);
	if (a != OC_ALGO_SM2)
		openssl_verify(&w, bs);
	our_verify(w.resp, bs);
	expect_status(bs, w.h.ca, w.leaf[0], EVP_sha1(),
	    V_OCSP_CERTSTATUS_GOOD, -1, 0);
	expect_status(bs, w.h.ca, w.leaf[1], EVP_sha256(),
	    V_OCSP_CERTSTATUS_REVOKED, 1, rev_at);
	expect_status(bs, w.h.ca, w.leaf[2], EVP_sha1(),
	    V_OCSP_CERTSTATUS_UNKNOWN, -1, 0);
	/* The signature algorithm is the responder key's, and the
	 * responder certificate travels in certs. */
	assert_int_equal(OBJ_obj2nid(OCSP_resp_get0_tbs_sigalg(bs)->algorithm),
	    a == OC_ALGO_EC ? NID_ecdsa_with_SHA256 : a == OC_ALGO_SM2 ?
	    NID_SM2_with_SM3 : NID_sha256WithRSAEncryption);
	assert_int_equal(sk_X509_num(OCSP_resp_get0_certs(bs)), 1);
	assert_int_equal(X509_cmp(sk_X509_value(OCSP_resp_get0_certs(bs), 0),
	    w.resp), 0);
	{
		const ASN1_OCTET_STRING *byk = NULL;
		const X509_NAME *byn = NULL;
		unsigned char kh[20];
		unsigned int khl = 0;

		assert_int_equal(OCSP_resp_get0_id(bs, &byk, &byn), 1);
		assert_null(byn);
		assert_non_null(byk);
		assert_true(X509_pubkey_digest(w.resp, EVP_sha1(), kh, &khl));
		assert_int_equal(ASN1_STRING_length(byk), 20);
		assert_memory_equal(ASN1_STRING_get0_data(byk), kh, 20);
	}
	if (a == OC_ALGO_SM2)
		pkeyutl_verify_sm2(w.resp, bs);
	OCSP_BASICRESP_free(bs);

	/* The `openssl ocsp` command as judge, one status per response. */
	for (int i = 0; i < 3; i++) {
		char leaf[16];

		snprintf(leaf, sizeof(leaf), "leaf%d.pem", i);
		rder = build(&w, &s[i], 1, NULL, &rlen);
		write_file("resp.der", rder, rlen);
		out = openssl_ocsp_check(a, i == 1 ? "-sha256" : "", leaf,
		    i == 0 ? "good" : i == 1 ? "revoked" : "unknown");
		if (i == 1) {
			expect_in(out, "Reason: keyCompromise", "openssl ocsp");
			expect_in(out, "Revocation Reason: keyCompromise (0x1)",
			    "openssl ocsp");
		}
		expect_in(out, "Responder Id: ", "openssl ocsp");
		if (i == 0 && a != OC_ALGO_SM2) {
			/* The judge can say no: one bit of producedAt. */
			unsigned char *t = memchr(rder + 10, 0x18, rlen - 10);
			OCSP_BASICRESP *bad;
			X509_STORE *store = X509_STORE_new();

			while (t != NULL && t[1] != 15)
				t = memchr(t + 1, 0x18, rlen - (size_t)(t + 1 -
				    rder));
			assert_non_null(t);
			t[14] ^= 0x01;            /* a seconds digit */
			write_file("resp.der", rder, rlen);
			snprintf(cmd, sizeof(cmd), "openssl ocsp -respin %s "
			    "-issuer %s -CAfile %s -cert %s -no_nonce",
			    path("resp.der"), path("issuer.pem"),
			    path("chain.pem"), path("leaf0.pem"));
			out = run(cmd, &st);
			expect_in(out, "Response Verify Failure", cmd);
			expect_not_in(out, "Response verify OK", cmd);
			bad = basic_of(rder, rlen);
			assert_true(X509_STORE_add_cert(store, w.h.root));
			{
				STACK_OF(X509) *u = sk_X509_new_null();

				sk_X509_push(u, w.h.ca);
				assert_true(OCSP_basic_verify(bad, u, store,
				    0) <= 0);
				sk_X509_free(u);
			}
			ERR_clear_error();
			X509_STORE_free(store);
			OCSP_BASICRESP_free(bad);
		}
		OPENSSL_free(rder);
	}
	OPENSSL_free(der);

	/* Revoked without a reason (unspecified): no reason field. */
	s[1].reason = 0;
	der = build(&w, &s[1], 1, NULL, &len);
	bs = basic_of(der, len);
	our_verify(w.resp, bs);
	expect_status(bs, w.h.ca, w.leaf[1], EVP_sha256(),
	    V_OCSP_CERTSTATUS_REVOKED, -1, rev_at);
	OCSP_BASICRESP_free(bs);
	OPENSSL_free(der);

	/* The nonce is echoed: OCSP_check_nonce against the request, and
	 * `openssl ocsp -reqin … -respin …` checks it too. */
	rder = api_request(w.h.ca, w.leaf, 1, EVP_sha1(), 16, &rlen, &oreq);
	req = oc_ocsp_request_parse(rder, rlen, &err);
	assert_non_null(req);
	s[0].id = &req->ids[0];
	der = build(&w, &s[0], 1, req, &len);
	bs = basic_of(der, len);
	assert_int_equal(OCSP_check_nonce(oreq, bs), 1);
	if (a != OC_ALGO_SM2)
		openssl_verify(&w, bs);
	our_verify(w.resp, bs);
	OCSP_BASICRESP_free(bs);
	write_file("req-nonce.der", rder, rlen);
	write_file("resp.der", der, len);
	snprintf(cmd, sizeof(cmd), "openssl ocsp -reqin %s -respin %s %s "
	    "-CAfile %s -resp_text", path("req-nonce.der"), path("resp.der"),
	    a == OC_ALGO_SM2 ? "-noverify" : "", path("chain.pem"));
	out = run(cmd, &st);
	if (a != OC_ALGO_SM2)
		expect_in(out, "Response verify OK", cmd);
	expect_in(out, "OCSP Nonce:", cmd);
	expect_in(out, "Cert Status: good", cmd);
	expect_not_in(out, "Nonce Verify error", cmd);
	expect_not_in(out, "no nonce in response", cmd);
	assert_int_equal(st, 0);
	OPENSSL_free(der);
	OCSP_REQUEST_free(oreq);
	OPENSSL_free(rder);
	oc_ocsp_request_free(req);
	s[0].id = &ids[0];

	/* A serial we never issued, asked by number. */
	assert_int_equal(oc_ocsp_certid_make(w.h.ca, OC_OCSP_HASH_SHA1,
	    "0123456789ABCDEF0123456789ABCDEF", &bogus, &err), 0);
	s[2].id = &bogus;
	der = build(&w, &s[2], 1, NULL, &len);
	bs = basic_of(der, len);
	oid = id_for_serial(w.h.ca, EVP_sha1(),
	    "0123456789ABCDEF0123456789ABCDEF");
	expect_status_id(bs, oid, V_OCSP_CERTSTATUS_UNKNOWN, -1, 0);
	OCSP_CERTID_free(oid);
	OCSP_BASICRESP_free(bs);
	OPENSSL_free(der);

	/* Refusals: a signer whose key is not the responder certificate's,
	 * a bad single response. */
	{
		struct oc_ocsp_responder wrong = { w.resp, w.h.ca_s };
		unsigned char *o = NULL;
		size_t ol = 0;

		assert_int_equal(oc_ocsp_response_build(&wrong, s, 1, NULL, 0,
		    now, &o, &ol, &err), OC_EINVAL);
		assert_null(o);
		s[0].next_update = s[0].this_update;
		assert_int_equal(oc_ocsp_response_build(&w.responder, s, 1, NULL,
		    0, now, &o, &ol, &err), OC_EINVAL);
		s[0].next_update = now + 3600;
		s[1].reason = 7;          /* unassigned */
		assert_int_equal(oc_ocsp_response_build(&w.responder, &s[1], 1,
		    NULL, 0, now, &o, &ol, &err), OC_EINVAL);
		assert_null(o);
	}

	/* With a verify context made once (the OCSP cache's refresh): the
	 * same responses, one context for several; refused for a context
	 * made for another key. */
	{
		struct oc__ocsp_verifier *v, *other;
		unsigned char *o = NULL;
		size_t ol = 0;

		s[1].reason = 1;
		assert_non_null(v = oc__ocsp_verifier_new(w.resp, &err));
		assert_non_null(other = oc__ocsp_verifier_new(w.h.ca, &err));
		for (int i = 0; i < 3; i++) {
			assert_int_equal(oc__ocsp_response_build_v(&w.responder,
			    v, &s[i % 2], 1, NULL, 0, now, &o, &ol, &err), 0);
			bs = basic_of(o, ol);
			our_verify(w.resp, bs);
			if (i % 2 == 0)
				expect_status(bs, w.h.ca, w.leaf[0], EVP_sha1(),
				    V_OCSP_CERTSTATUS_GOOD, -1, 0);
			else
				expect_status(bs, w.h.ca, w.leaf[1],
				    EVP_sha256(), V_OCSP_CERTSTATUS_REVOKED, 1,
				    rev_at);
			OCSP_BASICRESP_free(bs);
			OPENSSL_free(o);
			o = NULL;
		}
		assert_int_equal(oc__ocsp_response_build_v(&w.responder, other,
		    s, 1, NULL, 0, now, &o, &ol, &err), OC_EINVAL);
		assert_null(o);
		{
			struct oc_signer liar = { &liar_ops, w.rs->algo,
			    w.rs->pub, w.rs };
			struct oc_ocsp_responder lr = { w.resp, &liar };

			assert_int_equal(oc_ocsp_response_build(&lr, s, 1,
			    NULL, 0, now, &o, &ol, &err), OC_ECRYPTO);
			assert_null(o);
			assert_int_equal(oc__ocsp_response_build_v(&lr, v, s,
			    1, NULL, 0, now, &o, &ol, &err), OC_ECRYPTO);
			assert_null(o);
			/* and v still verifies afterwards */
			assert_int_equal(oc__ocsp_response_build_v(
			    &w.responder, v, s, 1, NULL, 0, now, &o, &ol,
			    &err), 0);
			OPENSSL_free(o);
			o = NULL;
		}
		oc__ocsp_verifier_free(other);
		oc__ocsp_verifier_free(v);
		oc__ocsp_verifier_free(NULL);
	}
	world_free(&w);
	tmp_remove();
}

static void test_build_ec(void **s) { (void)s; build_responses(OC_ALGO_EC); }
static void test_build_rsa(void **s) { (void)s; build_responses(OC_ALGO_RSA); }
static void test_build_sm2(void **s) { (void)s; build_responses(OC_ALGO_SM2); }

/* The CA answering for itself (no delegated responder): OpenSSL accepts
 * a response signed by the issuing CA's own key. */
static void
test_build_ca_signed(void **state)
{
	struct world w;
	struct oc_ocsp_responder self;
	struct oc_ocsp_certid id;
	struct oc_ocsp_single s;
	unsigned char *der = NULL;
	size_t len = 0;
	char hex[43];
	struct oc_err err;
	OCSP_BASICRESP *bs;
	time_t now = time(NULL);

	(void)state;
	world_make(&w, OC_ALGO_EC);
	self.cert = w.h.ca;
	self.signer = w.h.ca_s;
	serial_of(w.leaf[0], hex);
	assert_int_equal(oc_ocsp_certid_make(w.h.ca, OC_OCSP_HASH_SHA1, hex,
	    &id, &err), 0);
	memset(&s, 0, sizeof(s));
	s.id = &id;
	s.status = OC_OCSP_GOOD;
	s.this_update = now;
	s.next_update = now + 600;
	assert_int_equal(oc_ocsp_response_build(&self, &s, 1, NULL, 0, now,
	    &der, &len, &err), 0);
	bs = basic_of(der, len);
	openssl_verify(&w, bs);
	OCSP_BASICRESP_free(bs);
	OPENSSL_free(der);
	world_free(&w);
}

/* The cache's CertIDs, written from the issuer's hashes, are byte for
 * byte those OpenSSL makes (oc_ocsp_certid_make), serials of every shape
 * included: leading zero octets, a set high bit, zero, 20 octets. */
static void
test_certid_from_hashes(void **state)
{
	static const char *serials[] = { "01", "7F", "80", "00FF", "0080",
	    "00", "0000", "12:34:AB", "0x1234567890ABCDEF",
	    "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
	    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
	    "80000000000000000000000000000000000000000" };
	static const enum oc_ocsp_hash hs[] = { OC_OCSP_HASH_SHA1,
	    OC_OCSP_HASH_SHA256 };
	struct oc_ocsp_issuer_hashes ih;
	struct oc_ocsp_certid a, b;
	struct oc_err err;
	struct world w;
	char hex[43];

	(void)state;
	world_make(&w, OC_ALGO_EC);
	assert_int_equal(oc_ocsp_issuer_hashes(w.h.ca, &ih, &err), 0);
	serial_of(w.leaf[0], hex);
	for (size_t i = 0; i < sizeof(serials) / sizeof(serials[0]) + 1; i++) {
		const char *sn = i < sizeof(serials) / sizeof(serials[0]) ?
		    serials[i] : hex;

		for (size_t j = 0; j < 2; j++) {
			int r1 = oc_ocsp_certid_make(w.h.ca, hs[j], sn, &a,
			    &err);
			int r2 = oc_ocsp_certid_from_hashes(&ih, hs[j], sn, &b,
			    &err);

			assert_int_equal(r1, r2);
			if (r1 != 0)
				continue;
			assert_int_equal(a.der_len, b.der_len);
			assert_memory_equal(a.der, b.der, a.der_len);
			assert_int_equal(a.hash, b.hash);
			assert_string_equal(a.serial, b.serial);
			assert_int_equal(a.name_hash_len, b.name_hash_len);
			assert_memory_equal(a.name_hash, b.name_hash,
			    a.name_hash_len);
			assert_int_equal(a.key_hash_len, b.key_hash_len);
			assert_memory_equal(a.key_hash, b.key_hash,
			    a.key_hash_len);
			assert_true(oc_ocsp_certid_is_for_hashes(&b, &ih));
		}
	}
	/* 21 octets and a hash we do not answer for are refused. */
	assert_int_not_equal(oc_ocsp_certid_from_hashes(&ih,
	    OC_OCSP_HASH_SHA1, "010000000000000000000000000000000000000000",
	    &b, &err), 0);
	assert_int_equal(oc_ocsp_certid_from_hashes(&ih, OC_OCSP_HASH_NONE,
	    "01", &b, &err), OC_EINVAL);
	world_free(&w);
}

static void
test_error_responses(void **state)
{
	static const struct { enum oc_ocsp_resp_status s; int v; } t[] = {
		{ OC_OCSP_MALFORMED, OCSP_RESPONSE_STATUS_MALFORMEDREQUEST },
		{ OC_OCSP_INTERNAL_ERROR, OCSP_RESPONSE_STATUS_INTERNALERROR },
		{ OC_OCSP_TRY_LATER, OCSP_RESPONSE_STATUS_TRYLATER },
		{ OC_OCSP_SIG_REQUIRED, OCSP_RESPONSE_STATUS_SIGREQUIRED },
		{ OC_OCSP_UNAUTHORIZED, OCSP_RESPONSE_STATUS_UNAUTHORIZED },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t len = 0;
		const unsigned char *d = oc_ocsp_error_der(t[i].s, &len), *p;
		OCSP_RESPONSE *r;

		assert_non_null(d);
		p = d;
		r = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
		assert_non_null(r);
		assert_ptr_equal(p, d + len);
		assert_int_equal(OCSP_response_status(r), t[i].v);
		assert_null(OCSP_response_get1_basic(r));
		OCSP_RESPONSE_free(r);
	}
	assert_null(oc_ocsp_error_der(OC_OCSP_SUCCESSFUL, NULL));
	assert_string_equal(oc_ocsp_resp_status_name(OC_OCSP_TRY_LATER),
	    "tryLater");
}

/* ---- the cache, over a real CA directory ---- */

/* An oc_signer that counts (and can fail) the signatures it forwards. */
struct counting {
	struct oc_signer *inner;
	atomic_int n;
	atomic_bool fail;
};

static int
counting_sign(struct oc_signer *s, const unsigned char *tbs, size_t tbslen,
    unsigned char **sig, size_t *siglen, struct oc_err *err)
{
	struct counting *c = s->impl;

	if (atomic_load(&c->fail))
		return oc_err_set(err, OC_EIO, "signer process stopped (test)");
	atomic_fetch_add(&c->n, 1);
	return oc_signer_sign(c->inner, tbs, tbslen, sig, siglen, err);
}

static void
counting_destroy(struct oc_signer *s)
{
	(void)s;    /* impl belongs to the test */
}

static const struct oc_signer_ops counting_ops = {
	"counting", counting_sign, counting_destroy,
};

static struct oc_signer *
counting_new(struct counting *c, struct oc_signer *inner)
{
	struct oc_signer *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	c->inner = inner;
	atomic_init(&c->n, 0);
	atomic_init(&c->fail, false);
	s->ops = &counting_ops;
	s->algo = oc_signer_algo(inner);
	s->pub = oc_signer_get0_pubkey(inner);
	assert_true(EVP_PKEY_up_ref(s->pub));
	s->impl = c;
	return s;
}

static const struct oc_actor op = { "op-test", "unit" };

static X509 *
ca_issue_one(struct oc_ca *ca, enum oc_algo a)
{
	struct oc_enroll_req r = { .profile = OC_PROFILE_ENTERPRISE,
	    .name = "上海浦江建筑工程有限公司", .uscc = T_USCC,
	    .materials = "[\"营业执照\"]" };
	EVP_PKEY *k = oc_pkey_generate(a, 2048, NULL);
	struct oc_signer *s;
	X509_REQ *csr;
	long long id = 0;
	struct oc_err err;
	X509 *x;

	assert_non_null(k);
	s = oc_signer_from_pkey(k, NULL);
	csr = oc_csr_build(&(struct oc_cert_subject){ .cn = "x" }, s, NULL);
	assert_non_null(csr);
	assert_int_equal(oc_ca_enroll(ca, &op, &r, &id, NULL), 0);
	assert_int_equal(oc_ca_decide(ca, &op, id, true, NULL, NULL), 0);
	x = oc_ca_issue(ca, &op, id, csr, NULL, &err);
	if (x == NULL)
		fail_msg("issue: %s | %s", err.msg, err.detail);
	X509_REQ_free(csr);
	oc_signer_free(s);
	EVP_PKEY_free(k);
	return x;
}

static struct oc_ca *
ca_make(enum oc_algo a, const char *tag)
{
	struct oc_ca_init_opts o = { .algo = a, .dev_file_keys = true,
	    .actor = "op-test", .base_url = "http://127.0.0.1:18080" };
	struct oc_err err;
	struct oc_ca *ca;

	tmp_make(tag);
	o.dir = path("ca");
	if (oc_ca_init(&o, &err) != 0)
		fail_msg("init: %s (%s)", err.msg, err.detail);
	ca = oc_ca_open(path("ca"), &err);
	if (ca == NULL)
		fail_msg("open: %s (%s)", err.msg, err.detail);
	return ca;
}

static unsigned char *
answer(struct oc_ocsp_cache *c, const unsigned char *req, size_t len,
    size_t *rlen, struct oc_ocsp_answer *info)
{
	unsigned char *resp = NULL;

	assert_int_equal(oc_ocsp_cache_answer_ex(c, req, len, &resp, rlen,
	    info), 0);
	assert_non_null(resp);
	return resp;
}

static void
expect_error_answer(struct oc_ocsp_cache *c, const unsigned char *req,
    size_t len, enum oc_ocsp_resp_status want)
{
	size_t rlen = 0, elen = 0;
	unsigned char *resp = NULL;
	const unsigned char *e = oc_ocsp_error_der(want, &elen);

	assert_int_equal(oc_ocsp_cache_answer(c, req, len, &resp, &rlen), 0);
	assert_non_null(resp);
	assert_int_equal(rlen, elen);
	assert_memory_equal(resp, e, elen);
	free(resp);
}

static char ca_db_uri[700];

/* Fake clock for the expiry test. */
static atomic_long fake_now;
static time_t
fake_clock(void)
{
	return (time_t)atomic_load(&fake_now);
}

/* A cache of ca's certificates (ca/ca.db) signing through cs, with
 * responses valid an hour (refreshed in the last half) on the fake clock,
 * which is set to t. */
static struct oc_ocsp_cache *
fake_clock_cache(struct oc_ca *ca, struct oc_signer *cs, time_t t)
{
	struct oc_ocsp_cache_opts o;
	struct oc_ocsp_cache *c;
	struct oc_err err;

	memset(&o, 0, sizeof(o));
	o.validity = 3600;
	o.clock = fake_clock;
	atomic_store(&fake_now, (long)t);
	c = oc_ocsp_cache_new(path("ca/ca.db"), oc_ca_get0_issuing(ca),
	    oc_ca_get0_ocsp(ca), cs, &o, &err);
	assert_non_null(c);
	return c;
}

static void
cache_flow(enum oc_algo a)
{
	struct oc_ca *ca = ca_make(a, "cache");
	struct counting cnt;
	struct oc_signer *cs;
	struct oc_ocsp_cache *c;
	struct oc_ocsp_cache_opts o;
	struct oc_ocsp_cache_stats st;
	struct oc_ocsp_answer info;
	struct oc_err err;
	X509 *leaf[3], *issuing = oc_ca_get0_issuing(ca),
	    *root = oc_ca_get0_root(ca), *resp = oc_ca_get0_ocsp(ca);
	X509 *chain[2] = { issuing, root };
	unsigned char *req, *r1, *r2;
	size_t len, l1, l2;
	OCSP_REQUEST *oreq;
	OCSP_BASICRESP *bs;
	char hex[43];
	time_t before;
	int n0;

	for (int i = 0; i < 3; i++)
		leaf[i] = ca_issue_one(ca, a);
	write_pem("issuer.pem", &issuing, 1);
	write_pem("chain.pem", chain, 2);
	write_pem("leaf0.pem", &leaf[0], 1);
	write_pem("leaf1.pem", &leaf[1], 1);
	snprintf(ca_db_uri, sizeof(ca_db_uri), "sqlite:%s", path("ca/ca.db"));
	cs = counting_new(&cnt, oc_ca_signer(ca, "ocsp"));
	memset(&o, 0, sizeof(o));

	/* The responder certificate must belong to the signer. */
	assert_null(oc_ocsp_cache_new(ca_db_uri, issuing, resp,
	    oc_ca_signer(ca, "issuing"), &o, &err));
	assert_int_equal(err.code, OC_EINVAL);
	o.validity = 60;
	o.refresh_before = 60;
	assert_null(oc_ocsp_cache_new(ca_db_uri, issuing, resp, cs, &o, &err));
	memset(&o, 0, sizeof(o));
	c = oc_ocsp_cache_new(ca_db_uri, issuing, resp, cs, &o, &err);
	if (c == NULL)
		fail_msg("cache: %s | %s", err.msg, err.detail);

	/* Before the first refresh: tryLater. */
	req = api_request(issuing, leaf, 1, EVP_sha1(), 0, &len, NULL);
	expect_error_answer(c, req, len, OC_OCSP_TRY_LATER);

	/* Refresh: two responses per certificate, one for its SHA-1 and one
	 * for its SHA-256 CertID (one signature each), the responder's own
	 * certificate skipped. */
	if (oc_ocsp_cache_refresh(c, &err) != 0)
		fail_msg("refresh: %s | %s", err.msg, err.detail);
	assert_int_equal(atomic_load(&cnt.n), 3 * NH);
	oc_ocsp_cache_get_stats(c, &st);
	assert_int_equal(st.entries, 3);
	assert_int_equal(st.presigns, 3);
	/* Nothing changed: a second refresh signs nothing. */
	assert_int_equal(oc_ocsp_cache_refresh(c, &err), 0);
	assert_int_equal(atomic_load(&cnt.n), 3 * NH);

	/* Known certificate, no nonce: pre-signed, no signature, the same
	 * bytes each time. */
	r1 = answer(c, req, len, &l1, &info);
	assert_true(info.presigned);
	assert_int_equal(info.status, OC_OCSP_SUCCESSFUL);
	assert_true(info.next_update > time(NULL) + 3000);
	assert_int_equal(info.next_update - info.this_update, 3600);
	assert_true(info.produced_at >= info.this_update &&
	    info.produced_at <= time(NULL));
	r2 = answer(c, req, len, &l2, NULL);
	assert_int_equal(l1, l2);
	assert_memory_equal(r1, r2, l1);
	assert_int_equal(atomic_load(&cnt.n), 3 * NH);
	bs = basic_of(r1, l1);
	our_verify(resp, bs);
	expect_one_certid(bs, issuing, leaf[0], EVP_sha1(),
	    V_OCSP_CERTSTATUS_GOOD, -1, 0);
	if (a == OC_ALGO_SM2)
		pkeyutl_verify_sm2(resp, bs);
	OCSP_BASICRESP_free(bs);
	free(r2);
	OPENSSL_free(req);
	write_file("resp.der", r1, l1);
	openssl_ocsp_check(a, "", "leaf0.pem", "good");
	/* …and not another certificate's status from it. */
	openssl_ocsp_absent("leaf1.pem");
	/* The same certificate asked with a SHA-256 CertID: its own
	 * pre-signed response, of the same refresh, with that CertID only. */
	{
		struct oc_ocsp_answer i1 = info;

		req = api_request(issuing, leaf, 1, EVP_sha256(), 0, &len,
		    NULL);
		r2 = answer(c, req, len, &l2, &info);
		assert_true(info.presigned);
		assert_int_equal(info.this_update, i1.this_update);
		assert_int_equal(info.next_update, i1.next_update);
		assert_false(l1 == l2 && memcmp(r1, r2, l1) == 0);
		assert_int_equal(atomic_load(&cnt.n), 3 * NH);
		bs = basic_of(r2, l2);
		our_verify(resp, bs);
		expect_one_certid(bs, issuing, leaf[0], EVP_sha256(),
		    V_OCSP_CERTSTATUS_GOOD, -1, 0);
		if (a == OC_ALGO_SM2)
			pkeyutl_verify_sm2(resp, bs);
		OCSP_BASICRESP_free(bs);
		write_file("resp.der", r2, l2);
		openssl_ocsp_check(a, "-sha256", "leaf0.pem", "good");
	}
	free(r1);
	free(r2);
	OPENSSL_free(req);

	req = api_request(issuing, &leaf[1], 1, EVP_sha256(), 0, &len, NULL);
	r1 = answer(c, req, len, &l1, &info);
	assert_true(info.presigned);
	assert_int_equal(atomic_load(&cnt.n), 3 * NH);
	bs = basic_of(r1, l1);
	expect_one_certid(bs, issuing, leaf[1], EVP_sha256(),
	    V_OCSP_CERTSTATUS_GOOD, -1, 0);
	OCSP_BASICRESP_free(bs);
	free(r1);
	OPENSSL_free(req);

	/* With a nonce: signed live, nonce echoed. */
	req = api_request(issuing, leaf, 1, EVP_sha1(), 16, &len, &oreq);
	r1 = answer(c, req, len, &l1, &info);
	assert_true(info.live);
	assert_int_equal(atomic_load(&cnt.n), 3 * NH + 1);
	bs = basic_of(r1, l1);
	assert_int_equal(OCSP_check_nonce(oreq, bs), 1);
	our_verify(resp, bs);
	expect_status(bs, issuing, leaf[0], EVP_sha1(), V_OCSP_CERTSTATUS_GOOD,
	    -1, 0);
	OCSP_BASICRESP_free(bs);
	free(r1);
	OCSP_REQUEST_free(oreq);
	OPENSSL_free(req);

	/* Several CertIDs: one live signature covering all. */
	req = api_request(issuing, leaf, 3, EVP_sha1(), 0, &len, NULL);
	r1 = answer(c, req, len, &l1, &info);
	assert_true(info.live);
	assert_int_equal(atomic_load(&cnt.n), 3 * NH + 2);
	bs = basic_of(r1, l1);
	for (int i = 0; i < 3; i++)
		expect_status(bs, issuing, leaf[i], EVP_sha1(),
		    V_OCSP_CERTSTATUS_GOOD, -1, 0);
	OCSP_BASICRESP_free(bs);
	free(r1);
	OPENSSL_free(req);

	/* A serial this CA never issued: unknown, signed live. */
	{
		OCSP_REQUEST *q = OCSP_REQUEST_new();
		OCSP_CERTID *id = id_for_serial(issuing, EVP_sha1(),
		    "7E57AB1E7E57AB1E7E57AB1E7E57AB1E");
		unsigned char *d = NULL;
		int dl;

		assert_non_null(OCSP_request_add0_id(q, OCSP_CERTID_dup(id)));
		dl = i2d_OCSP_REQUEST(q, &d);
		r1 = answer(c, d, (size_t)dl, &l1, &info);
		assert_true(info.live);
		assert_true(info.next_update <= time(NULL) + 60);
		assert_int_equal(atomic_load(&cnt.n), 3 * NH + 3);
		bs = basic_of(r1, l1);
		expect_status_id(bs, id, V_OCSP_CERTSTATUS_UNKNOWN, -1, 0);
		OCSP_BASICRESP_free(bs);
		free(r1);
		OPENSSL_free(d);
		OCSP_CERTID_free(id);
		OCSP_REQUEST_free(q);
	}

	/* Another CA's CertID (the issuing CA asked about under the root):
	 * unauthorized; garbage: malformedRequest; nothing signed. */
	req = api_request(root, &issuing, 1, EVP_sha1(), 0, &len, NULL);
	expect_error_answer(c, req, len, OC_OCSP_UNAUTHORIZED);
	expect_error_answer(c, (const unsigned char *)"hello", 5,
	    OC_OCSP_MALFORMED);
	expect_error_answer(c, req, len - 1, OC_OCSP_MALFORMED);
	expect_error_answer(c, NULL, 0, OC_OCSP_MALFORMED);
	{
		/* Over 64 KiB: refused before parsing. */
		unsigned char *big = calloc(1, OC_OCSP_REQ_MAX + 1);

		assert_non_null(big);
		big[0] = 0x30;
		expect_error_answer(c, big, OC_OCSP_REQ_MAX + 1,
		    OC_OCSP_MALFORMED);
		free(big);
	}
	OPENSSL_free(req);
	assert_int_equal(atomic_load(&cnt.n), 3 * NH + 3);

	/* Revoke leaf[1] at the CA; after a refresh the pre-signed answer
	 * says revoked, with the reason and the time. */
	serial_of(leaf[1], hex);
	before = time(NULL);
	assert_int_equal(oc_ca_revoke(ca, &op, hex, 1, &err), 0);
	n0 = atomic_load(&cnt.n);
	assert_int_equal(oc_ocsp_cache_refresh(c, &err), 0);
	assert_int_equal(atomic_load(&cnt.n), n0 + NH);
	req = api_request(issuing, &leaf[1], 1, EVP_sha1(), 0, &len, NULL);
	r1 = answer(c, req, len, &l1, &info);
	assert_true(info.presigned);
	bs = basic_of(r1, l1);
	our_verify(resp, bs);
	/* Revoked, with the reason and the time. */
	{
		ASN1_GENERALIZEDTIME *rev = NULL;
		OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), leaf[1], issuing);
		time_t rt;
		struct tm tm;

		assert_int_equal(OCSP_resp_find_status(bs, id, NULL, NULL, &rev,
		    NULL, NULL), 1);
		assert_true(ASN1_TIME_to_tm(rev, &tm));
		rt = timegm(&tm);
		expect_one_certid(bs, issuing, leaf[1], EVP_sha1(),
		    V_OCSP_CERTSTATUS_REVOKED, 1, rt);
		OCSP_CERTID_free(id);
	}
	{
		ASN1_GENERALIZEDTIME *rev = NULL;
		OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), leaf[1], issuing);
		int s1 = -1, rs = -1;

		assert_int_equal(OCSP_resp_find_status(bs, id, &s1, &rs, &rev,
		    NULL, NULL), 1);
		assert_int_equal(s1, V_OCSP_CERTSTATUS_REVOKED);
		assert_int_equal(rs, 1);
		assert_true(ASN1_TIME_cmp_time_t(rev, before - 1) >= 0);
		assert_true(ASN1_TIME_cmp_time_t(rev, time(NULL)) <= 0);
		OCSP_CERTID_free(id);
	}
	OCSP_BASICRESP_free(bs);
	write_file("resp.der", r1, l1);
	{
		const char *out = openssl_ocsp_check(a, "", "leaf1.pem",
		    "revoked");

		expect_in(out, "Reason: keyCompromise", "openssl ocsp");
		free(r1);
		OPENSSL_free(req);
		/* The SHA-256 one was re-signed by the same refresh. */
		req = api_request(issuing, &leaf[1], 1, EVP_sha256(), 0, &len,
		    NULL);
		r1 = answer(c, req, len, &l1, &info);
		assert_true(info.presigned);
		assert_int_equal(atomic_load(&cnt.n), n0 + NH);
		write_file("resp.der", r1, l1);
		out = openssl_ocsp_check(a, "-sha256", "leaf1.pem", "revoked");
		expect_in(out, "Reason: keyCompromise", "openssl ocsp -sha256");
	}
	free(r1);
	OPENSSL_free(req);

	/* The signer goes away and leaf[2] is revoked: the refresh fails,
	 * but the stale `good` is not served — the answer is signed live,
	 * which fails: internalError.  Once the signer is back, revoked. */
	serial_of(leaf[2], hex);
	assert_int_equal(oc_ca_revoke(ca, &op, hex, 4, &err), 0);  /* superseded */
	atomic_store(&cnt.fail, true);
	assert_int_not_equal(oc_ocsp_cache_refresh(c, &err), 0);
	req = api_request(issuing, &leaf[2], 1, EVP_sha1(), 0, &len, NULL);
	expect_error_answer(c, req, len, OC_OCSP_INTERNAL_ERROR);
	/* leaf[0] is unchanged: still served pre-signed. */
	{
		unsigned char *q0;
		size_t ql;

		q0 = api_request(issuing, leaf, 1, EVP_sha1(), 0, &ql, NULL);
		r1 = answer(c, q0, ql, &l1, &info);
		assert_true(info.presigned);
		free(r1);
		OPENSSL_free(q0);
	}
	atomic_store(&cnt.fail, false);
	r1 = answer(c, req, len, &l1, &info);
	assert_true(info.live);
	bs = basic_of(r1, l1);
	{
		OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), leaf[2], issuing);
		int s1 = -1, rs = -1;

		assert_int_equal(OCSP_resp_find_status(bs, id, &s1, &rs, NULL,
		    NULL, NULL), 1);
		assert_int_equal(s1, V_OCSP_CERTSTATUS_REVOKED);
		assert_int_equal(rs, 4);
		OCSP_CERTID_free(id);
	}
	OCSP_BASICRESP_free(bs);
	free(r1);
	assert_int_equal(oc_ocsp_cache_refresh(c, &err), 0);
	r1 = answer(c, req, len, &l1, &info);
	assert_true(info.presigned);
	free(r1);
	OPENSSL_free(req);

	oc_ocsp_cache_get_stats(c, &st);
	assert_true(st.hits >= 5);
	assert_int_equal(st.live_signs, 4);
	assert_int_equal(st.malformed, 4);
	assert_int_equal(st.unauthorized, 1);
	assert_int_equal(st.unknown, 1);
	assert_int_equal(st.internal_errors, 1);
	assert_int_equal(st.try_later, 1);
	assert_int_equal(st.refresh_errors, 1);
	{
		struct oc_buf b;
		const char *lab = oc_algo_name(a);

		oc_buf_init(&b, 1 << 16);
		assert_int_equal(oc_ocsp_cache_metrics(&c, &lab, 1, &b), 0);
		assert_non_null(strstr((char *)b.p,
		    "# TYPE onecert_ocsp_live_signs_total counter\n"));
		assert_non_null(strstr((char *)b.p,
		    "onecert_ocsp_malformed_total{ca=\""));
		assert_non_null(strstr((char *)b.p,
		    "onecert_ocsp_cached_certificates{ca=\""));
		oc_buf_cleanup(&b);
	}
	oc_ocsp_cache_free(c);
	oc_signer_free(cs);
	for (int i = 0; i < 3; i++)
		X509_free(leaf[i]);
	oc_ca_close(ca);
	tmp_remove();
}

static void test_cache_ec(void **s) { (void)s; cache_flow(OC_ALGO_EC); }
static void test_cache_sm2(void **s) { (void)s; cache_flow(OC_ALGO_SM2); }

/* The background thread picks up a revocation within
 * revocation_interval, without anyone calling refresh. */
static void
test_cache_background(void **state)
{
	struct oc_ca *ca;
	struct oc_ocsp_cache *c;
	struct oc_ocsp_cache_opts o;
	struct oc_err err;
	X509 *leaf, *issuing;
	unsigned char *req, *r;
	size_t len, rl;
	char hex[43];
	time_t t0;
	bool seen = false;

	(void)state;
	ca = ca_make(OC_ALGO_EC, "bg");
	issuing = oc_ca_get0_issuing(ca);
	leaf = ca_issue_one(ca, OC_ALGO_EC);
	snprintf(ca_db_uri, sizeof(ca_db_uri), "%s", path("ca/ca.db"));
	memset(&o, 0, sizeof(o));
	o.validity = 60;
	o.refresh_before = 30;
	o.revocation_interval = 1;
	c = oc_ocsp_cache_new(ca_db_uri, issuing, oc_ca_get0_ocsp(ca),
	    oc_ca_signer(ca, "ocsp"), &o, &err);
	assert_non_null(c);
	/* Started without a refresh: the thread does the first one. */
	assert_int_equal(oc_ocsp_cache_start(c, &err), 0);
	assert_int_equal(oc_ocsp_cache_start(c, &err), 0);   /* idempotent */
	req = api_request(issuing, &leaf, 1, EVP_sha1(), 0, &len, NULL);
	for (int i = 0; i < 100; i++) {
		struct oc_ocsp_answer info;

		r = answer(c, req, len, &rl, &info);
		free(r);
		if (info.status == OC_OCSP_SUCCESSFUL)
			break;
		usleep(50 * 1000);
	}
	serial_of(leaf, hex);
	assert_int_equal(oc_ca_revoke(ca, &op, hex, 1, &err), 0);
	t0 = time(NULL);
	while (time(NULL) - t0 < 6) {
		OCSP_BASICRESP *bs;
		OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), leaf, issuing);
		int s1 = -1;

		r = answer(c, req, len, &rl, NULL);
		bs = basic_of(r, rl);
		assert_int_equal(OCSP_resp_find_status(bs, id, &s1, NULL, NULL,
		    NULL, NULL), 1);
		OCSP_BASICRESP_free(bs);
		OCSP_CERTID_free(id);
		free(r);
		if (s1 == V_OCSP_CERTSTATUS_REVOKED) {
			seen = true;
			break;
		}
		usleep(100 * 1000);
	}
	assert_true(seen);
	assert_true(time(NULL) - t0 <= 3);
	/* Kick: a new certificate is known at once, not after a poll. */
	{
		X509 *l2 = ca_issue_one(ca, OC_ALGO_EC);
		unsigned char *q2;
		size_t ql;
		struct oc_ocsp_answer info;

		oc_ocsp_cache_kick(c);
		q2 = api_request(issuing, &l2, 1, EVP_sha1(), 0, &ql, NULL);
		for (int i = 0; i < 40; i++) {
			r = answer(c, q2, ql, &rl, &info);
			free(r);
			if (info.presigned)
				break;
			usleep(50 * 1000);
		}
		assert_true(info.presigned);
		OPENSSL_free(q2);
		X509_free(l2);
	}
	oc_ocsp_cache_stop(c);
	oc_ocsp_cache_stop(c);
	OPENSSL_free(req);
	oc_ocsp_cache_free(c);
	X509_free(leaf);
	oc_ca_close(ca);
	tmp_remove();
}

/* Near expiry: re-signed once less than refresh_before is left; past its
 * nextUpdate a response is never served, and a status older than the
 * validity is not vouched for (tryLater). */
static void
test_cache_expiry(void **state)
{
	struct oc_ca *ca;
	struct counting cnt;
	struct oc_signer *cs;
	struct oc_ocsp_cache *c;
	struct oc_ocsp_answer info;
	struct oc_err err;
	X509 *leaf, *issuing;
	unsigned char *req, *r, *r_old;
	size_t len, rl, rl_old;
	time_t t = time(NULL);

	(void)state;
	ca = ca_make(OC_ALGO_EC, "exp");
	issuing = oc_ca_get0_issuing(ca);
	leaf = ca_issue_one(ca, OC_ALGO_EC);
	snprintf(ca_db_uri, sizeof(ca_db_uri), "%s", path("ca/ca.db"));
	cs = counting_new(&cnt, oc_ca_signer(ca, "ocsp"));
	c = fake_clock_cache(ca, cs, t);
	assert_int_equal(oc_ocsp_cache_refresh(c, &err), 0);
	assert_int_equal(atomic_load(&cnt.n), NH);
	req = api_request(issuing, &leaf, 1, EVP_sha1(), 0, &len, NULL);
	r_old = answer(c, req, len, &rl_old, &info);
	assert_true(info.presigned);
	assert_int_equal(info.next_update, t + 3600);

	atomic_store(&fake_now, (long)(t + 1000));      /* 2600 s left */
	assert_int_equal(oc_ocsp_cache_refresh(c, &err), 0);
	assert_int_equal(atomic_load(&cnt.n), NH);
	atomic_store(&fake_now, (long)(t + 1801));      /* 1799 s left */
	assert_int_equal(oc_ocsp_cache_refresh(c, &err), 0);
	assert_int_equal(atomic_load(&cnt.n), 2 * NH);
	r = answer(c, req, len, &rl, &info);
	assert_true(info.presigned);
	assert_int_equal(info.next_update, t + 1801 + 3600);
	assert_false(rl == rl_old && memcmp(r, r_old, rl) == 0);
	free(r);
	free(r_old);

	/* No refresh for longer than the validity (store down): the
	 * pre-signed response has expired and the status is too old. */
	atomic_store(&fake_now, (long)(t + 1801 + 3601));
	expect_error_answer(c, req, len, OC_OCSP_TRY_LATER);
	assert_int_equal(atomic_load(&cnt.n), 2 * NH);
	OPENSSL_free(req);
	oc_ocsp_cache_free(c);
	oc_signer_free(cs);
	X509_free(leaf);
	oc_ca_close(ca);
	tmp_remove();
}


/* A request (SHA-1 CertID, no nonce) for serial hex of issuer's. */
static unsigned char *
serial_request(X509 *issuer, const char *hex, size_t *len)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	BIGNUM *bn = NULL;
	ASN1_INTEGER *ai;
	OCSP_CERTID *id;
	unsigned char *der = NULL;
	int l;

	assert_non_null(req);
	assert_true(BN_hex2bn(&bn, hex) > 0);
	assert_non_null(ai = BN_to_ASN1_INTEGER(bn, NULL));
	id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(issuer),
	    X509_get0_pubkey_bitstr(issuer), ai);
	assert_non_null(id);
	assert_non_null(OCSP_request_add0_id(req, id));
	l = i2d_OCSP_REQUEST(req, &der);
	assert_true(l > 0);
	*len = (size_t)l;
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	OCSP_REQUEST_free(req);
	return der;
}

/* The certStatus of the i-th SingleResponse. */
static int
single_status(OCSP_BASICRESP *bs, int i)
{
	OCSP_SINGLERESP *sr = OCSP_resp_get0(bs, i);

	assert_non_null(sr);
	return OCSP_single_get0_status(sr, NULL, NULL, NULL, NULL);
}

/* Insert n certificate rows of the issuing CA, serials 7A000000 + first…
 * (only the serial and the status matter to the cache). */
static void
fake_certs(struct oc_store *st, int first, int n)
{
	static unsigned char der[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	struct oc_cert_rec r;

	for (int i = first; i < first + n; i++) {
		memset(&r, 0, sizeof(r));
		snprintf(r.serial, sizeof(r.serial), "%08X", 0x7A000000 + i);
		strcpy(r.ca, "issuing");
		strcpy(r.profile, "enterprise");
		strcpy(r.subject_cn, "某公司");
		r.not_before = 1000;
		r.not_after = 2000000000;
		r.der = der;
		r.der_len = sizeof(der);
		assert_int_equal(oc_store_cert_insert(st, &r, NULL), 0);
	}
}

static uint64_t
presigns_of(struct oc_ocsp_cache *c)
{
	struct oc_ocsp_cache_stats st;

	oc_ocsp_cache_get_stats(c, &st);
	return st.presigns;
}

/* A refresh reads what changed, not the whole CA: with many certificates
 * only the new and the revoked ones are signed, a revocation made through
 * another handle on the database (another process: `onecert ca revoke`)
 * is served at the next refresh, responses near their nextUpdate are
 * re-signed — only those — without reading the store, a failed signing
 * leaves a revoked certificate answered live until it can be re-signed,
 * and a database whose change number went back is read whole again. */
static void
test_cache_incremental(void **state)
{
	struct oc_ca *ca;
	struct counting cnt;
	struct oc_signer *cs;
	struct oc_ocsp_cache *c;
	struct oc_ocsp_cache_stats st;
	struct oc_ocsp_answer info;
	struct oc_store *other;
	struct oc_err err;
	X509 *issuing;
	unsigned char *req, *req2, *r;
	size_t len, len2, rl;
	OCSP_BASICRESP *bs;
	time_t t = time(NULL);
	char hex[43];
	enum { N1 = 300, N2 = 40 };

	(void)state;
	ca = ca_make(OC_ALGO_EC, "incr");
	issuing = oc_ca_get0_issuing(ca);
	snprintf(ca_db_uri, sizeof(ca_db_uri), "%s", path("ca/ca.db"));
	other = oc_store_open(ca_db_uri, &err);
	assert_non_null(other);
	fake_certs(other, 0, N1);
	cs = counting_new(&cnt, oc_ca_signer(ca, "ocsp"));
	c = fake_clock_cache(ca, cs, t);   /* refresh_before 1800 */

	/* Start: everything. */
	assert_int_equal(oc_ocsp_cache_refresh(c, &err), 0);
	assert_int_equal(presigns_of(c), N1);
	assert_int_equal(oc_ocsp_cache_refresh(c, &err), 0);
	assert_int_equal(presigns_of(c), N1);

	/* Later, N2 more: only they are signed. */
	atomic_store(&fake_now, (long)(t + 1000));
	fake_certs(other, N1, N2);
	assert_int_equal(oc_ocsp_cache_refresh(c, &err), 0);
	assert_int_equal(presigns_of(c), N1 + N2);
	oc_ocsp_cache_get_stats(c, &st);
	assert_int_equal(st.entries, N1 + N2);

	/* Revoked through another handle: that one alone, and served. */
	assert_int_equal(oc_store_cert_revoke(other, "7A000007", t + 1000, 1,
	    "cli:root", NULL), 0);
	req = serial_request(issuing, "7A000007", &len);
	r = answer(c, req, len, &rl, &info);
	assert_true(info.presigned);
	bs = basic_of(r, rl);
	assert_int_equal(single_status(bs, 0), V_OCSP_CERTSTATUS_GOOD);
	OCSP_BASICRESP_free(bs);
	free(r);
	assert_int_equal(oc_ocsp_cache_refresh(c, &err), 0);
	assert_int_equal(presigns_of(c), N1 + N2 + 1);
	r = answer(c, req, len, &rl, &info);
	assert_true(info.presigned);
	bs = basic_of(r, rl);
	assert_int_equal(single_status(bs, 0), V_OCSP_CERTSTATUS_REVOKED);
	OCSP_BASICRESP_free(bs);
	free(r);

	/* 1799 s left for the first N1 − 1 (the revoked one was re-signed
	 * at t + 1000 like the N2): exactly those are re-signed. */
	atomic_store(&fake_now, (long)(t + 1801));
	assert_int_equal(oc_ocsp_cache_refresh(c, &err), 0);
	assert_int_equal(presigns_of(c), N1 + N2 + 1 + N1 - 1);
	req2 = serial_request(issuing, "7A000000", &len2);
	r = answer(c, req2, len2, &rl, &info);
	assert_true(info.presigned);
	assert_int_equal(info.next_update, t + 1801 + 3600);
	free(r);
	assert_int_equal(oc_ocsp_cache_refresh(c, &err), 0);
	assert_int_equal(presigns_of(c), N1 + N2 + N1);
	/* … and then the others. */
	atomic_store(&fake_now, (long)(t + 2801));
	assert_int_equal(oc_ocsp_cache_refresh(c, &err), 0);
	assert_int_equal(presigns_of(c), N1 + N2 + N1 + N2 + 1);

	/* The signer fails while a certificate is revoked: its status is
	 * recorded without a response (answered live, here internalError
	 * as the live signature fails too), never the stale `good`; once
	 * the signer is back the next refresh signs it, nothing else. */
	snprintf(hex, sizeof(hex), "%08X", 0x7A000000 + N1 + 3);
	assert_int_equal(oc_store_cert_revoke(other, hex, t + 2801, 4,
	    "cli:root", NULL), 0);
	atomic_store(&cnt.fail, true);
	assert_int_not_equal(oc_ocsp_cache_refresh(c, &err), 0);
	OPENSSL_free(req2);
	req2 = serial_request(issuing, hex, &len2);
	expect_error_answer(c, req2, len2, OC_OCSP_INTERNAL_ERROR);
	atomic_store(&cnt.fail, false);
	r = answer(c, req2, len2, &rl, &info);
	assert_true(info.live);
	bs = basic_of(r, rl);
	assert_int_equal(single_status(bs, 0), V_OCSP_CERTSTATUS_REVOKED);
	OCSP_BASICRESP_free(bs);
	free(r);
	{
		uint64_t p0 = presigns_of(c);

		assert_int_equal(oc_ocsp_cache_refresh(c, &err), 0);
		assert_int_equal(presigns_of(c), p0 + 1);
	}
	r = answer(c, req2, len2, &rl, &info);
	assert_true(info.presigned);
	bs = basic_of(r, rl);
	assert_int_equal(single_status(bs, 0), V_OCSP_CERTSTATUS_REVOKED);
	OCSP_BASICRESP_free(bs);
	free(r);

	/* Another database under the same path (a backup restored: the
	 * change number went back): read whole, and a serial it lacks is
	 * forgotten; nothing unchanged is re-signed. */
	oc_store_close(other);
	{
		sqlite3 *db;
		uint64_t p0 = presigns_of(c);

		assert_int_equal(sqlite3_open(path("ca/ca.db"), &db), SQLITE_OK);
		sqlite3_busy_timeout(db, 5000);
		assert_int_equal(sqlite3_exec(db, "DELETE FROM certificates"
		    " WHERE serial = '7A000001'; UPDATE counters SET value = 1"
		    " WHERE name = 'cert_change'", NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
		assert_int_equal(oc_ocsp_cache_refresh(c, &err), 0);
		oc_ocsp_cache_get_stats(c, &st);
		assert_int_equal(st.entries, N1 + N2 - 1);
		assert_int_equal(presigns_of(c), p0);
	}
	OPENSSL_free(req);
	OPENSSL_free(req2);
	oc_ocsp_cache_free(c);
	oc_signer_free(cs);
	oc_ca_close(ca);
	tmp_remove();
}

/* The responses signed together fall due together (all of them at
 * start-up): a refresh re-signs only a share of them, earliest nextUpdate
 * first, so that no refresh — and no revocation waiting behind it — takes
 * the time of re-signing the whole CA, yet every response is re-signed
 * with at least refresh_before / 2 left.  A revocation made meanwhile is
 * signed by the next refresh, whatever is still due. */
static void
test_cache_spread(void **state)
{
	struct oc_ca *ca;
	struct counting cnt;
	struct oc_signer *cs;
	struct oc_ocsp_cache *c;
	struct oc_ocsp_answer info;
	struct oc_store *other;
	struct oc_err err;
	X509 *issuing;
	unsigned char *req[3], *r;
	size_t len[3], rl;
	OCSP_BASICRESP *bs;
	time_t t = time(NULL), now;
	uint64_t p0, p;
	/* ceil(N × revocation_interval / (refresh_before / 2)) */
	enum { N = 120, SHARE = (N * 60 + 899) / 900 };
	const char *hex[3] = { "7A000000", "7A00003B", "7A000077" };

	(void)state;
	ca = ca_make(OC_ALGO_EC, "spread");
	issuing = oc_ca_get0_issuing(ca);
	snprintf(ca_db_uri, sizeof(ca_db_uri), "%s", path("ca/ca.db"));
	other = oc_store_open(ca_db_uri, &err);
	assert_non_null(other);
	fake_certs(other, 0, N);
	cs = counting_new(&cnt, oc_ca_signer(ca, "ocsp"));
	c = fake_clock_cache(ca, cs, t);   /* 3600 s, refresh_before 1800 */
	for (int i = 0; i < 3; i++)
		req[i] = serial_request(issuing, hex[i], &len[i]);

	/* Start: every certificate is new, all signed at once. */
	assert_int_equal(oc_ocsp_cache_refresh(c, &err), 0);
	assert_int_equal(presigns_of(c), N);
	/* A refresh every revocation_interval (60 s): nothing until 1800 s
	 * are left, then at most SHARE per refresh, until all are done —
	 * each response served pre-signed, never with less than 900 s left
	 * (refresh_before / 2), minus the one interval to the next refresh. */
	p0 = N;
	for (now = t + 60; now <= t + 3000; now += 60) {
		atomic_store(&fake_now, (long)now);
		assert_int_equal(oc_ocsp_cache_refresh(c, &err), 0);
		p = presigns_of(c);
		if (now < t + 1800)
			assert_int_equal(p, p0);
		else
			assert_true(p - p0 <= SHARE + (now == t + 1920));
		if (now == t + 1800) {
			assert_true(p > p0);
			/* Refreshes kicked within the same second (RA API
			 * writes): a share for the time since the previous
			 * one began — none — not another interval's each. */
			for (int k = 0; k < 5; k++)
				assert_int_equal(oc_ocsp_cache_refresh(c, &err), 0);
			assert_int_equal(presigns_of(c), p);
		}
		/* A revocation while the re-signing is under way: signed by
		 * the next refresh, besides its share. */
		if (now == t + 1860)
			assert_int_equal(oc_store_cert_revoke(other, hex[2], now, 1,
			    "cli:root", NULL), 0);
		if (now == t + 1920) {
			r = answer(c, req[2], len[2], &rl, &info);
			assert_true(info.presigned);
			bs = basic_of(r, rl);
			assert_int_equal(single_status(bs, 0),
			    V_OCSP_CERTSTATUS_REVOKED);
			OCSP_BASICRESP_free(bs);
			free(r);
		}
		p0 = p;
		for (int i = 0; i < 3; i++) {
			r = answer(c, req[i], len[i], &rl, &info);
			assert_true(info.presigned);
			assert_true(info.next_update - now > 900 - 60);
			free(r);
		}
	}
	/* All re-signed once (the revoked one by its revocation), nothing
	 * more. */
	assert_int_equal(presigns_of(c), 2 * N);
	for (int i = 0; i < 3; i++)
		OPENSSL_free(req[i]);
	oc_store_close(other);
	oc_ocsp_cache_free(c);
	oc_signer_free(cs);
	oc_ca_close(ca);
	tmp_remove();
}

/* Insert a certificate row of the issuing CA with serial hex, expiring at
 * not_after. */
static void
fake_cert_until(struct oc_store *st, const char *hex, time_t not_after)
{
	static unsigned char der[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	struct oc_cert_rec r;

	memset(&r, 0, sizeof(r));
	snprintf(r.serial, sizeof(r.serial), "%s", hex);
	strcpy(r.ca, "issuing");
	strcpy(r.profile, "enterprise");
	strcpy(r.subject_cn, "某公司");
	r.not_before = 1000;
	r.not_after = not_after;
	r.der = der;
	r.der_len = sizeof(der);
	assert_int_equal(oc_store_cert_insert(st, &r, NULL), 0);
}

/* A certificate expired for longer than expired_grace is no longer
 * pre-signed — not at start-up, not by the refreshes — and is answered
 * live with its status (a revoked one stays revoked); one that expires
 * while cached stops being re-signed once the grace is over. */
static void
test_cache_expired(void **state)
{
	struct oc_ca *ca;
	struct counting cnt;
	struct oc_signer *cs;
	struct oc_ocsp_cache *c;
	struct oc_ocsp_cache_opts o;
	struct oc_ocsp_cache_stats st;
	struct oc_ocsp_answer info;
	struct oc_store *other;
	struct oc_err err;
	X509 *issuing;
	unsigned char *req[4], *r;
	size_t len[4], rl;
	OCSP_BASICRESP *bs;
	time_t t = time(NULL);
	/* long expired; long expired and revoked; expiring in 1000 s; valid */
	const char *hex[4] = { "7B000001", "7B000002", "7B000003", "7B000004" };
	const int want[4] = { V_OCSP_CERTSTATUS_GOOD, V_OCSP_CERTSTATUS_REVOKED,
	    V_OCSP_CERTSTATUS_GOOD, V_OCSP_CERTSTATUS_GOOD };

	(void)state;
	ca = ca_make(OC_ALGO_EC, "expired");
	issuing = oc_ca_get0_issuing(ca);
	snprintf(ca_db_uri, sizeof(ca_db_uri), "%s", path("ca/ca.db"));
	other = oc_store_open(ca_db_uri, &err);
	assert_non_null(other);
	fake_cert_until(other, hex[0], t - 2 * 86400);
	fake_cert_until(other, hex[1], t - 2 * 86400);
	assert_int_equal(oc_store_cert_revoke(other, hex[1], t - 3 * 86400, 1,
	    "cli:root", NULL), 0);
	fake_cert_until(other, hex[2], t + 1000);
	fake_cert_until(other, hex[3], t + 400 * 86400);
	cs = counting_new(&cnt, oc_ca_signer(ca, "ocsp"));
	memset(&o, 0, sizeof(o));
	o.validity = 3600;
	o.expired_grace = 86400;
	o.clock = fake_clock;
	atomic_store(&fake_now, (long)t);
	c = oc_ocsp_cache_new(ca_db_uri, issuing, oc_ca_get0_ocsp(ca), cs, &o,
	    &err);
	assert_non_null(c);
	for (int i = 0; i < 4; i++)
		req[i] = serial_request(issuing, hex[i], &len[i]);

	/* Start: the two long expired are known, not signed. */
	assert_int_equal(oc_ocsp_cache_refresh(c, &err), 0);
	assert_int_equal(presigns_of(c), 2);
	oc_ocsp_cache_get_stats(c, &st);
	assert_int_equal(st.entries, 4);
	for (int i = 0; i < 4; i++) {
		r = answer(c, req[i], len[i], &rl, &info);
		assert_true(i < 2 ? info.live : info.presigned);
		bs = basic_of(r, rl);
		assert_int_equal(single_status(bs, 0), want[i]);
		OCSP_BASICRESP_free(bs);
		free(r);
	}

	/* Within the grace, the one that expired is still re-signed … */
	atomic_store(&fake_now, (long)(t + 1801));
	assert_int_equal(oc_ocsp_cache_refresh(c, &err), 0);
	assert_int_equal(presigns_of(c), 4);
	/* … after it, no longer: only the valid one, and the expired one is
	 * answered live. */
	atomic_store(&fake_now, (long)(t + 1000 + 86400 + 1));
	assert_int_equal(oc_ocsp_cache_refresh(c, &err), 0);
	assert_int_equal(presigns_of(c), 5);
	for (int i = 0; i < 4; i++) {
		r = answer(c, req[i], len[i], &rl, &info);
		assert_true(i < 3 ? info.live : info.presigned);
		bs = basic_of(r, rl);
		assert_int_equal(single_status(bs, 0), want[i]);
		OCSP_BASICRESP_free(bs);
		free(r);
	}
	/* A revocation of a retired certificate is still seen (live). */
	assert_int_equal(oc_store_cert_revoke(other, hex[2], t + 87500, 1,
	    "cli:root", NULL), 0);
	assert_int_equal(oc_ocsp_cache_refresh(c, &err), 0);
	assert_int_equal(presigns_of(c), 5);
	r = answer(c, req[2], len[2], &rl, &info);
	assert_true(info.live);
	bs = basic_of(r, rl);
	assert_int_equal(single_status(bs, 0), V_OCSP_CERTSTATUS_REVOKED);
	OCSP_BASICRESP_free(bs);
	free(r);

	for (int i = 0; i < 4; i++)
		OPENSSL_free(req[i]);
	oc_store_close(other);
	oc_ocsp_cache_free(c);
	oc_signer_free(cs);
	oc_ca_close(ca);
	tmp_remove();
}

/* A row without a change number (chg 0, the column's default: what an
 * INSERT typed into the sqlite3 shell, or an import by another tool,
 * leaves) is read by the full listing at start: the certificate is
 * answered as issued, not `unknown`. */
static void
test_cache_unnumbered(void **state)
{
	struct oc_ca *ca;
	struct oc_ocsp_cache *c;
	struct oc_ocsp_answer info;
	struct oc_store *other;
	struct oc_err err;
	sqlite3 *db;
	unsigned char *req, *r;
	size_t len, rl;
	OCSP_BASICRESP *bs;

	(void)state;
	ca = ca_make(OC_ALGO_EC, "unnum");
	other = oc_store_open(path("ca/ca.db"), &err);
	assert_non_null(other);
	fake_certs(other, 0, 3);
	oc_store_close(other);
	assert_int_equal(sqlite3_open(path("ca/ca.db"), &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_exec(db, "UPDATE certificates SET chg = 0"
	    " WHERE serial = '7A000001'", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	c = fake_clock_cache(ca, oc_ca_signer(ca, "ocsp"), time(NULL));
	assert_int_equal(oc_ocsp_cache_refresh(c, &err), 0);
	req = serial_request(oc_ca_get0_issuing(ca), "7A000001", &len);
	r = answer(c, req, len, &rl, &info);
	assert_true(info.presigned);
	bs = basic_of(r, rl);
	assert_int_equal(single_status(bs, 0), V_OCSP_CERTSTATUS_GOOD);
	OCSP_BASICRESP_free(bs);
	free(r);
	OPENSSL_free(req);
	oc_ocsp_cache_free(c);
	oc_ca_close(ca);
	tmp_remove();
}

/* buf[0..*len) becomes SEQUENCE { buf } (short-form length). */
static void
wrap_seq(unsigned char *buf, size_t *len)
{
	assert_true(*len < 128);
	memmove(buf + 2, buf, *len);
	buf[0] = 0x30;
	buf[1] = (unsigned char)*len;
	*len += 2;
}

static bool
contains(const unsigned char *hay, size_t hl, const unsigned char *needle,
    size_t nl)
{
	for (size_t i = 0; i + nl <= hl; i++)
		if (memcmp(hay + i, needle, nl) == 0)
			return true;
	return false;
}

/* A SHA-256 CertID whose AlgorithmIdentifier has no parameters (as RFC
 * 5754 has SHA-2 identifiers written; OpenSSL writes NULL): not the CertID
 * of the pre-signed response, so answered live, with the CertID echoed as
 * it came; the usual encoding gets the pre-signed response. */
static void
test_cache_certid_encoding(void **state)
{
	static const unsigned char alg_null[] = { 0x30, 0x0d, 0x06, 0x09,
	    0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00 };
	struct oc_ca *ca;
	struct oc_ocsp_cache *c;
	struct oc_ocsp_answer info;
	struct oc_ocsp_certid id;
	struct oc_store *other;
	struct oc_err err;
	unsigned char req[256], cid[128], *r;
	const unsigned char *p;
	size_t len, cidlen, rl;
	OCSP_BASICRESP *bs;
	OCSP_CERTID *oid;
	X509 *issuing;
	int st = -1;

	(void)state;
	ca = ca_make(OC_ALGO_EC, "certid");
	issuing = oc_ca_get0_issuing(ca);
	other = oc_store_open(path("ca/ca.db"), &err);
	assert_non_null(other);
	fake_certs(other, 0, 2);
	oc_store_close(other);
	c = fake_clock_cache(ca, oc_ca_signer(ca, "ocsp"), time(NULL));
	assert_int_equal(oc_ocsp_cache_refresh(c, &err), 0);
	assert_int_equal(oc_ocsp_certid_make(issuing, OC_OCSP_HASH_SHA256,
	    "7A000001", &id, &err), 0);

	/* CertID with NULL parameters: the pre-signed response. */
	memcpy(req, id.der, id.der_len);
	len = id.der_len;
	for (int i = 0; i < 4; i++)     /* Request, list, TBS, OCSPRequest */
		wrap_seq(req, &len);
	r = answer(c, req, len, &rl, &info);
	assert_true(info.presigned);
	assert_true(contains(r, rl, id.der, id.der_len));
	free(r);

	/* The same without them: CertID { 30 0b 06 09 <sha256>, … }. */
	assert_true(id.der_len < 128 && id.der[0] == 0x30);
	assert_memory_equal(id.der + 2, alg_null, sizeof(alg_null));
	cid[0] = 0x30;
	cid[1] = (unsigned char)(id.der[1] - 2);
	cid[2] = 0x30;
	cid[3] = 0x0b;
	memcpy(cid + 4, alg_null + 2, sizeof(alg_null) - 4);
	memcpy(cid + 2 + sizeof(alg_null) - 2, id.der + 2 + sizeof(alg_null),
	    id.der_len - 2 - sizeof(alg_null));
	cidlen = id.der_len - 2;
	p = cid;
	assert_non_null(oid = d2i_OCSP_CERTID(NULL, &p, (long)cidlen));
	assert_true(p == cid + cidlen);
	memcpy(req, cid, cidlen);
	len = cidlen;
	for (int i = 0; i < 4; i++)
		wrap_seq(req, &len);
	r = answer(c, req, len, &rl, &info);
	assert_true(info.live);
	assert_true(contains(r, rl, cid, cidlen));
	assert_false(contains(r, rl, id.der, id.der_len));
	bs = basic_of(r, rl);
	assert_int_equal(OCSP_resp_find_status(bs, oid, &st, NULL, NULL,
	    NULL, NULL), 1);
	assert_int_equal(st, V_OCSP_CERTSTATUS_GOOD);
	OCSP_BASICRESP_free(bs);
	OCSP_CERTID_free(oid);
	free(r);
	oc_ocsp_cache_free(c);
	oc_ca_close(ca);
	tmp_remove();
}

/* Many readers while refreshes run (ASan/UBSan would see a use after
 * free or a race on the table's memory), each answered from a pre-signed
 * response every time: an entry's responses are replaced, never missing. */
struct reader_arg {
	struct oc_ocsp_cache *c;
	const unsigned char *req;
	size_t len;
	atomic_bool *stop;
	atomic_int ok;          /* pre-signed answers */
	atomic_int other;       /* anything else */
};

static void *
reader(void *p)
{
	struct reader_arg *a = p;

	while (!atomic_load(a->stop)) {
		unsigned char *r = NULL;
		size_t rl = 0;
		struct oc_ocsp_answer info;

		if (oc_ocsp_cache_answer_ex(a->c, a->req, a->len, &r, &rl,
		    &info) == 0 && info.presigned)
			atomic_fetch_add(&a->ok, 1);
		else
			atomic_fetch_add(&a->other, 1);
		free(r);
	}
	return NULL;
}

/* Until every reader has been answered again since this call.  Waiting
 * for progress, not for a time: on a loaded machine (a parallel ctest
 * right after a rebuild) a new thread may first run hundreds of
 * milliseconds after pthread_create, and a fixed sleep then ends before
 * some reader has asked once. */
static void
readers_progress(struct reader_arg *ra, int n)
{
	int base[8];

	assert_true(n <= 8);
	for (int i = 0; i < n; i++)
		base[i] = atomic_load(&ra[i].ok) + atomic_load(&ra[i].other);
	for (int i = 0; i < n; i++)
		while (atomic_load(&ra[i].ok) + atomic_load(&ra[i].other) ==
		    base[i])
			usleep(1000);
}

static void
test_cache_concurrent(void **state)
{
	struct oc_ca *ca;
	struct oc_ocsp_cache *c;
	struct oc_ocsp_cache_opts o;
	struct oc_err err;
	X509 *leaf[2], *issuing;
	unsigned char *req;
	size_t len;
	pthread_t th[4];
	struct reader_arg ra[4];
	atomic_bool stop;
	char hex[43];

	(void)state;
	ca = ca_make(OC_ALGO_EC, "conc");
	issuing = oc_ca_get0_issuing(ca);
	leaf[0] = ca_issue_one(ca, OC_ALGO_EC);
	leaf[1] = ca_issue_one(ca, OC_ALGO_EC);
	snprintf(ca_db_uri, sizeof(ca_db_uri), "%s", path("ca/ca.db"));
	memset(&o, 0, sizeof(o));
	c = oc_ocsp_cache_new(ca_db_uri, issuing, oc_ca_get0_ocsp(ca),
	    oc_ca_signer(ca, "ocsp"), &o, &err);
	assert_non_null(c);
	assert_int_equal(oc_ocsp_cache_refresh(c, &err), 0);
	req = api_request(issuing, leaf, 1, EVP_sha1(), 0, &len, NULL);
	atomic_init(&stop, false);
	for (int i = 0; i < 4; i++) {
		ra[i].c = c;
		ra[i].req = req;
		ra[i].len = len;
		ra[i].stop = &stop;
		atomic_init(&ra[i].ok, 0);
		atomic_init(&ra[i].other, 0);
		assert_int_equal(pthread_create(&th[i], NULL, reader, &ra[i]),
		    0);
	}
	/* Revocations and refreshes replace entries under the readers. */
	readers_progress(ra, 4);
	serial_of(leaf[0], hex);
	assert_int_equal(oc_ca_revoke(ca, &op, hex, 1, &err), 0);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(oc_ocsp_cache_refresh(c, &err), 0);
		readers_progress(ra, 4);
	}
	serial_of(leaf[1], hex);
	assert_int_equal(oc_ca_revoke(ca, &op, hex, 3, &err), 0);
	assert_int_equal(oc_ocsp_cache_refresh(c, &err), 0);
	readers_progress(ra, 4);
	atomic_store(&stop, true);
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_true(atomic_load(&ra[i].ok) > 0);
		assert_int_equal(atomic_load(&ra[i].other), 0);
	}
	OPENSSL_free(req);
	oc_ocsp_cache_free(c);
	X509_free(leaf[0]);
	X509_free(leaf[1]);
	oc_ca_close(ca);
	tmp_remove();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_api_ec),
		cmocka_unit_test(test_parse_api_rsa),
		cmocka_unit_test(test_parse_api_sm2),
		cmocka_unit_test(test_parse_cli),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_get_decode),
		cmocka_unit_test(test_error_responses),
		cmocka_unit_test(test_certid_from_hashes),
		cmocka_unit_test(test_build_ec),
		cmocka_unit_test(test_build_rsa),
		cmocka_unit_test(test_build_sm2),
		cmocka_unit_test(test_build_ca_signed),
		cmocka_unit_test(test_cache_ec),
		cmocka_unit_test(test_cache_sm2),
		cmocka_unit_test(test_cache_background),
		cmocka_unit_test(test_cache_expiry),
		cmocka_unit_test(test_cache_incremental),
		cmocka_unit_test(test_cache_unnumbered),
		cmocka_unit_test(test_cache_spread),
		cmocka_unit_test(test_cache_expired),
		cmocka_unit_test(test_cache_certid_encoding),
		cmocka_unit_test(test_cache_concurrent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
