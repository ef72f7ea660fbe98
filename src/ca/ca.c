/*
 * ca.c — creating and opening a CA directory, CRLs, escrow and the audit
 * helper.  The lifecycle of end-entity certificates is in lifecycle.c.
 * See include/onecert/ca.h for the layout of a CA directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca/ca_int.h"
#include "ca/ca_priv.h"
#include "store/store_int.h"
#include "onecert/buf.h"
#include "onecert/log.h"

#define DEFAULT_BASE_URL "http://127.0.0.1:8080"

static int
mkdir_p(const char *path, mode_t mode)
{
	char tmp[4096];
	size_t n = strlen(path);

	if (n >= sizeof(tmp))
		return -1;
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, mode) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

int
oc__write_cert_pem(const char *path, X509 *const *certs, int n, struct oc_err *err)
{
	BIO *mem = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int rc = OC_EIO;

	if (mem == NULL)
		return oc_err_set(err, OC_ENOMEM, "out of memory");
	for (int i = 0; i < n; i++)
		if (!PEM_write_bio_X509(mem, certs[i])) {
			rc = oc_err_openssl(err, OC_ECRYPTO, "cannot encode a certificate");
			goto out;
		}
	len = BIO_get_mem_data(mem, &data);
	if (oc_write_file_atomic(path, data, (size_t)len, 0644) != 0) {
		oc_err_set(err, OC_EIO, "cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	BIO_free(mem);
	return rc;
}

static int
write_der(const char *dir, const char *rel, const unsigned char *der, size_t len,
    struct oc_err *err)
{
	char path[4096];

	if (oc__path(path, sizeof(path), dir, rel) != 0)
		return oc_err_set(err, OC_EINVAL, "path too long");
	if (oc_write_file_atomic(path, der, len, 0644) != 0)
		return oc_err_set(err, OC_EIO, "cannot write %s: %s", path, strerror(errno));
	return 0;
}

static int
write_cert_der(const char *dir, const char *rel, X509 *c, struct oc_err *err)
{
	unsigned char *der = NULL;
	int n = i2d_X509(c, &der), rc;

	if (n <= 0)
		return oc_err_openssl(err, OC_ECRYPTO, "cannot encode a certificate");
	rc = write_der(dir, rel, der, (size_t)n, err);
	OPENSSL_free(der);
	return rc;
}

/* Fill the URLs an issuer puts into the certificates it signs. */
void
oc__issuer_urls(const struct oc_config *cfg, const char *algo, const char *key,
    struct oc__urls *u)
{
	const char *base = oc_config_get(cfg, "ca", "base_url", DEFAULT_BASE_URL);

	snprintf(u->crl, sizeof(u->crl), "%s/crl/%s-%s.crl", base, algo, key);
	snprintf(u->ca_issuers, sizeof(u->ca_issuers), "%s/ca/%s-%s.cer", base, algo, key);
	snprintf(u->ocsp, sizeof(u->ocsp), "%s/ocsp", base);
}

int
oc__store_cert(struct oc_store *st, X509 *cert, const char *ca_key,
    enum oc_profile profile, const char *uid, long long company_id,
    long long enrollment_id, const char *medium, const char *org_code,
    const char *replaces, struct oc_err *err)
{
	return oc__store_cert_der(st, cert, NULL, 0, ca_key, profile, uid, company_id,
	    enrollment_id, medium, org_code, replaces, err);
}

int
oc__store_cert_der(struct oc_store *st, X509 *cert, const unsigned char *der_in,
    size_t derlen, const char *ca_key, enum oc_profile profile, const char *uid,
    long long company_id, long long enrollment_id, const char *medium,
    const char *org_code, const char *replaces, struct oc_err *err)
{
	struct oc_cert_rec r;
	unsigned char *der = NULL;
	int n, rc;

	memset(&r, 0, sizeof(r));
	if ((rc = oc_serial_hex(X509_get0_serialNumber(cert), r.serial)) != 0)
		return oc_err_set(err, rc, "bad serial");
	snprintf(r.uid, sizeof(r.uid), "%s", uid ? uid : "");
	snprintf(r.ca, sizeof(r.ca), "%s", ca_key);
	snprintf(r.profile, sizeof(r.profile), "%s", oc_profile_name(profile));
	r.company_id = company_id;
	r.enrollment_id = enrollment_id;
	snprintf(r.medium, sizeof(r.medium), "%s", medium ? medium : "");
	oc_cert_subject_string(cert, NID_commonName, r.subject_cn, sizeof(r.subject_cn));
	snprintf(r.org_code, sizeof(r.org_code), "%s", org_code ? org_code : "");
	snprintf(r.replaces, sizeof(r.replaces), "%s", replaces ? replaces : "");
	{
		struct tm tm;
		const ASN1_TIME *t;

		t = X509_get0_notBefore(cert);
		if (ASN1_TIME_to_tm(t, &tm))
			r.not_before = timegm(&tm);
		t = X509_get0_notAfter(cert);
		if (ASN1_TIME_to_tm(t, &tm))
			r.not_after = timegm(&tm);
	}
	r.issued_at = time(NULL);
	if (der_in != NULL) {
		r.der = (unsigned char *)der_in;   /* only read by the insert */
		r.der_len = derlen;
	} else {
		if ((n = i2d_X509(cert, &der)) <= 0)
			return oc_err_openssl(err, OC_ECRYPTO, "cannot encode the certificate");
		r.der = der;
		r.der_len = (size_t)n;
	}
	rc = oc_store_cert_insert(st, &r, err);
	OPENSSL_free(der);
	return rc;
}

int
oc_ca_init(const struct oc_ca_init_opts *o, struct oc_err *err)
{
	struct oc_config *cfg = NULL;
	struct oc__keys keys;
	struct oc_store *st = NULL;
	EVP_PKEY *pubs[OC_KEY_COUNT] = { NULL, NULL, NULL };
	X509 *root = NULL, *issuing = NULL, *ocsp = NULL;
	char path[4096], root_cn[300], ocsp_cn[300], name[256];
	const char *algo = oc_algo_name(o->algo);
	struct oc__urls ru;
	time_t now = time(NULL);
	int rc = OC_EINVAL;
	bool keys_open = false;

	memset(&keys, 0, sizeof(keys));
	if (o->dir == NULL || o->algo == OC_ALGO_NONE)
		return oc_err_set(err, OC_EINVAL, "ca init needs --dir and --algo");
	if (o->base_url != NULL && strncmp(o->base_url, "http://", 7) != 0 &&
	    strncmp(o->base_url, "https://", 8) != 0)
		return oc_err_set(err, OC_EINVAL, "--base-url must start with http:// or https://");
	if (oc__path(path, sizeof(path), o->dir, "ca.ini") != 0)
		return oc_err_set(err, OC_EINVAL, "path too long");
	if (access(path, F_OK) == 0)
		return oc_err_set(err, OC_EEXIST, "%s already holds a CA (ca.ini exists)", o->dir);
	if (mkdir_p(o->dir, 0755) != 0)
		return oc_err_set(err, OC_EIO, "cannot create %s: %s", o->dir, strerror(errno));
	static const char *const subdirs[] = { "private", "hsm", "crl", "ca" };
	for (size_t i = 0; i < 4; i++) {
		if (oc__path(path, sizeof(path), o->dir, subdirs[i]) != 0 ||
		    mkdir_p(path, i < 2 ? 0700 : 0755) != 0)
			return oc_err_set(err, OC_EIO, "cannot create %s: %s", path, strerror(errno));
	}

	if ((cfg = oc_config_new()) == NULL)
		return oc_err_set(err, OC_ENOMEM, "out of memory");
	snprintf(name, sizeof(name), "%s", o->name ? o->name : "");
	if (name[0] == '\0')
		snprintf(name, sizeof(name), "onecert %s CA",
		    o->algo == OC_ALGO_EC ? "ECC" : o->algo == OC_ALGO_SM2 ? "SM2" : "RSA");
	snprintf(root_cn, sizeof(root_cn), "%s Root", name);
	snprintf(ocsp_cn, sizeof(ocsp_cn), "%s OCSP Responder", name);
	oc_config_set(cfg, "ca", "algo", algo);
	oc_config_set(cfg, "ca", "name", name);
	oc_config_set(cfg, "ca", "base_url", o->base_url ? o->base_url : DEFAULT_BASE_URL);
	oc_config_set(cfg, "ca", "enterprise_days", "365");
	oc_config_set(cfg, "ca", "personal_days", "365");
	oc_config_set(cfg, "ca", "crl_next_update", "1d");
	oc_config_set(cfg, "ca", "database", "ca.db");

	if ((rc = oc__keys_create(o->dir, cfg, o->algo, o->dev_file_keys, o->module, pubs, err)) != 0)
		goto out;
	if ((rc = oc__keys_open(o->dir, cfg, &keys, err)) != 0)
		goto out;
	keys_open = true;

	{
		struct oc_cert_template t = {
			.profile = OC_PROFILE_ROOT, .pubkey = pubs[OC_KEY_ROOT],
			.subject = { .c = "CN", .o = "onecert", .cn = root_cn },
			.not_before = now - 60, .not_after = now + 20 * 366 * 86400L,
		};
		struct oc_cert_issuer iss = { .signer = keys.s[OC_KEY_ROOT] };
		if ((root = oc_cert_issue(&t, &iss, err)) == NULL) {
			rc = err ? err->code : OC_ECRYPTO;
			goto out;
		}
	}
	oc__issuer_urls(cfg, algo, "root", &ru);
	{
		struct oc_cert_template t = {
			.profile = OC_PROFILE_ISSUING, .pubkey = pubs[OC_KEY_ISSUING],
			.subject = { .c = "CN", .o = "onecert", .cn = name },
			.not_before = now - 60, .not_after = now + 10 * 366 * 86400L,
		};
		struct oc_cert_issuer iss = { .cert = root, .signer = keys.s[OC_KEY_ROOT],
		    .crl_url = ru.crl, .ca_issuers_url = ru.ca_issuers };
		if ((issuing = oc_cert_issue(&t, &iss, err)) == NULL) {
			rc = err ? err->code : OC_ECRYPTO;
			goto out;
		}
	}
	{
		struct oc_cert_template t = {
			.profile = OC_PROFILE_OCSP, .pubkey = pubs[OC_KEY_OCSP],
			.subject = { .c = "CN", .o = "onecert", .cn = ocsp_cn },
			.not_before = now - 60, .not_after = now + 2 * 366 * 86400L,
		};
		struct oc_cert_issuer iss = { .cert = issuing, .signer = keys.s[OC_KEY_ISSUING] };
		if ((ocsp = oc_cert_issue(&t, &iss, err)) == NULL) {
			rc = err ? err->code : OC_ECRYPTO;
			goto out;
		}
	}

	{
		X509 *chain[2] = { issuing, root };
		char rel[64];

		if ((rc = oc__path(path, sizeof(path), o->dir, "ca.pem")) != 0 ||
		    (rc = oc__write_cert_pem(path, chain, 2, err)) != 0 ||
		    (rc = oc__path(path, sizeof(path), o->dir, "root.pem")) != 0 ||
		    (rc = oc__write_cert_pem(path, &root, 1, err)) != 0 ||
		    (rc = oc__path(path, sizeof(path), o->dir, "issuing.pem")) != 0 ||
		    (rc = oc__write_cert_pem(path, &issuing, 1, err)) != 0 ||
		    (rc = oc__path(path, sizeof(path), o->dir, "ocsp.pem")) != 0 ||
		    (rc = oc__write_cert_pem(path, &ocsp, 1, err)) != 0)
			goto out;
		snprintf(rel, sizeof(rel), "ca/%s-root.cer", algo);
		if ((rc = write_cert_der(o->dir, rel, root, err)) != 0)
			goto out;
		snprintf(rel, sizeof(rel), "ca/%s-issuing.cer", algo);
		if ((rc = write_cert_der(o->dir, rel, issuing, err)) != 0)
			goto out;
	}

	if ((rc = oc__path(path, sizeof(path), o->dir, "ca.db")) != 0 ||
	    (st = oc_store_open(path, err)) == NULL) {
		rc = OC_ESTORE;
		goto out;
	}
	if ((rc = oc_store_begin(st, err)) != 0)
		goto out;
	if ((rc = oc__store_cert(st, root, "root", OC_PROFILE_ROOT, NULL, 0, 0, NULL, NULL, NULL, err)) != 0 ||
	    (rc = oc__store_cert(st, issuing, "root", OC_PROFILE_ISSUING, NULL, 0, 0, NULL, NULL, NULL, err)) != 0 ||
	    (rc = oc__store_cert(st, ocsp, "issuing", OC_PROFILE_OCSP, NULL, 0, 0, NULL, NULL, NULL, err)) != 0) {
		oc_store_rollback(st);
		goto out;
	}
	{
		char detail[600];
		json_t *j = json_pack("{s:s, s:s, s:s, s:b}", "algo", algo, "name", name,
		    "base_url", oc_config_get(cfg, "ca", "base_url", ""), "dev_file_keys",
		    o->dev_file_keys);
		char *s = json_dumps(j, JSON_COMPACT);
		snprintf(detail, sizeof(detail), "%s", s ? s : "{}");
		free(s);
		json_decref(j);
		if ((rc = oc_store_audit(st, o->actor ? o->actor : "cli", "cli", "ca.init",
		    name, detail, err)) != 0) {
			oc_store_rollback(st);
			goto out;
		}
	}
	if ((rc = oc_store_commit(st, err)) != 0)
		goto out;

	/* First CRLs, so the CDP URLs answer from the start. */
	if ((rc = oc__crl_publish(o->dir, cfg, st, keys.s[OC_KEY_ROOT], root, "root", err)) != 0 ||
	    (rc = oc__crl_publish(o->dir, cfg, st, keys.s[OC_KEY_ISSUING], issuing, "issuing", err)) != 0)
		goto out;

	/* ca.ini last: its presence means the CA is complete. */
	if ((rc = oc__path(path, sizeof(path), o->dir, "ca.ini")) != 0 ||
	    (rc = oc_config_save(cfg, path, 0644, err)) != 0)
		goto out;
	oc_log(OC_LOG_INFO, "ca.init", "algo=%s dir=%s", algo, o->dir);
	rc = 0;
out:
	if (keys_open)
		oc__keys_close(&keys);
	for (int i = 0; i < OC_KEY_COUNT; i++)
		EVP_PKEY_free(pubs[i]);
	X509_free(root);
	X509_free(issuing);
	X509_free(ocsp);
	oc_store_close(st);
	oc_config_free(cfg);
	return rc;
}

struct revoked_acc {
	struct oc_crl_entry *e;
	char (*serials)[43];
	size_t n, cap;
};

static int
revoked_cb(const struct oc_cert_rec *r, void *arg)
{
	struct revoked_acc *a = arg;

	if (a->n == a->cap) {
		size_t ncap = a->cap ? a->cap * 2 : 64;
		void *ne = realloc(a->e, ncap * sizeof(*a->e));
		if (ne == NULL)
			return OC_ENOMEM;
		a->e = ne;
		void *ns = realloc(a->serials, ncap * sizeof(*a->serials));
		if (ns == NULL)
			return OC_ENOMEM;
		a->serials = ns;
		a->cap = ncap;
	}
	memcpy(a->serials[a->n], r->serial, sizeof(r->serial));
	a->e[a->n].revoked_at = r->revoked_at;
	a->e[a->n].reason = r->reason;
	a->n++;
	return 0;
}

/* The revoked certificates of `key`, a fresh CRL number and (when who is
 * set) the crl.issue audit row, then the signed CRL.  Call it with the
 * CRL lock held (crl_lock), so that numbers are taken, signed and
 * published in one order. */
X509_CRL *
oc__crl_build(const struct oc_config *cfg, struct oc_store *st,
    struct oc_signer *signer, X509 *issuer, const char *key,
    const struct oc_actor *who, struct oc_err *err)
{
	struct oc_cert_filter f = { .revoked_only = true, .ca = key };
	struct revoked_acc a = { NULL, NULL, 0, 0 };
	struct oc_cert_issuer iss = { .cert = issuer, .signer = signer };
	X509_CRL *crl = NULL;
	long long number = 0;
	long next = 86400;
	char counter[32], obj[64], detail[160];
	time_t now = time(NULL);
	int rc;

	if (oc_config_get_duration(cfg, "ca", "crl_next_update", 86400, &next, err) != 0)
		return NULL;
	if (next < 60) {
		oc_err_set(err, OC_ECONFIG, "ca.crl_next_update must be at least 60 seconds");
		return NULL;
	}
	if ((rc = oc_store_cert_list(st, &f, revoked_cb, &a, err)) != 0) {
		if (err != NULL && err->code == 0)
			oc_err_set(err, rc, "cannot list the revoked certificates");
		goto out;
	}
	for (size_t i = 0; i < a.n; i++)
		a.e[i].serial_hex = a.serials[i];
	snprintf(counter, sizeof(counter), "crl:%s", key);
	if (oc_store_begin(st, err) != 0)
		goto out;
	if (oc_store_counter_next(st, counter, &number, err) != 0)
		goto rollback;
	if (who != NULL) {
		snprintf(obj, sizeof(obj), "crl:%s-%s", oc_config_get(cfg, "ca", "algo", "x"), key);
		snprintf(detail, sizeof(detail), "{\"key\":\"%s\",\"number\":%lld,\"revoked\":%zu}",
		    key, number, a.n);
		if (oc_store_audit(st, who->who ? who->who : "unknown",
		    who->from ? who->from : "unknown", "crl.issue", obj, detail, err) != 0)
			goto rollback;
	}
	if (oc_store_commit(st, err) != 0)
		goto out;
	crl = oc_crl_build(&iss, a.e, a.n, number, now - 60, now + next, err);
	goto out;
rollback:
	oc_store_rollback(st);
out:
	free(a.e);
	free(a.serials);
	return crl;
}

/* One CRL publisher at a time per CA directory: every handle (ca serve's
 * workers and schedule, a CLI next to it) takes this lock file, so that
 * a CRL with a lower number, or one built from an older list, can never
 * overwrite a newer one.  The descriptor is the lock: close it. */
static int
crl_lock(const char *dir, struct oc_err *err)
{
	char path[4096];
	int fd;

	if (oc__path(path, sizeof(path), dir, "crl/.lock") != 0)
		return oc_err_set(err, OC_EINVAL, "path too long");
	if ((fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0644)) < 0)
		return oc_err_set(err, OC_EIO, "cannot open %s: %s", path, strerror(errno));
	while (flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			oc_err_set(err, OC_EIO, "cannot lock %s: %s", path, strerror(errno));
			close(fd);
			return OC_EIO;
		}
	}
	return fd;
}

/* Build and write DIR/crl/ALGO-KEY.crl; the lock is held. */
static X509_CRL *
crl_publish_locked(const char *dir, const struct oc_config *cfg, struct oc_store *st,
    struct oc_signer *signer, X509 *issuer, const char *key,
    const struct oc_actor *who, struct oc_err *err)
{
	X509_CRL *crl = oc__crl_build(cfg, st, signer, issuer, key, who, err);
	unsigned char *der = NULL;
	char rel[64];
	int n;

	if (crl == NULL) {
		if (err != NULL && err->code == 0)
			oc_err_set(err, OC_ECRYPTO, "cannot build the CRL");
		return NULL;
	}
	if ((n = i2d_X509_CRL(crl, &der)) <= 0) {
		oc_err_openssl(err, OC_ECRYPTO, "cannot encode the CRL");
		goto fail;
	}
	snprintf(rel, sizeof(rel), "crl/%s-%s.crl", oc_config_get(cfg, "ca", "algo", "x"), key);
	if (write_der(dir, rel, der, (size_t)n, err) != 0)
		goto fail;
	OPENSSL_free(der);
	return crl;
fail:
	OPENSSL_free(der);
	X509_CRL_free(crl);
	return NULL;
}

int
oc__crl_publish(const char *dir, const struct oc_config *cfg, struct oc_store *st,
    struct oc_signer *signer, X509 *issuer, const char *key, struct oc_err *err)
{
	X509_CRL *crl;
	int fd;

	if ((fd = crl_lock(dir, err)) < 0)
		return fd;
	crl = crl_publish_locked(dir, cfg, st, signer, issuer, key, NULL, err);
	close(fd);
	if (crl == NULL)
		return err && err->code ? err->code : OC_ECRYPTO;
	X509_CRL_free(crl);
	return 0;
}

struct oc_ca *
oc_ca_open(const char *dir, struct oc_err *err)
{
	struct oc_ca *ca = NULL;
	char path[4096];
	static const char *const files[OC_KEY_COUNT] = { "root.pem", "issuing.pem", "ocsp.pem" };

	if ((ca = calloc(1, sizeof(*ca))) == NULL) {
		oc_err_set(err, OC_ENOMEM, "out of memory");
		return NULL;
	}
	snprintf(ca->dir, sizeof(ca->dir), "%s", dir);
	if (oc__path(path, sizeof(path), dir, "ca.ini") != 0 ||
	    (ca->cfg = oc_config_load(path, err)) == NULL) {
		if (err != NULL && access(path, F_OK) != 0)
			oc_err_set(err, OC_ENOTFOUND, "%s is not a CA directory (no ca.ini; run onecert ca init)", dir);
		goto fail;
	}
	if (oc_algo_parse(oc_config_get(ca->cfg, "ca", "algo", ""), &ca->algo) != 0) {
		oc_err_set(err, OC_ECONFIG, "ca.algo is missing or wrong in %s", path);
		goto fail;
	}
	for (int i = 0; i < OC_KEY_COUNT; i++) {
		if (oc__path(path, sizeof(path), dir, files[i]) != 0 ||
		    (ca->certs[i] = oc_cert_load_file(path, err)) == NULL)
			goto fail;
	}
	if (oc__path(path, sizeof(path), dir,
	    oc_config_get(ca->cfg, "ca", "database", "ca.db")) != 0 ||
	    (ca->st = oc_store_open(path, err)) == NULL)
		goto fail;
	ca->grp = oc__group_get(path);
	if ((ca->sp = oc__sproc_start(dir, ca->cfg, err)) == NULL)
		goto fail;
	for (int i = 0; i < OC_KEY_COUNT; i++)
		if ((ca->signers[i] = oc__sproc_signer(ca->sp, i,
		    X509_get0_pubkey(ca->certs[i]), err)) == NULL)
			goto fail;
	oc__issuer_urls(ca->cfg, oc_algo_name(ca->algo), "issuing", &ca->urls);
	return ca;
fail:
	oc_ca_close(ca);
	return NULL;
}

void
oc_ca_close(struct oc_ca *ca)
{
	if (ca == NULL)
		return;
	for (int i = 0; i < OC_KEY_COUNT; i++) {
		oc_signer_free(ca->signers[i]);
		X509_free(ca->certs[i]);
	}
	oc__sproc_stop(ca->sp);
	oc__group_put(ca->grp);
	OPENSSL_free(ca->op_der);
	oc_store_close(ca->st);
	oc_config_free(ca->cfg);
	free(ca);
}

struct oc_store *oc_ca_store(struct oc_ca *ca) { return ca->st; }
X509 *oc_ca_get0_root(struct oc_ca *ca) { return ca->certs[OC_KEY_ROOT]; }
X509 *oc_ca_get0_issuing(struct oc_ca *ca) { return ca->certs[OC_KEY_ISSUING]; }
X509 *oc_ca_get0_ocsp(struct oc_ca *ca) { return ca->certs[OC_KEY_OCSP]; }
enum oc_algo oc_ca_algo(struct oc_ca *ca) { return ca->algo; }
const char *oc_ca_dir(struct oc_ca *ca) { return ca->dir; }

struct oc_signer *
oc_ca_signer(struct oc_ca *ca, const char *key)
{
	for (int i = 0; i < OC_KEY_COUNT; i++)
		if (strcmp(key, oc__key_names[i]) == 0)
			return ca->signers[i];
	return NULL;
}

int
oc_ca_audit(struct oc_ca *ca, const struct oc_actor *who, const char *action,
    const char *object, const char *detail_json, struct oc_err *err)
{
	return oc_store_audit(ca->st, who && who->who ? who->who : "unknown",
	    who && who->from ? who->from : "unknown", action, object, detail_json, err);
}

X509_CRL *
oc_ca_crl(struct oc_ca *ca, const struct oc_actor *who, struct oc_err *err)
{
	X509_CRL *crl = NULL, *root;
	int fd;

	if ((fd = crl_lock(ca->dir, err)) < 0)
		return NULL;
	/* The root's CRL is refreshed with the issuing CA's so neither goes
	 * stale while the other is served. */
	if ((root = crl_publish_locked(ca->dir, ca->cfg, ca->st, ca->signers[OC_KEY_ROOT],
	    ca->certs[OC_KEY_ROOT], "root", who, err)) != NULL) {
		X509_CRL_free(root);
		crl = crl_publish_locked(ca->dir, ca->cfg, ca->st, ca->signers[OC_KEY_ISSUING],
		    ca->certs[OC_KEY_ISSUING], "issuing", who, err);
	}
	close(fd);
	return crl;
}

int
oc_ca_medium_register(struct oc_ca *ca, const struct oc_actor *who,
    const char *serial, const char *label, long long company_id,
    const char *so_pin, struct oc_err *err)
{
	struct oc_medium m;
	unsigned char *ct = NULL;
	size_t clen = 0;
	char aad[64];
	int rc;

	memset(&m, 0, sizeof(m));
	if ((rc = oc__check_medium(serial, err)) != 0 ||
	    (rc = oc__store_copy(m.serial, sizeof(m.serial), serial, "medium serial", err)) != 0 ||
	    (rc = oc__store_copy(m.label, sizeof(m.label), label, "token label", err)) != 0)
		return rc;
	m.company_id = company_id;
	snprintf(m.status, sizeof(m.status), "active");
	if (so_pin != NULL) {
		snprintf(aad, sizeof(aad), "onecert:so-pin:%s", serial);
		if ((rc = oc__sproc_escrow(ca->sp, true, (const unsigned char *)so_pin,
		    strlen(so_pin), (const unsigned char *)aad, strlen(aad), &ct, &clen, err)) != 0)
			return rc;
		if (clen > sizeof(m.escrow)) {
			free(ct);
			return oc_err_set(err, OC_ETOOBIG, "SO PIN too long to escrow");
		}
		memcpy(m.escrow, ct, clen);
		m.escrow_len = clen;
		free(ct);
	}
	if ((rc = oc_store_begin(ca->st, err)) != 0)
		return rc;
	/* Registering again would make a lost medium active: refused. */
	{
		struct oc_medium prev;

		if (oc_store_medium_get(ca->st, serial, &prev, NULL) == 0 &&
		    strcmp(prev.status, "active") != 0) {
			oc_store_rollback(ca->st);
			return oc_err_set(err, OC_ECONFLICT,
			    "介质 %s 已挂失或停用 / medium %s is %s and cannot be registered again",
			    serial, serial, prev.status);
		}
	}
	if ((rc = oc_store_medium_put(ca->st, &m, err)) != 0 ||
	    (rc = oc_ca_audit(ca, who, "medium.register", serial,
	    so_pin ? "{\"so_pin_escrowed\":true}" : "{\"so_pin_escrowed\":false}", err)) != 0) {
		oc_store_rollback(ca->st);
		return rc;
	}
	return oc_store_commit(ca->st, err);
}

int
oc_ca_escrow_get(struct oc_ca *ca, const struct oc_actor *who, const char *serial,
    char **so_pin, struct oc_err *err)
{
	struct oc_medium m;
	unsigned char *pt = NULL;
	size_t plen = 0;
	char aad[64];
	int rc;

	*so_pin = NULL;
	if ((rc = oc_store_medium_get(ca->st, serial, &m, err)) != 0)
		return rc;
	if (m.escrow_len == 0)
		return oc_err_set(err, OC_ENOTFOUND, "no SO PIN is escrowed for medium %s", serial);
	/* A lost medium is in someone else's hands: never unblock it. */
	if (strcmp(m.status, "active") != 0)
		return oc_err_set(err, OC_ECONFLICT,
		    "介质 %s 已挂失或停用，不能解锁 / medium %s is %s: it cannot be unlocked",
		    serial, serial, m.status);
	/* Log the read before the secret leaves the signer. */
	if ((rc = oc_ca_audit(ca, who, "medium.escrow_read", serial, "{}", err)) != 0)
		return rc;
	snprintf(aad, sizeof(aad), "onecert:so-pin:%s", serial);
	if ((rc = oc__sproc_escrow(ca->sp, false, m.escrow, m.escrow_len,
	    (const unsigned char *)aad, strlen(aad), &pt, &plen, err)) != 0)
		return rc;
	if ((*so_pin = malloc(plen + 1)) == NULL) {
		OPENSSL_cleanse(pt, plen);
		free(pt);
		return oc_err_set(err, OC_ENOMEM, "out of memory");
	}
	memcpy(*so_pin, pt, plen);
	(*so_pin)[plen] = '\0';
	OPENSSL_cleanse(pt, plen);
	free(pt);
	return 0;
}

bool
oc_ca_signer_alive(struct oc_ca *ca)
{
	return ca->sp != NULL && oc__sproc_alive(ca->sp);
}

int
oc_ca_operator_grant(struct oc_ca *ca, const struct oc_actor *who,
    const char *serial, struct oc_err *err)
{
	struct oc_cert_rec rec;
	char canon[43];
	int rc;

	if ((rc = oc_serial_canon(serial, canon, err)) != 0)
		return rc;
	if ((rc = oc_store_cert_get(ca->st, canon, &rec, err)) != 0)
		return rc;
	free(rec.der);
	if (strcmp(rec.profile, "personal") != 0)
		return oc_err_set(err, OC_EINVAL,
		    "操作员须使用个人证书 / an operator needs a personal certificate (%s is %s)",
		    canon, rec.profile);
	if (rec.status != OC_CERT_VALID || rec.not_after < time(NULL))
		return oc_err_set(err, OC_ECONFLICT, "certificate %s is revoked or expired", canon);
	if ((rc = oc_store_begin(ca->st, err)) != 0)
		return rc;
	if ((rc = oc_store_operator_grant(ca->st, canon, rec.subject_cn, who->who, err)) != 0 ||
	    (rc = oc_ca_audit(ca, who, "operator.grant", canon, "{}", err)) != 0) {
		oc_store_rollback(ca->st);
		return rc;
	}
	return oc_store_commit(ca->st, err);
}

int
oc_ca_operator_revoke(struct oc_ca *ca, const struct oc_actor *who,
    const char *serial, struct oc_err *err)
{
	char canon[43];
	int rc;

	if ((rc = oc_serial_canon(serial, canon, err)) != 0)
		return rc;
	if ((rc = oc_store_begin(ca->st, err)) != 0)
		return rc;
	if ((rc = oc_store_operator_revoke(ca->st, canon, who->who, err)) != 0 ||
	    (rc = oc_ca_audit(ca, who, "operator.revoke", canon, "{}", err)) != 0) {
		oc_store_rollback(ca->st);
		return rc;
	}
	return oc_store_commit(ca->st, err);
}

/* How long a verified operator chain is taken as verified on a handle
 * (below the certificates' own expiry). */
#define OP_CHAIN_TTL 60

/* Did cert's chain verify on this handle a moment ago?  The verification
 * depends only on the certificate, the CA's two certificates (fixed for
 * the handle's life), the purpose and the time, so its result stands
 * while the time stays between when it was made and the earliest
 * notAfter of the three (at most OP_CHAIN_TTL seconds).  What can change
 * meanwhile — revocation, the operator role — is the store's: its yes is
 * kept only while the store's auth version stays the same. */
static bool
op_chain_known(struct oc_ca *ca, const unsigned char *der, size_t len)
{
	time_t now = time(NULL);

	return ca->op_der != NULL && ca->op_der_len == len && now >= ca->op_from &&
	    now < ca->op_until && memcmp(ca->op_der, der, len) == 0;
}

static void
op_chain_keep(struct oc_ca *ca, X509 *cert, const unsigned char *der, size_t len)
{
	X509 *chain[3] = { cert, ca->certs[OC_KEY_ISSUING], ca->certs[OC_KEY_ROOT] };
	time_t now = time(NULL), until = now + OP_CHAIN_TTL;
	struct tm tm;

	for (int i = 0; i < 3; i++) {
		if (!ASN1_TIME_to_tm(X509_get0_notAfter(chain[i]), &tm))
			return;
		if (timegm(&tm) < until)
			until = timegm(&tm);
	}
	OPENSSL_free(ca->op_der);
	ca->op_der = NULL;
	ca->op_ok = false;       /* the store's yes was for the old one */
	if ((ca->op_der = OPENSSL_memdup(der, len)) == NULL)
		return;
	ca->op_der_len = len;
	ca->op_from = now;
	ca->op_until = until;
}

int
oc_ca_operator_auth(struct oc_ca *ca, X509 *cert, char *name, size_t cap,
    char serial[43], struct oc_err *err)
{
	STACK_OF(X509) *anchors = NULL, *mid = NULL;
	struct oc_cert_rec rec;
	unsigned char *der = NULL;
	long long ver = 0;
	bool have_ver;
	int n, rc = OC_EPERM;

	if (cert == NULL)
		return oc_err_set(err, OC_EPERM,
		    "需要操作员证书 / an operator certificate is required (TLS client certificate)");
	if (oc_serial_hex(X509_get0_serialNumber(cert), serial) != 0)
		return oc_err_set(err, OC_EPERM, "unreadable certificate serial");
	if ((n = i2d_X509(cert, &der)) <= 0)
		return oc_err_set(err, OC_EPERM, "unreadable certificate");
	if (!op_chain_known(ca, der, (size_t)n)) {
		anchors = sk_X509_new_null();
		mid = sk_X509_new_null();
		if (anchors == NULL || mid == NULL) {
			rc = oc_err_set(err, OC_ENOMEM, "out of memory");
			goto out;
		}
		sk_X509_push(anchors, ca->certs[OC_KEY_ROOT]);
		sk_X509_push(mid, ca->certs[OC_KEY_ISSUING]);
		if (oc_chain_verify(cert, mid, anchors, NULL, 0, X509_PURPOSE_SSL_CLIENT, err) != 0) {
			rc = oc_err_set(err, OC_EPERM, "操作员证书无效 / operator certificate does not verify: %s",
			    err ? err->msg : "");
			goto out;
		}
		op_chain_keep(ca, cert, der, (size_t)n);
	}
	/* The store's last yes for this very certificate stands while the
	 * auth version has not moved: it moves in the transaction of any
	 * change that could turn it into a no (a revocation, the role taken,
	 * by any process).  Read before the checks it covers, so a change
	 * racing them only costs a re-check next time. */
	have_ver = oc_store_auth_version(ca->st, &ver, NULL) == 0;
	if (have_ver && ca->op_ok && ca->op_ver == ver &&
	    strcmp(ca->op_serial, serial) == 0 &&
	    op_chain_known(ca, der, (size_t)n)) {
		if (name != NULL && cap > 0)
			snprintf(name, cap, "%s", ca->op_name);
		rc = 0;
		goto out;
	}
	ca->op_ok = false;
	/* Our own records are authoritative for our own certificates. */
	if (oc_store_cert_get(ca->st, serial, &rec, NULL) != 0) {
		rc = oc_err_set(err, OC_EPERM, "certificate %s is not one of this CA's", serial);
		goto out;
	}
	if ((size_t)n != rec.der_len || memcmp(der, rec.der, rec.der_len) != 0) {
		free(rec.der);
		rc = oc_err_set(err, OC_EPERM, "certificate %s does not match our records", serial);
		goto out;
	}
	free(rec.der);
	if (rec.status != OC_CERT_VALID) {
		rc = oc_err_set(err, OC_EPERM, "操作员证书已吊销 / operator certificate %s is revoked", serial);
		goto out;
	}
	if (strcmp(rec.profile, "personal") != 0) {
		rc = oc_err_set(err, OC_EPERM, "an operator needs a personal certificate");
		goto out;
	}
	rc = oc_store_operator_check(ca->st, serial, ca->op_name,
	    sizeof(ca->op_name), err);
	if (rc == 0) {
		if (name != NULL && cap > 0)
			snprintf(name, cap, "%s", ca->op_name);
		/* Kept for the DER the chain cache holds, which is this one
		 * (op_chain_keep forgets it when that changes). */
		ca->op_ok = have_ver && op_chain_known(ca, der, (size_t)n);
		ca->op_ver = ver;
		memcpy(ca->op_serial, serial, sizeof(ca->op_serial));
	}
out:
	OPENSSL_free(der);
	sk_X509_free(anchors);
	sk_X509_free(mid);
	return rc;
}

static int
app_change(struct oc_ca *ca, const struct oc_actor *who, const char *serial,
    const char *app, bool open, struct oc_err *err)
{
	struct oc_cert_rec rec;
	char canon[43], obj[128];
	size_t n;
	int rc;

	if ((rc = oc_serial_canon(serial, canon, err)) != 0)
		return rc;
	n = app ? strlen(app) : 0;
	if (n == 0 || n > 60 || strspn(app, "abcdefghijklmnopqrstuvwxyz0123456789-_.") != n)
		return oc_err_set(err, OC_EINVAL,
		    "应用标识须为 1–60 个小写字母、数字或 -_. / app id must be 1-60 of [a-z0-9-_.]");
	if ((rc = oc_store_cert_get(ca->st, canon, &rec, err)) != 0)
		return rc;
	free(rec.der);
	if (open && rec.status != OC_CERT_VALID)
		return oc_err_set(err, OC_ECONFLICT, "certificate %s is revoked", canon);
	if (open && rec.not_after < time(NULL))
		return oc_err_set(err, OC_ECONFLICT, "certificate %s has expired", canon);
	if ((rc = oc_store_begin(ca->st, err)) != 0)
		return rc;
	snprintf(obj, sizeof(obj), "cert:%s", canon);
	{
		json_t *j = json_pack("{s:s}", "app", app);
		char *d = json_dumps(j, JSON_COMPACT);

		rc = open ? oc_store_app_open(ca->st, canon, app, who->who, err)
		    : oc_store_app_close(ca->st, canon, app, who->who, err);
		if (rc == 0)
			rc = oc_ca_audit(ca, who, open ? "app.open" : "app.close", obj, d, err);
		free(d);
		json_decref(j);
	}
	if (rc != 0) {
		oc_store_rollback(ca->st);
		return rc;
	}
	return oc_store_commit(ca->st, err);
}

int
oc_ca_app_open(struct oc_ca *ca, const struct oc_actor *who, const char *serial,
    const char *app, struct oc_err *err)
{
	return app_change(ca, who, serial, app, true, err);
}

int
oc_ca_app_close(struct oc_ca *ca, const struct oc_actor *who, const char *serial,
    const char *app, struct oc_err *err)
{
	return app_change(ca, who, serial, app, false, err);
}

int
oc_ca_issue_tls(struct oc_ca *ca, const struct oc_actor *who, const char *host,
    const char *cert_path, const char *key_path, struct oc_err *err)
{
	struct oc_cert_template t;
	struct oc_cert_issuer iss;
	EVP_PKEY *k = NULL;
	X509 *c = NULL;
	X509 *chain[3];
	BIO *mem = NULL;
	char *data, serial[43];
	long len;
	time_t now = time(NULL);
	const char *san[1] = { host };
	int rc = OC_ECRYPTO;

	if (host == NULL || *host == '\0' || strlen(host) > 253)
		return oc_err_set(err, OC_EINVAL, "a host name or IP address is required");
	if (ca->algo == OC_ALGO_SM2)
		return oc_err_set(err, OC_EUNSUPPORTED,
		    "an SM2 hierarchy cannot issue a TLS certificate that common TLS clients "
		    "accept; use an ec or rsa CA (or configure tls_cert / tls_key)");
	if ((k = oc_pkey_generate(ca->algo, 2048, err)) == NULL)
		goto out;
	memset(&t, 0, sizeof(t));
	t.profile = OC_PROFILE_TLS_SERVER;
	t.pubkey = k;
	t.subject = (struct oc_cert_subject){ .c = "CN", .o = "onecert", .cn = host };
	t.san = san;
	t.n_san = 1;
	t.not_before = now - 60;
	t.not_after = now + 365 * 86400L;
	memset(&iss, 0, sizeof(iss));
	iss.cert = ca->certs[OC_KEY_ISSUING];
	iss.signer = ca->signers[OC_KEY_ISSUING];
	iss.crl_url = ca->urls.crl;
	iss.ocsp_url = ca->urls.ocsp;
	iss.ca_issuers_url = ca->urls.ca_issuers;
	if ((c = oc_cert_issue(&t, &iss, err)) == NULL)
		goto out;
	if ((rc = oc_store_begin(ca->st, err)) != 0)
		goto out;
	oc_serial_hex(X509_get0_serialNumber(c), serial);
	{
		json_t *j = json_pack("{s:s}", "host", host);
		char *d = j ? json_dumps(j, JSON_COMPACT) : NULL;

		json_decref(j);
		if ((rc = oc__store_cert(ca->st, c, "issuing", OC_PROFILE_TLS_SERVER, NULL, 0, 0,
		    NULL, NULL, NULL, err)) != 0 ||
		    (rc = oc_ca_audit(ca, who, "cert.issue_tls", serial, d ? d : "{}", err)) != 0) {
			free(d);
			oc_store_rollback(ca->st);
			goto out;
		}
		free(d);
	}
	if ((rc = oc_store_commit(ca->st, err)) != 0)
		goto out;
	rc = OC_ECRYPTO;
	if ((mem = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_PrivateKey(mem, k, NULL, NULL, 0, NULL, NULL)) {
		rc = oc_err_openssl(err, OC_ECRYPTO, "cannot encode the TLS key");
		goto out;
	}
	len = BIO_get_mem_data(mem, &data);
	if (oc_write_file_atomic(key_path, data, (size_t)len, 0600) != 0) {
		rc = oc_err_set(err, OC_EIO, "cannot write %s", key_path);
		goto out;
	}
	OPENSSL_cleanse(data, (size_t)len);
	chain[0] = c;
	chain[1] = ca->certs[OC_KEY_ISSUING];
	chain[2] = ca->certs[OC_KEY_ROOT];
	rc = oc__write_cert_pem(cert_path, chain, 3, err);
out:
	BIO_free(mem);
	X509_free(c);
	EVP_PKEY_free(k);
	return rc;
}
