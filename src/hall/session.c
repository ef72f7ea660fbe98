/*
 * session.c — server-side hall sessions.
 *
 * The cookie `oc_session` holds 32 random bytes (base64url); the database
 * holds only their SHA-256, so neither a copy of the database nor a log
 * line can be replayed.  The cookie is HttpOnly, Secure, SameSite=Strict,
 * Path=/.  Every state-changing request must carry the session's CSRF
 * token in X-CSRF-Token.  A session idle longer than session_idle ends; a
 * session whose certificate was not re-checked for session_recheck seconds
 * is re-checked (OCSP/CRL) before the request proceeds, and ends if the
 * certificate has been revoked.
 *
 * Cost.  GET /api/v1/me and the like run on the event loop
 * (OC_HTTP_LOOP_FIRST): hall_session_require only reads there and hands
 * the request to a worker (oc_http_req_defer) when it has to write or may
 * wait — a session to end, a revocation re-check (OCSP over the network),
 * last_seen to record.  last_seen is recorded when it moved by more than
 * touch_grain (session_idle / 20, at most 60 s), not on every request: a
 * session therefore ends after between session_idle − touch_grain and
 * session_idle seconds without a request — never later than configured.
 * An answer to /me made on a loop is kept there and given again until any
 * connection commits (see "the loop's /me cache"), the clock rules above
 * still decided on every request.  A login writes its rows (company,
 * account, session, audit) in one transaction: one fsync instead of four.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "hall/hall_int.h"
#include "onecert/log.h"
#include "onecert/rp.h"
#include "onecert/utf8.h"

/* dead sessions deleted by each login (hall_session_start) */
#define PRUNE_PER_LOGIN 4

static void
b64url(const unsigned char *in, size_t n, char *out, size_t cap)
{
	unsigned char tmp[128];
	int len;

	len = EVP_EncodeBlock(tmp, in, (int)n);
	for (int i = 0; i < len; i++)
		tmp[i] = tmp[i] == '+' ? '-' : tmp[i] == '/' ? '_' : tmp[i];
	while (len > 0 && tmp[len - 1] == '=')
		len--;
	snprintf(out, cap, "%.*s", len, (const char *)tmp);
}

/* SHA-256 fetched once: EVP_sha256() would look it up again in the
 * provider store (under its lock) on every digest. */
static pthread_once_t sha_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;

static void
sha_init(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void
hall_sha256_hex(const char *s, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int n = 0;

	pthread_once(&sha_once, sha_init);
	if (EVP_Digest(s, strlen(s), md, &n, sha256_md != NULL ? sha256_md : EVP_sha256(),
	    NULL) != 1)
		n = 0;
	for (unsigned i = 0; i < n; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * n] = '\0';
}

const char *
hall_cookie_get(const char *h, const char *name, char *buf, size_t cap)
{
	size_t nl = strlen(name);

	if (h == NULL)
		return NULL;
	while (*h) {
		while (*h == ' ' || *h == ';')
			h++;
		if (strncmp(h, name, nl) == 0 && h[nl] == '=') {
			const char *v = h + nl + 1;
			size_t n = strcspn(v, ";");
			if (n == 0 || n >= cap)
				return NULL;
			memcpy(buf, v, n);
			buf[n] = '\0';
			return buf;
		}
		h += strcspn(h, ";");
	}
	return NULL;
}

static void
iso(time_t t, char *buf, size_t cap)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- GET /api/v1/me ------------------------------------------------------
 * The reply is written straight into a buffer, in the order and with the
 * escaping of jansson's compact dump (what it was before; building the
 * object tree and dumping it was a seventh of a /me request).  On an
 * event loop the answer is also kept, for the session's next requests
 * while nothing is committed (the loop's /me cache, below).  A stored
 * string that is not UTF-8 (every way in checks it, so only a hand-edited
 * database has one) is sent as "", a matter code like it left out. */

struct jw {
	struct oc_buf b;
	int rc;                      /* sticky: the first error */
};

static void
jw_raw(struct jw *w, const char *s, size_t n)
{
	int rc;

	if (w->rc == 0 && (rc = oc_buf_add(&w->b, s, n)) != 0)
		w->rc = rc;
}

/* A JSON string as jansson dumps it: \" \\ \b \f \n \r \t, other control
 * characters as \u00XX, everything else (UTF-8 included) as it is. */
static void
jw_str(struct jw *w, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *run;

	if (!oc_utf8_valid(s, strlen(s)))
		s = "";
	run = s;
	jw_raw(w, "\"", 1);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		char u[7] = "\\u00";
		const char *esc;

		if (ch >= 0x20 && ch != '"' && ch != '\\')
			continue;
		jw_raw(w, run, (size_t)(s - run));
		switch (ch) {
		case '"':  esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		default:
			u[4] = hex[ch >> 4];
			u[5] = hex[ch & 15];
			u[6] = '\0';
			esc = u;
			break;
		}
		jw_raw(w, esc, strlen(esc));
		run = s + 1;
	}
	jw_raw(w, run, (size_t)(s - run));
	jw_raw(w, "\"", 1);
}

/* ,"key":"value" (the first member without the comma) */
static void
jw_kv(struct jw *w, const char *key, const char *value)
{
	jw_raw(w, w->b.len > 1 ? ",\"" : "\"", w->b.len > 1 ? 2 : 1);
	jw_raw(w, key, strlen(key));
	jw_raw(w, "\":", 2);
	jw_str(w, value);
}

/* ,"key": and a JSON value made by jansson (NULL: null) */
static void
jw_json(struct jw *w, const char *key, const json_t *v)
{
	char *s = v != NULL ? json_dumps(v, JSON_COMPACT) : NULL;

	if (v != NULL && s == NULL && w->rc == 0)
		w->rc = OC_ENOMEM;
	jw_raw(w, ",\"", 2);
	jw_raw(w, key, strlen(key));
	jw_raw(w, "\":", 2);
	jw_raw(w, s != NULL ? s : "null", strlen(s != NULL ? s : "null"));
	free(s);
}

static int
me_code_w(const char *code, void *arg)
{
	struct jw *w = arg;

	if (!oc_utf8_valid(code, strlen(code)))
		return 0;                /* as json_string would: left out */
	if (w->b.p[w->b.len - 1] != '[')
		jw_raw(w, ",", 1);
	jw_str(w, code);
	return 0;
}

static void me_keep(struct hall_call *c, const struct oc_hall_version *v,
	const unsigned char *body, size_t len);

/* The body of /me, in *body (malloc'ed) and *len; known (or NULL): the
 * caller's company row, just read or written (a login), not read again.
 * Returns 0 or OC_ENOMEM. */
static int
me_build(struct hall_call *c, const struct oc_hall_company *known, unsigned char **body,
    size_t *len)
{
	struct oc_hall_company co;
	char na[32], role[16] = "";
	const char *org;
	struct jw w;

	memset(&co, 0, sizeof(co));
	if (known != NULL && known->id == c->a.company_id)
		co = *known;
	else if (c->a.company_id != 0 && oc_hall_company_get(c->st, c->a.company_id,
	    &co, NULL) != 0)
		memset(&co, 0, sizeof(co));
	if (strcmp(c->a.kind, "staff") == 0)
		oc_hall_role_get(c->st, c->a.serial, role, sizeof(role), NULL);
	else
		snprintf(role, sizeof(role), "%s", c->a.role);
	iso(c->a.not_after, na, sizeof(na));
	org = co.uscc[0] ? co.uscc : co.org_code;
	memset(&w, 0, sizeof(w));
	oc_buf_init(&w.b, 1u << 20);
	jw_raw(&w, "{", 1);
	jw_kv(&w, "kind", c->a.kind);
	jw_kv(&w, "role", role);
	jw_kv(&w, "subject_cn", c->a.subject_cn);
	jw_kv(&w, "company_name", co.name);
	jw_kv(&w, "org_code", org);
	jw_kv(&w, "unique_id", c->a.uid);
	jw_kv(&w, "serial", c->a.serial);
	jw_kv(&w, "not_after", na);
	jw_kv(&w, "company_state", c->a.company_id ? co.state : "");
	jw_kv(&w, "csrf", c->s.csrf);
	jw_raw(&w, c->a.company_id != 0 && co.main_account_id == c->a.id ?
	    ",\"is_main\":true" : ",\"is_main\":false",
	    c->a.company_id != 0 && co.main_account_id == c->a.id ? 15 : 16);
	/* standing and holder (issue 6); a sub certificate's granted matters */
	jw_kv(&w, "status", c->a.status);
	jw_kv(&w, "holder_name", c->a.holder_name);
	jw_kv(&w, "holder_mobile", c->a.holder_mobile);
	if (strcmp(c->a.role, "cert_admin") == 0 || strcmp(c->a.role, "clerk") == 0) {
		jw_raw(&w, ",\"matters\":[", 12);
		if (w.rc == 0)
			oc_hall_grants_list(c->st, c->a.id, me_code_w, &w, NULL);
		jw_raw(&w, "]", 1);
	}
	if (c->a.company_id != 0) {
		json_t *app = hall_app_summary(c);

		jw_json(&w, "application", app);
		json_decref(app);
		if (strcmp(co.state, "registered") == 0) {
			json_t *p = json_loads(co.profile, 0, NULL);

			if (p == NULL)
				p = json_object();
			jw_json(&w, "profile", p);
			json_decref(p);
		}
	}
	jw_raw(&w, "}", 1);
	*len = 0;
	if (w.rc != 0 || (*body = oc_buf_steal(&w.b, len)) == NULL) {
		oc_buf_cleanup(&w.b);
		return OC_ENOMEM;
	}
	return 0;
}

static void
reply_oom(struct hall_call *c)
{
	oc_http_reply_error(c->req, 500, "internal_error", "内存不足 / out of memory");
}

/* The reply to /me; v (or NULL): the version its rows were read at, to
 * keep the reply in the loop's cache (see below); known: as me_build. */
static void
me_reply(struct hall_call *c, int status, const struct oc_hall_version *v,
    const struct oc_hall_company *known)
{
	unsigned char *body;
	size_t len;

	if (me_build(c, known, &body, &len) != 0)
		return reply_oom(c);
	if (v != NULL)
		me_keep(c, v, body, len);
	oc_http_reply_take(c->req, status, "application/json; charset=utf-8", body,
	    len);
}

void
hall_reply_me(struct hall_call *c, int status)
{
	me_reply(c, status, NULL, NULL);
}

void
hall_session_start(struct hall_call *c, const struct hall_identity *id, X509 *cert)
{
	struct oc_hall_company co;
	struct oc_err err;
	unsigned char rnd[32 + 24];   /* the session token, then the CSRF token */
	char token[64], cookie[256];
	unsigned char *der = NULL, *body;
	size_t len;
	int n;
	time_t now = time(NULL);

	memset(&c->a, 0, sizeof(c->a));
	memset(&co, 0, sizeof(co));
	memset(&c->s, 0, sizeof(c->s));
	oc_err_clear(&err);
	/* everything that needs no database first: the transaction below
	 * holds the write lock */
	if ((n = i2d_X509(cert, &der)) <= 0 || (size_t)n > sizeof(c->s.cert)) {
		OPENSSL_free(der);
		return oc_http_reply_error(c->req, 400, "invalid_input", "证书过大 / certificate too large");
	}
	memcpy(c->s.cert, der, (size_t)n);
	c->s.cert_len = (size_t)n;
	OPENSSL_free(der);
	/* one draw for both tokens: each RAND_bytes call sets up the DRBG's
	 * request anew */
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return oc_http_reply_error(c->req, 500, "internal_error", "no randomness");
	b64url(rnd, 32, token, sizeof(token));
	b64url(rnd + 32, 24, c->s.csrf, sizeof(c->s.csrf));
	OPENSSL_cleanse(rnd, sizeof(rnd));
	hall_sha256_hex(token, c->s.id_hash);
	snprintf(c->s.serial, sizeof(c->s.serial), "%s", id->serial);
	c->s.created_at = c->s.last_seen = c->s.checked_at = now;

	snprintf(c->a.uid, sizeof(c->a.uid), "%s", id->uid);
	snprintf(c->a.serial, sizeof(c->a.serial), "%s", id->serial);
	snprintf(c->a.issuer, sizeof(c->a.issuer), "%s", id->issuer);
	snprintf(c->a.kind, sizeof(c->a.kind), "%s", id->staff ? "staff" : "enterprise");
	snprintf(c->a.subject_cn, sizeof(c->a.subject_cn), "%s", id->subject_cn);
	c->a.not_after = id->not_after;

	/* company, account, session and audit row: one transaction */
	if (oc_hall_begin(c->st, &err) != 0)
		goto fail;
	if (!id->staff && oc_hall_company_get_or_create(c->st, id->org_code, id->uscc,
	    id->subject_cn, &co, &err) != 0)
		goto fail;
	c->a.company_id = co.id;
	if (oc_hall_account_login(c->st, &c->a, &err) != 0)
		goto fail;
	if (strcmp(c->a.status, "retired") == 0) {
		oc_hall_audit(c->st, c->a.serial, oc_http_req_peer(c->req), "login.refused",
		    "retired", "{}", NULL);
		if (oc_hall_commit(c->st, &err) != 0)
			goto fail;
		OPENSSL_cleanse(token, sizeof(token));
		return oc_http_reply_error(c->req, 403, "forbidden",
		    "此证书已被更新的主数字证书取代并注销，不能再登录 / this certificate was retired"
		    " when the main certificate was updated; it can no longer log in");
	}
	c->s.account_id = c->a.id;
	/* A session nobody comes back to is never ended by a request: each
	 * login deletes up to PRUNE_PER_LOGIN sessions idle past session_idle
	 * (which no request would accept any more), more than the one it adds,
	 * so the table holds the live sessions and a few dead ones, however
	 * often a certificate logs in and walks away.  An indexed look-up when
	 * there are none. */
	if (oc_hall_session_prune(c->st, now - c->h->session_idle, PRUNE_PER_LOGIN, NULL,
	    &err) != 0 ||
	    oc_hall_session_put(c->st, &c->s, &err) != 0 ||
	    oc_hall_audit(c->st, c->a.serial, oc_http_req_peer(c->req), "login",
	    id->staff ? "staff" : co.org_code, "{}", &err) != 0)
		goto fail;
	/* The reply's rows are read inside the transaction: read after the
	 * COMMIT they took a read transaction of their own (the WAL's read
	 * lock, two fcntl calls, and pages again that other workers' commits
	 * had taken from this handle's cache).  It is sent only once the rows
	 * are committed and on disk, as before. */
	if (me_build(c, &co, &body, &len) != 0) {
		oc_hall_rollback(c->st);
		OPENSSL_cleanse(token, sizeof(token));
		return reply_oom(c);
	}
	if (oc_hall_commit(c->st, &err) != 0) {
		free(body);
		goto fail;
	}
	snprintf(cookie, sizeof(cookie),
	    "oc_session=%s; Path=/; HttpOnly; Secure; SameSite=Strict", token);
	OPENSSL_cleanse(token, sizeof(token));
	oc_http_set_header(c->req, "Set-Cookie", cookie);
	OPENSSL_cleanse(cookie, sizeof(cookie));
	c->have_session = true;
	oc_http_reply_take(c->req, 200, "application/json; charset=utf-8", body, len);
	return;
fail:
	oc_hall_rollback(c->st);
	OPENSSL_cleanse(token, sizeof(token));
	oc_http_reply_err(c->req, &err);
}

static void
clear_cookie(struct hall_call *c)
{
	oc_http_set_header(c->req, "Set-Cookie",
	    "oc_session=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0");
}

/* How far last_seen may lag behind the last request (see the top). */
static long
touch_grain(const struct hall *h)
{
	long g = h->session_idle / 20;

	return g > 60 ? 60 : g;
}

bool
hall_session_require(struct hall_call *c, bool state_change)
{
	char token[128], hash[65];
	struct oc_err err;
	const char *csrf;
	time_t now = time(NULL);
	bool checked = false;

	if (hall_cookie_get(oc_http_req_header(c->req, "Cookie"), "oc_session",
	    token, sizeof(token)) == NULL) {
		oc_http_reply_error(c->req, 401, "unauthenticated", "请先登录 / please log in");
		return false;
	}
	hall_sha256_hex(token, hash);
	OPENSSL_cleanse(token, sizeof(token));
	if (oc_hall_session_get(c->st, hash, &c->s, &err) != 0) {
		/* on the loop a database error could be a busy file: let a
		 * worker (which waits for it) decide */
		if (err.code != OC_ENOTFOUND && oc_http_req_defer(c->req))
			return false;
		clear_cookie(c);
		oc_http_reply_error(c->req, 401, "unauthenticated",
		    "登录已失效，请重新登录 / the session has ended; please log in again");
		return false;
	}
	if (now - c->s.last_seen > c->h->session_idle) {
		if (oc_http_req_defer(c->req))
			return false;            /* a write: on a worker */
		oc_hall_session_end(c->st, hash, NULL);
		clear_cookie(c);
		oc_http_reply_error(c->req, 401, "unauthenticated",
		    "长时间未操作，登录已超时 / the session timed out");
		return false;
	}
	if (state_change) {
		csrf = oc_http_req_header(c->req, "X-CSRF-Token");
		/* the lengths first: the header may be shorter than the token,
		 * and CRYPTO_memcmp reads every byte it is given */
		if (csrf == NULL || strlen(csrf) != strlen(c->s.csrf) ||
		    CRYPTO_memcmp(csrf, c->s.csrf, strlen(c->s.csrf)) != 0) {
			oc_http_reply_error(c->req, 403, "csrf",
			    "请求缺少有效的 CSRF 令牌 / missing or wrong CSRF token");
			return false;
		}
	}
	if (now - c->s.checked_at >= c->h->session_recheck) {
		struct oc_rp_result r;
		const unsigned char *p = c->s.cert;
		X509 *cert;
		int rc;

		if (oc_http_req_defer(c->req))
			return false;            /* OCSP may go over the network */
		memset(&r, 0, sizeof(r));
		cert = d2i_X509(NULL, &p, (long)c->s.cert_len);
		/* the relying party's own result: its message is the whole
		 * bilingual sentence, err.msg only its first 255 bytes */
		rc = cert ? oc_rp_recheck(c->h->rp, cert, NULL, 0, &r, &err) : OC_EINTERNAL;
		X509_free(cert);
		if (rc != 0) {
			oc_hall_session_end_serial(c->st, c->s.serial, NULL);
			oc_hall_audit(c->st, c->s.serial, oc_http_req_peer(c->req), "session.ended",
			    "revocation", "{}", NULL);
			clear_cookie(c);
			oc_http_reply_error(c->req, 401, "unauthenticated",
			    rc == OC_EPERM ? (r.message[0] ? r.message : err.msg) :
			    "无法确认证书状态，请重新登录 / the certificate's status cannot be confirmed");
			return false;
		}
		checked = true;
	}
	if (checked || now - c->s.last_seen > touch_grain(c->h)) {
		if (oc_http_req_defer(c->req))
			return false;
		oc_hall_session_touch(c->st, hash, now, checked, NULL);
	}
	if (oc_hall_account_get(c->st, c->s.account_id, &c->a, &err) != 0) {
		if (oc_http_req_defer(c->req))
			return false;
		oc_http_reply_err(c->req, &err);
		return false;
	}
	if (strcmp(c->a.status, "retired") == 0) {
		if (oc_http_req_defer(c->req))
			return false;
		oc_hall_session_end_serial(c->st, c->a.serial, NULL);
		clear_cookie(c);
		oc_http_reply_error(c->req, 401, "unauthenticated",
		    "此证书已注销，不能再登录 / this certificate was retired");
		return false;
	}
	c->have_session = true;
	return true;
}

/* ---- the loop's /me cache --------------------------------------------------
 * A page asks for /me on every load, and nothing in the answer changes
 * unless a row does: each event loop keeps the answers it gave, keyed by
 * the session's hash, with the version of the database they were read at
 * (oc_hall_data_version: SQLite's data_version of the loop's handle, which
 * moves whenever any connection — a worker, another loop, another process
 * such as `onecert hall grant-role` — commits).  A request whose version is
 * the one kept gets the kept answer: every row it would read is as it was.
 * What depends on the clock is still decided on every request, from the
 * session's last_seen and checked_at as they were read: when the session
 * has timed out, is due for its revocation re-check, or for its last_seen
 * to be recorded, the cache is not used and hall_session_require does what
 * it always did (end the session, defer to a worker).  A retired account,
 * an ended session, a refused login never got an answer to keep, and any
 * commit (logout, retirement, re-check, approval…) changes the version.
 * Only answers made on an event loop are kept (a worker's handle is
 * another connection, with versions of its own).  A slot per hash prefix,
 * ME_SLOTS per loop thread; the table and its copies are the thread's,
 * freed when it exits. */
#define ME_SLOTS 64

struct me_slot {
	char hash[65];
	struct oc_hall_version v;
	time_t last_seen, checked_at;
	unsigned char *body;         /* malloc'd; NULL: empty */
	size_t len;
};

static pthread_once_t me_once = PTHREAD_ONCE_INIT;
static pthread_key_t me_key;
static bool me_key_ok;

static void
me_table_free(void *p)
{
	struct me_slot *t = p;

	for (int i = 0; i < ME_SLOTS; i++) {
		OPENSSL_clear_free(t[i].body, t[i].len);
		OPENSSL_cleanse(t[i].hash, sizeof(t[i].hash));
	}
	free(t);
}

static void
me_init(void)
{
	me_key_ok = pthread_key_create(&me_key, me_table_free) == 0;
}

/* This thread's slot for hash (the table made on first use if create),
 * or NULL. */
static struct me_slot *
me_slot(const char *hash, bool create)
{
	struct me_slot *t;
	unsigned i = 0;

	pthread_once(&me_once, me_init);
	if (!me_key_ok)
		return NULL;
	if ((t = pthread_getspecific(me_key)) == NULL) {
		if (!create || (t = calloc(ME_SLOTS, sizeof(*t))) == NULL)
			return NULL;
		if (pthread_setspecific(me_key, t) != 0) {
			free(t);
			return NULL;
		}
	}
	for (int k = 0; k < 4 && hash[k]; k++)
		i = i << 4 | (unsigned)(hash[k] <= '9' ? hash[k] - '0' : hash[k] - 'a' + 10);
	return &t[i % ME_SLOTS];
}

static bool
me_same(const struct oc_hall_version *a, const struct oc_hall_version *b)
{
	return a->handle != 0 && a->handle == b->handle && a->data == b->data &&
	    a->changes == b->changes;
}

/* Keep a copy of the answer just made for c's session. */
static void
me_keep(struct hall_call *c, const struct oc_hall_version *v,
    const unsigned char *body, size_t len)
{
	struct me_slot *e;
	unsigned char *copy;

	if (v->handle == 0 || (e = me_slot(c->s.id_hash, true)) == NULL ||
	    (copy = malloc(len)) == NULL)
		return;
	memcpy(copy, body, len);
	OPENSSL_clear_free(e->body, e->len);
	snprintf(e->hash, sizeof(e->hash), "%s", c->s.id_hash);
	e->v = *v;
	e->last_seen = c->s.last_seen;
	e->checked_at = c->s.checked_at;
	e->body = copy;
	e->len = len;
}

bool
hall_me_cached(struct hall_call *c, struct oc_hall_version *v)
{
	char token[128], hash[65];
	struct me_slot *e;
	unsigned char *body;
	time_t now = time(NULL);

	if (oc_hall_data_version(c->st, v, NULL) != 0) {
		memset(v, 0, sizeof(*v));        /* nothing kept, nothing used */
		return false;
	}
	if (hall_cookie_get(oc_http_req_header(c->req, "Cookie"), "oc_session",
	    token, sizeof(token)) == NULL)
		return false;
	hall_sha256_hex(token, hash);
	OPENSSL_cleanse(token, sizeof(token));
	if ((e = me_slot(hash, false)) == NULL || e->body == NULL ||
	    CRYPTO_memcmp(e->hash, hash, sizeof(hash)) != 0 || !me_same(&e->v, v))
		return false;
	/* hall_session_require's clock rules, on the rows as they were read */
	if (now - e->last_seen > c->h->session_idle ||
	    now - e->checked_at >= c->h->session_recheck ||
	    now - e->last_seen > touch_grain(c->h))
		return false;
	if ((body = malloc(e->len)) == NULL)
		return false;
	memcpy(body, e->body, e->len);
	oc_http_reply_take(c->req, 200, "application/json; charset=utf-8", body,
	    e->len);
	return true;
}

void
hall_me(struct hall_call *c, const struct oc_hall_version *v)
{
	if (hall_session_require(c, false))
		me_reply(c, 200, v, NULL);
}

void
hall_logout(struct hall_call *c)
{
	if (!hall_session_require(c, true))
		return;
	oc_hall_session_end(c->st, c->s.id_hash, NULL);
	oc_hall_audit(c->st, c->a.serial, oc_http_req_peer(c->req), "logout", "", "{}", NULL);
	clear_cookie(c);
	oc_http_reply_json(c->req, 200, json_pack("{s:s}", "status", "logged_out"));
}
