/*
 * kannel.c — the Kannel backend: one blocking HTTP/1.0 GET to smsbox's
 * sendsms interface per message,
 *
 *   GET /cgi-bin/sendsms?username=…&password=…&to=…[&from=…]
 *       &charset=UTF-8&coding=2&text=<percent-encoded UTF-8>
 *
 * coding=2 asks for UCS-2 on the air (Chinese text), charset=UTF-8 says
 * what we send; smsbox converts.  Kannel answers 202 "0: Accepted for
 * delivery" (or "Sent."): any 2xx is success, anything else is OC_EIO
 * with the gateway's words in the message.
 *
 * Why not libevent's or OpenSSL's HTTP client: this runs in a worker
 * thread (or the CLI) and must be bounded as a whole — connect, send and
 * the answer share one deadline (non-blocking connect + poll, as
 * rp_http.c does), and a refused connection fails at once.  Only http://:
 * Kannel listens on loopback or a private network, and its sendsms
 * interface has no TLS of its own.  The answer is read into a buffer with
 * a hard cap; sends use MSG_NOSIGNAL so a gateway that hangs up cannot
 * raise SIGPIPE.  The request holds the sendsms password and is wiped.
 *
 * DNS lookups use getaddrinfo and are not bounded by the timeout (the
 * gateway is normally named by an address).
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "notify/notify_int.h"
#include "onecert/buf.h"

#define REQ_MAX (16 * 1024)
#define ANSWER_MAX (8 * 1024)          /* the most of an answer we read */
#define DEFAULT_PATH "/cgi-bin/sendsms"

static long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool
printable(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] == 0x7f)
			return false;
	return true;
}

int
oc__kannel_parse_url(const char *url, struct oc_kannel_url *out, struct oc_err *err)
{
	const char *a, *slash, *hp, *he, *colon = NULL;
	size_t hl;
	long port = 80;

	memset(out, 0, sizeof(*out));
	if (url == NULL || strncasecmp(url, "http://", 7) != 0)
		return oc_err_set(err, OC_ECONFIG, "短信网关地址须为 http:// URL / "
		    "the SMS gateway URL must be an http:// URL");
	a = url + 7;
	slash = a + strcspn(a, "/");
	if (!printable(url, strlen(url)) || strpbrk(url, "?#") != NULL ||
	    memchr(a, '@', (size_t)(slash - a)) != NULL)
		return oc_err_set(err, OC_ECONFIG, "短信网关地址不能含空白、用户信息、查询或片段 / "
		    "the SMS gateway URL may not hold blanks, user info, a query or a fragment");
	if (*a == '[') {
		hp = a + 1;
		if ((he = memchr(hp, ']', (size_t)(slash - hp))) == NULL)
			goto bad;
		if (he + 1 < slash) {
			if (he[1] != ':')
				goto bad;
			colon = he + 1;
		}
	} else {
		hp = a;
		colon = memchr(a, ':', (size_t)(slash - a));
		he = colon ? colon : slash;
	}
	hl = (size_t)(he - hp);
	if (hl == 0 || hl >= sizeof(out->host))
		goto bad;
	memcpy(out->host, hp, hl);
	if (colon != NULL) {
		const char *p = colon + 1;

		if (p == slash || slash - p > 5)
			goto bad;
		port = 0;
		for (; p < slash; p++) {
			if (*p < '0' || *p > '9')
				goto bad;
			port = port * 10 + (*p - '0');
		}
		if (port < 1 || port > 65535)
			goto bad;
	}
	snprintf(out->port, sizeof(out->port), "%ld", port);
	if (*slash == '\0' || strcmp(slash, "/") == 0)
		snprintf(out->path, sizeof(out->path), "%s", DEFAULT_PATH);
	else if (strlen(slash) >= sizeof(out->path))
		goto bad;
	else
		snprintf(out->path, sizeof(out->path), "%s", slash);
	return 0;
bad:
	return oc_err_set(err, OC_ECONFIG, "短信网关地址格式错误 / the SMS gateway URL is "
	    "malformed (http://host:port/path)");
}

/* Percent-encode every byte outside RFC 3986's unreserved set. */
static int
add_enc(struct oc_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char e[3] = { '%', 0, 0 };
	int rc = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p && rc == 0; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' ||
		    *p == '~') {
			rc = oc_buf_add(b, p, 1);
		} else {
			e[1] = hex[*p >> 4];
			e[2] = hex[*p & 15];
			rc = oc_buf_add(b, e, 3);
		}
	}
	return rc;
}

/* Connect to host:port before deadline (monotonic ms), every address of
 * the name in turn.  *fd is a connected non-blocking socket. */
static int
connect_to(const struct oc_kannel_url *u, long deadline, int *fd, char *answer,
    size_t cap, struct oc_err *err)
{
	struct addrinfo hints, *res = NULL, *ai;
	int rc, s = -1, e = 0, gai;

	*fd = -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((gai = getaddrinfo(u->host, u->port, &hints, &res)) != 0) {
		snprintf(answer, cap, "cannot resolve %s: %s", u->host, gai_strerror(gai));
		return oc_err_set(err, OC_EIO, "无法解析短信网关主机名 %s / cannot resolve the "
		    "SMS gateway %s: %s", u->host, u->host, gai_strerror(gai));
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		struct pollfd pfd;
		socklen_t elen = sizeof(e);
		long left;

		s = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (s < 0) {
			e = errno;
			continue;
		}
		if (connect(s, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno != EINPROGRESS) {
			e = errno;
			close(s);
			s = -1;
			continue;
		}
		pfd.fd = s;
		pfd.events = POLLOUT;
		pfd.revents = 0;
		do {
			left = deadline - mono_ms();
			rc = poll(&pfd, 1, left > 0 ? (int)left : 0);
		} while (rc < 0 && errno == EINTR);
		if (rc == 1 && getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &elen) == 0 && e == 0)
			break;
		if (rc == 0)
			e = ETIMEDOUT;
		else if (rc < 0)
			e = errno;
		close(s);
		s = -1;
		if (mono_ms() >= deadline)
			break;
	}
	freeaddrinfo(res);
	if (s < 0) {
		snprintf(answer, cap, "cannot connect to %s:%s: %s", u->host, u->port,
		    strerror(e));
		return oc_err_set(err, OC_EIO, "无法连接短信网关 %s:%s（%s） / cannot reach the "
		    "SMS gateway %s:%s: %s", u->host, u->port, strerror(e), u->host, u->port,
		    strerror(e));
	}
	*fd = s;
	return 0;
}

/* Wait until fd is ready for events or the deadline passes: 1 ready, 0
 * timed out, -1 error. */
static int
wait_fd(int fd, short events, long deadline)
{
	struct pollfd pfd = { fd, events, 0 };
	long left;
	int rc;

	do {
		left = deadline - mono_ms();
		if (left <= 0)
			return 0;
		rc = poll(&pfd, 1, (int)left);
	} while (rc < 0 && errno == EINTR);
	return rc < 0 ? -1 : rc > 0 ? 1 : 0;
}

static int
timed_out(const struct oc_notify *n, char *answer, size_t cap, struct oc_err *err)
{
	snprintf(answer, cap, "no answer within %lds", n->timeout);
	return oc_err_set(err, OC_EIO, "短信网关在%ld秒内没有应答 / the SMS gateway did not "
	    "answer within %ld s", n->timeout, n->timeout);
}

static int
send_all(int fd, const unsigned char *p, size_t len, long deadline)
{
	while (len > 0) {
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL);

		if (w > 0) {
			p += w;
			len -= (size_t)w;
		} else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int r = wait_fd(fd, POLLOUT, deadline);

			if (r <= 0)
				return r == 0 ? OC_EINVAL /* timeout */ : OC_EIO;
		} else if (w < 0 && errno == EINTR) {
			continue;
		} else {
			return OC_EIO;
		}
	}
	return 0;
}

/* Where the body starts (after the blank line), or NULL. */
static const char *
body_of(const char *p)
{
	const char *e = strstr(p, "\r\n\r\n");

	if (e != NULL)
		return e + 4;
	return (e = strstr(p, "\n\n")) != NULL ? e + 2 : NULL;
}

/* The Content-Length header's value, or -1. */
static long
content_length(const char *p, const char *body)
{
	for (const char *l = strchr(p, '\n'); l != NULL && l + 1 < body; l = strchr(l + 1, '\n')) {
		if (strncasecmp(l + 1, "Content-Length:", 15) == 0) {
			char *end;
			long v = strtol(l + 16, &end, 10);

			return v >= 0 ? v : -1;
		}
	}
	return -1;
}

/* Read the answer until the peer closes, Content-Length is reached, the
 * cap is reached or the deadline passes (OC_EINVAL for the latter). */
static int
read_answer(int fd, struct oc_buf *b, long deadline)
{
	char chunk[2048];

	for (;;) {
		const char *body;
		ssize_t r;
		long cl;

		if (b->len >= b->max)
			return 0;
		r = recv(fd, chunk, sizeof(chunk) < b->max - b->len ?
		    sizeof(chunk) : b->max - b->len, 0);
		if (r == 0)
			return 0;
		if (r < 0) {
			int w;

			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return b->len > 0 ? 0 : OC_EIO;
			if ((w = wait_fd(fd, POLLIN, deadline)) <= 0)
				return w == 0 ? OC_EINVAL : OC_EIO;
			continue;
		}
		if (oc_buf_add(b, chunk, (size_t)r) != 0)
			return 0;
		/* some servers keep the connection open: stop at the length */
		if ((body = body_of((const char *)b->p)) != NULL &&
		    (cl = content_length((const char *)b->p, body)) >= 0 &&
		    (size_t)(body - (const char *)b->p) + (size_t)cl <= b->len)
			return 0;
	}
}

/* The first line of the body, trimmed, printable ASCII only (others
 * become '?'), into out. */
static void
first_line(const char *body, char *out, size_t cap)
{
	size_t o = 0;

	while (*body == ' ' || *body == '\t' || *body == '\r' || *body == '\n')
		body++;
	for (; *body && *body != '\r' && *body != '\n' && o + 1 < cap; body++)
		out[o++] = (*body >= 0x20 && *body < 0x7f) ? *body : '?';
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

int
oc__kannel_send(const struct oc_notify *n, const char *to, const char *text,
    char *answer, size_t cap, struct oc_err *err)
{
	struct oc_buf req, resp;
	long deadline = mono_ms() + n->timeout * 1000;
	const char *p, *body;
	char line[160];
	int fd = -1, rc = OC_EIO, status, r;
	bool v6 = strchr(n->url.host, ':') != NULL;

	answer[0] = '\0';
	oc_buf_init(&req, REQ_MAX);
	oc_buf_init(&resp, ANSWER_MAX);
	if (oc_buf_printf(&req, "GET %s?username=", n->url.path) != 0 ||
	    add_enc(&req, n->user) != 0 || oc_buf_adds(&req, "&password=") != 0 ||
	    add_enc(&req, n->password) != 0 || oc_buf_adds(&req, "&to=") != 0 ||
	    add_enc(&req, to) != 0 ||
	    (n->from[0] && (oc_buf_adds(&req, "&from=") != 0 || add_enc(&req, n->from) != 0)) ||
	    oc_buf_adds(&req, "&charset=UTF-8&coding=2&text=") != 0 ||
	    add_enc(&req, text) != 0 ||
	    oc_buf_printf(&req, " HTTP/1.0\r\nHost: %s%s%s%s%s\r\nUser-Agent: onecert/%s\r\n"
	    "Connection: close\r\n\r\n", v6 ? "[" : "", n->url.host, v6 ? "]" : "",
	    strcmp(n->url.port, "80") ? ":" : "", strcmp(n->url.port, "80") ? n->url.port : "",
	    ONECERT_VERSION) != 0) {
		snprintf(answer, cap, "request too large");
		rc = oc_err_set(err, OC_ETOOBIG, "短信请求过长 / the SMS request is too large");
		goto out;
	}
	if ((rc = connect_to(&n->url, deadline, &fd, answer, cap, err)) != 0)
		goto out;
	if ((r = send_all(fd, req.p, req.len, deadline)) != 0) {
		int e = errno;

		if (r == OC_EINVAL) {
			rc = timed_out(n, answer, cap, err);
		} else {
			snprintf(answer, cap, "connection lost while sending: %s", strerror(e));
			rc = oc_err_set(err, OC_EIO, "向短信网关发送请求失败（%s） / sending to the "
			    "SMS gateway failed: %s", strerror(e), strerror(e));
		}
		goto out;
	}
	if ((r = read_answer(fd, &resp, deadline)) != 0) {
		int e = errno;

		if (r == OC_EINVAL) {
			rc = timed_out(n, answer, cap, err);
		} else {
			snprintf(answer, cap, "connection lost while reading: %s", strerror(e));
			rc = oc_err_set(err, OC_EIO, "读取短信网关应答失败（%s） / reading the SMS "
			    "gateway's answer failed: %s", strerror(e), strerror(e));
		}
		goto out;
	}
	/* "HTTP/1.x SSS reason" */
	p = (const char *)resp.p;
	if (resp.len < 12 || strncmp(p, "HTTP/", 5) != 0 || (p = strchr(p, ' ')) == NULL ||
	    p[1] < '1' || p[1] > '5' || p[2] < '0' || p[2] > '9' || p[3] < '0' || p[3] > '9' ||
	    (p[4] != ' ' && p[4] != '\r' && p[4] != '\n')) {
		first_line((const char *)resp.p, line, 64);
		snprintf(answer, cap, "not an HTTP answer: %s", line);
		rc = oc_err_set(err, OC_EIO, "短信网关的应答不是 HTTP / the SMS gateway's answer "
		    "is not HTTP: %s", line);
		goto out;
	}
	status = (p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0');
	body = body_of((const char *)resp.p);
	first_line(body ? body : "", line, sizeof(line));
	snprintf(answer, cap, "%d %s", status, line);
	if (status < 200 || status > 299) {
		rc = oc_err_set(err, OC_EIO, "短信网关拒绝发送：HTTP %d %.80s / the SMS gateway "
		    "refused the message: HTTP %d %.80s", status, line, status, line);
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	oc_buf_cleanse(&req);
	oc_buf_cleanup(&resp);
	return rc;
}
