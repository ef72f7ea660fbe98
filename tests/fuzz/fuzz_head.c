/*
 * fuzz_head.c — the look every request head gets before evhttp parses it
 * (oc__head_look, src/http/conn.c): where the head ends, the request line,
 * the framing headers (Content-Length, Transfer-Encoding, Connection) and
 * the route's body limit, against a table of routes like the CA's and the
 * hall's.
 *
 * The input is what a client sends on a fresh connection.  It is looked at
 * all at once, then as it would arrive one byte at a time and in 7-byte
 * pieces (the search for the head's end resumes where it stopped,
 * c->scanned): all three must decide alike.  Besides "no crash":
 *   - "incomplete" only while no empty line ends a head and less than
 *     OC__HTTP_MAX_HEAD bytes were sent; a head over that is a 431;
 *   - a refusal has one of the statuses conn.c answers and a message;
 *   - an accepted head ends exactly at its first empty line, holds no
 *     NUL, and a separate reader here agrees with the verdict: request line
 *     "METHOD SP target SP HTTP/1.x" with a known method and a target
 *     without controls or spaces; no folded lines, every header line a
 *     token name and a colon; all Content-Lengths the same digits, within
 *     the limit; at most one Transfer-Encoding, "chunked", never with a
 *     Content-Length; a body only for POST, PUT and PATCH (else evhttp
 *     would take it for the next request); a body method with neither
 *     length nor chunks only when evhttp will not refuse it itself (its
 *     first Connection header absent or, after spaces, "close"); the
 *     limit one of the
 *     routes'.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "http/http_int.h"
#include "fuzz.h"

static void
nop(struct oc_http_req *req, void *arg)
{
	(void)req;
	(void)arg;
}

static struct oc_http_route routes[] = {
	{ "POST", "/api/v1/login", nop, NULL, 64 * 1024, 0, NULL },
	{ "POST", "/api/v1/enroll", nop, NULL, 256 * 1024, OC_HTTP_BLOCKING,
	  "证书请求过大" },
	{ "GET", "/api/v1/certs", nop, NULL, 0, 0, NULL },
	{ "PUT", "/api/v1/apps/", nop, NULL, 10 * 1024 * 1024,
	  OC_HTTP_PREFIX, "扫描件过大" },
	{ NULL, "/api/v1/matters/", nop, NULL, 1024, OC_HTTP_PREFIX, NULL },
	{ "POST", "/ocsp", nop, NULL, 65536, 0, NULL },
	{ "GET", "/ocsp/", nop, NULL, 0, OC_HTTP_PREFIX, NULL },
};
#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

static struct oc_http_server srv;
static struct oc__loop loop;
static struct oc__conn conn;

static bool
is_tchar(int ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
	    (ch >= 'A' && ch <= 'Z') || (ch != 0 && strchr("!#$%&'*+-.^_`|~", ch));
}

/* Where the head in d[0..n) ends (after "\n\n" or "\n\r\n"), or 0. */
static size_t
ref_end(const uint8_t *d, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		if (d[i] != '\n')
			continue;
		if (d[i + 1] == '\n')
			return i + 2;
		if (i + 2 < n && d[i + 1] == '\r' && d[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* line [p, p+n) without its CR, as a string */
static char *
line_dup(const uint8_t *p, size_t n)
{
	if (n > 0 && p[n - 1] == '\r')
		n--;
	return fuzz_cstr(p, n);
}

/* A value without OWS around it (in place).  A bare CR at its end is
 * taken for a space, as RFC 9110 5.5 allows and conn.c and evhttp do
 * (found-cl-bare-cr). */
static char *
trim(char *v)
{
	size_t n;

	while (*v == ' ' || *v == '\t')
		v++;
	n = strlen(v);
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r'))
		v[--n] = '\0';
	return v;
}

/* The accepted head p[0..n) (ending with its empty line), checked
 * independently of conn.c. */
static void
check_accepted(const uint8_t *p, size_t n, const struct oc__head *h,
    size_t limit)
{
	static const char *const known[] = { "GET", "HEAD", "POST", "PUT",
	    "DELETE", "OPTIONS", "PATCH" };
	const uint8_t *eol = memchr(p, '\n', n), *line;
	char *rl, *sp1, *sp2, *target;
	bool ok = false, body, conn_seen = false, conn_close = true;
	long long cl = -1;
	int te = 0;

	/* RFC 9110 5.5; and evhttp reads lines as C strings */
	FUZZ_CHECK(memchr(p, '\0', n) == NULL);
	FUZZ_CHECK(eol != NULL);
	rl = line_dup(p, (size_t)(eol - p));
	sp1 = strchr(rl, ' ');
	FUZZ_CHECK(sp1 != NULL);
	*sp1 = '\0';
	target = sp1 + 1;
	sp2 = strchr(target, ' ');
	FUZZ_CHECK(sp2 != NULL && sp2 > target);
	*sp2 = '\0';
	FUZZ_CHECK(strcmp(sp2 + 1, "HTTP/1.1") == 0 ||
	    strcmp(sp2 + 1, "HTTP/1.0") == 0);
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		ok |= strcmp(rl, known[i]) == 0;
	FUZZ_CHECK(ok);
	FUZZ_CHECK(strcmp(h->method, rl) == 0);
	for (const char *c = target; *c; c++)
		FUZZ_CHECK((unsigned char)*c > 0x20 && *c != 0x7f);
	FUZZ_CHECK(strncmp(h->path, target, sizeof(h->path) - 1) == 0);
	body = strcmp(rl, "POST") == 0 || strcmp(rl, "PUT") == 0 ||
	    strcmp(rl, "PATCH") == 0;
	free(rl);

	for (line = eol + 1; ; ) {
		const uint8_t *le = memchr(line, '\n', (size_t)(p + n - line));
		const uint8_t *colon;
		size_t ll;
		char *name, *raw, *v;
		bool tab;

		FUZZ_CHECK(le != NULL);
		ll = (size_t)(le - line);
		if (ll > 0 && line[ll - 1] == '\r')
			ll--;
		if (ll == 0) {
			FUZZ_CHECK(le + 1 == p + n);   /* the empty line ends it */
			break;
		}
		FUZZ_CHECK(line[0] != ' ' && line[0] != '\t');
		colon = memchr(line, ':', ll);
		FUZZ_CHECK(colon != NULL && colon > line);
		for (const uint8_t *c = line; c < colon; c++)
			FUZZ_CHECK(is_tchar(*c));
		name = fuzz_cstr(line, (size_t)(colon - line));
		/* a header value is a C string to evhttp and to the handlers */
		raw = fuzz_cstr(colon + 1, ll - (size_t)(colon + 1 - line));
		/* evhttp skips only spaces before a value */
		tab = raw[strspn(raw, " ")] == '\t';
		v = trim(raw);
		if (strcasecmp(name, "Content-Length") == 0) {
			long long x;

			FUZZ_CHECK(v[0] != '\0' && strlen(v) <= 18 &&
			    strspn(v, "0123456789") == strlen(v));
			x = strtoll(v, NULL, 10);
			FUZZ_CHECK(cl < 0 || x == cl);
			cl = x;
		} else if (strcasecmp(name, "Transfer-Encoding") == 0) {
			FUZZ_CHECK(strcasecmp(v, "chunked") == 0);
			te++;
		} else if (strcasecmp(name, "Connection") == 0 && !conn_seen) {
			/* evhttp reads the first one (evhttp_find_header) */
			conn_seen = true;
			conn_close = !tab && strcasecmp(v, "close") == 0;
		}
		free(name);
		free(raw);
		line = le + 1;
	}
	FUZZ_CHECK(te <= 1);
	FUZZ_CHECK(!(te == 1 && cl >= 0));
	if (!body)
		FUZZ_CHECK(te == 0 && cl <= 0);
	/* evhttp would refuse a body it cannot delimit with its own page:
	 * conn.c answers that one (411) */
	if (body && te == 0 && cl < 0)
		FUZZ_CHECK(!conn_seen || conn_close);
	FUZZ_CHECK(cl < 0 || (unsigned long long)cl <= limit);
	ok = limit == OC__HTTP_DEFAULT_BODY;
	for (size_t i = 0; i < N_ROUTES; i++)
		ok |= limit == routes[i].max_body;
	FUZZ_CHECK(ok);
}

struct look {
	enum oc__verdict v;
	struct oc__head h;
	size_t limit;
	size_t drained;          /* empty lines before the request line */
};

/* Look at d[0..n) as it arrives in pieces of step bytes. */
static void
look(const uint8_t *d, size_t n, size_t step, struct look *out)
{
	struct evbuffer *b = evbuffer_new();
	size_t off = 0;

	FUZZ_CHECK(b != NULL);
	memset(out, 0, sizeof(*out));
	conn.scanned = 0;
	do {
		size_t k = n - off < step ? n - off : step, before;

		FUZZ_CHECK(evbuffer_add(b, d + off, k) == 0);
		off += k;
		before = evbuffer_get_length(b);
		out->limit = 0;
		out->v = oc__head_look(&conn, b, &out->h, &out->limit);
		out->drained += before - evbuffer_get_length(b);
		FUZZ_CHECK(conn.scanned <= evbuffer_get_length(b));
	} while (out->v == OC__V_MORE && off < n);
	evbuffer_free(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t steps[] = { 1, 7 };
	struct look one, piece;
	size_t skip = 0, end;

	if (srv.n_routes == 0) {
		srv.routes = routes;
		srv.n_routes = N_ROUTES;
		loop.srv = &srv;
		conn.loop = &loop;
	}
	look(data, size, size > 0 ? size : 1, &one);

	/* RFC 9112 2.2: empty lines before the request line are dropped */
	while (skip < size && (data[skip] == '\r' || data[skip] == '\n'))
		skip++;
	FUZZ_CHECK(one.drained == skip);
	end = ref_end(data + skip, size - skip);
	if (end == 0 && size - skip < OC__HTTP_MAX_HEAD) {
		FUZZ_CHECK(one.v == OC__V_MORE);
	} else if (end == 0 || end > OC__HTTP_MAX_HEAD) {
		FUZZ_CHECK(one.v == OC__V_REFUSE && one.h.status == 431);
	} else {
		FUZZ_CHECK(one.v != OC__V_MORE && one.h.len == end);
	}
	FUZZ_CHECK(memchr(one.h.method, '\0', sizeof(one.h.method)) != NULL);
	FUZZ_CHECK(memchr(one.h.path, '\0', sizeof(one.h.path)) != NULL);
	if (one.v == OC__V_REFUSE) {
		int st = one.h.status;

		FUZZ_CHECK(st == 400 || st == 411 || st == 413 || st == 414 ||
		    st == 431 || st == 501 || st == 505);
		FUZZ_CHECK(one.h.code != NULL && one.h.msg != NULL &&
		    one.h.msg[0] != '\0');
	} else if (one.v == OC__V_ACCEPT) {
		FUZZ_CHECK(one.h.status == 0);
		check_accepted(data + skip, one.h.len, &one.h, one.limit);
	}

	/* the same bytes trickling in decide the same */
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		look(data, size, steps[i], &piece);
		FUZZ_CHECK(piece.v == one.v);
		if (one.v == OC__V_MORE)
			continue;
		FUZZ_CHECK(piece.h.status == one.h.status &&
		    piece.h.len == one.h.len && piece.drained == one.drained);
		FUZZ_CHECK(strcmp(piece.h.method, one.h.method) == 0 &&
		    strcmp(piece.h.path, one.h.path) == 0);
		if (one.v == OC__V_ACCEPT)
			FUZZ_CHECK(piece.limit == one.limit);
	}
	return 0;
}
