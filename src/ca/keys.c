/*
 * keys.c — where a CA's private keys live and how they are opened.
 *
 * Two modes, chosen at `ca init` and written to DIR/ca.ini:
 *
 *  pkcs11 (default)  A SoftHSM2 token of the CA's own (DIR/hsm, PIN in
 *                    DIR/private/hsm.pin).  EC and RSA keys are generated
 *                    on the token, non-extractable, and sign there.  SM2:
 *                    SoftHSM2 has no SM2 mechanism, so SM2 keys are made in
 *                    memory and stored only wrapped (AES-256-GCM) under a
 *                    non-extractable AES key on the token; the signer
 *                    process unwraps them into its own memory at start
 *                    (docs/sm2.md).  The SO-PIN escrow key is another AES
 *                    key on the token.
 *  file              Development only (--dev-file-keys): PEM keys and a raw
 *                    escrow key in DIR/private, mode 0600.
 *
 * Only the signer process (and `ca init`) calls oc__keys_open.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "ca/ca_int.h"
#include "onecert/buf.h"

const char *const oc__key_names[OC_KEY_COUNT] = { "root", "issuing", "ocsp" };

#define WRAP_LABEL "onecert-wrap"
#define ESCROW_LABEL "onecert-escrow"

int
oc__path(char *out, size_t cap, const char *dir, const char *rel)
{
	int n = snprintf(out, cap, "%s/%s", dir, rel);

	if (n < 0 || (size_t)n >= cap)
		return OC_EINVAL;
	return 0;
}

int
oc_ca_random_pin(char *out, size_t n)
{
	static const char alpha[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
	unsigned char r[64];

	if (n >= sizeof(r) || RAND_bytes(r, (int)n) != 1)
		return OC_ECRYPTO;
	for (size_t i = 0; i < n; i++)
		out[i] = alpha[r[i] % (sizeof(alpha) - 1)];
	out[n] = '\0';
	OPENSSL_cleanse(r, sizeof(r));
	return 0;
}

static int
write_private(const char *dir, const char *rel, const void *data, size_t len,
    struct oc_err *err)
{
	char path[4096];

	if (oc__path(path, sizeof(path), dir, rel) != 0)
		return oc_err_set(err, OC_EINVAL, "path too long");
	if (oc_write_file_atomic(path, data, len, 0600) != 0)
		return oc_err_set(err, OC_EIO, "cannot write %s: %s", path, strerror(errno));
	return 0;
}

static char *
read_pin_file(const char *dir, const char *rel, struct oc_err *err)
{
	char path[4096];
	struct oc_buf b;
	char *pin = NULL;

	oc_buf_init(&b, 512);
	if (oc__path(path, sizeof(path), dir, rel) != 0 || oc_buf_read_file(&b, path) != 0) {
		oc_err_set(err, OC_ECONFIG, "cannot read the HSM PIN file %s/%s", dir, rel);
		goto out;
	}
	b.p[strcspn((char *)b.p, "\r\n")] = '\0';
	pin = strdup((char *)b.p);
out:
	oc_buf_cleanse(&b);
	return pin;
}

static int
softhsm_setup(const char *dir, struct oc_err *err)
{
	char path[4096], conf[8192];

	if (oc__path(path, sizeof(path), dir, "hsm/tokens") != 0)
		return oc_err_set(err, OC_EINVAL, "path too long");
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return oc_err_set(err, OC_EIO, "cannot create %s: %s", path, strerror(errno));
	snprintf(conf, sizeof(conf),
	    "# SoftHSM2 token store of this CA's keys (written by onecert ca init)\n"
	    "directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n"
	    "slots.removable = false\n", path);
	if (oc__path(path, sizeof(path), dir, "hsm/softhsm2.conf") != 0 ||
	    oc_write_file_atomic(path, conf, strlen(conf), 0600) != 0)
		return oc_err_set(err, OC_EIO, "cannot write the SoftHSM2 configuration");
	return 0;
}

/* Point SoftHSM2 at the CA's token store before the module is loaded. */
static int
softhsm_env(const char *dir, const struct oc_config *cfg, struct oc_err *err)
{
	const char *rel = oc_config_get(cfg, "pkcs11", "softhsm_conf", "hsm/softhsm2.conf");
	char path[4096];

	if (rel[0] == '\0')
		return 0;   /* another module: nothing to point at */
	if (rel[0] == '/')
		snprintf(path, sizeof(path), "%s", rel);
	else if (oc__path(path, sizeof(path), dir, rel) != 0)
		return oc_err_set(err, OC_EINVAL, "path too long");
	setenv("SOFTHSM2_CONF", path, 1);
	return 0;
}

static int
write_pem_key(const char *dir, const char *name, EVP_PKEY *pkey, struct oc_err *err)
{
	BIO *mem = BIO_new(BIO_s_mem());
	char rel[64];
	char *data;
	long len;
	int rc = OC_ECRYPTO;

	if (mem == NULL || !PEM_write_bio_PrivateKey(mem, pkey, NULL, NULL, 0, NULL, NULL)) {
		oc_err_openssl(err, OC_ECRYPTO, "cannot encode the %s key", name);
		goto out;
	}
	len = BIO_get_mem_data(mem, &data);
	snprintf(rel, sizeof(rel), "private/%s.key", name);
	rc = write_private(dir, rel, data, (size_t)len, err);
	OPENSSL_cleanse(data, (size_t)len);
out:
	BIO_free(mem);
	return rc;
}

static int
wrap_key(struct oc_p11 *p11, const char *token, const char *pin, const char *dir,
    const char *name, EVP_PKEY *pkey, struct oc_err *err)
{
	BIO *mem = BIO_new(BIO_s_mem());
	unsigned char *ct = NULL;
	char *pem = NULL;
	long plen = 0;
	size_t clen = 0;
	char aad[64], rel[64];
	int rc = OC_ECRYPTO;

	/* PKCS#8 PEM: the one encoding that keeps an SM2 key an SM2 key. */
	if (mem == NULL || !PEM_write_bio_PrivateKey(mem, pkey, NULL, NULL, 0, NULL, NULL)) {
		oc_err_openssl(err, OC_ECRYPTO, "cannot encode the %s key", name);
		goto out;
	}
	plen = BIO_get_mem_data(mem, &pem);
	snprintf(aad, sizeof(aad), "onecert:key:%s", name);
	if ((rc = oc_token_encrypt(p11, token, pin, WRAP_LABEL, (unsigned char *)pem,
	    (size_t)plen, (const unsigned char *)aad, strlen(aad), &ct, &clen, err)) != 0)
		goto out;
	snprintf(rel, sizeof(rel), "private/%s.key.wrapped", name);
	rc = write_private(dir, rel, ct, clen, err);
out:
	if (pem != NULL)
		OPENSSL_cleanse(pem, (size_t)plen);
	BIO_free(mem);
	free(ct);
	return rc;
}

static EVP_PKEY *
unwrap_key(struct oc_p11 *p11, const char *token, const char *pin, const char *dir,
    const char *name, struct oc_err *err)
{
	struct oc_buf b;
	unsigned char *pt = NULL;
	BIO *mem = NULL;
	size_t plen = 0;
	char aad[64], rel[64], path[4096];
	EVP_PKEY *pkey = NULL;

	oc_buf_init(&b, 64 * 1024);
	snprintf(rel, sizeof(rel), "private/%s.key.wrapped", name);
	if (oc__path(path, sizeof(path), dir, rel) != 0 || oc_buf_read_file(&b, path) != 0) {
		oc_err_set(err, OC_ECONFIG, "cannot read the wrapped %s key", name);
		goto out;
	}
	snprintf(aad, sizeof(aad), "onecert:key:%s", name);
	if (oc_token_decrypt(p11, token, pin, WRAP_LABEL, b.p, b.len,
	    (const unsigned char *)aad, strlen(aad), &pt, &plen, err) != 0)
		goto out;
	if ((mem = BIO_new_mem_buf(pt, (int)plen)) == NULL ||
	    (pkey = PEM_read_bio_PrivateKey(mem, NULL, NULL, NULL)) == NULL)
		oc_err_openssl(err, OC_ECRYPTO, "cannot decode the unwrapped %s key", name);
	BIO_free(mem);
out:
	if (pt != NULL) {
		OPENSSL_cleanse(pt, plen);
		free(pt);
	}
	oc_buf_cleanup(&b);
	return pkey;
}

int
oc__keys_create(const char *dir, struct oc_config *cfg, enum oc_algo algo,
    bool dev_file_keys, const char *module, EVP_PKEY *pubs[OC_KEY_COUNT],
    struct oc_err *err)
{
	struct oc_p11 *p11 = NULL;
	struct oc_token_info ti;
	char pin[33], so_pin[33], token[40], id_hex[41], key[32];
	unsigned char escrow[32];
	EVP_PKEY *pk = NULL;
	int rc = OC_EINTERNAL;
	int bits;

	memset(pubs, 0, sizeof(EVP_PKEY *) * OC_KEY_COUNT);
	if (dev_file_keys) {
		oc_config_set(cfg, "keys", "mode", "file");
		for (int i = 0; i < OC_KEY_COUNT; i++) {
			bits = algo == OC_ALGO_RSA ? (i == OC_KEY_OCSP ? 2048 : 3072) : 0;
			if ((pk = oc_pkey_generate(algo, bits, err)) == NULL)
				goto out;
			if ((rc = write_pem_key(dir, oc__key_names[i], pk, err)) != 0)
				goto out;
			pubs[i] = pk;
			pk = NULL;
		}
		if (RAND_bytes(escrow, sizeof(escrow)) != 1) {
			rc = oc_err_openssl(err, OC_ECRYPTO, "no randomness");
			goto out;
		}
		rc = write_private(dir, "private/escrow.key", escrow, sizeof(escrow), err);
		OPENSSL_cleanse(escrow, sizeof(escrow));
		goto out;
	}

	oc_config_set(cfg, "keys", "mode", "pkcs11");
	oc_config_set(cfg, "pkcs11", "module", module ? module : OC_P11_DEFAULT_MODULE);
	if (module == NULL) {
		if ((rc = softhsm_setup(dir, err)) != 0)
			goto out;
		oc_config_set(cfg, "pkcs11", "softhsm_conf", "hsm/softhsm2.conf");
	} else {
		oc_config_set(cfg, "pkcs11", "softhsm_conf", "");
	}
	if ((rc = softhsm_env(dir, cfg, err)) != 0)
		goto out;
	if ((rc = oc_ca_random_pin(pin, 24)) != 0 || (rc = oc_ca_random_pin(so_pin, 24)) != 0) {
		oc_err_set(err, rc, "no randomness");
		goto out;
	}
	if ((rc = write_private(dir, "private/hsm.pin", pin, strlen(pin), err)) != 0 ||
	    (rc = write_private(dir, "private/hsm.so-pin", so_pin, strlen(so_pin), err)) != 0)
		goto out;
	oc_config_set(cfg, "pkcs11", "pin_file", "private/hsm.pin");
	if ((p11 = oc_p11_load(module, err)) == NULL) {
		rc = err ? err->code : OC_ETOKEN;
		goto out;
	}
	snprintf(token, sizeof(token), "onecert-ca-%s", oc_algo_name(algo));
	if ((rc = oc_token_init(p11, token, so_pin, pin, &ti, err)) != 0)
		goto out;
	oc_config_set(cfg, "pkcs11", "token", ti.serial);
	if (algo == OC_ALGO_SM2) {
		oc_config_set(cfg, "keys", "wrapped", "true");
		if ((rc = oc_token_secret_create(p11, ti.serial, pin, WRAP_LABEL, err)) != 0)
			goto out;
	}
	if ((rc = oc_token_secret_create(p11, ti.serial, pin, ESCROW_LABEL, err)) != 0)
		goto out;
	for (int i = 0; i < OC_KEY_COUNT; i++) {
		if (algo == OC_ALGO_SM2) {
			if ((pk = oc_pkey_generate(algo, 0, err)) == NULL) {
				rc = OC_ECRYPTO;
				goto out;
			}
			if ((rc = wrap_key(p11, ti.serial, pin, dir, oc__key_names[i], pk, err)) != 0)
				goto out;
			pubs[i] = pk;   /* the caller only uses it as a public key */
			pk = NULL;
			continue;
		}
		bits = algo == OC_ALGO_RSA ? (i == OC_KEY_OCSP ? 2048 : 3072) : 0;
		if ((rc = oc_token_keygen(p11, ti.serial, pin, algo, bits,
		    oc__key_names[i], id_hex, &pubs[i], err)) != 0)
			goto out;
		snprintf(key, sizeof(key), "%s_id", oc__key_names[i]);
		oc_config_set(cfg, "keys", key, id_hex);
	}
	rc = 0;
out:
	EVP_PKEY_free(pk);
	oc_p11_unload(p11);
	OPENSSL_cleanse(pin, sizeof(pin));
	OPENSSL_cleanse(so_pin, sizeof(so_pin));
	if (rc != 0)
		for (int i = 0; i < OC_KEY_COUNT; i++) {
			EVP_PKEY_free(pubs[i]);
			pubs[i] = NULL;
		}
	return rc;
}

int
oc__keys_open(const char *dir, const struct oc_config *cfg, struct oc__keys *k,
    struct oc_err *err)
{
	const char *mode = oc_config_get(cfg, "keys", "mode", "pkcs11");
	const char *algo_s = oc_config_get(cfg, "ca", "algo", "");
	enum oc_algo algo;
	char path[4096], rel[64], key[32];
	struct oc_buf b;
	EVP_PKEY *pk;
	int rc;

	memset(k, 0, sizeof(*k));
	if (oc_algo_parse(algo_s, &algo) != 0)
		return oc_err_set(err, OC_ECONFIG, "ca.algo is missing or wrong in ca.ini");
	if (strcmp(mode, "file") == 0) {
		for (int i = 0; i < OC_KEY_COUNT; i++) {
			snprintf(rel, sizeof(rel), "private/%s.key", oc__key_names[i]);
			if (oc__path(path, sizeof(path), dir, rel) != 0)
				return oc_err_set(err, OC_EINVAL, "path too long");
			if ((k->s[i] = oc_signer_file_open(path, NULL, err)) == NULL)
				goto fail;
		}
		oc_buf_init(&b, 64);
		if (oc__path(path, sizeof(path), dir, "private/escrow.key") != 0 ||
		    oc_buf_read_file(&b, path) != 0 || b.len != sizeof(k->escrow_key)) {
			oc_buf_cleanse(&b);
			oc_err_set(err, OC_ECONFIG, "cannot read the escrow key");
			goto fail;
		}
		memcpy(k->escrow_key, b.p, sizeof(k->escrow_key));
		oc_buf_cleanse(&b);
		return 0;
	}
	if (strcmp(mode, "pkcs11") != 0)
		return oc_err_set(err, OC_ECONFIG, "keys.mode must be pkcs11 or file");
	k->pkcs11 = true;
	if ((rc = softhsm_env(dir, cfg, err)) != 0)
		return rc;
	snprintf(k->token, sizeof(k->token), "%s", oc_config_get(cfg, "pkcs11", "token", ""));
	if ((k->pin = read_pin_file(dir, oc_config_get(cfg, "pkcs11", "pin_file",
	    "private/hsm.pin"), err)) == NULL)
		goto fail;
	if ((k->p11 = oc_p11_load(oc_config_get(cfg, "pkcs11", "module", NULL), err)) == NULL)
		goto fail;
	for (int i = 0; i < OC_KEY_COUNT; i++) {
		if (algo == OC_ALGO_SM2) {
			if ((pk = unwrap_key(k->p11, k->token, k->pin, dir, oc__key_names[i],
			    err)) == NULL)
				goto fail;
			k->s[i] = oc_signer_from_pkey(pk, err);
			EVP_PKEY_free(pk);
			if (k->s[i] == NULL)
				goto fail;
			continue;
		}
		/* This process alone holds the keys: sign with session
		 * copies (signer.h). */
		snprintf(key, sizeof(key), "%s_id", oc__key_names[i]);
		if ((k->s[i] = oc_token_signer_copy(k->p11, k->token, k->pin,
		    oc_config_get(cfg, "keys", key, NULL), err)) == NULL)
			goto fail;
	}
	return 0;
fail:
	oc__keys_close(k);
	return err && err->code ? err->code : OC_ECONFIG;
}

void
oc__keys_close(struct oc__keys *k)
{
	for (int i = 0; i < OC_KEY_COUNT; i++) {
		oc_signer_free(k->s[i]);
		k->s[i] = NULL;
	}
	oc_p11_unload(k->p11);
	k->p11 = NULL;
	if (k->pin != NULL) {
		OPENSSL_cleanse(k->pin, strlen(k->pin));
		free(k->pin);
		k->pin = NULL;
	}
	OPENSSL_cleanse(k->escrow_key, sizeof(k->escrow_key));
}

static int
gcm_file(const unsigned char key[32], bool encrypt, const unsigned char *in,
    size_t inlen, const unsigned char *aad, size_t aadlen, unsigned char **out,
    size_t *outlen, struct oc_err *err)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	unsigned char *o = NULL;
	int n = 0, f = 0, rc = OC_ECRYPTO;

	if (c == NULL)
		return oc_err_set(err, OC_ENOMEM, "out of memory");
	if (encrypt) {
		if ((o = malloc(12 + inlen + 16)) == NULL || RAND_bytes(o, 12) != 1 ||
		    !EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, o) ||
		    (aadlen && !EVP_EncryptUpdate(c, NULL, &n, aad, (int)aadlen)) ||
		    !EVP_EncryptUpdate(c, o + 12, &n, in, (int)inlen) ||
		    !EVP_EncryptFinal_ex(c, o + 12 + n, &f) ||
		    !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, o + 12 + n + f)) {
			oc_err_openssl(err, OC_ECRYPTO, "escrow encryption failed");
			goto out;
		}
		*outlen = 12 + (size_t)n + (size_t)f + 16;
	} else {
		if (inlen < 28) {
			rc = oc_err_set(err, OC_EINVAL, "escrow blob too short");
			goto out;
		}
		if ((o = malloc(inlen)) == NULL ||
		    !EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, in) ||
		    (aadlen && !EVP_DecryptUpdate(c, NULL, &n, aad, (int)aadlen)) ||
		    !EVP_DecryptUpdate(c, o, &n, in + 12, (int)(inlen - 28)) ||
		    !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16,
		    (void *)(in + inlen - 16)) ||
		    EVP_DecryptFinal_ex(c, o + n, &f) <= 0) {
			oc_err_openssl(err, OC_ECRYPTO, "escrow blob does not decrypt (tampered?)");
			goto out;
		}
		*outlen = (size_t)n + (size_t)f;
	}
	*out = o;
	o = NULL;
	rc = 0;
out:
	if (o != NULL) {
		/* GCM hands out plaintext before the tag is checked. */
		OPENSSL_cleanse(o, encrypt ? 12 + inlen + 16 : inlen);
		free(o);
	}
	EVP_CIPHER_CTX_free(c);
	return rc;
}

int
oc__keys_escrow(struct oc__keys *k, bool encrypt, const unsigned char *in,
    size_t inlen, const unsigned char *aad, size_t aadlen, unsigned char **out,
    size_t *outlen, struct oc_err *err)
{
	if (!k->pkcs11)
		return gcm_file(k->escrow_key, encrypt, in, inlen, aad, aadlen, out,
		    outlen, err);
	if (encrypt)
		return oc_token_encrypt(k->p11, k->token, k->pin, ESCROW_LABEL, in,
		    inlen, aad, aadlen, out, outlen, err);
	return oc_token_decrypt(k->p11, k->token, k->pin, ESCROW_LABEL, in, inlen,
	    aad, aadlen, out, outlen, err);
}
