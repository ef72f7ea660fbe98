/*
 * internal.h — what the files of src/token share and nobody else sees.
 *
 * struct oc_p11 wraps one p11-kit-managed module.  Every operation of
 * token.h follows the same shape: find the token (oc__p11_open), open a
 * session, log in if a PIN is given, work, close the session.  Sessions are
 * never logged out explicitly for the user: login state belongs to the
 * token, not to the session, and a C_Logout would log out every oc_signer
 * that holds a session on the same token.  Closing a session is enough:
 * the token logs out when its last session closes.
 */
#ifndef ONECERT_TOKEN_INTERNAL_H
#define ONECERT_TOKEN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <p11-kit/pkcs11.h>
#include <openssl/evp.h>

#include "onecert/error.h"
#include "onecert/signer.h"
#include "onecert/token.h"

#define OC__P11_MAX_OBJECTS 4096   /* objects read from one search */
#define OC__PIN_MIN 4
#define OC__PIN_MAX 255

struct oc_p11 {
	CK_FUNCTION_LIST *f;
	char module[512];
};

/* An open session on a found token. */
struct oc__sess {
	CK_SESSION_HANDLE h;
	bool open;
	struct oc_token_info info;
};

/* Find `token` (NULL: the only initialized token), open a session (rw or
 * not) and, when pin is not NULL, log in as the user.  On failure nothing
 * stays open.  Close with oc__p11_close (safe on a closed session). */
int oc__p11_open(struct oc_p11 *p11, const char *token, bool rw,
	const char *pin, struct oc__sess *s, struct oc_err *err);
void oc__p11_close(struct oc_p11 *p11, struct oc__sess *s);

/* pin.c: C_Login as CKU_USER with the "already logged in" case checked
 * against the PIN that logged in (see pin.c); PIN errors → OC_EPIN. */
int oc__p11_login(struct oc_p11 *p11, const struct oc_token_info *ti,
	CK_SESSION_HANDLE h, const char *pin, struct oc_err *err);
/* Map a PIN-related CK_RV to OC_EPIN with a bilingual message; any other
 * rv to `code` with msg.  `who` is "PIN" or "SO PIN". */
int oc__pin_err(struct oc_err *err, CK_RV rv, const char *who, int code,
	const char *msg);
/* Is len a PIN length we accept (4..255)? */
bool oc__pin_len_ok(const char *pin);

/* Read one attribute.  *val is malloc'd (NULL for an empty value); free
 * it.  Returns the CK_RV. */
CK_RV oc__p11_attr(struct oc_p11 *p11, CK_SESSION_HANDLE h,
	CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, unsigned char **val,
	size_t *len);
/* CK_BBOOL / CK_ULONG attributes; def when absent or unreadable. */
bool oc__p11_attr_bool(struct oc_p11 *p11, CK_SESSION_HANDLE h,
	CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, bool def);
CK_ULONG oc__p11_attr_ulong(struct oc_p11 *p11, CK_SESSION_HANDLE h,
	CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, CK_ULONG def);

/* Every object matching tmpl (at most OC__P11_MAX_OBJECTS).  *out is
 * malloc'd (NULL when none); free it. */
int oc__p11_find(struct oc_p11 *p11, CK_SESSION_HANDLE h, CK_ATTRIBUTE *tmpl,
	CK_ULONG ntmpl, CK_OBJECT_HANDLE **out, size_t *n, struct oc_err *err);

/* Lower-case hex of len bytes into out (2*len+1).  unhex: 0 or OC_EINVAL;
 * *len is the capacity in, the byte count out. */
void oc__hex(const unsigned char *in, size_t len, char *out);
int oc__unhex(const char *hex, unsigned char *out, size_t *len);

/* objects.c: the public key that belongs to the key object `o` (a private
 * key, public key or certificate): from the public key object with the
 * same CKA_ID, else the certificate with the same CKA_ID, else (RSA) the
 * modulus and exponent of `o` itself.  Caller owns the result. */
EVP_PKEY *oc__p11_pubkey_of(struct oc_p11 *p11, CK_SESSION_HANDLE h,
	CK_OBJECT_HANDLE o, struct oc_err *err);
/* Build a public key from a key object's own attributes (CKA_EC_PARAMS +
 * CKA_EC_POINT, or CKA_MODULUS + CKA_PUBLIC_EXPONENT). */
EVP_PKEY *oc__p11_pubkey_attrs(struct oc_p11 *p11, CK_SESSION_HANDLE h,
	CK_OBJECT_HANDLE o, struct oc_err *err);
/* The algorithm of a key object from CKA_KEY_TYPE and CKA_EC_PARAMS. */
enum oc_algo oc__p11_key_algo(struct oc_p11 *p11, CK_SESSION_HANDLE h,
	CK_OBJECT_HANDLE o);
/* SHA-1 of the subjectPublicKey BIT STRING contents (RFC 5280 4.2.1.2
 * method 1): our CKA_ID. */
int oc__pkey_keyid(EVP_PKEY *pkey, unsigned char id[20], struct oc_err *err);

#endif
