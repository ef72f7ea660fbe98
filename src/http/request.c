/*
 * request.c — a request from evhttp's callback to the reply on the wire.
 *
 * On the loop thread, oc__http_on_request copies what a handler reads
 * (method, decoded path, query, peer, client certificate; the body stays
 * in evhttp's buffer, made contiguous) into a struct oc_http_req and hands
 * it to the router.  The request then has two references: the handler's,
 * dropped when the handler returns (on the loop or on a worker), and the
 * reply's, dropped once the reply has been given to evhttp.  So a handler
 * that replies twice, or reads its request after replying, touches live
 * memory: the second reply is logged and ignored.
 *
 * oc_http_reply* may run on any thread, exactly once.  The reply is built
 * into the request (status, headers, body copy); on the loop thread it is
 * sent at once, from any other thread a one-shot event is activated on the
 * owning loop (event_active is thread-safe under evthread_use_pthreads)
 * and the loop sends it.  Only the loop thread ever touches evhttp.
 *
 * While a request waits for a worker its connection does not read
 * (oc__req_pause_input, bufferevent_disable EV_READ): evhttp 2.1 aborts
 * the process ("illegal connection state") if bytes arrive for a
 * bodiless request whose reply is still pending.  evhttp re-enables
 * reading itself when it writes the reply.  A request answered on the
 * loop, within evhttp's callback, needs no pause: nothing is read before
 * the reply is handed over (and two epoll_ctl calls are saved).
 *
 * Cost per reply (send_now): the head is decided once, Date included; the
 * bytes go out in the same loop turn (the bufferevent's write event is
 * activated rather than waited for); a plain connection that is about to
 * be closed is corked so that the FIN rides with the reply; the
 * access-log line is built by hand into the loop's buffer and written in
 * batches ("the access log" below); counters are the loop's own.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_struct.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>

#include "onecert/json.h"
#include "onecert/log.h"
#include "http_int.h"

/* ---- small helpers ---------------------------------------------------- */

const char *
oc__reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default:  return status < 300 ? "OK" : status < 400 ? "Redirect" :
	    status < 500 ? "Client Error" : "Server Error";
	}
}

double
oc__ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(now.tv_nsec - t0->tv_nsec) / 1e6;
}

static bool
on_loop_thread(const struct oc__loop *loop)
{
	return atomic_load(&loop->running) &&
	    pthread_equal(pthread_self(), loop->tid);
}

static const char *
method_name(enum evhttp_cmd_type t)
{
	switch (t) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	case EVHTTP_REQ_TRACE: return "TRACE";
	case EVHTTP_REQ_CONNECT: return "CONNECT";
	case EVHTTP_REQ_PATCH: return "PATCH";
	default: return "-";
	}
}

/* ---- life of a request -------------------------------------------------- */

static void
req_free(struct oc_http_req *req)
{
	struct oc__loop *loop = req->loop;

	pthread_mutex_lock(&loop->live_mu);
	if (req->prev != NULL)
		req->prev->next = req->next;
	else
		loop->live = req->next;
	if (req->next != NULL)
		req->next->prev = req->prev;
	pthread_mutex_unlock(&loop->live_mu);
	X509_free(req->cert);
	sk_X509_pop_free(req->chain, X509_free);
	evhttp_clear_headers(&req->query);
	free(req->path);
	free(req->ctype);
	free(req->rbody);
	for (int i = 0; i < req->nhdrs; i++) {
		free(req->hdrs[i].name);
		free(req->hdrs[i].value);
	}
	if (req->hop != NULL)
		event_free(req->hop);
	free(req);
}

void
oc__req_release(struct oc_http_req *req)
{
	if (req != NULL && atomic_fetch_sub(&req->refs, 1) == 1)
		req_free(req);
}

/* After a forced stop (drain timeout): requests never answered.  No other
 * thread runs any more; evhttp's side has been freed with its connections. */
void
oc__req_free_leftovers(struct oc_http_server *srv)
{
	for (int i = 0; srv->loops != NULL && i < srv->nloops; i++)
		while (srv->loops[i].live != NULL) {
			struct oc_http_req *req = srv->loops[i].live;

			oc_log(OC_LOG_WARN, "http.unanswered", "service=%s method=%s "
			    "msg=\"request never answered\"", srv->name, req->method);
			req_free(req);
		}
}

static struct oc_http_req *
req_new(struct oc__loop *loop, struct oc__conn *c, struct evhttp_request *evreq)
{
	struct oc_http_req *req = calloc(1, sizeof(*req));
	struct evhttp_connection *evcon = evhttp_request_get_connection(evreq);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(evreq);
	const char *raw, *q;
	struct evbuffer *in;
	size_t plen;

	if (req == NULL)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, &req->t0);
	TAILQ_INIT(&req->query);
	req->loop = loop;
	req->conn = c;
	req->evreq = evreq;
	req->slot = -1;
	atomic_init(&req->refs, 2);
	atomic_init(&req->replied, false);
	snprintf(req->method, sizeof(req->method), "%s",
	    method_name(evhttp_request_get_command(evreq)));
	raw = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	if (raw == NULL || raw[0] == '\0')
		raw = "/";
	if (strchr(raw, '%') == NULL) {
		req->path = strdup(raw);            /* nothing to decode */
		plen = req->path != NULL ? strlen(req->path) : 0;
	} else {
		req->path = evhttp_uridecode(raw, 0, &plen);
	}
	if (req->path == NULL) {
		free(req);
		return NULL;
	}
	if (strlen(req->path) != plen)          /* %00: refused by conn.c */
		req->path[strlen(req->path)] = '\0';
	q = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
	if (q != NULL && evhttp_parse_query_str(q, &req->query) != 0)
		TAILQ_INIT(&req->query);        /* malformed: no parameters */
	/* the body: contiguous and NUL-terminated (the NUL not counted) */
	in = evhttp_request_get_input_buffer(evreq);
	req->body_len = evbuffer_get_length(in);
	if (evbuffer_add(in, "", 1) == 0)
		req->body = evbuffer_pullup(in, -1);
	if (req->body == NULL)
		req->body_len = 0;
	if (evcon != NULL) {
		char *addr = NULL;
		const char *a;
		ev_uint16_t port = 0;
		size_t n;

		evhttp_connection_get_peer(evcon, &addr, &port);
		a = addr != NULL ? addr : "-";
		if ((n = strlen(a)) >= sizeof(req->peer))
			n = sizeof(req->peer) - 1;
		memcpy(req->peer, a, n);
		req->peer[n] = '\0';
	} else {
		memcpy(req->peer, "-", 2);
	}
	req->tls = c != NULL && c->ssl != NULL;
	pthread_mutex_lock(&loop->live_mu);
	req->next = loop->live;
	if (loop->live != NULL)
		loop->live->prev = req;
	loop->live = req;
	pthread_mutex_unlock(&loop->live_mu);
	return req;
}

/* ---- sending (loop thread only) ----------------------------------------- */

static bool
is_json(const char *ctype)
{
	return ctype != NULL && (strncasecmp(ctype, "application/json", 16) == 0 ||
	    strstr(ctype, "+json") != NULL);
}

static void
free_ref(const void *data, size_t len, void *arg)
{
	(void)len;
	(void)arg;
	free((void *)data);
}

/* ---- the access log ------------------------------------------------------
 * One line per request, the same line oc_log would write
 * ("ts=… level=info event=http.request service=… method=… …"), but built
 * by hand into the loop's buffer (no printf, the timestamp's date part
 * formatted once a second) and written in batches: when the buffer fills,
 * and at most OC__LOG_DELAY_MS after a line was added (a timer), and when
 * the loop ends.  Each write(2) is whole lines, at most OC__LOG_CHUNK
 * bytes (PIPE_BUF), so lines never interleave with other threads' lines
 * even on a pipe. */

/* Append v as oc_log_q(buf, cap, v) would render it; returns the end. */
static char *
q_append(char *o, const char *v, size_t cap)
{
	const unsigned char *p;
	size_t n = 0;
	bool need = v == NULL || *v == '\0';

	if (v == NULL)
		v = "";
	for (p = (const unsigned char *)v; *p && !need; p++)
		if (*p <= ' ' || *p == 0x7f || *p == '"' || *p == '=' || *p == '\\')
			need = true;
	if (!need) {
		size_t l = strlen(v);

		if (l > cap - 1)
			l = cap - 1;
		memcpy(o, v, l);
		return o + l;
	}
	o[n++] = '"';
	for (p = (const unsigned char *)v; *p; p++) {
		static const char hex[] = "0123456789abcdef";
		char t[4];
		size_t l = 2;

		if (*p == '"' || *p == '\\') {
			t[0] = '\\';
			t[1] = (char)*p;
		} else if (*p == '\n') {
			t[0] = '\\';
			t[1] = 'n';
		} else if (*p < 0x20 || *p == 0x7f) {
			t[0] = '\\';
			t[1] = 'x';
			t[2] = hex[*p >> 4];
			t[3] = hex[*p & 15];
			l = 4;
		} else {
			t[0] = (char)*p;
			l = 1;
		}
		if (n + l + 2 > cap)
			break;
		memcpy(o + n, t, l);
		n += l;
	}
	o[n++] = '"';
	return o + n;
}

static char *
u_append(char *o, unsigned long long v)
{
	char t[24];
	int n = 0;

	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	while (n > 0)
		*o++ = t[--n];
	return o;
}

static char *
s_append(char *o, const char *s)
{
	size_t l = strlen(s);

	memcpy(o, s, l);
	return o + l;
}

void
oc__log_flush(struct oc__loop *loop)
{
	size_t off = 0;

	while (off < loop->loglen) {
		size_t n = loop->loglen - off;

		if (n > OC__LOG_CHUNK) {
			/* whole lines only (every line ends with \n) */
			n = OC__LOG_CHUNK;
			while (n > 0 && loop->logbuf[off + n - 1] != '\n')
				n--;
			if (n == 0)
				n = OC__LOG_CHUNK;
		}
		(void)!write(STDERR_FILENO, loop->logbuf + off, n);
		off += n;
	}
	loop->loglen = 0;
}

void
oc__log_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	oc__log_flush(arg);
}

static void
access_log(struct oc_http_req *req, size_t bytes, unsigned long long us)
{
	struct oc__loop *loop = req->loop;
	struct timespec ts;
	unsigned ms3;
	char *o, *line;

	if (oc_log_get_level() > OC_LOG_INFO)
		return;
	if (loop->logbuf == NULL)
		return;
	/* the longest line: quoted values are cut at OC_LOG_QBUF, the
	 * service name below */
	if (OC__LOG_BUF - loop->loglen < 2048)
		oc__log_flush(loop);
	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != loop->log_sec || loop->log_ts[0] == '\0') {
		struct tm tm;

		gmtime_r(&ts.tv_sec, &tm);
		snprintf(loop->log_ts, sizeof(loop->log_ts),
		    "ts=%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
		    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		loop->log_sec = ts.tv_sec;
	}
	line = o = loop->logbuf + loop->loglen;
	o = s_append(o, loop->log_ts);
	ms3 = (unsigned)(ts.tv_nsec / 1000000);
	*o++ = '.';
	*o++ = (char)('0' + ms3 / 100);
	*o++ = (char)('0' + ms3 / 10 % 10);
	*o++ = (char)('0' + ms3 % 10);
	o = s_append(o, "Z level=info event=http.request service=");
	{
		const char *sv = loop->srv->name;
		size_t l = strlen(sv);

		if (l > 256)
			l = 256;
		for (size_t i = 0; i < l; i++)   /* one event, one line */
			*o++ = sv[i] == '\n' || sv[i] == '\r' ? ' ' : sv[i];
	}
	o = s_append(o, " method=");
	o = q_append(o, req->method, 32);
	o = s_append(o, " path=");
	o = q_append(o, req->path, OC_LOG_QBUF);
	o = s_append(o, " status=");
	o = u_append(o, (unsigned long long)req->status);
	o = s_append(o, " bytes=");
	o = u_append(o, bytes);
	o = s_append(o, " ms=");
	us = (us + 50) / 100;                  /* tenths of a millisecond */
	o = u_append(o, us / 10);
	*o++ = '.';
	*o++ = (char)('0' + us % 10);
	o = s_append(o, " peer=");
	o = q_append(o, req->peer, 64);
	o = s_append(o, req->tls ? " tls=1 cert=" : " tls=0 cert=");
	o = q_append(o, req->subject[0] ? req->subject : "-", OC_LOG_QBUF);
	*o++ = '\n';
	loop->loglen += (size_t)(o - line);
	if (!evtimer_pending(loop->log_ev, NULL)) {
		struct timeval tv = { 0, OC__LOG_DELAY_MS * 1000 };

		evtimer_add(loop->log_ev, &tv);
	}
}

/* ---- the reply's head -------------------------------------------------- */

struct hv {
	const char *name, *value;
};

/* Set name (case-insensitive): a later value replaces an earlier one. */
static void
hv_set(struct hv *h, int *n, const char *name, const char *value)
{
	for (int i = 0; i < *n; i++)
		if (strcasecmp(h[i].name, name) == 0) {
			h[i].value = value;
			return;
		}
	h[*n].name = name;
	h[*n].value = value;
	(*n)++;
}

static bool
hv_has(const struct hv *h, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcasecmp(h[i].name, name) == 0)
			return true;
	return false;
}

/* Our own head says "Connection: close" (the value evhttp compares). */
static bool
conn_close(const struct hv *h, int n)
{
	for (int i = 0; i < n; i++)
		if (strcasecmp(h[i].name, "Connection") == 0)
			return strcasecmp(h[i].value, "close") == 0;
	return false;
}

/* Will evhttp close the connection once this reply is written?  The same
 * test as evhttp_send_done's (libevent 2.1): HTTP/1.0 without
 * "Connection: keep-alive", or "Connection: close" in the request or the
 * reply (the first such header, compared whole, as evhttp does). */
static bool
will_close(struct evhttp_request *evreq, bool reply_close)
{
	const char *v = evhttp_find_header(evhttp_request_get_input_headers(evreq),
	    "Connection");

	if (reply_close || (v != NULL && strcasecmp(v, "close") == 0))
		return true;
	return (evreq->major < 1 || (evreq->major == 1 && evreq->minor < 1)) &&
	    (v == NULL || strncasecmp(v, "keep-alive", 10) != 0);
}

/* The Date header's value, formatted once a second per loop. */
static const char *
date_now(struct oc__loop *loop)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t now = time(NULL);

	if (now != loop->date_sec || loop->date[0] == '\0') {
		struct tm tm;

		gmtime_r(&now, &tm);
		snprintf(loop->date, sizeof(loop->date),
		    "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7],
		    tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900,
		    tm.tm_hour, tm.tm_min, tm.tm_sec);
		loop->date_sec = now;
	}
	return loop->date;
}

static void
send_now(struct oc_http_req *req)
{
	struct oc__loop *loop = req->loop;
	struct evhttp_request *evreq = req->evreq;
	struct evhttp_connection *evcon = evhttp_request_get_connection(evreq);
	struct oc__conn *c = evcon != NULL ? req->conn : NULL;
	struct evkeyvalq *out = evhttp_request_get_output_headers(evreq);
	struct evbuffer *ob = evhttp_request_get_output_buffer(evreq);
	bool head = strcmp(req->method, "HEAD") == 0;
	bool nobody = head || req->status == 204 || req->status == 304 ||
	    req->status < 200;
	struct hv h[OC__HTTP_MAX_SET_HDRS + 12];
	int n = 0;
	size_t bytes = 0;
	char clen[32];
	struct timespec now;
	unsigned long long us;

	/* evhttp would look each header up again and print the Date and
	 * Content-Length itself: the whole head is decided here, each name
	 * once (a later value replaces an earlier one), then added */
	hv_set(h, &n, "X-Content-Type-Options", "nosniff");
	hv_set(h, &n, "Referrer-Policy", "no-referrer");
	hv_set(h, &n, "X-Frame-Options", "DENY");
	if (req->ctype != NULL)
		hv_set(h, &n, "Content-Type", req->ctype);
	for (int i = 0; i < req->nhdrs; i++)
		hv_set(h, &n, req->hdrs[i].name, req->hdrs[i].value);
	if (is_json(req->ctype) && !hv_has(h, n, "Cache-Control"))
		hv_set(h, &n, "Cache-Control", "no-store");
	if (loop->draining || (c != NULL && c->reject))
		hv_set(h, &n, "Connection", "close");
	if (!hv_has(h, n, "Date"))
		hv_set(h, &n, "Date", date_now(loop));
	if (!nobody && req->rlen > 0) {
		if (evbuffer_add_reference(ob, req->rbody, req->rlen, free_ref,
		    NULL) == 0) {
			req->rbody = NULL;        /* the evbuffer frees it */
			bytes = req->rlen;
		}
	}
	if (head && req->status >= 200 && req->status != 204 &&
	    req->status != 304) {
		/* evhttp adds Content-Length only to replies with a body */
		snprintf(clen, sizeof(clen), "%zu", req->rlen);
		hv_set(h, &n, "Content-Length", clen);
	} else if (!nobody && !hv_has(h, n, "Content-Length") &&
	    !hv_has(h, n, "Transfer-Encoding")) {
		*u_append(clen, evbuffer_get_length(ob)) = '\0';
		hv_set(h, &n, "Content-Length", clen);
	}
	for (int i = 0; i < n; i++)
		evhttp_add_header(out, h[i].name, h[i].value);
	/* A plain connection that evhttp closes after this reply: corked, its
	 * FIN (evhttp's shutdown) leaves in the same segment as the reply
	 * instead of one more packet (a new connection per request, as `ab`
	 * and many OCSP clients do).  The decision is evhttp's own
	 * (evhttp_send_done): HTTP/1.0 without keep-alive, or "Connection:
	 * close" either way. */
	if (c != NULL && c->ssl == NULL && c->fd >= 0 &&
	    will_close(evreq, conn_close(h, n))) {
		int on = 1;

		(void)setsockopt(c->fd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on));
	}
	evhttp_send_reply(evreq, req->status, oc__reason(req->status), NULL);
	req->evreq = NULL;                  /* evhttp's now */
	/* evhttp leaves the head and the body in separate chains of the
	 * output buffer, and bufferevent_openssl writes each chain with its
	 * own SSL_write: two TLS records, two write(2)s.  The buffer is only
	 * written once the loop sees the socket writable, so a small reply
	 * made contiguous here leaves in one record and one system call. */
	if (c != NULL && c->ssl != NULL) {
		struct evbuffer *o = bufferevent_get_output(c->bev);
		size_t olen = evbuffer_get_length(o);

		if (olen > 0 && olen <= OC__HTTP_COALESCE)
			evbuffer_pullup(o, (ev_ssize_t)olen);
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	us = (unsigned long long)((now.tv_sec - req->t0.tv_sec) * 1000000LL +
	    (now.tv_nsec - req->t0.tv_nsec) / 1000);
	access_log(req, bytes, us);
	oc__metrics_count(loop, req->slot, req->status, us);
	if (c != NULL && !c->writing) {
		c->writing = true;
		loop->writing++;
	}
	/* Write in this loop iteration, right after the current callback,
	 * instead of once the loop has polled and seen the socket writable:
	 * the write event evhttp has just enabled is then disabled again
	 * before the change list reaches epoll (no epoll_ctl, no extra turn
	 * of the loop).  A socket that cannot take it all stays with the
	 * write event as before.  (ev_write: event2/bufferevent_struct.h;
	 * the socket and the OpenSSL bufferevents both write from it.) */
	if (c != NULL && evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
		event_active(&c->bev->ev_write, EV_WRITE, 1);
	atomic_fetch_sub(&loop->inflight, 1);
	oc__req_release(req);
}

static void
hop_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	send_now(arg);
}

static void
deliver(struct oc_http_req *req)
{
	if (on_loop_thread(req->loop)) {
		send_now(req);
		return;
	}
	req->hop = event_new(req->loop->base, -1, 0, hop_cb, req);
	if (req->hop == NULL) {
		oc_log(OC_LOG_ERROR, "http.reply_lost", "service=%s msg=\"out of "
		    "memory handing a reply to its event loop\"",
		    req->loop->srv->name);
		return;
	}
	event_active(req->hop, EV_TIMEOUT, 0);
}

/* ---- replies (any thread) ---------------------------------------------- */

static bool
claim(struct oc_http_req *req)
{
	char qp[OC_LOG_QBUF];

	if (req == NULL)
		return false;
	if (atomic_exchange(&req->replied, true)) {
		oc_log(OC_LOG_WARN, "http.double_reply", "service=%s method=%s "
		    "path=%s msg=\"second reply to one request ignored\"",
		    req->loop->srv->name, req->method,
		    oc_log_q(qp, sizeof(qp), req->path));
		return false;
	}
	return true;
}

static void
fill(struct oc_http_req *req, int status, const char *ctype)
{
	req->status = status >= 100 && status <= 599 ? status : 500;
	req->ctype = ctype != NULL ? strdup(ctype) : NULL;
}

void
oc_http_set_header(struct oc_http_req *req, const char *name, const char *value)
{
	char *n, *v;

	if (req == NULL || name == NULL || value == NULL)
		return;
	if (atomic_load(&req->replied)) {
		oc_log(OC_LOG_WARN, "http.late_header", "service=%s msg=\"header "
		    "set after the reply: ignored\"", req->loop->srv->name);
		return;
	}
	if (name[0] == '\0' || strpbrk(name, "\r\n: \t") != NULL ||
	    strpbrk(value, "\r\n") != NULL) {
		oc_log(OC_LOG_WARN, "http.bad_header", "service=%s msg=\"header "
		    "with CR, LF or a bad name: ignored\"", req->loop->srv->name);
		return;
	}
	if (req->nhdrs >= OC__HTTP_MAX_SET_HDRS)
		return;
	n = strdup(name);
	v = strdup(value);
	if (n == NULL || v == NULL) {
		free(n);
		free(v);
		return;
	}
	req->hdrs[req->nhdrs].name = n;
	req->hdrs[req->nhdrs].value = v;
	req->nhdrs++;
}

/* Takes ownership of body (malloc'd), even when the reply is refused. */
void
oc__reply_owned(struct oc_http_req *req, int status, const char *content_type,
    unsigned char *body, size_t len)
{
	if (!claim(req)) {
		free(body);
		return;
	}
	fill(req, status, content_type);
	req->rbody = body;
	req->rlen = body != NULL ? len : 0;
	deliver(req);
}

void
oc_http_reply(struct oc_http_req *req, int status, const char *content_type,
    const void *body, size_t len)
{
	unsigned char *copy = NULL;

	if (len > 0 && body != NULL) {
		if ((copy = malloc(len)) == NULL) {
			oc_log(OC_LOG_ERROR, "http.oom", "service=%s msg=\"no memory "
			    "for a reply of %zu bytes\"", req->loop->srv->name, len);
			oc_http_reply_error(req, 503, "out_of_memory",
			    "服务器内存不足，请稍后再试");
			return;
		}
		memcpy(copy, body, len);
	}
	oc__reply_owned(req, status, content_type, copy, len);
}

void
oc_http_reply_take(struct oc_http_req *req, int status,
    const char *content_type, void *body, size_t len)
{
	oc__reply_owned(req, status, content_type, body, len);
}

void
oc_http_reply_json(struct oc_http_req *req, int status, json_t *body)
{
	char *s = oc_json_dumps(body);

	json_decref(body);
	if (s == NULL) {
		oc_http_reply_error(req, 500, "internal_error", "服务器内部错误");
		return;
	}
	/* jansson allocates with malloc (no json_set_alloc_funcs) */
	oc__reply_owned(req, status, "application/json; charset=utf-8",
	    (unsigned char *)s, strlen(s));
}

void
oc_http_reply_error(struct oc_http_req *req, int status, const char *code,
    const char *message)
{
	json_t *j = oc_json_error(code, message);
	char *s = oc_json_dumps(j);

	json_decref(j);
	if (s == NULL) {
		static const char fallback[] = "{\"error\":{\"code\":\"internal_error\","
		    "\"message\":\"\"}}";

		oc_http_reply(req, status, "application/json; charset=utf-8",
		    fallback, sizeof(fallback) - 1);
		return;
	}
	oc__reply_owned(req, status, "application/json; charset=utf-8",
	    (unsigned char *)s, strlen(s));
}

void
oc_http_reply_err(struct oc_http_req *req, const struct oc_err *err)
{
	char qm[OC_LOG_QBUF], qd[OC_LOG_QBUF], qp[OC_LOG_QBUF];
	int code = err != NULL && err->code != 0 ? err->code : OC_EINTERNAL;
	const char *msg = err != NULL && err->msg[0] ? err->msg : "服务器内部错误";

	if (req == NULL)
		return;
	oc_log(oc_err_http_status(code) >= 500 ? OC_LOG_ERROR : OC_LOG_INFO,
	    "http.error", "service=%s path=%s code=%s msg=%s detail=%s",
	    req->loop->srv->name, oc_log_q(qp, sizeof(qp), req->path),
	    oc_err_name(code), oc_log_q(qm, sizeof(qm), msg),
	    oc_log_q(qd, sizeof(qd), err != NULL ? err->detail : ""));
	oc_http_reply_error(req, oc_err_http_status(code), oc_err_name(code), msg);
}

/* ---- accessors ------------------------------------------------------------ */

const char *
oc_http_req_method(struct oc_http_req *req)
{
	return req->method;
}

const char *
oc_http_req_path(struct oc_http_req *req)
{
	return req->path;
}

const char *
oc_http_req_tail(struct oc_http_req *req)
{
	return req->tail != NULL ? req->tail : "";
}

const char *
oc_http_req_query(struct oc_http_req *req, const char *key)
{
	return key == NULL ? NULL : evhttp_find_header(&req->query, key);
}

const char *
oc_http_req_header(struct oc_http_req *req, const char *name)
{
	if (name == NULL || req->evreq == NULL || atomic_load(&req->replied))
		return NULL;
	return evhttp_find_header(evhttp_request_get_input_headers(req->evreq),
	    name);
}

const unsigned char *
oc_http_req_body(struct oc_http_req *req, size_t *len)
{
	if (atomic_load(&req->replied)) {
		if (len != NULL)
			*len = 0;
		return NULL;
	}
	if (len != NULL)
		*len = req->body_len;
	return req->body;
}

X509 *
oc_http_req_client_cert(struct oc_http_req *req, STACK_OF(X509) **chain)
{
	if (chain != NULL)
		*chain = req->chain;
	return req->cert;
}

bool
oc_http_req_is_tls(struct oc_http_req *req)
{
	return req->tls;
}

const char *
oc_http_req_peer(struct oc_http_req *req)
{
	return req->peer;
}

void *
oc_http_req_worker(struct oc_http_req *req)
{
	return req->worker_ctx;
}

/* ---- evhttp's callback: a whole request has arrived ------------------------ */

void
oc__req_pause_input(struct oc_http_req *req)
{
	struct evhttp_connection *evcon = req->evreq != NULL ?
	    evhttp_request_get_connection(req->evreq) : NULL;

	if (evcon != NULL)
		bufferevent_disable(evhttp_connection_get_bufferevent(evcon),
		    EV_READ);
}

void
oc__http_on_request(struct evhttp_request *evreq, void *arg)
{
	struct oc__loop *loop = arg;
	struct oc_http_server *srv = loop->srv;
	struct evhttp_connection *evcon = evhttp_request_get_connection(evreq);
	struct oc__conn *c = oc__conn_of(srv, evreq);
	struct oc_http_req *req;
	int st;

	if (c != NULL) {
		c->state = OC__CS_WAIT;
		evhttp_request_set_on_complete_cb(evreq, oc__conn_request_done, c);
	}
	if ((req = req_new(loop, c, evreq)) == NULL) {
		oc_log(OC_LOG_ERROR, "http.oom", "service=%s", srv->name);
		evhttp_add_header(evhttp_request_get_output_headers(evreq),
		    "Connection", "close");
		evhttp_send_reply(evreq, 503, "Service Unavailable", NULL);
		return;
	}
	atomic_fetch_add(&loop->inflight, 1);
	if (c != NULL && c->reject) {
		req->slot = srv->n_routes + OC__SLOT_REJECT;
		snprintf(req->method, sizeof(req->method), "%s", c->reject_method);
		free(req->path);
		req->path = strdup(c->reject_path);
		if (req->path == NULL)
			req->path = strdup("-");
		oc_http_reply_error(req, c->reject, c->reject_code, c->reject_msg);
		oc__req_release(req);
		return;
	}
	if (c == NULL && evcon != NULL) {
		/* a connection we could not set up (out of memory) */
		req->slot = srv->n_routes + OC__SLOT_REJECT;
		oc_http_set_header(req, "Connection", "close");
		oc_http_reply_error(req, 503, "busy", "服务器繁忙，请稍后再试");
		oc__req_release(req);
		return;
	}
	if ((st = oc__req_load_client_cert(req)) != 0) {
		req->slot = srv->n_routes + OC__SLOT_REJECT;
		oc_http_reply_error(req, st, "bad_client_cert",
		    "反向代理传来的客户端证书（Client-Cert）格式错误");
		oc__req_release(req);
		return;
	}
	oc__route_dispatch(req);
}
