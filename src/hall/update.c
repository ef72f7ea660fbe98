/*
 * update.c — 主数字证书更新 (SPEC §4.4): when a company's main certificate
 * is renewed, changed or reissued, the holder logs in with the new
 * certificate and makes it the main one.
 *
 *   GET  /api/v1/main-update         prefill, the choice of the old
 *                                    certificate, the current update
 *                                    application, whether the signed path
 *                                    is open to this certificate
 *   POST /api/v1/main-update         a draft of 《主数字证书更新申请表》; the
 *                                    rest (PDF, scan, 保存提交, 撤回) is the
 *                                    shared /api/v1/applications/{id}/…
 *                                    (activate.c), and a reviewer decides
 *                                    (review.c → oc_hall_app_decide2)
 *   POST /api/v1/main-update/signed  {challenge, signature, old_certificate}:
 *                                    the update signed with the OLD key, no
 *                                    scan and no review
 *
 * The signed path is for a renewal (更新: new key, same data, same medium,
 * the old certificate still valid): whoever holds the old main's key may
 * say "this new certificate replaces me".  Before anything changes the
 * hall checks, in this order: the challenge (single use, from POST
 * /api/v1/login/challenge); the old certificate passes the relying-party
 * check with a fresh revocation answer and is the company's current main
 * certificate; the signature over
 *     "main-update:<old_serial>:<new_serial>:<challenge>"
 * verifies with its key; and the CA, asked over HTTPS ([update]
 * lineage_url, its TLS certificate verified against the trust anchors and
 * the URL's host), says that the new certificate renews the old one on
 * the same medium.  Then one store transaction records the application as
 * approved and swaps the main (oc_hall_app_update_signed), audit-logged as
 * main.update_signed.  Without lineage_url the path is unavailable and
 * says so.
 *
 * Sub certificates and their grants are on their own accounts and are
 * not touched: they carry over to the new main unchanged.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "hall/apps.h"
#include "hall/hall_int.h"
#include "onecert/json.h"
#include "onecert/log.h"
#include "onecert/pki.h"
#include "onecert/signer.h"

#define LINEAGE_MAX (64 * 1024)         /* the CA's answer, headers included */

/* [update] of hall.ini, read once at start (hall_update_routes) before
 * any worker runs; read only afterwards. */
static struct {
	bool configured;                /* lineage_url given and usable */
	char problem[256];              /* why not, when it was given */
	char host[256], port[8], path[512];
	bool host_is_ip;
	long timeout;                   /* s */
	SSL_CTX *ctx;                   /* trusts the anchors; never freed */
} lin;

/* ---- the CA's lineage over HTTPS ------------------------------------ */

struct lineage {
	char serial[43], replaces[43];
	char kind[16];                  /* renew, change, reissue, new */
	char medium[32], replaces_medium[32];
};

static int
add_anchor_file(X509_STORE *store, const char *path, bool named, int *n, struct oc_err *err)
{
	STACK_OF(X509) *sk = oc_certs_load_file(path, err);

	if (sk == NULL)
		return named ? OC_ECONFIG : 0;
	for (int i = 0; i < sk_X509_num(sk); i++) {
		X509 *x = sk_X509_value(sk, i);

		if (X509_check_ca(x) == 0)
			continue;
		if (X509_STORE_add_cert(store, x) == 1)
			(*n)++;
	}
	sk_X509_pop_free(sk, X509_free);
	return 0;
}

/* The CA certificates of a comma-separated list of files or folders
 * (relative names from HDIR), as [trust] anchors reads them. */
static int
load_anchors(X509_STORE *store, const char *dir, const char *list, struct oc_err *err)
{
	char *copy = strdup(list), *save = NULL, path[4096];
	int n = 0, rc = 0;

	if (copy == NULL)
		return oc_err_set(err, OC_ENOMEM, "out of memory");
	for (char *t = strtok_r(copy, ",", &save); t != NULL && rc == 0;
	    t = strtok_r(NULL, ",", &save)) {
		struct stat sb;

		while (*t == ' ' || *t == '\t')
			t++;
		for (size_t l = strlen(t); l > 0 && (t[l - 1] == ' ' || t[l - 1] == '\t'); l--)
			t[l - 1] = '\0';
		if (*t == '\0')
			continue;
		snprintf(path, sizeof(path), "%s%s%s", t[0] == '/' ? "" : dir, t[0] == '/' ? "" : "/", t);
		if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
			DIR *d = opendir(path);
			struct dirent *de;

			while (d != NULL && (de = readdir(d)) != NULL) {
				const char *dot = strrchr(de->d_name, '.');
				char f[4096 + 256];

				if (de->d_name[0] == '.' || dot == NULL || (strcmp(dot, ".pem") != 0 &&
				    strcmp(dot, ".crt") != 0 && strcmp(dot, ".cer") != 0 &&
				    strcmp(dot, ".der") != 0))
					continue;
				snprintf(f, sizeof(f), "%s/%s", path, de->d_name);
				add_anchor_file(store, f, false, &n, err);
			}
			if (d != NULL)
				closedir(d);
		} else {
			rc = add_anchor_file(store, path, true, &n, err);
		}
	}
	free(copy);
	if (rc == 0 && n == 0)
		rc = oc_err_set(err, OC_ECONFIG, "no CA certificate in %s", list);
	return rc;
}

/* https://host[:port][/path] — the path is the prefix the serial is
 * appended to. */
static int
parse_url(const char *url, struct oc_err *err)
{
	const char *h, *p, *slash;
	size_t hl;

	if (strncasecmp(url, "https://", 8) != 0)
		return oc_err_set(err, OC_ECONFIG, "[update] lineage_url must be an https:// URL");
	h = url + 8;
	slash = strchr(h, '/');
	if (strpbrk(h, "?#@") != NULL)
		return oc_err_set(err, OC_ECONFIG, "[update] lineage_url: no user, query or fragment");
	hl = slash ? (size_t)(slash - h) : strlen(h);
	if (h[0] == '[') {      /* [IPv6]:port */
		const char *e = memchr(h, ']', hl);

		if (e == NULL || (size_t)(e - h - 1) >= sizeof(lin.host))
			return oc_err_set(err, OC_ECONFIG, "[update] lineage_url: bad host");
		memcpy(lin.host, h + 1, (size_t)(e - h - 1));
		lin.host[e - h - 1] = '\0';
		p = e + 1 < h + hl && e[1] == ':' ? e + 2 : NULL;
	} else {
		const char *colon = memchr(h, ':', hl);
		size_t n = colon ? (size_t)(colon - h) : hl;

		if (n == 0 || n >= sizeof(lin.host))
			return oc_err_set(err, OC_ECONFIG, "[update] lineage_url: bad host");
		memcpy(lin.host, h, n);
		lin.host[n] = '\0';
		p = colon ? colon + 1 : NULL;
	}
	if (p != NULL) {
		size_t n = (size_t)(h + hl - p);

		if (n == 0 || n >= sizeof(lin.port) || strspn(p, "0123456789") < n)
			return oc_err_set(err, OC_ECONFIG, "[update] lineage_url: bad port");
		memcpy(lin.port, p, n);
		lin.port[n] = '\0';
	} else {
		snprintf(lin.port, sizeof(lin.port), "443");
	}
	if (slash == NULL || strcmp(slash, "/") == 0)
		snprintf(lin.path, sizeof(lin.path), "/api/v1/public/lineage/");
	else if (snprintf(lin.path, sizeof(lin.path), "%s%s", slash,
	    slash[strlen(slash) - 1] == '/' ? "" : "/") >= (int)sizeof(lin.path))
		return oc_err_set(err, OC_ECONFIG, "[update] lineage_url: path too long");
	{
		unsigned char buf[16];

		lin.host_is_ip = inet_pton(AF_INET, lin.host, buf) == 1 ||
		    inet_pton(AF_INET6, lin.host, buf) == 1;
	}
	return 0;
}

static int
lineage_setup(struct hall *h, struct oc_err *err)
{
	const char *url = oc_config_get(h->cfg, "update", "lineage_url", NULL);
	const char *cas;
	X509_STORE *store;

	if (url == NULL || *url == '\0')
		return 0;
	if (parse_url(url, err) != 0)
		return OC_ECONFIG;
	if (oc_config_get_duration(h->cfg, "update", "lineage_timeout", 5, &lin.timeout, err) != 0)
		return OC_ECONFIG;
	if (lin.timeout < 1 || lin.timeout > 60)
		return oc_err_set(err, OC_ECONFIG, "[update] lineage_timeout must be 1s to 60s");
	cas = oc_config_get(h->cfg, "update", "lineage_ca", NULL);
	if (cas == NULL)
		cas = oc_config_get(h->cfg, "trust", "anchors", "");
	if ((lin.ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return oc_err_openssl(err, OC_ECRYPTO, "SSL_CTX_new");
	SSL_CTX_set_min_proto_version(lin.ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(lin.ctx, SSL_VERIFY_PEER, NULL);
	store = SSL_CTX_get_cert_store(lin.ctx);
	/* an issuing CA alone is a complete anchor, as in [trust] */
	X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN);
	if (load_anchors(store, h->dir, cas, err) != 0) {
		SSL_CTX_free(lin.ctx);
		lin.ctx = NULL;
		return OC_ECONFIG;
	}
	lin.configured = true;
	return 0;
}

static long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A TCP connection within the deadline: every address in turn, a refused
 * one at once. */
static int
tcp_connect(long deadline, int *fd, struct oc_err *err)
{
	struct addrinfo hints, *res = NULL, *ai;
	int s = -1, e = ECONNREFUSED;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(lin.host, lin.port, &hints, &res) != 0)
		return oc_err_set(err, OC_EIO, "cannot resolve %s", lin.host);
	for (ai = res; ai != NULL && mono_ms() < deadline; ai = ai->ai_next) {
		struct pollfd pfd;
		socklen_t el = sizeof(e);
		int rc;

		if ((s = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    ai->ai_protocol)) < 0) {
			e = errno;
			continue;
		}
		if (connect(s, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			pfd.fd = s;
			pfd.events = POLLOUT;
			do {
				long left = deadline - mono_ms();
				rc = poll(&pfd, 1, left > 0 ? (int)left : 0);
			} while (rc < 0 && errno == EINTR);
			if (rc == 1 && getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &el) == 0 && e == 0)
				break;
			if (rc == 0)
				e = ETIMEDOUT;
		} else {
			e = errno;
		}
		close(s);
		s = -1;
	}
	freeaddrinfo(res);
	if (s < 0)
		return oc_err_set(err, OC_EIO, "cannot connect to %s:%s: %s", lin.host, lin.port,
		    strerror(e));
	*fd = s;
	return 0;
}

/* The body of a complete HTTP/1.1 response in buf (Content-Length,
 * chunked, or up to the close); *status gets the status code. */
static int
http_body(char *buf, size_t len, int *status, char **body, size_t *blen, struct oc_err *err)
{
	char *eoh, *p, *out;
	size_t hl, n;
	long cl = -1;
	bool chunked = false;

	if (len < 12 || strncmp(buf, "HTTP/1.", 7) != 0 || (eoh = strstr(buf, "\r\n\r\n")) == NULL)
		return oc_err_set(err, OC_EIO, "malformed HTTP response");
	*status = atoi(buf + 9);
	hl = (size_t)(eoh - buf);
	for (p = strstr(buf, "\r\n"); p != NULL && p < eoh; p = strstr(p + 2, "\r\n")) {
		if (strncasecmp(p + 2, "Content-Length:", 15) == 0)
			cl = strtol(p + 17, NULL, 10);
		else if (strncasecmp(p + 2, "Transfer-Encoding:", 18) == 0 &&
		    strstr(p + 20, "chunked") != NULL && strstr(p + 20, "chunked") < strstr(p + 2, "\r\n"))
			chunked = true;
	}
	p = eoh + 4;
	n = len - hl - 4;
	if (!chunked) {
		if (cl >= 0 && (size_t)cl < n)
			n = (size_t)cl;
		if (cl >= 0 && (size_t)cl > n)
			return oc_err_set(err, OC_EIO, "truncated HTTP response");
		*body = p;
		*blen = n;
		return 0;
	}
	/* chunked: decoded in place */
	out = p;
	*body = p;
	*blen = 0;
	for (;;) {
		char *end;
		unsigned long sz = strtoul(p, &end, 16);

		if (end == p || (end = strstr(end, "\r\n")) == NULL)
			return oc_err_set(err, OC_EIO, "malformed chunked response");
		p = end + 2;
		if (sz == 0)
			return 0;
		if (sz > (size_t)(buf + len - p))
			return oc_err_set(err, OC_EIO, "truncated chunked response");
		memmove(out, p, sz);
		out += sz;
		*blen += sz;
		p += sz;
		if (buf + len - p < 2 || p[0] != '\r' || p[1] != '\n')
			return oc_err_set(err, OC_EIO, "malformed chunked response");
		p += 2;
	}
}

/* Has the whole response arrived (a server that keeps the connection
 * open despite "Connection: close" is not waited for)?  buf is
 * NUL-terminated. */
static bool
complete(const char *buf, size_t len)
{
	const char *eoh = strstr(buf, "\r\n\r\n"), *p;
	long cl = -1;

	if (eoh == NULL)
		return false;
	for (p = strstr(buf, "\r\n"); p != NULL && p < eoh; p = strstr(p + 2, "\r\n"))
		if (strncasecmp(p + 2, "Content-Length:", 15) == 0)
			cl = strtol(p + 17, NULL, 10);
	if (cl >= 0)
		return len >= (size_t)(eoh - buf) + 4 + (size_t)cl;
	return len >= 5 && memcmp(buf + len - 5, "0\r\n\r\n", 5) == 0;
}

/* Ask the CA what `serial` replaces.  OC_ENOTFOUND when the CA does not
 * know the certificate; OC_EIO / OC_ECRYPTO (the TLS check) when it
 * could not be asked. */
static int
lineage_get(const char *serial, struct lineage *out, struct oc_err *err)
{
	long deadline = mono_ms() + lin.timeout * 1000;
	struct timeval tv = { lin.timeout, 0 };
	char req[1024], *buf = NULL, *body = NULL;
	size_t len = 0, blen = 0;
	SSL *ssl = NULL;
	json_t *j = NULL;
	int fd = -1, status = 0, n, rc = OC_EIO;
	const char *v;

	memset(out, 0, sizeof(*out));
	if ((rc = tcp_connect(deadline, &fd, err)) != 0)
		goto out;
	rc = OC_EIO;
	/* blocking from here, each read and write bounded by the timeout */
	{
		int fl = fcntl(fd, F_GETFL);

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
			oc_err_set(err, OC_EIO, "socket: %s", strerror(errno));
			goto out;
		}
	}
	if ((ssl = SSL_new(lin.ctx)) == NULL || SSL_set_fd(ssl, fd) != 1) {
		rc = oc_err_openssl(err, OC_ECRYPTO, "SSL_new");
		goto out;
	}
	if (lin.host_is_ip) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), lin.host) != 1) {
			rc = oc_err_openssl(err, OC_ECRYPTO, "TLS host check");
			goto out;
		}
	} else if (SSL_set1_host(ssl, lin.host) != 1 || SSL_set_tlsext_host_name(ssl, lin.host) != 1) {
		rc = oc_err_openssl(err, OC_ECRYPTO, "TLS host check");
		goto out;
	}
	if (SSL_connect(ssl) != 1) {
		long vr = SSL_get_verify_result(ssl);

		rc = vr != X509_V_OK ? oc_err_set(err, OC_ECRYPTO, "the CA's TLS certificate is not"
		    " trusted for %s: %s", lin.host, X509_verify_cert_error_string(vr)) :
		    oc_err_openssl(err, OC_EIO, "TLS handshake with %s", lin.host);
		goto out;
	}
	n = snprintf(req, sizeof(req), "GET %s%s HTTP/1.1\r\nHost: %s%s%s:%s\r\n"
	    "Accept: application/json\r\nUser-Agent: onecert-hall\r\nConnection: close\r\n\r\n",
	    lin.path, serial, lin.host_is_ip && strchr(lin.host, ':') ? "[" : "", lin.host,
	    lin.host_is_ip && strchr(lin.host, ':') ? "]" : "", lin.port);
	if (n <= 0 || (size_t)n >= sizeof(req) || SSL_write(ssl, req, n) != n) {
		oc_err_set(err, OC_EIO, "cannot send the request to %s", lin.host);
		goto out;
	}
	if ((buf = malloc(LINEAGE_MAX + 1)) == NULL) {
		rc = oc_err_set(err, OC_ENOMEM, "out of memory");
		goto out;
	}
	while (len < LINEAGE_MAX && mono_ms() < deadline &&
	    (n = SSL_read(ssl, buf + len, (int)(LINEAGE_MAX - len))) > 0) {
		len += (size_t)n;
		buf[len] = '\0';
		if (complete(buf, len))
			break;
	}
	buf[len] = '\0';
	if (len >= LINEAGE_MAX) {
		oc_err_set(err, OC_EIO, "the CA's answer is too long");
		goto out;
	}
	if (http_body(buf, len, &status, &body, &blen, err) != 0)
		goto out;
	if (status == 404) {
		rc = oc_err_set(err, OC_ENOTFOUND, "the CA has no record of %s", serial);
		goto out;
	}
	if (status != 200 || (j = oc_json_parse_object(body, blen, LINEAGE_MAX, err)) == NULL) {
		if (status != 200)
			oc_err_set(err, OC_EIO, "the CA answered %d", status);
		goto out;
	}
	if ((v = json_string_value(json_object_get(j, "serial"))) == NULL ||
	    oc_serial_canon(v, out->serial, NULL) != 0) {
		oc_err_set(err, OC_EIO, "the CA's answer has no serial");
		goto out;
	}
	if ((v = json_string_value(json_object_get(j, "replaces"))) != NULL && v[0] != '\0' &&
	    oc_serial_canon(v, out->replaces, NULL) != 0)
		out->replaces[0] = '\0';
	v = json_string_value(json_object_get(j, "kind"));
	snprintf(out->kind, sizeof(out->kind), "%s", v ? v : "");
	v = json_string_value(json_object_get(j, "medium"));
	snprintf(out->medium, sizeof(out->medium), "%s", v ? v : "");
	v = json_string_value(json_object_get(j, "replaces_medium"));
	snprintf(out->replaces_medium, sizeof(out->replaces_medium), "%s", v ? v : "");
	rc = 0;
out:
	if (ssl != NULL) {
		SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	if (fd >= 0)
		close(fd);
	json_decref(j);
	free(buf);
	ERR_clear_error();
	return rc;
}

/* ---- eligibility, GET and POST -------------------------------------- */

/* Why the caller may not file an update (NULL: it may), in Chinese and
 * in English, with the status to answer. */
static const char *
ineligible(const struct hall_call *c, const struct oc_hall_company *co, const char **en,
    int *status)
{
	*status = 403;
	if (strcmp(co->state, "main_active") != 0 && strcmp(co->state, "registered") != 0) {
		*en = "the company has no main certificate to update";
		return "贵企业尚未开通主数字证书，不能办理主数字证书更新；请先办理开通";
	}
	if (co->main_account_id == c->a.id) {
		*status = 409;
		*en = "this certificate is already the main certificate; log in with the new one";
		return "本证书已是贵企业的主数字证书；证书更新（续期、变更或补办）后，请使用新证书登录办理主数字证书更新";
	}
	if (strcmp(c->a.status, "retired") == 0) {
		*en = "this certificate was retired";
		return "此证书已注销";
	}
	/* a sub certificate the company suspended or removed is one it has
	 * said it does not trust: it may not ask to become the main one (and
	 * a removed one not by asking to be a sub certificate again first).
	 * A new certificate, or one without standing, still may. */
	if (strcmp(c->a.status, "suspended") == 0) {
		*en = "this certificate was suspended by the company and may not file a"
		    " main-certificate update";
		return "本证书已被贵企业暂停使用，不能办理主数字证书更新";
	}
	if (strcmp(c->a.status, "removed") == 0 || c->a.removed_at != 0) {
		*en = "this certificate was removed from the company's sub certificates and may not"
		    " file a main-certificate update";
		return "本证书已被贵企业删除（移出副数字证书），不能办理主数字证书更新";
	}
	return NULL;
}

bool
hall_update_eligible(struct hall_call *c, const struct oc_hall_company *co, bool reply)
{
	const char *zh, *en;
	char msg[512];
	int status;

	if ((zh = ineligible(c, co, &en, &status)) == NULL)
		return true;
	if (reply) {
		snprintf(msg, sizeof(msg), "%s / %s", zh, en);
		oc_http_reply_error(c->req, status, status == 409 ? "conflict" : "forbidden", msg);
	}
	return false;
}

/* The company's current main certificate (the old one), false if none. */
static bool
main_of(struct hall_call *c, const struct oc_hall_company *co, struct oc_hall_account *m)
{
	return co->main_account_id != 0 &&
	    oc_hall_account_get(c->st, co->main_account_id, m, NULL) == 0 &&
	    m->company_id == co->id && strcmp(m->status, "retired") != 0;
}

/* Does the CA vouch that the caller's certificate renews the old main on
 * the same medium?  0 when it does; else OC_EPERM with msg for a person
 * (cap ≥ 256), or the error of asking. */
static int
vouched(const char *new_serial, const char *old_serial, struct lineage *ln, char *msg,
    size_t cap, struct oc_err *err)
{
	int rc;

	if ((rc = lineage_get(new_serial, ln, err)) != 0) {
		if (rc == OC_ENOTFOUND) {
			snprintf(msg, cap, "CA没有本证书的签发记录，不能使用原证书签名更新 / the CA has"
			    " no record of this certificate");
			return OC_EPERM;
		}
		return rc;
	}
	if (strcmp(ln->serial, new_serial) != 0) {
		snprintf(msg, cap, "CA的答复与本证书不符 / the CA answered for another certificate");
		return OC_EPERM;
	}
	if (strcmp(ln->kind, "renew") != 0 || strcmp(ln->replaces, old_serial) != 0) {
		if (strcmp(ln->kind, "new") == 0 || ln->replaces[0] == '\0')
			snprintf(msg, cap, "CA记录显示本证书是新申领的证书，不是原主数字证书的更新（续期）证书，"
			    "不能使用原证书签名更新，请使用申请表扫描件方式办理 / the CA says this"
			    " certificate was newly issued, not a renewal of the main certificate");
		else if (strcmp(ln->replaces, old_serial) != 0)
			snprintf(msg, cap, "CA记录显示本证书并非由贵企业当前的主数字证书更新而来，"
			    "请使用申请表扫描件方式办理 / the CA says this certificate does not"
			    " replace the current main certificate");
		else
			snprintf(msg, cap, "CA记录显示本证书是%s证书，只有更新（续期）证书可以使用原证书签名更新，"
			    "请使用申请表扫描件方式办理 / only a renewal may be signed with the old key"
			    " (this is a %s)", strcmp(ln->kind, "change") == 0 ? "变更" :
			    strcmp(ln->kind, "reissue") == 0 ? "补办" : "其他方式签发的", ln->kind);
		return OC_EPERM;
	}
	if (ln->medium[0] == '\0' || strcmp(ln->medium, ln->replaces_medium) != 0) {
		snprintf(msg, cap, "CA记录显示新旧证书不在同一介质上，请使用申请表扫描件方式办理"
		    " / the CA says the two certificates are not on the same medium");
		return OC_EPERM;
	}
	return 0;
}

static void
update_get(struct hall_call *c)
{
	struct oc_hall_company co;
	struct oc_hall_account m;
	struct oc_hall_application *a;
	struct lineage ln;
	struct oc_err err;
	json_t *profile, *olds, *app = NULL, *signed_ = NULL, *reply;
	const char *license;
	char na[32], mna[32], msg[512] = "";
	bool eligible, have_main;
	int st;

	if (!hall_session_require(c, false) || !hall_company_of(c, &co))
		return;
	if ((a = malloc(sizeof(*a))) == NULL)
		return oc_http_reply_error(c->req, 500, "internal_error", "out of memory");
	{
		const char *en, *zh = ineligible(c, &co, &en, &st);

		eligible = zh == NULL;
		snprintf(msg, sizeof(msg), "%s", zh ? zh : "");
	}
	have_main = main_of(c, &co, &m);
	olds = json_array();
	if (have_main) {
		hall_iso(m.not_after, mna, sizeof(mna));
		json_array_append_new(olds, json_pack("{s:s, s:s, s:s, s:s, s:s}", "serial", m.serial,
		    "unique_id", m.uid, "subject_cn", m.subject_cn, "not_after", mna,
		    "holder", m.holder_name));
	}
	if (oc_hall_app_current(c->st, co.id, "main_update", a, NULL) == 0)
		app = hall_app_json(c, a);
	free(a);
	/* the signed path */
	if (!lin.configured) {
		signed_ = json_pack("{s:b, s:b, s:s}", "available", false, "vouched", false,
		    "message", lin.problem[0] ? "原证书签名更新暂不可用（配置有误），请使用申请表扫描件方式办理" :
		    "本大厅未开通原证书签名更新（未配置CA证书记录查询），请使用申请表扫描件方式办理");
	} else if (!eligible || !have_main) {
		signed_ = json_pack("{s:b, s:b, s:s}", "available", true, "vouched", false,
		    "message", "");
	} else {
		char why[512] = "";
		int rc;

		oc_err_clear(&err);
		rc = vouched(c->a.serial, m.serial, &ln, why, sizeof(why), &err);
		if (rc != 0 && rc != OC_EPERM)
			snprintf(why, sizeof(why), "暂时无法向CA查询证书更新记录，请稍后重试或使用申请表扫描件方式办理"
			    " / the CA cannot be asked now");
		signed_ = json_pack("{s:b, s:b, s:s, s:s}", "available", true, "vouched", rc == 0,
		    "message", why, "kind", rc == 0 || rc == OC_EPERM ? ln.kind : "");
		if (rc == 0)
			json_object_set_new(signed_, "sign_text", json_sprintf(
			    "main-update:%s:%s:<challenge>", m.serial, c->a.serial));
	}
	profile = json_loads(co.profile, 0, NULL);
	license = profile ? json_string_value(json_object_get(profile, "license_no")) : NULL;
	hall_iso(c->a.not_after, na, sizeof(na));
	reply = json_pack("{s:b, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s}, s:o, s:o, s:o}",
	    "eligible", eligible, "message", msg, "company_state", co.state,
	    "prefill", "company_name", co.name, "org_code", co.org_code,
	    "license_no", license && license[0] ? license : co.uscc,
	    "new_unique_id", c->a.uid, "new_serial", c->a.serial, "new_not_after", na,
	    "old_certificates", olds, "application", app ? app : json_null(), "signed", signed_);
	json_decref(profile);
	oc_http_reply_json(c->req, 200, reply);
}

static void
update_create(struct hall_call *c)
{
	struct oc_hall_company co;

	if (!hall_session_require(c, true) || !hall_company_of(c, &co) ||
	    !hall_update_eligible(c, &co, true))
		return;
	hall_app_create_kind(c, &co, "main_update");
}

/* ---- the signed path ------------------------------------------------ */

static int
b64_decode(const char *in, unsigned char *out, size_t cap, size_t *n)
{
	size_t l = strlen(in);
	int d;

	if (l == 0 || l % 4 != 0 || l / 4 * 3 > cap)
		return -1;
	if ((d = EVP_DecodeBlock(out, (const unsigned char *)in, (int)l)) < 0)
		return -1;
	if (in[l - 1] == '=')
		d--;
	if (in[l - 2] == '=')
		d--;
	*n = (size_t)d;
	return 0;
}

static void
forbid(struct hall_call *c, const char *who, const char *why, const char *msg)
{
	char detail[128];

	snprintf(detail, sizeof(detail), "{\"why\":\"%s\"}", why);
	oc_hall_audit(c->st, c->a.serial, oc_http_req_peer(c->req), "main.update_signed_refused",
	    who, detail, NULL);
	oc_http_reply_error(c->req, 403, "forbidden", msg);
}

static void
update_signed(struct hall_call *c)
{
	struct oc_hall_company co;
	struct oc_hall_account m;
	struct oc_hall_application *a = NULL;
	struct hall_identity oid;
	struct lineage ln;
	struct oc_err err;
	const char *pem = NULL, *sig_b64 = NULL, *challenge = NULL;
	unsigned char sig[1024];
	char hash[65], tbs[256], why[512] = "", retired[43] = "", text[512], *form = NULL;
	char detail[512];
	long long withdrawn = 0;
	size_t siglen = 0;
	json_t *body = NULL, *f = NULL, *reply;
	X509 *old = NULL;
	int rc;

	if (!hall_session_require(c, true) || !hall_company_of(c, &co) ||
	    !hall_update_eligible(c, &co, true))
		return;
	if (!lin.configured) {
		oc_http_reply_error(c->req, 503, "unavailable", lin.problem[0] ?
		    "原证书签名更新暂不可用（配置有误），请使用申请表扫描件方式办理 / the signed update"
		    " is misconfigured here" :
		    "本大厅未开通原证书签名更新（未配置 [update] lineage_url），请使用申请表扫描件方式办理"
		    " / the signed update is not available here (no [update] lineage_url)");
		return;
	}
	if ((body = hall_body_json(c, 64 * 1024)) == NULL)
		return;
	oc_err_clear(&err);
	if (oc_json_get_str(body, "challenge", true, 64, &challenge, &err) != 0 ||
	    oc_json_get_str(body, "signature", true, 2048, &sig_b64, &err) != 0 ||
	    oc_json_get_str(body, "old_certificate", true, 32768, &pem, &err) != 0) {
		oc_http_reply_err(c->req, &err);
		goto out;
	}
	/* the challenge is spent whatever happens next: single use */
	hall_sha256_hex(challenge, hash);
	if (oc_hall_challenge_take(c->st, hash, time(NULL), &err) != 0) {
		oc_http_reply_error(c->req, 403, "forbidden", err.msg);
		goto out;
	}
	if ((old = oc_cert_parse((const unsigned char *)pem, strlen(pem), &err)) == NULL) {
		oc_http_reply_err(c->req, &err);
		goto out;
	}
	if (!main_of(c, &co, &m)) {
		oc_http_reply_error(c->req, 409, "conflict",
		    "贵企业没有可更新的主数字证书 / the company has no main certificate");
		goto out;
	}
	/* the old certificate: valid, not revoked (asked afresh), the main */
	oc_err_clear(&err);
	if (hall_identify(c->h, old, NULL, &oid, &err) != 0 ||
	    hall_recheck(c->h, old, &err) != 0) {
		snprintf(why, sizeof(why), "原主数字证书未通过校验：%s", err.msg[0] ? err.msg :
		    "无法确认证书状态 / the certificate's status cannot be confirmed");
		forbid(c, co.org_code, "old_certificate", why);
		goto out;
	}
	if (oid.staff || strcmp(oid.org_code, co.org_code) != 0 || strcmp(oid.serial, m.serial) != 0 ||
	    strcmp(oid.uid, m.uid) != 0) {
		forbid(c, co.org_code, "not_the_main", "所给原证书不是贵企业当前的主数字证书"
		    " / old_certificate is not the company's current main certificate");
		goto out;
	}
	/* the old key's word */
	snprintf(tbs, sizeof(tbs), "main-update:%s:%s:%s", m.serial, c->a.serial, challenge);
	if (b64_decode(sig_b64, sig, sizeof(sig), &siglen) != 0) {
		oc_http_reply_error(c->req, 400, "invalid_input",
		    "签名格式错误 / signature must be base64");
		goto out;
	}
	if (oc_verify_tbs(X509_get0_pubkey(old), (const unsigned char *)tbs, strlen(tbs), sig,
	    siglen, &err) != 0) {
		forbid(c, co.org_code, "signature", "签名验证失败：须使用原主数字证书的私钥签名"
		    " “main-update:原证书序列号:新证书序列号:挑战值” / the signature does not verify"
		    " with the old main certificate's key");
		goto out;
	}
	/* the CA's word */
	oc_err_clear(&err);
	if ((rc = vouched(c->a.serial, m.serial, &ln, why, sizeof(why), &err)) != 0) {
		if (rc == OC_EPERM) {
			forbid(c, co.org_code, "lineage", why);
		} else {
			char q[OC_LOG_QBUF];

			oc_log(OC_LOG_WARN, "hall.lineage_failed", "msg=%s", oc_log_q(q, sizeof(q), err.msg));
			oc_http_reply_error(c->req, 502, "unavailable",
			    "暂时无法向CA查询证书更新记录，请稍后重试或使用申请表扫描件方式办理"
			    " / the CA could not be asked about this certificate");
		}
		goto out;
	}
	/* the application, approved, and the swap: one transaction */
	f = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "method", "signed",
	    "old_serial", m.serial, "old_uid", m.uid, "new_serial", c->a.serial,
	    "new_uid", c->a.uid, "medium", ln.medium, "reason", "续费", "lineage", ln.kind);
	if (f == NULL || (form = json_dumps(f, JSON_COMPACT | JSON_SORT_KEYS)) == NULL ||
	    (a = calloc(1, sizeof(*a))) == NULL) {
		oc_http_reply_error(c->req, 500, "internal_error", "out of memory");
		goto out;
	}
	a->company_id = co.id;
	a->account_id = c->a.id;
	snprintf(a->kind, sizeof(a->kind), "main_update");
	snprintf(a->form, sizeof(a->form), "%s", form);
	oc_err_clear(&err);
	if (oc_hall_app_update_signed(c->st, a, c->a.serial, time(NULL), &withdrawn, retired,
	    &err) != 0) {
		oc_http_reply_err(c->req, &err);
		goto out;
	}
	snprintf(detail, sizeof(detail), "{\"app\":%lld,\"old\":\"%s\",\"new\":\"%s\","
	    "\"medium\":\"%s\",\"withdrawn\":%lld}", a->id, retired, c->a.serial, ln.medium,
	    withdrawn);
	oc_hall_audit(c->st, c->a.serial, oc_http_req_peer(c->req), "main.update_signed",
	    co.org_code, detail, NULL);
	oc_hall_audit(c->st, c->a.serial, oc_http_req_peer(c->req), "main.retired", retired,
	    "{\"by\":\"main_update_signed\"}", NULL);
	oc_log(OC_LOG_INFO, "hall.main_updated", "company=%s old=%s new=%s via=signed",
	    co.org_code, retired, c->a.serial);
	{
		char holder[32];

		hall_company_holder_mobile(&co, holder, sizeof(holder));
		snprintf(text, sizeof(text), "【网上办事大厅】%.200s的主数字证书已通过原证书签名完成更新，"
		    "原主数字证书已注销，不能再登录。", co.name);
		hall_notify(c, holder, "main.update_signed", text);
	}
	reply = json_pack("{s:o, s:s, s:s}", "application", hall_app_json(c, a),
	    "retired_serial", retired,
	    "message", "主数字证书已更新：本证书现为主数字证书，原主数字证书已注销");
	oc_http_reply_json(c->req, 200, reply);
out:
	OPENSSL_cleanse(sig, sizeof(sig));
	X509_free(old);
	free(form);
	free(a);
	json_decref(f);
	json_decref(body);
}

/* ---- routes --------------------------------------------------------- */

#define HANDLER(name, fn) \
static void \
name(struct oc_http_req *req, void *arg) \
{ \
	struct hall_call c; \
 \
	if (hall_call_init(&c, req, arg)) \
		fn(&c); \
}
HANDLER(h_update_get, update_get)
HANDLER(h_update_create, update_create)
HANDLER(h_update_signed, update_signed)

size_t
hall_update_routes(struct hall *h, struct oc_http_route *r, size_t cap)
{
	const struct oc_http_route mine[] = {
		{ "GET", "/api/v1/main-update", h_update_get, h, 0,
		  OC_HTTP_BLOCKING | OC_HTTP_TLS_ONLY, NULL },
		{ "POST", "/api/v1/main-update", h_update_create, h, 8192,
		  OC_HTTP_BLOCKING | OC_HTTP_TLS_ONLY, NULL },
		{ "POST", "/api/v1/main-update/signed", h_update_signed, h, 64 * 1024,
		  OC_HTTP_BLOCKING | OC_HTTP_TLS_ONLY, NULL },
	};
	size_t n = sizeof(mine) / sizeof(mine[0]);
	struct oc_err err;

	oc_err_clear(&err);
	if (lineage_setup(h, &err) != 0) {
		char q[OC_LOG_QBUF];

		snprintf(lin.problem, sizeof(lin.problem), "%s", err.msg);
		oc_log(OC_LOG_ERROR, "hall.update_config", "msg=%s (the signed main-certificate"
		    " update is unavailable)", oc_log_q(q, sizeof(q), err.msg));
		fprintf(stderr, "onecert hall serve: [update] %s — the signed main-certificate"
		    " update is unavailable\n", err.msg);
	}
	if (n > cap)
		n = cap;
	memcpy(r, mine, n * sizeof(*r));
	return n;
}
