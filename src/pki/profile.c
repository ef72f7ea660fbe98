/*
 * profile.c — profile names and the keys each profile accepts.
 *
 * One hierarchy per algorithm (SPEC §3.1), so a CA only certifies keys of
 * its own algorithm: a P-256 CA certifies P-256 keys, an SM2 CA SM2 keys,
 * an RSA CA RSA keys of 2048 or 3072 bits (4096 too for CA
 * certificates, whose keys live longer).  RSA public exponents must be odd
 * and at least 65537.  The key's own validity is checked last; OpenSSL
 * 3.0's decoders already refuse EC points off the curve, so for keys that
 * came through d2i it is belt and braces, kept for keys built some other
 * way.  For EC and SM2 keys that check is EVP_PKEY_public_check_quick (the
 * point is on the curve, not at infinity, its coordinates in range): both
 * curves we accept, P-256 and SM2, have cofactor 1, so every such point has
 * the group's prime order and the full check's extra n·Q = O scalar
 * multiplication (as costly as half a signature verification, for every
 * certificate issued) proves nothing more.  RSA keys get the full check
 * (SP 800-56B: no factor below 752, not a prime power), which costs more
 * than an RSA-3072 signature.
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "onecert/pki.h"
#include "internal.h"

static const struct {
	enum oc_profile p;
	const char *name;
} profiles[] = {
	{ OC_PROFILE_ROOT, "root" },
	{ OC_PROFILE_ISSUING, "issuing" },
	{ OC_PROFILE_ENTERPRISE, "enterprise" },
	{ OC_PROFILE_PERSONAL, "personal" },
	{ OC_PROFILE_OCSP, "ocsp" },
	{ OC_PROFILE_TLS_SERVER, "tls-server" },
};

const char *
oc_profile_name(enum oc_profile p)
{
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
		if (profiles[i].p == p)
			return profiles[i].name;
	return "none";
}

int
oc_profile_parse(const char *s, enum oc_profile *out)
{
	if (s == NULL || out == NULL)
		return OC_EINVAL;
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
		if (strcmp(s, profiles[i].name) == 0) {
			*out = profiles[i].p;
			return 0;
		}
	if (strcmp(s, "tls") == 0 || strcmp(s, "tls_server") == 0) {
		*out = OC_PROFILE_TLS_SERVER;
		return 0;
	}
	return OC_EINVAL;
}

static bool
is_ca_profile(enum oc_profile p)
{
	return p == OC_PROFILE_ROOT || p == OC_PROFILE_ISSUING;
}

int
oc_key_check(EVP_PKEY *key, enum oc_profile profile, enum oc_algo ca_algo,
    struct oc_err *err)
{
	return oc__key_check(key, profile, ca_algo, true, err);
}

int
oc__key_check(EVP_PKEY *key, enum oc_profile profile, enum oc_algo ca_algo,
    bool validate, struct oc_err *err)
{
	EVP_PKEY_CTX *pctx = NULL;
	BIGNUM *e = NULL;
	char group[64] = "";
	size_t glen = 0;
	enum oc_algo a;
	int bits, rc = OC_EINVAL;

	if (key == NULL) {
		rc = oc_err_set(err, OC_EINVAL, "缺少公钥 / public key missing");
		goto out;
	}
	if (strcmp(oc_profile_name(profile), "none") == 0) {
		rc = oc_err_set(err, OC_EINVAL, "证书类型无效 / unknown "
		    "certificate profile");
		goto out;
	}
	a = oc_algo_of_pkey(key);
	if (a == OC_ALGO_NONE) {
		if ((EVP_PKEY_is_a(key, "EC") || EVP_PKEY_is_a(key, "SM2")) &&
		    EVP_PKEY_get_group_name(key, group, sizeof(group),
		    &glen) == 1)
			rc = oc_err_set(err, OC_EINVAL, "椭圆曲线 %s 不允许，只允许 "
			    "P-256 或 SM2 / elliptic curve %s is not allowed: "
			    "P-256 or SM2 only", group, group);
		else
			rc = oc_err_set(err, OC_EINVAL, "不支持的密钥类型 %s，只允许 "
			    "P-256、SM2、RSA / key type %s is not allowed: P-256, "
			    "SM2 and RSA only", EVP_PKEY_get0_type_name(key),
			    EVP_PKEY_get0_type_name(key));
		goto out;
	}
	if (a != ca_algo) {
		rc = oc_err_set(err, OC_EINVAL, "密钥算法 %s 与 CA 的算法 %s 不符 / "
		    "key algorithm %s does not match the CA's algorithm %s",
		    oc_algo_name(a), oc_algo_name(ca_algo), oc_algo_name(a),
		    oc_algo_name(ca_algo));
		goto out;
	}
	if (a == OC_ALGO_RSA) {
		bits = EVP_PKEY_get_bits(key);
		if (bits != 2048 && bits != 3072 &&
		    !(bits == 4096 && is_ca_profile(profile))) {
			rc = oc_err_set(err, OC_EINVAL, "RSA 密钥长度 %d 不允许（%s） "
			    "/ RSA key size %d is not allowed (%s)", bits,
			    is_ca_profile(profile) ? "2048、3072 或 4096" :
			    "2048 或 3072", bits, is_ca_profile(profile) ?
			    "2048, 3072 or 4096" : "2048 or 3072");
			goto out;
		}
		if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e) != 1 ||
		    !BN_is_odd(e) || BN_num_bits(e) < 17) {
			rc = oc_err_set(err, OC_EINVAL, "RSA 公钥指数必须是不小于 "
			    "65537 的奇数 / RSA public exponent must be odd and at "
			    "least 65537");
			goto out;
		}
	}
	if (!validate) {
		rc = 0;
		goto out;
	}
	if ((pctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL)) == NULL) {
		rc = oc_err_openssl(err, OC_ENOMEM, "内存不足 / out of memory");
		goto out;
	}
	if ((a == OC_ALGO_RSA ? EVP_PKEY_public_check(pctx) :
	    EVP_PKEY_public_check_quick(pctx)) != 1) {
		rc = oc_err_openssl(err, OC_EINVAL, "公钥无效（不在曲线上或参数错误） "
		    "/ public key is invalid (not on the curve, or bad "
		    "parameters)");
		goto out;
	}
	rc = 0;
out:
	BN_free(e);
	EVP_PKEY_CTX_free(pctx);
	return rc;
}
