/*
 * test_http.c — the HTTP(S) server core, driven with real HTTP on
 * loopback: raw sockets where the bytes matter (keep-alive, pipelining,
 * refusals before the body, slow loris, Client-Cert headers), curl where a
 * real TLS client is the judge (client certificates requested, not
 * required).  Each test starts a server on 127.0.0.1 port 0 in a thread
 * and stops it through oc_http_server_stop (or SIGTERM), which must return
 * 0 after a clean stop.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "onecert/http.h"
#include "onecert/log.h"

static char tmpdir[4096];

static const char *
tpath(const char *name)
{
	static _Thread_local char p[8][4200];
	static _Thread_local int k;

	k = (k + 1) % 8;
	snprintf(p[k], sizeof(p[k]), "%s/%s", tmpdir, name);
	return p[k];
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void
write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* ---- handlers ------------------------------------------------------------ */

static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static bool gate_open = true;
static int blocked_started;
static int worker_inits, worker_frees;

static void
gate_set(bool open)
{
	pthread_mutex_lock(&gate_mu);
	gate_open = open;
	if (!open)
		blocked_started = 0;
	pthread_cond_broadcast(&gate_cv);
	pthread_mutex_unlock(&gate_mu);
}

static void
gate_wait_started(int n)
{
	double t0 = now_ms();

	pthread_mutex_lock(&gate_mu);
	while (blocked_started < n && now_ms() - t0 < 5000) {
		pthread_mutex_unlock(&gate_mu);
		sleep_ms(5);
		pthread_mutex_lock(&gate_mu);
	}
	assert_true(blocked_started >= n);
	pthread_mutex_unlock(&gate_mu);
}

static void
h_hello(struct oc_http_req *req, void *arg)
{
	(void)arg;
	oc_http_reply(req, 200, "text/plain; charset=utf-8", "hello", 5);
}

static void
h_echo(struct oc_http_req *req, void *arg)
{
	size_t len;
	const unsigned char *b = oc_http_req_body(req, &len);

	(void)arg;
	oc_http_reply(req, 200, "application/octet-stream", b, len);
}

/* runs on a worker: waits for the gate, says which worker context it had */
static void
h_block(struct oc_http_req *req, void *arg)
{
	int *ctx = oc_http_req_worker(req);
	char body[64];

	(void)arg;
	pthread_mutex_lock(&gate_mu);
	blocked_started++;
	while (!gate_open)
		pthread_cond_wait(&gate_cv, &gate_mu);
	pthread_mutex_unlock(&gate_mu);
	snprintf(body, sizeof(body), "{\"worker\":%d}", ctx != NULL ? *ctx : -1);
	oc_http_reply(req, 200, "application/json", body, strlen(body));
}

static void
h_prefix(struct oc_http_req *req, void *arg)
{
	const char *t = oc_http_req_tail(req);

	(void)arg;
	oc_http_reply(req, 200, "text/plain", t, strlen(t));
}

static void
h_whoami(struct oc_http_req *req, void *arg)
{
	STACK_OF(X509) *chain = NULL;
	X509 *x = oc_http_req_client_cert(req, &chain);
	char out[1200], name[512] = "none", first[512] = "";

	(void)arg;
	if (x != NULL)
		X509_NAME_oneline(X509_get_subject_name(x), name, sizeof(name));
	if (chain != NULL && sk_X509_num(chain) > 0)
		X509_NAME_oneline(X509_get_subject_name(sk_X509_value(chain, 0)),
		    first, sizeof(first));
	snprintf(out, sizeof(out), "tls=%d chain=%d subject=%s%s%s",
	    oc_http_req_is_tls(req) ? 1 : 0, chain ? sk_X509_num(chain) : 0,
	    name, first[0] ? " chain0=" : "", first);
	oc_http_reply(req, 200, "text/plain; charset=utf-8", out, strlen(out));
}

static void
sha256_hex(const unsigned char *d, size_t n, char out[65])
{
	unsigned char md[32];

	assert_int_equal(EVP_Digest(d, n, md, NULL, EVP_sha256(), NULL), 1);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* The client certificate as the handler gets it: the type of its key,
 * whether that key is the certificate's (encodes to its SPKI), and the
 * SHA-256 of the certificate's encoding. */
static void
h_certkey(struct oc_http_req *req, void *arg)
{
	X509 *x = oc_http_req_client_cert(req, NULL);
	EVP_PKEY *k = x != NULL ? X509_get0_pubkey(x) : NULL;
	unsigned char *a = NULL, *b = NULL, *der = NULL;
	char out[256], hex[65] = "-";
	int na = -1, nb = -2, n;

	(void)arg;
	if (k != NULL) {
		na = i2d_PUBKEY(k, &a);
		nb = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &b);
	}
	if (x != NULL && (n = i2d_X509(x, &der)) > 0)
		sha256_hex(der, (size_t)n, hex);
	snprintf(out, sizeof(out), "key=%s match=%d der=%s",
	    k != NULL ? EVP_PKEY_get0_type_name(k) : "none",
	    na > 0 && na == nb && memcmp(a, b, (size_t)na) == 0, hex);
	OPENSSL_free(a);
	OPENSSL_free(b);
	OPENSSL_free(der);
	oc_http_reply(req, 200, "text/plain", out, strlen(out));
}

static void
h_double(struct oc_http_req *req, void *arg)
{
	(void)arg;
	oc_http_reply(req, 200, "text/plain", "first", 5);
	oc_http_reply(req, 500, "text/plain", "second", 6);   /* logged, ignored */
	oc_http_set_header(req, "X-Late", "1");                 /* ditto */
}

static void
h_query(struct oc_http_req *req, void *arg)
{
	const char *v = oc_http_req_query(req, "name");

	(void)arg;
	oc_http_reply(req, 200, "text/plain; charset=utf-8", v ? v : "(none)",
	    v ? strlen(v) : 6);
}

static void
h_json(struct oc_http_req *req, void *arg)
{
	(void)arg;
	oc_http_set_header(req, "X-Test", "yes");
	oc_http_reply_json(req, 201, json_pack("{s:s}", "made", "it"));
}

static void
h_err(struct oc_http_req *req, void *arg)
{
	struct oc_err err;

	(void)arg;
	oc_err_set(&err, OC_ENOTFOUND, "没有这个证书");
	oc_err_detail(&err, "serial=00");
	oc_http_reply_err(req, &err);
}

static void *
w_init(void *arg)
{
	int *p = malloc(sizeof(*p));

	(void)arg;
	pthread_mutex_lock(&gate_mu);
	worker_inits++;
	pthread_mutex_unlock(&gate_mu);
	*p = 7;
	return p;
}

static void
w_free(void *ctx)
{
	pthread_mutex_lock(&gate_mu);
	worker_frees++;
	pthread_mutex_unlock(&gate_mu);
	free(ctx);
}

static void
custom_metrics(struct oc_buf *out, void *arg)
{
	(void)arg;
	oc_buf_adds(out, "# TYPE test_custom_metric gauge\ntest_custom_metric 42\n");
}

static const struct oc_http_route routes[] = {
	{ "GET", "/hello", h_hello, NULL, 0, 0 },
	{ "POST", "/small", h_echo, NULL, 1024, 0 },
	{ "POST", "/upload", h_echo, NULL, 16u * 1024 * 1024, OC_HTTP_BLOCKING },
	{ "GET", "/block", h_block, NULL, 0, OC_HTTP_BLOCKING },
	{ "GET", "/files/", h_prefix, NULL, 0, OC_HTTP_PREFIX },
	{ "GET", "/whoami", h_whoami, NULL, 0, 0 },
	{ "GET", "/certkey", h_certkey, NULL, 0, 0 },
	{ "GET", "/secure", h_hello, NULL, 0, OC_HTTP_TLS_ONLY },
	{ "GET", "/double", h_double, NULL, 0, 0 },
	{ "GET", "/q", h_query, NULL, 0, 0 },
	{ "POST", "/json", h_json, NULL, 0, OC_HTTP_BLOCKING },
	{ "GET", "/err", h_err, NULL, 0, 0 },
};
#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

/* ---- a server in a thread ------------------------------------------------- */

struct running {
	struct oc_http_server *srv;
	pthread_t th;
	int rc;
	int port, tls_port;
};

static void *
run_main(void *arg)
{
	struct running *r = arg;

	r->rc = oc_http_server_run(r->srv);
	return NULL;
}

static void
base_config(struct oc_http_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->name = "t";
	cfg->listen = "127.0.0.1:0";
	cfg->threads = 2;
	cfg->workers = 2;
	cfg->timeout_s = 5;
	cfg->worker_init = w_init;
	cfg->worker_free = w_free;
	cfg->metrics = custom_metrics;
}

static void
start(struct running *r, const struct oc_http_config *cfg)
{
	struct oc_err err;

	memset(r, 0, sizeof(*r));
	oc_err_clear(&err);
	r->srv = oc_http_server_new(cfg, routes, N_ROUTES, &err);
	if (r->srv == NULL)
		fail_msg("server: %s | %s", err.msg, err.detail);
	r->port = oc_http_server_port(r->srv, false);
	r->tls_port = oc_http_server_port(r->srv, true);
	assert_int_equal(pthread_create(&r->th, NULL, run_main, r), 0);
}

static void
stop(struct running *r)
{
	oc_http_server_stop(r->srv);
	pthread_join(r->th, NULL);
	assert_int_equal(r->rc, 0);
	oc_http_server_free(r->srv);
	r->srv = NULL;
}

/* ---- a raw HTTP client ---------------------------------------------------- */

struct tconn {
	int fd;
	char buf[1 << 16];
	size_t len;
};

struct resp {
	int status;
	char head[8192];
	char body[1 << 16];
	size_t blen;
};

static int
tcp_connect(int port)
{
	struct sockaddr_in a;
	struct timeval tv = { 10, 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static struct tconn *
tc_open(int port)
{
	struct tconn *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->fd = tcp_connect(port);
	assert_true(c->fd >= 0);
	return c;
}

static void
tc_close(struct tconn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

static void
tc_send(struct tconn *c, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);

		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

/* send what the server may refuse to read (it answers and closes first);
 * returns how much went out */
static size_t
tc_send_maybe(struct tconn *c, const void *data, size_t len)
{
	const char *p = data;
	size_t sent = 0;

	while (len > 0) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);

		if (n <= 0)
			break;
		p += n;
		len -= (size_t)n;
		sent += (size_t)n;
	}
	return sent;
}

static void
tc_sends(struct tconn *c, const char *s)
{
	tc_send(c, s, strlen(s));
}

/* bytes available, or 0 on close, -1 on error/timeout */
static ssize_t
tc_fill(struct tconn *c)
{
	ssize_t n;

	if (c->len == sizeof(c->buf))
		return -1;
	n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	if (n > 0)
		c->len += (size_t)n;
	return n;
}

static const char *
hdr(const struct resp *r, const char *name)
{
	static _Thread_local char v[1024];
	const char *p = r->head;
	size_t nl = strlen(name);

	while ((p = strchr(p, '\n')) != NULL) {
		p++;
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *s = p + nl + 1, *e;

			while (*s == ' ')
				s++;
			e = strpbrk(s, "\r\n");
			snprintf(v, sizeof(v), "%.*s", (int)(e ? e - s : (long)strlen(s)),
			    s);
			return v;
		}
	}
	return NULL;
}

/* Read one response; 0, or -1 if the connection closed/timed out first. */
static int
tc_read(struct tconn *c, struct resp *r, bool head_request)
{
	char *end;
	size_t hl, need;
	const char *cl;

	memset(r, 0, sizeof(*r));
	for (;;) {
		c->buf[c->len < sizeof(c->buf) ? c->len : sizeof(c->buf) - 1] = '\0';
		if (c->len > 0 && (end = strstr(c->buf, "\r\n\r\n")) != NULL)
			break;
		if (tc_fill(c) <= 0)
			return -1;
	}
	hl = (size_t)(end - c->buf) + 4;
	assert_true(hl < sizeof(r->head));
	memcpy(r->head, c->buf, hl);
	r->head[hl] = '\0';
	if (sscanf(r->head, "HTTP/1.%*d %d", &r->status) != 1)
		return -1;
	cl = hdr(r, "Content-Length");
	need = head_request || cl == NULL ? 0 : (size_t)strtoull(cl, NULL, 10);
	if (cl == NULL && !head_request && r->status != 304 && r->status != 204) {
		/* until close */
		while (tc_fill(c) > 0)
			;
		need = c->len - hl;
	}
	while (c->len < hl + need)
		if (tc_fill(c) <= 0)
			return -1;
	assert_true(need < sizeof(r->body));
	memcpy(r->body, c->buf + hl, need);
	r->body[need] = '\0';
	r->blen = need;
	memmove(c->buf, c->buf + hl + need, c->len - hl - need);
	c->len -= hl + need;
	return 0;
}

/* true if the server closed the connection within ms */
static bool
tc_closed_within(struct tconn *c, int ms)
{
	double t0 = now_ms();

	while (now_ms() - t0 < ms) {
		struct pollfd p = { c->fd, POLLIN, 0 };
		char b[4096];
		ssize_t n;

		if (poll(&p, 1, 50) <= 0)
			continue;
		n = recv(c->fd, b, sizeof(b), 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return true;
	}
	return false;
}

/* one request on its own connection */
static void
request(int port, const char *raw, struct resp *r)
{
	struct tconn *c = tc_open(port);
	bool head = strncmp(raw, "HEAD ", 5) == 0;

	tc_sends(c, raw);
	assert_int_equal(tc_read(c, r, head), 0);
	tc_close(c);
}

static void
get(int port, const char *path, struct resp *r)
{
	char raw[2048];

	snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: t\r\n"
	    "Connection: close\r\n\r\n", path);
	request(port, raw, r);
}

static char *
run_cmd(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	char *out = calloc(1, 1 << 16);
	size_t n = 0;

	assert_non_null(p);
	assert_non_null(out);
	while (n < (1 << 16) - 1) {
		size_t k = fread(out + n, 1, (1 << 16) - 1 - n, p);

		if (k == 0)
			break;
		n += k;
	}
	pclose(p);
	return out;
}

static void
assert_security_headers(const struct resp *r)
{
	assert_non_null(hdr(r, "X-Content-Type-Options"));
	assert_string_equal(hdr(r, "X-Content-Type-Options"), "nosniff");
	assert_string_equal(hdr(r, "Referrer-Policy"), "no-referrer");
	assert_string_equal(hdr(r, "X-Frame-Options"), "DENY");
}

static void
assert_json_error(const struct resp *r, int status, const char *code)
{
	json_t *j, *e;

	assert_int_equal(r->status, status);
	assert_non_null(hdr(r, "Content-Type"));
	assert_non_null(strstr(hdr(r, "Content-Type"), "application/json"));
	assert_string_equal(hdr(r, "Cache-Control"), "no-store");
	assert_security_headers(r);
	j = json_loadb(r->body, r->blen, 0, NULL);
	assert_non_null(j);
	e = json_object_get(j, "error");
	assert_non_null(e);
	assert_string_equal(json_string_value(json_object_get(e, "code")), code);
	assert_true(strlen(json_string_value(json_object_get(e, "message"))) > 0);
	json_decref(j);
}

/* ---- tests: plain HTTP ---------------------------------------------------- */

static void
keepalive_and_pipelining(void **state)
{
	struct oc_http_config cfg;
	struct running r;
	struct tconn *c;
	struct resp a;

	(void)state;
	base_config(&cfg);
	start(&r, &cfg);
	assert_true(r.port > 0);
	assert_int_equal(r.tls_port, 0);

	/* two requests, one after the other, on one connection */
	c = tc_open(r.port);
	tc_sends(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(tc_read(c, &a, false), 0);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.body, "hello");
	assert_security_headers(&a);
	assert_null(hdr(&a, "Connection"));
	tc_sends(c, "GET /files/a/b.txt HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(tc_read(c, &a, false), 0);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.body, "a/b.txt");

	/* pipelined: three heads in one write, answered in order */
	tc_sends(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
	    "POST /small HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"
	    "GET /q?name=%E4%B8%AD%E6%96%87&x=1 HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(tc_read(c, &a, false), 0);
	assert_string_equal(a.body, "hello");
	assert_int_equal(tc_read(c, &a, false), 0);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.body, "abc");
	assert_int_equal(tc_read(c, &a, false), 0);
	assert_string_equal(a.body, "中文");

	/* HEAD of a GET route: headers and length, no body */
	tc_sends(c, "HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(tc_read(c, &a, true), 0);
	assert_int_equal(a.status, 200);
	assert_string_equal(hdr(&a, "Content-Length"), "5");
	tc_sends(c, "GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
	assert_int_equal(tc_read(c, &a, false), 0);
	assert_string_equal(a.body, "hello");
	assert_true(tc_closed_within(c, 2000));
	tc_close(c);
	stop(&r);
}

/* The whole file, NUL-terminated (caller frees), or NULL. */
static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (p = malloc((size_t)n + 1)) != NULL) {
		*len = fread(p, 1, (size_t)n, f);
		p[*len] = '\0';
	}
	fclose(f);
	return p;
}

/* HTTP/1.0 with and without keep-alive (a connection closed after its
 * reply leaves corked, reply and FIN together), a request that arrives
 * while the one before it waits for a worker, and the access log: one
 * line per request, gathered per loop and all written by the time the
 * server has stopped */
static void
http10_and_access_log(void **state)
{
	struct oc_http_config cfg;
	struct running r;
	struct tconn *c;
	struct resp a;
	enum oc_log_level lvl = oc_log_get_level();
	char *log, *p;
	int saved, fd, lines = 0;
	size_t n;

	(void)state;
	fd = open(tpath("access.log"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
	oc_log_set_level(OC_LOG_INFO);
	base_config(&cfg);
	start(&r, &cfg);

	/* HTTP/1.0, no keep-alive: the reply, then the connection closes */
	c = tc_open(r.port);
	tc_sends(c, "GET /hello HTTP/1.0\r\n\r\n");
	assert_int_equal(tc_read(c, &a, false), 0);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.body, "hello");
	assert_string_equal(hdr(&a, "Content-Length"), "5");
	assert_non_null(hdr(&a, "Date"));
	assert_security_headers(&a);
	assert_true(tc_closed_within(c, 2000));
	tc_close(c);

	/* HTTP/1.0 with keep-alive: stays open for the next request */
	c = tc_open(r.port);
	tc_sends(c, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
	assert_int_equal(tc_read(c, &a, false), 0);
	assert_string_equal(a.body, "hello");
	tc_sends(c, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
	assert_int_equal(tc_read(c, &a, false), 0);
	assert_string_equal(a.body, "hello");

	/* the next request sent while this one waits for a worker */
	gate_set(false);
	tc_sends(c, "GET /block HTTP/1.1\r\nHost: t\r\n\r\n");
	gate_wait_started(1);
	tc_sends(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	sleep_ms(100);
	gate_set(true);
	assert_int_equal(tc_read(c, &a, false), 0);
	assert_int_equal(a.status, 200);
	assert_non_null(strstr(a.body, "worker"));
	assert_int_equal(tc_read(c, &a, false), 0);
	assert_string_equal(a.body, "hello");
	tc_close(c);
	stop(&r);

	oc_log_set_level(lvl);
	fflush(stderr);
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	log = read_file(tpath("access.log"), &n);
	assert_non_null(log);
	for (p = log; (p = strstr(p, "event=http.request ")) != NULL; p++)
		lines++;
	assert_int_equal(lines, 5);
	assert_non_null(strstr(log, " level=info event=http.request service=t "
	    "method=GET path=/hello status=200 bytes=5 ms="));
	assert_non_null(strstr(log, " peer=127.0.0.1 tls=0 cert=-\n"));
	assert_non_null(strstr(log, "path=/block status=200"));
	free(log);
}

static void
errors_are_json(void **state)
{
	struct oc_http_config cfg;
	struct running r;
	struct resp a;

	(void)state;
	base_config(&cfg);
	start(&r, &cfg);

	get(r.port, "/nope", &a);
	assert_json_error(&a, 404, "not_found");

	request(r.port, "POST /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n"
	    "Connection: close\r\n\r\n", &a);
	assert_json_error(&a, 405, "method_not_allowed");
	assert_string_equal(hdr(&a, "Allow"), "GET, HEAD");
	request(r.port, "DELETE /files/x HTTP/1.1\r\nHost: t\r\n"
	    "Connection: close\r\n\r\n", &a);
	assert_json_error(&a, 405, "method_not_allowed");
	request(r.port, "POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n"
	    "Connection: close\r\n\r\n", &a);
	assert_int_equal(a.status, 405);

	/* refused before routing: malformed, unknown method, bad framing */
	request(r.port, "GARBAGE\r\n\r\n", &a);
	assert_json_error(&a, 400, "bad_request");
	assert_string_equal(hdr(&a, "Connection"), "close");
	request(r.port, "BREW /pot HTTP/1.1\r\nHost: t\r\n\r\n", &a);
	assert_json_error(&a, 501, "not_implemented");
	request(r.port, "POST /small HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n"
	    "Transfer-Encoding: chunked\r\n\r\nabc", &a);
	assert_json_error(&a, 400, "bad_request");
	request(r.port, "POST /small HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n"
	    "Content-Length: 4\r\n\r\nabcd", &a);
	assert_json_error(&a, 400, "bad_request");
	request(r.port, "GET /a%00b HTTP/1.1\r\nHost: t\r\n\r\n", &a);
	assert_json_error(&a, 400, "bad_request");
	/* a body evhttp would not read (it would become the next request) */
	request(r.port, "GET /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 35\r\n"
	    "\r\nGET /files/smuggled HTTP/1.1\r\n\r\n", &a);
	assert_json_error(&a, 400, "bad_request");
	request(r.port, "POST /small HTTP/1.1\r\nHost: t\r\nConnection: keep-alive"
	    "\r\n\r\n", &a);
	assert_json_error(&a, 411, "length_required");
	/* empty lines before a request line are ignored (RFC 9112 2.2) */
	request(r.port, "\r\n\r\nGET /hello HTTP/1.1\r\nHost: t\r\n"
	    "Connection: close\r\n\r\n", &a);
	assert_int_equal(a.status, 200);
	{
		/* a head over 16 KB: 431 */
		char *big = malloc(20000);

		snprintf(big, 20000, "GET /hello HTTP/1.1\r\nX-Pad: %0*d\r\n\r\n",
		    18000, 0);
		request(r.port, big, &a);
		assert_json_error(&a, 431, "header_too_large");
		free(big);
	}

	/* handler errors: oc_http_reply_err maps the code */
	get(r.port, "/err", &a);
	assert_json_error(&a, 404, "not_found");
	assert_non_null(strstr(a.body, "没有这个证书"));
	assert_null(strstr(a.body, "serial"));           /* detail: log only */

	/* a JSON reply from a worker with a handler's header */
	request(r.port, "POST /json HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n"
	    "Connection: close\r\n\r\n", &a);
	assert_int_equal(a.status, 201);
	assert_string_equal(a.body, "{\"made\":\"it\"}");
	assert_string_equal(hdr(&a, "X-Test"), "yes");
	assert_string_equal(hdr(&a, "Cache-Control"), "no-store");

	/* TLS-only route on the plain listener */
	get(r.port, "/secure", &a);
	assert_json_error(&a, 403, "tls_required");

	/* a second reply is a logged no-op; the server goes on */
	get(r.port, "/double", &a);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.body, "first");
	assert_null(hdr(&a, "X-Late"));
	get(r.port, "/hello", &a);
	assert_int_equal(a.status, 200);
	stop(&r);
}

static void
body_limits(void **state)
{
	struct oc_http_config cfg;
	struct running r;
	struct tconn *c;
	struct resp a;
	char *body, *cmd, *out;
	double t0;
	size_t big = 10u * 1024 * 1024;

	(void)state;
	base_config(&cfg);
	start(&r, &cfg);

	/* within the route's 1 KB */
	body = malloc(big);
	assert_non_null(body);
	memset(body, 'x', big);
	c = tc_open(r.port);
	tc_sends(c, "POST /small HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n");
	tc_send(c, body, 1000);
	assert_int_equal(tc_read(c, &a, false), 0);
	assert_int_equal(a.status, 200);
	assert_int_equal(a.blen, 1000);

	/* 10 MB announced to the 1 KB route (the server's largest limit is
	 * 16 MB): 413 right after the head, before any body was sent */
	t0 = now_ms();
	tc_sends(c, "POST /small HTTP/1.1\r\nHost: t\r\nContent-Length: 10485760\r\n"
	    "\r\n");
	assert_int_equal(tc_read(c, &a, false), 0);
	assert_true(now_ms() - t0 < 1000);
	assert_json_error(&a, 413, "too_large");
	assert_string_equal(hdr(&a, "Connection"), "close");
	assert_true(tc_closed_within(c, 2000));
	tc_close(c);

	/* a little over the limit */
	c = tc_open(r.port);
	tc_sends(c, "POST /small HTTP/1.1\r\nHost: t\r\nContent-Length: 2000\r\n\r\n");
	tc_send_maybe(c, body, 2000);
	assert_int_equal(tc_read(c, &a, false), 0);
	assert_json_error(&a, 413, "too_large");
	tc_close(c);

	/* a client that sends its whole 10 MB body without waiting: the
	 * server goes on reading (and dropping) it for a while after the 413
	 * (lingering close), so the upload is not cut by a reset (which on a
	 * real network can destroy the 413 still in flight), and the client
	 * then reads the 413 */
	c = tc_open(r.port);
	tc_sends(c, "POST /small HTTP/1.1\r\nHost: t\r\nContent-Length: 10485760\r\n"
	    "\r\n");
	sleep_ms(50);                        /* the 413 is on its way */
	assert_int_equal(tc_send_maybe(c, body, big), big);
	assert_int_equal(tc_read(c, &a, false), 0);
	assert_json_error(&a, 413, "too_large");
	assert_true(tc_closed_within(c, 3000));
	tc_close(c);

	/* chunked over the limit: cut off by evhttp at the route's limit */
	c = tc_open(r.port);
	tc_sends(c, "POST /small HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
	    "\r\n7d0\r\n");
	tc_send_maybe(c, body, 2000);
	tc_send_maybe(c, "\r\n0\r\n\r\n", 7);
	assert_int_equal(tc_read(c, &a, false), 0);
	assert_int_equal(a.status, 413);
	tc_close(c);

	/* and a real client: curl sending 10 MB gets 413 quickly */
	write_file(tpath("10mb.bin"), body, big);
	cmd = malloc(8192);
	snprintf(cmd, 8192, "curl -s -o /dev/null -w '%%{http_code}' --max-time 20 "
	    "--data-binary @%s http://127.0.0.1:%d/small", tpath("10mb.bin"),
	    r.port);
	t0 = now_ms();
	out = run_cmd(cmd);
	assert_string_equal(out, "413");
	assert_true(now_ms() - t0 < 5000);
	free(out);
	/* the same 10 MB to the 16 MB route is taken (from a worker) */
	snprintf(cmd, 8192, "curl -s -o /dev/null -w '%%{http_code} %%{size_download}'"
	    " --max-time 60 --data-binary @%s http://127.0.0.1:%d/upload",
	    tpath("10mb.bin"), r.port);
	out = run_cmd(cmd);
	assert_string_equal(out, "200 10485760");
	free(out);
	free(cmd);
	free(body);
	stop(&r);
}

static void
workers_and_builtins(void **state)
{
	struct oc_http_config cfg;
	struct running r;
	struct resp a;
	struct tconn *c1, *c2, *c3;

	(void)state;
	base_config(&cfg);
	cfg.workers = 1;
	cfg.queue_max = 1;
	worker_inits = worker_frees = 0;
	start(&r, &cfg);

	get(r.port, "/block", &a);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.body, "{\"worker\":7}");   /* worker_init's context */

	get(r.port, "/healthz", &a);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.body, "{\"status\":\"ok\"}");
	assert_string_equal(hdr(&a, "Cache-Control"), "no-store");

	/* one worker, a queue of one: the third blocking request gets 503 */
	gate_set(false);
	c1 = tc_open(r.port);
	tc_sends(c1, "GET /block HTTP/1.1\r\nHost: t\r\n\r\n");
	gate_wait_started(1);
	c2 = tc_open(r.port);
	tc_sends(c2, "GET /block HTTP/1.1\r\nHost: t\r\n\r\n");
	sleep_ms(200);
	c3 = tc_open(r.port);
	tc_sends(c3, "GET /block HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(tc_read(c3, &a, false), 0);
	assert_json_error(&a, 503, "busy");
	gate_set(true);
	assert_int_equal(tc_read(c1, &a, false), 0);
	assert_int_equal(a.status, 200);
	assert_int_equal(tc_read(c2, &a, false), 0);
	assert_int_equal(a.status, 200);
	tc_close(c1);
	tc_close(c2);
	tc_close(c3);

	/* metrics: counters by route and status, gauges, the callback */
	get(r.port, "/hello", &a);
	get(r.port, "/metrics", &a);
	assert_int_equal(a.status, 200);
	assert_non_null(strstr(hdr(&a, "Content-Type"), "text/plain"));
	assert_non_null(strstr(a.body, "onecert_http_requests_total{service=\"t\","
	    "route=\"/hello\",method=\"GET\",status=\"200\"} 1\n"));
	assert_non_null(strstr(a.body, "onecert_http_requests_total{service=\"t\","
	    "route=\"/block\",method=\"GET\",status=\"200\"} 3\n"));
	assert_non_null(strstr(a.body, "route=\"/block\",method=\"GET\","
	    "status=\"503\"} 1\n"));
	assert_non_null(strstr(a.body, "route=\"/healthz\",method=\"GET\","
	    "status=\"200\"} 1\n"));
	assert_non_null(strstr(a.body, "onecert_http_requests_in_flight{service="
	    "\"t\"} 1\n"));                       /* this very request */
	assert_non_null(strstr(a.body, "onecert_http_connections{service=\"t\"}"));
	assert_non_null(strstr(a.body, "onecert_http_worker_queue_depth{service="
	    "\"t\"} 0\n"));
	assert_non_null(strstr(a.body, "onecert_http_rejected_busy_total{service="
	    "\"t\"} 1\n"));
	assert_non_null(strstr(a.body, "test_custom_metric 42\n"));
	stop(&r);
	assert_int_equal(worker_inits, 1);
	assert_int_equal(worker_frees, 1);
}

/* OC_HTTP_LOOP_FIRST: answered on the loop with the loop's own context,
 * or, after oc_http_req_defer, from the start again on a worker */
static void
h_loop_first(struct oc_http_req *req, void *arg)
{
	int *ctx = oc_http_req_worker(req);
	bool loop = oc_http_req_on_loop(req);
	char b[64];

	(void)arg;
	if (loop)
		oc_http_set_header(req, "X-Seen-On-Loop", "1");   /* dropped on defer */
	if (oc_http_req_query(req, "defer") != NULL && oc_http_req_defer(req))
		return;
	/* on a worker there is nowhere to defer to (the answer goes in the
	 * body: cmocka's asserts belong to the test's own thread) */
	if (!loop && oc_http_req_defer(req)) {
		oc_http_reply(req, 500, "text/plain", "deferred twice", 14);
		return;
	}
	snprintf(b, sizeof(b), "{\"loop\":%s,\"ctx\":%d}", loop ? "true" : "false",
	    ctx != NULL ? *ctx : -1);
	oc_http_reply(req, 200, "application/json", b, strlen(b));
}

static const struct oc_http_route lf_routes[] = {
	{ "GET", "/lf", h_loop_first, NULL, 0, OC_HTTP_BLOCKING | OC_HTTP_LOOP_FIRST },
	{ "GET", "/block", h_block, NULL, 0, OC_HTTP_BLOCKING },
};

static void
loop_first(void **state)
{
	struct oc_http_config cfg;
	struct oc_http_server *srv;
	struct running r;
	struct resp a;
	struct tconn *c;
	struct oc_err err;

	(void)state;
	base_config(&cfg);
	cfg.workers = 1;
	worker_inits = worker_frees = 0;
	memset(&r, 0, sizeof(r));
	srv = oc_http_server_new(&cfg, lf_routes, 2, &err);
	assert_non_null(srv);
	r.srv = srv;
	r.port = oc_http_server_port(srv, false);
	assert_int_equal(pthread_create(&r.th, NULL, run_main, &r), 0);

	get(r.port, "/lf", &a);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.body, "{\"loop\":true,\"ctx\":7}");
	assert_string_equal(hdr(&a, "X-Seen-On-Loop"), "1");
	get(r.port, "/lf?defer=1", &a);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.body, "{\"loop\":false,\"ctx\":7}");
	assert_null(hdr(&a, "X-Seen-On-Loop"));    /* set before deferring */
	/* pipelined on one connection: deferred, on the loop, deferred */
	c = tc_open(r.port);
	tc_sends(c, "GET /lf?defer=1 HTTP/1.1\r\nHost: t\r\n\r\n"
	    "GET /lf HTTP/1.1\r\nHost: t\r\n\r\n"
	    "GET /lf?defer=1 HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(tc_read(c, &a, false), 0);
	assert_string_equal(a.body, "{\"loop\":false,\"ctx\":7}");
	assert_int_equal(tc_read(c, &a, false), 0);
	assert_string_equal(a.body, "{\"loop\":true,\"ctx\":7}");
	assert_int_equal(tc_read(c, &a, false), 0);
	assert_string_equal(a.body, "{\"loop\":false,\"ctx\":7}");
	tc_close(c);
	stop(&r);
	/* one context per worker and one per event loop (cfg.threads = 2) */
	assert_int_equal(worker_inits, 3);
	assert_int_equal(worker_frees, 3);
}

static void
static_files(void **state)
{
	struct oc_http_config cfg;
	struct running r;
	struct resp a;
	char etag[128], raw[512];
	static const unsigned char png[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a,
	    '\n', 0, 1, 2, 3 };

	(void)state;
	mkdir(tpath("static"), 0755);
	mkdir(tpath("static/sub"), 0755);
	write_file(tpath("static/index.html"), "<h1>一证通</h1>",
	    strlen("<h1>一证通</h1>"));
	write_file(tpath("static/app.css"), "body{}", 6);
	write_file(tpath("static/logo.png"), png, sizeof(png));
	write_file(tpath("static/sub/data.json"), "{}", 2);
	write_file(tpath("static/sub/index.html"), "sub", 3);
	write_file(tpath("static/.secret"), "no", 2);
	write_file(tpath("outside.txt"), "SECRET", 6);
	unlink(tpath("static/escape"));
	assert_int_equal(symlink(tmpdir, tpath("static/escape")), 0);

	base_config(&cfg);
	cfg.static_dir = tpath("static");
	start(&r, &cfg);

	get(r.port, "/", &a);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.body, "<h1>一证通</h1>");
	assert_string_equal(hdr(&a, "Content-Type"), "text/html; charset=utf-8");
	assert_string_equal(hdr(&a, "Cache-Control"), "no-cache");
	assert_security_headers(&a);
	get(r.port, "/app.css", &a);
	assert_string_equal(hdr(&a, "Content-Type"), "text/css; charset=utf-8");
	assert_string_equal(hdr(&a, "Cache-Control"), "public, max-age=3600");
	snprintf(etag, sizeof(etag), "%s", hdr(&a, "ETag"));
	get(r.port, "/logo.png", &a);
	assert_string_equal(hdr(&a, "Content-Type"), "image/png");
	assert_int_equal(a.blen, sizeof(png));
	assert_memory_equal(a.body, png, sizeof(png));
	get(r.port, "/sub/data.json", &a);
	assert_string_equal(hdr(&a, "Content-Type"),
	    "application/json; charset=utf-8");
	get(r.port, "/sub/", &a);
	assert_string_equal(a.body, "sub");
	get(r.port, "/sub", &a);
	assert_int_equal(a.status, 301);
	assert_string_equal(hdr(&a, "Location"), "/sub/");
	request(r.port, "HEAD /app.css HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
	    "\r\n", &a);
	assert_int_equal(a.status, 200);
	assert_string_equal(hdr(&a, "Content-Length"), "6");
	assert_int_equal(a.blen, 0);
	snprintf(raw, sizeof(raw), "GET /app.css HTTP/1.1\r\nHost: t\r\n"
	    "If-None-Match: %s\r\nConnection: close\r\n\r\n", etag);
	request(r.port, raw, &a);
	assert_int_equal(a.status, 304);
	assert_int_equal(a.blen, 0);
	request(r.port, "POST /app.css HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n"
	    "Connection: close\r\n\r\n", &a);
	assert_json_error(&a, 405, "method_not_allowed");

	/* traversal and hidden files: refused like missing files */
	get(r.port, "/../outside.txt", &a);
	assert_json_error(&a, 404, "not_found");
	get(r.port, "/%2e%2e/outside.txt", &a);
	assert_json_error(&a, 404, "not_found");
	get(r.port, "/sub/..%2f..%2foutside.txt", &a);
	assert_json_error(&a, 404, "not_found");
	get(r.port, "/escape/outside.txt", &a);         /* symlink out */
	assert_json_error(&a, 404, "not_found");
	assert_null(strstr(a.body, "SECRET"));
	get(r.port, "/.secret", &a);
	assert_json_error(&a, 404, "not_found");
	get(r.port, "/missing.js", &a);
	assert_json_error(&a, 404, "not_found");
	stop(&r);
}

static void
slow_loris(void **state)
{
	struct oc_http_config cfg;
	struct running r;
	struct tconn *c, *idle;
	static const char rest[] = "lo HTTP/1.1\r\nHost: t\r\nX-A: b\r\n\r\n";
	double t0;
	bool closed = false;

	(void)state;
	base_config(&cfg);
	cfg.timeout_s = 1;
	start(&r, &cfg);

	/* half a request line, then one byte every 150 ms: never a whole
	 * head; dropped about timeout_s after the request began */
	c = tc_open(r.port);
	idle = tc_open(r.port);
	t0 = now_ms();
	tc_sends(c, "GET /hel");
	for (size_t i = 0; i < sizeof(rest) - 1 && now_ms() - t0 < 4000; i++) {
		struct pollfd p = { c->fd, POLLIN, 0 };

		if (poll(&p, 1, 150) > 0) {
			char b[512];
			ssize_t n = recv(c->fd, b, sizeof(b), 0);

			if (n <= 0) {
				closed = true;
				break;
			}
		}
		if (send(c->fd, rest + i, 1, MSG_NOSIGNAL) != 1) {
			closed = true;
			break;
		}
	}
	if (!closed)
		closed = tc_closed_within(c, 500);
	assert_true(closed);
	assert_true(now_ms() - t0 >= 900);
	assert_true(now_ms() - t0 < 3000);
	/* an idle keep-alive connection goes after timeout_s as well */
	assert_true(tc_closed_within(idle, 1500));
	tc_close(c);
	tc_close(idle);
	stop(&r);
}

static void
graceful_stop(void **state)
{
	struct oc_http_config cfg;
	struct running r;
	struct tconn *c;
	struct resp a;
	double t0;

	(void)state;
	base_config(&cfg);
	start(&r, &cfg);
	gate_set(false);
	c = tc_open(r.port);
	tc_sends(c, "GET /block HTTP/1.1\r\nHost: t\r\n\r\n");
	gate_wait_started(1);

	oc_http_server_stop(r.srv);
	/* listeners close at once */
	t0 = now_ms();
	while (now_ms() - t0 < 2000) {
		int fd = tcp_connect(r.port);

		if (fd < 0)
			break;
		close(fd);
		sleep_ms(20);
	}
	assert_true(tcp_connect(r.port) < 0);
	/* the request in flight on a worker still gets its reply */
	sleep_ms(100);
	gate_set(true);
	assert_int_equal(tc_read(c, &a, false), 0);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.body, "{\"worker\":7}");
	assert_string_equal(hdr(&a, "Connection"), "close");
	pthread_join(r.th, NULL);
	assert_int_equal(r.rc, 0);
	oc_http_server_free(r.srv);
	tc_close(c);
}

static void
sigterm_stops(void **state)
{
	struct oc_http_config cfg;
	struct running r;
	struct resp a;

	(void)state;
	base_config(&cfg);
	start(&r, &cfg);
	get(r.port, "/hello", &a);          /* running: signals are handled */
	assert_int_equal(kill(getpid(), SIGTERM), 0);
	pthread_join(r.th, NULL);
	assert_int_equal(r.rc, 0);
	oc_http_server_free(r.srv);
}

static void
busy_port_and_max_connections(void **state)
{
	struct oc_http_config cfg;
	struct running r;
	struct oc_err err;
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	char listen_s[64];
	int fd, one = 1;
	struct tconn *c1, *c2, *c3;
	struct resp rs;

	(void)state;
	/* someone else holds the port */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 4), 0);
	getsockname(fd, (struct sockaddr *)&a, &al);
	snprintf(listen_s, sizeof(listen_s), "127.0.0.1:%d", ntohs(a.sin_port));
	base_config(&cfg);
	cfg.listen = listen_s;
	oc_err_clear(&err);
	assert_null(oc_http_server_new(&cfg, routes, N_ROUTES, &err));
	assert_non_null(strstr(err.msg, "already in use"));
	assert_non_null(strstr(err.msg, listen_s));
	close(fd);

	/* another onecert (SO_REUSEPORT too) holds it: still refused */
	base_config(&cfg);
	cfg.threads = 1;
	cfg.max_connections = 2;
	start(&r, &cfg);
	snprintf(listen_s, sizeof(listen_s), "127.0.0.1:%d", r.port);
	base_config(&cfg);
	cfg.listen = listen_s;
	assert_null(oc_http_server_new(&cfg, routes, N_ROUTES, &err));
	assert_non_null(strstr(err.msg, "already in use"));

	/* two connections at most: the third waits until one closes */
	c1 = tc_open(r.port);
	c2 = tc_open(r.port);
	tc_sends(c1, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(tc_read(c1, &rs, false), 0);
	tc_sends(c2, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(tc_read(c2, &rs, false), 0);
	c3 = tc_open(r.port);               /* the kernel's backlog takes it */
	tc_sends(c3, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	{
		struct pollfd p = { c3->fd, POLLIN, 0 };

		assert_int_equal(poll(&p, 1, 400), 0);   /* not served yet */
	}
	tc_close(c1);
	assert_int_equal(tc_read(c3, &rs, false), 0);
	assert_int_equal(rs.status, 200);
	tc_close(c2);
	tc_close(c3);
	stop(&r);
}

/* ---- TLS and client certificates ------------------------------------------- */

static EVP_PKEY *ca_key, *srv_key, *cli_key;
static X509 *ca_cert, *srv_cert, *cli_cert;

static void
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(e);
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

static X509 *
make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *ikey,
    bool ca, const char *san, const char *eku)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	static long serial = 1;

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_NAME_add_entry_by_txt(n, "C", MBSTRING_UTF8,
	    (const unsigned char *)"CN", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8,
	    (const unsigned char *)"onecert 测试", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
	X509_NAME_free(n);
	X509_set_pubkey(x, key);
	add_ext(x, issuer ? issuer : x, NID_basic_constraints,
	    ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	add_ext(x, issuer ? issuer : x, NID_key_usage, ca ?
	    "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
	add_ext(x, issuer ? issuer : x, NID_subject_key_identifier, "hash");
	if (issuer != NULL)
		add_ext(x, issuer, NID_authority_key_identifier, "keyid");
	if (san != NULL)
		add_ext(x, issuer, NID_subject_alt_name, san);
	if (eku != NULL)
		add_ext(x, issuer, NID_ext_key_usage, eku);
	assert_true(X509_sign(x, ikey ? ikey : key, EVP_sha256()) > 0);
	return x;
}

static void
write_pem(const char *name, X509 *x, EVP_PKEY *k)
{
	FILE *f = fopen(tpath(name), "w");

	assert_non_null(f);
	if (x != NULL)
		PEM_write_X509(f, x);
	if (k != NULL)
		PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);
}

static void
make_pki(void)
{
	if (ca_cert != NULL)
		return;
	ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	srv_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	cli_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(ca_key);
	ca_cert = make_cert(ca_key, "onecert 测试 CA", NULL, NULL, true, NULL, NULL);
	srv_cert = make_cert(srv_key, "127.0.0.1", ca_cert, ca_key, false,
	    "IP:127.0.0.1", "serverAuth");
	cli_cert = make_cert(cli_key, "上海一证通测试有限公司", ca_cert, ca_key,
	    false, NULL, "clientAuth");
	write_pem("ca.pem", ca_cert, NULL);
	write_pem("server.pem", srv_cert, NULL);
	write_pem("server.key", NULL, srv_key);
	write_pem("client.pem", cli_cert, NULL);
	write_pem("client.key", NULL, cli_key);
}

/* The test PKI made, a server with a TLS listener too (server.pem). */
static void
start_tls(struct running *r)
{
	struct oc_http_config cfg;

	make_pki();
	base_config(&cfg);
	cfg.tls_listen = "127.0.0.1:0";
	cfg.tls_cert = tpath("server.pem");
	cfg.tls_key = tpath("server.key");
	start(r, &cfg);
}

static void
tls_client_certs(void **state)
{
	struct running r;
	struct resp a;
	char cmd[8192], *out;

	(void)state;
	start_tls(&r);
	assert_true(r.tls_port > 0 && r.tls_port != r.port);

	/* with a client certificate: the handler sees its subject; curl
	 * (OpenSSL) completes the chain from --cacert, so the rest of the
	 * chain is the CA, never the leaf again */
	snprintf(cmd, sizeof(cmd), "curl -sS --max-time 10 --cacert %s --cert %s "
	    "--key %s https://127.0.0.1:%d/whoami https://127.0.0.1:%d/secure",
	    tpath("ca.pem"), tpath("client.pem"), tpath("client.key"),
	    r.tls_port, r.tls_port);
	out = run_cmd(cmd);
	if (strstr(out, "tls=1 chain=1 subject=/C=CN/O=onecert") == NULL ||
	    strstr(out, "chain0=/C=CN/O=onecert \\xE6\\xB5\\x8B\\xE8\\xAF\\x95/CN="
	    "onecert \\xE6\\xB5\\x8B\\xE8\\xAF\\x95 CA") == NULL)
		fail_msg("curl said: %s", out);
	assert_non_null(strstr(out, "/CN=\\xE4\\xB8\\x8A\\xE6\\xB5\\xB7"));
	assert_non_null(strstr(out, "hello"));          /* TLS-only route */
	free(out);

	/* a body over the route's limit, over TLS: 413, and the socket
	 * taken from the OpenSSL bufferevent for the lingering close; the
	 * loop goes on serving */
	{
		size_t big = 2u * 1024 * 1024;
		char *body = calloc(1, big);

		assert_non_null(body);
		write_file(tpath("2mb.bin"), body, big);
		free(body);
	}
	snprintf(cmd, sizeof(cmd), "curl -s -o /dev/null -w '%%{http_code}' "
	    "--max-time 20 --cacert %s --data-binary @%s "
	    "https://127.0.0.1:%d/small", tpath("ca.pem"), tpath("2mb.bin"),
	    r.tls_port);
	out = run_cmd(cmd);
	assert_string_equal(out, "413");
	free(out);
	snprintf(cmd, sizeof(cmd), "curl -sS --max-time 10 --cacert %s "
	    "https://127.0.0.1:%d/hello https://127.0.0.1:%d/hello",
	    tpath("ca.pem"), r.tls_port, r.tls_port);
	out = run_cmd(cmd);
	assert_string_equal(out, "hellohello");
	free(out);

	/* without one: the handshake still succeeds (requested, not
	 * required) and the handler sees none */
	snprintf(cmd, sizeof(cmd), "curl -sS --max-time 10 --cacert %s "
	    "https://127.0.0.1:%d/whoami", tpath("ca.pem"), r.tls_port);
	out = run_cmd(cmd);
	assert_string_equal(out, "tls=1 chain=0 subject=none");
	free(out);

	/* TLS 1.1 is refused */
	snprintf(cmd, sizeof(cmd), "curl -s -o /dev/null -w '%%{http_code}' "
	    "--max-time 10 --cacert %s --tlsv1.1 --tls-max 1.1 "
	    "https://127.0.0.1:%d/hello", tpath("ca.pem"), r.tls_port);
	out = run_cmd(cmd);
	assert_string_equal(out, "000");
	free(out);

	/* the plain listener still works next to it */
	get(r.port, "/whoami", &a);
	assert_string_equal(a.body, "tls=0 chain=0 subject=none");
	stop(&r);
}

/* Writes der as a PEM certificate file and returns its SHA-256. */
static void
write_der_pem(const char *name, const unsigned char *der, long n, char hex[65])
{
	FILE *f = fopen(tpath(name), "w");

	assert_non_null(f);
	assert_true(PEM_write(f, "CERTIFICATE", "", der, n) > 0);
	fclose(f);
	sha256_hex(der, (size_t)n, hex);
}

/* Fetches /certkey with curl (opts, if not empty, ends in a space),
 * presenting cert and key from the test directory, and checks the answer
 * is "key=<alg> match=1 der=<hex>". */
static void
check_certkey(int port, const char *opts, const char *cert, const char *key,
    const char *alg, const char *hex)
{
	char cmd[4096], want[256], *out;

	snprintf(cmd, sizeof(cmd), "curl -sS --max-time 10 %s--cacert %s "
	    "--cert %s --key %s https://127.0.0.1:%d/certkey", opts,
	    tpath("ca.pem"), tpath(cert), tpath(key), port);
	out = run_cmd(cmd);
	snprintf(want, sizeof(want), "key=%s match=1 der=%s", alg, hex);
	assert_string_equal(out, want);
	free(out);
}

/* A client certificate for key (common name cn) from the test CA, written
 * with key as name.pem and name.key and presented to /certkey, which must
 * see key type alg. */
static void
check_certkey_new(int port, EVP_PKEY *key, const char *cn, const char *name,
    const char *alg)
{
	char cert[64], kfile[64], hex[65];
	unsigned char *der = NULL;
	X509 *x;
	int n;

	assert_non_null(key);
	x = make_cert(key, cn, ca_cert, ca_key, false, NULL, "clientAuth");
	snprintf(cert, sizeof(cert), "%s.pem", name);
	snprintf(kfile, sizeof(kfile), "%s.key", name);
	write_pem(kfile, NULL, key);
	n = i2d_X509(x, &der);
	write_der_pem(cert, der, n, hex);
	OPENSSL_free(der);
	check_certkey(port, "", cert, kfile, alg, hex);
	X509_free(x);
}

/* The TLS listener parses client certificates without decoding their
 * keys and gives the leaf its key itself (src/http/server.c): a P-256 key
 * in place, anything else by a second parse.  Either way the handler gets
 * the certificate as the client sent it, byte for byte, with its own key
 * (the one OpenSSL checked the CertificateVerify with), also when the
 * certificate is not DER (an explicit default, critical FALSE, that
 * OpenSSL reads but would not write). */
static void
tls_client_cert_keys(void **state)
{
	struct running r;
	EVP_PKEY *key;
	unsigned char *der = NULL, *p;
	char hex[65];
	int n;

	(void)state;
	start_tls(&r);

	/* P-256, DER: the key put in place */
	n = i2d_X509(cli_cert, &der);
	assert_true(n > 0);
	write_der_pem("p256.pem", der, n, hex);
	check_certkey(r.tls_port, "", "p256.pem", "client.key", "EC", hex);

	/* … and over TLS 1.2 (its own CertificateVerify and PRF) */
	check_certkey(r.tls_port, "--tlsv1.2 --tls-max 1.2 ", "p256.pem",
	    "client.key", "EC", hex);

	/* P-256, not DER: basicConstraints' critical TRUE made an explicit
	 * FALSE */
	p = NULL;
	for (int i = 0; i + 8 <= n; i++)
		if (memcmp(der + i, "\x06\x03\x55\x1d\x13\x01\x01\xff", 8) == 0) {
			p = der + i + 7;
			break;
		}
	assert_non_null(p);
	*p = 0x00;
	write_der_pem("ber.pem", der, n, hex);
	OPENSSL_free(der);
	check_certkey(r.tls_port, "", "ber.pem", "client.key", "EC", hex);

	/* RSA: parsed again, the general way */
	key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	check_certkey_new(r.tls_port, key, "RSA 客户", "rsa", "RSA");
	EVP_PKEY_free(key);

	/* Ed25519: the general road too */
	key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	check_certkey_new(r.tls_port, key, "Ed25519 客户", "ed", "ED25519");
	EVP_PKEY_free(key);

	stop(&r);
}

static char *
client_cert_header(X509 *x)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	char *b64 = malloc((size_t)n * 2 + 8);

	assert_true(n > 0);
	b64[0] = ':';
	n = EVP_EncodeBlock((unsigned char *)b64 + 1, der, n);
	b64[n + 1] = ':';
	b64[n + 2] = '\0';
	OPENSSL_free(der);
	return b64;
}

static void
client_cert_header_from_proxy(void **state)
{
	static const char *const proxies[] = { "10.0.0.0/8", "127.0.0.1" };
	struct oc_http_config cfg;
	struct running r;
	struct resp a;
	char *h1 = NULL, *h2 = NULL, *raw = malloc(16384);

	(void)state;
	make_pki();
	h1 = client_cert_header(cli_cert);
	h2 = client_cert_header(ca_cert);

	/* from a configured proxy: honoured, chain too */
	base_config(&cfg);
	cfg.proxies = proxies;
	cfg.n_proxies = 2;
	start(&r, &cfg);
	snprintf(raw, 16384, "GET /whoami HTTP/1.1\r\nHost: t\r\nClient-Cert: %s\r\n"
	    "Client-Cert-Chain: %s\r\nConnection: close\r\n\r\n", h1, h2);
	request(r.port, raw, &a);
	assert_int_equal(a.status, 200);
	assert_non_null(strstr(a.body, "tls=0 chain=1 subject=/C=CN/O=onecert"));
	assert_non_null(strstr(a.body, " CA"));          /* chain0: the CA */
	/* malformed from a trusted proxy: 400 */
	request(r.port, "GET /whoami HTTP/1.1\r\nHost: t\r\nClient-Cert: :bm90IGEg"
	    "Y2VydA==:\r\nConnection: close\r\n\r\n", &a);
	assert_json_error(&a, 400, "bad_client_cert");
	request(r.port, "GET /whoami HTTP/1.1\r\nHost: t\r\nClient-Cert: MIIB\r\n"
	    "Connection: close\r\n\r\n", &a);
	assert_int_equal(a.status, 400);
	stop(&r);

	/* no proxies configured: the same header is ignored */
	base_config(&cfg);
	start(&r, &cfg);
	snprintf(raw, 16384, "GET /whoami HTTP/1.1\r\nHost: t\r\nClient-Cert: %s\r\n"
	    "Connection: close\r\n\r\n", h1);
	request(r.port, raw, &a);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.body, "tls=0 chain=0 subject=none");
	stop(&r);

	/* a bad proxy entry is a configuration error */
	{
		static const char *const bad[] = { "not-an-ip" };
		struct oc_err err;

		base_config(&cfg);
		cfg.proxies = bad;
		cfg.n_proxies = 1;
		assert_null(oc_http_server_new(&cfg, routes, N_ROUTES, &err));
		assert_int_equal(err.code, OC_ECONFIG);
	}
	free(h1);
	free(h2);
	free(raw);
}

static int
setup(void **state)
{
	const char *base = getenv("ONECERT_TEST_TMP");

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/http-XXXXXX", base ? base : "/tmp");
	if (base != NULL)
		mkdir(base, 0755);
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	if (getenv("ONECERT_TEST_VERBOSE") == NULL)
		oc_log_set_level(OC_LOG_ERROR);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[4200];

	(void)state;
	X509_free(ca_cert);
	X509_free(srv_cert);
	X509_free(cli_cert);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(srv_key);
	EVP_PKEY_free(cli_key);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(keepalive_and_pipelining),
		cmocka_unit_test(http10_and_access_log),
		cmocka_unit_test(errors_are_json),
		cmocka_unit_test(body_limits),
		cmocka_unit_test(workers_and_builtins),
		cmocka_unit_test(loop_first),
		cmocka_unit_test(static_files),
		cmocka_unit_test(slow_loris),
		cmocka_unit_test(graceful_stop),
		cmocka_unit_test(sigterm_stops),
		cmocka_unit_test(busy_port_and_max_connections),
		cmocka_unit_test(tls_client_certs),
		cmocka_unit_test(tls_client_cert_keys),
		cmocka_unit_test(client_cert_header_from_proxy),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
