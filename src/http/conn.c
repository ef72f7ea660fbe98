/*
 * conn.c — one accepted connection, and the look at each request head
 * before evhttp sees it.
 *
 * Why.  evhttp (2.1) calls the application only once a whole request, body
 * included, has been read, and its body limit is one number per
 * connection: a 10 MB upload to a route that takes 1 KB would be read in
 * full before anyone could refuse it.  And its timeout is an idle timeout:
 * a client that trickles a head one byte a second (slow loris) is never
 * dropped.  So each connection watches evhttp's input buffer (an evbuffer
 * callback, which runs as soon as bytes are added and before evhttp's read
 * callback parses them) and holds the bytes of a request head aside
 * (conn->hold) until the head is complete, at most OC__HTTP_MAX_HEAD.
 * Then it parses the request line and the framing headers, finds the
 * route, and
 *   - sets the connection's body limit to the route's
 *     (evhttp_connection_set_max_body_size) before giving the head back to
 *     evhttp, which thus enforces it also for chunked bodies;
 *   - refuses at once a Content-Length over the limit, a malformed head,
 *     an unknown method or transfer coding: the head is replaced by a
 *     synthetic "GET / … Connection: close" request which evhttp dispatches
 *     like any other, and the dispatcher answers it with the JSON error
 *     recorded here (so every refusal gets the same headers, access-log
 *     line and metrics).  What the client sends after it is discarded.
 * A timer (conn->deadline, timeout_s) runs while a head is awaited: a
 * head not complete by then closes the connection; on an idle keep-alive
 * connection the same timer is the idle timeout.
 *
 * Why not a bufferevent_filter (which would give a head hook and a free
 * hook for free): evhttp takes a reply as written once the filter has
 * moved it to the underlying bufferevent, before it reaches the socket,
 * and then frees the connection on "Connection: close" with the reply
 * still queued; 2.1's filter also does not push queued output when writing
 * is re-enabled, so keep-alive replies stall.
 *
 * Lingering close.  When the server closes a connection while the client
 * may still be sending a body (a refusal, evhttp's own 413 for a chunked
 * body), closing a socket with unread input makes the kernel send RST,
 * and a client that is still uploading may then lose the error reply
 * before reading it.  So in evhttp's close callback the socket is taken
 * away from the bufferevent (bufferevent_setfd -1: its destructor then
 * closes nothing, and evhttp, which sees BEV_OPT_CLOSE_ON_FREE, only
 * calls shutdown(SHUT_WR) on it, which ends the reply with a FIN); the
 * loop then reads and drops what the client sends for up to
 * OC__LINGER_MS (or OC__LINGER_MAX bytes) before it closes the socket.
 * Not a dup(): the loops use epoll's change list (server.c), which would
 * leave a closed descriptor's registration behind while its duplicate
 * keeps the socket open.
 *
 * epoll.  evhttp stops reading when a request is complete and starts again
 * when it sends the reply: with the change list (server.c) that still
 * leaves one EPOLL_CTL_MOD per request, for the same interest as before.
 * Each connection therefore has a second, idle EV_READ event on its
 * socket (c->keep): libevent counts the readers of a descriptor and only
 * tells epoll when the count goes to or from zero.  Its callback does
 * nothing, except when the socket stays readable with nobody reading it
 * (a request waiting for a worker while the client sends more): then it
 * removes itself, or the level-triggered socket would keep the loop
 * spinning, and it comes back when the reply has been written.
 *
 * Life.  evhttp's bevcb (oc__conn_bevcb) makes the bufferevent but gets no
 * connection object to hang state on; evhttp creates that right after.
 * The new connection is put on the loop's pending list and the loop's
 * adopt event is activated: it runs in the same loop iteration, after the
 * listener callback has returned and before any I/O on the new socket can
 * be seen, and sets evhttp's close callback, which is where the connection
 * is freed and the per-loop count goes down (and paused listeners resume,
 * see max_connections).  Requests find their connection through the fd
 * table srv->conns.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/bufferevent_struct.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "onecert/log.h"
#include "http_int.h"

static const char synthetic[] = "GET / HTTP/1.1\r\nConnection: close\r\n\r\n";

#define OC__LINGER_MS  2000
#define OC__LINGER_MAX (16u * 1024 * 1024)

struct oc__linger {
	struct oc__loop *loop;
	int fd;
	size_t dropped;
	struct timespec until;
	struct event *ev;
	struct oc__linger *next, *prev;
};

/* ---- listeners paused at max_connections ------------------------------ */

static void
listeners_enable(struct oc__loop *loop, bool on)
{
	for (int i = 0; i < 2; i++)
		if (loop->bound[i] != NULL) {
			struct evconnlistener *l =
			    evhttp_bound_socket_get_listener(loop->bound[i]);

			if (on)
				evconnlistener_enable(l);
			else
				evconnlistener_disable(l);
		}
}

void
oc__conn_resume_listeners(struct oc__loop *loop)
{
	if (loop->paused && !loop->draining &&
	    atomic_load(&loop->nconns) < loop->srv->cfg.max_connections) {
		loop->paused = false;
		listeners_enable(loop, true);
	}
}

/* ---- lingering close ------------------------------------------------------ */

static void
linger_end(struct oc__linger *l)
{
	struct oc__loop *loop = l->loop;

	if (l->prev != NULL)
		l->prev->next = l->next;
	else
		loop->lingering = l->next;
	if (l->next != NULL)
		l->next->prev = l->prev;
	event_free(l->ev);
	close(l->fd);
	free(l);
}

static void
linger_cb(evutil_socket_t fd, short what, void *arg)
{
	struct oc__linger *l = arg;
	struct timespec now;
	struct timeval left;
	long ms;

	if (what & EV_READ) {
		char buf[16384];
		ssize_t n;

		while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
			if ((l->dropped += (size_t)n) > OC__LINGER_MAX) {
				linger_end(l);
				return;
			}
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR)) {
			linger_end(l);         /* the client has closed too */
			return;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (l->until.tv_sec - now.tv_sec) * 1000 +
	    (l->until.tv_nsec - now.tv_nsec) / 1000000;
	if ((what & EV_TIMEOUT) || ms <= 0) {
		linger_end(l);
		return;
	}
	left.tv_sec = ms / 1000;
	left.tv_usec = (ms % 1000) * 1000;
	event_add(l->ev, &left);
}

/* Takes fd (closes it in every case). */
static void
linger_start(struct oc__loop *loop, int fd)
{
	struct oc__linger *l;

	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->ev = event_new(loop->base, fd, EV_READ, linger_cb, l)) == NULL) {
		free(l);
		close(fd);
		return;
	}
	l->loop = loop;
	l->fd = fd;
	clock_gettime(CLOCK_MONOTONIC, &l->until);
	l->until.tv_sec += OC__LINGER_MS / 1000;
	l->until.tv_nsec += (OC__LINGER_MS % 1000) * 1000000L;
	if (l->until.tv_nsec >= 1000000000L) {
		l->until.tv_sec++;
		l->until.tv_nsec -= 1000000000L;
	}
	l->next = loop->lingering;
	if (l->next != NULL)
		l->next->prev = l;
	loop->lingering = l;
	linger_cb(fd, 0, l);               /* arms the event */
}

void
oc__linger_free_all(struct oc__loop *loop)
{
	while (loop->lingering != NULL)
		linger_end(loop->lingering);
}

/* ---- the connection's life -------------------------------------------- */

/* Our part only: the bufferevent belongs to evhttp. */
static void
conn_destroy(struct oc__conn *c)
{
	struct oc__loop *loop = c->loop;
	struct oc_http_server *srv = loop->srv;

	if (c->fd >= 0 && (size_t)c->fd < srv->n_conns_slots) {
		struct oc__conn *expect = c;

		atomic_compare_exchange_strong(&srv->conns[c->fd], &expect, NULL);
	}
	if (c->writing)
		loop->writing--;
	if (c->deadline != NULL)
		event_free(c->deadline);
	if (c->keep != NULL)
		event_free(c->keep);
	if (c->hold != NULL)
		evbuffer_free(c->hold);
	atomic_fetch_sub(&loop->nconns, 1);
	oc__conn_resume_listeners(loop);
	free(c);
}

/* evhttp is freeing the connection (evhttp_connection_free). */
static void
conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct oc__conn *c = arg;

	(void)evcon;
	if (c->keep != NULL) {
		event_free(c->keep);
		c->keep = NULL;
	}
	if (c->incb != NULL)
		evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->incb);
	/* closed by us while the client may still be sending a body: the
	 * socket is ours from here on (see "Lingering close" at the top) */
	if (c->fd >= 0 && !c->loop->draining &&
	    (c->linger || c->state == OC__CS_BODY) &&
	    bufferevent_getfd(c->bev) == c->fd) {
		/* The OpenSSL bufferevent's set-fd does not remove its events
		 * before it reassigns them (libevent 2.1): remove them here,
		 * for both kinds. */
		event_del(&c->bev->ev_read);
		event_del(&c->bev->ev_write);
		if (bufferevent_setfd(c->bev, -1) == 0)
			linger_start(c->loop, c->fd);
	}
	conn_destroy(c);
}

struct oc__conn *
oc__conn_of(struct oc_http_server *srv, struct evhttp_request *evreq)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(evreq);
	struct bufferevent *bev;
	struct oc__conn *c;
	int fd;

	if (evcon == NULL)
		return NULL;
	bev = evhttp_connection_get_bufferevent(evcon);
	fd = (int)bufferevent_getfd(bev);
	if (fd < 0 || (size_t)fd >= srv->n_conns_slots)
		return NULL;
	c = atomic_load(&srv->conns[fd]);
	return c != NULL && c->bev == bev ? c : NULL;
}

static void
arm_deadline(struct oc__conn *c)
{
	struct timeval tv = { c->loop->srv->cfg.timeout_s, 0 };

	if (c->deadline != NULL)
		event_add(c->deadline, &tv);
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct oc__conn *c = arg;
	struct oc_http_server *srv = c->loop->srv;

	(void)fd;
	(void)what;
	if (c->state != OC__CS_HEAD || c->evcon == NULL)
		return;
	if (evbuffer_get_length(c->hold) > 0)
		oc_log(OC_LOG_INFO, "http.head_timeout", "service=%s fd=%d "
		    "held=%zu msg=\"request head not complete in %d s: closed\"",
		    srv->name, c->fd, evbuffer_get_length(c->hold),
		    srv->cfg.timeout_s);
	/* evhttp waits for a first line (we hold everything): it owns no
	 * request of ours, and conn_closed frees c */
	evhttp_connection_free(c->evcon);
}

/* ---- parsing a request head ------------------------------------------- */

static bool
method_known(const char *m)
{
	static const char *const known[] = { "GET", "HEAD", "POST", "PUT",
	    "DELETE", "OPTIONS", "PATCH" };

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(m, known[i]) == 0)
			return true;
	return false;
}

static bool
is_tchar(int ch)
{
	return isalnum(ch) || (ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static void
refuse(struct oc__head *h, int status, const char *code, const char *msg)
{
	if (h->status == 0) {
		h->status = status;
		h->code = code;
		h->msg = msg;
	}
}

/* Copy a header value, trimmed of OWS, into out (NUL-terminated). */
static void
trimmed(const char *v, size_t n, char *out, size_t cap)
{
	while (n > 0 && (*v == ' ' || *v == '\t'))
		v++, n--;
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r'))
		n--;
	if (n >= cap)
		n = cap - 1;
	memcpy(out, v, n);
	out[n] = '\0';
}

/*
 * Parse the head in p[0..n) (which ends with its empty line) and decide.
 * Returns the body limit for an accepted head.
 */
static size_t
head_parse(struct oc_http_server *srv, const char *p, size_t n,
    struct oc__head *h)
{
	const char *eol = memchr(p, '\n', n), *sp1, *sp2, *line, *end = p + n;
	char target[8192], version[16], root[] = "/", *path, *q;
	long long cl = -1;
	bool chunked = false, te = false, keepalive_hdr = false, conn_hdr = false;
	bool body_method;
	size_t tl, limit, plen;
	const char *too_large = "请求内容过大";

	if (eol == NULL)
		goto bad;
	/* A NUL is in no valid head (RFC 9110 5.5), and both the checks
	 * below and evhttp read the request line as C strings: "GET /a\0
	 * HTTP/1.1" would pass here as "GET /a … HTTP/1.1" and then get
	 * evhttp's own HTML 400 (fuzz_head, regress-nul-*). */
	if (memchr(p, '\0', n) != NULL)
		goto bad;
	tl = (size_t)(eol - p);
	if (tl > 0 && p[tl - 1] == '\r')
		tl--;
	sp1 = memchr(p, ' ', tl);
	if (sp1 == NULL || sp1 == p || (size_t)(sp1 - p) >= sizeof(h->method))
		goto bad;
	memcpy(h->method, p, (size_t)(sp1 - p));
	h->method[sp1 - p] = '\0';
	sp2 = memchr(sp1 + 1, ' ', tl - (size_t)(sp1 + 1 - p));
	if (sp2 == NULL || sp2 == sp1 + 1 ||
	    (size_t)(sp2 - sp1 - 1) >= sizeof(target)) {
		if (sp2 != NULL && (size_t)(sp2 - sp1 - 1) >= sizeof(target)) {
			refuse(h, 414, "uri_too_long", "请求地址过长");
			return 0;
		}
		goto bad;
	}
	memcpy(target, sp1 + 1, (size_t)(sp2 - sp1 - 1));
	target[sp2 - sp1 - 1] = '\0';
	{
		size_t k = strlen(target) < sizeof(h->path) - 1 ? strlen(target) :
		    sizeof(h->path) - 1;   /* for the log: cut is fine */

		memcpy(h->path, target, k);
		h->path[k] = '\0';
	}
	if ((size_t)(p + tl - sp2 - 1) >= sizeof(version))
		goto bad;
	memcpy(version, sp2 + 1, (size_t)(p + tl - sp2 - 1));
	version[p + tl - sp2 - 1] = '\0';
	for (const char *c = h->method; *c; c++)
		if (!is_tchar((unsigned char)*c))
			goto bad;
	for (const char *c = target; *c; c++)
		if ((unsigned char)*c <= 0x20 || *c == 0x7f)
			goto bad;
	if (strcmp(version, "HTTP/1.1") != 0 && strcmp(version, "HTTP/1.0") != 0) {
		if (strncmp(version, "HTTP/", 5) == 0) {
			refuse(h, 505, "http_version_not_supported",
			    "不支持该 HTTP 版本");
			return 0;
		}
		goto bad;
	}
	if (!method_known(h->method)) {
		refuse(h, 501, "not_implemented", "不支持该请求方法");
		return 0;
	}

	/* header lines */
	for (line = eol + 1; line < end; ) {
		const char *le = memchr(line, '\n', (size_t)(end - line)), *colon;
		size_t ll;
		char name[64], value[128];

		if (le == NULL)
			le = end;
		ll = (size_t)(le - line);
		if (ll > 0 && line[ll - 1] == '\r')
			ll--;
		if (ll == 0)
			break;                     /* the empty line */
		if (line[0] == ' ' || line[0] == '\t')
			goto bad;                  /* obsolete line folding */
		colon = memchr(line, ':', ll);
		if (colon == NULL || colon == line)
			goto bad;
		for (const char *c = line; c < colon; c++)
			if (!is_tchar((unsigned char)*c))
				goto bad;
		if ((size_t)(colon - line) < sizeof(name)) {
			memcpy(name, line, (size_t)(colon - line));
			name[colon - line] = '\0';
			if (strcasecmp(name, "Content-Length") == 0) {
				long long v;

				trimmed(colon + 1, ll - (size_t)(colon + 1 - line), value,
				    sizeof(value));
				if (value[0] == '\0' || strlen(value) > 18 ||
				    strspn(value, "0123456789") != strlen(value))
					goto bad;
				v = strtoll(value, NULL, 10);
				if (cl >= 0 && v != cl)
					goto bad;          /* two different lengths */
				cl = v;
			} else if (strcasecmp(name, "Transfer-Encoding") == 0) {
				trimmed(colon + 1, ll - (size_t)(colon + 1 - line), value,
				    sizeof(value));
				if (te || strcasecmp(value, "chunked") != 0) {
					refuse(h, 501, "not_implemented",
					    "不支持该传输编码");
					return 0;
				}
				te = chunked = true;
			} else if (strcasecmp(name, "Connection") == 0 && !conn_hdr) {
				/* Decided as evhttp will: it reads the first
				 * Connection header only, with only spaces
				 * skipped before the value ("\tclose" is not
				 * "close" to it) (fuzz_head, regress-connection-*). */
				const char *v = colon + 1;

				while (v < line + ll && *v == ' ')
					v++;
				trimmed(v, (size_t)(line + ll - v), value, sizeof(value));
				keepalive_hdr = (v < line + ll && *v == '\t') ||
				    strcasecmp(value, "close") != 0;
				conn_hdr = true;
			}
		}
		line = le + 1;
	}
	if (cl >= 0 && chunked)
		goto bad;                          /* request smuggling */
	/* evhttp reads a body only for these; for any other method it would
	 * take the body for the next request (a desync behind a proxy) */
	body_method = strcmp(h->method, "POST") == 0 ||
	    strcmp(h->method, "PUT") == 0 || strcmp(h->method, "PATCH") == 0;
	if (!body_method && (cl > 0 || chunked))
		goto bad;
	/* evhttp refuses this one itself, with an HTML page */
	if (body_method && cl < 0 && !chunked && keepalive_hdr) {
		refuse(h, 411, "length_required", "请求缺少 Content-Length");
		return 0;
	}

	/* the path to route on: origin-form, absolute-form or "*" */
	path = target;
	if (strncasecmp(path, "http://", 7) == 0 ||
	    strncasecmp(path, "https://", 8) == 0) {
		path = strstr(path, "://") + 3;
		path = strchr(path, '/');
		if (path == NULL)
			path = root;
	}
	if ((q = strpbrk(path, "?#")) != NULL)
		*q = '\0';
	if (strchr(path, '%') == NULL) {
		/* nothing to decode (the common case) */
		limit = oc__route_body_limit(srv, h->method, path, &too_large);
	} else {
		char *dec = evhttp_uridecode(path, 0, &plen);

		if (dec == NULL)
			goto bad;
		if (strlen(dec) != plen) {
			free(dec);
			goto bad;
		}
		limit = oc__route_body_limit(srv, h->method, dec, &too_large);
		free(dec);
	}
	if (cl >= 0 && (unsigned long long)cl > limit) {
		refuse(h, 413, "too_large", too_large);
		return 0;
	}
	return limit;
bad:
	refuse(h, 400, "bad_request", "请求格式错误");
	return 0;
}

/*
 * Where the head at the start of buf ends (the offset after its empty
 * line), or 0 if it is not complete yet.  The search resumes where the
 * last one stopped (c->scanned), so a client trickling a head byte by byte
 * costs linear, not quadratic, work.
 */
static size_t
head_end(struct oc__conn *c, struct evbuffer *buf)
{
	struct evbuffer_ptr pos;

	if (evbuffer_ptr_set(buf, &pos, c->scanned, EVBUFFER_PTR_SET) != 0)
		return 0;
	for (;;) {
		unsigned char t[3];
		ev_ssize_t got;

		pos = evbuffer_search(buf, "\n", 1, &pos);
		if (pos.pos < 0) {
			c->scanned = evbuffer_get_length(buf);
			return 0;
		}
		got = evbuffer_copyout_from(buf, &pos, t, sizeof(t));
		if (got >= 2 && t[1] == '\n')
			return (size_t)pos.pos + 2;
		if (got >= 3 && t[1] == '\r' && t[2] == '\n')
			return (size_t)pos.pos + 3;
		if (got < 2 || (got == 2 && t[1] == '\r')) {
			c->scanned = (size_t)pos.pos;   /* decided by what comes */
			return 0;
		}
		if (evbuffer_ptr_set(buf, &pos, 1, EVBUFFER_PTR_ADD) != 0)
			return 0;
	}
}

/* Look at the head at the start of buf (c->hold): see http_int.h. */
enum oc__verdict
oc__head_look(struct oc__conn *c, struct evbuffer *buf, struct oc__head *h,
    size_t *limit)
{
	size_t end;
	const char *p;

	memset(h, 0, sizeof(*h));
	/* RFC 9112 2.2: ignore empty lines before the request line */
	if (c->scanned == 0) {
		unsigned char b;

		while (evbuffer_copyout(buf, &b, 1) == 1 && (b == '\r' || b == '\n'))
			evbuffer_drain(buf, 1);
	}
	if ((end = head_end(c, buf)) == 0 || end > OC__HTTP_MAX_HEAD) {
		if (end == 0 && evbuffer_get_length(buf) < OC__HTTP_MAX_HEAD)
			return OC__V_MORE;
		refuse(h, 431, "header_too_large", "请求头过大");
		return OC__V_REFUSE;
	}
	if ((p = (const char *)evbuffer_pullup(buf, (ev_ssize_t)end)) == NULL)
		return OC__V_MORE;
	h->len = end;
	*limit = head_parse(c->loop->srv, p, end, h);
	return h->status != 0 ? OC__V_REFUSE : OC__V_ACCEPT;
}

static void
set_limit(struct oc__conn *c, size_t limit)
{
	evhttp_connection_set_max_body_size(c->evcon,
	    limit > (size_t)INT64_MAX / 2 ? INT64_MAX / 2 : (ev_ssize_t)limit);
}

/*
 * buf (evhttp's input) has new bytes and a head is awaited: move them to
 * c->hold and decide once the head is complete.  A bufferevent keeps the
 * end of its input buffer frozen except while it reads into it itself
 * (reading: we are inside that, in input_cb); otherwise thaw it for the
 * moment we give bytes back.
 */
static void
take_head(struct oc__conn *c, struct evbuffer *buf, bool reading)
{
	struct oc__head h;
	size_t limit = 0;

	c->busy = true;
	if (!reading)
		evbuffer_unfreeze(buf, 0);
	evbuffer_add_buffer(c->hold, buf);
	switch (oc__head_look(c, c->hold, &h, &limit)) {
	case OC__V_MORE:
		c->busy = false;
		if (!reading)
			evbuffer_freeze(buf, 0);
		return;                     /* keep holding */
	case OC__V_REFUSE:
		c->linger = true;
		c->reject = h.status;
		c->reject_code = h.code;
		c->reject_msg = h.msg;
		snprintf(c->reject_method, sizeof(c->reject_method), "%s",
		    h.method[0] ? h.method : "-");
		snprintf(c->reject_path, sizeof(c->reject_path), "%s",
		    h.path[0] ? h.path : "-");
		evbuffer_drain(c->hold, evbuffer_get_length(c->hold));
		evbuffer_add(buf, synthetic, sizeof(synthetic) - 1);
		c->state = OC__CS_DISCARD;
		event_del(c->deadline);
		break;
	case OC__V_ACCEPT:
	default:
		set_limit(c, limit);
		evbuffer_add_buffer(buf, c->hold);
		c->state = OC__CS_BODY;
		event_del(c->deadline);
		break;
	}
	c->scanned = 0;                 /* the head is gone: next one */
	if (!reading)
		evbuffer_freeze(buf, 0);
	c->busy = false;
}

static void
input_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct oc__conn *c = arg;

	if (c->busy || info->n_added == 0)
		return;
	switch (c->state) {
	case OC__CS_HEAD:
		take_head(c, buf, true);
		break;
	case OC__CS_DISCARD:
		/* after a refusal: the rest of what the client sends */
		c->busy = true;
		evbuffer_drain(buf, evbuffer_get_length(buf));
		c->busy = false;
		break;
	case OC__CS_BODY:
	case OC__CS_WAIT:
	default:
		break;                      /* evhttp's to read */
	}
}

/*
 * The reply has been written (evhttp's on_complete callback).  evhttp is
 * about to read the next request from its input buffer, which may already
 * hold a pipelined head: look at it as input_cb would have.
 */
void
oc__conn_request_done(struct evhttp_request *evreq, void *arg)
{
	struct oc__conn *c = arg;
	struct evbuffer *in;

	(void)evreq;
	if (c->writing) {
		c->writing = false;
		c->loop->writing--;
	}
	c->reject = 0;
	c->state = OC__CS_HEAD;
	c->keep_miss = 0;
	if (c->keep != NULL && !event_pending(c->keep, EV_READ, NULL))
		event_add(c->keep, NULL);
	arm_deadline(c);
	in = bufferevent_get_input(c->bev);
	if (evbuffer_get_length(in) > 0)
		take_head(c, in, false);
}

/* ---- new connections --------------------------------------------------- */

struct bufferevent *
oc__conn_bevcb(struct event_base *base, void *arg)
{
	struct oc__listener_ctx *lc = arg;
	struct oc__loop *loop = lc->loop;
	struct oc_http_server *srv = loop->srv;
	struct oc__conn *c;

	/* Only allocation can fail here.  On NULL evhttp falls back to a
	 * plain socket bufferevent of its own: on the TLS port the peer's
	 * ClientHello then gets an HTTP 400 and the connection closes, which
	 * discloses nothing; such a connection has no oc__conn (the
	 * dispatcher copes). */
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->loop = loop;
	c->fd = -1;
	c->state = OC__CS_HEAD;
	c->hold = evbuffer_new();
	c->deadline = evtimer_new(base, deadline_cb, c);
	if (c->hold == NULL || c->deadline == NULL)
		goto fail;
	if (lc->tls) {
		if ((c->ssl = SSL_new(srv->ssl_ctx)) == NULL)
			goto fail;
		c->bev = bufferevent_openssl_socket_new(base, -1, c->ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
		if (c->bev == NULL) {
			SSL_free(c->ssl);
			goto fail;
		}
		/* browsers and curl often close without close_notify */
		bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	} else {
		c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
		if (c->bev == NULL)
			goto fail;
	}
	c->next_pending = loop->pending;
	loop->pending = c;
	event_active(loop->adopt_ev, EV_READ, 0);
	atomic_fetch_add(&srv->conns_total, 1);
	if (atomic_fetch_add(&loop->nconns, 1) + 1 >= srv->cfg.max_connections &&
	    !loop->paused) {
		loop->paused = true;
		listeners_enable(loop, false);
		oc_log(OC_LOG_WARN, "http.max_connections", "service=%s loop=%d "
		    "connections=%d msg=\"not accepting until one closes\"",
		    srv->name, loop->idx, atomic_load(&loop->nconns));
	}
	return c->bev;
fail:
	if (c->deadline != NULL)
		event_free(c->deadline);
	if (c->hold != NULL)
		evbuffer_free(c->hold);
	free(c);
	return NULL;
}

/* See "epoll" at the top. */
static void
keep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct oc__conn *c = arg;

	(void)fd;
	(void)what;
	if (event_pending(&c->bev->ev_read, EV_READ, NULL))
		c->keep_miss = 0;
	else if (++c->keep_miss >= 2)
		event_del(c->keep);       /* back in oc__conn_request_done */
}

/* See "Life" at the top. */
void
oc__conn_adopt_cb(evutil_socket_t fd, short what, void *arg)
{
	struct oc__loop *loop = arg;
	struct oc_http_server *srv = loop->srv;
	struct oc__conn *c;

	(void)fd;
	(void)what;
	while ((c = loop->pending) != NULL) {
		void *evcon = NULL;

		loop->pending = c->next_pending;
		/* evhttp hands its connection as the bufferevent's callback
		 * arg; NULL: evhttp failed to set it up and freed it */
		bufferevent_getcb(c->bev, NULL, NULL, NULL, &evcon);
		if (evcon == NULL) {
			conn_destroy(c);
			continue;
		}
		c->evcon = evcon;
		evhttp_connection_set_closecb(c->evcon, conn_closed, c);
		c->incb = evbuffer_add_cb(bufferevent_get_input(c->bev), input_cb, c);
		c->fd = (int)bufferevent_getfd(c->bev);
		if (c->fd >= 0 && (size_t)c->fd < srv->n_conns_slots)
			atomic_store(&srv->conns[c->fd], c);
		if (c->fd >= 0 && (c->keep = event_new(loop->base, c->fd,
		    EV_READ | EV_PERSIST, keep_cb, c)) != NULL)
			event_add(c->keep, NULL);
		arm_deadline(c);
		if (c->incb == NULL) {
			/* cannot watch heads: do not serve it */
			evhttp_connection_free(c->evcon);
		}
	}
}

/* Connections accepted but never adopted (the loop stopped in between):
 * evhttp has freed them; free our part. */
void
oc__conn_free_pending(struct oc__loop *loop)
{
	struct oc__conn *c;

	while ((c = loop->pending) != NULL) {
		loop->pending = c->next_pending;
		conn_destroy(c);
	}
}
