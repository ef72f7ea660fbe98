/*
 * keygen.c — generating a key pair on a token.
 *
 * The private key is born on the token and never leaves it: CKA_TOKEN,
 * CKA_PRIVATE, CKA_SENSITIVE, not CKA_EXTRACTABLE, CKA_SIGN and nothing
 * else (no decrypt, derive or unwrap; SoftHSM2 would default unwrap on,
 * and the public key's encrypt and wrap).  Its CKA_ID (and its public key's) is the SHA-1 of the public key
 * bits, the same value a CA puts in the certificate's SKI by RFC 5280
 * method 1, so certificate, public and private key pair up by ID.  The ID
 * is only known once the key exists, so it is set right after generation;
 * if that fails the half-made pair is destroyed.
 *
 * SM2: PKCS#11 2.40 has no SM2 mechanism and SoftHSM2 offers none, so SM2
 * key generation is refused with OC_EUNSUPPORTED (docs/sm2.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onecert/token.h"
#include "token/internal.h"

/* DER of the namedCurve OID prime256v1 (1.2.840.10045.3.1.7). */
static const unsigned char p256_oid[] = {
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07
};

/* Does the token offer mech (with flag)?  Fills *mi. */
static bool
has_mech(struct oc_p11 *p11, CK_SLOT_ID slot, CK_MECHANISM_TYPE mech,
    CK_FLAGS flag, CK_MECHANISM_INFO *mi)
{
	if (p11->f->C_GetMechanismInfo(slot, mech, mi) != CKR_OK)
		return false;
	return (mi->flags & flag) == flag;
}

int
oc_token_keygen(struct oc_p11 *p11, const char *token, const char *pin,
    enum oc_algo algo, int bits, const char *label, char id_hex[41],
    EVP_PKEY **pub, struct oc_err *err)
{
	struct oc__sess s;
	CK_MECHANISM_INFO mi;
	CK_MECHANISM mech = { 0, NULL, 0 };
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG modbits = 0;
	CK_BYTE pubexp[] = { 0x01, 0x00, 0x01 };
	CK_OBJECT_HANDLE hpub = CK_INVALID_HANDLE, hpriv = CK_INVALID_HANDLE;
	CK_ATTRIBUTE pubt[10], privt[12];
	CK_ULONG npub = 0, npriv = 0;
	EVP_PKEY *pk = NULL;
	unsigned char id[20];
	char hex[41], deflabel[16];
	const char *lab = (label != NULL && *label != '\0') ? label : NULL;
	CK_RV rv;
	int rc;

	if (id_hex != NULL)
		id_hex[0] = '\0';
	if (pub != NULL)
		*pub = NULL;
	if (algo != OC_ALGO_EC && algo != OC_ALGO_RSA && algo != OC_ALGO_SM2)
		return oc_err_set(err, OC_EINVAL, "unknown key algorithm");
	if (algo == OC_ALGO_RSA) {
		if (bits == 0)
			bits = 2048;
		if (bits != 2048 && bits != 3072 && bits != 4096)
			return oc_err_set(err, OC_EINVAL,
			    "RSA keys are 2048, 3072 or 4096 bits, not %d", bits);
		modbits = (CK_ULONG)bits;
	}
	if (lab != NULL && strlen(lab) > 64)
		return oc_err_set(err, OC_EINVAL,
		    "a key label is at most 64 bytes");
	if ((rc = oc__p11_open(p11, token, true, NULL, &s, err)) != 0)
		return rc;
	if (algo == OC_ALGO_SM2) {
		rc = oc_err_set(err, OC_EUNSUPPORTED,
		    "this token offers no SM2 mechanism (token %s); SM2 keys "
		    "need a USB key with SM2 support", s.info.serial);
		goto out;
	}
	if (algo == OC_ALGO_EC &&
	    (!has_mech(p11, s.info.slot, CKM_EC_KEY_PAIR_GEN,
	    CKF_GENERATE_KEY_PAIR, &mi) ||
	    !has_mech(p11, s.info.slot, CKM_ECDSA, CKF_SIGN, &mi))) {
		rc = oc_err_set(err, OC_EUNSUPPORTED,
		    "token %s offers no ECDSA key generation or signing",
		    s.info.serial);
		goto out;
	}
	if (algo == OC_ALGO_RSA) {
		if (!has_mech(p11, s.info.slot, CKM_SHA256_RSA_PKCS, CKF_SIGN,
		    &mi) ||
		    !has_mech(p11, s.info.slot, CKM_RSA_PKCS_KEY_PAIR_GEN,
		    CKF_GENERATE_KEY_PAIR, &mi)) {
			rc = oc_err_set(err, OC_EUNSUPPORTED,
			    "token %s offers no RSA key generation or "
			    "SHA256-RSA-PKCS signing", s.info.serial);
			goto out;
		}
		if (modbits < mi.ulMinKeySize || modbits > mi.ulMaxKeySize) {
			rc = oc_err_set(err, OC_EUNSUPPORTED,
			    "token %s makes RSA keys of %lu to %lu bits only",
			    s.info.serial, (unsigned long)mi.ulMinKeySize,
			    (unsigned long)mi.ulMaxKeySize);
			goto out;
		}
	}
	if ((rc = oc__p11_login(p11, &s.info, s.h, pin, err)) != 0)
		goto out;

#define ADD(t, n, a, v, l) do { \
		(t)[(n)].type = (a); (t)[(n)].pValue = (void *)(v); \
		(t)[(n)].ulValueLen = (l); (n)++; } while (0)
	ADD(pubt, npub, CKA_TOKEN, &yes, sizeof(yes));
	ADD(pubt, npub, CKA_PRIVATE, &no, sizeof(no));
	ADD(pubt, npub, CKA_VERIFY, &yes, sizeof(yes));
	ADD(pubt, npub, CKA_ENCRYPT, &no, sizeof(no));
	ADD(pubt, npub, CKA_WRAP, &no, sizeof(no));
	ADD(privt, npriv, CKA_TOKEN, &yes, sizeof(yes));
	ADD(privt, npriv, CKA_PRIVATE, &yes, sizeof(yes));
	ADD(privt, npriv, CKA_SENSITIVE, &yes, sizeof(yes));
	ADD(privt, npriv, CKA_EXTRACTABLE, &no, sizeof(no));
	ADD(privt, npriv, CKA_SIGN, &yes, sizeof(yes));
	ADD(privt, npriv, CKA_DECRYPT, &no, sizeof(no));
	ADD(privt, npriv, CKA_DERIVE, &no, sizeof(no));
	ADD(privt, npriv, CKA_UNWRAP, &no, sizeof(no));
	if (algo == OC_ALGO_EC) {
		mech.mechanism = CKM_EC_KEY_PAIR_GEN;
		ADD(pubt, npub, CKA_EC_PARAMS, p256_oid, sizeof(p256_oid));
	} else {
		mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
		ADD(pubt, npub, CKA_MODULUS_BITS, &modbits, sizeof(modbits));
		ADD(pubt, npub, CKA_PUBLIC_EXPONENT, pubexp, sizeof(pubexp));
	}
#undef ADD
	rv = p11->f->C_GenerateKeyPair(s.h, &mech, pubt, npub, privt, npriv,
	    &hpub, &hpriv);
	if (rv != CKR_OK) {
		rc = oc_err_ckr(err, rv, OC_ETOKEN,
		    "cannot generate a key pair on token %s", s.info.serial);
		goto out;
	}
	if ((pk = oc__p11_pubkey_attrs(p11, s.h, hpub, err)) == NULL) {
		rc = err ? err->code : OC_ETOKEN;
		goto out;
	}
	if ((rc = oc__pkey_keyid(pk, id, err)) != 0)
		goto out;
	oc__hex(id, sizeof(id), hex);
	if (lab == NULL) {
		snprintf(deflabel, sizeof(deflabel), "key-%.8s", hex);
		lab = deflabel;
	}
	{
		CK_ATTRIBUTE set[] = {
			{ CKA_ID, id, sizeof(id) },
			{ CKA_LABEL, (void *)lab, strlen(lab) },
		};
		if ((rv = p11->f->C_SetAttributeValue(s.h, hpub, set, 2)) !=
		    CKR_OK ||
		    (rv = p11->f->C_SetAttributeValue(s.h, hpriv, set, 2)) !=
		    CKR_OK) {
			rc = oc_err_ckr(err, rv, OC_ETOKEN,
			    "cannot set the key id on token %s", s.info.serial);
			goto out;
		}
	}
	if (id_hex != NULL)
		memcpy(id_hex, hex, sizeof(hex));
	if (pub != NULL) {
		*pub = pk;
		pk = NULL;
	}
	rc = 0;
out:
	if (rc != 0) {
		/* Leave no half-made key pair behind. */
		if (hpriv != CK_INVALID_HANDLE)
			p11->f->C_DestroyObject(s.h, hpriv);
		if (hpub != CK_INVALID_HANDLE)
			p11->f->C_DestroyObject(s.h, hpub);
	}
	EVP_PKEY_free(pk);
	oc__p11_close(p11, &s);
	return rc;
}
