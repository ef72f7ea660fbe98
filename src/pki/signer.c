/*
 * signer.c — the algorithm-independent half of signer.h: algorithm names
 * and AlgorithmIdentifiers, the oc_signer dispatch, verification of a
 * signature over to-be-signed bytes, and in-memory key generation.
 *
 * Hashing lives here and in the backends, never in the callers: EC and RSA
 * sign SHA-256(tbs), SM2 signs SM3(Z || tbs) where Z is computed from the
 * GM/T 0009 default ID.  OpenSSL 3.0 computes Z with an *empty* ID unless
 * one is set on the EVP_PKEY_CTX before the DigestSign/DigestVerify init,
 * so the context is created here and handed to EVP_MD_CTX_set_pkey_ctx
 * (sm2_md_ctx below).  That is the only way to get interoperable SM2
 * signatures out of 3.0.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "onecert/signer.h"
#include "internal.h"

const char *
oc_algo_name(enum oc_algo a)
{
	switch (a) {
	case OC_ALGO_EC:
		return "ec";
	case OC_ALGO_SM2:
		return "sm2";
	case OC_ALGO_RSA:
		return "rsa";
	default:
		return "none";
	}
}

int
oc_algo_parse(const char *s, enum oc_algo *out)
{
	if (s == NULL || out == NULL)
		return OC_EINVAL;
	if (strcasecmp(s, "ec") == 0 || strcasecmp(s, "ecdsa") == 0 ||
	    strcasecmp(s, "p256") == 0 || strcasecmp(s, "p-256") == 0)
		*out = OC_ALGO_EC;
	else if (strcasecmp(s, "sm2") == 0)
		*out = OC_ALGO_SM2;
	else if (strcasecmp(s, "rsa") == 0)
		*out = OC_ALGO_RSA;
	else
		return OC_EINVAL;
	return 0;
}

enum oc_algo
oc_algo_of_pkey(const EVP_PKEY *pkey)
{
	char group[64];
	size_t glen = 0;

	if (pkey == NULL)
		return OC_ALGO_NONE;
	if (EVP_PKEY_is_a(pkey, "RSA"))
		return OC_ALGO_RSA;
	if (!EVP_PKEY_is_a(pkey, "SM2") && !EVP_PKEY_is_a(pkey, "EC"))
		return OC_ALGO_NONE;
	if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), &glen) != 1) {
		ERR_clear_error();
		return OC_ALGO_NONE;
	}
	/* An "EC" key on the SM2 curve is still an SM2 key: keys built from
	 * raw parameters come out that way in 3.0. */
	if (strcmp(group, "SM2") == 0)
		return OC_ALGO_SM2;
	if (EVP_PKEY_is_a(pkey, "EC") && (strcmp(group, "prime256v1") == 0 ||
	    strcmp(group, "P-256") == 0 || strcmp(group, "secp256r1") == 0))
		return OC_ALGO_EC;
	return OC_ALGO_NONE;
}

static int
algo_sig_nid(enum oc_algo a)
{
	switch (a) {
	case OC_ALGO_EC:
		return NID_ecdsa_with_SHA256;
	case OC_ALGO_SM2:
		return NID_SM2_with_SM3;
	case OC_ALGO_RSA:
		return NID_sha256WithRSAEncryption;
	default:
		return NID_undef;
	}
}

X509_ALGOR *
oc_algo_sigalg_new(enum oc_algo a)
{
	X509_ALGOR *alg;
	int nid = algo_sig_nid(a);

	if (nid == NID_undef || (alg = X509_ALGOR_new()) == NULL)
		return NULL;
	/* RFC 5758 / GM/T 0015: ECDSA and SM2 have no parameters; RFC 4055:
	 * sha256WithRSAEncryption has NULL parameters. */
	if (!X509_ALGOR_set0(alg, OBJ_nid2obj(nid),
	    a == OC_ALGO_RSA ? V_ASN1_NULL : V_ASN1_UNDEF, NULL)) {
		X509_ALGOR_free(alg);
		return NULL;
	}
	return alg;
}

enum oc_algo
oc__sigalg_algo(const X509_ALGOR *alg)
{
	const ASN1_OBJECT *obj;
	const void *pval;
	int ptype;

	if (alg == NULL)
		return OC_ALGO_NONE;
	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	switch (OBJ_obj2nid(obj)) {
	case NID_ecdsa_with_SHA256:
		return ptype == V_ASN1_UNDEF ? OC_ALGO_EC : OC_ALGO_NONE;
	case NID_SM2_with_SM3:
		return ptype == V_ASN1_UNDEF ? OC_ALGO_SM2 : OC_ALGO_NONE;
	case NID_sha256WithRSAEncryption:
		return ptype == V_ASN1_NULL ? OC_ALGO_RSA : OC_ALGO_NONE;
	default:
		return OC_ALGO_NONE;
	}
}

ASN1_OCTET_STRING *
oc__sm2_distid_new(void)
{
	ASN1_OCTET_STRING *id;

	if ((id = ASN1_OCTET_STRING_new()) == NULL)
		return NULL;
	if (!ASN1_OCTET_STRING_set(id, (const unsigned char *)OC_SM2_DISTID,
	    OC_SM2_DISTID_LEN)) {
		ASN1_OCTET_STRING_free(id);
		return NULL;
	}
	return id;
}

EVP_PKEY *
oc__pkey_public_dup(EVP_PKEY *pkey)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	EVP_PKEY *pub = NULL;
	int n;

	if (pkey == NULL || (n = i2d_PUBKEY(pkey, &der)) <= 0)
		return NULL;
	p = der;
	pub = d2i_PUBKEY(NULL, &p, n);
	if (pub != NULL && p != der + n) {
		EVP_PKEY_free(pub);
		pub = NULL;
	}
	OPENSSL_free(der);
	return pub;
}

int
oc_signer_sign(struct oc_signer *s, const unsigned char *tbs, size_t tbslen,
    unsigned char **sig, size_t *siglen, struct oc_err *err)
{
	if (s == NULL || s->ops == NULL || s->ops->sign == NULL || sig == NULL ||
	    siglen == NULL || (tbs == NULL && tbslen > 0))
		return oc_err_set(err, OC_EINVAL, "签名参数无效 / bad signing "
		    "arguments");
	*sig = NULL;
	*siglen = 0;
	return s->ops->sign(s, tbs, tbslen, sig, siglen, err);
}

EVP_PKEY *
oc_signer_get0_pubkey(const struct oc_signer *s)
{
	return s == NULL ? NULL : s->pub;
}

enum oc_algo
oc_signer_algo(const struct oc_signer *s)
{
	return s == NULL ? OC_ALGO_NONE : s->algo;
}

void
oc_signer_free(struct oc_signer *s)
{
	if (s == NULL)
		return;
	if (s->ops != NULL && s->ops->destroy != NULL)
		s->ops->destroy(s);
	EVP_PKEY_free(s->pub);
	/* calloc or OPENSSL_zalloc in the backends: both malloc (signer.h). */
	free(s);
}

/*
 * Verify.  For SM2 the key must be an "SM2" key (EVP_PKEY_is_a), else 3.0
 * would run ECDSA; an "EC" key on the SM2 curve is re-decoded first.
 */
int
oc_verify_tbs(EVP_PKEY *pub, const unsigned char *tbs, size_t tbslen,
    const unsigned char *sig, size_t siglen, struct oc_err *err)
{
	EVP_MD_CTX *mctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	EVP_PKEY *key = NULL;
	const EVP_MD *md;
	enum oc_algo a;
	int rc = OC_ECRYPTO, r;

	a = oc_algo_of_pkey(pub);
	if (a == OC_ALGO_NONE || sig == NULL || (tbs == NULL && tbslen > 0)) {
		rc = oc_err_set(err, OC_EINVAL, "不支持的公钥类型 / unsupported "
		    "public key type for verification");
		goto out;
	}
	if (a == OC_ALGO_SM2 && !EVP_PKEY_is_a(pub, "SM2")) {
		if ((key = oc__pkey_public_dup(pub)) == NULL ||
		    !EVP_PKEY_is_a(key, "SM2")) {
			rc = oc_err_openssl(err, OC_ECRYPTO, "SM2 公钥无法使用 / "
			    "cannot use SM2 public key");
			goto out;
		}
	} else {
		if (!EVP_PKEY_up_ref(pub))
			goto out;
		key = pub;
	}
	md = a == OC_ALGO_SM2 ? EVP_sm3() : EVP_sha256();
	if ((mctx = EVP_MD_CTX_new()) == NULL ||
	    (pctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL)) == NULL) {
		rc = oc_err_openssl(err, OC_ENOMEM, "内存不足 / out of memory");
		goto out;
	}
	if (a == OC_ALGO_SM2 && EVP_PKEY_CTX_set1_id(pctx, OC_SM2_DISTID,
	    OC_SM2_DISTID_LEN) <= 0) {
		rc = oc_err_openssl(err, OC_ECRYPTO, "无法设置 SM2 标识 / cannot "
		    "set the SM2 distinguishing ID");
		goto out;
	}
	EVP_MD_CTX_set_pkey_ctx(mctx, pctx);
	if (EVP_DigestVerifyInit(mctx, NULL, md, NULL, key) != 1) {
		rc = oc_err_openssl(err, OC_ECRYPTO, "验签初始化失败 / cannot "
		    "initialise verification");
		goto out;
	}
	r = EVP_DigestVerify(mctx, sig, siglen, tbs, tbslen);
	if (r != 1) {
		rc = oc_err_openssl(err, OC_ECRYPTO, "签名无效 / signature does "
		    "not verify");
		goto out;
	}
	rc = 0;
out:
	EVP_MD_CTX_free(mctx);
	/* EVP_MD_CTX_set_pkey_ctx does not take ownership. */
	EVP_PKEY_CTX_free(pctx);
	EVP_PKEY_free(key);
	return rc;
}

/*
 * Set-up made once (oc__sigctx_new, internal.h).  What oc_verify_tbs and
 * the file signer do before the first byte, each time: a context for the
 * key, the SM2 ID, the digest fetched, and for SM2 the Z value hashed in
 * (EVP_DigestSignUpdate/VerifyUpdate with no data computes it) — about
 * 15 us of an SM2 signature or verification.  A copy of the context then
 * carries the SM3 state after Z.
 */
EVP_MD_CTX *
oc__sigctx_new(EVP_PKEY *key, bool sign)
{
	EVP_MD_CTX *mctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	enum oc_algo a = oc_algo_of_pkey(key);
	const EVP_MD *md = a == OC_ALGO_SM2 ? EVP_sm3() : EVP_sha256();
	int ok;

	if (a == OC_ALGO_NONE ||
	    (a == OC_ALGO_SM2 && !EVP_PKEY_is_a(key, "SM2")))
		return NULL;
	/* The ID goes onto the context that DigestSign/VerifyInit made (and
	 * mctx owns) before the first update, which computes Z with it. */
	if ((mctx = EVP_MD_CTX_new()) == NULL)
		return NULL;
	if (sign)
		ok = EVP_DigestSignInit(mctx, &pctx, md, NULL, key) == 1;
	else
		ok = EVP_DigestVerifyInit(mctx, &pctx, md, NULL, key) == 1;
	if (ok && a == OC_ALGO_SM2)
		ok = EVP_PKEY_CTX_set1_id(pctx, OC_SM2_DISTID,
		    OC_SM2_DISTID_LEN) > 0 && (sign ?
		    EVP_DigestSignUpdate(mctx, NULL, 0) :
		    EVP_DigestVerifyUpdate(mctx, NULL, 0)) == 1;
	if (!ok) {
		EVP_MD_CTX_free(mctx);
		ERR_clear_error();
		return NULL;
	}
	return mctx;
}

/* One lock for every copy: a base context may be shared by threads (one
 * signer or one issuer certificate used by several), and OpenSSL does not
 * promise that copying from one context in two threads at once is safe. */
static pthread_mutex_t sigctx_mu = PTHREAD_MUTEX_INITIALIZER;

EVP_MD_CTX *
oc__sigctx_copy(const EVP_MD_CTX *base)
{
	EVP_MD_CTX *mctx;
	int ok;

	if (base == NULL || (mctx = EVP_MD_CTX_new()) == NULL)
		return NULL;
	pthread_mutex_lock(&sigctx_mu);
	ok = EVP_MD_CTX_copy_ex(mctx, base);
	pthread_mutex_unlock(&sigctx_mu);
	if (!ok) {
		EVP_MD_CTX_free(mctx);
		return NULL;
	}
	return mctx;
}

int
oc__verify_tbs_with(EVP_MD_CTX *mctx, const unsigned char *tbs,
    size_t tbslen, const unsigned char *sig, size_t siglen,
    struct oc_err *err)
{
	if (mctx == NULL || sig == NULL || (tbs == NULL && tbslen > 0))
		return oc_err_set(err, OC_EINVAL, "验签参数无效 / bad "
		    "verification arguments");
	if (EVP_DigestVerify(mctx, sig, siglen, tbs, tbslen) != 1)
		return oc_err_openssl(err, OC_ECRYPTO, "签名无效 / signature does "
		    "not verify");
	return 0;
}

EVP_PKEY *
oc_pkey_generate(enum oc_algo a, int bits, struct oc_err *err)
{
	EVP_PKEY *pkey = NULL;

	switch (a) {
	case OC_ALGO_EC:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case OC_ALGO_SM2:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
		break;
	case OC_ALGO_RSA:
		if (bits == 0)
			bits = 2048;
		if (bits != 2048 && bits != 3072 && bits != 4096) {
			oc_err_set(err, OC_EINVAL, "RSA 密钥长度只能是 2048、3072 或 "
			    "4096 / RSA key size must be 2048, 3072 or 4096, "
			    "not %d", bits);
			return NULL;
		}
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
		break;
	default:
		oc_err_set(err, OC_EUNSUPPORTED, "不支持的算法 / unsupported "
		    "algorithm");
		return NULL;
	}
	if (pkey == NULL)
		oc_err_openssl(err, OC_ECRYPTO, "密钥生成失败 / key generation "
		    "failed (%s)", oc_algo_name(a));
	return pkey;
}
