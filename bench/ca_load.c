/*
 * ca_load.c — the load generator of bench/ca_service.sh: C client threads,
 * each with one keep-alive HTTP/1.1 connection (plain or TLS, optionally
 * presenting a client certificate), sending request after request and
 * checking every answer.  The same program drives both sides of a
 * comparison, so the client's cost is the same for both.
 *
 *   ca_load -p PORT -c CONC -m METHOD (-u PATH | -U PATHSFILE)
 *           [-b BODYFILE] [-T CONTENT-TYPE] [-n COUNT | -d SECONDS]
 *           [-s STATUS] [-g SUBSTRING] [-o FIRSTBODYFILE]
 *           [--tls CAFILE [--cert CERT --key KEY]]
 *
 * Request i (0, 1, …, shared by all threads) goes to line i of PATHSFILE
 * (cycling when -d is used), or to PATH.  -n stops after COUNT requests
 * (default: the number of lines in PATHSFILE), -d after SECONDS.  An answer
 * counts when its status is STATUS (default 200) and, with -g, its body
 * contains SUBSTRING.  A connection the server closes is opened again
 * (counted in "reconnects").  Prints one line:
 *
 *   result ok=N fail=N seconds=S rate=R p50_ms=X p99_ms=Y reconnects=N
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

static int port, conc = 1, want_status = 200;
static const char *method = "GET", *ctype, *grep_s, *first_out;
static char *body;
static size_t body_len;
static char **paths;
static size_t npaths;
static long count = -1;
static double seconds, t_end;
static SSL_CTX *ctx;
static atomic_long next_i, n_ok, n_fail, n_reconnect;
static atomic_int first_saved;

struct lat {
	unsigned *v;
	size_t n, cap;
};

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void
die(const char *m)
{
	fprintf(stderr, "ca_load: %s\n", m);
	exit(2);
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || (p = malloc((size_t)n + 1)) == NULL ||
	    fread(p, 1, (size_t)n, f) != (size_t)n)
		die("cannot read a file");
	fclose(f);
	p[n] = '\0';
	*len = (size_t)n;
	return p;
}

/* ---- one connection ---- */

struct conn {
	int fd;
	SSL *ssl;
	char buf[65536];
	size_t off, len;     /* unread bytes are buf[off, len) */
};

static void
conn_close(struct conn *c)
{
	if (c->ssl != NULL) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->off = c->len = 0;
}

static int
conn_open(struct conn *c)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int one = 1;

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	c->off = c->len = 0;
	if ((c->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		conn_close(c);
		return -1;
	}
	if (ctx != NULL) {
		c->ssl = SSL_new(ctx);
		SSL_set_fd(c->ssl, c->fd);
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), "127.0.0.1");
		if (SSL_connect(c->ssl) != 1) {
			ERR_print_errors_fp(stderr);
			conn_close(c);
			return -1;
		}
	}
	return 0;
}

static int
conn_write(struct conn *c, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = c->ssl ? SSL_write(c->ssl, p, (int)n) : write(c->fd, p, n);
		if (w <= 0) {
			if (w < 0 && c->ssl == NULL && errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* more bytes into the buffer; 0 on EOF or error */
static int
fill(struct conn *c)
{
	ssize_t r;

	if (c->off > 0) {
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	if (c->len == sizeof(c->buf))
		return 0;
	r = c->ssl ? SSL_read(c->ssl, c->buf + c->len, (int)(sizeof(c->buf) - c->len))
	    : read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	if (r <= 0)
		return 0;
	c->len += (size_t)r;
	return 1;
}

static char *
find(const char *h, size_t n, const char *needle)
{
	size_t k = strlen(needle);

	for (size_t i = 0; i + k <= n; i++)
		if (memcmp(h + i, needle, k) == 0)
			return (char *)h + i;
	return NULL;
}

/* One request/response.  Returns 1 ok, 0 a wrong answer (connection still
 * usable unless *closed), -1 transport failure.  *closed: the server said
 * it would close. */
static int
exchange(struct conn *c, const char *req, size_t reqlen, int *closed)
{
	char *hend, *p, *out = NULL;
	size_t hlen, outlen = 0, outcap = 0;
	long clen = -1;
	int status, chunked = 0, ok;

	*closed = 0;
	if (conn_write(c, req, reqlen) != 0)
		return -1;
	while ((hend = find(c->buf + c->off, c->len - c->off, "\r\n\r\n")) == NULL)
		if (!fill(c))
			return -1;
	hlen = (size_t)(hend - (c->buf + c->off)) + 4;
	if (sscanf(c->buf + c->off, "HTTP/1.%*d %d", &status) != 1)
		return -1;
	/* headers, case-insensitively */
	for (p = c->buf + c->off; p < hend; ) {
		char *eol = find(p, (size_t)(hend - p) + 2, "\r\n");
		if (eol == NULL)
			break;
		if (strncasecmp(p, "Content-Length:", 15) == 0)
			clen = strtol(p + 15, NULL, 10);
		else if (strncasecmp(p, "Transfer-Encoding:", 18) == 0 &&
		    find(p, (size_t)(eol - p), "chunked") != NULL)
			chunked = 1;
		else if (strncasecmp(p, "Connection:", 11) == 0 &&
		    (find(p, (size_t)(eol - p), "close") != NULL ||
		     find(p, (size_t)(eol - p), "Close") != NULL))
			*closed = 1;
		p = eol + 2;
	}
	c->off += hlen;
	/* the body, kept whole (answers here are a few KiB) */
	for (;;) {
		size_t take;

		if (chunked) {
			char *eol;
			long sz;

			while ((eol = find(c->buf + c->off, c->len - c->off, "\r\n")) == NULL)
				if (!fill(c))
					goto broken;
			sz = strtol(c->buf + c->off, NULL, 16);
			c->off = (size_t)(eol - c->buf) + 2;
			if (sz == 0) {   /* last chunk, then an empty trailer line */
				while (find(c->buf + c->off, c->len - c->off, "\r\n") == NULL)
					if (!fill(c))
						goto broken;
				c->off += 2;
				break;
			}
			clen = sz;
		} else if (clen < 0) {
			goto broken;     /* answers here always have a length */
		}
		if (outlen + (size_t)clen + 1 > outcap) {
			outcap = outlen + (size_t)clen + 1;
			if ((out = realloc(out, outcap)) == NULL)
				die("out of memory");
		}
		while ((size_t)clen > 0) {
			if (c->off == c->len && !fill(c))
				goto broken;
			take = c->len - c->off < (size_t)clen ? c->len - c->off : (size_t)clen;
			memcpy(out + outlen, c->buf + c->off, take);
			outlen += take;
			c->off += take;
			clen -= (long)take;
		}
		if (!chunked)
			break;
		while (c->len - c->off < 2)   /* the CRLF after a chunk */
			if (!fill(c))
				goto broken;
		c->off += 2;
	}
	if (out == NULL && (out = malloc(1)) == NULL)
		die("out of memory");
	out[outlen] = '\0';
	ok = status == want_status && (grep_s == NULL || find(out, outlen, grep_s) != NULL);
	if (ok && first_out != NULL && atomic_exchange(&first_saved, 1) == 0) {
		FILE *f = fopen(first_out, "wb");
		if (f != NULL) {
			fwrite(out, 1, outlen, f);
			fclose(f);
		}
	}
	if (!ok && atomic_load(&n_fail) < 3)
		fprintf(stderr, "ca_load: status %d: %.300s\n", status, out);
	free(out);
	return ok;
broken:
	free(out);
	return -1;
}

static void *
worker(void *arg)
{
	struct lat *l = arg;
	struct conn c = { .fd = -1 };
	char *req = malloc(body_len + 4096);
	int closed = 0;

	if (req == NULL)
		die("out of memory");
	for (;;) {
		long i = atomic_fetch_add(&next_i, 1);
		const char *path;
		size_t n;
		double t0;
		int r;

		if (count >= 0 && i >= count)
			break;
		if (seconds > 0 && now() >= t_end)
			break;
		path = paths[npaths ? (size_t)i % npaths : 0];
		n = (size_t)snprintf(req, 4096, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
		    "%s%s%sContent-Length: %zu\r\n\r\n", method, path, port,
		    ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "",
		    body_len);
		if (body_len > 0) {
			memcpy(req + n, body, body_len);
			n += body_len;
		}
		t0 = now();
		for (int attempt = 0; ; attempt++) {
			if (c.fd < 0) {
				if (conn_open(&c) != 0) {
					r = -1;
					break;
				}
			}
			r = exchange(&c, req, n, &closed);
			if (r < 0 || closed) {
				conn_close(&c);
				if (r >= 0 || attempt > 0 || count >= 0)
					break;
				/* a keep-alive connection the server had closed
				 * before this request: open again, once (never for
				 * -n runs, where a request may not be sent twice) */
				atomic_fetch_add(&n_reconnect, 1);
				continue;
			}
			break;
		}
		if (r == 1) {
			unsigned us = (unsigned)((now() - t0) * 1e6);

			atomic_fetch_add(&n_ok, 1);
			if (l->n == l->cap) {
				l->cap = l->cap ? 2 * l->cap : 4096;
				if ((l->v = realloc(l->v, l->cap * sizeof(*l->v))) == NULL)
					die("out of memory");
			}
			l->v[l->n++] = us;
		} else {
			atomic_fetch_add(&n_fail, 1);
			if (r < 0)
				usleep(1000);
		}
	}
	conn_close(&c);
	free(req);
	return NULL;
}

static int
cmp(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	const char *path = NULL, *pathsfile = NULL, *bodyfile = NULL;
	const char *cafile = NULL, *cert = NULL, *key = NULL;
	pthread_t *th;
	struct lat *lats, all = { 0 };
	double t0, el;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (v == NULL)
			die("an option lacks its value");
		i++;
		if (strcmp(a, "-p") == 0) port = atoi(v);
		else if (strcmp(a, "-c") == 0) conc = atoi(v);
		else if (strcmp(a, "-m") == 0) method = v;
		else if (strcmp(a, "-u") == 0) path = v;
		else if (strcmp(a, "-U") == 0) pathsfile = v;
		else if (strcmp(a, "-b") == 0) bodyfile = v;
		else if (strcmp(a, "-T") == 0) ctype = v;
		else if (strcmp(a, "-n") == 0) count = atol(v);
		else if (strcmp(a, "-d") == 0) seconds = atof(v);
		else if (strcmp(a, "-s") == 0) want_status = atoi(v);
		else if (strcmp(a, "-g") == 0) grep_s = v;
		else if (strcmp(a, "-o") == 0) first_out = v;
		else if (strcmp(a, "--tls") == 0) cafile = v;
		else if (strcmp(a, "--cert") == 0) cert = v;
		else if (strcmp(a, "--key") == 0) key = v;
		else die("unknown option (see the head of bench/ca_load.c)");
	}
	if (port <= 0 || conc < 1 || conc > 1024 || (path == NULL) == (pathsfile == NULL))
		die("usage: see the head of bench/ca_load.c");
	if (bodyfile != NULL)
		body = slurp(bodyfile, &body_len);
	if (pathsfile != NULL) {
		size_t len, cap = 0;
		char *all_p = slurp(pathsfile, &len), *save = NULL;

		for (char *t = strtok_r(all_p, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
			if (npaths == cap && (paths = realloc(paths, (cap = cap ? 2 * cap : 1024) *
			    sizeof(*paths))) == NULL)
				die("out of memory");
			paths[npaths++] = t;
		}
		if (npaths == 0)
			die("no paths");
		if (count < 0 && seconds <= 0)
			count = (long)npaths;
	} else {
		paths = (char **)&path;
		npaths = 1;
	}
	if (count < 0 && seconds <= 0)
		die("-n or -d is needed");
	if (cafile != NULL) {
		if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
		    SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1 ||
		    (cert != NULL && (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
		     SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1))) {
			ERR_print_errors_fp(stderr);
			die("TLS set-up failed");
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	}
	th = calloc((size_t)conc, sizeof(*th));
	lats = calloc((size_t)conc, sizeof(*lats));
	if (th == NULL || lats == NULL)
		die("out of memory");
	t0 = now();
	t_end = t0 + seconds;
	for (int i = 0; i < conc; i++)
		if (pthread_create(&th[i], NULL, worker, &lats[i]) != 0)
			die("pthread_create");
	for (int i = 0; i < conc; i++)
		pthread_join(th[i], NULL);
	el = now() - t0;
	for (int i = 0; i < conc; i++) {
		if ((all.v = realloc(all.v, (all.n + lats[i].n + 1) * sizeof(*all.v))) == NULL)
			die("out of memory");
		memcpy(all.v + all.n, lats[i].v, lats[i].n * sizeof(*all.v));
		all.n += lats[i].n;
	}
	qsort(all.v, all.n, sizeof(*all.v), cmp);
	printf("result ok=%ld fail=%ld seconds=%.3f rate=%.1f p50_ms=%.2f p99_ms=%.2f reconnects=%ld\n",
	    atomic_load(&n_ok), atomic_load(&n_fail), el, atomic_load(&n_ok) / el,
	    all.n ? all.v[all.n / 2] / 1000.0 : 0, all.n ? all.v[(all.n * 99) / 100] / 1000.0 : 0,
	    atomic_load(&n_reconnect));
	return 0;
}
