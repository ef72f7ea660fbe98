/*
 * http.h — the HTTP(S) server core shared by `onecert ca serve` and
 * `onecert hall serve` (libevent 2.1 evhttp + bufferevent_openssl).
 *
 * One event loop per thread (default: one per core), each with its own
 * SO_REUSEPORT listening sockets, HTTP/1.1 keep-alive.  The TLS listener
 * asks for (does not require) a client certificate: handlers get it as an
 * X509* (oc_http_req_client_cert).  Behind a reverse proxy the certificate
 * arrives in the RFC 9440 `Client-Cert` header, honoured only from the
 * configured proxy addresses and ignored (with a log line) from anyone else.
 *
 * Handlers flagged OC_HTTP_BLOCKING (database, PKCS#11, signer process)
 * run on a worker-thread pool, never on an event loop; the reply functions
 * may be called from either kind of thread, exactly once per request.
 * Each worker thread has a context made by config.worker_init (e.g. its own
 * store handle), reachable with oc_http_req_worker(req).  A route flagged
 * OC_HTTP_LOOP_FIRST as well runs first on the event loop, with a context
 * of the loop's own (worker_init is called once per loop too), and hands
 * itself to the pool with oc_http_req_defer() as soon as it needs
 * something that may block: a read-mostly request is then answered
 * without two thread switches.
 *
 * Request bodies are limited per route: a Content-Length over the limit is
 * refused (413) before the body is read, and a chunked body is cut off at
 * the limit.  Built in: GET /healthz, GET /metrics (Prometheus text),
 * static files (config.static_dir) for GET/HEAD of paths no route claims,
 * errors as {"error": {"code": "…", "message": "…"}}, one access-log line
 * per request (each event loop gathers its lines and writes them in
 * batches of whole lines, at most 50 ms after the reply and all of them
 * before oc_http_server_run returns), graceful shutdown on SIGTERM/SIGINT
 * (stop accepting, finish in-flight requests, then return from
 * oc_http_server_run).
 */
#ifndef ONECERT_HTTP_H
#define ONECERT_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include <openssl/x509.h>
#include "onecert/buf.h"
#include "onecert/error.h"

struct oc_http_server;
struct oc_http_req;

typedef void (*oc_http_handler)(struct oc_http_req *req, void *arg);

enum {
	OC_HTTP_BLOCKING = 1 << 0,   /* run on the worker pool */
	OC_HTTP_TLS_ONLY = 1 << 1,   /* 403 on the plain listener */
	OC_HTTP_PREFIX = 1 << 2,     /* path matches as a prefix; the rest is
	                                oc_http_req_tail() */
	OC_HTTP_LOOP_FIRST = 1 << 3, /* with BLOCKING: try on the event loop
	                                first (oc_http_req_defer) */
};

struct oc_http_route {
	const char *method;          /* "GET", "POST", …; NULL = any (the
	                                handler checks) */
	const char *path;            /* exact path, or a prefix with OC_HTTP_PREFIX */
	oc_http_handler fn;
	void *arg;
	size_t max_body;             /* 0: no body accepted */
	unsigned flags;
	const char *too_large;       /* the 413 message when the body is over
	                                max_body (NULL: a generic one) */
};

struct oc_http_config {
	const char *name;            /* service name in logs and metrics ("ca") */
	const char *listen;          /* plain HTTP "127.0.0.1:8080"; NULL: none */
	const char *tls_listen;      /* HTTPS "127.0.0.1:8443"; NULL: none */
	const char *tls_cert;        /* PEM: server certificate (+ chain) */
	const char *tls_key;         /* PEM: its private key */
	const char *client_ca;       /* PEM: CAs named in CertificateRequest;
	                                NULL: any client certificate is asked for */
	const char *const *proxies;  /* addresses allowed to send Client-Cert */
	size_t n_proxies;
	int threads;                 /* event loops; 0 = number of cores */
	int workers;                 /* worker pool; 0 = 2 × cores */
	int timeout_s;               /* idle/read/write timeout; 0 = 30 */
	int max_connections;         /* per loop; 0 = 4096 */
	const char *static_dir;      /* NULL: no static files */
	/* Per worker thread context (may be NULL): made once per worker at
	 * start, freed at shutdown. */
	void *(*worker_init)(void *arg);
	void (*worker_free)(void *ctx);
	void *worker_arg;
	/* Extra Prometheus text appended to /metrics (may be NULL); called
	 * on a worker thread. */
	void (*metrics)(struct oc_buf *out, void *arg);
	void *metrics_arg;
	/* Most requests waiting for a worker; beyond it a blocking route
	 * answers 503.  0 = 64 × workers. */
	int queue_max;
};

/* Fixed malloc thresholds for a serving process (glibc; nothing
 * elsewhere): glibc gives the free top of a heap back to the kernel as
 * soon as it passes M_TRIM_THRESHOLD (128 KiB at first), with
 * madvise(MADV_DONTNEED) in a thread's arena, and the next request faults
 * the same pages in again.  Each worker's SQLite connection frees and
 * re-allocates its page cache whenever another connection has committed,
 * so under load this churn cost 6–11 % of `ca serve`'s CPU and 10 page
 * faults per hall login (bench/README.md, "RA API issuance, 2026-12-05",
 * "Logins, fourth round").  Call once at start-up, before any fork or
 * thread (children inherit it). */
void oc_http_malloc_tune(void);

/* Caller owns the result.  Binds the listeners (so a busy port fails here,
 * with a clear message) but serves nothing until run. */
struct oc_http_server *oc_http_server_new(const struct oc_http_config *cfg,
	const struct oc_http_route *routes, size_t n_routes, struct oc_err *err);
/* Serve until oc_http_server_stop or SIGTERM/SIGINT; 0 after a clean stop. */
int oc_http_server_run(struct oc_http_server *srv);
/* From any thread or a signal-safe context: begin a graceful stop. */
void oc_http_server_stop(struct oc_http_server *srv);
void oc_http_server_free(struct oc_http_server *srv);
/* The bound port of the plain / TLS listener (useful with port 0). */
int oc_http_server_port(struct oc_http_server *srv, bool tls);

/* ---- requests (all pointers borrowed, valid until the reply) ---- */
const char *oc_http_req_method(struct oc_http_req *req);
const char *oc_http_req_path(struct oc_http_req *req);     /* decoded path, no query */
const char *oc_http_req_tail(struct oc_http_req *req);     /* after a PREFIX route */
/* A query parameter (decoded), or NULL. */
const char *oc_http_req_query(struct oc_http_req *req, const char *key);
const char *oc_http_req_header(struct oc_http_req *req, const char *name);
const unsigned char *oc_http_req_body(struct oc_http_req *req, size_t *len);
/* The client certificate of this request: from the TLS connection, or from
 * a trusted proxy's Client-Cert header; NULL if none.  chain (optional)
 * gets the rest the client sent (borrowed, may be NULL). */
X509 *oc_http_req_client_cert(struct oc_http_req *req, STACK_OF(X509) **chain);
bool oc_http_req_is_tls(struct oc_http_req *req);
const char *oc_http_req_peer(struct oc_http_req *req);     /* "ip" */
void *oc_http_req_worker(struct oc_http_req *req);         /* worker ctx or NULL */
/* In a handler running on an event loop (an OC_HTTP_LOOP_FIRST route):
 * true = the request will be handled again, from the start, by the same
 * handler on a worker thread; the handler must return at once without
 * replying.  Call it before replying or setting a header.  On a worker
 * (blocking is fine there) it returns false: carry on. */
bool oc_http_req_defer(struct oc_http_req *req);
/* Whether the handler runs on an event loop (where it must not block). */
bool oc_http_req_on_loop(struct oc_http_req *req);

/* ---- replies: exactly one per request, from any thread ----
 * A second reply (or a header set after the reply) is logged and ignored;
 * the request stays valid until its handler has returned. */
void oc_http_set_header(struct oc_http_req *req, const char *name, const char *value);
void oc_http_reply(struct oc_http_req *req, int status, const char *content_type,
	const void *body, size_t len);
/* The same, taking body (malloc'd; freed by the server, also when the
 * reply is refused): no copy. */
void oc_http_reply_take(struct oc_http_req *req, int status,
	const char *content_type, void *body, size_t len);
/* Takes ownership of body. */
void oc_http_reply_json(struct oc_http_req *req, int status, json_t *body);
/* {"error": {"code": code, "message": message}} */
void oc_http_reply_error(struct oc_http_req *req, int status, const char *code,
	const char *message);
/* Status and code from err->code (oc_err_http_status / oc_err_name),
 * message err->msg; err->detail goes to the log only. */
void oc_http_reply_err(struct oc_http_req *req, const struct oc_err *err);

#endif
