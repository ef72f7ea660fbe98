/*
 * signer.h — "sign these to-be-signed bytes with key K".
 *
 * Every signature onecert makes (certificates, CRLs, OCSP responses, CSRs
 * built on a USB key, login challenges) goes through an oc_signer.  The
 * signer hashes the bytes itself: SHA-256 for ECDSA P-256 and RSA
 * (PKCS#1 v1.5), SM3 with Z(ID = 1234567812345678) for SM2.  The signature
 * it returns is the value that goes into the BIT STRING: a DER
 * ECDSA-Sig-Value for EC and SM2, the raw PKCS#1 block for RSA.
 *
 * Backends are a table of functions, one file each (libuv style):
 *   file    src/pki/signer_file.c       a key in memory (development keys,
 *                                       and SM2 keys unwrapped by the HSM)
 *   pkcs11  src/token/signer_pkcs11.c   a key that never leaves a token
 *   remote  src/ca/signerproc.c         the CA's separate signer process
 *
 * The struct is public so backends can fill it; callers use the functions.
 */
#ifndef ONECERT_SIGNER_H
#define ONECERT_SIGNER_H

#include <stddef.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include "onecert/error.h"

enum oc_algo {
	OC_ALGO_NONE = 0,
	OC_ALGO_EC = 1,   /* ECDSA P-256 with SHA-256 */
	OC_ALGO_SM2 = 2,  /* SM2 with SM3, ID 1234567812345678 */
	OC_ALGO_RSA = 3,  /* RSA 2048/3072 with SHA-256, PKCS#1 v1.5 */
};

/* GM/T 0009 default distinguishing identifier; set explicitly when signing
 * and verifying (OpenSSL 3.0 has no default). */
#define OC_SM2_DISTID "1234567812345678"
#define OC_SM2_DISTID_LEN 16

const char *oc_algo_name(enum oc_algo a);            /* "ec", "sm2", "rsa" */
int oc_algo_parse(const char *s, enum oc_algo *out); /* 0 or OC_EINVAL */
/* The algorithm of a key: EC on P-256 → EC, SM2 curve → SM2, RSA → RSA,
 * anything else → OC_ALGO_NONE. */
enum oc_algo oc_algo_of_pkey(const EVP_PKEY *pkey);
/* Fill alg with the signature AlgorithmIdentifier for a: ecdsa-with-SHA256
 * (no parameters), SM2-with-SM3 1.2.156.10197.1.501 (no parameters),
 * sha256WithRSAEncryption (NULL parameters).  Caller owns *out. */
X509_ALGOR *oc_algo_sigalg_new(enum oc_algo a);

struct oc_signer;

struct oc_signer_ops {
	const char *name;
	/* Sign tbs; *sig is OPENSSL_malloc'd, the caller frees it. */
	int (*sign)(struct oc_signer *s, const unsigned char *tbs, size_t tbslen,
		unsigned char **sig, size_t *siglen, struct oc_err *err);
	void (*destroy)(struct oc_signer *s);   /* free impl only */
};

struct oc_signer {
	const struct oc_signer_ops *ops;
	enum oc_algo algo;
	EVP_PKEY *pub;   /* owned: the public key (never a private key) */
	void *impl;      /* owned by the backend */
};

int oc_signer_sign(struct oc_signer *s, const unsigned char *tbs, size_t tbslen,
	unsigned char **sig, size_t *siglen, struct oc_err *err);
/* Borrowed. */
EVP_PKEY *oc_signer_get0_pubkey(const struct oc_signer *s);
enum oc_algo oc_signer_algo(const struct oc_signer *s);
/* NULL is fine.  Calls ops->destroy, frees pub, then free()s the struct
 * (backends allocate it with calloc or OPENSSL_zalloc: the same malloc, as
 * onecert never calls CRYPTO_set_mem_functions). */
void oc_signer_free(struct oc_signer *s);

/* pkcs11 backend, for a process that keeps a CA key to itself (the CA's
 * signer process): oc_token_signer (token.h), but signing with a
 * session-object copy of the key (CKA_TOKEN false, still sensitive and not
 * extractable) where the token makes one, so that SoftHSM2 does not re-read
 * the key's file at every signature; the token key itself otherwise.  The
 * copy shows in this process's own object listings (oc_token_objects) until
 * the signer is freed. */
struct oc_p11;
struct oc_signer *oc_token_signer_copy(struct oc_p11 *p11, const char *token,
	const char *pin, const char *id_hex, struct oc_err *err);

/* file backend.  oc_signer_from_pkey takes a reference on pkey (which holds
 * the private key; it is used for signing in this process only). */
struct oc_signer *oc_signer_from_pkey(EVP_PKEY *pkey, struct oc_err *err);
/* Load a PEM private key (PKCS#8 or traditional); pass may be NULL. */
struct oc_signer *oc_signer_file_open(const char *path, const char *pass,
	struct oc_err *err);

/* Verify sig over tbs with pub: SHA-256 for EC/RSA, SM3 + distid for SM2.
 * 0 when it verifies, OC_ECRYPTO when it does not. */
int oc_verify_tbs(EVP_PKEY *pub, const unsigned char *tbs, size_t tbslen,
	const unsigned char *sig, size_t siglen, struct oc_err *err);

/* Generate a key pair in memory (development keys, tests): EC P-256, SM2,
 * RSA of `bits` (0 = 2048).  Caller owns the result. */
EVP_PKEY *oc_pkey_generate(enum oc_algo a, int bits, struct oc_err *err);

#endif
