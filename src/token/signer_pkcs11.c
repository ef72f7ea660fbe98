/*
 * signer_pkcs11.c — the oc_signer backend for a key that never leaves a
 * token (signer.h).
 *
 * The signer keeps one logged-in session and the private key's handle (a
 * session-object copy of it where the token allows: session_copy); the PIN
 * is not kept.  A PKCS#11 session runs one operation at a time, so
 * sign() holds a mutex from C_SignInit to the last C_Sign.
 *
 * EC P-256: SHA-256 in software, then CKM_ECDSA, whose raw r || s is
 * turned into the DER ECDSA-Sig-Value that X.509 wants.  RSA:
 * CKM_SHA256_RSA_PKCS, which hashes on the token and returns the PKCS#1
 * v1.5 block as is.  SM2 has no PKCS#11 mechanism on SoftHSM2.
 *
 * The signer borrows the struct oc_p11: unload the module only after the
 * last signer is freed.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "onecert/token.h"
#include "token/internal.h"

struct p11_signer {
	struct oc_p11 *p11;
	CK_SESSION_HANDLE h;
	CK_OBJECT_HANDLE key;
	char serial[17];
	pthread_mutex_t mu;
};

/* raw r || s (each half the length) → DER ECDSA-Sig-Value. */
static int
ecdsa_raw_to_der(const unsigned char *raw, size_t len, unsigned char **der,
    size_t *derlen, struct oc_err *err)
{
	ECDSA_SIG *sig = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *p = NULL;
	int n, rc = OC_ECRYPTO;

	if (len == 0 || len % 2 != 0 || len > 132) {
		rc = oc_err_set(err, OC_ETOKEN,
		    "the token returned an ECDSA signature of odd length %zu",
		    len);
		goto out;
	}
	if ((sig = ECDSA_SIG_new()) == NULL ||
	    (r = BN_bin2bn(raw, (int)(len / 2), NULL)) == NULL ||
	    (s = BN_bin2bn(raw + len / 2, (int)(len / 2), NULL)) == NULL ||
	    ECDSA_SIG_set0(sig, r, s) != 1) {
		rc = oc_err_openssl(err, OC_ECRYPTO,
		    "cannot encode the ECDSA signature");
		goto out;
	}
	r = s = NULL;   /* owned by sig */
	if ((n = i2d_ECDSA_SIG(sig, &p)) <= 0) {
		rc = oc_err_openssl(err, OC_ECRYPTO,
		    "cannot encode the ECDSA signature");
		goto out;
	}
	*der = p;
	*derlen = (size_t)n;
	rc = 0;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(sig);
	return rc;
}

/* A failed signing call, in words. */
static int
sign_err(const struct p11_signer *ps, CK_RV rv, struct oc_err *err)
{
	if (rv == CKR_USER_NOT_LOGGED_IN || rv == CKR_SESSION_HANDLE_INVALID ||
	    rv == CKR_SESSION_CLOSED || rv == CKR_DEVICE_REMOVED ||
	    rv == CKR_TOKEN_NOT_PRESENT)
		return oc_err_ckr(err, rv, OC_ETOKEN,
		    "lost the session on token %s; open the key again",
		    ps->serial);
	return oc_err_ckr(err, rv, OC_ETOKEN, "the token %s could not sign",
	    ps->serial);
}

/* C_SignInit + C_Sign of data with mech; *sig OPENSSL_malloc'd. */
static int
p11_sign(struct p11_signer *ps, CK_MECHANISM_TYPE type,
    const unsigned char *data, size_t len, unsigned char **sig, size_t *siglen,
    struct oc_err *err)
{
	CK_FUNCTION_LIST *f = ps->p11->f;
	CK_MECHANISM mech = { type, NULL, 0 };
	CK_ULONG n = 0;
	unsigned char *buf = NULL;
	CK_RV rv;
	int rc = OC_ETOKEN;

	if ((rv = f->C_SignInit(ps->h, &mech, ps->key)) != CKR_OK) {
		rc = sign_err(ps, rv, err);
		goto out;
	}
	/* A length query leaves the operation active (PKCS#11 5.2). */
	rv = f->C_Sign(ps->h, (CK_BYTE_PTR)data, (CK_ULONG)len, NULL, &n);
	if (rv != CKR_OK) {
		rc = sign_err(ps, rv, err);
		goto out;
	}
	if (n == 0 || n > 1024 || (buf = OPENSSL_malloc(n)) == NULL) {
		/* Finish the operation so the session stays usable. */
		unsigned char tmp[1024];
		CK_ULONG tn = sizeof(tmp);

		f->C_Sign(ps->h, (CK_BYTE_PTR)data, (CK_ULONG)len, tmp, &tn);
		OPENSSL_cleanse(tmp, sizeof(tmp));
		rc = oc_err_set(err, n > 1024 ? OC_ETOKEN : OC_ENOMEM,
		    "cannot hold a %lu-byte signature", (unsigned long)n);
		goto out;
	}
	rv = f->C_Sign(ps->h, (CK_BYTE_PTR)data, (CK_ULONG)len, buf, &n);
	if (rv != CKR_OK) {
		rc = sign_err(ps, rv, err);
		goto out;
	}
	*sig = buf;
	*siglen = n;
	buf = NULL;
	rc = 0;
out:
	OPENSSL_free(buf);
	return rc;
}

static int
signer_sign(struct oc_signer *s, const unsigned char *tbs, size_t tbslen,
    unsigned char **sig, size_t *siglen, struct oc_err *err)
{
	struct p11_signer *ps = s->impl;
	unsigned char md[EVP_MAX_MD_SIZE], *raw = NULL;
	unsigned int mdlen = 0;
	size_t rawlen = 0;
	int rc = OC_EINTERNAL;

	*sig = NULL;
	*siglen = 0;
	if (pthread_mutex_lock(&ps->mu) != 0)
		return oc_err_set(err, OC_EINTERNAL, "cannot lock the signer");
	switch (s->algo) {
	case OC_ALGO_EC:
		if (EVP_Digest(tbs, tbslen, md, &mdlen, EVP_sha256(), NULL) !=
		    1) {
			rc = oc_err_openssl(err, OC_ECRYPTO, "SHA-256 failed");
			goto out;
		}
		if ((rc = p11_sign(ps, CKM_ECDSA, md, mdlen, &raw, &rawlen,
		    err)) != 0)
			goto out;
		rc = ecdsa_raw_to_der(raw, rawlen, sig, siglen, err);
		break;
	case OC_ALGO_RSA:
		rc = p11_sign(ps, CKM_SHA256_RSA_PKCS, tbs, tbslen, sig, siglen,
		    err);
		break;
	default:
		rc = oc_err_set(err, OC_EUNSUPPORTED,
		    "this token offers no mechanism for the key's algorithm");
		break;
	}
out:
	pthread_mutex_unlock(&ps->mu);
	OPENSSL_free(raw);
	OPENSSL_cleanse(md, sizeof(md));
	return rc;
}

static void
signer_destroy(struct oc_signer *s)
{
	struct p11_signer *ps = s->impl;

	if (ps == NULL)
		return;
	/* Closing the session destroys a session copy of the key too. */
	ps->p11->f->C_CloseSession(ps->h);
	pthread_mutex_destroy(&ps->mu);
	free(ps);
	s->impl = NULL;
}

/*
 * The key to sign with: a session-object copy of token key o when the
 * token makes one that is still sensitive and not extractable, else o.
 * SoftHSM2 re-reads a token object's file at every C_SignInit (about a
 * tenth of the signer's time per certificate); a session object lives in
 * the module's memory.  The copy is visible only to this process's
 * sessions and goes away with the session (signer_destroy); the template
 * changes CKA_TOKEN alone, and a token may refuse the copy (CKA_COPYABLE
 * false, or no C_CopyObject), which is fine.
 */
static CK_OBJECT_HANDLE
session_copy(struct oc_p11 *p11, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o)
{
	CK_BBOOL no = CK_FALSE;
	CK_ATTRIBUTE t[] = { { CKA_TOKEN, &no, sizeof(no) } };
	CK_OBJECT_HANDLE c = CK_INVALID_HANDLE;

	if (p11->f->C_CopyObject == NULL ||
	    p11->f->C_CopyObject(h, o, t, 1, &c) != CKR_OK ||
	    c == CK_INVALID_HANDLE)
		return o;
	if (oc__p11_attr_bool(p11, h, c, CKA_TOKEN, true) ||
	    !oc__p11_attr_bool(p11, h, c, CKA_SENSITIVE, false) ||
	    oc__p11_attr_bool(p11, h, c, CKA_EXTRACTABLE, true) ||
	    !oc__p11_attr_bool(p11, h, c, CKA_SIGN, false)) {
		p11->f->C_DestroyObject(h, c);
		return o;
	}
	return c;
}

static const struct oc_signer_ops pkcs11_ops = {
	.name = "pkcs11",
	.sign = signer_sign,
	.destroy = signer_destroy,
};

/* oc_token_signer and oc_token_signer_copy (signer.h): copy asks for a
 * session copy of the key. */
static struct oc_signer *
token_signer(struct oc_p11 *p11, const char *token, const char *pin,
    const char *id_hex, bool copy, struct oc_err *err)
{
	struct oc__sess sess;
	struct oc_signer *s = NULL;
	struct p11_signer *ps = NULL;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_BBOOL yes = CK_TRUE;
	unsigned char id[64];
	size_t idlen = sizeof(id), n = 0;
	CK_ATTRIBUTE t[3] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_TOKEN, &yes, sizeof(yes) },       /* not a session copy */
		{ CKA_ID, id, 0 },
	};
	CK_OBJECT_HANDLE *v = NULL, key;
	EVP_PKEY *pub = NULL;
	enum oc_algo a;
	bool ok = false;

	if (id_hex != NULL) {
		if (oc__unhex(id_hex, id, &idlen) != 0) {
			oc_err_set(err, OC_EINVAL, "bad key id (hex expected)");
			return NULL;
		}
		t[2].ulValueLen = idlen;
	}
	if (oc__p11_open(p11, token, false, pin, &sess, err) != 0)
		return NULL;
	if (oc__p11_find(p11, sess.h, t, id_hex ? 3 : 2, &v, &n, err) != 0)
		goto out;
	if (n == 0) {
		if (id_hex != NULL)
			oc_err_set(err, OC_ENOTFOUND,
			    "no private key with id %s on token %s", id_hex,
			    sess.info.serial);
		else
			oc_err_set(err, OC_ENOTFOUND,
			    "no private key on token %s", sess.info.serial);
		goto out;
	}
	if (n > 1) {
		oc_err_set(err, OC_EINVAL,
		    "token %s holds %zu private keys%s; choose one by id",
		    sess.info.serial, n, id_hex ? " with that id" : "");
		goto out;
	}
	a = oc__p11_key_algo(p11, sess.h, v[0]);
	if (a == OC_ALGO_SM2 || a == OC_ALGO_NONE) {
		oc_err_set(err, OC_EUNSUPPORTED, a == OC_ALGO_SM2 ?
		    "this token offers no SM2 mechanism" :
		    "the key is neither EC P-256 nor RSA");
		goto out;
	}
	if (!oc__p11_attr_bool(p11, sess.h, v[0], CKA_SIGN, false)) {
		oc_err_set(err, OC_EPERM, "the key may not sign (CKA_SIGN)");
		goto out;
	}
	if ((pub = oc__p11_pubkey_of(p11, sess.h, v[0], err)) == NULL)
		goto out;
	if (oc_algo_of_pkey(pub) != a) {
		oc_err_set(err, OC_ETOKEN,
		    "the public key does not match the private key's type");
		goto out;
	}
	key = copy ? session_copy(p11, sess.h, v[0]) : v[0];
	if ((s = OPENSSL_zalloc(sizeof(*s))) == NULL ||
	    (ps = calloc(1, sizeof(*ps))) == NULL) {
		oc_err_set(err, OC_ENOMEM, "out of memory");
		goto out;
	}
	if (pthread_mutex_init(&ps->mu, NULL) != 0) {
		oc_err_set(err, OC_EINTERNAL, "cannot create a mutex");
		goto out;
	}
	ps->p11 = p11;
	ps->h = sess.h;
	ps->key = key;
	memcpy(ps->serial, sess.info.serial, sizeof(ps->serial));
	s->ops = &pkcs11_ops;
	s->algo = a;
	s->pub = pub;
	s->impl = ps;
	pub = NULL;
	ps = NULL;
	sess.open = false;   /* the signer owns the session now */
	ok = true;
out:
	free(v);
	free(ps);
	EVP_PKEY_free(pub);
	oc__p11_close(p11, &sess);
	if (!ok) {
		OPENSSL_free(s);
		s = NULL;
	}
	return s;
}

struct oc_signer *
oc_token_signer(struct oc_p11 *p11, const char *token, const char *pin,
    const char *id_hex, struct oc_err *err)
{
	return token_signer(p11, token, pin, id_hex, false, err);
}

struct oc_signer *
oc_token_signer_copy(struct oc_p11 *p11, const char *token, const char *pin,
    const char *id_hex, struct oc_err *err)
{
	return token_signer(p11, token, pin, id_hex, true, err);
}
