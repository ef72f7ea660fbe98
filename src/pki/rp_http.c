/*
 * rp_http.c — the relying party's HTTP client for OCSP (POST) and CRL
 * (GET) downloads, on OpenSSL 3's own client (OSSL_HTTP_open,
 * OSSL_HTTP_set1_request, OSSL_HTTP_exchange): one library for
 * everything (SPEC §2), bounded response sizes, ASN.1 framing checked
 * by the client, content type checked for OCSP.
 *
 * Why the connection is made here and not by OpenSSL (measured with
 * OpenSSL 3.0.19):
 *  - OSSL_HTTP_transfer / OSSL_HTTP_get connect through
 *    BIO_do_connect_retry, which treats "connection refused" as worth
 *    retrying: a responder that is down costs the whole timeout (3.3 s
 *    for timeout 3), and with timeout 0 the call never returns.  A dead
 *    responder must fail at once so that the CRL fallback runs.
 *  - With proxy == NULL they read http_proxy / HTTP_PROXY from the
 *    environment; a relying party must not send its revocation traffic
 *    wherever the environment says.
 * So we resolve and connect ourselves (non-blocking connect, poll with
 * the timeout, every address of the name in turn) and give the connected,
 * non-blocking socket to OSSL_HTTP_open as both its write and read BIO:
 * OpenSSL then skips its connect step, and since the socket is
 * non-blocking its exchange waits with BIO_wait and honours the timeout.
 * OSSL_HTTP_exchange only reports redirects to the caller; we follow at
 * most three, for GET, to http URLs only.
 *
 * https URLs are refused (OC_EUNSUPPORTED): OCSP and CRL URLs are plain
 * http by custom and by RFC 5280/6960 (their answers are signed), and a
 * TLS client would need its own trust store for the CA's servers.
 *
 * SIGPIPE: a peer that closes while we write would raise it.  The HTTP
 * server core ignores it process-wide; for other callers (CLI, tests) the
 * signal is blocked in this thread during the exchange and a SIGPIPE it
 * raised is consumed before unblocking (curl's technique).
 *
 * DNS lookups use getaddrinfo and are not bounded by the timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/http.h>
#include <openssl/httperr.h>

#include "rp_int.h"

#define MAX_REDIRECTS 3

static long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Connect to host:port before deadline (monotonic ms).  *fd is a
 * connected non-blocking socket. */
static int
connect_to(const char *host, const char *port, long deadline, int *fd,
    struct oc_err *err)
{
	struct addrinfo hints, *res = NULL, *ai;
	int rc, s = -1, e = 0, gai;

	*fd = -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((gai = getaddrinfo(host, port, &hints, &res)) != 0)
		return oc_err_set(err, OC_EIO, "无法解析主机名 %s / cannot "
		    "resolve %s: %s", host, host, gai_strerror(gai));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		struct pollfd pfd;
		socklen_t elen = sizeof(e);
		long left;

		s = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
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
		left = deadline - mono_ms();
		do {
			rc = poll(&pfd, 1, left > 0 ? (int)left : 0);
		} while (rc < 0 && errno == EINTR);
		if (rc == 1 && getsockopt(s, SOL_SOCKET, SO_ERROR, &e,
		    &elen) == 0 && e == 0)
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
	if (s < 0)
		return oc_err_set(err, OC_EIO, "无法连接 %s:%s（%s） / cannot "
		    "connect to %s:%s: %s", host, port, strerror(e), host, port,
		    strerror(e));
	*fd = s;
	return 0;
}

/* One exchange.  *redirect is set (OPENSSL_malloc'd) for a 301/302 to
 * a GET. */
static int
exchange(const char *url, const char *ctype, const unsigned char *req,
    size_t reqlen, const char *expect_ctype, size_t max_len, long timeout_s,
    unsigned char **body, size_t *len, char **redirect, struct oc_err *err)
{
	char *host = NULL, *port = NULL, *path = NULL, *query = NULL,
	    *pathq = NULL;
	OSSL_HTTP_REQ_CTX *rctx = NULL;
	BIO *sock = NULL, *reqbio = NULL, *resp = NULL;
	long deadline = mono_ms() + timeout_s * 1000, left_s;
	int use_ssl = 0, fd = -1, rc = OC_EINVAL;
	char *data;
	long n;

	if (!OSSL_HTTP_parse_url(url, &use_ssl, NULL, &host, &port, NULL,
	    &path, &query, NULL)) {
		rc = oc_err_openssl(err, OC_EINVAL, "URL 无效：%.200s / bad URL: "
		    "%.200s", url, url);
		goto out;
	}
	if (use_ssl) {
		rc = oc_err_set(err, OC_EUNSUPPORTED, "不支持 https 的 OCSP/CRL "
		    "地址：%.200s / https OCSP/CRL URLs are not supported: "
		    "%.200s", url, url);
		goto out;
	}
	if (query != NULL && *query != '\0') {
		size_t m = strlen(path) + strlen(query) + 2;

		if ((pathq = OPENSSL_malloc(m)) == NULL) {
			rc = oc_err_set(err, OC_ENOMEM, "内存不足 / out of memory");
			goto out;
		}
		snprintf(pathq, m, "%s?%s", path, query);
	}
	if ((rc = connect_to(host, port, deadline, &fd, err)) != 0)
		goto out;
	if ((sock = BIO_new_socket(fd, BIO_CLOSE)) == NULL) {
		close(fd);
		rc = oc_err_openssl(err, OC_ENOMEM, "内存不足 / out of memory");
		goto out;
	}
	if (req != NULL && (reqbio = BIO_new_mem_buf(req, (int)reqlen)) == NULL) {
		rc = oc_err_openssl(err, OC_ENOMEM, "内存不足 / out of memory");
		goto out;
	}
	left_s = (deadline - mono_ms() + 999) / 1000;
	if (left_s < 1)
		left_s = 1;
	/* bio and rbio both given: no connect step, no proxy. */
	if ((rctx = OSSL_HTTP_open(host, port, NULL, NULL, 0, sock, sock,
	    NULL, NULL, 0, (int)left_s)) == NULL ||
	    !OSSL_HTTP_set1_request(rctx, pathq != NULL ? pathq : path, NULL,
	    req != NULL ? ctype : NULL, reqbio, expect_ctype, 1, max_len,
	    (int)left_s, 0)) {
		rc = oc_err_openssl(err, OC_ENOMEM, "无法准备 HTTP 请求 / cannot "
		    "prepare the HTTP request");
		goto out;
	}
	resp = OSSL_HTTP_exchange(rctx, req == NULL ? redirect : NULL);
	if (resp == NULL) {
		unsigned long e = ERR_peek_last_error();

		if (redirect != NULL && *redirect != NULL) {
			rc = 0;     /* the caller follows it */
			goto out;
		}
		if (ERR_GET_LIB(e) == ERR_LIB_HTTP &&
		    (ERR_GET_REASON(e) == HTTP_R_MAX_RESP_LEN_EXCEEDED ||
		    ERR_GET_REASON(e) == HTTP_R_ASN1_LEN_EXCEEDS_MAX_RESP_LEN))
			rc = oc_err_openssl(err, OC_ETOOBIG, "%.200s 的回答太大 / "
			    "the answer from %.200s is too big", url, url);
		else
			rc = oc_err_openssl(err, OC_EIO, "%.200s 没有给出可用的回答 / "
			    "no usable answer from %.200s", url, url);
		goto out;
	}
	if ((n = BIO_get_mem_data(resp, &data)) <= 0 || (size_t)n > max_len) {
		rc = oc_err_set(err, OC_EINVAL, "%.200s 的回答为空 / empty answer "
		    "from %.200s", url, url);
		goto out;
	}
	if ((*body = OPENSSL_memdup(data, (size_t)n)) == NULL) {
		rc = oc_err_set(err, OC_ENOMEM, "内存不足 / out of memory");
		goto out;
	}
	*len = (size_t)n;
	rc = 0;
out:
	if (rctx != NULL)
		OSSL_HTTP_close(rctx, rc == 0);
	BIO_free(resp);
	BIO_free(reqbio);
	BIO_free_all(sock);
	OPENSSL_free(host);
	OPENSSL_free(port);
	OPENSSL_free(path);
	OPENSSL_free(query);
	OPENSSL_free(pathq);
	return rc;
}

int
oc__rp_http_fetch(const char *url, const char *ctype,
    const unsigned char *req, size_t reqlen, const char *expect_ctype,
    size_t max_len, long timeout_s, unsigned char **body, size_t *len,
    struct oc_err *err)
{
	sigset_t pipe_set, old, pending;
	char *redirect = NULL, *cur = NULL;
	bool was_pending;
	int rc = OC_EIO;

	*body = NULL;
	*len = 0;
	if (url == NULL || max_len == 0 || timeout_s <= 0)
		return oc_err_set(err, OC_EINVAL, "HTTP 参数无效 / bad HTTP "
		    "arguments");
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE) == 1;
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);

	if ((cur = OPENSSL_strdup(url)) == NULL) {
		rc = oc_err_set(err, OC_ENOMEM, "内存不足 / out of memory");
		goto out;
	}
	for (int hop = 0; ; hop++) {
		ERR_clear_error();
		rc = exchange(cur, ctype, req, reqlen, expect_ctype, max_len,
		    timeout_s, body, len, req == NULL ? &redirect : NULL, err);
		if (rc != 0 || redirect == NULL)
			break;
		if (hop >= MAX_REDIRECTS) {
			rc = oc_err_set(err, OC_EIO, "%.200s 重定向次数过多 / too "
			    "many redirects from %.200s", url, url);
			break;
		}
		OPENSSL_free(cur);
		cur = redirect;
		redirect = NULL;
	}
out:
	OPENSSL_free(redirect);
	OPENSSL_free(cur);
	ERR_clear_error();
	if (!was_pending) {
		struct timespec zero = { 0, 0 };

		sigpending(&pending);
		if (sigismember(&pending, SIGPIPE) == 1)
			(void)sigtimedwait(&pipe_set, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}
