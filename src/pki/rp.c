/*
 * rp.c — the relying party's certificate check (include/onecert/rp.h):
 * configuration, the order of the checks, what the result says and the
 * counters.
 *
 * The order is the cheapest and most telling first: chain (a certificate
 * from a CA we do not trust is "untrusted", whatever else is wrong with
 * it), validity, usage, identity numbers, and only then revocation, the
 * one step that may go to the network.  The chain is verified at the
 * current time when the certificate is within its validity, else at the
 * nearest end of it, so that an expired certificate of a trusted CA is
 * told "expired" and not "untrusted".
 *
 * Revocation: a cached OCSP answer; else the responder (unless it failed
 * within ocsp_backoff: then straight to the CRL, so that a dead responder
 * does not cost every login a connection attempt); else the CRL.  An
 * OCSP `unknown` is an answer, not a failure: the CA's responder does not
 * know the certificate, which is refused and not let through by
 * fail_open.  Only when nothing answered does fail_open decide.
 *
 * The configuration keys are documented in docs/config.md, [trust].
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "onecert/ident.h"
#include "onecert/log.h"
#include "onecert/pki.h"
#include "onecert/rp.h"
#include "rp_int.h"

/* ---- names ---- */

const char *
oc_rp_status_name(enum oc_rp_status s)
{
	switch (s) {
	case OC_RP_OK: return "ok";
	case OC_RP_REVOKED: return "revoked";
	case OC_RP_EXPIRED: return "expired";
	case OC_RP_NOT_YET_VALID: return "not_yet_valid";
	case OC_RP_UNTRUSTED: return "untrusted";
	case OC_RP_WRONG_USAGE: return "wrong_usage";
	case OC_RP_BAD_IDENTITY: return "bad_identity";
	case OC_RP_REVOCATION_UNKNOWN: return "revocation_unknown";
	}
	return "unknown";
}

const char *
oc_rp_rev_source_name(enum oc_rp_rev_source s)
{
	switch (s) {
	case OC_RP_REV_NONE: return "none";
	case OC_RP_REV_OCSP: return "ocsp";
	case OC_RP_REV_OCSP_CACHE: return "ocsp_cache";
	case OC_RP_REV_CRL: return "crl";
	case OC_RP_REV_CRL_CACHE: return "crl_cache";
	case OC_RP_REV_UNAVAILABLE: return "unavailable";
	}
	return "unknown";
}

/* CRLReason in Chinese, for the person who is refused. */
static const char *
reason_zh(int r)
{
	static const char *const zh[] = {
		"未指定", "密钥泄露", "CA 密钥泄露", "隶属关系变更", "已被取代",
		"停止使用", "证书冻结", "", "从 CRL 移除", "权限撤回",
		"属性机构密钥泄露",
	};

	if (r < 0 || r > 10 || r == 7)
		return "未说明";
	return zh[r];
}

/* ---- configuration ---- */

/* Split a comma-separated list in place; at most max items. */
static size_t
split_list(char *s, char **items, size_t max)
{
	size_t n = 0;

	for (char *save = NULL, *t = strtok_r(s, ",", &save); t != NULL;
	    t = strtok_r(NULL, ",", &save)) {
		char *e;

		while (*t == ' ' || *t == '\t')
			t++;
		e = t + strlen(t);
		while (e > t && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (*t == '\0')
			continue;
		if (n == max)
			return max + 1;
		items[n++] = t;
	}
	return n;
}

static int
cfg_err(struct oc_err *err, const char *sec, const char *key,
    const char *what_zh, const char *what_en)
{
	return oc_err_set(err, OC_ECONFIG, "配置项 %s.%s %s / %s.%s: %s", sec,
	    key, what_zh, sec, key, what_en);
}

/* need_ca: 1 refuse a certificate that is not a CA's, 2 skip it (a
 * folder may hold other certificates too), 0 take anything. */
static int
load_one_file(STACK_OF(X509) *sk, const char *path, int need_ca,
    const char *sec, const char *key, struct oc_err *err)
{
	STACK_OF(X509) *got;
	struct oc_err e;
	int rc = 0;

	if ((got = oc_certs_load_file(path, &e)) == NULL)
		return oc_err_set(err, OC_ECONFIG, "配置项 %s.%s：无法读取 %s（%s） / "
		    "%s.%s: cannot load %s (%s)", sec, key, path, e.msg, sec, key,
		    path, e.msg);
	while (sk_X509_num(got) > 0) {
		X509 *x = sk_X509_shift(got);

		/* Fill OpenSSL's extension cache now, while no other thread
		 * can see the certificate. */
		X509_check_purpose(x, -1, 0);
		if (need_ca == 2 && X509_check_ca(x) == 0) {
			X509_free(x);
			continue;
		}
		if (need_ca && X509_check_ca(x) == 0) {
			X509_free(x);
			rc = oc_err_set(err, OC_ECONFIG, "配置项 %s.%s：%s 含非 CA "
			    "证书 / %s.%s: %s holds a certificate that is not a CA "
			    "certificate", sec, key, path, sec, key, path);
			break;
		}
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			rc = oc_err_set(err, OC_ENOMEM, "内存不足 / out of memory");
			break;
		}
	}
	sk_X509_pop_free(got, X509_free);
	return rc;
}

static bool
cert_file_name(const char *n)
{
	size_t len = strlen(n);

	return n[0] != '.' && len > 4 && (strcmp(n + len - 4, ".pem") == 0 ||
	    strcmp(n + len - 4, ".crt") == 0 || strcmp(n + len - 4, ".cer") == 0 ||
	    strcmp(n + len - 4, ".der") == 0);
}

/* Load every certificate named by the list value: files, or folders of
 * .pem, .crt, .cer and .der files. */
static int
load_certs(STACK_OF(X509) *sk, const char *value, const char *base_dir,
    bool need_ca, const char *sec, const char *key, struct oc_err *err)
{
	char *copy = NULL, *items[64], path[4096];
	size_t n;
	int rc = 0;

	if (value == NULL || *value == '\0')
		return 0;
	if ((copy = strdup(value)) == NULL)
		return oc_err_set(err, OC_ENOMEM, "内存不足 / out of memory");
	if ((n = split_list(copy, items, 64)) > 64) {
		rc = cfg_err(err, sec, key, "列出的文件过多（最多 64 个）",
		    "too many files (at most 64)");
		goto out;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct stat st;

		if (items[i][0] == '/' || base_dir == NULL)
			snprintf(path, sizeof(path), "%s", items[i]);
		else
			snprintf(path, sizeof(path), "%s/%s", base_dir, items[i]);
		if (stat(path, &st) != 0) {
			rc = oc_err_set(err, OC_ECONFIG, "配置项 %s.%s：找不到 %s / "
			    "%s.%s: %s does not exist", sec, key, path, sec, key,
			    path);
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			struct dirent **names = NULL;
			int m = scandir(path, &names, NULL, alphasort);
			char fp[4096 + 256];

			for (int j = 0; j < m; j++) {
				if (rc == 0 && cert_file_name(names[j]->d_name)) {
					snprintf(fp, sizeof(fp), "%s/%s", path,
					    names[j]->d_name);
					rc = load_one_file(sk, fp, need_ca ? 2 : 0,
					    sec, key, err);
				}
				free(names[j]);
			}
			free(names);
		} else {
			rc = load_one_file(sk, path, need_ca ? 1 : 0, sec, key,
			    err);
		}
	}
out:
	free(copy);
	return rc;
}

static int
load_oids(char **dst, size_t *n, const char *value, const char *sec,
    const char *key, struct oc_err *err)
{
	char *copy, *items[OC__RP_MAX_OIDS + 1];
	size_t m;
	int rc = 0;

	if ((copy = strdup(value)) == NULL)
		return oc_err_set(err, OC_ENOMEM, "内存不足 / out of memory");
	if ((m = split_list(copy, items, OC__RP_MAX_OIDS)) > OC__RP_MAX_OIDS) {
		rc = cfg_err(err, sec, key, "OID 过多（最多 8 个）",
		    "too many OIDs (at most 8)");
		goto out;
	}
	for (size_t i = 0; i < m; i++) {
		ASN1_OBJECT *o = OBJ_txt2obj(items[i], 1);

		ASN1_OBJECT_free(o);
		if (o == NULL) {
			ERR_clear_error();
			rc = oc_err_set(err, OC_ECONFIG, "配置项 %s.%s：%s 不是点分 "
			    "OID / %s.%s: %s is not a dotted OID", sec, key,
			    items[i], sec, key, items[i]);
			goto out;
		}
		if ((dst[*n] = strdup(items[i])) == NULL) {
			rc = oc_err_set(err, OC_ENOMEM, "内存不足 / out of memory");
			goto out;
		}
		(*n)++;
	}
out:
	free(copy);
	return rc;
}

static int
load_eku(struct oc_rp *rp, const char *value, const char *sec,
    struct oc_err *err)
{
	char *copy, *items[OC__RP_MAX_EKU + 1];
	size_t m;
	int rc = 0;

	if (strcmp(value, "none") == 0)
		return 0;
	if ((copy = strdup(value)) == NULL)
		return oc_err_set(err, OC_ENOMEM, "内存不足 / out of memory");
	if ((m = split_list(copy, items, OC__RP_MAX_EKU)) > OC__RP_MAX_EKU) {
		rc = cfg_err(err, sec, "require_eku", "用途过多", "too many");
		goto out;
	}
	for (size_t i = 0; i < m; i++) {
		/* Short names (clientAuth), long names, or dotted OIDs. */
		ASN1_OBJECT *o = OBJ_txt2obj(items[i], 0);

		if (o == NULL) {
			ERR_clear_error();
			rc = oc_err_set(err, OC_ECONFIG, "配置项 %s.require_eku：未知"
			    "用途 %s / %s.require_eku: unknown purpose %s", sec,
			    items[i], sec, items[i]);
			goto out;
		}
		rp->eku[rp->n_eku++] = o;
	}
out:
	free(copy);
	return rc;
}

static int
load_ku(struct oc_rp *rp, const char *value, const char *sec,
    struct oc_err *err)
{
	static const struct { const char *name; uint32_t bit; } ku[] = {
		{ "digitalSignature", KU_DIGITAL_SIGNATURE },
		{ "nonRepudiation", KU_NON_REPUDIATION },
		{ "keyEncipherment", KU_KEY_ENCIPHERMENT },
		{ "dataEncipherment", KU_DATA_ENCIPHERMENT },
		{ "keyAgreement", KU_KEY_AGREEMENT },
	};
	char *copy, *items[8];
	size_t m;
	int rc = 0;

	rp->ku_bits = 0;
	if (strcmp(value, "none") == 0)
		return 0;
	if ((copy = strdup(value)) == NULL)
		return oc_err_set(err, OC_ENOMEM, "内存不足 / out of memory");
	m = split_list(copy, items, 5);
	for (size_t i = 0; i < m && rc == 0; i++) {
		size_t j;

		for (j = 0; j < sizeof(ku) / sizeof(ku[0]); j++)
			if (m <= 5 && strcmp(items[i], ku[j].name) == 0)
				break;
		if (j == sizeof(ku) / sizeof(ku[0]))
			rc = oc_err_set(err, OC_ECONFIG, "配置项 %s.require_key_usage"
			    "：未知用法 %s / %s.require_key_usage: unknown key usage "
			    "%s", sec, items[i], sec, items[i]);
		else
			rp->ku_bits |= ku[j].bit;
	}
	free(copy);
	return rc;
}

static int
get_dur(const struct oc_config *cfg, const char *sec, const char *key,
    long def, long min, long max, long *out, struct oc_err *err)
{
	int rc;

	if ((rc = oc_config_get_duration(cfg, sec, key, def, out, err)) != 0)
		return OC_ECONFIG;
	if (*out < min || *out > max) {
		char zh[96], en[96];

		snprintf(zh, sizeof(zh), "应在 %ld 到 %ld 秒之间", min, max);
		snprintf(en, sizeof(en), "must be %ld to %ld seconds", min, max);
		return cfg_err(err, sec, key, zh, en);
	}
	return 0;
}

struct oc_rp *
oc_rp_new(const struct oc_config *cfg, const char *section,
    const char *base_dir, struct oc_err *err)
{
	const char *sec = section != NULL ? section : OC_RP_SECTION, *v;
	struct oc_rp *rp;
	long size;
	int rc = OC_ECONFIG;

	if ((rp = calloc(1, sizeof(*rp))) == NULL) {
		oc_err_set(err, OC_ENOMEM, "内存不足 / out of memory");
		return NULL;
	}
	pthread_mutex_init(&rp->mu, NULL);
	pthread_cond_init(&rp->crl_cv, NULL);
	if ((rp->anchors = sk_X509_new_null()) == NULL ||
	    (rp->intermediates = sk_X509_new_null()) == NULL) {
		rc = oc_err_set(err, OC_ENOMEM, "内存不足 / out of memory");
		goto out;
	}
	if ((rc = load_certs(rp->anchors, oc_config_get(cfg, sec, "anchors",
	    NULL), base_dir, true, sec, "anchors", err)) != 0 ||
	    (rc = load_certs(rp->intermediates, oc_config_get(cfg, sec,
	    "intermediates", NULL), base_dir, true, sec, "intermediates",
	    err)) != 0)
		goto out;
	if (sk_X509_num(rp->anchors) == 0) {
		rc = cfg_err(err, sec, "anchors", "未配置信任锚（CA 证书文件）",
		    "no trust anchor (CA certificate files) configured");
		goto out;
	}

	v = oc_config_get(cfg, sec, "ocsp", "auto");
	if (strcmp(v, "auto") == 0 || *v == '\0') {
		rp->ocsp_mode = OC__RP_AUTO;
	} else if (strcmp(v, "off") == 0) {
		rp->ocsp_mode = OC__RP_OFF;
	} else if (strncmp(v, "http://", 7) == 0 &&
	    strlen(v) < sizeof(rp->ocsp_url)) {
		rp->ocsp_mode = OC__RP_URL;
		snprintf(rp->ocsp_url, sizeof(rp->ocsp_url), "%s", v);
	} else {
		rc = cfg_err(err, sec, "ocsp", "应为 auto、off 或 http:// 地址",
		    "must be auto, off or an http:// URL");
		goto out;
	}
	v = oc_config_get(cfg, sec, "crl", "auto");
	if (strcmp(v, "auto") == 0 || *v == '\0') {
		rp->crl_mode = OC__RP_AUTO;
	} else if (strcmp(v, "off") == 0) {
		rp->crl_mode = OC__RP_OFF;
	} else {
		rc = cfg_err(err, sec, "crl", "应为 auto 或 off",
		    "must be auto or off");
		goto out;
	}
	if ((rc = get_dur(cfg, sec, "ocsp_timeout", 5, 1, 60,
	    &rp->ocsp_timeout, err)) != 0 ||
	    (rc = get_dur(cfg, sec, "ocsp_max_age", 300, 0, 7 * 86400,
	    &rp->ocsp_max_age, err)) != 0 ||
	    (rc = get_dur(cfg, sec, "ocsp_backoff", 30, 0, 3600,
	    &rp->ocsp_backoff, err)) != 0 ||
	    (rc = get_dur(cfg, sec, "crl_timeout", 10, 1, 300,
	    &rp->crl_timeout, err)) != 0 ||
	    (rc = get_dur(cfg, sec, "crl_max_age", 3600, 0, 7 * 86400,
	    &rp->crl_max_age, err)) != 0 ||
	    (rc = get_dur(cfg, sec, "clock_skew", 300, 0, 3600,
	    &rp->clock_skew, err)) != 0)
		goto out;
	if (oc_config_get_bool(cfg, sec, "ocsp_nonce", true, &rp->ocsp_nonce,
	    err) != 0 ||
	    oc_config_get_bool(cfg, sec, "fail_open", false, &rp->fail_open,
	    err) != 0 ||
	    oc_config_get_long(cfg, sec, "crl_max_bytes", 10L << 20, 1024,
	    32L << 20, &size, err) != 0) {
		rc = OC_ECONFIG;
		goto out;
	}
	rp->crl_max_size = (size_t)size;
	if (oc_config_get_long(cfg, sec, "ocsp_cache_size", 100000, 1,
	    10000000, &size, err) != 0) {
		rc = OC_ECONFIG;
		goto out;
	}
	if ((rp->cache = oc__rp_cache_new((size_t)size)) == NULL) {
		rc = oc_err_set(err, OC_ENOMEM, "内存不足 / out of memory");
		goto out;
	}
	if ((rc = load_oids(rp->uid_oids, &rp->n_uid, oc_config_get(cfg, sec,
	    "unique_id_oids", OC_OID_UNIQUE_ID ", " OC_OID_SHECA_UNIQUE_ID),
	    sec, "unique_id_oids", err)) != 0 ||
	    (rc = load_oids(rp->org_oids, &rp->n_org, oc_config_get(cfg, sec,
	    "org_code_oids", OC_OID_GMT_ORG_CODE), sec, "org_code_oids",
	    err)) != 0 ||
	    (rc = load_eku(rp, oc_config_get(cfg, sec, "require_eku",
	    "clientAuth"), sec, err)) != 0 ||
	    (rc = load_ku(rp, oc_config_get(cfg, sec, "require_key_usage",
	    "digitalSignature"), sec, err)) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0) {
		oc_rp_free(rp);
		return NULL;
	}
	return rp;
}

void
oc_rp_free(struct oc_rp *rp)
{
	if (rp == NULL)
		return;
	sk_X509_pop_free(rp->anchors, X509_free);
	sk_X509_pop_free(rp->intermediates, X509_free);
	for (size_t i = 0; i < rp->n_uid; i++)
		free(rp->uid_oids[i]);
	for (size_t i = 0; i < rp->n_org; i++)
		free(rp->org_oids[i]);
	for (size_t i = 0; i < rp->n_eku; i++)
		ASN1_OBJECT_free(rp->eku[i]);
	oc__rp_cache_free(rp->cache);
	for (size_t i = 0; i < OC__RP_CRL_SLOTS; i++) {
		free(rp->crl[i].url);
		X509_CRL_free(rp->crl[i].crl);
	}
	pthread_cond_destroy(&rp->crl_cv);
	pthread_mutex_destroy(&rp->mu);
	free(rp);
}

/* ---- the result ---- */

/* Split "中文 / English" (our messages' shape) into its halves. */
static void
split_msg(const char *msg, char *zh, size_t zcap, char *en, size_t ecap)
{
	const char *sep = strstr(msg, " / ");

	if (sep == NULL) {
		snprintf(zh, zcap, "%s", msg);
		snprintf(en, ecap, "%s", msg);
		return;
	}
	snprintf(zh, zcap, "%.*s", (int)(sep - msg), msg);
	snprintf(en, ecap, "%s", sep + 3);
}

/* "2026-01-02 03:04:05" at UTC + offset seconds. */
static const char *
fmt_time(char *buf, size_t cap, time_t t, long offset)
{
	struct tm tm;
	time_t s = t + offset;

	if (gmtime_r(&s, &tm) == NULL ||
	    strftime(buf, cap, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, cap, "?");
	return buf;
}

#define CST (8 * 3600L)

static void utf8_copy(char *dst, size_t cap, const unsigned char *s,
	size_t n);

static int
refuse(struct oc_rp *rp, struct oc_rp_result *out, enum oc_rp_status st,
    struct oc_err *err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int
refuse(struct oc_rp *rp, struct oc_rp_result *out, enum oc_rp_status st,
    struct oc_err *err, const char *fmt, ...)
{
	char q[OC_LOG_QBUF];
	va_list ap;

	out->status = st;
	va_start(ap, fmt);
	vsnprintf(out->message, sizeof(out->message), fmt, ap);
	va_end(ap);
	OC__RP_INC(rp, refused);
	oc_log(OC_LOG_DEBUG, "rp.refused", "serial=%s status=%s msg=%s",
	    out->serial[0] ? out->serial : "-", oc_rp_status_name(st),
	    oc_log_q(q, sizeof(q), out->message));
	if (err != NULL) {
		char m[sizeof(err->msg)];

		/* err->msg is shorter: cut at a character boundary */
		utf8_copy(m, sizeof(m), (const unsigned char *)out->message,
		    strlen(out->message));
		oc_err_set(err, OC_EPERM, "%s", m);
	}
	return OC_EPERM;
}

/* UTF-8 copy cut at a character boundary. */
static void
utf8_copy(char *dst, size_t cap, const unsigned char *s, size_t n)
{
	if (n >= cap) {
		n = cap - 1;
		while (n > 0 && (s[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
}

static void
name_fields(X509 *cert, struct oc_rp_result *out)
{
	const X509_NAME *iss = X509_get_issuer_name(cert);
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;
	int idx;

	oc_cert_subject_string(cert, NID_commonName, out->subject_cn,
	    sizeof(out->subject_cn));
	oc_cert_subject_string(cert, NID_organizationName, out->subject_o,
	    sizeof(out->subject_o));
	if (b != NULL && X509_NAME_print_ex(b, iss, 0, XN_FLAG_RFC2253 &
	    ~ASN1_STRFLGS_ESC_MSB) >= 0 && (n = BIO_get_mem_data(b, &p)) > 0)
		utf8_copy(out->issuer, sizeof(out->issuer),
		    (const unsigned char *)p, (size_t)n);
	BIO_free(b);
	if ((idx = X509_NAME_get_index_by_NID(iss, NID_commonName, -1)) >= 0) {
		unsigned char *u = NULL;
		int len = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(
		    X509_NAME_get_entry(iss, idx)));

		if (len > 0)
			utf8_copy(out->issuer_cn, sizeof(out->issuer_cn), u,
			    (size_t)len);
		OPENSSL_free(u);
	}
	ERR_clear_error();
}

/* The unique ID and organization code from the configured OIDs.  A
 * malformed organization code extension is an error (*bad set); a
 * malformed unique-ID extension is passed over for the next OID. */
static void
ident_fields(struct oc_rp *rp, X509 *cert, struct oc_rp_result *out,
    struct oc_err *bad)
{
	for (size_t i = 0; i < rp->n_uid; i++)
		if (oc_cert_ext_string(cert, rp->uid_oids[i], out->unique_id,
		    sizeof(out->unique_id), NULL) == 0 && out->unique_id[0]) {
			snprintf(out->unique_id_oid, sizeof(out->unique_id_oid),
			    "%s", rp->uid_oids[i]);
			break;
		}
	for (size_t i = 0; i < rp->n_org; i++) {
		struct oc_err e;
		int rc = oc_cert_ext_string(cert, rp->org_oids[i],
		    out->org_code_value, sizeof(out->org_code_value), &e);

		if (rc == OC_ENOTFOUND)
			continue;
		snprintf(out->org_code_oid, sizeof(out->org_code_oid), "%s",
		    rp->org_oids[i]);
		if (rc != 0)
			*bad = e;
		break;
	}
}

/* GB 32100 / GB 11714 check of the organization code value. */
static int
check_org_code(struct oc_rp_result *out, struct oc_err *e)
{
	const char *v = out->org_code_value;
	size_t n = strlen(v);

	if (n == 18) {
		if (oc_uscc_check(v, e) != 0 ||
		    oc_uscc_orgcode(v, out->org_code) != 0 ||
		    oc_orgcode_check(out->org_code, e) != 0) {
			out->org_code[0] = '\0';
			return OC_EINVAL;
		}
		memcpy(out->uscc, v, 19);
		return 0;
	}
	if (n == 9 || n == 10) {
		if (oc_orgcode_check(v, e) != 0)
			return OC_EINVAL;
		memcpy(out->org_code, v, 8);
		out->org_code[8] = v[n - 1];
		out->org_code[9] = '\0';
		return 0;
	}
	return oc_err_set(e, OC_EINVAL, "应为18位统一社会信用代码或9位组织机构代码，"
	    "实际为%zu位 / must be an 18-character unified social credit code "
	    "or a 9-character organization code, got %zu characters", n, n);
}

/* Not a CA certificate, keyUsage and extendedKeyUsage as configured.
 * false with the reason in zh and en when not. */
static bool
usage_ok(struct oc_rp *rp, X509 *cert, char *zh, size_t zcap, char *en,
    size_t ecap)
{
	EXTENDED_KEY_USAGE *eku;
	uint32_t flags = X509_get_extension_flags(cert);

	if (X509_check_ca(cert) != 0) {
		snprintf(zh, zcap, "CA 证书不能用于登录");
		snprintf(en, ecap, "a CA certificate cannot log in");
		return false;
	}
	if (rp->ku_bits != 0 && (!(flags & EXFLAG_KUSAGE) ||
	    (X509_get_key_usage(cert) & rp->ku_bits) != rp->ku_bits)) {
		snprintf(zh, zcap, "证书的密钥用法不含数字签名（digitalSignature）");
		snprintf(en, ecap, "the certificate's key usage lacks "
		    "digitalSignature (or another required usage)");
		return false;
	}
	if (rp->n_eku == 0)
		return true;
	eku = X509_get_ext_d2i(cert, NID_ext_key_usage, NULL, NULL);
	ERR_clear_error();
	for (size_t i = 0; i < rp->n_eku; i++) {
		bool found = false;
		char name[80];

		for (int j = 0; eku != NULL && j < sk_ASN1_OBJECT_num(eku) &&
		    !found; j++) {
			const ASN1_OBJECT *o = sk_ASN1_OBJECT_value(eku, j);

			found = OBJ_cmp(o, rp->eku[i]) == 0 ||
			    OBJ_obj2nid(o) == NID_anyExtendedKeyUsage;
		}
		if (!found) {
			if (OBJ_obj2nid(rp->eku[i]) != NID_undef)
				snprintf(name, sizeof(name), "%s",
				    OBJ_nid2sn(OBJ_obj2nid(rp->eku[i])));
			else
				OBJ_obj2txt(name, sizeof(name), rp->eku[i], 1);
			snprintf(zh, zcap, "证书的扩展密钥用法不含 %s%s", name,
			    OBJ_obj2nid(rp->eku[i]) == NID_client_auth ?
			    "（客户端身份验证）" : "");
			snprintf(en, ecap, "the certificate's extended key usage "
			    "lacks %s", name);
			sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
			return false;
		}
	}
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	return true;
}

/* Are a and b the same certificate, byte for byte?  X509_cmp would say
 * the same by the certificates' SHA-1, which it computes (with the rest
 * of the extension cache) for a certificate from the TLS handshake that
 * has none yet: about a tenth of a millisecond per login spent on the
 * client's copy of our own CA certificate, only to drop it. */
static bool
same_cert(X509 *a, X509 *b)
{
	const ASN1_BIT_STRING *sa, *sb;
	unsigned char *da = NULL, *db = NULL;
	int na, nb;
	bool same;

	if (a == b)
		return true;
	/* most pairs differ already in their signatures */
	X509_get0_signature(&sa, NULL, a);
	X509_get0_signature(&sb, NULL, b);
	if (sa == NULL || sb == NULL || ASN1_STRING_cmp(sa, sb) != 0)
		return false;
	na = i2d_X509(a, &da);
	nb = i2d_X509(b, &db);
	same = na > 0 && na == nb && memcmp(da, db, (size_t)na) == 0;
	OPENSSL_free(da);
	OPENSSL_free(db);
	return same;
}

/* Is x an anchor or already in sk? */
static bool
held(struct oc_rp *rp, STACK_OF(X509) *sk, X509 *x)
{
	for (int i = 0; i < sk_X509_num(rp->anchors); i++)
		if (same_cert(sk_X509_value(rp->anchors, i), x))
			return true;
	for (int i = 0; i < sk_X509_num(sk); i++)
		if (same_cert(sk_X509_value(sk, i), x))
			return true;
	return false;
}

/* x, a certificate from the client's TLS chain that came without its
 * key (the TLS listener parses the client's certificates with their keys
 * left undecoded, src/http/server.c), parsed again with its key; the copy
 * is kept in *owned, which the caller frees.  NULL when out of memory. */
static X509 *
with_key(X509 *x, STACK_OF(X509) **owned)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	X509 *d = NULL;
	int n;

	ERR_set_mark();
	if ((n = i2d_X509(x, &der)) <= 0)
		goto out;
	p = der;
	/* a key that does not decode stays undecoded: the chain then fails
	 * on it, as it would have */
	if ((d = d2i_X509(NULL, &p, n)) == NULL || p != der + n) {
		X509_free(d);
		d = X509_up_ref(x) == 1 ? x : NULL;
	}
	if (d != NULL && ((*owned == NULL && (*owned = sk_X509_new_null()) == NULL) ||
	    !sk_X509_push(*owned, d))) {
		X509_free(d);
		d = NULL;
	}
out:
	OPENSSL_free(der);
	ERR_pop_to_mark();
	return d;
}

/* The certificate that issued cert among the anchors and the untrusted
 * certificates (borrowed), or NULL.  Called once the chain has verified
 * over these same candidates, so one of them signed cert and OpenSSL took
 * it by X509_check_issued (names, key identifiers, key usage): when only
 * one candidate matches that way, it is the issuer and its signature
 * need not be checked a second time; with several, the signature
 * decides. */
static X509 *
find_issuer(struct oc_rp *rp, X509 *cert, STACK_OF(X509) *untrusted)
{
	X509 *only = NULL;
	int n = 0;

	for (int i = 0; i < sk_X509_num(rp->anchors); i++)
		if (X509_check_issued(sk_X509_value(rp->anchors, i), cert) == X509_V_OK) {
			only = sk_X509_value(rp->anchors, i);
			n++;
		}
	for (int i = 0; untrusted != NULL && i < sk_X509_num(untrusted); i++)
		if (X509_check_issued(sk_X509_value(untrusted, i), cert) == X509_V_OK) {
			only = sk_X509_value(untrusted, i);
			n++;
		}
	ERR_clear_error();
	if (n == 1)
		return only;
	for (int i = 0; i < sk_X509_num(rp->anchors); i++)
		if (oc__rp_issued_by(cert, sk_X509_value(rp->anchors, i)))
			return sk_X509_value(rp->anchors, i);
	for (int i = 0; untrusted != NULL && i < sk_X509_num(untrusted); i++)
		if (oc__rp_issued_by(cert, sk_X509_value(untrusted, i)))
			return sk_X509_value(untrusted, i);
	return NULL;
}

/* The first http OCSP URL in the certificate's AIA. */
static bool
aia_ocsp(X509 *cert, char *url, size_t cap)
{
	STACK_OF(OPENSSL_STRING) *sk = X509_get1_ocsp(cert);
	bool found = false;

	for (int i = 0; sk != NULL && i < sk_OPENSSL_STRING_num(sk); i++) {
		const char *u = sk_OPENSSL_STRING_value(sk, i);

		if (strncmp(u, "http://", 7) == 0 && strlen(u) < cap) {
			snprintf(url, cap, "%s", u);
			found = true;
			break;
		}
	}
	X509_email_free(sk);
	ERR_clear_error();
	return found;
}

static bool
backoff_active(struct oc_rp *rp, const char *url, time_t now)
{
	bool on = false;

	pthread_mutex_lock(&rp->mu);
	for (size_t i = 0; i < OC__RP_BACKOFF_SLOTS; i++)
		if (rp->backoff[i].until > now &&
		    strcmp(rp->backoff[i].url, url) == 0) {
			on = true;
			break;
		}
	pthread_mutex_unlock(&rp->mu);
	return on;
}

/* until = 0 clears. */
static void
backoff_set(struct oc_rp *rp, const char *url, time_t until)
{
	struct oc__rp_backoff *slot = NULL;

	pthread_mutex_lock(&rp->mu);
	for (size_t i = 0; i < OC__RP_BACKOFF_SLOTS; i++) {
		struct oc__rp_backoff *b = &rp->backoff[i];

		if (strcmp(b->url, url) == 0) {
			slot = b;
			break;
		}
		if (slot == NULL || b->until < slot->until)
			slot = b;
	}
	if (until != 0 || strcmp(slot->url, url) == 0) {
		snprintf(slot->url, sizeof(slot->url), "%s", url);
		slot->until = until;
	}
	pthread_mutex_unlock(&rp->mu);
}

/* Put a revocation answer into the result; 0 when accepted. */
static int
decide(struct oc_rp *rp, const struct oc__rp_rev *v, enum oc_rp_rev_source src,
    struct oc_rp_result *out, struct oc_err *err)
{
	char t1[32], t2[32];

	out->rev_source = src;
	out->rev_this_update = v->this_update;
	out->rev_next_update = v->next_update;
	switch (v->status) {
	case OC__RP_GOOD:
		return 0;
	case OC__RP_REVOKED:
		out->revoked_reason = v->reason;
		out->revoked_at = v->revoked_at;
		return refuse(rp, out, OC_RP_REVOKED, err, "证书已被撤销（原因：%s，"
		    "撤销时间 %s 北京时间），不能登录 / the certificate has been "
		    "revoked (reason: %s, at %s UTC) and cannot log in",
		    reason_zh(v->reason), fmt_time(t1, sizeof(t1), v->revoked_at,
		    CST), v->reason >= 0 && oc_reason_name(v->reason) != NULL ?
		    oc_reason_name(v->reason) : "unspecified",
		    fmt_time(t2, sizeof(t2), v->revoked_at, 0));
	default:
		return refuse(rp, out, OC_RP_REVOCATION_UNKNOWN, err, "证书颁发机构"
		    "的 OCSP 服务不认识此证书，不能登录 / the CA's OCSP responder "
		    "does not know this certificate (status unknown); it cannot "
		    "log in");
	}
}

static int
revocation(struct oc_rp *rp, X509 *cert, X509 *issuer, time_t now,
    bool force, struct oc_rp_result *out, struct oc_err *err)
{
	struct oc__rp_key k;
	struct oc__rp_rev v;
	struct oc_err e;
	char url[256], q[OC_LOG_QBUF], m[OC_LOG_QBUF];
	unsigned int n = 0;
	bool cached;
	time_t expires;

	if (rp->ocsp_mode == OC__RP_OFF && rp->crl_mode == OC__RP_OFF) {
		out->rev_source = OC_RP_REV_NONE;
		return 0;
	}
	memset(&k, 0, sizeof(k));
	oc_err_clear(&e);
	if (issuer == NULL || !X509_pubkey_digest(issuer, EVP_sha256(),
	    k.issuer, &n) || n != sizeof(k.issuer)) {
		ERR_clear_error();
		oc_err_set(&e, OC_EINTERNAL, "找不到签发者证书 / the issuer "
		    "certificate was not found");
		goto unavailable;
	}
	snprintf(k.serial, sizeof(k.serial), "%s", out->serial);

	if (rp->ocsp_mode != OC__RP_OFF) {
		if (force) {
			oc__rp_cache_del(rp->cache, &k);
		} else if (oc__rp_cache_get(rp->cache, &k, now, &v)) {
			OC__RP_INC(rp, ocsp_cache_hits);
			return decide(rp, &v, OC_RP_REV_OCSP_CACHE, out, err);
		}
		if (rp->ocsp_mode == OC__RP_URL)
			snprintf(url, sizeof(url), "%s", rp->ocsp_url);
		else if (!aia_ocsp(cert, url, sizeof(url)))
			url[0] = '\0';
		if (url[0] == '\0') {
			oc_err_set(&e, OC_ENOTFOUND, "证书没有 OCSP 地址 / the "
			    "certificate names no http OCSP responder");
		} else if (!force && backoff_active(rp, url, now)) {
			OC__RP_INC(rp, ocsp_skipped);
			oc_err_set(&e, OC_EIO, "OCSP 服务暂时不可用 / the OCSP "
			    "responder failed recently (back-off)");
		} else {
			OC__RP_INC(rp, ocsp_queries);
			if (oc__rp_ocsp_query(rp, url, cert, issuer, now, &v,
			    &e) == 0) {
				backoff_set(rp, url, 0);
				if (rp->ocsp_max_age > 0) {
					expires = now + rp->ocsp_max_age;
					if (v.next_update != 0 &&
					    v.next_update < expires)
						expires = v.next_update;
					oc__rp_cache_put(rp->cache, &k, &v, expires);
				}
				return decide(rp, &v, OC_RP_REV_OCSP, out, err);
			}
			OC__RP_INC(rp, ocsp_failures);
			if (rp->ocsp_backoff > 0)
				backoff_set(rp, url, now + rp->ocsp_backoff);
			{
				char d[OC_LOG_QBUF];

				oc_log(OC_LOG_WARN, "rp.ocsp_failed", "url=%s "
				    "serial=%s msg=%s detail=%s",
				    oc_log_q(q, sizeof(q), url), out->serial,
				    oc_log_q(m, sizeof(m), e.msg),
				    oc_log_q(d, sizeof(d), e.detail));
			}
		}
	}
	if (rp->crl_mode != OC__RP_OFF) {
		OC__RP_INC(rp, crl_fallbacks);
		if (oc__rp_crl_check(rp, cert, issuer, &k, now, &v, &cached,
		    &e) == 0)
			return decide(rp, &v, cached ? OC_RP_REV_CRL_CACHE :
			    OC_RP_REV_CRL, out, err);
	}
unavailable:
	OC__RP_INC(rp, revocation_unknown);
	out->rev_source = OC_RP_REV_UNAVAILABLE;
	if (rp->fail_open) {
		OC__RP_INC(rp, fail_open);
		out->revocation_unchecked = true;
		oc_log(OC_LOG_WARN, "rp.fail_open", "serial=%s msg=%s",
		    out->serial, oc_log_q(m, sizeof(m), e.msg));
		return 0;
	}
	return refuse(rp, out, OC_RP_REVOCATION_UNKNOWN, err, "暂时无法确认证书"
	    "是否已被撤销（OCSP 与 CRL 均无回应），请稍后再试 / the certificate's "
	    "revocation status cannot be checked now (neither OCSP nor CRL "
	    "answered); please try again later");
}

static int
check(struct oc_rp *rp, X509 *cert, STACK_OF(X509) *chain, time_t now,
    bool force, struct oc_rp_result *out, struct oc_err *err)
{
	STACK_OF(X509) *untrusted = NULL, *owned = NULL;
	struct oc_err e, ie;
	char zh[384], en[384], t1[32], t2[32];
	time_t at;
	X509 *issuer;
	int rc;

	if (out != NULL) {
		memset(out, 0, sizeof(*out));
		out->revoked_reason = -1;
		out->status = OC_RP_UNTRUSTED;
	}
	if (rp == NULL || cert == NULL || out == NULL)
		return oc_err_set(err, OC_EINVAL, "参数无效 / bad arguments");
	if (now == 0)
		now = time(NULL);
	OC__RP_INC(rp, checks);
	oc_err_clear(&e);

	/* What the certificate says, for the result and the log. */
	if (oc_serial_hex(X509_get0_serialNumber(cert), out->serial) != 0)
		return refuse(rp, out, OC_RP_UNTRUSTED, err, "证书序列号无效 / the "
		    "certificate's serial number is invalid");
	name_fields(cert, out);
	if (!oc__rp_time(X509_get0_notBefore(cert), &out->not_before) ||
	    !oc__rp_time(X509_get0_notAfter(cert), &out->not_after))
		return refuse(rp, out, OC_RP_UNTRUSTED, err, "证书有效期格式无效 / "
		    "the certificate's validity is malformed");
	oc_err_clear(&ie);
	ident_fields(rp, cert, out, &ie);
	if (ie.code == 0 && out->org_code_value[0] != '\0')
		check_org_code(out, &ie);

	/* 1. chain, at now or the nearest end of the validity period */
	if ((untrusted = sk_X509_new_null()) == NULL) {
		rc = oc_err_set(err, OC_ENOMEM, "内存不足 / out of memory");
		goto out;
	}
	for (int i = 0; i < sk_X509_num(rp->intermediates); i++)
		if (!sk_X509_push(untrusted, sk_X509_value(rp->intermediates, i)))
			goto nomem;
	/* The client's chain without the leaf and without what we hold
	 * already (clients send the CA's certificate too): a certificate
	 * there twice would make find_issuer check a signature again. */
	for (int i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);

		if (same_cert(x, cert) || held(rp, untrusted, x))
			continue;
		if (X509_get0_pubkey(x) == NULL && (x = with_key(x, &owned)) == NULL)
			goto nomem;
		if (!sk_X509_push(untrusted, x))
			goto nomem;
	}
	/* OpenSSL takes a certificate as expired at its notAfter second */
	at = now;
	if (at >= out->not_after)
		at = out->not_after - 1;
	if (at < out->not_before)
		at = out->not_before;
	if (oc_chain_verify(cert, untrusted, rp->anchors, NULL, at, 0, &e) != 0) {
		split_msg(e.msg, zh, sizeof(zh), en, sizeof(en));
		rc = refuse(rp, out, OC_RP_UNTRUSTED, err, "证书不是由受信任的证书"
		    "颁发机构签发（%s） / the certificate is not issued by a "
		    "trusted CA (%s)", zh, en);
		goto out;
	}

	/* 2. validity */
	if (now < out->not_before) {
		rc = refuse(rp, out, OC_RP_NOT_YET_VALID, err, "证书尚未生效（生效"
		    "时间 %s 北京时间），不能登录 / the certificate is not valid "
		    "yet (valid from %s UTC) and cannot log in",
		    fmt_time(t1, sizeof(t1), out->not_before, CST),
		    fmt_time(t2, sizeof(t2), out->not_before, 0));
		goto out;
	}
	if (now > out->not_after) {
		rc = refuse(rp, out, OC_RP_EXPIRED, err, "证书已过期（有效期至 %s "
		    "北京时间），请更新证书 / the certificate has expired (valid "
		    "until %s UTC); please renew it",
		    fmt_time(t1, sizeof(t1), out->not_after, CST),
		    fmt_time(t2, sizeof(t2), out->not_after, 0));
		goto out;
	}

	/* 3. usage */
	if (!usage_ok(rp, cert, zh, sizeof(zh), en, sizeof(en))) {
		rc = refuse(rp, out, OC_RP_WRONG_USAGE, err, "证书用途不符，不能用于"
		    "登录：%s / the certificate is not for logging in: %s", zh,
		    en);
		goto out;
	}

	/* 4. identity numbers */
	if (ie.code != 0) {
		split_msg(ie.msg, zh, sizeof(zh), en, sizeof(en));
		rc = refuse(rp, out, OC_RP_BAD_IDENTITY, err, "证书中的机构代码 %s "
		    "无效：%s / the organization code %s in the certificate is "
		    "invalid: %s", out->org_code_value, zh, out->org_code_value,
		    en);
		goto out;
	}

	/* 5. revocation */
	issuer = find_issuer(rp, cert, untrusted);
	if ((rc = revocation(rp, cert, issuer, now, force, out, err)) != 0)
		goto out;

	out->status = OC_RP_OK;
	snprintf(out->message, sizeof(out->message), "%s", out->
	    revocation_unchecked ? "证书有效（撤销状态暂未能确认） / the "
	    "certificate is valid (its revocation status could not be "
	    "checked)" : "证书有效 / the certificate is valid");
	OC__RP_INC(rp, accepted);
	rc = 0;
	goto out;
nomem:
	rc = oc_err_set(err, OC_ENOMEM, "内存不足 / out of memory");
out:
	sk_X509_free(untrusted);
	sk_X509_pop_free(owned, X509_free);
	return rc;
}

int
oc_rp_check(struct oc_rp *rp, X509 *cert, STACK_OF(X509) *chain_from_client,
    time_t now, struct oc_rp_result *out, struct oc_err *err)
{
	return check(rp, cert, chain_from_client, now, false, out, err);
}

int
oc_rp_recheck(struct oc_rp *rp, X509 *cert,
    STACK_OF(X509) *chain_from_client, time_t now,
    struct oc_rp_result *out, struct oc_err *err)
{
	return check(rp, cert, chain_from_client, now, true, out, err);
}

void
oc_rp_cache_clear(struct oc_rp *rp)
{
	if (rp == NULL)
		return;
	oc__rp_cache_clear(rp->cache);
	oc__rp_crl_clear(rp);
	pthread_mutex_lock(&rp->mu);
	memset(rp->backoff, 0, sizeof(rp->backoff));
	pthread_mutex_unlock(&rp->mu);
}

/* ---- counters ---- */

#define LOAD(f) atomic_load_explicit(&rp->n.f, memory_order_relaxed)

void
oc_rp_get_stats(struct oc_rp *rp, struct oc_rp_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (rp == NULL)
		return;
	out->checks = LOAD(checks);
	out->accepted = LOAD(accepted);
	out->refused = LOAD(refused);
	out->ocsp_queries = LOAD(ocsp_queries);
	out->ocsp_cache_hits = LOAD(ocsp_cache_hits);
	out->ocsp_failures = LOAD(ocsp_failures);
	out->ocsp_skipped = LOAD(ocsp_skipped);
	out->crl_fallbacks = LOAD(crl_fallbacks);
	out->crl_downloads = LOAD(crl_downloads);
	out->crl_cache_hits = LOAD(crl_cache_hits);
	out->crl_failures = LOAD(crl_failures);
	out->revocation_unknown = LOAD(revocation_unknown);
	out->fail_open = LOAD(fail_open);
	out->ocsp_cache_entries = oc__rp_cache_count(rp->cache);
	out->crl_cache_entries = oc__rp_crl_count(rp);
}

int
oc_rp_metrics(struct oc_rp *rp, struct oc_buf *out)
{
	struct oc_rp_stats s;
	const struct {
		const char *name, *type, *help;
		uint64_t v;
	} m[] = {
		{ "checks_total", "counter", "Certificate checks (logins and "
		    "session re-checks).", 0 },
		{ "accepted_total", "counter", "Certificates accepted.", 0 },
		{ "refused_total", "counter", "Certificates refused.", 0 },
		{ "ocsp_queries_total", "counter", "Requests sent to OCSP "
		    "responders.", 0 },
		{ "ocsp_cache_hits_total", "counter", "Revocation answered from "
		    "the OCSP cache.", 0 },
		{ "ocsp_failures_total", "counter", "OCSP requests without a "
		    "usable answer.", 0 },
		{ "ocsp_skipped_total", "counter", "OCSP not asked: responder "
		    "in back-off after a failure.", 0 },
		{ "crl_fallbacks_total", "counter", "Revocation checked by CRL.",
		    0 },
		{ "crl_downloads_total", "counter", "CRLs downloaded.", 0 },
		{ "crl_cache_hits_total", "counter", "Revocation answered from a "
		    "cached CRL.", 0 },
		{ "crl_failures_total", "counter", "CRLs that could not be "
		    "downloaded or used.", 0 },
		{ "revocation_unknown_total", "counter", "Checks where neither "
		    "OCSP nor CRL answered.", 0 },
		{ "fail_open_total", "counter", "Of those, certificates let "
		    "through by fail_open.", 0 },
		{ "ocsp_cache_entries", "gauge", "OCSP answers cached.", 0 },
		{ "crl_cache_entries", "gauge", "CRLs cached.", 0 },
	};
	uint64_t v[sizeof(m) / sizeof(m[0])];
	int rc = 0;

	if (rp == NULL || out == NULL)
		return OC_EINVAL;
	oc_rp_get_stats(rp, &s);
	v[0] = s.checks;
	v[1] = s.accepted;
	v[2] = s.refused;
	v[3] = s.ocsp_queries;
	v[4] = s.ocsp_cache_hits;
	v[5] = s.ocsp_failures;
	v[6] = s.ocsp_skipped;
	v[7] = s.crl_fallbacks;
	v[8] = s.crl_downloads;
	v[9] = s.crl_cache_hits;
	v[10] = s.crl_failures;
	v[11] = s.revocation_unknown;
	v[12] = s.fail_open;
	v[13] = s.ocsp_cache_entries;
	v[14] = s.crl_cache_entries;
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]) && rc == 0; i++)
		rc = oc_buf_printf(out, "# HELP onecert_rp_%s %s\n# TYPE "
		    "onecert_rp_%s %s\nonecert_rp_%s %llu\n", m[i].name, m[i].help,
		    m[i].name, m[i].type, m[i].name, (unsigned long long)v[i]);
	return rc;
}
