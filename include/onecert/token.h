/*
 * token.h — USB keys and HSMs through PKCS#11 (SoftHSM2 by default).
 *
 * Modules are loaded with p11-kit (p11_kit_module_load / initialize).  The
 * token serial (CK_TOKEN_INFO.serialNumber, trimmed) is the 介质号, the
 * medium serial a company reads on the back of its USB key.  Private keys
 * are generated on the token, sensitive and non-extractable; nothing here
 * ever reads a private key out.
 *
 * Tokens are named by serial or label (serial first); NULL names the only
 * initialized token present (OC_EINVAL when there are several).  PINs are
 * borrowed C strings; this module never keeps a copy beyond a call (an
 * oc_signer keeps its logged-in session, not the PIN; src/token/pin.c
 * keeps an HMAC of the PIN that logged in, under a random per-process key,
 * to check PINs while a token stays logged in).
 *
 * SoftHSM2 reads its configuration from $SOFTHSM2_CONF once per process;
 * onecert never mixes two SoftHSM2 configurations in one process (the CA's
 * keys are reached through the signer process, see src/ca/signerproc.c).
 */
#ifndef ONECERT_TOKEN_H
#define ONECERT_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include "onecert/error.h"
#include "onecert/signer.h"

#define OC_P11_DEFAULT_MODULE "/usr/lib/softhsm/libsofthsm2.so"

struct oc_p11;

/* module NULL: $ONECERT_PKCS11_MODULE, else OC_P11_DEFAULT_MODULE.
 * Caller owns the result; one per process is enough. */
struct oc_p11 *oc_p11_load(const char *module, struct oc_err *err);
void oc_p11_unload(struct oc_p11 *p11);

struct oc_token_info {
	unsigned long slot;
	char label[33];         /* trimmed */
	char serial[17];        /* trimmed: the medium serial 介质号 */
	char manufacturer[33];
	char model[17];
	bool initialized;
	bool user_pin_initialized;
	bool user_pin_locked;
	bool user_pin_low;      /* CKF_USER_PIN_COUNT_LOW / FINAL_TRY */
	bool so_pin_locked;
};

/* Every slot with a token present (initialized or not).  *out is malloc'd;
 * free() it. */
int oc_token_list(struct oc_p11 *p11, struct oc_token_info **out, size_t *n,
	struct oc_err *err);
/* Find an initialized token by serial, else by label.  OC_ENOTFOUND. */
int oc_token_find(struct oc_p11 *p11, const char *serial_or_label,
	struct oc_token_info *out, struct oc_err *err);

/* Initialize the first uninitialized token as a USB key: C_InitToken with
 * so_pin and label, then C_InitPIN with user_pin.  PINs 4..255 bytes.
 * Fills *out (the new serial) on success. */
int oc_token_init(struct oc_p11 *p11, const char *label, const char *so_pin,
	const char *user_pin, struct oc_token_info *out, struct oc_err *err);

/* Generate a key pair on the token: EC P-256 (CKM_EC_KEY_PAIR_GEN) or RSA
 * (`bits`, 0 = 2048).  Private key CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE,
 * not CKA_EXTRACTABLE, CKA_SIGN.  CKA_ID = SHA-1 of the public key bits
 * (the SKI), returned as lower-case hex in id_hex.  *pub (optional) gets the
 * public key; caller owns it.  SM2: OC_EUNSUPPORTED unless the token
 * offers an SM2 mechanism (SoftHSM2 does not; see docs/sm2.md). */
int oc_token_keygen(struct oc_p11 *p11, const char *token, const char *pin,
	enum oc_algo algo, int bits, const char *label, char id_hex[41],
	EVP_PKEY **pub, struct oc_err *err);

/* The CKA_ID onecert gives a key pair: SHA-1 of the public key's BIT
 * STRING contents (RFC 5280 4.2.1.2 method 1, the usual SKI), lower-case
 * hex.  Added: lets callers name a key they hold the public key of. */
int oc_token_key_id(EVP_PKEY *pub, char id_hex[41], struct oc_err *err);

/* A signer for the private key with CKA_ID id_hex (NULL: the only private
 * key on the token).  The signer holds a logged-in session; calls are
 * serialized with a mutex.  Caller owns the result (oc_signer_free). */
struct oc_signer *oc_token_signer(struct oc_p11 *p11, const char *token,
	const char *pin, const char *id_hex, struct oc_err *err);

/* Store cert as a CKO_CERTIFICATE (X.509, public object) with the CKA_ID
 * of the private key whose public key equals the certificate's (for keys
 * made by oc_token_keygen that is the SKI, method 1), CKA_LABEL (NULL: the
 * key's label), CKA_SUBJECT, CKA_ISSUER, CKA_SERIAL_NUMBER.  Refuses
 * (OC_EINVAL) a certificate whose public key matches no private key on
 * the token; OC_EEXIST when this very certificate is already there.  A
 * different certificate already stored for the same key is replaced. */
int oc_token_put_cert(struct oc_p11 *p11, const char *token, const char *pin,
	X509 *cert, const char *label, struct oc_err *err);
/* Remove every object with CKA_ID id_hex (key pair and certificate). */
int oc_token_delete_id(struct oc_p11 *p11, const char *token, const char *pin,
	const char *id_hex, struct oc_err *err);

struct oc_token_object {
	char cls[12];           /* "private", "public", "cert", "secret", "data" */
	char label[65];
	char id_hex[41];
	enum oc_algo algo;      /* keys and certs */
	bool sensitive, extractable, never_extractable;  /* private/secret */
	X509 *cert;             /* cls "cert": owned by the array */
};
/* Every object visible after login (pin NULL: public objects only). */
int oc_token_objects(struct oc_p11 *p11, const char *token, const char *pin,
	struct oc_token_object **out, size_t *n, struct oc_err *err);
void oc_token_objects_free(struct oc_token_object *objs, size_t n);

/* C_SetPIN.  OC_EPIN with "PIN 错误" / "PIN 已锁定" messages. */
int oc_token_change_pin(struct oc_p11 *p11, const char *token,
	const char *old_pin, const char *new_pin, struct oc_err *err);
/* Log in as SO and C_InitPIN: unblocks a locked user PIN. */
int oc_token_unblock(struct oc_p11 *p11, const char *token, const char *so_pin,
	const char *new_user_pin, struct oc_err *err);

/* Secret keys on the CA's own token: an AES-256 key (CKA_TOKEN,
 * CKA_SENSITIVE, not extractable, CKA_ENCRYPT/DECRYPT) under `label`, and
 * AES-256-GCM with it.  Ciphertext layout: 12-byte IV || ciphertext ||
 * 16-byte tag; aad may be NULL.  *out is malloc'd (cleanse it when it is a
 * secret). */
int oc_token_secret_create(struct oc_p11 *p11, const char *token,
	const char *pin, const char *label, struct oc_err *err);
int oc_token_encrypt(struct oc_p11 *p11, const char *token, const char *pin,
	const char *label, const unsigned char *in, size_t inlen,
	const unsigned char *aad, size_t aadlen, unsigned char **out,
	size_t *outlen, struct oc_err *err);
int oc_token_decrypt(struct oc_p11 *p11, const char *token, const char *pin,
	const char *label, const unsigned char *in, size_t inlen,
	const unsigned char *aad, size_t aadlen, unsigned char **out,
	size_t *outlen, struct oc_err *err);

#endif
