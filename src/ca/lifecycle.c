/*
 * lifecycle.c — the life of an end-entity certificate at the CA (SPEC
 * §3.4): enroll → approve/reject → issue; renew (更新), change (变更),
 * reissue on a new medium (补办), revoke (撤销).
 *
 * Each operation checks its input and the current state, then does all of
 * its writes — certificate, enrollment transition, links, audit row — in
 * one store transaction.  The certificate is signed before the transaction
 * commits and returned only after it has: a certificate the caller sees is
 * always on disk, and one whose transaction failed never leaves the
 * engine.  Impossible transitions (issuing to an enrollment that was not
 * approved, renewing a revoked certificate, revoking twice) are refused
 * with OC_ECONFLICT by the store's conditional updates, so two operators
 * racing each other cannot both succeed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca/ca_priv.h"
#include "onecert/ident.h"
#include "onecert/log.h"
#include "store/store_int.h"

/* Text a person typed: valid UTF-8, no control characters, 1..max bytes. */
static int
check_text(const char *v, size_t max, bool required, const char *what,
    struct oc_err *err)
{
	size_t n;
	const unsigned char *p;

	if (v == NULL || *v == '\0') {
		if (required)
			return oc_err_set(err, OC_EINVAL, "%s is required", what);
		return 0;
	}
	n = strlen(v);
	if (n > max)
		return oc_err_set(err, OC_EINVAL, "%s is too long (%zu bytes, at most %zu)",
		    what, n, max);
	for (p = (const unsigned char *)v; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return oc_err_set(err, OC_EINVAL, "%s contains a control character", what);
	/* jansson's validator is a strict UTF-8 check. */
	json_t *s = json_string(v);
	if (s == NULL)
		return oc_err_set(err, OC_EINVAL, "%s is not valid UTF-8", what);
	json_decref(s);
	return 0;
}

/* A name that becomes a certificate's CN (and O): RFC 5280's
 * ub-common-name / ub-organization-name is 64 characters, which OpenSSL
 * enforces when the subject is built; refuse it here, when it is typed,
 * rather than at signing. */
static int
check_cn_chars(const char *v, const char *what, struct oc_err *err)
{
	size_t chars = 0;

	for (const unsigned char *p = (const unsigned char *)v; v && *p; p++)
		chars += (*p & 0xc0) != 0x80;
	if (chars > 64)
		return oc_err_set(err, OC_EINVAL, "%s 过长（%zu 个字符，最多 64） / %s is too long "
		    "(%zu characters, at most 64)", what, chars, what, chars);
	return 0;
}

int
oc__check_medium(const char *m, struct oc_err *err)
{
	size_t n = m ? strlen(m) : 0;

	if (n == 0 || n > 16 || strspn(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._:-") != n)
		return oc_err_set(err, OC_EINVAL,
		    "介质号须为 1–16 个字母、数字或 ._:- / medium serial must be 1-16 of [A-Za-z0-9._:-]");
	return 0;
}

/* Resident identity card number (GB 11643-1999): 17 digits and an ISO
 * 7064 MOD 11-2 check character. */
static int
resident_id_check(const char *s, struct oc_err *err)
{
	static const int w[17] = { 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2 };
	static const char check[] = "10X98765432";
	int sum = 0;

	if (s == NULL || strlen(s) != 18)
		return oc_err_set(err, OC_EINVAL, "身份证号码应为18位 / identity number must be 18 characters");
	for (int i = 0; i < 17; i++) {
		if (s[i] < '0' || s[i] > '9')
			return oc_err_set(err, OC_EINVAL,
			    "身份证号码第%d位应为数字 / identity number: position %d must be a digit",
			    i + 1, i + 1);
		sum += (s[i] - '0') * w[i];
	}
	if (s[17] != check[sum % 11])
		return oc_err_set(err, OC_EINVAL,
		    "身份证号码校验位错误：第18位应为 %c / identity number check character should be %c",
		    check[sum % 11], check[sum % 11]);
	return 0;
}

static int
check_phone(const char *v, struct oc_err *err)
{
	size_t n;

	if (v == NULL || *v == '\0')
		return 0;
	n = strlen(v);
	if (n < 5 || n > 20 || strspn(v, "0123456789-+ ") != n)
		return oc_err_set(err, OC_EINVAL, "联系电话格式错误 / phone number is malformed");
	if (n == 11 && v[0] == '1')
		return oc_mobile_check(v, err);
	return 0;
}

static int
check_materials(const char *m, struct oc_err *err)
{
	json_error_t je;
	json_t *j;

	if (m == NULL || *m == '\0')
		return 0;
	if (strlen(m) >= sizeof(((struct oc_enrollment *)0)->materials))
		return oc_err_set(err, OC_EINVAL, "materials list is too long");
	if ((j = json_loads(m, JSON_REJECT_DUPLICATES, &je)) == NULL)
		return oc_err_set(err, OC_EINVAL, "materials must be JSON: %s", je.text);
	if (!json_is_array(j) && !json_is_object(j)) {
		json_decref(j);
		return oc_err_set(err, OC_EINVAL, "materials must be a JSON array or object");
	}
	json_decref(j);
	return 0;
}

static char *
detail_json(const char *fmt, ...)
{
	/* Small helper: a json_pack'd object as compact text (caller frees). */
	va_list ap;
	json_error_t je;
	json_t *j;
	char *s;

	va_start(ap, fmt);
	j = json_vpack_ex(&je, 0, fmt, ap);
	va_end(ap);
	s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return s ? s : strdup("{}");
}

static int
fill_company(const struct oc_enroll_req *r, struct oc_company *c, struct oc_err *err)
{
	char orgcode[10];
	int rc;

	if ((rc = check_text(r->name, 200, true, "企业名称 / company name", err)) != 0 ||
	    (rc = check_cn_chars(r->name, "企业名称 / company name", err)) != 0)
		return rc;
	if (r->uscc == NULL || *r->uscc == '\0')
		return oc_err_set(err, OC_EINVAL,
		    "统一社会信用代码 / USCC or organization code is required");
	if ((rc = oc_company_id_check(r->uscc, orgcode, err)) != 0)
		return rc;
	if ((rc = check_text(r->st, 60, false, "省 / province", err)) != 0 ||
	    (rc = check_text(r->l, 60, false, "市 / city", err)) != 0 ||
	    (rc = check_text(r->legal_rep, 120, false, "法定代表人 / legal representative", err)) != 0 ||
	    (rc = check_text(r->contact, 120, false, "联系人 / contact", err)) != 0 ||
	    (rc = check_phone(r->phone, err)) != 0 ||
	    (rc = check_text(r->ic_reg_no, 30, false, "工商注册号 / IC registration number", err)) != 0 ||
	    (rc = check_text(r->tax_no, 30, false, "税号 / taxation number", err)) != 0 ||
	    (rc = check_text(r->insurance_no, 30, false, "社保号 / insurance number", err)) != 0)
		return rc;
	/* GM/T 0015 values are PrintableStrings. */
	{
		const char *pv[3] = { r->ic_reg_no, r->tax_no, r->insurance_no };
		static const char printable[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?";

		for (int i = 0; i < 3; i++)
			if (pv[i] != NULL && strspn(pv[i], printable) != strlen(pv[i]))
				return oc_err_set(err, OC_EINVAL,
				    "%s may hold only letters, digits and - . / ( )", pv[i]);
	}
	memset(c, 0, sizeof(*c));
	if (strlen(r->uscc) == 18)
		snprintf(c->uscc, sizeof(c->uscc), "%s", r->uscc);
	snprintf(c->orgcode, sizeof(c->orgcode), "%s", orgcode);
	snprintf(c->name, sizeof(c->name), "%s", r->name);
	snprintf(c->st, sizeof(c->st), "%s", r->st && *r->st ? r->st : "上海市");
	snprintf(c->l, sizeof(c->l), "%s", r->l && *r->l ? r->l : "上海市");
	snprintf(c->legal_rep, sizeof(c->legal_rep), "%s", r->legal_rep ? r->legal_rep : "");
	snprintf(c->contact, sizeof(c->contact), "%s", r->contact ? r->contact : "");
	snprintf(c->phone, sizeof(c->phone), "%s", r->phone ? r->phone : "");
	snprintf(c->ic_reg_no, sizeof(c->ic_reg_no), "%s", r->ic_reg_no ? r->ic_reg_no : "");
	snprintf(c->tax_no, sizeof(c->tax_no), "%s", r->tax_no ? r->tax_no : "");
	snprintf(c->insurance_no, sizeof(c->insurance_no), "%s", r->insurance_no ? r->insurance_no : "");
	return 0;
}

int
oc__ca_insert_enrollment(struct oc_ca *ca, const struct oc_actor *who,
    struct oc_enrollment *e, struct oc_err *err)
{
	char *d;
	char obj[32];
	int rc;

	if ((rc = oc_store_enroll_insert(ca->st, e, err)) != 0)
		return rc;
	snprintf(obj, sizeof(obj), "enrollment:%lld", e->id);
	d = detail_json("{s:s, s:s, s:s, s:I, s:s}", "kind", oc_enroll_kind_name(e->kind),
	    "status", oc_enroll_status_name(e->status), "profile", e->profile,
	    "company_id", (json_int_t)e->company_id, "old_serial", e->old_serial);
	rc = oc_ca_audit(ca, who, "enroll.create", obj, d, err);
	free(d);
	return rc;
}

int
oc_ca_enroll(struct oc_ca *ca, const struct oc_actor *who,
    const struct oc_enroll_req *r, long long *id, struct oc_err *err)
{
	struct oc_company c;
	struct oc_enrollment e;
	int rc;

	memset(&e, 0, sizeof(e));
	if (r->profile != OC_PROFILE_ENTERPRISE && r->profile != OC_PROFILE_PERSONAL)
		return oc_err_set(err, OC_EINVAL, "profile must be enterprise or personal");
	if ((rc = check_materials(r->materials, err)) != 0)
		return rc;
	if (r->medium && (rc = oc__check_medium(r->medium, err)) != 0)
		return rc;
	if (r->profile == OC_PROFILE_PERSONAL) {
		if ((rc = check_text(r->name, 120, true, "姓名 / name", err)) != 0 ||
		    (rc = check_cn_chars(r->name, "姓名 / name", err)) != 0 ||
		    (rc = resident_id_check(r->identity_code, err)) != 0)
			return rc;
		snprintf(e.person_name, sizeof(e.person_name), "%s", r->name);
		snprintf(e.identity_code, sizeof(e.identity_code), "%s", r->identity_code);
	} else if ((rc = fill_company(r, &c, err)) != 0) {
		return rc;
	}
	e.kind = OC_ENROLL_APPLY;
	e.status = OC_ENR_PENDING;
	snprintf(e.profile, sizeof(e.profile), "%s", oc_profile_name(r->profile));
	snprintf(e.materials, sizeof(e.materials), "%s", r->materials && *r->materials ? r->materials : "[]");
	snprintf(e.medium, sizeof(e.medium), "%s", r->medium ? r->medium : "");
	if ((rc = oc__store_copy(e.operator_, sizeof(e.operator_), who->who, "operator", err)) != 0)
		return rc;
	if ((rc = oc_store_begin(ca->st, err)) != 0)
		return rc;
	if (r->profile == OC_PROFILE_ENTERPRISE) {
		if ((rc = oc_store_company_put(ca->st, &c, err)) != 0)
			goto fail;
		e.company_id = c.id;
	}
	if ((rc = oc__ca_insert_enrollment(ca, who, &e, err)) != 0)
		goto fail;
	if ((rc = oc_store_commit(ca->st, err)) != 0)
		return rc;
	*id = e.id;
	return 0;
fail:
	oc_store_rollback(ca->st);
	return rc;
}

int
oc_ca_decide(struct oc_ca *ca, const struct oc_actor *who, long long id,
    bool approve, const char *note, struct oc_err *err)
{
	char obj[32];
	char *d;
	int rc;

	if (!approve && (note == NULL || *note == '\0'))
		return oc_err_set(err, OC_EINVAL, "a rejection needs a reason");
	if ((rc = check_text(note, 500, false, "note", err)) != 0)
		return rc;
	if ((rc = oc_store_begin(ca->st, err)) != 0)
		return rc;
	if ((rc = oc_store_enroll_transition(ca->st, id, OC_ENR_PENDING,
	    approve ? OC_ENR_APPROVED : OC_ENR_REJECTED, who->who, note, NULL, err)) != 0)
		goto fail;
	snprintf(obj, sizeof(obj), "enrollment:%lld", id);
	d = detail_json("{s:s, s:s}", "decision", approve ? "approved" : "rejected",
	    "note", note ? note : "");
	rc = oc_ca_audit(ca, who, approve ? "enroll.approve" : "enroll.reject", obj, d, err);
	free(d);
	if (rc != 0)
		goto fail;
	return oc_store_commit(ca->st, err);
fail:
	oc_store_rollback(ca->st);
	return rc;
}

/* Build, sign and lint the certificate for enrollment e from csr's key;
 * reads the company, writes nothing (ca_priv.h).  The key is checked
 * against the profile by oc_cert_issue. */
int
oc__ca_cert_make(struct oc_ca *ca, const struct oc_enrollment *e, X509_REQ *csr,
    struct oc__made *m, struct oc_err *err)
{
	struct oc_company c;
	struct oc_cert_template t;
	struct oc_cert_issuer iss;
	EVP_PKEY *pub;
	const char *org = NULL;
	long days = 365;
	time_t now = time(NULL), ca_end = 0;
	struct tm tm;
	int rc;

	memset(m, 0, sizeof(*m));
	memset(&c, 0, sizeof(c));
	if (oc_profile_parse(e->profile, &m->profile) != 0)
		return oc_err_set(err, OC_EINTERNAL, "enrollment %lld has a bad profile", e->id);
	if ((pub = X509_REQ_get0_pubkey(csr)) == NULL)
		return oc_err_set(err, OC_EINVAL, "the CSR has no public key");
	if (m->profile == OC_PROFILE_ENTERPRISE &&
	    (rc = oc_store_company_get(ca->st, e->company_id, &c, err)) != 0)
		return rc;
	if ((rc = oc_config_get_long(ca->cfg, "ca", m->profile == OC_PROFILE_ENTERPRISE ?
	    "enterprise_days" : "personal_days", 365, 1, 3650, &days, err)) != 0)
		return rc;
	if (ASN1_TIME_to_tm(X509_get0_notAfter(ca->certs[OC_KEY_ISSUING]), &tm))
		ca_end = timegm(&tm);

	memset(&t, 0, sizeof(t));
	t.profile = m->profile;
	t.pubkey = pub;
	t.spki = X509_REQ_get_X509_PUBKEY(csr);
	t.not_before = now - 60;
	t.not_after = now + days * 86400L;
	if (ca_end != 0 && t.not_after > ca_end)
		t.not_after = ca_end;
	if (m->profile == OC_PROFILE_ENTERPRISE) {
		org = c.uscc[0] ? c.uscc : c.orgcode;
		snprintf(m->org, sizeof(m->org), "%s", org);
		t.subject = (struct oc_cert_subject){ .c = "CN", .st = c.st, .l = c.l,
		    .o = c.name, .cn = c.name };
		t.ident.org_code = org;
		t.ident.ic_reg_no = c.ic_reg_no[0] ? c.ic_reg_no : NULL;
		t.ident.tax_no = c.tax_no[0] ? c.tax_no : NULL;
		t.ident.insurance_no = c.insurance_no[0] ? c.insurance_no : NULL;
	} else {
		t.subject = (struct oc_cert_subject){ .c = "CN", .cn = e->person_name };
		t.ident.identity_code = e->identity_code;
	}
	memset(&iss, 0, sizeof(iss));
	iss.cert = ca->certs[OC_KEY_ISSUING];
	iss.signer = ca->signers[OC_KEY_ISSUING];
	iss.crl_url = ca->urls.crl;
	iss.ocsp_url = ca->urls.ocsp;
	iss.ca_issuers_url = ca->urls.ca_issuers;
	oc_unique_id_new(m->uid);
	t.unique_id = m->uid;
	if ((m->cert = oc_cert_issue_der(&t, &iss, &m->der, &m->derlen, err)) == NULL)
		return err != NULL && err->code != 0 ? err->code : OC_ECRYPTO;
	oc_serial_hex(X509_get0_serialNumber(m->cert), m->serial);
	return 0;
}

void
oc__made_cleanup(struct oc__made *m)
{
	X509_free(m->cert);
	m->cert = NULL;
	OPENSSL_free(m->der);
	m->der = NULL;
	m->derlen = 0;
}

/* m's certificate for the caller, and its DER when der is not NULL;
 * nothing of m is left to clean up. */
static X509 *
made_take(struct oc__made *m, unsigned char **der, size_t *derlen)
{
	X509 *cert = m->cert;

	if (der != NULL) {
		*der = m->der;
		*derlen = m->derlen;
	} else {
		OPENSSL_free(m->der);
	}
	memset(m, 0, sizeof(*m));
	return cert;
}

/* Store m for e inside the caller's transaction (ca_priv.h). */
int
oc__ca_cert_record(struct oc_ca *ca, const struct oc_actor *who,
    const struct oc_enrollment *e, const struct oc__made *m, const char *medium,
    const struct oc_cert_rec *old, struct oc_err *err)
{
	char obj[64];
	char *d;
	int rc;

	if ((rc = oc__store_cert_der(ca->st, m->cert, m->der, m->derlen, "issuing",
	    m->profile, m->uid,
	    e->company_id, e->id, medium, m->org[0] ? m->org : NULL,
	    old ? old->serial : NULL, err)) != 0)
		return rc;
	if ((rc = oc_store_enroll_transition(ca->st, e->id, OC_ENR_APPROVED,
	    OC_ENR_ISSUED, NULL, NULL, m->serial, err)) != 0)
		return rc;
	if (old != NULL && (rc = oc_store_cert_set_replaced_by(ca->st, old->serial,
	    m->serial, err)) != 0)
		return rc;
	snprintf(obj, sizeof(obj), "cert:%s", m->serial);
	d = detail_json("{s:s, s:s, s:I, s:s, s:s, s:s}", "profile", e->profile,
	    "uid", m->uid, "enrollment", (json_int_t)e->id, "kind", oc_enroll_kind_name(e->kind),
	    "medium", medium ? medium : "", "replaces", old ? old->serial : "");
	rc = oc_ca_audit(ca, who, "cert.issue", obj, d, err);
	free(d);
	return rc;
}

/* Sign and store a certificate for enrollment e (status approved), inside
 * the caller's transaction.  old: the certificate it replaces, or NULL. */
X509 *
oc__ca_issue_locked(struct oc_ca *ca, const struct oc_actor *who,
    struct oc_enrollment *e, X509_REQ *csr, const char *medium,
    const struct oc_cert_rec *old, struct oc_err *err)
{
	struct oc__made m;
	int rc = OC_EEXIST;

	/* A unique ID collision (50 random bits a day) is retried; nothing
	 * was written when record says OC_EEXIST. */
	for (int attempt = 0; attempt < 4 && rc == OC_EEXIST; attempt++) {
		if (oc__ca_cert_make(ca, e, csr, &m, err) != 0)
			return NULL;
		if ((rc = oc__ca_cert_record(ca, who, e, &m, medium, old, err)) != 0)
			oc__made_cleanup(&m);
	}
	return rc == 0 ? made_take(&m, NULL, NULL) : NULL;
}

/* Outside a caller's transaction oc_ca_issue works in two phases, like
 * oc_ca_issue_batch (batch.c) with one item: the certificate is made
 * (built, signed by the signer process, linted) holding no database lock,
 * and only recording it — certificate row, approved → issued, audit row,
 * COMMIT — takes the write lock, in a transaction shared with the other
 * threads issuing at the same moment (group.c), so that concurrent RA API
 * requests share one fsync.  Making it inside BEGIN IMMEDIATE would
 * serialise every signature of every RA API worker behind one lock, the
 * others waiting in SQLite's busy handler (which sleeps 1…100 ms a try).
 * The approved → issued transition is conditional, so an enrollment issued
 * by someone else meanwhile fails the record with OC_ECONFLICT and the
 * certificate made for it is dropped unissued. */
/* Enrollment id, which must be approved; *medium defaults to the one it
 * names. */
static int
approved(struct oc_ca *ca, long long id, struct oc_enrollment *e, const char **medium,
    struct oc_err *err)
{
	int rc;

	if ((rc = oc_store_enroll_get(ca->st, id, e, err)) != 0)
		return rc;
	if (e->status != OC_ENR_APPROVED)
		return oc_err_set(err, OC_ECONFLICT,
		    "申请 %lld 未审核通过，不能签发 / enrollment %lld is %s, not approved: nothing issued",
		    id, id, oc_enroll_status_name(e->status));
	if (*medium == NULL && e->medium[0])
		*medium = e->medium;
	return 0;
}

X509 *
oc_ca_issue(struct oc_ca *ca, const struct oc_actor *who, long long id,
    X509_REQ *csr, const char *medium, struct oc_err *err)
{
	return oc_ca_issue_der(ca, who, id, csr, medium, NULL, NULL, err);
}

X509 *
oc_ca_issue_der(struct oc_ca *ca, const struct oc_actor *who, long long id,
    X509_REQ *csr, const char *medium, unsigned char **der, size_t *derlen,
    struct oc_err *err)
{
	struct oc_enrollment e;
	struct oc__made m;
	X509 *cert = NULL;
	int rc = OC_EEXIST, n;

	if (medium != NULL && oc__check_medium(medium, err) != 0)
		return NULL;
	if (ca->st->depth == 0) {
		if (approved(ca, id, &e, &medium, err) != 0)
			return NULL;
		/* A unique ID or serial collision is made again, as in
		 * oc__ca_issue_locked; nothing was kept when record fails. */
		for (int attempt = 0; attempt < 4 && rc == OC_EEXIST; attempt++) {
			if (oc__ca_cert_make(ca, &e, csr, &m, err) != 0)
				return NULL;
			if ((rc = oc__group_record(ca, who, &e, &m, medium, err)) != 0)
				oc__made_cleanup(&m);
		}
		if (rc != 0)
			return NULL;
		oc_log(OC_LOG_INFO, "cert.issued", "enrollment=%lld", id);
		return made_take(&m, der, derlen);
	}

	/* inside the caller's transaction: everything in it */
	if (oc_store_begin(ca->st, err) != 0)
		return NULL;
	if (approved(ca, id, &e, &medium, err) != 0)
		goto fail;
	if ((cert = oc__ca_issue_locked(ca, who, &e, csr, medium, NULL, err)) == NULL)
		goto fail;
	if (oc_store_commit(ca->st, err) != 0) {
		X509_free(cert);
		return NULL;
	}
	oc_log(OC_LOG_INFO, "cert.issued", "enrollment=%lld", id);
	if (der != NULL) {
		/* stored and committed: a failure to encode it now is the
		 * caller's to report, not an unissued certificate */
		*der = NULL;
		*derlen = (n = i2d_X509(cert, der)) > 0 ? (size_t)n : 0;
	}
	return cert;
fail:
	oc_store_rollback(ca->st);
	return NULL;
}

/* The old certificate, checked: an end-entity certificate of this CA that
 * is still valid (and, when need_unexpired, not expired).  old->der is
 * kept (the caller frees it). */
static int
load_old(struct oc_ca *ca, const char *serial, bool need_unexpired,
    struct oc_cert_rec *old, struct oc_enrollment *e, struct oc_err *err)
{
	char canon[43];
	int rc;

	if ((rc = oc_serial_canon(serial, canon, err)) != 0)
		return rc;
	if ((rc = oc_store_cert_get(ca->st, canon, old, err)) != 0)
		return rc;
	if (strcmp(old->profile, "enterprise") != 0 && strcmp(old->profile, "personal") != 0)
		return oc_err_set(err, OC_ECONFLICT, "certificate %s is a %s certificate, not an end-entity one",
		    canon, old->profile);
	if (old->status == OC_CERT_REVOKED)
		return oc_err_set(err, OC_ECONFLICT,
		    "证书 %s 已吊销 / certificate %s is revoked", canon, canon);
	if (need_unexpired && old->not_after < time(NULL))
		return oc_err_set(err, OC_ECONFLICT,
		    "证书 %s 已过期 / certificate %s has expired: apply anew", canon, canon);
	if (old->replaced_by[0])
		return oc_err_set(err, OC_ECONFLICT,
		    "certificate %s was already replaced by %s", canon, old->replaced_by);
	return oc_store_enroll_get(ca->st, old->enrollment_id, e, err);
}

/* A new approved enrollment copying e's data, for renew/change/reissue. */
static int
follow_up(struct oc_ca *ca, const struct oc_actor *who, const struct oc_enrollment *e,
    enum oc_enroll_kind kind, const struct oc_cert_rec *old, const char *medium,
    struct oc_enrollment *ne, struct oc_err *err)
{
	int rc;

	*ne = *e;
	ne->id = 0;
	ne->kind = kind;
	ne->status = OC_ENR_APPROVED;
	ne->serial[0] = '\0';
	ne->note[0] = '\0';
	ne->created_at = 0;
	snprintf(ne->old_serial, sizeof(ne->old_serial), "%s", old->serial);
	snprintf(ne->medium, sizeof(ne->medium), "%s", medium ? medium : old->medium);
	if ((rc = oc__store_copy(ne->operator_, sizeof(ne->operator_), who->who, "operator", err)) != 0 ||
	    (rc = oc__store_copy(ne->decided_by, sizeof(ne->decided_by), who->who, "operator", err)) != 0)
		return rc;
	ne->decided_at = time(NULL);
	return oc__ca_insert_enrollment(ca, who, ne, err);
}

static int
revoke_locked(struct oc_ca *ca, const struct oc_actor *who, const char *serial,
    int reason, struct oc_err *err)
{
	char obj[64];
	char *d;
	int rc;

	if ((rc = oc_store_cert_revoke(ca->st, serial, time(NULL), reason, who->who, err)) != 0)
		return rc;
	snprintf(obj, sizeof(obj), "cert:%s", serial);
	d = detail_json("{s:s, s:i}", "reason", oc_reason_name(reason), "code", reason);
	rc = oc_ca_audit(ca, who, "cert.revoke", obj, d, err);
	free(d);
	return rc;
}

/* 更新 and 补办 certify a new key: refuse the old certificate's own. */
static int
check_new_key(const struct oc_cert_rec *old, X509_REQ *csr, struct oc_err *err)
{
	const unsigned char *p = old->der;
	X509 *x;
	EVP_PKEY *pub = X509_REQ_get0_pubkey(csr);
	int same;

	if (pub == NULL)
		return oc_err_set(err, OC_EINVAL, "the CSR has no public key");
	if (old->der == NULL || (x = d2i_X509(NULL, &p, (long)old->der_len)) == NULL)
		return oc_err_set(err, OC_EINTERNAL, "certificate %s: stored DER unreadable",
		    old->serial);
	same = EVP_PKEY_eq(X509_get0_pubkey(x), pub) == 1;
	X509_free(x);
	if (same)
		return oc_err_set(err, OC_EINVAL,
		    "须使用新密钥 / the CSR carries the key of certificate %s: a new key is required",
		    old->serial);
	return 0;
}

/* What a 变更 changed in the company's data, for the audit log: the new
 * value of each field that differs. */
static int
audit_company(struct oc_ca *ca, const struct oc_actor *who, const struct oc_company *prev,
    const struct oc_company *c, struct oc_err *err)
{
	const struct { const char *key; const char *was, *now; } f[] = {
		{ "name", prev->name, c->name }, { "uscc", prev->uscc, c->uscc },
		{ "st", prev->st, c->st }, { "l", prev->l, c->l },
		{ "legal_rep", prev->legal_rep, c->legal_rep },
		{ "contact", prev->contact, c->contact }, { "phone", prev->phone, c->phone },
		{ "ic_reg_no", prev->ic_reg_no, c->ic_reg_no },
		{ "tax_no", prev->tax_no, c->tax_no },
		{ "insurance_no", prev->insurance_no, c->insurance_no },
	};
	json_t *o = json_object();
	char obj[32], *d = NULL;
	int rc;

	for (size_t i = 0; o != NULL && i < sizeof(f) / sizeof(f[0]); i++)
		if (strcmp(f[i].was, f[i].now) != 0)
			json_object_set_new(o, f[i].key, json_string(f[i].now));
	if (o == NULL || (d = json_dumps(o, JSON_COMPACT)) == NULL) {
		json_decref(o);
		return oc_err_set(err, OC_ENOMEM, "out of memory");
	}
	json_decref(o);
	snprintf(obj, sizeof(obj), "company:%lld", c->id);
	rc = oc_ca_audit(ca, who, "company.update", obj, d, err);
	free(d);
	return rc;
}

static void
republish_crl(struct oc_ca *ca, const struct oc_actor *who)
{
	struct oc_err e;
	X509_CRL *crl;

	oc_err_clear(&e);
	if ((crl = oc_ca_crl(ca, who, &e)) == NULL)
		oc_log(OC_LOG_ERROR, "crl.publish_failed", "msg=\"%s\"", e.msg);
	X509_CRL_free(crl);
}

static X509 *
replace(struct oc_ca *ca, const struct oc_actor *who, const char *old_serial,
    enum oc_enroll_kind kind, const struct oc_enroll_req *changes, X509_REQ *csr,
    const char *new_medium, struct oc_err *err)
{
	struct oc_cert_rec old;
	struct oc_enrollment e, ne;
	X509 *cert = NULL;
	bool revoked = false;

	memset(&old, 0, sizeof(old));
	if (kind == OC_ENROLL_REISSUE && new_medium != NULL && *new_medium != '\0' &&
	    oc__check_medium(new_medium, err) != 0)
		return NULL;
	if (oc_store_begin(ca->st, err) != 0)
		return NULL;
	if (load_old(ca, old_serial, kind == OC_ENROLL_RENEW, &old, &e, err) != 0)
		goto fail;
	if ((kind == OC_ENROLL_RENEW || kind == OC_ENROLL_REISSUE) &&
	    check_new_key(&old, csr, err) != 0)
		goto fail;
	if (kind == OC_ENROLL_CHANGE) {
		static const struct oc_enroll_req none;
		struct oc_company prev, c;
		struct oc_enroll_req r;

		if (changes == NULL)
			changes = &none;
		if (strcmp(e.profile, "enterprise") != 0) {
			oc_err_set(err, OC_EUNSUPPORTED, "变更 applies to enterprise certificates");
			goto fail;
		}
		/* r points into prev; fill_company writes c: never the same. */
		if (oc_store_company_get(ca->st, e.company_id, &prev, err) != 0)
			goto fail;
		r = (struct oc_enroll_req){
			.profile = OC_PROFILE_ENTERPRISE,
			.name = changes->name ? changes->name : prev.name,
			.uscc = changes->uscc ? changes->uscc : (prev.uscc[0] ? prev.uscc : prev.orgcode),
			.st = changes->st ? changes->st : prev.st,
			.l = changes->l ? changes->l : prev.l,
			.legal_rep = changes->legal_rep ? changes->legal_rep : prev.legal_rep,
			.contact = changes->contact ? changes->contact : prev.contact,
			.phone = changes->phone ? changes->phone : prev.phone,
			.ic_reg_no = changes->ic_reg_no ? changes->ic_reg_no : prev.ic_reg_no,
			.tax_no = changes->tax_no ? changes->tax_no : prev.tax_no,
			.insurance_no = changes->insurance_no ? changes->insurance_no : prev.insurance_no,
		};
		if (fill_company(&r, &c, err) != 0)
			goto fail;
		/* The organization code is the company's identity: a change
		 * that alters it is a different company, not a 变更. */
		if (strcmp(prev.orgcode, c.orgcode) != 0) {
			oc_err_set(err, OC_EINVAL,
			    "组织机构代码不能变更 / the organization code cannot change (%s → %s)",
			    prev.orgcode, c.orgcode);
			goto fail;
		}
		if (oc_store_company_put(ca->st, &c, err) != 0 ||
		    audit_company(ca, who, &prev, &c, err) != 0)
			goto fail;
	}
	if (kind == OC_ENROLL_REISSUE) {
		if (new_medium == NULL || *new_medium == '\0') {
			oc_err_set(err, OC_EINVAL, "补办 needs the new medium");
			goto fail;
		}
		if (old.medium[0] && strcmp(old.medium, new_medium) == 0) {
			oc_err_set(err, OC_EINVAL, "补办 needs a different medium than the lost one");
			goto fail;
		}
	}
	if (follow_up(ca, who, &e, kind, &old, new_medium, &ne, err) != 0)
		goto fail;
	if (kind == OC_ENROLL_CHANGE || kind == OC_ENROLL_REISSUE) {
		if (revoke_locked(ca, who, old.serial, kind == OC_ENROLL_CHANGE ?
		    CRL_REASON_SUPERSEDED : CRL_REASON_KEY_COMPROMISE, err) != 0)
			goto fail;
		revoked = true;
	}
	if (kind == OC_ENROLL_REISSUE && old.medium[0]) {
		struct oc_medium m;
		if (oc_store_medium_get(ca->st, old.medium, &m, NULL) == 0 &&
		    (oc_store_medium_set_status(ca->st, old.medium, "lost", err) != 0 ||
		    oc_ca_audit(ca, who, "medium.lost", old.medium,
		    "{\"reason\":\"reissue\"}", err) != 0))
			goto fail;
	}
	if ((cert = oc__ca_issue_locked(ca, who, &ne, csr, ne.medium[0] ? ne.medium : NULL,
	    &old, err)) == NULL)
		goto fail;
	if (oc_store_commit(ca->st, err) != 0) {
		X509_free(cert);
		free(old.der);
		return NULL;
	}
	free(old.der);
	if (revoked)
		republish_crl(ca, who);
	return cert;
fail:
	oc_store_rollback(ca->st);
	free(old.der);
	return NULL;
}

X509 *
oc_ca_renew(struct oc_ca *ca, const struct oc_actor *who, const char *old_serial,
    X509_REQ *csr, struct oc_err *err)
{
	return replace(ca, who, old_serial, OC_ENROLL_RENEW, NULL, csr, NULL, err);
}

X509 *
oc_ca_change(struct oc_ca *ca, const struct oc_actor *who, const char *old_serial,
    const struct oc_enroll_req *r, X509_REQ *csr, struct oc_err *err)
{
	return replace(ca, who, old_serial, OC_ENROLL_CHANGE, r, csr, NULL, err);
}

X509 *
oc_ca_reissue(struct oc_ca *ca, const struct oc_actor *who, const char *old_serial,
    X509_REQ *csr, const char *new_medium, struct oc_err *err)
{
	return replace(ca, who, old_serial, OC_ENROLL_REISSUE, NULL, csr, new_medium, err);
}

int
oc_ca_revoke(struct oc_ca *ca, const struct oc_actor *who, const char *serial,
    int reason, struct oc_err *err)
{
	struct oc_cert_rec rec;
	char canon[43];
	int rc;

	if ((rc = oc_serial_canon(serial, canon, err)) != 0)
		return rc;
	if (oc_reason_name(reason) == NULL)
		return oc_err_set(err, OC_EINVAL, "unknown revocation reason %d", reason);
	/* removeFromCRL belongs in delta CRLs only; certificateHold would be
	 * for ever here (there is no release); aACompromise is about
	 * attribute authorities (RFC 5280 5.3.1). */
	if (reason == CRL_REASON_REMOVE_FROM_CRL || reason == CRL_REASON_CERTIFICATE_HOLD ||
	    reason == CRL_REASON_AA_COMPROMISE)
		return oc_err_set(err, OC_EINVAL,
		    "吊销原因 %s 不适用 / revocation reason %s is not accepted here",
		    oc_reason_name(reason), oc_reason_name(reason));
	if ((rc = oc_store_cert_get(ca->st, canon, &rec, err)) != 0)
		return rc;
	free(rec.der);
	if (strcmp(rec.ca, "issuing") != 0 || strcmp(rec.profile, "ocsp") == 0)
		return oc_err_set(err, OC_EPERM,
		    "certificate %s is a CA or service certificate; revoke it with the CA's own procedure",
		    canon);
	if ((rc = oc_store_begin(ca->st, err)) != 0)
		return rc;
	if ((rc = revoke_locked(ca, who, canon, reason, err)) != 0) {
		oc_store_rollback(ca->st);
		return rc;
	}
	if ((rc = oc_store_commit(ca->st, err)) != 0)
		return rc;
	oc_log(OC_LOG_INFO, "cert.revoked", "serial=%s reason=%s", canon, oc_reason_name(reason));
	republish_crl(ca, who);
	return 0;
}
