/*
 * agent.c — `onecert agent`, the local USB-key agent (证书助手, SPEC §5).
 *
 * It runs on the user's PC and lets the hall's web pages use the USB key:
 * list the tokens with their medium serials (介质号) and certificates, sign
 * a login challenge with the key behind a certificate (the PIN typed into
 * the page), change the PIN.  Private keys never leave the token: the
 * signature is made on it through PKCS#11 (oc_token_signer).
 *
 * A web page on any site can make the browser send a request to
 * 127.0.0.1, so everything under /api/v1 is refused unless
 *  - the Origin header is one the configuration allows (the hall's; a
 *    page elsewhere is told no, and without CORS headers the browser does
 *    not let it read any answer either), and
 *  - the Host header names this agent on loopback (a DNS-rebinding page
 *    sends its own host name, with a matching Origin of its own).
 * POST bodies must be application/json, which a browser cannot send
 * cross-origin without the preflight the Origin check answers.  And only a
 * login challenge is signed (base64 text, 16–128 characters): a page that
 * is allowed still cannot make the key sign a document or a CSR.
 *
 * The token is one device: its operations are serialized (one mutex), so
 * two pages' requests never interleave a login and a sign on it.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "agent/agent.h"
#include "onecert/config.h"
#include "onecert/http.h"
#include "onecert/json.h"
#include "onecert/log.h"
#include "onecert/pki.h"
#include "onecert/signer.h"
#include "onecert/token.h"
#include "onecert/utf8.h"

/* Wrong PINs in a row, per token.  A real USB key locks itself after a
 * few; SoftHSM2 and some cheap keys never do, and the agent is the one
 * door web pages have to the PIN.  So after AGENT_PIN_FREE wrong PINs in a
 * row the agent makes the next try wait, 30 s doubling up to 5 min, until
 * a right PIN clears the count (or the agent restarts: the token's own
 * counter, where it has one, is the lock that lasts). */
#define AGENT_PIN_FREE 3
#define AGENT_THROTTLED 16
struct pin_fails {
	char serial[17];
	int fails;
	time_t until;
};

struct agent {
	struct oc_p11 *p11;
	pthread_mutex_t mu;             /* one token operation at a time, and fails */
	struct pin_fails fails[AGENT_THROTTLED];
	const char *origins[OC_AGENT_ORIGINS_MAX];
	size_t n_origins;
	int port;                       /* the listener's, for the Host check */
};

static const char MSG_ORIGIN[] =
    "此网页无权使用证书助手 / this page may not use the agent";

/* ---- pure checks ---- */

/* Split "host:port" / "[v6]:port" into host (without brackets) and port. */
static int
split_hostport(const char *s, char *host, size_t cap, long *port)
{
	const char *colon;
	char *end;
	size_t n;

	if (s == NULL)
		return -1;
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (rb == NULL || rb[1] != ':')
			return -1;
		n = (size_t)(rb - s - 1);
		if (n == 0 || n >= cap)
			return -1;
		memcpy(host, s + 1, n);
		colon = rb + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL || strchr(s, ':') != colon)
			return -1;
		n = (size_t)(colon - s);
		if (n == 0 || n >= cap)
			return -1;
		memcpy(host, s, n);
	}
	host[n] = '\0';
	if (!isdigit((unsigned char)colon[1]))
		return -1;
	*port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || *port < 0 || *port > 65535)
		return -1;
	return 0;
}

int
oc_agent_listen_ok(const char *listen)
{
	char host[64];
	long port;

	if (split_hostport(listen, host, sizeof(host), &port) != 0)
		return 0;
	/* exactly the names the Host check (and the hall's agent_url)
	 * accept: another 127.x address would answer every request 403 */
	return strcmp(host, "127.0.0.1") == 0 || strcmp(host, "::1") == 0 ||
	    strcmp(host, "localhost") == 0;
}

int
oc_agent_host_ok(const char *hostport, int port)
{
	char host[64];
	long p;

	if (split_hostport(hostport, host, sizeof(host), &p) != 0 || p != port)
		return 0;
	return strcmp(host, "127.0.0.1") == 0 || strcmp(host, "localhost") == 0 ||
	    strcmp(host, "::1") == 0;
}

int
oc_agent_url_ok(const char *url)
{
	char host[64];
	long port;
	const char *hp = url + 7, *colon;

	if (strncmp(url, "http://", 7) != 0 || strlen(hp) >= 64)
		return 0;
	/* a port of 1–65535 without leading zeros: the URL a page will fetch */
	if ((colon = strrchr(hp, ':')) == NULL || colon[1] == '0' ||
	    split_hostport(hp, host, sizeof(host), &port) != 0 || port < 1)
		return 0;
	return oc_agent_host_ok(hp, (int)port);
}

int
oc_agent_origin_valid(const char *s)
{
	const char *h;
	size_t i;

	if (strncmp(s, "https://", 8) == 0)
		h = s + 8;
	else if (strncmp(s, "http://", 7) == 0)
		h = s + 7;
	else
		return 0;
	if (*h == '\0' || strlen(h) > 255)
		return 0;
	for (i = 0; h[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)h[i];
		if (!(isalnum(ch) || ch == '.' || ch == '-' || ch == ':' || ch == '[' ||
		    ch == ']'))
			return 0;
	}
	return 1;
}

int
oc_agent_challenge_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 16 || n > 128)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (!(isalnum(ch) || ch == '+' || ch == '/' || ch == '-' || ch == '_' ||
		    (ch == '=' && i + 2 >= n)))
			return 0;
	}
	return 1;
}

/* ---- the gate ---- */

/* The request's origin if it may use the agent (after setting the CORS
 * headers); else NULL, answered 403. */
static const char *
gate(struct oc_http_req *req, struct agent *a)
{
	const char *origin = oc_http_req_header(req, "Origin");
	const char *host = oc_http_req_header(req, "Host");
	char q[OC_LOG_QBUF];
	size_t i;

	oc_http_set_header(req, "Vary", "Origin");
	if (host == NULL || !oc_agent_host_ok(host, a->port)) {
		oc_log(OC_LOG_WARN, "agent.refused", "reason=host host=%s",
		    oc_log_q(q, sizeof(q), host ? host : ""));
		oc_http_reply_error(req, 403, "forbidden", MSG_ORIGIN);
		return NULL;
	}
	for (i = 0; origin != NULL && i < a->n_origins; i++)
		if (strcmp(origin, a->origins[i]) == 0) {
			oc_http_set_header(req, "Access-Control-Allow-Origin", origin);
			return origin;
		}
	oc_log(OC_LOG_WARN, "agent.refused", "reason=origin origin=%s",
	    oc_log_q(q, sizeof(q), origin ? origin : ""));
	oc_http_reply_error(req, 403, "forbidden", MSG_ORIGIN);
	return NULL;
}

/* A JSON object body: the content type must say JSON (so that a browser
 * sends it cross-origin only after a preflight). */
static json_t *
body_json(struct oc_http_req *req)
{
	const char *ct = oc_http_req_header(req, "Content-Type");
	const unsigned char *body;
	struct oc_err err;
	json_t *j;
	size_t len;

	if (ct == NULL || strncmp(ct, "application/json", 16) != 0 ||
	    (ct[16] != '\0' && ct[16] != ';')) {
		oc_http_reply_error(req, 415, "unsupported_media_type",
		    "请求须为 JSON / the body must be application/json");
		return NULL;
	}
	body = oc_http_req_body(req, &len);
	oc_err_clear(&err);
	if ((j = oc_json_parse_object((const char *)body, len, 4096, &err)) == NULL)
		oc_http_reply_err(req, &err);
	return j;
}

/* ---- wrong PINs ---- */

/* The record of serial (made, or an idle one reused, when create). */
static struct pin_fails *
fails_of(struct agent *a, const char *serial, bool create)
{
	struct pin_fails *spare = NULL;
	size_t i;

	for (i = 0; i < AGENT_THROTTLED; i++) {
		if (strcmp(a->fails[i].serial, serial) == 0)
			return &a->fails[i];
		if (spare == NULL && (a->fails[i].serial[0] == '\0' || a->fails[i].fails == 0))
			spare = &a->fails[i];
	}
	if (!create)
		return NULL;
	if (spare == NULL) {   /* all busy: the one whose wait ends first */
		spare = &a->fails[0];
		for (i = 1; i < AGENT_THROTTLED; i++)
			if (a->fails[i].until < spare->until)
				spare = &a->fails[i];
	}
	memset(spare, 0, sizeof(*spare));
	snprintf(spare->serial, sizeof(spare->serial), "%s", serial);
	return spare;
}

/* With a->mu held: seconds the next PIN try on serial must wait, or 0. */
static long
pin_wait(struct agent *a, const char *serial, time_t now)
{
	struct pin_fails *f = fails_of(a, serial, false);

	return f != NULL && f->until > now ? (long)(f->until - now) : 0;
}

/* With a->mu held: count the outcome of a PIN try. */
static void
pin_outcome(struct agent *a, const char *serial, const struct oc_err *err, time_t now)
{
	struct pin_fails *f;
	int over;

	if (err == NULL || err->code == 0) {
		if ((f = fails_of(a, serial, false)) != NULL)
			memset(f, 0, sizeof(*f));
		return;
	}
	/* only a PIN the token said is wrong (pin.c's "PIN 错误…", also when
	 * already logged in with another PIN): not a PIN of a length no
	 * token takes, nor a new PIN the token refuses on a PIN change */
	if (err->code != OC_EPIN || strncmp(err->msg, "PIN 错误", strlen("PIN 错误")) != 0 ||
	    (f = fails_of(a, serial, true)) == NULL)
		return;
	f->fails++;
	if ((over = f->fails - AGENT_PIN_FREE) >= 0)
		f->until = now + (over >= 4 ? 300 : 30L << over);
}

static void
reply_wait(struct oc_http_req *req, long wait)
{
	char msg[160];

	snprintf(msg, sizeof(msg), "PIN 错误次数过多，请%ld秒后再试 / too many wrong PINs; "
	    "wait %ld s", wait, wait);
	char ra[24];
	snprintf(ra, sizeof(ra), "%ld", wait);
	oc_http_set_header(req, "Retry-After", ra);
	oc_http_reply_json(req, 429, json_pack("{s:{s:s, s:s, s:I}}", "error", "code",
	    "too_many", "message", msg, "retry_after", (json_int_t)wait));
}

/* ---- GET /api/v1/tokens ---- */

/* A token's label, manufacturer or model as JSON can carry it: USB keys
 * made in China often have GBK labels, and a label cut at 32 bytes may end
 * inside a UTF-8 character.  Bytes that are not UTF-8 become '?', so one
 * odd token does not hide the others. */
static void
utf8_copy(char *dst, size_t cap, const char *src)
{
	size_t i = 0, o = 0, n = strlen(src), k;

	while (i < n && o + 1 < cap) {
		k = oc_utf8_char((const unsigned char *)src + i, n - i);
		if (k == 0 || (k == 1 && (unsigned char)src[i] < 0x20)) {
			dst[o++] = '?';
			i++;
		} else if (o + k < cap) {
			memcpy(dst + o, src + i, k);
			o += k;
			i += k;
		} else {
			break;
		}
	}
	dst[o] = '\0';
}

static json_t *
cert_json(const struct oc_token_object *ob)
{
	char cn[256] = "", serial[43] = "", when[32] = "", label[sizeof(ob->label)];
	const ASN1_TIME *na = X509_get0_notAfter(ob->cert);
	struct tm tm;
	BIO *b;
	BUF_MEM *m;
	json_t *j;

	oc_cert_subject_string(ob->cert, NID_commonName, cn, sizeof(cn));
	oc_serial_hex(X509_get0_serialNumber(ob->cert), serial);
	if (ASN1_TIME_to_tm(na, &tm) == 1)
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if ((b = BIO_new(BIO_s_mem())) == NULL || PEM_write_bio_X509(b, ob->cert) != 1) {
		BIO_free(b);
		return NULL;
	}
	BIO_get_mem_ptr(b, &m);
	utf8_copy(label, sizeof(label), ob->label);
	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s%}", "id", ob->id_hex,
	    "label", label, "algo", oc_algo_name(ob->algo), "subject_cn", cn,
	    "serial", serial, "not_after", when, "certificate", m->data, m->length);
	BIO_free(b);
	return j;
}

static void
h_tokens(struct oc_http_req *req, struct agent *a)
{
	struct oc_token_info *tis = NULL;
	struct oc_token_object *objs;
	struct oc_err err;
	json_t *out, *arr, *t, *certs, *c;
	size_t n = 0, nobj, i, k;

	oc_err_clear(&err);
	if ((out = json_object()) == NULL || (arr = json_array()) == NULL ||
	    json_object_set_new(out, "tokens", arr) != 0) {
		json_decref(out);
		return oc_http_reply_error(req, 500, "internal_error", "out of memory");
	}
	pthread_mutex_lock(&a->mu);
	if (oc_token_list(a->p11, &tis, &n, &err) != 0) {
		pthread_mutex_unlock(&a->mu);
		json_decref(out);
		return oc_http_reply_err(req, &err);
	}
	for (i = 0; i < n; i++) {
		if (!tis[i].initialized)
			continue;
		char serial[sizeof(tis[i].serial)], label[sizeof(tis[i].label)];
		char maker[sizeof(tis[i].manufacturer)], model[sizeof(tis[i].model)];

		utf8_copy(serial, sizeof(serial), tis[i].serial);
		utf8_copy(label, sizeof(label), tis[i].label);
		utf8_copy(maker, sizeof(maker), tis[i].manufacturer);
		utf8_copy(model, sizeof(model), tis[i].model);
		certs = json_array();
		t = json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:o}", "serial", serial,
		    "label", label, "manufacturer", maker,
		    "model", model, "pin_locked", tis[i].user_pin_locked,
		    "pin_low", tis[i].user_pin_low, "certificates", certs);
		if (t == NULL || json_array_append_new(arr, t) != 0)
			goto oom;
		/* public objects only: the certificates need no PIN */
		oc_err_clear(&err);
		if (oc_token_objects(a->p11, tis[i].serial, NULL, &objs, &nobj, &err) != 0) {
			oc_log(OC_LOG_WARN, "agent.token_unreadable", "token=%s msg=\"%s\"",
			    tis[i].serial, err.msg);
			continue;
		}
		for (k = 0; k < nobj; k++) {
			if (strcmp(objs[k].cls, "cert") != 0 || objs[k].cert == NULL)
				continue;
			if ((c = cert_json(&objs[k])) == NULL ||
			    json_array_append_new(certs, c) != 0) {
				oc_token_objects_free(objs, nobj);
				goto oom;
			}
		}
		oc_token_objects_free(objs, nobj);
	}
	pthread_mutex_unlock(&a->mu);
	free(tis);
	oc_http_reply_json(req, 200, out);
	return;
oom:
	pthread_mutex_unlock(&a->mu);
	free(tis);
	json_decref(out);
	oc_http_reply_error(req, 500, "internal_error", "out of memory");
}

/* ---- POST /api/v1/sign, /api/v1/pin ---- */

/* With a->mu held: the token whose serial is exactly `token` (the page
 * names serials; oc_token_find also matches labels) into *ti, and 0 when
 * a PIN may be tried on it now; else OC_ENOTFOUND with err set, or OC_EPIN
 * with *wait the seconds before the next try. */
static int
token_for_pin(struct agent *a, const char *token, struct oc_token_info *ti, long *wait,
    struct oc_err *err)
{
	if (oc_token_find(a->p11, token, ti, err) != 0)
		return err->code;
	if (strcmp(ti->serial, token) != 0)
		return oc_err_set(err, OC_ENOTFOUND, "没有找到该 USB key / no such token");
	if ((*wait = pin_wait(a, ti->serial, time(NULL))) > 0)
		return OC_EPIN;
	return 0;
}

/* The certificate with CKA_ID id on token (public objects), or NULL. */
static X509 *
token_cert(struct agent *a, const char *token, const char *id, struct oc_err *err)
{
	struct oc_token_object *objs;
	X509 *x = NULL;
	size_t n, k;

	if (oc_token_objects(a->p11, token, NULL, &objs, &n, err) != 0)
		return NULL;
	for (k = 0; k < n && x == NULL; k++)
		if (strcmp(objs[k].cls, "cert") == 0 && objs[k].cert != NULL &&
		    strcmp(objs[k].id_hex, id) == 0)
			x = X509_dup(objs[k].cert);
	oc_token_objects_free(objs, n);
	if (x == NULL)
		oc_err_set(err, OC_ENOTFOUND, "此 USB key 上没有该证书 / no such certificate on the token");
	return x;
}

static bool
id_ok(const char *id)
{
	size_t n = strlen(id), i;

	if (n == 0 || n > 40 || n % 2 != 0)
		return false;
	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)id[i]) || isupper((unsigned char)id[i]))
			return false;
	return true;
}

static void
h_sign(struct oc_http_req *req, struct agent *a, const char *origin)
{
	const char *token, *id, *pin, *challenge;
	struct oc_signer *s = NULL;
	struct oc_token_info ti;
	unsigned char *sig = NULL;
	char *sig_b64 = NULL, q[OC_LOG_QBUF];
	size_t siglen = 0;
	struct oc_err err;
	X509 *cert = NULL;
	BIO *b = NULL;
	BUF_MEM *m;
	long wait = 0;
	json_t *j;
	int rc;

	if ((j = body_json(req)) == NULL)
		return;
	oc_err_clear(&err);
	if (oc_json_get_str(j, "token", true, 32, &token, &err) != 0 ||
	    oc_json_get_str(j, "id", true, 40, &id, &err) != 0 ||
	    oc_json_get_str(j, "pin", true, 255, &pin, &err) != 0 ||
	    oc_json_get_str(j, "challenge", true, 128, &challenge, &err) != 0) {
		json_decref(j);
		return oc_http_reply_err(req, &err);
	}
	if (!id_ok(id)) {
		json_decref(j);
		return oc_http_reply_error(req, 400, "invalid_input",
		    "证书标识格式错误 / id must be the certificate's CKA_ID in lower-case hex");
	}
	if (!oc_agent_challenge_ok(challenge)) {
		json_decref(j);
		return oc_http_reply_error(req, 400, "invalid_input",
		    "只能签署登录挑战值 / only a login challenge (base64, 16–128 characters) is signed");
	}
	pthread_mutex_lock(&a->mu);
	rc = -1;
	if (token_for_pin(a, token, &ti, &wait, &err) != 0 ||
	    (cert = token_cert(a, ti.serial, id, &err)) == NULL)
		goto done;
	s = oc_token_signer(a->p11, ti.serial, pin, id, &err);
	pin_outcome(a, ti.serial, s ? NULL : &err, time(NULL));
	if (s == NULL)
		goto done;
	/* the key behind the id must be the certificate's: a token written by
	 * other software might pair them otherwise */
	if (EVP_PKEY_eq(oc_signer_get0_pubkey(s), X509_get0_pubkey(cert)) != 1) {
		oc_err_set(&err, OC_ECONFLICT,
		    "证书与 USB key 上的私钥不匹配 / the certificate does not match the key");
		goto done;
	}
	if (oc_signer_sign(s, (const unsigned char *)challenge, strlen(challenge), &sig,
	    &siglen, &err) != 0)
		goto done;
	rc = 0;
done:
	oc_signer_free(s);
	pthread_mutex_unlock(&a->mu);
	if (rc != 0) {
		oc_log(OC_LOG_WARN, "agent.sign_failed", "token=%s id=%s origin=%s code=%d wait=%ld",
		    oc_log_q(q, sizeof(q), token), id, origin, err.code, wait);
		json_decref(j);
		X509_free(cert);
		if (wait > 0)
			return reply_wait(req, wait);
		return oc_http_reply_err(req, &err);
	}
	oc_log(OC_LOG_INFO, "agent.signed", "token=%s id=%s origin=%s", ti.serial, id,
	    origin);
	sig_b64 = malloc(4 * ((siglen + 2) / 3) + 1);
	b = BIO_new(BIO_s_mem());
	if (sig_b64 == NULL || b == NULL || PEM_write_bio_X509(b, cert) != 1) {
		oc_http_reply_error(req, 500, "internal_error", "out of memory");
	} else {
		EVP_EncodeBlock((unsigned char *)sig_b64, sig, (int)siglen);
		BIO_get_mem_ptr(b, &m);
		oc_http_reply_json(req, 200, json_pack("{s:s, s:s%, s:s}", "signature", sig_b64,
		    "certificate", m->data, m->length, "algo",
		    oc_algo_name(oc_algo_of_pkey(X509_get0_pubkey(cert)))));
	}
	BIO_free(b);
	free(sig_b64);
	OPENSSL_free(sig);
	X509_free(cert);
	json_decref(j);
}

/* ---- POST /api/v1/pin ---- */

static void
h_pin(struct oc_http_req *req, struct agent *a, const char *origin)
{
	const char *token, *pin, *new_pin;
	struct oc_token_info ti;
	struct oc_err err;
	char q[OC_LOG_QBUF];
	long wait = 0;
	json_t *j;
	int rc;

	if ((j = body_json(req)) == NULL)
		return;
	oc_err_clear(&err);
	if (oc_json_get_str(j, "token", true, 32, &token, &err) != 0 ||
	    oc_json_get_str(j, "pin", true, 255, &pin, &err) != 0 ||
	    oc_json_get_str(j, "new_pin", true, 255, &new_pin, &err) != 0) {
		json_decref(j);
		return oc_http_reply_err(req, &err);
	}
	pthread_mutex_lock(&a->mu);
	if ((rc = token_for_pin(a, token, &ti, &wait, &err)) == 0) {
		rc = oc_token_change_pin(a->p11, ti.serial, pin, new_pin, &err);
		pin_outcome(a, ti.serial, rc == 0 ? NULL : &err, time(NULL));
	}
	pthread_mutex_unlock(&a->mu);
	if (rc != 0) {
		/* token points into j: logged before j goes */
		oc_log(OC_LOG_WARN, "agent.pin_change_failed", "token=%s origin=%s code=%d wait=%ld",
		    oc_log_q(q, sizeof(q), token), origin, err.code, wait);
		json_decref(j);
		if (wait > 0)
			return reply_wait(req, wait);
		return oc_http_reply_err(req, &err);
	}
	json_decref(j);
	oc_log(OC_LOG_INFO, "agent.pin_changed", "token=%s origin=%s", ti.serial, origin);
	oc_http_reply_json(req, 200, json_pack("{s:b}", "changed", 1));
}

/* ---- /api/v1/… ---- */

static void
h_api(struct oc_http_req *req, void *arg)
{
	struct agent *a = arg;
	const char *method = oc_http_req_method(req);
	const char *tail = oc_http_req_tail(req);
	const char *origin;
	const char *allow;

	if ((origin = gate(req, a)) == NULL)
		return;
	if (strcmp(tail, "tokens") == 0)
		allow = "GET";
	else if (strcmp(tail, "sign") == 0 || strcmp(tail, "pin") == 0)
		allow = "POST";
	else
		return oc_http_reply_error(req, 404, "not_found", "没有这个接口 / no such endpoint");
	if (strcmp(method, "OPTIONS") == 0) {
		/* the CORS preflight, and Chromium's Private Network Access one */
		oc_http_set_header(req, "Access-Control-Allow-Methods", allow);
		oc_http_set_header(req, "Access-Control-Allow-Headers", "Content-Type");
		oc_http_set_header(req, "Access-Control-Allow-Private-Network", "true");
		oc_http_set_header(req, "Access-Control-Max-Age", "600");
		return oc_http_reply(req, 204, NULL, NULL, 0);
	}
	if (strcmp(method, allow) != 0) {
		oc_http_set_header(req, "Allow", allow);
		return oc_http_reply_error(req, 405, "method_not_allowed", "method not allowed");
	}
	if (strcmp(tail, "tokens") == 0)
		h_tokens(req, a);
	else if (strcmp(tail, "sign") == 0)
		h_sign(req, a, origin);
	else
		h_pin(req, a, origin);
}

/* ---- start ---- */

static int
add_origins(struct agent *a, char *list, struct oc_err *err)
{
	char *save = NULL;

	for (char *t = strtok_r(list, ", ", &save); t != NULL; t = strtok_r(NULL, ", ", &save)) {
		if (!oc_agent_origin_valid(t))
			return oc_err_set(err, OC_ECONFIG,
			    "origin '%s' is not scheme://host[:port] (e.g. https://hall.example.cn)", t);
		if (a->n_origins == OC_AGENT_ORIGINS_MAX)
			return oc_err_set(err, OC_ECONFIG, "at most %d origins",
			    OC_AGENT_ORIGINS_MAX);
		a->origins[a->n_origins++] = t;
	}
	return 0;
}

int
oc_agent_serve(const struct oc_agent_opts *o, struct oc_err *err)
{
	struct agent a;
	struct oc_config *cfg = NULL;
	struct oc_http_config hc;
	struct oc_http_server *srv = NULL;
	const char *listen, *module;
	char *cfg_origins = NULL;
	size_t i;
	int rc = 0;

	memset(&a, 0, sizeof(a));
	pthread_mutex_init(&a.mu, NULL);
	if (o->config != NULL && (cfg = oc_config_load(o->config, err)) == NULL) {
		rc = OC_ECONFIG;
		goto out;
	}
	listen = o->listen ? o->listen :
	    cfg ? oc_config_get(cfg, "agent", "listen", OC_AGENT_DEFAULT_LISTEN) :
	    OC_AGENT_DEFAULT_LISTEN;
	if (!oc_agent_listen_ok(listen)) {
		rc = oc_err_set(err, OC_ECONFIG,
		    "the agent listens on loopback only (127.0.0.1:PORT, [::1]:PORT), not '%s'",
		    listen);
		goto out;
	}
	if (cfg != NULL &&
	    (cfg_origins = strdup(oc_config_get(cfg, "agent", "origins", ""))) == NULL) {
		rc = oc_err_set(err, OC_ENOMEM, "out of memory");
		goto out;
	}
	if (cfg_origins != NULL && (rc = add_origins(&a, cfg_origins, err)) != 0)
		goto out;
	for (i = 0; i < o->n_origins; i++) {
		if (!oc_agent_origin_valid(o->origins[i]) || a.n_origins == OC_AGENT_ORIGINS_MAX) {
			rc = oc_err_set(err, OC_ECONFIG,
			    "--origin '%s' is not scheme://host[:port], or too many origins",
			    o->origins[i]);
			goto out;
		}
		a.origins[a.n_origins++] = o->origins[i];
	}
	if (a.n_origins == 0) {
		rc = oc_err_set(err, OC_ECONFIG,
		    "no web origin may use the agent: give --origin https://HALL or agent.origins");
		goto out;
	}
	module = o->module ? o->module : cfg ? oc_config_get(cfg, "agent", "module", NULL) : NULL;
	if ((a.p11 = oc_p11_load(module, err)) == NULL) {
		rc = err->code ? err->code : OC_ETOKEN;
		goto out;
	}

	const struct oc_http_route routes[] = {
		{ NULL, "/api/v1/", h_api, &a, 4096, OC_HTTP_BLOCKING | OC_HTTP_PREFIX },
	};
	memset(&hc, 0, sizeof(hc));
	hc.name = "agent";
	hc.listen = listen;
	hc.threads = 1;
	hc.workers = 2;
	hc.max_connections = 256;
	if ((srv = oc_http_server_new(&hc, routes, 1, err)) == NULL) {
		rc = err->code ? err->code : OC_EIO;
		goto out;
	}
	a.port = oc_http_server_port(srv, false);
	for (i = 0; i < a.n_origins; i++)
		oc_log(OC_LOG_INFO, "agent.origin", "origin=%s", a.origins[i]);
	{
		char host[64];
		long p;
		if (split_hostport(listen, host, sizeof(host), &p) != 0)
			snprintf(host, sizeof(host), "127.0.0.1");
		fprintf(stderr, "onecert agent: listening on http://%s%s%s:%d (Ctrl-C stops)\n",
		    strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", a.port);
	}
	rc = oc_http_server_run(srv);
out:
	oc_http_server_free(srv);
	oc_p11_unload(a.p11);
	free(cfg_origins);
	oc_config_free(cfg);
	pthread_mutex_destroy(&a.mu);
	return rc;
}
