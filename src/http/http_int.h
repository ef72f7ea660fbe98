/*
 * http_int.h — what the files of src/http/ share (not a public header).
 *
 * Shape of the server (see server.c for the whole story):
 *   - N event loops (struct oc__loop), one thread each, each with its own
 *     SO_REUSEPORT listening sockets and two evhttp objects (plain, TLS);
 *   - every accepted connection (struct oc__conn, conn.c) watches its
 *     input buffer and holds each request head until it is complete, so a
 *     body limit is chosen per route and an oversized request is refused
 *     before its body is read, and a head that takes too long is dropped;
 *   - a request (struct oc_http_req, request.c) lives until both its
 *     handler has returned and its reply has been handed to evhttp
 *     (two references); replies from other threads hop back to the owning
 *     loop through a one-shot event;
 *   - OC_HTTP_BLOCKING handlers run on a worker pool (workers.c);
 *     OC_HTTP_LOOP_FIRST ones run on their loop first (with the loop's
 *     own context, loop->ctx) and move to the pool if they defer.
 */
#ifndef ONECERT_HTTP_INT_H
#define ONECERT_HTTP_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/bufferevent.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "onecert/http.h"

#define OC__HTTP_MAX_HEAD     (16 * 1024)  /* request line + headers */
#define OC__HTTP_DEFAULT_BODY (64 * 1024)  /* paths no route claims */
#define OC__HTTP_MAX_SET_HDRS 32           /* oc_http_set_header per reply */
#define OC__HTTP_DRAIN_S      30           /* graceful stop: most we wait */
#define OC__HTTP_COALESCE     (16 * 1024)  /* a TLS reply up to this: one record */
#define OC__LOG_BUF           (32 * 1024)  /* access-log lines gathered per loop */
#define OC__LOG_CHUNK         4096         /* … written at most this much at a
                                              time (PIPE_BUF: atomic on a pipe) */
#define OC__LOG_DELAY_MS      50           /* … and at most this late */

/* Route slots for metrics: the configured routes come first (0..n-1),
 * then these built-in ones. */
enum {
	OC__SLOT_HEALTHZ,
	OC__SLOT_METRICS,
	OC__SLOT_STATIC,
	OC__SLOT_NONE,      /* no route: 404 / 405 */
	OC__SLOT_REJECT,    /* refused before routing (bad head, 413, 431) */
	OC__SLOT_N
};

#define OC__N_STATUS 40   /* see metrics.c: status -> counter index */

struct oc__route_stats {
	_Atomic unsigned long long by_status[OC__N_STATUS];
	_Atomic unsigned long long dur_us;     /* sum of durations */
	_Atomic unsigned long long n;
};

struct oc__proxy {
	int family;                  /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	int prefix;                  /* bits */
};

struct oc__loop;

/* One accepted connection (conn.c).  Created in evhttp's bevcb, adopted
 * right after evhttp has set the connection up, freed by evhttp's close
 * callback.  Touched only on the loop thread. */
struct oc__conn {
	struct oc__loop *loop;
	struct bufferevent *bev;     /* socket or OpenSSL bufferevent */
	SSL *ssl;                    /* NULL on the plain listener */
	struct evhttp_connection *evcon;   /* NULL until adopted */
	struct evbuffer *hold;       /* an incomplete request head */
	size_t scanned;              /* bytes of hold searched for its end */
	struct evbuffer_cb_entry *incb;
	struct event *deadline;      /* the head must be complete by then */
	struct event *keep;          /* a second EV_READ on the socket (conn.c,
	                                "epoll") */
	int keep_miss;               /* keep fired with nobody reading */
	struct oc__conn *next_pending;
	int fd;
	enum { OC__CS_HEAD, OC__CS_BODY, OC__CS_WAIT, OC__CS_DISCARD } state;
	bool busy;                   /* inside our own input callback */
	bool linger;                 /* refused: linger when closing */
	int reject;                  /* status of a refused request, 0: none */
	const char *reject_code;
	const char *reject_msg;
	char reject_method[16];
	char reject_path[256];
	bool writing;                /* a reply is being written */
};

struct oc__linger;

struct oc__listener_ctx {
	struct oc__loop *loop;
	bool tls;
};

struct oc__loop {
	struct oc_http_server *srv;
	int idx;
	pthread_t tid;                          /* set by the loop thread */
	atomic_bool running;                    /* tid is valid */
	bool created;                           /* th is joinable */
	struct event_base *base;
	struct evhttp *http[2];                 /* [0] plain, [1] TLS */
	struct evhttp_bound_socket *bound[2];
	struct oc__listener_ctx lctx[2];
	struct event *stop_ev;                  /* activated: begin draining */
	struct event *drain_ev;                 /* timer while draining */
	struct event *sig_ev[2];                /* loop 0: SIGINT, SIGTERM */
	struct event *wake_ev;                  /* loop 0: oc_http_server_stop */
	struct event *adopt_ev;                 /* adopts new connections */
	struct oc__conn *pending;               /* accepted, not yet adopted */
	struct oc__linger *lingering;           /* closed, draining input */
	pthread_t th;                           /* for pthread_join */
	bool paused;                            /* listeners off: max conns */
	bool draining;
	struct timespec drain_deadline;
	_Atomic int nconns;
	_Atomic int inflight;                   /* dispatched, not yet sent */
	int writing;                            /* replies being written */
	void *ctx;                              /* worker_init's, for
	                                           LOOP_FIRST routes */
	struct oc__route_stats *stats;          /* this loop's counters (in
	                                           srv->stats) */
	/* requests of this loop not yet freed, for cleanup after a forced
	 * stop (a request may be freed on a worker: hence the lock) */
	pthread_mutex_t live_mu;
	struct oc_http_req *live;
	/* the access log: lines gathered here and written in batches of at
	 * most OC__LOG_CHUNK bytes, at most OC__LOG_DELAY_MS late (request.c) */
	char *logbuf;
	size_t loglen;
	struct event *log_ev;
	time_t log_sec;                         /* of log_ts */
	char log_ts[64];                        /* "ts=…T12:34:56" */
	time_t date_sec;                        /* of date */
	char date[64];                          /* the Date header's value */
};

struct oc__pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct oc_http_req **q;
	size_t cap, head, len;
	bool stop;
	bool inited;
	pthread_t *th;
	int n, started;
	struct oc_http_server *srv;
};

struct oc_http_server {
	struct oc_http_config cfg;   /* strings below are copies we own */
	char *name;
	struct oc_http_route *routes;
	size_t n_routes;
	size_t max_body;             /* largest limit of any route */
	struct oc__proxy *proxies;
	size_t n_proxies;
	char *static_root;           /* realpath of static_dir, or NULL */
	SSL_CTX *ssl_ctx;
	int nloops;
	struct oc__loop *loops;
	int port[2];
	struct oc__pool pool;
	/* fd -> connection, so a request finds its connection (evhttp gives
	 * no way to hang data on one). */
	_Atomic(struct oc__conn *) *conns;
	size_t n_conns_slots;
	int wake_fd[2];
	atomic_bool stop_requested;
	bool stopping;               /* loop 0 only */
	bool ran;
	bool loop_ctx;               /* some route is OC_HTTP_LOOP_FIRST */
	/* counters: n_routes + OC__SLOT_N per loop, each loop's own (only
	 * its thread writes them, /metrics adds them up) */
	struct oc__route_stats *stats;
	_Atomic unsigned long long conns_total;
	_Atomic unsigned long long rejected_busy;
};

/* A request.  Two references: the handler's (dropped when it returns)
 * and the reply's (dropped once the reply is handed to evhttp). */
struct oc_http_req {
	struct oc__loop *loop;
	struct oc__conn *conn;       /* valid while evreq has a connection */
	struct evhttp_request *evreq;
	atomic_int refs;
	atomic_bool replied;
	const struct oc_http_route *route;
	oc_http_handler fn;          /* what a worker runs */
	void *fn_arg;
	int slot;
	char method[16];
	char *path;                  /* decoded */
	const char *tail;            /* into path */
	struct evkeyvalq query;
	const unsigned char *body;
	size_t body_len;
	char peer[64];
	bool tls;
	X509 *cert;
	STACK_OF(X509) *chain;
	char subject[256];           /* for the access log */
	void *worker_ctx;
	bool on_loop;                /* the handler runs on the event loop */
	bool deferred;               /* oc_http_req_defer: to the pool */
	struct timespec t0;
	struct event *hop;
	/* the reply, filled by oc_http_reply on any thread */
	int status;
	char *ctype;
	unsigned char *rbody;
	size_t rlen;
	struct { char *name, *value; } hdrs[OC__HTTP_MAX_SET_HDRS];
	int nhdrs;
	struct oc_http_req *next, *prev;
};

/* conn.c */
/* A request head as the connection looks at it before evhttp does. */
struct oc__head {
	size_t len;              /* bytes of the head */
	char method[16];
	char path[256];          /* for the log only */
	int status;              /* 0, or the refusal */
	const char *code, *msg;
};
enum oc__verdict { OC__V_MORE, OC__V_ACCEPT, OC__V_REFUSE };
/* Look at the head at the start of buf (c->hold; only c->scanned and
 * c->loop->srv's routes are used).  OC__V_MORE: incomplete (c->scanned
 * says how far it was searched); otherwise h says what was found, h->len
 * where the head ends, and *limit the body limit of an accepted one.
 * Empty lines before the request line are drained from buf. */
enum oc__verdict oc__head_look(struct oc__conn *c, struct evbuffer *buf,
	struct oc__head *h, size_t *limit);
struct bufferevent *oc__conn_bevcb(struct event_base *base, void *arg);
struct oc__conn *oc__conn_of(struct oc_http_server *srv,
	struct evhttp_request *evreq);
void oc__conn_request_done(struct evhttp_request *evreq, void *arg);
void oc__conn_adopt_cb(evutil_socket_t fd, short what, void *arg);
void oc__conn_free_pending(struct oc__loop *loop);
void oc__linger_free_all(struct oc__loop *loop);
void oc__conn_resume_listeners(struct oc__loop *loop);

/* request.c */
void oc__http_on_request(struct evhttp_request *evreq, void *arg);
void oc__req_release(struct oc_http_req *req);
/* Before a request leaves its loop (to a worker): stop reading its
 * connection until the reply is written. */
void oc__req_pause_input(struct oc_http_req *req);
void oc__req_free_leftovers(struct oc_http_server *srv);
/* Write what the loop's access log holds (its thread, or after it ended). */
void oc__log_flush(struct oc__loop *loop);
void oc__log_timer_cb(evutil_socket_t fd, short what, void *arg);
/* Takes ownership of body (malloc'd). */
void oc__reply_owned(struct oc_http_req *req, int status,
	const char *content_type, unsigned char *body, size_t len);

/* router.c */
const struct oc_http_route *oc__route_find(const struct oc_http_server *srv,
	const char *method, const char *path, bool *path_known,
	const char **tail);
size_t oc__route_body_limit(const struct oc_http_server *srv,
	const char *method, const char *path, const char **too_large);
void oc__route_allow(const struct oc_http_server *srv, const char *path,
	char *out, size_t cap);
void oc__route_dispatch(struct oc_http_req *req);

/* workers.c */
int oc__pool_start(struct oc_http_server *srv);
bool oc__pool_push(struct oc__pool *pool, struct oc_http_req *req);
void oc__pool_stop(struct oc__pool *pool);
size_t oc__pool_depth(struct oc__pool *pool);

/* static.c */
bool oc__static_serve(struct oc_http_req *req);
bool oc__static_exists(const struct oc_http_server *srv, const char *path);

/* clientcert.c */
#define OC__CLIENT_CHAIN_MAX 8             /* Client-Cert-Chain members */
#define OC__CLIENT_DER_MAX   (16 * 1024)   /* a certificate's DER (its base64:
                                              at most 4/3 of this + 4) */
int oc__proxies_parse(struct oc_http_server *srv, const char *const *list,
	size_t n, struct oc_err *err);
bool oc__peer_is_proxy(const struct oc_http_server *srv, const char *peer);
/* 0, or a status to refuse the request with (400: bad Client-Cert). */
int oc__req_load_client_cert(struct oc_http_req *req);
/* RFC 9440: the values of a trusted proxy's Client-Cert and
 * Client-Cert-Chain headers (NUL-terminated, either may be NULL) to the
 * certificate and the rest of the chain (caller frees both).  0 with
 * *cert NULL when there is no Client-Cert; 0 with *chain NULL when there
 * is no chain; 400 for anything but ":base64 DER:" (OWS around it) with
 * DER that is exactly one certificate, and for more than
 * OC__CLIENT_CHAIN_MAX chain members; 500 out of memory.  On an error
 * both are NULL. */
int oc__client_cert_parse(const char *cert_h, const char *chain_h,
	X509 **cert, STACK_OF(X509) **chain);

/* metrics.c */
/* On the loop thread. */
void oc__metrics_count(struct oc__loop *loop, int slot, int status,
	unsigned long long dur_us);
void oc__metrics_handler(struct oc_http_req *req, void *arg);
void oc__healthz_handler(struct oc_http_req *req, void *arg);

/* small helpers (request.c) */
const char *oc__reason(int status);
double oc__ms_since(const struct timespec *t0);

#endif
