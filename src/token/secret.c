/*
 * secret.c — AES-256 keys that live on the CA's own token, and
 * AES-256-GCM with them (CKM_AES_GCM).  The CA escrows each USB key's SO
 * PIN encrypted this way (SPEC 3.4 解锁), so the key that protects them
 * never exists outside the HSM.
 *
 * Layout of a ciphertext: 12-byte IV || ciphertext || 16-byte tag.  The IV
 * is random (OpenSSL's DRBG) for every message; with 96-bit random IVs a
 * key is good for far more messages than a CA will ever escrow.  The
 * token appends the tag to the ciphertext itself (PKCS#11 2.40 GCM), so
 * the layout is the IV followed by what C_Encrypt returns.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "onecert/token.h"
#include "token/internal.h"

#define GCM_IV 12
#define GCM_TAG 16
#define SECRET_MAX (16u * 1024 * 1024)   /* one message, at most */

/* The AES key labelled label; OC_ENOTFOUND / OC_ECONFLICT (several). */
static int
find_secret(struct oc_p11 *p11, struct oc__sess *s, const char *label,
    CK_OBJECT_HANDLE *out, struct oc_err *err)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_AES;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_LABEL, (void *)label, strlen(label) },
	};
	CK_OBJECT_HANDLE *v = NULL;
	size_t n = 0;
	int rc;

	if ((rc = oc__p11_find(p11, s->h, t, 3, &v, &n, err)) != 0)
		return rc;
	if (n == 0)
		rc = oc_err_set(err, OC_ENOTFOUND,
		    "no AES key labelled \"%s\" on token %s", label,
		    s->info.serial);
	else if (n > 1)
		rc = oc_err_set(err, OC_ECONFLICT,
		    "%zu AES keys are labelled \"%s\" on token %s", n, label,
		    s->info.serial);
	else
		*out = v[0];
	free(v);
	return rc;
}

static bool
label_ok(const char *label)
{
	return label != NULL && *label != '\0' && strlen(label) <= 64;
}

int
oc_token_secret_create(struct oc_p11 *p11, const char *token, const char *pin,
    const char *label, struct oc_err *err)
{
	struct oc__sess s;
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_AES;
	CK_ULONG len = 32;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_MECHANISM mech = { CKM_AES_KEY_GEN, NULL, 0 };
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_VALUE_LEN, &len, sizeof(len) },
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_PRIVATE, &yes, sizeof(yes) },
		{ CKA_SENSITIVE, &yes, sizeof(yes) },
		{ CKA_EXTRACTABLE, &no, sizeof(no) },
		{ CKA_ENCRYPT, &yes, sizeof(yes) },
		{ CKA_DECRYPT, &yes, sizeof(yes) },
		{ CKA_WRAP, &no, sizeof(no) },
		{ CKA_UNWRAP, &no, sizeof(no) },
		{ CKA_LABEL, (void *)label, label ? strlen(label) : 0 },
	};
	CK_OBJECT_HANDLE key;
	struct oc_err tmp;
	CK_RV rv;
	int rc;

	if (!label_ok(label))
		return oc_err_set(err, OC_EINVAL,
		    "a key label is 1 to 64 bytes long");
	if ((rc = oc__p11_open(p11, token, true, pin, &s, err)) != 0)
		return rc;
	rc = find_secret(p11, &s, label, &key, &tmp);
	if (rc != OC_ENOTFOUND) {
		if (rc == 0 || rc == OC_ECONFLICT)
			rc = oc_err_set(err, OC_EEXIST,
			    "an AES key labelled \"%s\" already exists on "
			    "token %s", label, s.info.serial);
		else if (err != NULL)
			*err = tmp;
		goto out;
	}
	rv = p11->f->C_GenerateKey(s.h, &mech, t, sizeof(t) / sizeof(t[0]),
	    &key);
	if (rv != CKR_OK) {
		rc = oc_err_ckr(err, rv, OC_ETOKEN,
		    "cannot generate an AES key on token %s", s.info.serial);
		goto out;
	}
	rc = 0;
out:
	oc__p11_close(p11, &s);
	return rc;
}

/* A failed GCM call, in words.  SoftHSM2 answers a wrong tag with
 * CKR_GENERAL_ERROR; the standard answer is CKR_ENCRYPTED_DATA_INVALID. */
static int
gcm_err(const struct oc__sess *s, bool enc, CK_RV rv, struct oc_err *err)
{
	if (!enc && (rv == CKR_ENCRYPTED_DATA_INVALID ||
	    rv == CKR_ENCRYPTED_DATA_LEN_RANGE || rv == CKR_FUNCTION_FAILED ||
	    rv == CKR_GENERAL_ERROR))
		return oc_err_ckr(err, rv, OC_ECRYPTO,
		    "decryption failed: the data was altered, or the key or "
		    "associated data is not the one it was encrypted with");
	return oc_err_ckr(err, rv, OC_ETOKEN, "AES-GCM %s failed on token %s",
	    enc ? "encryption" : "decryption", s->info.serial);
}

/* One AES-GCM operation: encrypt (in → IV || ct || tag) or decrypt. */
static int
gcm(struct oc_p11 *p11, const char *token, const char *pin, const char *label,
    bool enc, const unsigned char *in, size_t inlen, const unsigned char *aad,
    size_t aadlen, unsigned char **out, size_t *outlen, struct oc_err *err)
{
	struct oc__sess s;
	CK_OBJECT_HANDLE key;
	unsigned char iv[GCM_IV];
	CK_GCM_PARAMS gp;
	CK_MECHANISM mech = { CKM_AES_GCM, &gp, sizeof(gp) };
	const unsigned char *data;
	unsigned char *buf = NULL;
	size_t off, cap = 0;
	CK_ULONG dlen, n;
	CK_RV rv;
	int rc;

	*out = NULL;
	*outlen = 0;
	if (!label_ok(label))
		return oc_err_set(err, OC_EINVAL,
		    "a key label is 1 to 64 bytes long");
	if ((in == NULL && inlen > 0) || (aad == NULL && aadlen > 0))
		return oc_err_set(err, OC_EINVAL, "bad arguments");
	if (inlen > SECRET_MAX || aadlen > SECRET_MAX)
		return oc_err_set(err, OC_ETOOBIG,
		    "at most %u bytes per message", SECRET_MAX);
	if (!enc && inlen < GCM_IV + GCM_TAG)
		return oc_err_set(err, OC_EINVAL,
		    "the ciphertext is too short (%zu bytes)", inlen);
	if ((rc = oc__p11_open(p11, token, false, pin, &s, err)) != 0)
		return rc;
	if ((rc = find_secret(p11, &s, label, &key, err)) != 0)
		goto out;
	if (enc) {
		if (RAND_bytes(iv, sizeof(iv)) != 1) {
			rc = oc_err_openssl(err, OC_ECRYPTO,
			    "no random IV");
			goto out;
		}
		data = in;
		dlen = (CK_ULONG)inlen;
		off = GCM_IV;
	} else {
		memcpy(iv, in, GCM_IV);
		data = in + GCM_IV;
		dlen = (CK_ULONG)(inlen - GCM_IV);
		off = 0;
	}
	memset(&gp, 0, sizeof(gp));
	gp.pIv = iv;
	gp.ulIvLen = GCM_IV;
	gp.ulIvBits = GCM_IV * 8;
	gp.pAAD = (CK_BYTE_PTR)aad;
	gp.ulAADLen = (CK_ULONG)aadlen;
	gp.ulTagBits = GCM_TAG * 8;
	rv = enc ? p11->f->C_EncryptInit(s.h, &mech, key) :
	    p11->f->C_DecryptInit(s.h, &mech, key);
	if (rv != CKR_OK) {
		rc = gcm_err(&s, enc, rv, err);
		goto out;
	}
	/* The size is known: no length query (GCM decryption on some tokens
	 * cannot answer one without the whole input). */
	n = enc ? dlen + GCM_TAG : dlen;
	cap = off + n;
	if ((buf = malloc(cap ? cap : 1)) == NULL) {
		rc = oc_err_set(err, OC_ENOMEM, "out of memory");
		goto out;
	}
	rv = enc ? p11->f->C_Encrypt(s.h, (CK_BYTE_PTR)data, dlen, buf + off,
	    &n) : p11->f->C_Decrypt(s.h, (CK_BYTE_PTR)data, dlen, buf, &n);
	if (rv != CKR_OK) {
		rc = gcm_err(&s, enc, rv, err);
		goto out;
	}
	if (enc) {
		if (n != dlen + GCM_TAG) {
			rc = oc_err_set(err, OC_ETOKEN,
			    "the token returned %lu bytes of AES-GCM output "
			    "for %lu", (unsigned long)n, (unsigned long)dlen);
			goto out;
		}
		memcpy(buf, iv, GCM_IV);
	}
	*out = buf;
	*outlen = off + n;
	buf = NULL;
	rc = 0;
out:
	if (buf != NULL) {
		OPENSSL_cleanse(buf, cap);
		free(buf);
	}
	oc__p11_close(p11, &s);
	return rc;
}

int
oc_token_encrypt(struct oc_p11 *p11, const char *token, const char *pin,
    const char *label, const unsigned char *in, size_t inlen,
    const unsigned char *aad, size_t aadlen, unsigned char **out,
    size_t *outlen, struct oc_err *err)
{
	return gcm(p11, token, pin, label, true, in, inlen, aad, aadlen, out,
	    outlen, err);
}

int
oc_token_decrypt(struct oc_p11 *p11, const char *token, const char *pin,
    const char *label, const unsigned char *in, size_t inlen,
    const unsigned char *aad, size_t aadlen, unsigned char **out,
    size_t *outlen, struct oc_err *err)
{
	return gcm(p11, token, pin, label, false, in, inlen, aad, aadlen, out,
	    outlen, err);
}
