/*
 * api.c — the RA API of `onecert ca serve` (docs/api.md): JSON under
 * /api/v1 over HTTPS, for operators only.
 *
 * Every request first authenticates the TLS client certificate as an
 * operator (oc_ca_operator_auth: issued by this CA, personal, valid in our
 * records, chain verifies, operator role granted) and then calls the same
 * engine functions as the CLI, so the rules, refusals and audit rows are
 * identical.  Handlers run on the HTTP worker pool, each worker with its
 * own struct oc_ca (own SQLite connection, own signer process), so a
 * request never blocks an event loop and never shares a connection.
 * Issuance is durable: the engine commits before the reply is built.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ca/api.h"
#include "onecert/buf.h"
#include "onecert/ca.h"
#include "onecert/http.h"
#include "onecert/json.h"
#include "onecert/log.h"
#include "onecert/pki.h"
#include "onecert/store.h"

#define MAX_BODY (64 * 1024)

struct call {
	struct oc_http_req *req;
	struct oc_ca *ca;
	struct oc_actor who;
	char who_buf[80];
	char op_name[128];
	char op_serial[43];
	json_t *body;                 /* parsed JSON body or NULL */
	char *seg[6];                 /* path segments after /api/v1/ */
	int nseg;
	char path[512];
};

/* 4xx: the engine's message says what to fix.  5xx: what broke inside (a
 * path, the signer's or the database's words) goes to the log only; the
 * client gets the code and a fixed message. */
static void
fail(struct call *c, const struct oc_err *err)
{
	char qm[OC_LOG_QBUF], qd[OC_LOG_QBUF];
	int code = err != NULL && err->code != 0 ? err->code : OC_EINTERNAL;
	int status = oc_err_http_status(code);

	if (status < 500)
		return oc_http_reply_err(c->req, err);
	oc_log(OC_LOG_ERROR, "ra.error", "code=%s msg=%s detail=%s op=%s",
	    oc_err_name(code), oc_log_q(qm, sizeof(qm), err ? err->msg : ""),
	    oc_log_q(qd, sizeof(qd), err ? err->detail : ""), c->op_serial);
	oc_http_reply_error(c->req, status, oc_err_name(code),
	    "服务器内部错误，详见服务日志 / internal error (see the service log)");
}

static void
bad(struct call *c, int status, const char *code, const char *msg)
{
	oc_http_reply_error(c->req, status, code, msg);
}

static char *
cert_pem(X509 *cert)
{
	BIO *mem = BIO_new(BIO_s_mem());
	char *data, *out = NULL;
	long len;

	if (mem != NULL && PEM_write_bio_X509(mem, cert)) {
		len = BIO_get_mem_data(mem, &data);
		if ((out = malloc((size_t)len + 1)) != NULL) {
			memcpy(out, data, (size_t)len);
			out[len] = '\0';
		}
	}
	BIO_free(mem);
	return out;
}

static void
iso(time_t t, char *buf, size_t cap)
{
	struct tm tm;

	if (t == 0) {
		snprintf(buf, cap, "%s", "");
		return;
	}
	gmtime_r(&t, &tm);
	strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *
cert_json(X509 *cert, const char *medium)
{
	char serial[43] = "", uid[64] = "", na[32] = "";
	struct tm tm;
	char *pem = cert_pem(cert);
	json_t *j;

	oc_serial_hex(X509_get0_serialNumber(cert), serial);
	oc_cert_ext_string(cert, OC_OID_UNIQUE_ID, uid, sizeof(uid), NULL);
	if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm))
		strftime(na, sizeof(na), "%Y-%m-%dT%H:%M:%SZ", &tm);
	j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "serial", serial, "unique_id", uid,
	    "not_after", na, "medium", medium ? medium : "", "certificate", pem ? pem : "");
	free(pem);
	return j;
}

/* A string that goes into JSON as it is: printable ASCII without '"' and
 * '\\'.  Anything else takes jansson's escaping (cert_json). */
static bool
json_plain(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\')
			return false;
	return true;
}

/* The reply of the calls that issue (cert_json's members, in its order,
 * compact as oc_http_reply_json writes them), written directly: the PEM
 * base64'd in one call with its line breaks as JSON escapes, with no BIO,
 * JSON tree or dump on the way.  Falls back to cert_json where a member
 * would need escaping.  der: what cert encodes to, when the caller has it
 * (oc_ca_issue_der), or NULL: encode it here. */
static void
reply_cert(struct oc_http_req *req, int status, X509 *cert, const unsigned char *der_in,
    size_t der_len, const char *medium)
{
	static const char head[] = "-----BEGIN CERTIFICATE-----\\n";
	static const char tail[] = "-----END CERTIFICATE-----\\n";
	char serial[43] = "", uid[64] = "", na[32] = "";
	unsigned char *der = NULL, *b64 = NULL, *out;
	struct oc_buf b;
	struct tm tm;
	size_t n64, outlen;
	int dlen, rc;

	if (medium == NULL)
		medium = "";
	oc_serial_hex(X509_get0_serialNumber(cert), serial);
	oc_cert_ext_string(cert, OC_OID_UNIQUE_ID, uid, sizeof(uid), NULL);
	if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm))
		strftime(na, sizeof(na), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (der_in != NULL && der_len > 0 && der_len <= MAX_BODY)
		dlen = (int)der_len;
	else if ((dlen = i2d_X509(cert, &der)) > 0)
		der_in = der;
	if (!json_plain(medium) || !json_plain(uid) || dlen <= 0 ||
	    (b64 = malloc(4 * (((size_t)dlen + 2) / 3) + 1)) == NULL) {
		OPENSSL_free(der);
		oc_http_reply_json(req, status, cert_json(cert, medium));
		return;
	}
	n64 = (size_t)EVP_EncodeBlock(b64, der_in, dlen);
	OPENSSL_free(der);
	oc_buf_init(&b, 1 << 20);
	rc = oc_buf_printf(&b, "{\"serial\":\"%s\",\"unique_id\":\"%s\","
	    "\"not_after\":\"%s\",\"medium\":\"%s\",\"certificate\":\"%s",
	    serial, uid, na, medium, head);
	/* 64 characters a line, as PEM_write_bio_X509 */
	for (size_t i = 0; i < n64 && rc == 0; i += 64)
		if ((rc = oc_buf_add(&b, b64 + i, n64 - i < 64 ? n64 - i : 64)) ==
		    0)
			rc = oc_buf_add(&b, "\\n", 2);
	if (rc == 0)
		rc = oc_buf_printf(&b, "%s\"}", tail);
	free(b64);
	if (rc != 0) {
		oc_buf_cleanup(&b);
		oc_http_reply_json(req, status, cert_json(cert, medium));
		return;
	}
	out = oc_buf_steal(&b, &outlen);
	oc_http_reply_take(req, status, "application/json; charset=utf-8", out,
	    outlen);
}

static json_t *
rec_json(const struct oc_cert_rec *r)
{
	char nb[32], na[32], ra[32];
	json_t *o;

	iso(r->not_before, nb, sizeof(nb));
	iso(r->not_after, na, sizeof(na));
	iso(r->revoked_at, ra, sizeof(ra));
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}",
	    "serial", r->serial, "unique_id", r->uid, "status", oc_cert_status_name(r->status),
	    "profile", r->profile, "subject_cn", r->subject_cn, "org_code", r->org_code,
	    "medium", r->medium, "not_before", nb, "not_after", na,
	    "enrollment", (json_int_t)r->enrollment_id);
	if (r->status == OC_CERT_REVOKED) {
		json_object_set_new(o, "revoked_at", json_string(ra));
		json_object_set_new(o, "reason", json_string(oc_reason_name(r->reason) ?
		    oc_reason_name(r->reason) : "unspecified"));
	}
	if (r->replaces[0])
		json_object_set_new(o, "replaces", json_string(r->replaces));
	if (r->replaced_by[0])
		json_object_set_new(o, "replaced_by", json_string(r->replaced_by));
	return o;
}

/* A string member, optional, at most max bytes; false after replying. */
static bool
opt_str(struct call *c, const char *key, size_t max, const char **out)
{
	struct oc_err err;

	*out = NULL;
	if (c->body == NULL)
		return true;
	if (oc_json_get_str(c->body, key, false, max, out, &err) != 0) {
		fail(c, &err);
		return false;
	}
	return true;
}

static bool
req_str(struct call *c, const char *key, size_t max, const char **out)
{
	struct oc_err err;

	if (c->body == NULL || oc_json_get_str(c->body, key, true, max, out, &err) != 0) {
		if (c->body == NULL)
			bad(c, 400, "invalid_input", "需要 JSON 请求体 / a JSON body is required");
		else
			fail(c, &err);
		return false;
	}
	return true;
}

static bool
parse_id(struct call *c, const char *s, long long *id)
{
	char *end;

	*id = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || *id <= 0) {
		bad(c, 400, "invalid_input", "申请编号无效 / enrollment id must be a positive number");
		return false;
	}
	return true;
}

static X509_REQ *
body_csr(struct call *c)
{
	const char *pem;
	struct oc_err err;
	X509_REQ *r;

	if (!req_str(c, "csr", 60000, &pem))
		return NULL;
	if ((r = oc_csr_parse((const unsigned char *)pem, strlen(pem), &err)) == NULL)
		fail(c, &err);
	return r;
}

static bool
fill_enroll(struct call *c, struct oc_enroll_req *r)
{
	const char *profile = NULL;
	json_t *m;

	memset(r, 0, sizeof(*r));
	r->profile = OC_PROFILE_ENTERPRISE;
	if (!opt_str(c, "profile", 16, &profile))
		return false;
	if (profile != NULL && oc_profile_parse(profile, &r->profile) != 0) {
		bad(c, 400, "invalid_input", "profile must be enterprise or personal");
		return false;
	}
	if (!opt_str(c, "name", 256, &r->name) || !opt_str(c, "uscc", 32, &r->uscc) ||
	    !opt_str(c, "st", 64, &r->st) || !opt_str(c, "l", 64, &r->l) ||
	    !opt_str(c, "legal_rep", 128, &r->legal_rep) ||
	    !opt_str(c, "contact", 128, &r->contact) || !opt_str(c, "phone", 32, &r->phone) ||
	    !opt_str(c, "ic_reg_no", 32, &r->ic_reg_no) || !opt_str(c, "tax_no", 32, &r->tax_no) ||
	    !opt_str(c, "insurance_no", 32, &r->insurance_no) ||
	    !opt_str(c, "identity_code", 32, &r->identity_code) ||
	    !opt_str(c, "medium", 17, &r->medium))
		return false;
	/* materials: the checklist, as JSON (array or object) */
	if (c->body != NULL && (m = json_object_get(c->body, "materials")) != NULL) {
		static __thread char buf[2048];
		char *s = json_dumps(m, JSON_COMPACT | JSON_ENCODE_ANY);

		if (s == NULL || strlen(s) >= sizeof(buf)) {
			free(s);
			bad(c, 400, "invalid_input", "materials is too long");
			return false;
		}
		snprintf(buf, sizeof(buf), "%s", s);
		free(s);
		r->materials = buf;
	}
	return true;
}

/* ---- endpoints ---- */

static void
enroll(struct call *c)
{
	struct oc_enroll_req r;
	struct oc_err err;
	long long id;

	if (!fill_enroll(c, &r))
		return;
	if (oc_ca_enroll(c->ca, &c->who, &r, &id, &err) != 0)
		return fail(c, &err);
	oc_http_reply_json(c->req, 201, json_pack("{s:I, s:s}", "enrollment", (json_int_t)id,
	    "status", "pending"));
}

static void
enrollment_get(struct call *c, long long id)
{
	struct oc_enrollment e;
	struct oc_err err;
	char ca_[32], da[32];
	json_error_t je;
	json_t *m;

	if (oc_store_enroll_get(oc_ca_store(c->ca), id, &e, &err) != 0)
		return fail(c, &err);
	iso(e.created_at, ca_, sizeof(ca_));
	iso(e.decided_at, da, sizeof(da));
	m = json_loads(e.materials, 0, &je);
	oc_http_reply_json(c->req, 200, json_pack("{s:I, s:s, s:s, s:s, s:I, s:o, s:s, s:s, s:s, s:s, s:s, s:s}",
	    "enrollment", (json_int_t)e.id, "kind", oc_enroll_kind_name(e.kind), "status",
	    oc_enroll_status_name(e.status), "profile", e.profile, "company_id",
	    (json_int_t)e.company_id, "materials", m ? m : json_array(), "operator", e.operator_,
	    "created_at", ca_, "decided_by", e.decided_by, "decided_at", da, "note", e.note,
	    "serial", e.serial));
}

static void
decide(struct call *c, long long id, bool approve)
{
	struct oc_err err;
	const char *reason = NULL;

	if (!approve && !req_str(c, "reason", 500, &reason))
		return;
	if (oc_ca_decide(c->ca, &c->who, id, approve, reason, &err) != 0)
		return fail(c, &err);
	oc_http_reply_json(c->req, 200, json_pack("{s:I, s:s}", "enrollment", (json_int_t)id,
	    "status", approve ? "approved" : "rejected"));
}

static void
issue(struct call *c, long long id)
{
	struct oc_err err;
	const char *medium = NULL;
	X509_REQ *csr;
	X509 *cert;
	unsigned char *der = NULL;
	size_t dlen = 0;

	if (!opt_str(c, "medium", 17, &medium) || (csr = body_csr(c)) == NULL)
		return;
	cert = oc_ca_issue_der(c->ca, &c->who, id, csr, medium, &der, &dlen, &err);
	X509_REQ_free(csr);
	if (cert == NULL)
		return fail(c, &err);
	reply_cert(c->req, 201, cert, der, dlen, medium);
	OPENSSL_free(der);
	X509_free(cert);
}

/* POST /api/v1/certs: enroll + approve + issue at the counter in one call. */
static void
issue_direct(struct call *c)
{
	struct oc_enroll_req r;
	struct oc_err err;
	X509_REQ *csr;
	X509 *cert = NULL;
	long long id;

	if (!fill_enroll(c, &r) || (csr = body_csr(c)) == NULL)
		return;
	if (oc_key_check(X509_REQ_get0_pubkey(csr), r.profile, oc_ca_algo(c->ca), &err) != 0 ||
	    oc_ca_enroll(c->ca, &c->who, &r, &id, &err) != 0 ||
	    oc_ca_decide(c->ca, &c->who, id, true, "issued directly at the counter", &err) != 0 ||
	    (cert = oc_ca_issue(c->ca, &c->who, id, csr, r.medium, &err)) == NULL) {
		X509_REQ_free(csr);
		return fail(c, &err);
	}
	X509_REQ_free(csr);
	reply_cert(c->req, 201, cert, NULL, 0, r.medium);
	X509_free(cert);
}

static void
replace(struct call *c, const char *serial, const char *what)
{
	struct oc_err err;
	struct oc_enroll_req r;
	const char *medium = NULL;
	X509_REQ *csr;
	X509 *cert;

	if (strcmp(what, "change") == 0 && !fill_enroll(c, &r))
		return;
	if (strcmp(what, "reissue") == 0 && !req_str(c, "medium", 17, &medium))
		return;
	if ((csr = body_csr(c)) == NULL)
		return;
	if (strcmp(what, "renew") == 0)
		cert = oc_ca_renew(c->ca, &c->who, serial, csr, &err);
	else if (strcmp(what, "change") == 0)
		cert = oc_ca_change(c->ca, &c->who, serial, &r, csr, &err);
	else
		cert = oc_ca_reissue(c->ca, &c->who, serial, csr, medium, &err);
	X509_REQ_free(csr);
	if (cert == NULL)
		return fail(c, &err);
	reply_cert(c->req, 201, cert, NULL, 0, medium);
	X509_free(cert);
}

static void
revoke(struct call *c, const char *serial)
{
	struct oc_err err;
	const char *reason;
	char canon[43];
	int code;

	if (!req_str(c, "reason", 40, &reason))
		return;
	if (oc_reason_parse(reason, &code) != 0)
		return bad(c, 400, "invalid_input", "未知的吊销原因 / unknown revocation reason");
	if (oc_serial_canon(serial, canon, &err) != 0 ||
	    oc_ca_revoke(c->ca, &c->who, canon, code, &err) != 0)
		return fail(c, &err);
	oc_http_reply_json(c->req, 200, json_pack("{s:s, s:s, s:s}", "serial", canon,
	    "status", "revoked", "reason", oc_reason_name(code)));
}

static int
list_cb(const struct oc_cert_rec *r, void *arg)
{
	json_array_append_new(arg, rec_json(r));
	return json_array_size(arg) >= 1000 ? 1 : 0;
}

static void
query(struct call *c)
{
	struct oc_cert_filter f;
	struct oc_err err;
	char canon[43];
	json_t *arr;
	int n;

	memset(&f, 0, sizeof(f));
	f.serial = oc_http_req_query(c->req, "serial");
	f.uid = oc_http_req_query(c->req, "uid");
	f.org_code = oc_http_req_query(c->req, "uscc");
	f.medium = oc_http_req_query(c->req, "medium");
	n = (f.serial != NULL) + (f.uid != NULL) + (f.org_code != NULL) + (f.medium != NULL);
	if (n != 1)
		return bad(c, 400, "invalid_input",
		    "查询须给出 serial、uid、uscc、medium 之一 / give exactly one of serial, uid, uscc, medium");
	if (f.serial != NULL) {
		if (oc_serial_canon(f.serial, canon, &err) != 0)
			return fail(c, &err);
		f.serial = canon;
	}
	arr = json_array();
	if (oc_store_cert_list(oc_ca_store(c->ca), &f, list_cb, arr, &err) != 0) {
		json_decref(arr);
		return fail(c, &err);
	}
	oc_http_reply_json(c->req, 200, json_pack("{s:o}", "certificates", arr));
}

static void
cert_get(struct call *c, const char *serial)
{
	struct oc_cert_rec r;
	struct oc_err err;
	char canon[43];
	const unsigned char *p;
	X509 *x;
	json_t *o;
	char *pem;

	if (oc_serial_canon(serial, canon, &err) != 0 ||
	    oc_store_cert_get(oc_ca_store(c->ca), canon, &r, &err) != 0)
		return fail(c, &err);
	o = rec_json(&r);
	p = r.der;
	if ((x = d2i_X509(NULL, &p, (long)r.der_len)) != NULL && (pem = cert_pem(x)) != NULL) {
		json_object_set_new(o, "certificate", json_string(pem));
		free(pem);
	}
	X509_free(x);
	free(r.der);
	oc_http_reply_json(c->req, 200, o);
}

static void
unlock(struct call *c, const char *medium)
{
	struct oc_err err;
	char *so_pin = NULL;

	if (oc_ca_escrow_get(c->ca, &c->who, medium, &so_pin, &err) != 0)
		return fail(c, &err);
	oc_http_set_header(c->req, "Cache-Control", "no-store");
	oc_http_reply_json(c->req, 200, json_pack("{s:s, s:s}", "medium", medium, "so_pin", so_pin));
	OPENSSL_cleanse(so_pin, strlen(so_pin));
	free(so_pin);
}

static int
apps_cb(const struct oc_app_rec *r, void *arg)
{
	char oa[32], ca_[32];

	iso(r->opened_at, oa, sizeof(oa));
	iso(r->closed_at, ca_, sizeof(ca_));
	json_array_append_new(arg, json_pack("{s:s, s:s, s:s, s:s, s:s}", "app", r->app,
	    "status", r->open ? "open" : "closed", "opened_at", oa, "opened_by", r->opened_by,
	    "closed_at", ca_));
	return 0;
}

static void
apps(struct call *c, const char *serial, const char *method, const char *app)
{
	struct oc_err err;
	char canon[43];
	json_t *arr;

	if (oc_serial_canon(serial, canon, &err) != 0)
		return fail(c, &err);
	if (strcmp(method, "GET") == 0 && app == NULL) {
		arr = json_array();
		if (oc_store_app_list(oc_ca_store(c->ca), canon, apps_cb, arr, &err) != 0) {
			json_decref(arr);
			return fail(c, &err);
		}
		return oc_http_reply_json(c->req, 200, json_pack("{s:s, s:o}", "serial", canon,
		    "applications", arr));
	}
	if (strcmp(method, "POST") == 0 && app == NULL) {
		if (!req_str(c, "app", 64, &app))
			return;
		if (oc_ca_app_open(c->ca, &c->who, canon, app, &err) != 0)
			return fail(c, &err);
		return oc_http_reply_json(c->req, 201, json_pack("{s:s, s:s, s:s}", "serial",
		    canon, "app", app, "status", "open"));
	}
	if (strcmp(method, "DELETE") == 0 && app != NULL) {
		if (oc_ca_app_close(c->ca, &c->who, canon, app, &err) != 0)
			return fail(c, &err);
		return oc_http_reply_json(c->req, 200, json_pack("{s:s, s:s, s:s}", "serial",
		    canon, "app", app, "status", "closed"));
	}
	bad(c, 405, "method_not_allowed", "不支持的方法 / method not allowed");
}

/* ---- dispatch ---- */

static bool
is(struct call *c, const char *method, int n, ...)
{
	va_list ap;
	bool ok;

	if (c->nseg != n || strcmp(oc_http_req_method(c->req), method) != 0)
		return false;
	ok = true;
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		const char *want = va_arg(ap, const char *);
		if (want != NULL && strcmp(c->seg[i], want) != 0)
			ok = false;
	}
	va_end(ap);
	return ok;
}

static void
route(struct call *c)
{
	long long id;
	const char *m = oc_http_req_method(c->req);

	if (is(c, "POST", 1, "enrollments"))
		return enroll(c);
	if (is(c, "GET", 2, "enrollments", NULL))
		return parse_id(c, c->seg[1], &id) ? enrollment_get(c, id) : (void)0;
	if (is(c, "POST", 3, "enrollments", NULL, "approve"))
		return parse_id(c, c->seg[1], &id) ? decide(c, id, true) : (void)0;
	if (is(c, "POST", 3, "enrollments", NULL, "reject"))
		return parse_id(c, c->seg[1], &id) ? decide(c, id, false) : (void)0;
	if (is(c, "POST", 3, "enrollments", NULL, "issue"))
		return parse_id(c, c->seg[1], &id) ? issue(c, id) : (void)0;
	if (is(c, "POST", 1, "certs"))
		return issue_direct(c);
	if (is(c, "GET", 1, "certs"))
		return query(c);
	if (is(c, "GET", 2, "certs", NULL))
		return cert_get(c, c->seg[1]);
	if (is(c, "POST", 3, "certs", NULL, "revoke"))
		return revoke(c, c->seg[1]);
	if (is(c, "POST", 3, "certs", NULL, "renew") || is(c, "POST", 3, "certs", NULL, "change") ||
	    is(c, "POST", 3, "certs", NULL, "reissue"))
		return replace(c, c->seg[1], c->seg[2]);
	if (c->nseg == 3 && strcmp(c->seg[0], "certs") == 0 && strcmp(c->seg[2], "apps") == 0)
		return apps(c, c->seg[1], m, NULL);
	if (c->nseg == 4 && strcmp(c->seg[0], "certs") == 0 && strcmp(c->seg[2], "apps") == 0)
		return apps(c, c->seg[1], m, c->seg[3]);
	if (is(c, "POST", 3, "media", NULL, "unlock"))
		return unlock(c, c->seg[1]);
	bad(c, 404, "not_found", "无此接口 / no such endpoint");
}

void
oc__ca_api_handle(struct oc_http_req *req, void *arg)
{
	struct call c;
	struct oc_err err;
	const unsigned char *body;
	size_t blen;
	char *save = NULL, *tok;
	X509 *cert;
	(void)arg;

	memset(&c, 0, sizeof(c));
	c.req = req;
	if ((c.ca = oc__ca_req_ca(req)) == NULL)
		return bad(&c, 503, "unavailable", "服务暂不可用 / service unavailable");
	cert = oc_http_req_client_cert(req, NULL);
	if (oc_ca_operator_auth(c.ca, cert, c.op_name, sizeof(c.op_name), c.op_serial, &err) != 0) {
		char q[OC_LOG_QBUF];
		oc_log(OC_LOG_WARN, "ra.denied", "peer=%s msg=%s", oc_log_q(q, sizeof(q),
		    oc_http_req_peer(req)), err.msg[0] ? "refused" : "-");
		return oc_http_reply_error(req, cert == NULL ? 401 : 403,
		    cert == NULL ? "unauthenticated" : "forbidden", err.msg);
	}
	snprintf(c.who_buf, sizeof(c.who_buf), "op:%s", c.op_serial);
	c.who.who = c.who_buf;
	c.who.from = oc_http_req_peer(req);

	body = oc_http_req_body(req, &blen);
	if (blen > 0) {
		if ((c.body = oc_json_parse_object((const char *)body, blen, MAX_BODY, &err)) == NULL)
			return fail(&c, &err);
	}
	/* Never route a cut-off path: its first 511 bytes may name another
	 * endpoint than the whole. */
	if (strlen(oc_http_req_tail(req)) >= sizeof(c.path)) {
		json_decref(c.body);
		return bad(&c, 404, "not_found", "无此接口 / no such endpoint");
	}
	snprintf(c.path, sizeof(c.path), "%s", oc_http_req_tail(req));
	for (tok = strtok_r(c.path, "/", &save); tok != NULL; tok = strtok_r(NULL, "/", &save)) {
		if (c.nseg == 6) {
			json_decref(c.body);
			return bad(&c, 404, "not_found", "无此接口 / no such endpoint");
		}
		c.seg[c.nseg++] = tok;
	}
	route(&c);
	json_decref(c.body);
	if (!oc_ca_signer_alive(c.ca))
		oc_log(OC_LOG_ERROR, "signer.lost", "msg=\"a worker's signer process has stopped\"");
}
