/*
 * objects.c — what is on a token: listing objects, storing a certificate
 * next to its key, deleting a key pair, and rebuilding public keys from
 * PKCS#11 attributes.
 *
 * Public keys are rebuilt with OSSL_PARAM_BLD + EVP_PKEY_fromdata from
 * CKA_EC_PARAMS/CKA_EC_POINT or CKA_MODULUS/CKA_PUBLIC_EXPONENT: nothing
 * here touches the deprecated EC_KEY / RSA structures.  CKA_EC_POINT is
 * meant to be a DER OCTET STRING around the point (SoftHSM2 does that);
 * some tokens return the bare point, and both are accepted.
 *
 * A certificate is stored only when its public key equals the public key
 * of a private key already on the token, and it takes that key's CKA_ID:
 * that pairing is what lets the agent and other PKCS#11 software find the
 * key for a certificate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "onecert/token.h"
#include "token/internal.h"

int
oc__pkey_keyid(EVP_PKEY *pkey, unsigned char id[20], struct oc_err *err)
{
	X509_PUBKEY *xp = NULL;
	const unsigned char *pk = NULL;
	int pklen = 0, rc = OC_ECRYPTO;
	unsigned int mdlen = 0;

	if (X509_PUBKEY_set(&xp, pkey) != 1 ||
	    X509_PUBKEY_get0_param(NULL, &pk, &pklen, NULL, xp) != 1 ||
	    EVP_Digest(pk, (size_t)pklen, id, &mdlen, EVP_sha1(), NULL) != 1 ||
	    mdlen != 20) {
		rc = oc_err_openssl(err, OC_ECRYPTO,
		    "cannot compute the key identifier");
		goto out;
	}
	rc = 0;
out:
	X509_PUBKEY_free(xp);
	return rc;
}

/* The curve named by a CKA_EC_PARAMS value (namedCurve OID); NID_undef
 * for anything else. */
static int
ec_params_nid(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	ASN1_OBJECT *obj;
	int nid;

	if (der == NULL || len == 0)
		return NID_undef;
	if ((obj = d2i_ASN1_OBJECT(NULL, &p, (long)len)) == NULL)
		return NID_undef;
	nid = (p == der + len) ? OBJ_obj2nid(obj) : NID_undef;
	ASN1_OBJECT_free(obj);
	return nid;
}

enum oc_algo
oc__p11_key_algo(struct oc_p11 *p11, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o)
{
	CK_ULONG kt = oc__p11_attr_ulong(p11, h, o, CKA_KEY_TYPE,
	    (CK_ULONG)-1);
	unsigned char *v = NULL;
	size_t len = 0;
	enum oc_algo a = OC_ALGO_NONE;
	int nid;

	if (kt == CKK_RSA)
		return OC_ALGO_RSA;
	if (kt != CKK_EC)
		return OC_ALGO_NONE;
	if (oc__p11_attr(p11, h, o, CKA_EC_PARAMS, &v, &len) != CKR_OK)
		return OC_ALGO_NONE;
	nid = ec_params_nid(v, len);
	if (nid == NID_X9_62_prime256v1)
		a = OC_ALGO_EC;
	else if (nid == NID_sm2)
		a = OC_ALGO_SM2;
	free(v);
	return a;
}

EVP_PKEY *
oc__p11_pubkey_attrs(struct oc_p11 *p11, CK_SESSION_HANDLE h,
    CK_OBJECT_HANDLE o, struct oc_err *err)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	ASN1_OCTET_STRING *os = NULL;
	unsigned char *a = NULL, *b = NULL;
	const unsigned char *pt, *p;
	size_t alen = 0, blen = 0, ptlen;
	const char *type, *group;
	CK_ULONG kt;
	int nid;

	kt = oc__p11_attr_ulong(p11, h, o, CKA_KEY_TYPE, (CK_ULONG)-1);
	if ((bld = OSSL_PARAM_BLD_new()) == NULL) {
		oc_err_openssl(err, OC_ENOMEM, "out of memory");
		goto out;
	}
	if (kt == CKK_RSA) {
		if (oc__p11_attr(p11, h, o, CKA_MODULUS, &a, &alen) != CKR_OK ||
		    oc__p11_attr(p11, h, o, CKA_PUBLIC_EXPONENT, &b, &blen) !=
		    CKR_OK || alen == 0 || blen == 0) {
			oc_err_set(err, OC_ENOTFOUND,
			    "the RSA key object has no modulus or exponent");
			goto out;
		}
		type = "RSA";
		if ((bn_n = BN_bin2bn(a, (int)alen, NULL)) == NULL ||
		    (bn_e = BN_bin2bn(b, (int)blen, NULL)) == NULL ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e)) {
			oc_err_openssl(err, OC_ECRYPTO,
			    "cannot build the RSA public key");
			goto out;
		}
	} else if (kt == CKK_EC) {
		if (oc__p11_attr(p11, h, o, CKA_EC_PARAMS, &a, &alen) != CKR_OK ||
		    oc__p11_attr(p11, h, o, CKA_EC_POINT, &b, &blen) != CKR_OK ||
		    alen == 0 || blen == 0) {
			oc_err_set(err, OC_ENOTFOUND,
			    "the EC key object has no curve or point");
			goto out;
		}
		nid = ec_params_nid(a, alen);
		if (nid == NID_undef) {
			oc_err_set(err, OC_EUNSUPPORTED,
			    "the EC key is not on a named curve");
			goto out;
		}
		type = nid == NID_sm2 ? "SM2" : "EC";
		group = OBJ_nid2sn(nid);
		/* DER OCTET STRING around the point, or the bare point. */
		pt = b;
		ptlen = blen;
		p = b;
		if (blen > 2 && b[0] == 0x04 &&
		    (os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)blen)) != NULL &&
		    p == b + blen) {
			pt = ASN1_STRING_get0_data(os);
			ptlen = (size_t)ASN1_STRING_length(os);
		}
		if (!OSSL_PARAM_BLD_push_utf8_string(bld,
		    OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
		    !OSSL_PARAM_BLD_push_octet_string(bld,
		    OSSL_PKEY_PARAM_PUB_KEY, pt, ptlen)) {
			oc_err_openssl(err, OC_ECRYPTO,
			    "cannot build the EC public key");
			goto out;
		}
	} else {
		oc_err_set(err, OC_EUNSUPPORTED,
		    "unsupported key type 0x%lx on the token", (unsigned long)kt);
		goto out;
	}
	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		oc_err_openssl(err, OC_ECRYPTO,
		    "the token's public key is not valid");
		EVP_PKEY_free(pkey);
		pkey = NULL;
		goto out;
	}
out:
	ASN1_OCTET_STRING_free(os);
	BN_free(bn_n);
	BN_free(bn_e);
	free(a);
	free(b);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

/* The public key in a certificate object. */
static EVP_PKEY *
pubkey_of_cert(struct oc_p11 *p11, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o,
    struct oc_err *err)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t len = 0;
	X509 *x = NULL;
	EVP_PKEY *pkey = NULL;

	if (oc__p11_attr(p11, h, o, CKA_VALUE, &der, &len) != CKR_OK ||
	    len == 0) {
		oc_err_set(err, OC_ENOTFOUND, "the certificate object is empty");
		goto out;
	}
	p = der;
	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL ||
	    (pkey = X509_get_pubkey(x)) == NULL)
		oc_err_openssl(err, OC_EINVAL,
		    "the certificate object does not parse");
out:
	X509_free(x);
	free(der);
	return pkey;
}

/* The first object of class cls with CKA_ID id; CK_INVALID_HANDLE if
 * none. */
static CK_OBJECT_HANDLE
find_by_id(struct oc_p11 *p11, CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls,
    const unsigned char *id, size_t idlen)
{
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_ID, (void *)id, idlen },
	};
	CK_OBJECT_HANDLE *v = NULL, o = CK_INVALID_HANDLE;
	size_t n = 0;

	if (oc__p11_find(p11, h, t, 2, &v, &n, NULL) == 0 && n > 0)
		o = v[0];
	free(v);
	return o;
}

EVP_PKEY *
oc__p11_pubkey_of(struct oc_p11 *p11, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o,
    struct oc_err *err)
{
	CK_ULONG cls = oc__p11_attr_ulong(p11, h, o, CKA_CLASS, (CK_ULONG)-1);
	unsigned char *id = NULL;
	size_t idlen = 0;
	CK_OBJECT_HANDLE other;
	EVP_PKEY *pkey = NULL;

	if (cls == CKO_PUBLIC_KEY)
		return oc__p11_pubkey_attrs(p11, h, o, err);
	if (cls == CKO_CERTIFICATE)
		return pubkey_of_cert(p11, h, o, err);
	if (oc__p11_attr(p11, h, o, CKA_ID, &id, &idlen) == CKR_OK &&
	    idlen > 0) {
		other = find_by_id(p11, h, CKO_PUBLIC_KEY, id, idlen);
		if (other != CK_INVALID_HANDLE &&
		    (pkey = oc__p11_pubkey_attrs(p11, h, other, err)) != NULL)
			goto out;
		other = find_by_id(p11, h, CKO_CERTIFICATE, id, idlen);
		if (other != CK_INVALID_HANDLE &&
		    (pkey = pubkey_of_cert(p11, h, other, err)) != NULL)
			goto out;
	}
	/* An RSA private key carries its modulus and public exponent. */
	if ((pkey = oc__p11_pubkey_attrs(p11, h, o, err)) == NULL)
		oc_err_set(err, OC_ENOTFOUND,
		    "no public key found for the private key");
out:
	free(id);
	return pkey;
}

static const char *
class_name(CK_ULONG cls)
{
	switch (cls) {
	case CKO_PRIVATE_KEY: return "private";
	case CKO_PUBLIC_KEY: return "public";
	case CKO_CERTIFICATE: return "cert";
	case CKO_SECRET_KEY: return "secret";
	case CKO_DATA: return "data";
	default: return "other";
	}
}

static int
class_rank(const char *c)
{
	static const char *order[] = { "private", "public", "cert", "secret",
	    "data", "other" };

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (strcmp(order[i], c) == 0)
			return (int)i;
	return 99;
}

static int
obj_cmp(const void *a, const void *b)
{
	const struct oc_token_object *x = a, *y = b;
	int c = strcmp(x->id_hex, y->id_hex);

	if (c != 0)
		return c;
	c = class_rank(x->cls) - class_rank(y->cls);
	return c != 0 ? c : strcmp(x->label, y->label);
}

static void
read_object(struct oc_p11 *p11, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o,
    struct oc_token_object *ob)
{
	CK_ULONG cls = oc__p11_attr_ulong(p11, h, o, CKA_CLASS, (CK_ULONG)-1);
	unsigned char *v = NULL;
	const unsigned char *p;
	size_t len = 0;

	memset(ob, 0, sizeof(*ob));
	snprintf(ob->cls, sizeof(ob->cls), "%s", class_name(cls));
	if (oc__p11_attr(p11, h, o, CKA_LABEL, &v, &len) == CKR_OK && v) {
		if (len > sizeof(ob->label) - 1)
			len = sizeof(ob->label) - 1;
		memcpy(ob->label, v, len);
		ob->label[len] = '\0';
	}
	free(v);
	v = NULL;
	if (oc__p11_attr(p11, h, o, CKA_ID, &v, &len) == CKR_OK && v)
		oc__hex(v, len > 20 ? 20 : len, ob->id_hex);
	free(v);
	v = NULL;
	if (cls == CKO_PRIVATE_KEY || cls == CKO_PUBLIC_KEY)
		ob->algo = oc__p11_key_algo(p11, h, o);
	if (cls == CKO_PRIVATE_KEY || cls == CKO_SECRET_KEY) {
		/* Absent attributes read as the unsafe answer. */
		ob->sensitive = oc__p11_attr_bool(p11, h, o, CKA_SENSITIVE,
		    false);
		ob->extractable = oc__p11_attr_bool(p11, h, o,
		    CKA_EXTRACTABLE, true);
		ob->never_extractable = oc__p11_attr_bool(p11, h, o,
		    CKA_NEVER_EXTRACTABLE, false);
	}
	if (cls == CKO_CERTIFICATE &&
	    oc__p11_attr(p11, h, o, CKA_VALUE, &v, &len) == CKR_OK && v) {
		p = v;
		ob->cert = d2i_X509(NULL, &p, (long)len);
		if (ob->cert != NULL)
			ob->algo = oc_algo_of_pkey(X509_get0_pubkey(ob->cert));
	}
	free(v);
}

int
oc_token_objects(struct oc_p11 *p11, const char *token, const char *pin,
    struct oc_token_object **out, size_t *n, struct oc_err *err)
{
	struct oc__sess s;
	CK_OBJECT_HANDLE *v = NULL;
	struct oc_token_object *objs = NULL;
	size_t nv = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = oc__p11_open(p11, token, false, pin, &s, err)) != 0)
		return rc;
	if ((rc = oc__p11_find(p11, s.h, NULL, 0, &v, &nv, err)) != 0)
		goto out;
	if ((objs = calloc(nv ? nv : 1, sizeof(*objs))) == NULL) {
		rc = oc_err_set(err, OC_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nv; i++)
		read_object(p11, s.h, v[i], &objs[i]);
	qsort(objs, nv, sizeof(*objs), obj_cmp);
	*out = objs;
	*n = nv;
	objs = NULL;
	rc = 0;
out:
	free(objs);
	free(v);
	oc__p11_close(p11, &s);
	return rc;
}

void
oc_token_objects_free(struct oc_token_object *objs, size_t n)
{
	if (objs == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		X509_free(objs[i].cert);
	free(objs);
}

/* DER of an X509_NAME / ASN1_INTEGER into a malloc'd buffer. */
static unsigned char *
der_name(const X509_NAME *name, int *len)
{
	unsigned char *der = NULL;

	*len = i2d_X509_NAME(name, &der);
	return *len > 0 ? der : NULL;
}

int
oc_token_put_cert(struct oc_p11 *p11, const char *token, const char *pin,
    X509 *cert, const char *label, struct oc_err *err)
{
	struct oc__sess s;
	CK_OBJECT_CLASS priv = CKO_PRIVATE_KEY, ccls = CKO_CERTIFICATE;
	CK_CERTIFICATE_TYPE ctype = CKC_X_509;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ATTRIBUTE ft[] = { { CKA_CLASS, &priv, sizeof(priv) } };
	CK_OBJECT_HANDLE *keys = NULL, *old = NULL, obj;
	size_t nkeys = 0, nold = 0, idlen = 0, klablen = 0, oldlen;
	unsigned char *id = NULL, *klabel = NULL, *certder = NULL;
	unsigned char *subj = NULL, *iss = NULL, *ser = NULL, *olddata;
	int certlen, subjlen, isslen, serlen;
	EVP_PKEY *pub, *kp;
	const char *lab;
	bool matched = false;
	CK_RV rv;
	int rc;

	if (cert == NULL || (pub = X509_get0_pubkey(cert)) == NULL)
		return oc_err_set(err, OC_EINVAL, "no certificate or public key");
	if ((rc = oc__p11_open(p11, token, true, pin, &s, err)) != 0)
		return rc;
	if ((rc = oc__p11_find(p11, s.h, ft, 1, &keys, &nkeys, err)) != 0)
		goto out;
	for (size_t i = 0; i < nkeys && !matched; i++) {
		if ((kp = oc__p11_pubkey_of(p11, s.h, keys[i], NULL)) == NULL)
			continue;
		if (EVP_PKEY_eq(kp, pub) == 1) {
			matched = true;
			if (oc__p11_attr(p11, s.h, keys[i], CKA_ID, &id,
			    &idlen) != CKR_OK)
				id = NULL;
			if (oc__p11_attr(p11, s.h, keys[i], CKA_LABEL, &klabel,
			    &klablen) != CKR_OK)
				klabel = NULL;
		}
		EVP_PKEY_free(kp);
	}
	if (!matched) {
		rc = oc_err_set(err, OC_EINVAL,
		    "the certificate's public key matches no private key on "
		    "token %s", s.info.serial);
		goto out;
	}
	if (id == NULL || idlen == 0) {
		rc = oc_err_set(err, OC_ECONFLICT,
		    "the matching private key has no CKA_ID");
		goto out;
	}
	certlen = i2d_X509(cert, &certder);
	subj = der_name(X509_get_subject_name(cert), &subjlen);
	iss = der_name(X509_get_issuer_name(cert), &isslen);
	serlen = i2d_ASN1_INTEGER(X509_get0_serialNumber(cert), &ser);
	if (certlen <= 0 || subj == NULL || iss == NULL || serlen <= 0) {
		rc = oc_err_openssl(err, OC_ECRYPTO,
		    "cannot encode the certificate");
		goto out;
	}
	/* The same certificate already there: nothing to do but say so. */
	{
		CK_ATTRIBUTE ot[] = {
			{ CKA_CLASS, &ccls, sizeof(ccls) },
			{ CKA_ID, id, idlen },
		};
		if ((rc = oc__p11_find(p11, s.h, ot, 2, &old, &nold, err)) != 0)
			goto out;
	}
	for (size_t i = 0; i < nold; i++) {
		bool same;

		if (oc__p11_attr(p11, s.h, old[i], CKA_VALUE, &olddata,
		    &oldlen) != CKR_OK)
			continue;
		same = oldlen == (size_t)certlen &&
		    memcmp(olddata, certder, oldlen) == 0;
		free(olddata);
		if (same) {
			rc = oc_err_set(err, OC_EEXIST,
			    "this certificate is already on token %s",
			    s.info.serial);
			goto out;
		}
	}
	if (label != NULL && *label != '\0')
		lab = label;
	else
		lab = NULL;
	{
		CK_ATTRIBUTE t[] = {
			{ CKA_CLASS, &ccls, sizeof(ccls) },
			{ CKA_CERTIFICATE_TYPE, &ctype, sizeof(ctype) },
			{ CKA_TOKEN, &yes, sizeof(yes) },
			{ CKA_PRIVATE, &no, sizeof(no) },
			{ CKA_ID, id, idlen },
			{ CKA_SUBJECT, subj, (CK_ULONG)subjlen },
			{ CKA_ISSUER, iss, (CK_ULONG)isslen },
			{ CKA_SERIAL_NUMBER, ser, (CK_ULONG)serlen },
			{ CKA_VALUE, certder, (CK_ULONG)certlen },
			{ CKA_LABEL, (void *)lab, lab ? strlen(lab) : 0 },
		};
		CK_ULONG nt = sizeof(t) / sizeof(t[0]);

		if (lab == NULL) {
			/* The key's label, when it has one. */
			t[nt - 1].pValue = klabel;
			t[nt - 1].ulValueLen = klabel ? klablen : 0;
			if (klabel == NULL)
				nt--;
		}
		rv = p11->f->C_CreateObject(s.h, t, nt, &obj);
	}
	if (rv != CKR_OK) {
		rc = oc_err_ckr(err, rv, OC_ETOKEN,
		    "cannot store the certificate on token %s", s.info.serial);
		goto out;
	}
	/* The key's previous certificate is superseded by this one. */
	for (size_t i = 0; i < nold; i++)
		p11->f->C_DestroyObject(s.h, old[i]);
	rc = 0;
out:
	free(keys);
	free(old);
	free(id);
	free(klabel);
	OPENSSL_free(certder);
	OPENSSL_free(subj);
	OPENSSL_free(iss);
	OPENSSL_free(ser);
	oc__p11_close(p11, &s);
	return rc;
}

int
oc_token_delete_id(struct oc_p11 *p11, const char *token, const char *pin,
    const char *id_hex, struct oc_err *err)
{
	struct oc__sess s;
	unsigned char id[64];
	size_t idlen = sizeof(id), n = 0;
	CK_ATTRIBUTE t[1];
	CK_OBJECT_HANDLE *v = NULL;
	CK_RV rv;
	int rc;

	if (id_hex == NULL || oc__unhex(id_hex, id, &idlen) != 0)
		return oc_err_set(err, OC_EINVAL, "bad key id (hex expected)");
	t[0].type = CKA_ID;
	t[0].pValue = id;
	t[0].ulValueLen = idlen;
	if ((rc = oc__p11_open(p11, token, true, pin, &s, err)) != 0)
		return rc;
	if ((rc = oc__p11_find(p11, s.h, t, 1, &v, &n, err)) != 0)
		goto out;
	if (n == 0) {
		rc = oc_err_set(err, OC_ENOTFOUND,
		    "no object with id %s on token %s", id_hex, s.info.serial);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		rv = p11->f->C_DestroyObject(s.h, v[i]);
		if (rv != CKR_OK) {
			rc = oc_err_ckr(err, rv, OC_ETOKEN,
			    "cannot delete an object with id %s", id_hex);
			goto out;
		}
	}
	rc = 0;
out:
	free(v);
	oc__p11_close(p11, &s);
	return rc;
}

int
oc_token_key_id(EVP_PKEY *pub, char id_hex[41], struct oc_err *err)
{
	unsigned char id[20];
	int rc;

	id_hex[0] = '\0';
	if (pub == NULL)
		return oc_err_set(err, OC_EINVAL, "no public key");
	if ((rc = oc__pkey_keyid(pub, id, err)) != 0)
		return rc;
	oc__hex(id, sizeof(id), id_hex);
	return 0;
}
