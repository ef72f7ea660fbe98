/*
 * ca.c — `onecert ca …`: the CA operator's commands (docs/cli.md).
 *
 * Each command opens the CA directory (which starts the signer process)
 * before it loads any PKCS#11 module for a USB key, so the CA's HSM and the
 * company's token never share one SoftHSM2 configuration in a process.
 */
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca/service.h"
#include "cli/cli.h"
#include "onecert/buf.h"
#include "onecert/ca.h"
#include "onecert/config.h"
#include "onecert/log.h"
#include "onecert/pki.h"
#include "onecert/store.h"
#include "onecert/token.h"

struct opts {
	const char *dir, *algo, *name, *base_url, *csr, *uscc, *profile, *out;
	const char *serial, *reason, *uid, *medium, *enrollment, *label, *token;
	const char *pin, *pin_file, *new_pin, *key_algo, *module, *operator_;
	const char *st, *l, *legal_rep, *contact, *phone, *ic_reg_no, *tax_no;
	const char *insurance_no, *materials, *id_number, *cert, *softhsm_conf;
	const char *app, *listen, *tls_listen, *user, *key_out;
	bool dev_file_keys, json, verify, crl_check;
};

enum {
	O_DIR = 256, O_ALGO, O_NAME, O_BASE_URL, O_DEV, O_CSR, O_USCC, O_PROFILE,
	O_OUT, O_SERIAL, O_REASON, O_JSON, O_UID, O_MEDIUM, O_ENROLLMENT, O_LABEL,
	O_TOKEN, O_PIN, O_PIN_FILE, O_NEW_PIN, O_KEY_ALGO, O_MODULE, O_OPERATOR,
	O_ST, O_L, O_LEGAL, O_CONTACT, O_PHONE, O_ICREG, O_TAX, O_INS, O_MATERIALS,
	O_IDNUM, O_CERT, O_VERIFY, O_CRLCHECK, O_SOFTHSM, O_APP, O_LISTEN,
	O_TLS_LISTEN, O_USER, O_KEY_OUT,
};

static const struct option longopts[] = {
	{ "dir", required_argument, NULL, O_DIR },
	{ "algo", required_argument, NULL, O_ALGO },
	{ "name", required_argument, NULL, O_NAME },
	{ "base-url", required_argument, NULL, O_BASE_URL },
	{ "dev-file-keys", no_argument, NULL, O_DEV },
	{ "csr", required_argument, NULL, O_CSR },
	{ "uscc", required_argument, NULL, O_USCC },
	{ "profile", required_argument, NULL, O_PROFILE },
	{ "out", required_argument, NULL, O_OUT },
	{ "serial", required_argument, NULL, O_SERIAL },
	{ "reason", required_argument, NULL, O_REASON },
	{ "json", no_argument, NULL, O_JSON },
	{ "uid", required_argument, NULL, O_UID },
	{ "medium", required_argument, NULL, O_MEDIUM },
	{ "enrollment", required_argument, NULL, O_ENROLLMENT },
	{ "label", required_argument, NULL, O_LABEL },
	{ "token", required_argument, NULL, O_TOKEN },
	{ "pin", required_argument, NULL, O_PIN },
	{ "pin-file", required_argument, NULL, O_PIN_FILE },
	{ "new-pin", required_argument, NULL, O_NEW_PIN },
	{ "key-algo", required_argument, NULL, O_KEY_ALGO },
	{ "module", required_argument, NULL, O_MODULE },
	{ "softhsm-conf", required_argument, NULL, O_SOFTHSM },
	{ "operator", required_argument, NULL, O_OPERATOR },
	{ "st", required_argument, NULL, O_ST },
	{ "l", required_argument, NULL, O_L },
	{ "legal-rep", required_argument, NULL, O_LEGAL },
	{ "contact", required_argument, NULL, O_CONTACT },
	{ "phone", required_argument, NULL, O_PHONE },
	{ "ic-reg-no", required_argument, NULL, O_ICREG },
	{ "tax-no", required_argument, NULL, O_TAX },
	{ "insurance-no", required_argument, NULL, O_INS },
	{ "materials", required_argument, NULL, O_MATERIALS },
	{ "id-number", required_argument, NULL, O_IDNUM },
	{ "cert", required_argument, NULL, O_CERT },
	{ "verify", no_argument, NULL, O_VERIFY },
	{ "crl-check", no_argument, NULL, O_CRLCHECK },
	{ "app", required_argument, NULL, O_APP },
	{ "listen", required_argument, NULL, O_LISTEN },
	{ "tls-listen", required_argument, NULL, O_TLS_LISTEN },
	{ "user", required_argument, NULL, O_USER },
	{ "key-out", required_argument, NULL, O_KEY_OUT },
	{ NULL, 0, NULL, 0 },
};

static int
parse(int argc, char **argv, struct opts *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case O_DIR: o->dir = optarg; break;
		case O_ALGO: o->algo = optarg; break;
		case O_NAME: o->name = optarg; break;
		case O_BASE_URL: o->base_url = optarg; break;
		case O_DEV: o->dev_file_keys = true; break;
		case O_CSR: o->csr = optarg; break;
		case O_USCC: o->uscc = optarg; break;
		case O_PROFILE: o->profile = optarg; break;
		case O_OUT: o->out = optarg; break;
		case O_SERIAL: o->serial = optarg; break;
		case O_REASON: o->reason = optarg; break;
		case O_JSON: o->json = true; break;
		case O_UID: o->uid = optarg; break;
		case O_MEDIUM: o->medium = optarg; break;
		case O_ENROLLMENT: o->enrollment = optarg; break;
		case O_LABEL: o->label = optarg; break;
		case O_TOKEN: o->token = optarg; break;
		case O_PIN: o->pin = optarg; break;
		case O_PIN_FILE: o->pin_file = optarg; break;
		case O_NEW_PIN: o->new_pin = optarg; break;
		case O_KEY_ALGO: o->key_algo = optarg; break;
		case O_MODULE: o->module = optarg; break;
		case O_SOFTHSM: o->softhsm_conf = optarg; break;
		case O_OPERATOR: o->operator_ = optarg; break;
		case O_ST: o->st = optarg; break;
		case O_L: o->l = optarg; break;
		case O_LEGAL: o->legal_rep = optarg; break;
		case O_CONTACT: o->contact = optarg; break;
		case O_PHONE: o->phone = optarg; break;
		case O_ICREG: o->ic_reg_no = optarg; break;
		case O_TAX: o->tax_no = optarg; break;
		case O_INS: o->insurance_no = optarg; break;
		case O_MATERIALS: o->materials = optarg; break;
		case O_IDNUM: o->id_number = optarg; break;
		case O_CERT: o->cert = optarg; break;
		case O_VERIFY: o->verify = true; break;
		case O_CRLCHECK: o->crl_check = true; break;
		case O_APP: o->app = optarg; break;
		case O_LISTEN: o->listen = optarg; break;
		case O_TLS_LISTEN: o->tls_listen = optarg; break;
		case O_USER: o->user = optarg; break;
		case O_KEY_OUT: o->key_out = optarg; break;
		default:
			return oc_cli_usage("unknown or incomplete option '%s' for ca %s",
			    argv[optind - 1], argv[0]);
		}
	}
	if (optind < argc)
		return oc_cli_usage("unexpected argument '%s'", argv[optind]);
	if (o->dir == NULL)
		return oc_cli_usage("ca %s needs --dir DIR", argv[0]);
	return 0;
}

static void
actor(const struct opts *o, struct oc_actor *a, char *buf, size_t cap)
{
	const char *env = getenv("ONECERT_OPERATOR");
	struct passwd *pw;

	if (o->operator_ != NULL)
		snprintf(buf, cap, "%s", o->operator_);
	else if (env != NULL && *env)
		snprintf(buf, cap, "%s", env);
	else if ((pw = getpwuid(getuid())) != NULL)
		snprintf(buf, cap, "cli:%s", pw->pw_name);
	else
		snprintf(buf, cap, "cli:uid%ld", (long)getuid());
	a->who = buf;
	a->from = "cli";
}

static X509_REQ *
read_csr(const char *path, struct oc_err *err)
{
	struct oc_buf b;
	X509_REQ *req = NULL;
	int rc;

	oc_buf_init(&b, 64 * 1024);
	if ((rc = oc_buf_read_file(&b, path)) != 0) {
		oc_err_set(err, rc == OC_ETOOBIG ? OC_ETOOBIG : OC_EIO,
		    rc == OC_ETOOBIG ? "CSR file %s is larger than 64 KiB" : "cannot read %s", path);
		goto out;
	}
	req = oc_csr_parse(b.p, b.len, err);
out:
	oc_buf_cleanup(&b);
	return req;
}

static int
write_out(const char *path, X509 *cert, struct oc_err *err)
{
	BIO *mem;
	char *data;
	long len;
	int rc = 0;

	if (path == NULL)
		return 0;
	if ((mem = BIO_new(BIO_s_mem())) == NULL || !PEM_write_bio_X509(mem, cert)) {
		BIO_free(mem);
		return oc_err_openssl(err, OC_ECRYPTO, "cannot encode the certificate");
	}
	len = BIO_get_mem_data(mem, &data);
	if (strcmp(path, "-") == 0)
		fwrite(data, 1, (size_t)len, stdout);
	else if (oc_write_file_atomic(path, data, (size_t)len, 0644) != 0)
		rc = oc_err_set(err, OC_EIO, "cannot write %s", path);
	BIO_free(mem);
	return rc;
}

static int
report_cert(const struct opts *o, X509 *cert, const char *what, const char *medium)
{
	char serial[43], uid[64] = "", cn[256] = "", exp[64] = "";
	struct tm tm;

	oc_serial_hex(X509_get0_serialNumber(cert), serial);
	oc_cert_ext_string(cert, OC_OID_UNIQUE_ID, uid, sizeof(uid), NULL);
	oc_cert_subject_string(cert, NID_commonName, cn, sizeof(cn));
	if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm))
		strftime(exp, sizeof(exp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (o->json)
		return oc_cli_print_json(json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
		    "result", what, "serial", serial, "unique_id", uid, "subject_cn", cn,
		    "not_after", exp, "medium", medium ? medium : "", "out", o->out ? o->out : ""));
	printf("%s: serial %s\n  证书唯一标识 %s\n  subject CN %s\n  valid until %s\n", what,
	    serial, uid, cn, exp);
	if (medium != NULL && *medium)
		printf("  medium (介质号) %s\n", medium);
	if (o->out != NULL && strcmp(o->out, "-") != 0)
		printf("  written to %s\n", o->out);
	return 0;
}

/* ---- the USB-key side of a command ---- */

struct usbkey {
	struct oc_p11 *p11;
	char serial[17];
	char *pin;
	char id_hex[41];
	bool fresh;              /* initialized by this command */
	char so_pin[33];
};

static void
usbkey_cleanup(struct usbkey *u)
{
	if (u->pin != NULL) {
		OPENSSL_cleanse(u->pin, strlen(u->pin));
		free(u->pin);
	}
	OPENSSL_cleanse(u->so_pin, sizeof(u->so_pin));
	oc_p11_unload(u->p11);
	memset(u, 0, sizeof(*u));
}

/* Open (or, with --label, initialize) the USB key, generate a key pair on
 * it and build the CSR on it.  The CA must already be open. */
static X509_REQ *
usbkey_csr(const struct opts *o, struct oc_ca *ca, long long company_id,
    const struct oc_actor *who, struct usbkey *u, struct oc_err *err)
{
	struct oc_token_info ti;
	struct oc_signer *s = NULL;
	X509_REQ *req = NULL;
	enum oc_algo ka;

	memset(u, 0, sizeof(*u));
	if (o->softhsm_conf != NULL)
		setenv("SOFTHSM2_CONF", o->softhsm_conf, 1);
	if ((u->pin = oc_cli_pin(o->pin, o->pin_file, "ONECERT_PIN", "the USB key's user PIN (--pin)", err)) == NULL)
		return NULL;
	ka = oc_ca_algo(ca);
	if (o->key_algo != NULL && oc_algo_parse(o->key_algo, &ka) != 0) {
		oc_err_set(err, OC_EINVAL, "--key-algo must be ec or rsa");
		return NULL;
	}
	if (ka != oc_ca_algo(ca)) {
		oc_err_set(err, OC_EINVAL, "this CA issues %s certificates; the key must be %s too",
		    oc_algo_name(oc_ca_algo(ca)), oc_algo_name(oc_ca_algo(ca)));
		return NULL;
	}
	if (ka == OC_ALGO_SM2) {
		/* Checked before any token is touched: onecert's PKCS#11 layer
		 * has no SM2 mechanism to call (docs/sm2.md). */
		oc_err_set(err, OC_EUNSUPPORTED,
		    "SM2 keys cannot be generated on this USB key (no SM2 mechanism); "
		    "issue from a CSR made by an SM2-capable key instead (--csr)");
		return NULL;
	}
	if ((u->p11 = oc_p11_load(o->module, err)) == NULL)
		return NULL;
	if (o->label != NULL) {
		if (oc_ca_random_pin(u->so_pin, 16) != 0) {
			oc_err_set(err, OC_ECRYPTO, "no randomness");
			return NULL;
		}
		if (oc_token_init(u->p11, o->label, u->so_pin, u->pin, &ti, err) != 0)
			return NULL;
		u->fresh = true;
		snprintf(u->serial, sizeof(u->serial), "%s", ti.serial);
		/* Escrow the SO PIN before anything else can lock the token. */
		if (oc_ca_medium_register(ca, who, u->serial, o->label, company_id,
		    u->so_pin, err) != 0)
			return NULL;
	} else if (o->token != NULL) {
		if (oc_token_find(u->p11, o->token, &ti, err) != 0)
			return NULL;
		snprintf(u->serial, sizeof(u->serial), "%s", ti.serial);
	} else {
		oc_err_set(err, OC_EINVAL, "name the USB key: --label L (a new one) or --token SERIAL");
		return NULL;
	}
	if (oc_token_keygen(u->p11, u->serial, u->pin, ka, 0, "onecert", u->id_hex, NULL, err) != 0)
		return NULL;
	if ((s = oc_token_signer(u->p11, u->serial, u->pin, u->id_hex, err)) == NULL)
		return NULL;
	req = oc_csr_build(&(struct oc_cert_subject){ 0 }, s, err);
	oc_signer_free(s);
	return req;
}

/* ---- commands ---- */

static int
cmd_init(const struct opts *o)
{
	struct oc_ca_init_opts io;
	struct oc_err err;
	struct oc_actor a;
	char who[128];

	oc_err_clear(&err);
	actor(o, &a, who, sizeof(who));
	memset(&io, 0, sizeof(io));
	io.dir = o->dir;
	if (o->algo == NULL || oc_algo_parse(o->algo, &io.algo) != 0)
		return oc_cli_usage("ca init needs --algo ec|sm2|rsa");
	io.name = o->name;
	io.base_url = o->base_url;
	io.dev_file_keys = o->dev_file_keys;
	io.module = o->module;
	io.actor = who;
	if (oc_ca_init(&io, &err) != 0)
		return oc_cli_fail(&err);
	if (o->json)
		return oc_cli_print_json(json_pack("{s:s, s:s, s:s, s:s}", "result", "initialized",
		    "dir", o->dir, "algo", o->algo, "keys", o->dev_file_keys ? "file" : "pkcs11"));
	printf("CA initialized in %s (%s, keys %s)\n  chain: %s/ca.pem\n", o->dir, o->algo,
	    o->dev_file_keys ? "in files: DEVELOPMENT ONLY" : "on PKCS#11 token", o->dir);
	return 0;
}

static int
parse_id(const char *s, long long *id)
{
	char *end;

	if (s == NULL)
		return -1;
	*id = strtoll(s, &end, 10);
	return (*s == '\0' || *end != '\0' || *id <= 0) ? -1 : 0;
}

static void
fill_req(const struct opts *o, struct oc_enroll_req *r)
{
	memset(r, 0, sizeof(*r));
	r->profile = OC_PROFILE_ENTERPRISE;
	r->name = o->name;
	r->uscc = o->uscc;
	r->st = o->st;
	r->l = o->l;
	r->legal_rep = o->legal_rep;
	r->contact = o->contact;
	r->phone = o->phone;
	r->ic_reg_no = o->ic_reg_no;
	r->tax_no = o->tax_no;
	r->insurance_no = o->insurance_no;
	r->identity_code = o->id_number;
	r->materials = o->materials;
	r->medium = o->medium;
}

static int
cmd_enroll(const struct opts *o, struct oc_ca *ca, const struct oc_actor *a)
{
	struct oc_enroll_req r;
	struct oc_err err;
	long long id;

	oc_err_clear(&err);
	fill_req(o, &r);
	if (o->profile != NULL && oc_profile_parse(o->profile, &r.profile) != 0)
		return oc_cli_usage("--profile must be enterprise or personal");
	if (oc_ca_enroll(ca, a, &r, &id, &err) != 0)
		return oc_cli_fail(&err);
	if (o->json)
		return oc_cli_print_json(json_pack("{s:I, s:s}", "enrollment", (json_int_t)id,
		    "status", "pending"));
	printf("enrollment %lld created (pending approval)\n", id);
	return 0;
}

static int
cmd_decide(const struct opts *o, struct oc_ca *ca, const struct oc_actor *a, bool approve)
{
	struct oc_err err;
	long long id;

	oc_err_clear(&err);
	if (parse_id(o->enrollment, &id) != 0)
		return oc_cli_usage("--enrollment ID (a positive number) is required");
	if (!approve && o->reason == NULL)
		return oc_cli_usage("ca reject needs --reason TEXT");
	if (oc_ca_decide(ca, a, id, approve, approve ? NULL : o->reason, &err) != 0)
		return oc_cli_fail(&err);
	if (o->json)
		return oc_cli_print_json(json_pack("{s:I, s:s}", "enrollment", (json_int_t)id,
		    "status", approve ? "approved" : "rejected"));
	printf("enrollment %lld %s\n", id, approve ? "approved" : "rejected");
	return 0;
}

static int
cmd_issue(const struct opts *o, struct oc_ca *ca, const struct oc_actor *a)
{
	struct oc_err err;
	X509_REQ *req = NULL;
	X509 *cert = NULL;
	long long id;
	int rc = 1;

	oc_err_clear(&err);
	if (o->csr == NULL || o->out == NULL)
		return oc_cli_usage("ca issue needs --csr REQ.pem and --out CERT.pem");
	if (o->enrollment != NULL) {
		if (parse_id(o->enrollment, &id) != 0)
			return oc_cli_usage("--enrollment must be a positive number");
	} else if (o->name == NULL || (o->uscc == NULL && o->id_number == NULL)) {
		return oc_cli_usage("ca issue needs --enrollment ID, or --name and --uscc");
	}
	/* The CSR first: a bad one changes nothing, not even an enrollment. */
	if ((req = read_csr(o->csr, &err)) == NULL) {
		rc = oc_cli_fail(&err);
		goto out;
	}
	if (o->enrollment == NULL) {
		/* Direct issuance: the operator at the counter has verified
		 * the data; the enrollment is recorded as approved by them. */
		struct oc_enroll_req r;

		fill_req(o, &r);
		if (o->profile != NULL && oc_profile_parse(o->profile, &r.profile) != 0) {
			rc = oc_cli_usage("--profile must be enterprise or personal");
			goto out;
		}
		if (oc_key_check(X509_REQ_get0_pubkey(req), r.profile, oc_ca_algo(ca), &err) != 0 ||
		    oc_ca_enroll(ca, a, &r, &id, &err) != 0 ||
		    oc_ca_decide(ca, a, id, true, "issued directly at the counter", &err) != 0) {
			rc = oc_cli_fail(&err);
			goto out;
		}
	}
	if ((cert = oc_ca_issue(ca, a, id, req, o->medium, &err)) == NULL ||
	    write_out(o->out, cert, &err) != 0) {
		rc = oc_cli_fail(&err);
		goto out;
	}
	rc = report_cert(o, cert, "issued", o->medium);
out:
	X509_REQ_free(req);
	X509_free(cert);
	return rc;
}

static int
cmd_issue_token(const struct opts *o, struct oc_ca *ca, const struct oc_actor *a)
{
	struct oc_err err;
	struct oc_enrollment e;
	struct usbkey u;
	X509_REQ *req = NULL;
	X509 *cert = NULL;
	long long id;
	int rc = 1;

	oc_err_clear(&err);
	memset(&u, 0, sizeof(u));
	if (parse_id(o->enrollment, &id) != 0)
		return oc_cli_usage("ca issue-token needs --enrollment ID");
	if (oc_store_enroll_get(oc_ca_store(ca), id, &e, &err) != 0)
		return oc_cli_fail(&err);
	if (e.status != OC_ENR_APPROVED) {
		fprintf(stderr, "onecert: enrollment %lld is %s, not approved: nothing written to any token\n",
		    id, oc_enroll_status_name(e.status));
		return 1;
	}
	if ((req = usbkey_csr(o, ca, e.company_id, a, &u, &err)) == NULL ||
	    (cert = oc_ca_issue(ca, a, id, req, u.serial, &err)) == NULL ||
	    oc_token_put_cert(u.p11, u.serial, u.pin, cert, "onecert", &err) != 0 ||
	    write_out(o->out, cert, &err) != 0) {
		rc = oc_cli_fail(&err);
		goto out;
	}
	rc = report_cert(o, cert, "issued onto the USB key", u.serial);
out:
	usbkey_cleanup(&u);
	X509_REQ_free(req);
	X509_free(cert);
	return rc;
}

static int
cmd_replace(const struct opts *o, struct oc_ca *ca, const struct oc_actor *a, const char *what)
{
	struct oc_err err;
	struct oc_cert_rec old;
	struct usbkey u;
	X509_REQ *req = NULL;
	X509 *cert = NULL;
	char canon[43];
	const char *medium = o->medium;
	int rc = 1;

	oc_err_clear(&err);
	memset(&u, 0, sizeof(u));
	if (o->serial == NULL || o->out == NULL)
		return oc_cli_usage("ca %s needs --serial HEX and --out CERT.pem", what);
	if (oc_serial_canon(o->serial, canon, &err) != 0 ||
	    oc_store_cert_get(oc_ca_store(ca), canon, &old, &err) != 0)
		return oc_cli_fail(&err);
	free(old.der);
	if (o->csr != NULL) {
		req = read_csr(o->csr, &err);
	} else {
		/* 补办 writes to a new medium; 更新 / 变更 to the same one
		 * unless told otherwise. */
		struct opts o2 = *o;
		if (o2.token == NULL && o2.label == NULL && strcmp(what, "reissue") != 0 && old.medium[0])
			o2.token = old.medium;
		req = usbkey_csr(&o2, ca, old.company_id, a, &u, &err);
		if (req != NULL)
			medium = u.serial;
	}
	if (req == NULL) {
		rc = oc_cli_fail(&err);
		goto out;
	}
	if (strcmp(what, "renew") == 0) {
		cert = oc_ca_renew(ca, a, canon, req, &err);
	} else if (strcmp(what, "change") == 0) {
		struct oc_enroll_req r;
		fill_req(o, &r);
		cert = oc_ca_change(ca, a, canon, &r, req, &err);
	} else {
		cert = oc_ca_reissue(ca, a, canon, req, medium, &err);
	}
	if (cert == NULL ||
	    (u.p11 != NULL && oc_token_put_cert(u.p11, u.serial, u.pin, cert, "onecert", &err) != 0) ||
	    write_out(o->out, cert, &err) != 0) {
		rc = oc_cli_fail(&err);
		goto out;
	}
	rc = report_cert(o, cert, strcmp(what, "renew") == 0 ? "renewed" :
	    strcmp(what, "change") == 0 ? "changed" : "reissued", u.p11 ? u.serial : medium);
out:
	usbkey_cleanup(&u);
	X509_REQ_free(req);
	X509_free(cert);
	return rc;
}

static int
cmd_revoke(const struct opts *o, struct oc_ca *ca, const struct oc_actor *a)
{
	struct oc_err err;
	char canon[43];
	int reason;

	oc_err_clear(&err);
	if (o->serial == NULL || o->reason == NULL)
		return oc_cli_usage("ca revoke needs --serial HEX and --reason R");
	if (oc_reason_parse(o->reason, &reason) != 0)
		return oc_cli_usage("unknown --reason '%s' (keyCompromise, superseded, "
		    "cessationOfOperation, affiliationChanged, unspecified, …)", o->reason);
	if (oc_serial_canon(o->serial, canon, &err) != 0 ||
	    oc_ca_revoke(ca, a, canon, reason, &err) != 0)
		return oc_cli_fail(&err);
	if (o->json)
		return oc_cli_print_json(json_pack("{s:s, s:s, s:s}", "result", "revoked",
		    "serial", canon, "reason", oc_reason_name(reason)));
	printf("revoked %s (%s); CRL regenerated\n", canon, oc_reason_name(reason));
	return 0;
}

static int
revoked_count(X509_CRL *crl)
{
	int n = sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl));

	return n < 0 ? 0 : n;
}

static int
cmd_crl(const struct opts *o, struct oc_ca *ca, const struct oc_actor *a)
{
	struct oc_err err;
	X509_CRL *crl;
	BIO *mem = NULL;
	char *data;
	long len;
	int rc = 1;

	oc_err_clear(&err);
	if (o->out == NULL)
		return oc_cli_usage("ca crl needs --out CRL.pem");
	if ((crl = oc_ca_crl(ca, a, &err)) == NULL)
		return oc_cli_fail(&err);
	if ((mem = BIO_new(BIO_s_mem())) == NULL || !PEM_write_bio_X509_CRL(mem, crl)) {
		oc_err_openssl(&err, OC_ECRYPTO, "cannot encode the CRL");
		rc = oc_cli_fail(&err);
		goto out;
	}
	len = BIO_get_mem_data(mem, &data);
	if (oc_write_file_atomic(o->out, data, (size_t)len, 0644) != 0) {
		oc_err_set(&err, OC_EIO, "cannot write %s", o->out);
		rc = oc_cli_fail(&err);
		goto out;
	}
	if (o->json)
		rc = oc_cli_print_json(json_pack("{s:s, s:i}", "out", o->out, "revoked",
		    revoked_count(crl)));
	else {
		printf("CRL written to %s (%d revoked)\n", o->out, revoked_count(crl));
		rc = 0;
	}
out:
	BIO_free(mem);
	X509_CRL_free(crl);
	return rc;
}

static void
fmt_time(time_t t, char *buf, size_t cap)
{
	struct tm tm;

	if (t == 0) {
		snprintf(buf, cap, "-");
		return;
	}
	gmtime_r(&t, &tm);
	strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

struct query_acc {
	json_t *arr;
	bool json;
	int n;
};

static int
query_cb(const struct oc_cert_rec *r, void *arg)
{
	struct query_acc *q = arg;
	char nb[32], na[32], ra[32];

	fmt_time(r->not_before, nb, sizeof(nb));
	fmt_time(r->not_after, na, sizeof(na));
	fmt_time(r->revoked_at, ra, sizeof(ra));
	q->n++;
	if (q->json) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I}",
		    "serial", r->serial, "unique_id", r->uid, "status",
		    oc_cert_status_name(r->status), "profile", r->profile, "subject_cn",
		    r->subject_cn, "org_code", r->org_code, "medium", r->medium,
		    "not_before", nb, "not_after", na, "company_id", (json_int_t)r->company_id,
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
		json_array_append_new(q->arr, o);
		return 0;
	}
	printf("%s  %-7s  %-10s  %s\n", r->serial, oc_cert_status_name(r->status),
	    r->profile, r->subject_cn);
	printf("    证书唯一标识 %s  机构代码 %s  介质号 %s\n", r->uid[0] ? r->uid : "-",
	    r->org_code[0] ? r->org_code : "-", r->medium[0] ? r->medium : "-");
	printf("    valid %s .. %s", nb, na);
	if (r->status == OC_CERT_REVOKED)
		printf("  revoked %s (%s)", ra, oc_reason_name(r->reason) ?
		    oc_reason_name(r->reason) : "unspecified");
	if (r->replaced_by[0])
		printf("  replaced by %s", r->replaced_by);
	printf("\n");
	return 0;
}

static int
cmd_query(const struct opts *o, struct oc_ca *ca)
{
	struct oc_cert_filter f;
	struct query_acc q = { NULL, o->json, 0 };
	struct oc_err err;
	char canon[43];
	int n = 0;

	oc_err_clear(&err);
	memset(&f, 0, sizeof(f));
	n = (o->serial != NULL) + (o->uscc != NULL) + (o->uid != NULL) + (o->medium != NULL);
	if (n != 1)
		return oc_cli_usage("ca query needs exactly one of --serial, --uscc, --uid, --medium");
	if (o->serial != NULL) {
		if (oc_serial_canon(o->serial, canon, &err) != 0)
			return oc_cli_fail(&err);
		f.serial = canon;
	}
	f.org_code = o->uscc;
	f.uid = o->uid;
	f.medium = o->medium;
	if (o->json)
		q.arr = json_array();
	if (oc_store_cert_list(oc_ca_store(ca), &f, query_cb, &q, &err) != 0) {
		json_decref(q.arr);
		return oc_cli_fail(&err);
	}
	if (o->json)
		return oc_cli_print_json(q.arr);
	if (q.n == 0) {
		fprintf(stderr, "onecert: no certificate matches\n");
		return 1;
	}
	return 0;
}

static int
cmd_unlock(const struct opts *o, struct oc_ca *ca, const struct oc_actor *a)
{
	struct oc_err err;
	struct oc_p11 *p11 = NULL;
	struct oc_token_info ti;
	char *so_pin = NULL, *new_pin = NULL;
	int rc = 1;

	oc_err_clear(&err);
	if (o->token == NULL)
		return oc_cli_usage("ca unlock needs --token SERIAL and --new-pin PIN");
	if ((new_pin = oc_cli_pin(o->new_pin, NULL, "ONECERT_NEW_PIN", "the new user PIN (--new-pin)", &err)) == NULL)
		return oc_cli_fail(&err);
	if (o->softhsm_conf != NULL)
		setenv("SOFTHSM2_CONF", o->softhsm_conf, 1);
	if ((p11 = oc_p11_load(o->module, &err)) == NULL ||
	    oc_token_find(p11, o->token, &ti, &err) != 0 ||
	    oc_ca_escrow_get(ca, a, ti.serial, &so_pin, &err) != 0 ||
	    oc_token_unblock(p11, ti.serial, so_pin, new_pin, &err) != 0) {
		rc = oc_cli_fail(&err);
		goto out;
	}
	oc_ca_audit(ca, a, "medium.unlock", ti.serial, "{}", NULL);
	if (o->json)
		rc = oc_cli_print_json(json_pack("{s:s, s:s}", "result", "unlocked", "medium", ti.serial));
	else {
		printf("USB key %s unlocked: the user PIN was reset with the escrowed SO PIN\n", ti.serial);
		rc = 0;
	}
out:
	if (so_pin) {
		OPENSSL_cleanse(so_pin, strlen(so_pin));
		free(so_pin);
	}
	OPENSSL_cleanse(new_pin, strlen(new_pin));
	free(new_pin);
	oc_p11_unload(p11);
	return rc;
}

static int
cmd_verify(const struct opts *o)
{
	struct oc_err err;
	STACK_OF(X509) *chain = NULL, *anchors = NULL, *untrusted = NULL;
	STACK_OF(X509_CRL) *crls = NULL;
	X509 *cert = NULL;
	X509_CRL *crl = NULL;
	char path[4096];
	int rc = 1;

	oc_err_clear(&err);
	if (o->cert == NULL)
		return oc_cli_usage("ca verify needs --cert CERT.pem");
	snprintf(path, sizeof(path), "%s/ca.pem", o->dir);
	if ((cert = oc_cert_load_file(o->cert, &err)) == NULL ||
	    (chain = oc_certs_load_file(path, &err)) == NULL) {
		rc = oc_cli_fail(&err);
		goto out;
	}
	anchors = sk_X509_new_null();
	untrusted = sk_X509_new_null();
	for (int i = 0; i < sk_X509_num(chain); i++) {
		X509 *c = sk_X509_value(chain, i);
		sk_X509_push(X509_check_issued(c, c) == X509_V_OK ? anchors : untrusted, c);
	}
	if (o->crl_check) {
		struct oc_buf b;
		const unsigned char *p;
		char algo[16] = "";
		struct oc_config *cfg;

		snprintf(path, sizeof(path), "%s/ca.ini", o->dir);
		if ((cfg = oc_config_load(path, &err)) == NULL) {
			rc = oc_cli_fail(&err);
			goto out;
		}
		snprintf(algo, sizeof(algo), "%s", oc_config_get(cfg, "ca", "algo", ""));
		oc_config_free(cfg);
		snprintf(path, sizeof(path), "%s/crl/%s-issuing.crl", o->dir, algo);
		oc_buf_init(&b, 64 << 20);
		if (oc_buf_read_file(&b, path) != 0 || (p = b.p, crl = d2i_X509_CRL(NULL, &p, (long)b.len)) == NULL) {
			oc_buf_cleanup(&b);
			oc_err_set(&err, OC_EIO, "cannot read the CRL %s", path);
			rc = oc_cli_fail(&err);
			goto out;
		}
		oc_buf_cleanup(&b);
		crls = sk_X509_CRL_new_null();
		sk_X509_CRL_push(crls, crl);
	}
	if (oc_chain_verify(cert, untrusted, anchors, crls, 0, 0, &err) != 0) {
		fprintf(stderr, "%s: verification failed: %s\n", o->cert, err.msg);
		rc = 1;
		goto out;
	}
	printf("%s: OK\n", o->cert);
	rc = 0;
out:
	sk_X509_free(anchors);
	sk_X509_free(untrusted);
	sk_X509_pop_free(chain, X509_free);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	X509_free(cert);
	return rc;
}

struct audit_acc {
	json_t *arr;
};

static int
audit_cb(const struct oc_audit_rec *r, void *arg)
{
	struct audit_acc *a = arg;
	char ts[32];

	fmt_time(r->ts, ts, sizeof(ts));
	if (a->arr != NULL) {
		json_error_t je;
		json_t *d = json_loads(r->detail, 0, &je);
		json_array_append_new(a->arr, json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:o, s:s}",
		    "id", (json_int_t)r->id, "ts", ts, "actor", r->actor, "source", r->source,
		    "action", r->action, "object", r->object, "detail", d ? d : json_object(),
		    "hash", r->hash));
		return 0;
	}
	printf("%lld %s %s@%s %s %s %s\n", r->id, ts, r->actor, r->source, r->action,
	    r->object, r->detail);
	return 0;
}

static int
cmd_audit(const struct opts *o, struct oc_ca *ca)
{
	struct oc_err err;
	struct audit_acc a = { NULL };
	long long rows = 0;

	oc_err_clear(&err);
	if (o->verify) {
		if (oc_store_audit_verify(oc_ca_store(ca), &rows, &err) != 0)
			return oc_cli_fail(&err);
		printf("audit log intact: %lld rows, hash chain verified\n", rows);
		return 0;
	}
	if (o->json)
		a.arr = json_array();
	if (oc_store_audit_list(oc_ca_store(ca), 0, audit_cb, &a, &err) != 0) {
		json_decref(a.arr);
		return oc_cli_fail(&err);
	}
	return o->json ? oc_cli_print_json(a.arr) : 0;
}

static int
cmd_operator(const struct opts *o, struct oc_ca *ca, const struct oc_actor *a, bool grant)
{
	struct oc_err err;

	oc_err_clear(&err);
	if (o->serial == NULL)
		return oc_cli_usage("ca %s-operator needs --serial HEX (a personal certificate)",
		    grant ? "grant" : "revoke");
	if ((grant ? oc_ca_operator_grant(ca, a, o->serial, &err)
	    : oc_ca_operator_revoke(ca, a, o->serial, &err)) != 0)
		return oc_cli_fail(&err);
	if (o->json)
		return oc_cli_print_json(json_pack("{s:s, s:s}", "result",
		    grant ? "granted" : "revoked", "serial", o->serial));
	printf("operator role %s for %s\n", grant ? "granted" : "revoked", o->serial);
	return 0;
}

static int
apps_cb(const struct oc_app_rec *r, void *arg)
{
	json_t *arr = arg;
	char oa[32], ca_[32];

	fmt_time(r->opened_at, oa, sizeof(oa));
	fmt_time(r->closed_at, ca_, sizeof(ca_));
	if (arr != NULL) {
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s}", "app", r->app,
		    "status", r->open ? "open" : "closed", "opened_at", oa, "opened_by",
		    r->opened_by, "closed_at", ca_));
		return 0;
	}
	printf("%-20s %-6s opened %s by %s%s%s\n", r->app, r->open ? "open" : "closed", oa,
	    r->opened_by, r->open ? "" : ", closed ", r->open ? "" : ca_);
	return 0;
}

static int
cmd_app(const struct opts *o, struct oc_ca *ca, const struct oc_actor *a, const char *cmd)
{
	struct oc_err err;
	char canon[43];
	json_t *arr = NULL;

	oc_err_clear(&err);
	if (o->serial == NULL || (strcmp(cmd, "apps") != 0 && o->app == NULL))
		return oc_cli_usage("ca %s needs --serial HEX%s", cmd,
		    strcmp(cmd, "apps") ? " and --app ID" : "");
	if (strcmp(cmd, "app-open") == 0 || strcmp(cmd, "app-close") == 0) {
		bool open = strcmp(cmd, "app-open") == 0;
		if ((open ? oc_ca_app_open(ca, a, o->serial, o->app, &err)
		    : oc_ca_app_close(ca, a, o->serial, o->app, &err)) != 0)
			return oc_cli_fail(&err);
		if (o->json)
			return oc_cli_print_json(json_pack("{s:s, s:s, s:s}", "serial", o->serial,
			    "app", o->app, "status", open ? "open" : "closed"));
		printf("application %s %s for %s\n", o->app, open ? "opened" : "closed", o->serial);
		return 0;
	}
	if (oc_serial_canon(o->serial, canon, &err) != 0)
		return oc_cli_fail(&err);
	if (o->json)
		arr = json_array();
	if (oc_store_app_list(oc_ca_store(ca), canon, apps_cb, arr, &err) != 0) {
		json_decref(arr);
		return oc_cli_fail(&err);
	}
	return o->json ? oc_cli_print_json(arr) : 0;
}

int
oc_cli_ca(int argc, char **argv)
{
	struct opts o;
	struct oc_err err;
	struct oc_actor a;
	struct oc_ca *ca = NULL;
	const char *cmd = argv[0];
	char who[128];
	int rc;

	if ((rc = parse(argc, argv, &o)) != 0)
		return rc;
	if (strcmp(cmd, "init") == 0)
		return cmd_init(&o);
	if (strcmp(cmd, "verify") == 0)
		return cmd_verify(&o);
	if (strcmp(cmd, "serve") == 0) {
		struct oc_ca_serve_opts so = { .dir = o.dir, .listen = o.listen,
		    .tls_listen = o.tls_listen, .user = o.user };
		oc_err_clear(&err);
		if (getenv("ONECERT_LOG_LEVEL") == NULL)
			oc_log_set_level(OC_LOG_INFO);
		if (oc_ca_serve(&so, &err) != 0)
			return oc_cli_fail(&err);
		return 0;
	}
	static const char *const known[] = { "enroll", "approve", "reject", "issue",
	    "issue-token", "renew", "change", "reissue", "revoke", "crl", "query",
	    "unlock", "audit", "grant-operator", "revoke-operator", "app-open",
	    "app-close", "apps", "issue-tls", NULL };
	bool ok = false;
	for (int i = 0; known[i]; i++)
		ok |= strcmp(cmd, known[i]) == 0;
	if (!ok)
		return oc_cli_usage("unknown command 'ca %s'", cmd);

	oc_err_clear(&err);
	actor(&o, &a, who, sizeof(who));
	if ((ca = oc_ca_open(o.dir, &err)) == NULL)
		return oc_cli_fail(&err);
	if (strcmp(cmd, "enroll") == 0)
		rc = cmd_enroll(&o, ca, &a);
	else if (strcmp(cmd, "approve") == 0)
		rc = cmd_decide(&o, ca, &a, true);
	else if (strcmp(cmd, "reject") == 0)
		rc = cmd_decide(&o, ca, &a, false);
	else if (strcmp(cmd, "issue") == 0)
		rc = cmd_issue(&o, ca, &a);
	else if (strcmp(cmd, "issue-token") == 0)
		rc = cmd_issue_token(&o, ca, &a);
	else if (strcmp(cmd, "renew") == 0 || strcmp(cmd, "change") == 0 ||
	    strcmp(cmd, "reissue") == 0)
		rc = cmd_replace(&o, ca, &a, cmd);
	else if (strcmp(cmd, "revoke") == 0)
		rc = cmd_revoke(&o, ca, &a);
	else if (strcmp(cmd, "crl") == 0)
		rc = cmd_crl(&o, ca, &a);
	else if (strcmp(cmd, "query") == 0)
		rc = cmd_query(&o, ca);
	else if (strcmp(cmd, "unlock") == 0)
		rc = cmd_unlock(&o, ca, &a);
	else if (strcmp(cmd, "grant-operator") == 0 || strcmp(cmd, "revoke-operator") == 0)
		rc = cmd_operator(&o, ca, &a, cmd[0] == 'g');
	else if (strncmp(cmd, "app", 3) == 0)
		rc = cmd_app(&o, ca, &a, cmd);
	else if (strcmp(cmd, "issue-tls") == 0) {
		if (o.name == NULL || o.out == NULL || o.key_out == NULL) {
			rc = oc_cli_usage("ca issue-tls needs --name HOST --out CHAIN.pem --key-out KEY.pem");
		} else if (oc_ca_issue_tls(ca, &a, o.name, o.out, o.key_out, &err) != 0) {
			rc = oc_cli_fail(&err);
		} else {
			printf("TLS server certificate for %s: %s (key %s)\n", o.name, o.out, o.key_out);
			rc = 0;
		}
	}
	else
		rc = cmd_audit(&o, ca);
	oc_ca_close(ca);
	return rc;
}
