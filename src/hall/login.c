/*
 * login.c — the hall's three ways in (SPEC §4.1):
 *
 *  POST /api/v1/login/tls        the certificate of this TLS connection (or
 *                                of a trusted proxy's RFC 9440 header);
 *  POST /api/v1/login/challenge  a random, single-use, short-lived
 *                                challenge (stored only as its SHA-256);
 *  POST /api/v1/login            {certificate, signature, challenge}: the
 *                                USB key (through the agent) signed the
 *                                challenge's bytes — SM2 with the ID
 *                                1234567812345678, ECDSA/RSA with SHA-256.
 *
 * Every login runs the relying-party check (verify.c) before a session
 * exists.  Logins are POSTs that a cross-site page cannot forge: an Origin
 * header, when present, must name this host.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "hall/hall_int.h"
#include "onecert/json.h"
#include "onecert/log.h"
#include "onecert/pki.h"
#include "onecert/signer.h"

static bool
same_origin(struct hall_call *c)
{
	const char *origin = oc_http_req_header(c->req, "Origin");
	const char *host = oc_http_req_header(c->req, "Host");
	const char *o;

	if (origin == NULL)
		return true;     /* not a browser's cross-site request */
	if (host == NULL)
		return false;
	o = strstr(origin, "://");
	if (o == NULL || strcmp(o + 3, host) != 0) {
		oc_http_reply_error(c->req, 403, "forbidden",
		    "跨站登录请求被拒绝 / cross-site login refused");
		return false;
	}
	return true;
}

static void
finish(struct hall_call *c, X509 *cert, STACK_OF(X509) *chain)
{
	struct hall_identity id;
	struct oc_err err;
	char role[16];

	oc_err_clear(&err);
	if (hall_identify(c->h, cert, chain, &id, &err) != 0) {
		char q[OC_LOG_QBUF];
		oc_log(OC_LOG_WARN, "hall.login_refused", "peer=%s reason=%s",
		    oc_log_q(q, sizeof(q), oc_http_req_peer(c->req)), oc_err_name(err.code));
		oc_hall_audit(c->st, id.serial[0] ? id.serial : "-", oc_http_req_peer(c->req),
		    "login.refused", "", "{}", NULL);
		return oc_http_reply_error(c->req, err.code == OC_EPERM ? 403 :
		    oc_err_http_status(err.code), err.code == OC_EPERM ? "forbidden" :
		    oc_err_name(err.code), id.refusal[0] ? id.refusal : err.msg);
	}
	if (id.staff && oc_hall_role_get(c->st, id.serial, role, sizeof(role), NULL) != 0) {
		char q[OC_LOG_QBUF];

		oc_log(OC_LOG_WARN, "hall.login_refused", "peer=%s serial=%s reason=no_staff_role",
		    oc_log_q(q, sizeof(q), oc_http_req_peer(c->req)), id.serial);
		oc_hall_audit(c->st, id.serial, oc_http_req_peer(c->req), "login.refused",
		    "no_staff_role", "{}", NULL);
		return oc_http_reply_error(c->req, 403, "forbidden",
		    "此个人证书未被授予工作人员角色 / this personal certificate holds no staff role");
	}
	hall_session_start(c, &id, cert);
}

void
hall_login_tls(struct hall_call *c)
{
	STACK_OF(X509) *chain = NULL;
	X509 *cert;

	if (!same_origin(c))
		return;
	if ((cert = oc_http_req_client_cert(c->req, &chain)) == NULL)
		return oc_http_reply_error(c->req, 401, "unauthenticated",
		    "未收到数字证书，请插入 USB key 并选择证书 / no client certificate was presented");
	finish(c, cert, chain);
}

void
hall_login_challenge(struct hall_call *c)
{
	unsigned char rnd[32];
	char b64[64], hash[65];
	struct oc_err err;

	if (!same_origin(c))
		return;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return oc_http_reply_error(c->req, 500, "internal_error", "no randomness");
	EVP_EncodeBlock((unsigned char *)b64, rnd, sizeof(rnd));
	hall_sha256_hex(b64, hash);
	if (oc_hall_challenge_put(c->st, hash, time(NULL) + c->h->challenge_ttl, &err) != 0)
		return oc_http_reply_err(c->req, &err);
	oc_http_reply_json(c->req, 200, json_pack("{s:s, s:I}", "challenge", b64,
	    "expires_in", (json_int_t)c->h->challenge_ttl));
}

void
hall_login_signed(struct hall_call *c)
{
	const unsigned char *body;
	const char *pem = NULL, *sig_b64 = NULL, *challenge = NULL;
	unsigned char sig[1024];
	char hash[65];
	struct oc_err err;
	json_t *j;
	X509 *cert = NULL;
	size_t len, sl;
	int n;

	if (!same_origin(c))
		return;
	body = oc_http_req_body(c->req, &len);
	if ((j = oc_json_parse_object((const char *)body, len, 64 * 1024, &err)) == NULL)
		return oc_http_reply_err(c->req, &err);
	if (oc_json_get_str(j, "certificate", true, 32768, &pem, &err) != 0 ||
	    oc_json_get_str(j, "signature", true, 2048, &sig_b64, &err) != 0 ||
	    oc_json_get_str(j, "challenge", true, 64, &challenge, &err) != 0) {
		json_decref(j);
		return oc_http_reply_err(c->req, &err);
	}
	/* the challenge is spent whatever happens next: single use */
	hall_sha256_hex(challenge, hash);
	if (oc_hall_challenge_take(c->st, hash, time(NULL), &err) != 0) {
		json_decref(j);
		return oc_http_reply_error(c->req, 403, "forbidden", err.msg);
	}
	if ((cert = oc_cert_parse((const unsigned char *)pem, strlen(pem), &err)) == NULL) {
		json_decref(j);
		return oc_http_reply_err(c->req, &err);
	}
	sl = strlen(sig_b64);
	n = sl > 0 && sl < sizeof(sig) * 4 / 3 ? EVP_DecodeBlock(sig, (const unsigned char *)sig_b64, (int)sl) : -1;
	if (n < 0) {
		json_decref(j);
		X509_free(cert);
		return oc_http_reply_error(c->req, 400, "invalid_input",
		    "签名格式错误 / signature must be base64");
	}
	if (sl >= 1 && sig_b64[sl - 1] == '=')
		n--;
	if (sl >= 2 && sig_b64[sl - 2] == '=')
		n--;
	if (oc_verify_tbs(X509_get0_pubkey(cert), (const unsigned char *)challenge,
	    strlen(challenge), sig, (size_t)n, &err) != 0) {
		json_decref(j);
		X509_free(cert);
		return oc_http_reply_error(c->req, 403, "forbidden",
		    "签名验证失败 / the signature does not verify with this certificate");
	}
	json_decref(j);
	finish(c, cert, NULL);
	X509_free(cert);
}
