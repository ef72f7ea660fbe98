/*
 * rp_ocsp.c — the relying party asks an OCSP responder (RFC 6960) and
 * checks the answer itself.
 *
 * The request: one CertID (SHA-1, what every responder answers, ours
 * included), a 16-byte random nonce unless ocsp_nonce = false, POSTed as
 * application/ocsp-request (rp_http.c).
 *
 * The answer is not handed to OCSP_basic_verify: with OpenSSL 3.0 it
 * cannot verify an SM2 response (it verifies with an empty SM2
 * distinguishing ID and has no way to set one), it would build a chain
 * from its own store, and it verifies over its re-encoding of the
 * ResponseData, not over the bytes that were signed.  Instead:
 *
 *  - the signed bytes are cut out of the received DER (OCSPResponse →
 *    responseBytes → BasicOCSPResponse → tbsResponseData) and checked to
 *    be exactly one ResponseData with d2i_OCSP_RESPDATA;
 *  - the signer is the certificate the responderID names (byKey: SHA-1 of
 *    its subjectPublicKey; byName), either the issuer itself or a
 *    certificate in the response that the issuer signed (SM2-aware), with
 *    id-kp-OCSPSigning and valid now — RFC 6960 4.2.2.2; a responder
 *    certificate from anyone else is not authorized;
 *  - the signature is verified over those bytes: SM2-with-SM3 through
 *    oc_verify_tbs (SM3, ID 1234567812345678), as src/pki/ocsp.c checks
 *    what our responder builds; other algorithms with the digest their
 *    AlgorithmIdentifier names (MD5 and RSA-PSS refused);
 *  - the nonce must match when the responder echoes one (a responder that
 *    answers pre-produced responses without it is accepted, as RFC 5019
 *    allows; freshness then rests on the times);
 *  - thisUpdate not in the future, nextUpdate not past (both with the
 *    clock_skew allowance); without nextUpdate the answer may be at most
 *    ocsp_max_age old.
 * Anything else is a failure: the caller falls back to the CRL.
 */
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "onecert/ocsp.h"
#include "onecert/signer.h"
#include "internal.h"
#include "rp_int.h"

bool
oc__rp_time(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return false;
	*out = timegm(&tm);
	return true;
}

int
oc__rp_verify_sig(EVP_PKEY *pub, const X509_ALGOR *alg,
    const unsigned char *tbs, size_t tbslen, const unsigned char *sig,
    size_t siglen, struct oc_err *err)
{
	const ASN1_OBJECT *obj = NULL;
	EVP_MD_CTX *ctx = NULL;
	int nid, md_nid = NID_undef, pk_nid = NID_undef, rc = OC_ECRYPTO;

	if (pub == NULL || alg == NULL)
		return oc_err_set(err, OC_EINVAL, "缺少公钥或签名算法 / key or "
		    "signature algorithm missing");
	X509_ALGOR_get0(&obj, NULL, NULL, alg);
	nid = OBJ_obj2nid(obj);
	if (nid == NID_SM2_with_SM3) {
		if (oc_algo_of_pkey(pub) != OC_ALGO_SM2)
			return oc_err_set(err, OC_EINVAL, "SM2 签名但密钥不是 SM2 / "
			    "an SM2 signature but not an SM2 key");
		return oc_verify_tbs(pub, tbs, tbslen, sig, siglen, err);
	}
	if (!OBJ_find_sigid_algs(nid, &md_nid, &pk_nid) ||
	    md_nid == NID_undef || md_nid == NID_md5 || md_nid == NID_md4 ||
	    md_nid == NID_md2) {
		ERR_clear_error();
		return oc_err_set(err, OC_EUNSUPPORTED, "不支持的签名算法 %s / "
		    "unsupported signature algorithm %s", OBJ_nid2sn(nid),
		    OBJ_nid2sn(nid));
	}
	if (EVP_PKEY_get_base_id(pub) != pk_nid &&
	    !(pk_nid == NID_rsaEncryption && EVP_PKEY_is_a(pub, "RSA")) &&
	    !(pk_nid == NID_X9_62_id_ecPublicKey && EVP_PKEY_is_a(pub, "EC")))
		return oc_err_set(err, OC_EINVAL, "签名算法 %s 与密钥类型不符 / "
		    "signature algorithm %s does not match the key", OBJ_nid2sn(nid),
		    OBJ_nid2sn(nid));
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit_ex(ctx, NULL, OBJ_nid2sn(md_nid), NULL, NULL,
	    pub, NULL) != 1) {
		rc = oc_err_openssl(err, OC_ECRYPTO, "无法验证签名 / cannot "
		    "verify the signature");
		goto out;
	}
	if (EVP_DigestVerify(ctx, sig, siglen, tbs, tbslen) != 1) {
		rc = oc_err_openssl(err, OC_ECRYPTO, "签名无效 / the signature "
		    "does not verify");
		goto out;
	}
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}

bool
oc__rp_issued_by(X509 *x, X509 *issuer)
{
	EVP_PKEY *pub;
	bool ok;

	if (x == NULL || issuer == NULL ||
	    X509_check_issued(issuer, x) != X509_V_OK ||
	    (pub = X509_get0_pubkey(issuer)) == NULL) {
		ERR_clear_error();
		return false;
	}
	if (X509_get_signature_nid(x) == NID_SM2_with_SM3)
		ok = oc__cert_verify_sig(x, pub, NULL) == 0;
	else
		ok = X509_verify(x, pub) == 1;
	ERR_clear_error();
	return ok;
}

/* ---- cutting the signed bytes out of the response ---- */

/* One definite-length TLV at *p, inside [*p, end).  *p moves past it. */
static bool
der_tlv(const unsigned char **p, const unsigned char *end, int want_tag,
    int want_class, const unsigned char **content, long *clen,
    const unsigned char **tlv, size_t *tlvlen)
{
	const unsigned char *q = *p;
	long len;
	int tag, cls, r;

	if (q >= end)
		return false;
	r = ASN1_get_object(&q, &len, &tag, &cls, (long)(end - q));
	if ((r & 0x80) || r == (V_ASN1_CONSTRUCTED | 1) || len < 0 ||
	    len > end - q || tag != want_tag || cls != want_class)
		return false;
	if (content != NULL)
		*content = q;
	if (clen != NULL)
		*clen = len;
	if (tlv != NULL)
		*tlv = *p;
	if (tlvlen != NULL)
		*tlvlen = (size_t)(q + len - *p);
	*p = q + len;
	return true;
}

/* The tbsResponseData TLV inside a received OCSPResponse. */
static bool
find_tbs(const unsigned char *der, size_t len, const unsigned char **tbs,
    size_t *tbslen)
{
	const unsigned char *p = der, *end = der + len, *c, *e;
	OCSP_RESPDATA *rd = NULL;
	const unsigned char *q;
	long n;

	/* OCSPResponse ::= SEQUENCE { ENUMERATED, [0] EXPLICIT ResponseBytes } */
	if (!der_tlv(&p, end, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, &c, &n, NULL,
	    NULL) || p != end)
		return false;
	p = c;
	end = c + n;
	if (!der_tlv(&p, end, V_ASN1_ENUMERATED, V_ASN1_UNIVERSAL, NULL, NULL,
	    NULL, NULL) ||
	    !der_tlv(&p, end, 0, V_ASN1_CONTEXT_SPECIFIC, &c, &n, NULL, NULL))
		return false;
	/* ResponseBytes ::= SEQUENCE { OID, OCTET STRING } */
	p = c;
	e = c + n;
	if (!der_tlv(&p, e, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, &c, &n, NULL,
	    NULL))
		return false;
	p = c;
	e = c + n;
	if (!der_tlv(&p, e, V_ASN1_OBJECT, V_ASN1_UNIVERSAL, NULL, NULL, NULL,
	    NULL) ||
	    !der_tlv(&p, e, V_ASN1_OCTET_STRING, V_ASN1_UNIVERSAL, &c, &n, NULL,
	    NULL))
		return false;
	/* BasicOCSPResponse ::= SEQUENCE { tbsResponseData, … } */
	p = c;
	e = c + n;
	if (!der_tlv(&p, e, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, &c, &n, NULL,
	    NULL))
		return false;
	p = c;
	e = c + n;
	if (!der_tlv(&p, e, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, NULL, NULL, tbs,
	    tbslen))
		return false;
	/* Exactly one ResponseData, nothing more, nothing less. */
	q = *tbs;
	rd = d2i_OCSP_RESPDATA(NULL, &q, (long)*tbslen);
	if (rd == NULL || q != *tbs + *tbslen) {
		OCSP_RESPDATA_free(rd);
		ERR_clear_error();
		return false;
	}
	OCSP_RESPDATA_free(rd);
	return true;
}

/* ---- who signed it ---- */

static bool
responder_is(X509 *c, const ASN1_OCTET_STRING *key, const X509_NAME *name)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (key != NULL) {
		if (!X509_pubkey_digest(c, EVP_sha1(), md, &n)) {
			ERR_clear_error();
			return false;
		}
		return (int)n == ASN1_STRING_length(key) &&
		    memcmp(md, ASN1_STRING_get0_data(key), n) == 0;
	}
	return name != NULL && X509_NAME_cmp(name, X509_get_subject_name(c)) == 0;
}

/* A delegated responder: issued by the issuer, id-kp-OCSPSigning, valid
 * now.  NULL when fine, else why not. */
static const char *
delegate_problem(X509 *c, X509 *issuer, time_t now, long skew)
{
	time_t nb, na;

	if (!oc__rp_issued_by(c, issuer))
		return "not issued by the certificate's issuer";
	if (!(X509_get_extension_flags(c) & EXFLAG_XKUSAGE) ||
	    !(X509_get_extended_key_usage(c) & XKU_OCSP_SIGN))
		return "no id-kp-OCSPSigning";
	if (!oc__rp_time(X509_get0_notBefore(c), &nb) ||
	    !oc__rp_time(X509_get0_notAfter(c), &na) ||
	    now + skew < nb || now - skew > na)
		return "responder certificate outside its validity";
	return NULL;
}

/* The authorized signer of bs (borrowed), or NULL with err set. */
static X509 *
find_signer(OCSP_BASICRESP *bs, X509 *issuer, time_t now, long skew,
    struct oc_err *err)
{
	const ASN1_OCTET_STRING *key = NULL;
	const X509_NAME *name = NULL;
	const STACK_OF(X509) *certs;
	const char *why = "responderID matches no certificate";

	if (!OCSP_resp_get0_id(bs, &key, &name)) {
		oc_err_set(err, OC_EINVAL, "OCSP 响应没有 responderID / the OCSP "
		    "response has no responderID");
		return NULL;
	}
	if (responder_is(issuer, key, name))
		return issuer;
	certs = OCSP_resp_get0_certs(bs);
	for (int i = 0; certs != NULL && i < sk_X509_num(certs); i++) {
		X509 *c = sk_X509_value(certs, i);
		const char *p;

		if (!responder_is(c, key, name))
			continue;
		if (X509_cmp(c, issuer) == 0)
			return issuer;
		if ((p = delegate_problem(c, issuer, now, skew)) == NULL)
			return c;
		why = p;
	}
	oc_err_set(err, OC_EINVAL, "OCSP 响应的签名者未获签发者授权 / the OCSP "
	    "response is not signed by the issuer or a responder it "
	    "authorized: %s", why);
	return NULL;
}

/* ---- the query ---- */

static int
check_times(struct oc_rp *rp, const ASN1_GENERALIZEDTIME *tu_a,
    const ASN1_GENERALIZEDTIME *nu_a, time_t now, struct oc__rp_rev *out,
    struct oc_err *err)
{
	time_t tu, nu = 0;

	if (!oc__rp_time(tu_a, &tu) || (nu_a != NULL && !oc__rp_time(nu_a,
	    &nu)))
		return oc_err_set(err, OC_EINVAL, "OCSP 响应的时间格式无效 / the "
		    "OCSP response's times are malformed");
	if (tu > now + rp->clock_skew)
		return oc_err_set(err, OC_EINVAL, "OCSP 响应的 thisUpdate 在未来 / "
		    "the OCSP response's thisUpdate is in the future");
	if (nu_a != NULL) {
		if (nu < tu)
			return oc_err_set(err, OC_EINVAL, "OCSP 响应的 nextUpdate "
			    "早于 thisUpdate / the OCSP response's nextUpdate is "
			    "before its thisUpdate");
		if (nu < now - rp->clock_skew)
			return oc_err_set(err, OC_EINVAL, "OCSP 响应已过期 / the "
			    "OCSP response is stale (nextUpdate has passed)");
	} else if (now - tu > rp->ocsp_max_age + rp->clock_skew) {
		return oc_err_set(err, OC_EINVAL, "OCSP 响应太旧 / the OCSP "
		    "response is too old (no nextUpdate, thisUpdate over "
		    "ocsp_max_age ago)");
	}
	out->this_update = tu;
	out->next_update = nu_a != NULL ? nu : 0;
	return 0;
}

int
oc__rp_ocsp_query(struct oc_rp *rp, const char *url, X509 *leaf,
    X509 *issuer, time_t now, struct oc__rp_rev *out, struct oc_err *err)
{
	OCSP_REQUEST *req = NULL;
	OCSP_CERTID *id = NULL, *id_req = NULL;
	OCSP_RESPONSE *resp = NULL;
	OCSP_BASICRESP *bs = NULL;
	ASN1_GENERALIZEDTIME *revtime = NULL, *tu = NULL, *nu = NULL;
	const ASN1_OCTET_STRING *sig;
	unsigned char *reqder = NULL, *body = NULL;
	const unsigned char *p, *tbs = NULL;
	size_t bodylen = 0, tbslen = 0;
	int reqlen, status = -1, reason = -1, rs, rc = OC_EINVAL;
	X509 *signer;

	memset(out, 0, sizeof(*out));
	out->reason = -1;
	ERR_clear_error();
	if ((req = OCSP_REQUEST_new()) == NULL ||
	    (id = OCSP_cert_to_id(EVP_sha1(), leaf, issuer)) == NULL ||
	    (id_req = OCSP_CERTID_dup(id)) == NULL ||
	    OCSP_request_add0_id(req, id_req) == NULL) {
		OCSP_CERTID_free(id_req);
		rc = oc_err_openssl(err, OC_ENOMEM, "无法构造 OCSP 请求 / cannot "
		    "build the OCSP request");
		goto out;
	}
	if (rp->ocsp_nonce && !OCSP_request_add1_nonce(req, NULL, 16)) {
		rc = oc_err_openssl(err, OC_ENOMEM, "无法构造 OCSP 请求 / cannot "
		    "build the OCSP request");
		goto out;
	}
	if ((reqlen = i2d_OCSP_REQUEST(req, &reqder)) <= 0) {
		rc = oc_err_openssl(err, OC_ENOMEM, "无法编码 OCSP 请求 / cannot "
		    "encode the OCSP request");
		goto out;
	}
	if ((rc = oc__rp_http_fetch(url, OC_OCSP_MIME_REQUEST, reqder,
	    (size_t)reqlen, OC_OCSP_MIME_RESPONSE, OC__RP_OCSP_RESP_MAX,
	    rp->ocsp_timeout, &body, &bodylen, err)) != 0)
		goto out;

	p = body;
	if ((resp = d2i_OCSP_RESPONSE(NULL, &p, (long)bodylen)) == NULL ||
	    p != body + bodylen) {
		rc = oc_err_openssl(err, OC_EINVAL, "OCSP 响应格式无效 / malformed "
		    "OCSP response");
		goto out;
	}
	if ((rs = OCSP_response_status(resp)) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		rc = oc_err_set(err, OC_EIO, "OCSP 响应者回答 %s / the OCSP "
		    "responder answered %s", OCSP_response_status_str(rs),
		    OCSP_response_status_str(rs));
		goto out;
	}
	if ((bs = OCSP_response_get1_basic(resp)) == NULL ||
	    !find_tbs(body, bodylen, &tbs, &tbslen)) {
		rc = oc_err_openssl(err, OC_EINVAL, "OCSP 响应不是有效的基本响应 / "
		    "the OCSP response is not a well-formed basic response");
		goto out;
	}
	if ((signer = find_signer(bs, issuer, now, rp->clock_skew, err)) ==
	    NULL) {
		rc = OC_EINVAL;
		goto out;
	}
	sig = OCSP_resp_get0_signature(bs);
	if ((rc = oc__rp_verify_sig(X509_get0_pubkey(signer),
	    OCSP_resp_get0_tbs_sigalg(bs), tbs, tbslen,
	    ASN1_STRING_get0_data(sig), (size_t)ASN1_STRING_length(sig),
	    err)) != 0) {
		oc_err_detail(err, " (OCSP response signature)");
		rc = OC_EINVAL;
		goto out;
	}
	/* 1 equal, 2 none sent or echoed, 3 only the response has one,
	 * -1 not echoed (pre-produced answers), 0 different: a replay. */
	if (rp->ocsp_nonce && OCSP_check_nonce(req, bs) == 0) {
		rc = oc_err_set(err, OC_EINVAL, "OCSP 响应的 nonce 与请求不符 / the "
		    "OCSP response's nonce does not match the request");
		goto out;
	}
	if (!OCSP_resp_find_status(bs, id, &status, &reason, &revtime, &tu,
	    &nu)) {
		rc = oc_err_set(err, OC_EINVAL, "OCSP 响应中没有此证书的状态 / the "
		    "OCSP response does not answer for this certificate");
		goto out;
	}
	if ((rc = check_times(rp, tu, nu, now, out, err)) != 0)
		goto out;
	switch (status) {
	case V_OCSP_CERTSTATUS_GOOD:
		out->status = OC__RP_GOOD;
		break;
	case V_OCSP_CERTSTATUS_REVOKED:
		out->status = OC__RP_REVOKED;
		out->reason = reason >= 0 ? reason : -1;
		if (!oc__rp_time(revtime, &out->revoked_at)) {
			rc = oc_err_set(err, OC_EINVAL, "OCSP 响应的撤销时间无效 / "
			    "the OCSP response's revocationTime is malformed");
			goto out;
		}
		break;
	default:
		out->status = OC__RP_UNKNOWN;
		break;
	}
	rc = 0;
out:
	OPENSSL_free(reqder);
	OPENSSL_free(body);
	OCSP_CERTID_free(id);
	OCSP_REQUEST_free(req);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	ERR_clear_error();
	return rc;
}
