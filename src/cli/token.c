/*
 * token.c — `onecert token …`: what an outlet operator does with a USB key
 * at the counter (initialize it, generate a key on it, make a CSR, write
 * the issued certificate back, look at what is on it, change or unblock
 * its PIN).
 *
 * Every subcommand shares one option table; each says which options apply
 * to it, and any other option is a usage error rather than silently
 * ignored.  PINs come from --pin / --pin-file / $ONECERT_PIN (SO PIN:
 * --so-pin / --so-pin-file / $ONECERT_SO_PIN; new PIN: --new-pin /
 * --new-pin-file / $ONECERT_NEW_PIN) and are wiped as soon as the call
 * that needs them returns.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cli/cli.h"
#include "onecert/buf.h"
#include "onecert/pki.h"
#include "onecert/token.h"

enum {
	O_MODULE, O_CONF, O_JSON, O_LABEL, O_TOKEN, O_PIN, O_PIN_FILE,
	O_SO_PIN, O_SO_PIN_FILE, O_NEW_PIN, O_NEW_PIN_FILE, O_ALGO, O_BITS,
	O_ID, O_OUT, O_CERT, O_CN, O_HELP, O_COUNT
};

#define B(o) (1u << (o))
#define COMMON (B(O_MODULE) | B(O_CONF) | B(O_JSON) | B(O_HELP))
#define USERPIN (B(O_PIN) | B(O_PIN_FILE))
#define SOPIN (B(O_SO_PIN) | B(O_SO_PIN_FILE))

static const struct option longopts[] = {
	{ "module", required_argument, NULL, O_MODULE },
	{ "softhsm-conf", required_argument, NULL, O_CONF },
	{ "json", no_argument, NULL, O_JSON },
	{ "label", required_argument, NULL, O_LABEL },
	{ "token", required_argument, NULL, O_TOKEN },
	{ "pin", required_argument, NULL, O_PIN },
	{ "pin-file", required_argument, NULL, O_PIN_FILE },
	{ "so-pin", required_argument, NULL, O_SO_PIN },
	{ "so-pin-file", required_argument, NULL, O_SO_PIN_FILE },
	{ "new-pin", required_argument, NULL, O_NEW_PIN },
	{ "new-pin-file", required_argument, NULL, O_NEW_PIN_FILE },
	{ "algo", required_argument, NULL, O_ALGO },
	{ "bits", required_argument, NULL, O_BITS },
	{ "id", required_argument, NULL, O_ID },
	{ "out", required_argument, NULL, O_OUT },
	{ "cert", required_argument, NULL, O_CERT },
	{ "cn", required_argument, NULL, O_CN },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

struct topts {
	const char *v[O_COUNT];
	bool json;
};

struct tcmd;
typedef int (*tcmd_fn)(struct oc_p11 *, const struct topts *);

struct tcmd {
	const char *name;
	unsigned allowed;
	tcmd_fn fn;
	const char *usage;
};

/* A PIN from flag, file or environment; NULL with *rc set when absent. */
static char *
get_pin(const struct topts *o, int flag, int file, const char *env,
    const char *what, int *rc)
{
	struct oc_err err;
	char *pin;

	oc_err_clear(&err);
	pin = oc_cli_pin(o->v[flag], o->v[file], env, what, &err);
	if (pin == NULL)
		*rc = err.code == OC_EINVAL ? oc_cli_usage("%s", err.msg) :
		    oc_cli_fail(&err);
	return pin;
}

static void
pin_free(char *pin)
{
	if (pin == NULL)
		return;
	OPENSSL_cleanse(pin, strlen(pin));
	free(pin);
}

static const char *
state_name(const struct oc_token_info *t)
{
	if (!t->initialized)
		return "uninitialized";
	if (t->user_pin_locked)
		return "pin-locked";
	if (!t->user_pin_initialized)
		return "no-user-pin";
	if (t->user_pin_low)
		return "pin-count-low";
	return "ready";
}

static json_t *
info_json(const struct oc_token_info *t)
{
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:b}",
	    "slot", (json_int_t)t->slot, "serial", t->serial, "label", t->label,
	    "manufacturer", t->manufacturer, "model", t->model,
	    "state", state_name(t), "initialized", t->initialized,
	    "user_pin_initialized", t->user_pin_initialized,
	    "user_pin_locked", t->user_pin_locked,
	    "user_pin_low", t->user_pin_low, "so_pin_locked", t->so_pin_locked);
}

static int
cmd_list(struct oc_p11 *p11, const struct topts *o)
{
	struct oc_token_info *list = NULL;
	struct oc_err err;
	json_t *arr;
	size_t n = 0;

	oc_err_clear(&err);
	if (oc_token_list(p11, &list, &n, &err) != 0)
		return oc_cli_fail(&err);
	if (o->json) {
		arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, info_json(&list[i]));
		free(list);
		return oc_cli_print_json(json_pack("{s:o}", "tokens", arr));
	}
	if (n == 0)
		printf("no token present\n");
	else
		printf("%-12s %-16s %-14s %s\n", "SLOT", "SERIAL", "STATE",
		    "LABEL");
	for (size_t i = 0; i < n; i++)
		printf("%-12lu %-16s %-14s %s\n", list[i].slot,
		    list[i].serial[0] ? list[i].serial : "-",
		    state_name(&list[i]), list[i].label);
	free(list);
	return 0;
}

static int
cmd_init(struct oc_p11 *p11, const struct topts *o)
{
	struct oc_token_info ti;
	struct oc_err err;
	char *so = NULL, *pin = NULL;
	int rc = 1;

	oc_err_clear(&err);
	if (o->v[O_LABEL] == NULL)
		return oc_cli_usage("token init needs --label");
	if ((so = get_pin(o, O_SO_PIN, O_SO_PIN_FILE, "ONECERT_SO_PIN",
	    "SO PIN", &rc)) == NULL)
		goto out;
	if ((pin = get_pin(o, O_PIN, O_PIN_FILE, "ONECERT_PIN", "PIN",
	    &rc)) == NULL)
		goto out;
	if (oc_token_init(p11, o->v[O_LABEL], so, pin, &ti, &err) != 0) {
		rc = oc_cli_fail(&err);
		goto out;
	}
	if (o->json)
		rc = oc_cli_print_json(json_pack("{s:s, s:s, s:I}", "serial",
		    ti.serial, "label", ti.label, "slot", (json_int_t)ti.slot));
	else {
		printf("%s\n", ti.serial);
		rc = 0;
	}
out:
	pin_free(so);
	pin_free(pin);
	return rc;
}

/* PEM of a public key; malloc'd. */
static char *
pubkey_pem(EVP_PKEY *pkey)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *s = NULL;
	long n;

	if (b != NULL && PEM_write_bio_PUBKEY(b, pkey) == 1 &&
	    (n = BIO_get_mem_data(b, &data)) > 0 &&
	    (s = malloc((size_t)n + 1)) != NULL) {
		memcpy(s, data, (size_t)n);
		s[n] = '\0';
	}
	BIO_free(b);
	return s;
}

static int
cmd_keygen(struct oc_p11 *p11, const struct topts *o)
{
	struct oc_err err;
	enum oc_algo algo = OC_ALGO_EC;
	EVP_PKEY *pub = NULL;
	char id[41], *pin = NULL, *pem = NULL, *end;
	long bits = 0;
	int rc = 1;

	oc_err_clear(&err);
	if (o->v[O_ALGO] != NULL && oc_algo_parse(o->v[O_ALGO], &algo) != 0)
		return oc_cli_usage("--algo is ec, rsa or sm2, not \"%s\"",
		    o->v[O_ALGO]);
	if (o->v[O_BITS] != NULL) {
		bits = strtol(o->v[O_BITS], &end, 10);
		if (*o->v[O_BITS] == '\0' || *end != '\0' || bits <= 0 ||
		    bits > 16384)
			return oc_cli_usage("--bits wants a number of bits");
		if (algo != OC_ALGO_RSA)
			return oc_cli_usage("--bits applies to --algo rsa only");
	}
	if ((pin = get_pin(o, O_PIN, O_PIN_FILE, "ONECERT_PIN", "PIN",
	    &rc)) == NULL)
		goto out;
	if (oc_token_keygen(p11, o->v[O_TOKEN], pin, algo, (int)bits,
	    o->v[O_LABEL], id, &pub, &err) != 0) {
		rc = oc_cli_fail(&err);
		goto out;
	}
	if (o->json) {
		pem = pubkey_pem(pub);
		rc = oc_cli_print_json(json_pack("{s:s, s:s, s:s?}", "id", id,
		    "algo", oc_algo_name(algo), "public_key", pem));
	} else {
		printf("%s\n", id);
		rc = 0;
	}
out:
	free(pem);
	EVP_PKEY_free(pub);
	pin_free(pin);
	return rc;
}

static int
cmd_csr(struct oc_p11 *p11, const struct topts *o)
{
	struct oc_err err;
	struct oc_cert_subject subj = { 0 };
	struct oc_signer *s = NULL;
	X509_REQ *req = NULL;
	BIO *b = NULL;
	char *pin = NULL, *data, id[41];
	long n;
	int rc = 1;

	oc_err_clear(&err);
	if (o->v[O_OUT] == NULL)
		return oc_cli_usage("token csr needs --out FILE");
	if ((pin = get_pin(o, O_PIN, O_PIN_FILE, "ONECERT_PIN", "PIN",
	    &rc)) == NULL)
		goto out;
	s = oc_token_signer(p11, o->v[O_TOKEN], pin, o->v[O_ID], &err);
	pin_free(pin);
	pin = NULL;
	if (s == NULL) {
		rc = oc_cli_fail(&err);
		goto out;
	}
	subj.cn = o->v[O_CN];
	if ((req = oc_csr_build(&subj, s, &err)) == NULL) {
		rc = oc_cli_fail(&err);
		goto out;
	}
	if ((b = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509_REQ(b, req) != 1 ||
	    (n = BIO_get_mem_data(b, &data)) <= 0) {
		oc_err_openssl(&err, OC_ECRYPTO, "cannot encode the CSR");
		rc = oc_cli_fail(&err);
		goto out;
	}
	if (oc_write_file_atomic(o->v[O_OUT], data, (size_t)n, 0644) != 0) {
		oc_err_set(&err, OC_EIO, "cannot write %s", o->v[O_OUT]);
		rc = oc_cli_fail(&err);
		goto out;
	}
	rc = 0;
	if (o->json) {
		if (oc_token_key_id(oc_signer_get0_pubkey(s), id, &err) != 0) {
			rc = oc_cli_fail(&err);
			goto out;
		}
		rc = oc_cli_print_json(json_pack("{s:s, s:s, s:s}", "out",
		    o->v[O_OUT], "id", id, "algo",
		    oc_algo_name(oc_signer_algo(s))));
	}
out:
	BIO_free(b);
	X509_REQ_free(req);
	oc_signer_free(s);
	pin_free(pin);
	return rc;
}

/* A certificate file, PEM or DER, at most 64 KiB. */
static X509 *
load_cert(const char *path, struct oc_err *err)
{
	struct oc_buf b;
	const unsigned char *p;
	BIO *bio = NULL;
	X509 *x = NULL;

	oc_buf_init(&b, 64 * 1024);
	if (oc_buf_read_file(&b, path) != 0) {
		oc_err_set(err, OC_EIO, "cannot read %s", path);
		goto out;
	}
	if (b.len > 0 && strstr((const char *)b.p, "-----BEGIN") != NULL) {
		if ((bio = BIO_new_mem_buf(b.p, (int)b.len)) != NULL)
			x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	} else {
		p = b.p;
		x = d2i_X509(NULL, &p, (long)b.len);
	}
	if (x == NULL)
		oc_err_openssl(err, OC_EINVAL, "%s holds no certificate", path);
out:
	BIO_free(bio);
	oc_buf_cleanup(&b);
	return x;
}

/* One-line UTF-8 RFC 2253 form of a name; malloc'd. */
static char *
name_str(const X509_NAME *name)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *s = NULL;
	long n;

	if (b != NULL && X509_NAME_print_ex(b, name, 0,
	    XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0 &&
	    (n = BIO_get_mem_data(b, &data)) >= 0 &&
	    (s = malloc((size_t)n + 1)) != NULL) {
		memcpy(s, data, (size_t)n);
		s[n] = '\0';
	}
	BIO_free(b);
	return s;
}

static void
time_str(const ASN1_TIME *t, char out[32])
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		snprintf(out, 32, "?");
	else
		strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static char *
serial_str(X509 *x)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *h = bn ? BN_bn2hex(bn) : NULL, *s = h ? strdup(h) : NULL;

	OPENSSL_free(h);
	BN_free(bn);
	return s;
}

static int
cmd_put_cert(struct oc_p11 *p11, const struct topts *o)
{
	struct oc_err err;
	struct oc_token_info ti;
	X509 *x = NULL;
	char *pin = NULL, *subj = NULL, *ser = NULL;
	int rc = 1;

	oc_err_clear(&err);
	if (o->v[O_CERT] == NULL)
		return oc_cli_usage("token put-cert needs --cert FILE");
	if ((x = load_cert(o->v[O_CERT], &err)) == NULL)
		return oc_cli_fail(&err);
	if ((pin = get_pin(o, O_PIN, O_PIN_FILE, "ONECERT_PIN", "PIN",
	    &rc)) == NULL)
		goto out;
	if (oc_token_find(p11, o->v[O_TOKEN], &ti, &err) != 0 ||
	    oc_token_put_cert(p11, ti.serial, pin, x, o->v[O_LABEL],
	    &err) != 0) {
		rc = oc_cli_fail(&err);
		goto out;
	}
	rc = 0;
	if (o->json) {
		subj = name_str(X509_get_subject_name(x));
		ser = serial_str(x);
		rc = oc_cli_print_json(json_pack("{s:s, s:s?, s:s?}", "token",
		    ti.serial, "subject", subj, "serial", ser));
	}
out:
	free(subj);
	free(ser);
	X509_free(x);
	pin_free(pin);
	return rc;
}

static json_t *
object_json(const struct oc_token_object *ob)
{
	json_t *j = json_pack("{s:s, s:s, s:s}", "class", ob->cls, "id",
	    ob->id_hex, "label", ob->label);
	char nb[32], na[32], *s;

	if (ob->algo != OC_ALGO_NONE)
		json_object_set_new(j, "algo", json_string(
		    oc_algo_name(ob->algo)));
	if (strcmp(ob->cls, "private") == 0 || strcmp(ob->cls, "secret") == 0) {
		json_object_set_new(j, "sensitive", json_boolean(ob->sensitive));
		json_object_set_new(j, "extractable",
		    json_boolean(ob->extractable));
		json_object_set_new(j, "never_extractable",
		    json_boolean(ob->never_extractable));
	}
	if (ob->cert != NULL) {
		if ((s = name_str(X509_get_subject_name(ob->cert))) != NULL)
			json_object_set_new(j, "subject", json_string(s));
		free(s);
		if ((s = name_str(X509_get_issuer_name(ob->cert))) != NULL)
			json_object_set_new(j, "issuer", json_string(s));
		free(s);
		if ((s = serial_str(ob->cert)) != NULL)
			json_object_set_new(j, "serial", json_string(s));
		free(s);
		time_str(X509_get0_notBefore(ob->cert), nb);
		time_str(X509_get0_notAfter(ob->cert), na);
		json_object_set_new(j, "not_before", json_string(nb));
		json_object_set_new(j, "not_after", json_string(na));
	}
	return j;
}

static int
cmd_objects(struct oc_p11 *p11, const struct topts *o)
{
	struct oc_err err;
	struct oc_token_info ti;
	struct oc_token_object *objs = NULL;
	size_t n = 0;
	char *pin = NULL, *s, na[32];
	json_t *arr;
	int rc = 1;

	oc_err_clear(&err);
	/* Without any PIN source: public objects only. */
	if (o->v[O_PIN] != NULL || o->v[O_PIN_FILE] != NULL ||
	    getenv("ONECERT_PIN") != NULL) {
		if ((pin = get_pin(o, O_PIN, O_PIN_FILE, "ONECERT_PIN", "PIN",
		    &rc)) == NULL)
			goto out;
	}
	if (oc_token_find(p11, o->v[O_TOKEN], &ti, &err) != 0 ||
	    oc_token_objects(p11, ti.serial, pin, &objs, &n, &err) != 0) {
		rc = oc_cli_fail(&err);
		goto out;
	}
	rc = 0;
	if (o->json) {
		arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, object_json(&objs[i]));
		rc = oc_cli_print_json(json_pack("{s:s, s:s, s:b, s:o}",
		    "token", ti.serial, "label", ti.label, "logged_in",
		    pin != NULL, "objects", arr));
		goto out;
	}
	printf("token %s (%s)%s\n", ti.serial, ti.label,
	    pin ? "" : " — public objects only (give --pin to see keys)");
	for (size_t i = 0; i < n; i++) {
		const struct oc_token_object *ob = &objs[i];

		printf("%-8s %-40s %-4s %s", ob->cls,
		    ob->id_hex[0] ? ob->id_hex : "-",
		    ob->algo != OC_ALGO_NONE ? oc_algo_name(ob->algo) : "-",
		    ob->label);
		if (strcmp(ob->cls, "private") == 0 ||
		    strcmp(ob->cls, "secret") == 0)
			printf("  [%s, %s]", ob->sensitive ? "sensitive" :
			    "NOT SENSITIVE", ob->extractable ? "EXTRACTABLE" :
			    "not extractable");
		if (ob->cert != NULL) {
			s = name_str(X509_get_subject_name(ob->cert));
			time_str(X509_get0_notAfter(ob->cert), na);
			printf("  [%s, until %s]", s ? s : "?", na);
			free(s);
		}
		putchar('\n');
	}
out:
	oc_token_objects_free(objs, n);
	pin_free(pin);
	return rc;
}

static int
cmd_change_pin(struct oc_p11 *p11, const struct topts *o)
{
	struct oc_err err;
	struct oc_token_info ti;
	char *old = NULL, *new = NULL;
	int rc = 1;

	oc_err_clear(&err);
	if ((old = get_pin(o, O_PIN, O_PIN_FILE, "ONECERT_PIN", "PIN",
	    &rc)) == NULL)
		goto out;
	if ((new = get_pin(o, O_NEW_PIN, O_NEW_PIN_FILE, "ONECERT_NEW_PIN",
	    "new PIN", &rc)) == NULL)
		goto out;
	if (oc_token_find(p11, o->v[O_TOKEN], &ti, &err) != 0 ||
	    oc_token_change_pin(p11, ti.serial, old, new, &err) != 0) {
		rc = oc_cli_fail(&err);
		goto out;
	}
	if (o->json)
		rc = oc_cli_print_json(json_pack("{s:s, s:s}", "token",
		    ti.serial, "result", "pin_changed"));
	else {
		printf("PIN 已修改 / PIN changed on token %s\n", ti.serial);
		rc = 0;
	}
out:
	pin_free(old);
	pin_free(new);
	return rc;
}

static int
cmd_unblock(struct oc_p11 *p11, const struct topts *o)
{
	struct oc_err err;
	struct oc_token_info ti;
	char *so = NULL, *new = NULL;
	int rc = 1;

	oc_err_clear(&err);
	if ((so = get_pin(o, O_SO_PIN, O_SO_PIN_FILE, "ONECERT_SO_PIN",
	    "SO PIN", &rc)) == NULL)
		goto out;
	if ((new = get_pin(o, O_NEW_PIN, O_NEW_PIN_FILE, "ONECERT_NEW_PIN",
	    "new PIN", &rc)) == NULL)
		goto out;
	if (oc_token_find(p11, o->v[O_TOKEN], &ti, &err) != 0 ||
	    oc_token_unblock(p11, ti.serial, so, new, &err) != 0) {
		rc = oc_cli_fail(&err);
		goto out;
	}
	if (o->json)
		rc = oc_cli_print_json(json_pack("{s:s, s:s}", "token",
		    ti.serial, "result", "pin_unblocked"));
	else {
		printf("PIN 已解锁并重设 / PIN unblocked and reset on token %s\n",
		    ti.serial);
		rc = 0;
	}
out:
	pin_free(so);
	pin_free(new);
	return rc;
}

static const struct tcmd cmds[] = {
	{ "list", COMMON, cmd_list, "onecert token list [--json]" },
	{ "init", COMMON | B(O_LABEL) | SOPIN | USERPIN, cmd_init,
	  "onecert token init --label L --so-pin P --pin P [--json]" },
	{ "keygen", COMMON | B(O_TOKEN) | USERPIN | B(O_ALGO) | B(O_BITS) |
	  B(O_LABEL), cmd_keygen,
	  "onecert token keygen [--token SERIAL|LABEL] --pin P [--algo ec|rsa] "
	  "[--bits N] [--label L] [--json]" },
	{ "csr", COMMON | B(O_TOKEN) | USERPIN | B(O_ID) | B(O_OUT) | B(O_CN),
	  cmd_csr,
	  "onecert token csr [--token T] --pin P [--id HEX] [--cn NAME] "
	  "--out REQ.pem [--json]" },
	{ "put-cert", COMMON | B(O_TOKEN) | USERPIN | B(O_CERT) | B(O_LABEL),
	  cmd_put_cert,
	  "onecert token put-cert [--token T] --pin P --cert CERT.pem "
	  "[--label L] [--json]" },
	{ "objects", COMMON | B(O_TOKEN) | USERPIN, cmd_objects,
	  "onecert token objects [--token T] [--pin P] [--json]" },
	{ "change-pin", COMMON | B(O_TOKEN) | USERPIN | B(O_NEW_PIN) |
	  B(O_NEW_PIN_FILE), cmd_change_pin,
	  "onecert token change-pin [--token T] --pin OLD --new-pin NEW "
	  "[--json]" },
	{ "unblock", COMMON | B(O_TOKEN) | SOPIN | B(O_NEW_PIN) |
	  B(O_NEW_PIN_FILE), cmd_unblock,
	  "onecert token unblock [--token T] --so-pin SO --new-pin NEW "
	  "[--json]" },
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static void
usage_all(FILE *fp)
{
	fprintf(fp, "usage:\n");
	for (size_t i = 0; i < NCMDS; i++)
		fprintf(fp, "  %s\n", cmds[i].usage);
	fprintf(fp, "every command also takes --module PATH (else "
	    "$ONECERT_PKCS11_MODULE, else %s)\nand --softhsm-conf FILE (sets "
	    "$SOFTHSM2_CONF); PINs may come from --pin-file, --so-pin-file,\n"
	    "--new-pin-file or $ONECERT_PIN, $ONECERT_SO_PIN, "
	    "$ONECERT_NEW_PIN.\n", OC_P11_DEFAULT_MODULE);
}

int
oc_cli_token(int argc, char **argv)
{
	const struct tcmd *cmd = NULL;
	struct topts o;
	struct oc_p11 *p11;
	struct oc_err err;
	int c, rc;

	if (argc < 1 || argv[0] == NULL) {
		usage_all(stderr);
		return 2;
	}
	if (strcmp(argv[0], "help") == 0 || strcmp(argv[0], "--help") == 0 ||
	    strcmp(argv[0], "-h") == 0) {
		usage_all(stdout);
		return 0;
	}
	for (size_t i = 0; i < NCMDS; i++)
		if (strcmp(argv[0], cmds[i].name) == 0)
			cmd = &cmds[i];
	if (cmd == NULL)
		return oc_cli_usage("unknown command: token %s", argv[0]);

	memset(&o, 0, sizeof(o));
	optind = 0;   /* glibc: full re-initialization */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == '?' || c == ':')
			return oc_cli_usage("token %s: bad option %s", cmd->name,
			    argv[optind - 1]);
		if (c < 0 || c >= O_COUNT)
			return oc_cli_usage("token %s: bad option", cmd->name);
		if (!(cmd->allowed & B(c)))
			return oc_cli_usage("token %s does not take --%s",
			    cmd->name, longopts[c].name);
		if (c == O_HELP) {
			printf("usage: %s\n", cmd->usage);
			return 0;
		}
		if (c == O_JSON)
			o.json = true;
		else
			o.v[c] = optarg;
	}
	if (optind < argc)
		return oc_cli_usage("token %s: unexpected argument \"%s\"",
		    cmd->name, argv[optind]);
	if (o.v[O_CONF] != NULL &&
	    setenv("SOFTHSM2_CONF", o.v[O_CONF], 1) != 0)
		return oc_cli_usage("cannot set SOFTHSM2_CONF");

	oc_err_clear(&err);
	if ((p11 = oc_p11_load(o.v[O_MODULE], &err)) == NULL)
		return oc_cli_fail(&err);
	rc = cmd->fn(p11, &o);
	oc_p11_unload(p11);
	return rc;
}
