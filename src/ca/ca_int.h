/*
 * ca_int.h — internals shared by the CA engine's files: key storage
 * (keys.c), the signer process (signerproc.c) and the engine (ca.c,
 * lifecycle.c).
 */
#ifndef ONECERT_CA_INT_H
#define ONECERT_CA_INT_H

#include "onecert/ca.h"
#include "onecert/config.h"
#include "onecert/token.h"

enum { OC_KEY_ROOT = 0, OC_KEY_ISSUING = 1, OC_KEY_OCSP = 2, OC_KEY_COUNT = 3 };
extern const char *const oc__key_names[OC_KEY_COUNT];

/* The CA's private keys, opened in the signer process (or by init). */
struct oc__keys {
	struct oc_signer *s[OC_KEY_COUNT];
	struct oc_p11 *p11;          /* pkcs11 mode */
	char token[33];
	char *pin;                   /* HSM user PIN (cleansed on close) */
	bool pkcs11;
	unsigned char escrow_key[32];/* file mode only */
};

/* Create the keys of a new CA: writes [keys]/[pkcs11] into cfg and the
 * key material under DIR (HSM token, wrapped or development keys, escrow
 * key).  pubs[i] get the public keys (caller frees). */
int oc__keys_create(const char *dir, struct oc_config *cfg, enum oc_algo algo,
	bool dev_file_keys, const char *module, EVP_PKEY *pubs[OC_KEY_COUNT],
	struct oc_err *err);
int oc__keys_open(const char *dir, const struct oc_config *cfg,
	struct oc__keys *k, struct oc_err *err);
void oc__keys_close(struct oc__keys *k);
/* AES-256-GCM with the escrow key (on the HSM in pkcs11 mode). */
int oc__keys_escrow(struct oc__keys *k, bool encrypt, const unsigned char *in,
	size_t inlen, const unsigned char *aad, size_t aadlen,
	unsigned char **out, size_t *outlen, struct oc_err *err);

/* The signer process.  start forks; the child opens the keys and serves
 * requests until the parent closes its end.  */
struct oc__sproc;
struct oc__sproc *oc__sproc_start(const char *dir, const struct oc_config *cfg,
	struct oc_err *err);
void oc__sproc_stop(struct oc__sproc *p);
bool oc__sproc_alive(struct oc__sproc *p);
/* A remote signer for key k whose public key is pub (reference taken). */
struct oc_signer *oc__sproc_signer(struct oc__sproc *p, int k, EVP_PKEY *pub,
	struct oc_err *err);
int oc__sproc_escrow(struct oc__sproc *p, bool encrypt, const unsigned char *in,
	size_t inlen, const unsigned char *aad, size_t aadlen,
	unsigned char **out, size_t *outlen, struct oc_err *err);

/* path = DIR/rel; OC_EINVAL if it does not fit. */
int oc__path(char *out, size_t cap, const char *dir, const char *rel);

#endif
