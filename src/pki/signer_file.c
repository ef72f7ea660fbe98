/*
 * signer_file.c — the "file" oc_signer backend: a private key held in this
 * process's memory.  For development CA keys, tests, and the key pairs a
 * demo generates; production CA keys live in a token (src/token) or the
 * signer process (src/ca).
 *
 * The signer's pub is a separate, public-only EVP_PKEY decoded from the
 * key's SubjectPublicKeyInfo, so that nobody holding the public half can
 * reach the private key through it.  An SM2-curve key that OpenSSL built
 * as type "EC" (possible when it came from raw parameters) is converted to
 * type "SM2" through its PKCS#8 encoding: in 3.0 only an "SM2" key signs
 * with SM2; an "EC" one would silently make ECDSA signatures.
 *
 * The signing set-up (digest, SM2 ID, and for SM2 the Z value hashed in:
 * oc__sigctx_new) is made once with the signer and copied for each
 * signature; the SM2 CA key in the signer process signs every certificate
 * through here.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "onecert/buf.h"
#include "onecert/signer.h"
#include "internal.h"

#define KEYFILE_MAX (64 * 1024)

/* impl: the private key, and the signing set-up made once for it
 * (oc__sigctx_new; NULL if it could not be made: each signature then
 * makes its own). */
struct file_key {
	EVP_PKEY *key;
	EVP_MD_CTX *base;
};

static int
file_sign(struct oc_signer *s, const unsigned char *tbs, size_t tbslen,
    unsigned char **sig, size_t *siglen, struct oc_err *err)
{
	struct file_key *fk = s->impl;
	EVP_MD_CTX *mctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *out = NULL;
	size_t outlen = 0;
	int rc = OC_ECRYPTO;

	if (fk->base != NULL) {
		if ((mctx = oc__sigctx_copy(fk->base)) == NULL) {
			rc = oc_err_openssl(err, OC_ENOMEM, "内存不足 / out of "
			    "memory");
			goto out;
		}
	} else {
		if ((mctx = EVP_MD_CTX_new()) == NULL ||
		    (pctx = EVP_PKEY_CTX_new_from_pkey(NULL, fk->key,
		    NULL)) == NULL) {
			rc = oc_err_openssl(err, OC_ENOMEM, "内存不足 / out of "
			    "memory");
			goto out;
		}
		if (s->algo == OC_ALGO_SM2 && EVP_PKEY_CTX_set1_id(pctx,
		    OC_SM2_DISTID, OC_SM2_DISTID_LEN) <= 0) {
			rc = oc_err_openssl(err, OC_ECRYPTO, "无法设置 SM2 标识 / "
			    "cannot set the SM2 distinguishing ID");
			goto out;
		}
		EVP_MD_CTX_set_pkey_ctx(mctx, pctx);
		if (EVP_DigestSignInit(mctx, NULL, s->algo == OC_ALGO_SM2 ?
		    EVP_sm3() : EVP_sha256(), NULL, fk->key) != 1) {
			rc = oc_err_openssl(err, OC_ECRYPTO, "签名失败 / signing "
			    "failed");
			goto out;
		}
	}
	/* The first call only asks for the size and hashes nothing. */
	if (EVP_DigestSign(mctx, NULL, &outlen, tbs, tbslen) != 1 ||
	    (out = OPENSSL_malloc(outlen)) == NULL ||
	    EVP_DigestSign(mctx, out, &outlen, tbs, tbslen) != 1) {
		rc = oc_err_openssl(err, OC_ECRYPTO, "签名失败 / signing failed");
		goto out;
	}
	*sig = out;
	*siglen = outlen;
	out = NULL;
	rc = 0;
out:
	OPENSSL_free(out);
	EVP_MD_CTX_free(mctx);
	EVP_PKEY_CTX_free(pctx);
	return rc;
}

static void
file_destroy(struct oc_signer *s)
{
	struct file_key *fk = s->impl;

	if (fk != NULL) {
		EVP_MD_CTX_free(fk->base);
		EVP_PKEY_free(fk->key);
		free(fk);
	}
	s->impl = NULL;
}

static const struct oc_signer_ops file_ops = {
	.name = "file",
	.sign = file_sign,
	.destroy = file_destroy,
};

/* Does pkey carry its private half?  3.0 has no EVP_PKEY_has_private; ask
 * for the private component by name. */
static int
has_private(EVP_PKEY *pkey, enum oc_algo a)
{
	BIGNUM *bn = NULL;
	int ok;

	ok = EVP_PKEY_get_bn_param(pkey, a == OC_ALGO_RSA ?
	    OSSL_PKEY_PARAM_RSA_D : OSSL_PKEY_PARAM_PRIV_KEY, &bn) == 1;
	BN_clear_free(bn);
	ERR_clear_error();
	return ok;
}

/* A new reference to pkey, or for an "EC" key on the SM2 curve a new
 * "SM2" key with the same private value. */
static EVP_PKEY *
key_for_signing(EVP_PKEY *pkey, enum oc_algo a)
{
	PKCS8_PRIV_KEY_INFO *p8;
	EVP_PKEY *k;

	if (a != OC_ALGO_SM2 || EVP_PKEY_is_a(pkey, "SM2"))
		return EVP_PKEY_up_ref(pkey) ? pkey : NULL;
	if ((p8 = EVP_PKEY2PKCS8(pkey)) == NULL)
		return NULL;
	k = EVP_PKCS82PKEY(p8);
	PKCS8_PRIV_KEY_INFO_free(p8);
	if (k != NULL && !EVP_PKEY_is_a(k, "SM2")) {
		EVP_PKEY_free(k);
		k = NULL;
	}
	return k;
}

struct oc_signer *
oc_signer_from_pkey(EVP_PKEY *pkey, struct oc_err *err)
{
	struct oc_signer *s = NULL;
	struct file_key *fk;
	enum oc_algo a;

	a = oc_algo_of_pkey(pkey);
	if (a == OC_ALGO_NONE) {
		oc_err_set(err, OC_EUNSUPPORTED, "不支持的密钥类型（只支持 P-256、"
		    "SM2、RSA） / unsupported key type (P-256, SM2 and RSA only)");
		return NULL;
	}
	if (!has_private(pkey, a)) {
		oc_err_set(err, OC_EINVAL, "密钥不含私钥 / the key has no private "
		    "part");
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		oc_err_set(err, OC_ENOMEM, "内存不足 / out of memory");
		return NULL;
	}
	s->ops = &file_ops;
	s->algo = a;
	if ((fk = calloc(1, sizeof(*fk))) == NULL) {
		oc_err_set(err, OC_ENOMEM, "内存不足 / out of memory");
		free(s);
		return NULL;
	}
	s->impl = fk;
	if ((fk->key = key_for_signing(pkey, a)) == NULL ||
	    (s->pub = oc__pkey_public_dup(pkey)) == NULL) {
		oc_err_openssl(err, OC_ECRYPTO, "无法使用该密钥 / cannot use "
		    "the key");
		oc_signer_free(s);
		return NULL;
	}
	fk->base = oc__sigctx_new(fk->key, true);
	return s;
}

/* PEM password callback: never prompt on a terminal. */
static int
pass_cb(char *buf, int size, int rwflag, void *u)
{
	const char *pass = u;
	size_t n;

	(void)rwflag;
	if (pass == NULL || size <= 0)
		return -1;
	n = strlen(pass);
	if (n > (size_t)size)
		return -1;
	memcpy(buf, pass, n);
	return (int)n;
}

struct oc_signer *
oc_signer_file_open(const char *path, const char *pass, struct oc_err *err)
{
	struct oc_buf b;
	struct oc_signer *s = NULL;
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	int r;

	oc_buf_init(&b, KEYFILE_MAX);
	if (path == NULL) {
		oc_err_set(err, OC_EINVAL, "缺少密钥文件路径 / key file path "
		    "missing");
		goto out;
	}
	if ((r = oc_buf_read_file(&b, path)) != 0) {
		oc_err_set(err, r == OC_ETOOBIG ? OC_ETOOBIG : OC_EIO,
		    "无法读取密钥文件 %s / cannot read key file %s", path, path);
		goto out;
	}
	if ((bio = BIO_new_mem_buf(b.p, (int)b.len)) == NULL) {
		oc_err_set(err, OC_ENOMEM, "内存不足 / out of memory");
		goto out;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, pass_cb, (void *)pass);
	if (pkey == NULL) {
		oc_err_openssl(err, OC_EINVAL, "密钥文件 %s 无法解析（不是 PEM 私钥，"
		    "或口令错误） / cannot read key file %s (not a PEM private "
		    "key, or wrong passphrase)", path, path);
		goto out;
	}
	s = oc_signer_from_pkey(pkey, err);
out:
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	oc_buf_cleanse(&b);
	return s;
}
