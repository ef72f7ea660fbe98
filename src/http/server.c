/*
 * server.c — the life of an HTTP(S) server: binding, event loops, the TLS
 * context, graceful stop.
 *
 * Threads.  oc_http_server_run starts one thread per event loop and the
 * worker pool, then waits for them.  Each loop has its own event_base, its
 * own evhttp objects (one for the plain listener, one for TLS: evhttp's
 * bevcb has no way to tell the two apart) and its own listening sockets,
 * bound with SO_REUSEPORT so that the kernel spreads connections over the
 * loops without a shared accept lock.  Nothing of a loop is touched by
 * another thread except through event_active(), which libevent makes
 * thread-safe once evthread_use_pthreads() has been called.
 *
 * Binding happens in oc_http_server_new so that a busy port is reported
 * there.  SO_REUSEPORT would let a second onecert (same user) silently
 * share the port, so a throw-away socket without SO_REUSEPORT first probes
 * the address: it fails with EADDRINUSE if anyone listens there.
 *
 * Stop.  oc_http_server_stop only sets a flag and writes a byte to a pipe
 * (async-signal-safe); SIGINT and SIGTERM arrive as libevent signal events
 * on loop 0.  Loop 0 then activates every loop's stop event; each loop
 * closes its listeners, marks itself draining (replies get "Connection:
 * close") and exits once it has no request in flight and no reply being
 * written, or after OC__HTTP_DRAIN_S.  run() then stops the worker pool
 * (which by then has nothing queued) and closes the remaining idle
 * connections.
 */
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <openssl/core_dispatch.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "onecert/error.h"
#include "onecert/http.h"
#include "onecert/log.h"
#include "onecert/pki.h"
#include "http_int.h"

#define OC__TLS_CACHE     8192   /* TLS sessions kept for resumption */
#define OC__TLS_SESSION_S 1800   /* … each for this long */

static pthread_once_t libevent_once = PTHREAD_ONCE_INIT;
static int libevent_threads_ok;

static void
libevent_log(int severity, const char *msg)
{
	char q[OC_LOG_QBUF];
	enum oc_log_level lvl = severity >= EVENT_LOG_ERR ? OC_LOG_ERROR :
	    severity == EVENT_LOG_WARN ? OC_LOG_WARN : OC_LOG_DEBUG;

	oc_log(lvl, "http.libevent", "msg=%s", oc_log_q(q, sizeof(q), msg));
}

static void
libevent_init(void)
{
	libevent_threads_ok = evthread_use_pthreads() == 0;
	event_set_log_callback(libevent_log);
	/* A peer that closes early must not kill the process with SIGPIPE
	 * (libevent writes with writev, OpenSSL with write). */
	signal(SIGPIPE, SIG_IGN);
}

/* ---- addresses and sockets ------------------------------------------ */

/* "host:port", "[v6]:port", ":port" or "*:port". */
static int
parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sslen,
    struct oc_err *err)
{
	char host[256], port[16];
	const char *colon;
	struct addrinfo hints, *ai = NULL;
	size_t hl;
	int rc;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (end == NULL || end[1] != ':')
			goto bad;
		hl = (size_t)(end - s - 1);
		if (hl >= sizeof(host))
			goto bad;
		memcpy(host, s + 1, hl);
		host[hl] = '\0';
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			goto bad;
		hl = (size_t)(colon - s);
		if (hl >= sizeof(host))
			goto bad;
		memcpy(host, s, hl);
		host[hl] = '\0';
	}
	if (strlen(colon + 1) == 0 || strlen(colon + 1) >= sizeof(port) ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
	    atoi(colon + 1) > 65535)
		goto bad;
	snprintf(port, sizeof(port), "%s", colon + 1);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host[0] == '\0' || strcmp(host, "*") == 0 ? NULL : host,
	    port, &hints, &ai);
	if (rc != 0 || ai == NULL)
		return oc_err_set(err, OC_ECONFIG, "cannot resolve listen address "
		    "%s: %s", s, gai_strerror(rc));
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*sslen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
bad:
	return oc_err_set(err, OC_ECONFIG, "bad listen address \"%s\" (want "
	    "host:port or [v6]:port)", s);
}

static void
set_port(struct sockaddr_storage *ss, int port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
}

static int
get_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* A bound socket (listening unless probe); -errno on failure. */
static int
bind_socket(const struct sockaddr_storage *ss, socklen_t len, bool reuseport,
    bool probe)
{
	int fd, on = 1, e;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0)
		goto fail;
	if (reuseport &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0)
		goto fail;
	if (ss->ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) != 0)
		goto fail;
	/* Responses leave in several writes (head, body, TLS records): with
	 * Nagle on, the last one waits for the client's delayed ACK (40 ms)
	 * on a keep-alive connection.  Accepted sockets inherit the option. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) != 0)
		goto fail;
	if (bind(fd, (const struct sockaddr *)ss, len) != 0)
		goto fail;
	if (!probe && listen(fd, 511) != 0)
		goto fail;
	return fd;
fail:
	e = errno;
	close(fd);
	return -e;
}

static int
bind_listeners(struct oc_http_server *srv, int which, const char *addr,
    struct oc_err *err)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	int port, fd, rc;

	if ((rc = parse_listen(addr, &ss, &len, err)) != 0)
		return rc;
	port = get_port(&ss);
	if (port != 0) {
		fd = bind_socket(&ss, len, false, true);
		if (fd == -EADDRINUSE)
			return oc_err_set(err, OC_EIO, "address %s is already in use "
			    "(is another onecert running?)", addr);
		if (fd < 0)
			return oc_err_set(err, OC_EIO, "cannot bind %s: %s", addr,
			    strerror(-fd));
		close(fd);
	}
	for (int i = 0; i < srv->nloops; i++) {
		struct oc__loop *loop = &srv->loops[i];

		fd = bind_socket(&ss, len, true, false);
		if (fd == -EADDRINUSE)
			return oc_err_set(err, OC_EIO, "address %s is already in use",
			    addr);
		if (fd < 0)
			return oc_err_set(err, OC_EIO, "cannot listen on %s: %s", addr,
			    strerror(-fd));
		if (port == 0) {
			struct sockaddr_storage got;
			socklen_t gl = sizeof(got);

			if (getsockname(fd, (struct sockaddr *)&got, &gl) != 0) {
				close(fd);
				return oc_err_set(err, OC_EIO, "getsockname: %s",
				    strerror(errno));
			}
			port = get_port(&got);
			set_port(&ss, port);
		}
		loop->bound[which] = evhttp_accept_socket_with_handle(
		    loop->http[which], fd);
		if (loop->bound[which] == NULL) {
			close(fd);
			return oc_err_set(err, OC_EIO, "cannot accept on %s", addr);
		}
	}
	srv->port[which] = port;
	return 0;
}

/* ---- TLS -------------------------------------------------------------- */

/*
 * The client certificate's key.  OpenSSL 3.0 parses the client's
 * certificates in the TLS context's library context, and for the public
 * key of each it sets up an OSSL_DECODER chain afresh: a fifth of a
 * millisecond per certificate, more under load (the decoders are looked
 * up under the library context's locks), about a third of a handshake.
 * The TLS contexts therefore live in a library context of their own
 * whose one provider passes the default provider's algorithms through,
 * all but its decoders (tls_libctx): the certificates parse there with
 * their key left undecoded.  The verify callback below then gives the
 * leaf its key before OpenSSL needs it for the CertificateVerify: a P-256
 * key is made from the curve and point with the legacy-method d2i's (no
 * decoder: oc_spki_ec_key, as CSRs are parsed) and put into the certificate,
 * which is kept only if the key encodes to exactly the SubjectPublicKeyInfo
 * received and the certificate to exactly the bytes received (otherwise,
 * and for any other key type, the certificate is parsed again the general
 * way, in the default library context, and takes the received one's
 * place).  OpenSSL then checks the CertificateVerify with that key, as
 * before.  The client's other certificates are left without a key: the
 * hall uses only those it does not hold itself, and decodes their keys
 * then (src/pki/rp.c).  The server's own certificate and key are read in
 * the default library context.
 *
 * Lifetime.  The library context borrows the default provider's context
 * (fwd_init), so it must go before the default provider does, and that
 * goes in OPENSSL_cleanup (atexit) at the latest; and it must outlive every
 * SSL_CTX, SSL, session and certificate made in it.  It is therefore
 * counted: each TLS context made in it holds one use (tls_libctx_get in
 * tls_ctx_new), given back by oc_http_server_free once the loops have been
 * joined (run), the connections and their SSLs freed (event_base_free) and
 * the SSL_CTX freed; the last one frees the library context and then lets
 * go of the default provider.  Joined first matters beyond the SSLs: each
 * loop thread keeps thread-local random generators of the library context,
 * which OpenSSL 3.0 frees when the thread exits, and OSSL_LIB_CTX_free
 * cleans up after the calling thread only.  A process that never frees its
 * server (none here does) would leave the context to the end of the
 * process, never used after OPENSSL_cleanup since nothing runs then.
 */
static pthread_mutex_t tls_mu = PTHREAD_MUTEX_INITIALIZER;
static int tls_users;                   /* TLS contexts made, not yet freed */
static OSSL_PROVIDER *tls_target;       /* "default" of the default libctx */
static OSSL_LIB_CTX *tls_lctx;
static OSSL_PROVIDER *tls_fwd;          /* "onecert-tls", loaded in tls_lctx */

/*
 * Every certificate parse still walks all key managers of the library
 * context, through a copy of its whole method store (OpenSSL 3.0 collects
 * them before it looks for decoders), so the store is kept small: the
 * ciphers, which a TLS context fetches once when it is made and holds
 * (SSL_CTX_new_ex), are not kept in it.  That halves a parse (about
 * 75 → 40 µs).  A cipher fetched later would be built afresh each time;
 * no handshake here fetches one (stateless tickets, which do, are off).
 */
static const OSSL_ALGORITHM *
fwd_query(void *provctx, int op, int *no_cache)
{
	const OSSL_ALGORITHM *algs;

	(void)provctx;
	if (op == OSSL_OP_DECODER) {
		*no_cache = 0;
		return NULL;
	}
	algs = OSSL_PROVIDER_query_operation(tls_target, op, no_cache);
	if (op == OSSL_OP_CIPHER)
		*no_cache = 1;
	return algs;
}

static void
fwd_unquery(void *provctx, int op, const OSSL_ALGORITHM *algs)
{
	(void)provctx;
	OSSL_PROVIDER_unquery_operation(tls_target, op, algs);
}

static int
fwd_get_params(void *provctx, OSSL_PARAM params[])
{
	(void)provctx;
	return OSSL_PROVIDER_get_params(tls_target, params);
}

/* TLS-GROUP and the like: what the TLS code asks a provider for */
static int
fwd_get_capabilities(void *provctx, const char *capability,
    OSSL_CALLBACK *cb, void *arg)
{
	(void)provctx;
	return OSSL_PROVIDER_get_capabilities(tls_target, capability, cb, arg);
}

static void
fwd_teardown(void *provctx)
{
	(void)provctx;          /* the default provider's own context */
}

static const OSSL_DISPATCH fwd_dispatch[] = {
	{ OSSL_FUNC_PROVIDER_TEARDOWN, (void (*)(void))fwd_teardown },
	{ OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))fwd_query },
	{ OSSL_FUNC_PROVIDER_UNQUERY_OPERATION, (void (*)(void))fwd_unquery },
	{ OSSL_FUNC_PROVIDER_GET_PARAMS, (void (*)(void))fwd_get_params },
	{ OSSL_FUNC_PROVIDER_GET_CAPABILITIES, (void (*)(void))fwd_get_capabilities },
	{ 0, NULL }
};

/* The algorithms run with the default provider's context, so whatever
 * they fetch themselves (a digest inside a signature) they fetch in the
 * default library context, as before. */
static int
fwd_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
    const OSSL_DISPATCH **out, void **provctx)
{
	(void)handle;
	(void)in;
	if ((*provctx = OSSL_PROVIDER_get0_provider_ctx(tls_target)) == NULL)
		return 0;
	*out = fwd_dispatch;
	return 1;
}

/* Sets up tls_lctx and tls_target (tls_mu held, no users). */
static void
tls_libctx_init(void)
{
	OSSL_LIB_CTX *lctx;

	/* It leans on how 3.0 parses a certificate whose key no decoder
	 * takes (the key left NULL, the verify callback called before the
	 * key is read); later versions cache their decoders anyway. */
	if (OPENSSL_version_major() != 3 || OPENSSL_version_minor() != 0)
		return;
	if ((tls_target = OSSL_PROVIDER_try_load(NULL, "default", 1)) == NULL)
		goto fail;
	if ((lctx = OSSL_LIB_CTX_new()) == NULL)
		goto fail;
	if (OSSL_PROVIDER_add_builtin(lctx, "onecert-tls", fwd_init) != 1 ||
	    (tls_fwd = OSSL_PROVIDER_load(lctx, "onecert-tls")) == NULL) {
		OSSL_LIB_CTX_free(lctx);
		goto fail;
	}
	tls_lctx = lctx;
	return;
fail:
	/* TLS then runs in the default library context, as OpenSSL's own
	 * does: certificates arrive with their key, the callback has
	 * nothing to do. */
	if (tls_target != NULL)
		OSSL_PROVIDER_unload(tls_target);
	tls_target = NULL;
	oc_log(OC_LOG_WARN, "http.tls_libctx", "msg=\"no TLS library context "
	    "of its own; client certificates are parsed with decoders\"");
	ERR_clear_error();
}

/* The library context to make one TLS context in (NULL: the default),
 * counted as one use until tls_libctx_put. */
static OSSL_LIB_CTX *
tls_libctx_get(void)
{
	OSSL_LIB_CTX *lctx;

	pthread_mutex_lock(&tls_mu);
	if (tls_users++ == 0)
		tls_libctx_init();
	lctx = tls_lctx;
	pthread_mutex_unlock(&tls_mu);
	return lctx;
}

/* Gives back one use, once the TLS context made in it and everything made
 * from that (SSLs, sessions, peer certificates) is freed and no thread
 * that ran a handshake in it is left.  The last use unloads the provider
 * (the reference OSSL_PROVIDER_load handed over: OSSL_LIB_CTX_free does
 * not drop it, and the provider and its name would be lost with it, 370
 * bytes), frees the library context, then drops the reference to the
 * default provider whose context that provider borrowed (last: freeing
 * the context unqueries through tls_target). */
static void
tls_libctx_put(void)
{
	pthread_mutex_lock(&tls_mu);
	if (tls_users > 0 && --tls_users == 0) {
		if (tls_fwd != NULL)
			OSSL_PROVIDER_unload(tls_fwd);
		tls_fwd = NULL;
		OSSL_LIB_CTX_free(tls_lctx);
		tls_lctx = NULL;
		if (tls_target != NULL)
			OSSL_PROVIDER_unload(tls_target);
		tls_target = NULL;
	}
	pthread_mutex_unlock(&tls_mu);
}

/* Gives x, whose key was left undecoded, its P-256 key in place: 0 when
 * the key's SubjectPublicKeyInfo encodes to the very bytes received and
 * the certificate still encodes to der (the bytes received: OpenSSL keeps
 * the TBSCertificate's encoding, which signatures are checked over), -1
 * otherwise (x may have been changed: the caller replaces it). */
static int
key_in_place(X509 *x, const unsigned char *der, int len)
{
	unsigned char *spki = NULL, *re = NULL;
	EVP_PKEY *key;
	bool other;
	int n, m, rc = -1;

	/* P-256 only: the key types TLS checks a CertificateVerify with */
	if ((key = oc_spki_ec_key(X509_get_X509_PUBKEY(x), &other)) == NULL ||
	    EVP_PKEY_get_id(key) != EVP_PKEY_EC ||
	    (n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki)) <= 0)
		goto out;
	if (X509_set_pubkey(x, key) == 1 &&
	    (m = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &re)) == n &&
	    memcmp(re, spki, (size_t)n) == 0) {
		OPENSSL_free(re);
		re = NULL;
		if ((m = i2d_X509(x, &re)) == len && memcmp(re, der, (size_t)len) == 0)
			rc = 0;
	}
out:
	OPENSSL_free(spki);
	OPENSSL_free(re);
	EVP_PKEY_free(key);
	return rc;
}

/*
 * TLS only asks for a client certificate; whether it is any good is for
 * the application to decide (chain, usage, revocation: SPEC 4.1), once:
 * the handshake builds and checks no chain of its own (its answer was
 * thrown away, and it cost a signature verification per connection).
 * OpenSSL still checks the client's CertificateVerify, with the leaf's
 * key, so the peer holds the certificate's key: this callback gives the
 * leaf that key when its parse left it out (above).  It runs while the
 * Certificate message is processed, before OpenSSL reads the leaf's key;
 * the untrusted chain is the handshake's own list, the leaf first.
 */
static int
accept_any_client_cert(X509_STORE_CTX *ctx, void *arg)
{
	STACK_OF(X509) *sk = X509_STORE_CTX_get0_untrusted(ctx);
	X509 *leaf = X509_STORE_CTX_get0_cert(ctx), *x = NULL;
	unsigned char *der = NULL;
	const unsigned char *p;
	int len, ok = 0;

	(void)arg;
	/* nothing of this may stay in the thread's error queue: a later
	 * SSL_get_error would take it for the handshake's own failure */
	ERR_set_mark();
	if (leaf == NULL || X509_get0_pubkey(leaf) != NULL) {
		ok = 1;
		goto out;
	}
	if ((len = i2d_X509(leaf, &der)) <= 0)
		goto out;
	if (key_in_place(leaf, der, len) == 0) {
		ok = 1;
		goto out;
	}
	/* the general road: parsed again with a decoder, in its place */
	if (sk == NULL || sk_X509_value(sk, 0) != leaf)
		goto out;
	p = der;
	if ((x = d2i_X509(NULL, &p, len)) == NULL || p != der + len)
		goto out;
	sk_X509_set(sk, 0, x);
	X509_STORE_CTX_set_cert(ctx, x);
	X509_free(leaf);
	x = NULL;
	ok = 1;
out:
	X509_free(x);
	OPENSSL_free(der);
	ERR_pop_to_mark();
	return ok;
}

/* SSL_CTX_use_certificate_chain_file, read in the default library
 * context (the TLS context's has no decoders): the first certificate of
 * path is the server's, the others its chain. */
static int
use_cert_chain(SSL_CTX *ctx, const char *path)
{
	BIO *in = NULL;
	X509 *x = NULL;
	int rc = -1;

	if ((in = BIO_new_file(path, "r")) == NULL ||
	    (x = PEM_read_bio_X509_AUX(in, NULL, NULL, NULL)) == NULL ||
	    SSL_CTX_use_certificate(ctx, x) != 1 ||
	    SSL_CTX_clear_chain_certs(ctx) != 1)
		goto out;
	X509_free(x);
	while ((x = PEM_read_bio_X509(in, NULL, NULL, NULL)) != NULL) {
		if (SSL_CTX_add0_chain_cert(ctx, x) != 1)
			goto out;
	}
	x = NULL;
	/* the end of the file, not a broken certificate */
	if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE)
		goto out;
	ERR_clear_error();
	rc = 0;
out:
	X509_free(x);
	BIO_free(in);
	return rc;
}

/* SSL_CTX_use_PrivateKey_file (PEM), read in the default library context. */
static int
use_key(SSL_CTX *ctx, const char *path)
{
	BIO *in = NULL;
	EVP_PKEY *key = NULL;
	int rc = -1;

	if ((in = BIO_new_file(path, "r")) == NULL ||
	    (key = PEM_read_bio_PrivateKey(in, NULL, NULL, NULL)) == NULL ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1)
		goto out;
	rc = 0;
out:
	EVP_PKEY_free(key);
	BIO_free(in);
	return rc;
}

static SSL_CTX *
tls_ctx_new(const struct oc_http_config *cfg, struct oc_err *err)
{
	SSL_CTX *ctx = NULL;
	static const unsigned char sid[] = "onecert-http";

	if (cfg->tls_cert == NULL || cfg->tls_key == NULL) {
		oc_err_set(err, OC_ECONFIG, "tls_listen needs tls_cert and tls_key");
		return NULL;
	}
	/* one use of the library context from here on: given back below on
	 * failure, else by oc_http_server_free after SSL_CTX_free */
	if ((ctx = SSL_CTX_new_ex(tls_libctx_get(), NULL,
	    TLS_server_method())) == NULL)
		goto ossl;
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
		goto ossl;
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (use_cert_chain(ctx, cfg->tls_cert) != 0) {
		oc_err_openssl(err, OC_ECONFIG, "cannot load the TLS certificate %s",
		    cfg->tls_cert);
		goto fail;
	}
	if (use_key(ctx, cfg->tls_key) != 0) {
		oc_err_openssl(err, OC_ECONFIG, "cannot load the TLS key %s",
		    cfg->tls_key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		oc_err_openssl(err, OC_ECONFIG, "the TLS key %s does not match "
		    "the certificate %s", cfg->tls_key, cfg->tls_cert);
		goto fail;
	}
	if (cfg->client_ca != NULL) {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->client_ca);

		if (names == NULL) {
			oc_err_openssl(err, OC_ECONFIG, "cannot load client CA "
			    "names from %s", cfg->client_ca);
			goto fail;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
	}
	/* Request, never require: no SSL_VERIFY_FAIL_IF_NO_PEER_CERT. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE, NULL);
	SSL_CTX_set_cert_verify_callback(ctx, accept_any_client_cert, NULL);
	/* Needed for session resumption once peer verification is on. */
	if (SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1) != 1)
		goto ossl;
	/* Resumption (TLS 1.3 PSK, TLS 1.2 session IDs) against the server's
	 * own session cache, one ticket per full handshake: a stateless
	 * ticket would carry the session, client certificate included,
	 * encrypted to the client, and OpenSSL 3.0 builds each one by encoding
	 * the session and decoding it again (a full certificate parse per
	 * ticket, two tickets by default).  A resumed session keeps the
	 * client certificate of the full handshake it came from
	 * (SSL_get0_peer_certificate), so a resumed connection is as bound to
	 * it as the first; the application checks that certificate as before.
	 * At most OC__TLS_CACHE sessions, each for OC__TLS_SESSION_S. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(ctx, 1);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_sess_set_cache_size(ctx, OC__TLS_CACHE);
	SSL_CTX_set_timeout(ctx, OC__TLS_SESSION_S);
	return ctx;
ossl:
	oc_err_openssl(err, OC_ECRYPTO, "cannot set up TLS");
fail:
	SSL_CTX_free(ctx);
	tls_libctx_put();
	return NULL;
}

/* ---- stopping ------------------------------------------------------- */

static void
drain_check(struct oc__loop *loop)
{
	struct timespec now;

	if (atomic_load(&loop->inflight) == 0 && loop->writing == 0) {
		event_base_loopexit(loop->base, NULL);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec > loop->drain_deadline.tv_sec) {
		oc_log(OC_LOG_WARN, "http.drain_timeout", "service=%s loop=%d "
		    "in_flight=%d writing=%d", loop->srv->name, loop->idx,
		    atomic_load(&loop->inflight), loop->writing);
		event_base_loopexit(loop->base, NULL);
	}
}

static void
drain_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	drain_check(arg);
}

static void
stop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct oc__loop *loop = arg;
	struct timeval tick = { 0, 20000 };

	(void)fd;
	(void)what;
	if (loop->draining)
		return;
	loop->draining = true;
	for (int i = 0; i < 2; i++)
		if (loop->bound[i] != NULL) {
			evhttp_del_accept_socket(loop->http[i], loop->bound[i]);
			loop->bound[i] = NULL;
		}
	clock_gettime(CLOCK_MONOTONIC, &loop->drain_deadline);
	loop->drain_deadline.tv_sec += OC__HTTP_DRAIN_S;
	event_add(loop->drain_ev, &tick);
	drain_check(loop);
}

static void
begin_stop(struct oc_http_server *srv, const char *why)
{
	if (srv->stopping)
		return;
	srv->stopping = true;
	oc_log(OC_LOG_INFO, "http.stopping", "service=%s reason=%s", srv->name,
	    why);
	for (int i = 0; i < srv->nloops; i++)
		event_active(srv->loops[i].stop_ev, EV_READ, 0);
}

static void
wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct oc_http_server *srv = arg;
	char b[64];

	(void)what;
	while (read(fd, b, sizeof(b)) > 0)
		;
	if (atomic_load(&srv->stop_requested))
		begin_stop(srv, "stop");
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	begin_stop(arg, sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

void
oc_http_server_stop(struct oc_http_server *srv)
{
	int e = errno;
	ssize_t w;

	if (srv == NULL)
		return;
	atomic_store(&srv->stop_requested, true);
	w = write(srv->wake_fd[1], "s", 1);   /* EAGAIN: a byte is already there */
	(void)w;
	errno = e;
}

/* ---- construction ----------------------------------------------------- */

static char *
xstrdup(const char *s)
{
	return s == NULL ? NULL : strdup(s);
}

static int
copy_routes(struct oc_http_server *srv, const struct oc_http_route *routes,
    size_t n, struct oc_err *err)
{
	srv->max_body = OC__HTTP_DEFAULT_BODY;
	if (n == 0)
		return 0;
	srv->routes = calloc(n, sizeof(*srv->routes));
	if (srv->routes == NULL)
		return oc_err_set(err, OC_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const struct oc_http_route *r = &routes[i];

		if (r->path == NULL || r->path[0] != '/' || r->fn == NULL)
			return oc_err_set(err, OC_EINVAL, "route %zu: the path must "
			    "start with / and the handler must be set", i);
		if (r->method != NULL && strlen(r->method) >= 16)
			return oc_err_set(err, OC_EINVAL, "route %s: bad method",
			    r->path);
		srv->routes[i] = *r;
		srv->routes[i].method = xstrdup(r->method);
		srv->routes[i].path = xstrdup(r->path);
		srv->n_routes = i + 1;
		if (srv->routes[i].path == NULL ||
		    (r->method != NULL && srv->routes[i].method == NULL))
			return oc_err_set(err, OC_ENOMEM, "out of memory");
		if (r->max_body > srv->max_body)
			srv->max_body = r->max_body;
		if ((r->flags & OC_HTTP_BLOCKING) && (r->flags & OC_HTTP_LOOP_FIRST))
			srv->loop_ctx = true;
	}
	if (srv->max_body > (size_t)INT64_MAX / 2)
		srv->max_body = (size_t)INT64_MAX / 2;
	return 0;
}

static int
ncores(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

static int
loop_init(struct oc_http_server *srv, struct oc__loop *loop, int idx,
    struct oc_err *err)
{
	const char *addr[2] = { srv->cfg.listen, srv->cfg.tls_listen };
	struct event_config *ec;

	loop->srv = srv;
	loop->idx = idx;
	/* epoll's change list: evhttp disables and re-enables reading and
	 * writing around every request (four epoll_ctl calls when each is
	 * applied at once); with the list only the net change is made, when
	 * the loop next polls.  The list cannot tell a descriptor from its
	 * duplicate, so nothing in src/http dup()s a socket (the lingering
	 * close takes the socket over instead, conn.c). */
	if ((ec = event_config_new()) == NULL)
		return oc_err_set(err, OC_ENOMEM, "cannot create an event loop");
	event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	loop->base = event_base_new_with_config(ec);
	event_config_free(ec);
	if (loop->base == NULL)
		return oc_err_set(err, OC_ENOMEM, "cannot create an event loop");
	for (int i = 0; i < 2; i++) {
		struct evhttp *h;

		if (addr[i] == NULL)
			continue;
		if ((h = loop->http[i] = evhttp_new(loop->base)) == NULL)
			return oc_err_set(err, OC_ENOMEM, "cannot create evhttp");
		loop->lctx[i].loop = loop;
		loop->lctx[i].tls = i == 1;
		evhttp_set_timeout(h, srv->cfg.timeout_s);
		evhttp_set_max_headers_size(h, OC__HTTP_MAX_HEAD);
		/* Global ceiling; the filter sets each request's own limit. */
		evhttp_set_max_body_size(h, (ev_ssize_t)srv->max_body);
		evhttp_set_allowed_methods(h, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
		    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
		    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
		evhttp_set_default_content_type(h, NULL);
		evhttp_set_gencb(h, oc__http_on_request, loop);
		evhttp_set_bevcb(h, oc__conn_bevcb, &loop->lctx[i]);
	}
	loop->stop_ev = event_new(loop->base, -1, 0, stop_cb, loop);
	loop->drain_ev = event_new(loop->base, -1, EV_PERSIST, drain_cb, loop);
	loop->adopt_ev = event_new(loop->base, -1, 0, oc__conn_adopt_cb, loop);
	loop->log_ev = evtimer_new(loop->base, oc__log_timer_cb, loop);
	loop->logbuf = malloc(OC__LOG_BUF);
	if (loop->stop_ev == NULL || loop->drain_ev == NULL ||
	    loop->adopt_ev == NULL || loop->log_ev == NULL ||
	    loop->logbuf == NULL)
		return oc_err_set(err, OC_ENOMEM, "out of memory");
	if (idx == 0) {
		loop->wake_ev = event_new(loop->base, srv->wake_fd[0],
		    EV_READ | EV_PERSIST, wake_cb, srv);
		loop->sig_ev[0] = evsignal_new(loop->base, SIGINT, signal_cb, srv);
		loop->sig_ev[1] = evsignal_new(loop->base, SIGTERM, signal_cb, srv);
		if (loop->wake_ev == NULL || loop->sig_ev[0] == NULL ||
		    loop->sig_ev[1] == NULL || event_add(loop->wake_ev, NULL) != 0)
			return oc_err_set(err, OC_ENOMEM, "out of memory");
	}
	return 0;
}

struct oc_http_server *
oc_http_server_new(const struct oc_http_config *cfg,
    const struct oc_http_route *routes, size_t n_routes, struct oc_err *err)
{
	struct oc_http_server *srv = NULL;
	struct rlimit rl;
	int rc;

	pthread_once(&libevent_once, libevent_init);
	if (!libevent_threads_ok) {
		oc_err_set(err, OC_EINTERNAL, "libevent has no thread support");
		return NULL;
	}
	if (cfg == NULL || (cfg->listen == NULL && cfg->tls_listen == NULL)) {
		oc_err_set(err, OC_ECONFIG, "nothing to listen on (set listen or "
		    "tls_listen)");
		return NULL;
	}
	if ((srv = calloc(1, sizeof(*srv))) == NULL) {
		oc_err_set(err, OC_ENOMEM, "out of memory");
		return NULL;
	}
	srv->wake_fd[0] = srv->wake_fd[1] = -1;
	srv->cfg = *cfg;
	srv->name = strdup(cfg->name != NULL ? cfg->name : "onecert");
	if (srv->name == NULL) {
		oc_err_set(err, OC_ENOMEM, "out of memory");
		goto fail;
	}
	srv->cfg.name = srv->name;
	if (srv->cfg.timeout_s <= 0)
		srv->cfg.timeout_s = 30;
	if (srv->cfg.max_connections <= 0)
		srv->cfg.max_connections = 4096;
	srv->nloops = cfg->threads > 0 ? (cfg->threads > 256 ? 256 :
	    cfg->threads) : ncores();
	if (srv->cfg.workers <= 0)
		srv->cfg.workers = 2 * ncores();
	if (srv->cfg.workers > 1024)
		srv->cfg.workers = 1024;
	if (srv->cfg.queue_max <= 0)
		srv->cfg.queue_max = 64 * srv->cfg.workers;
	if ((rc = copy_routes(srv, routes, n_routes, err)) != 0)
		goto fail;
	if (oc__proxies_parse(srv, cfg->proxies, cfg->n_proxies, err) != 0)
		goto fail;
	srv->cfg.proxies = NULL;
	srv->cfg.n_proxies = 0;
	if (cfg->static_dir != NULL) {
		srv->static_root = realpath(cfg->static_dir, NULL);
		if (srv->static_root == NULL) {
			oc_err_set(err, OC_ECONFIG, "static_dir %s: %s",
			    cfg->static_dir, strerror(errno));
			goto fail;
		}
	}
	srv->cfg.static_dir = srv->static_root;
	srv->stats = calloc((size_t)srv->nloops * (srv->n_routes + OC__SLOT_N),
	    sizeof(*srv->stats));
	srv->n_conns_slots = 1024;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur > 1024)
		srv->n_conns_slots = rl.rlim_cur > (1u << 20) ? (1u << 20) :
		    (size_t)rl.rlim_cur;
	else if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur == RLIM_INFINITY)
		srv->n_conns_slots = 1u << 20;
	srv->conns = calloc(srv->n_conns_slots, sizeof(*srv->conns));
	srv->loops = calloc((size_t)srv->nloops, sizeof(*srv->loops));
	if (srv->stats == NULL || srv->conns == NULL || srv->loops == NULL) {
		oc_err_set(err, OC_ENOMEM, "out of memory");
		goto fail;
	}
	for (int i = 0; i < srv->nloops; i++) {
		pthread_mutex_init(&srv->loops[i].live_mu, NULL);
		srv->loops[i].stats = srv->stats +
		    (size_t)i * (srv->n_routes + OC__SLOT_N);
	}
	if (pipe(srv->wake_fd) != 0) {
		srv->wake_fd[0] = srv->wake_fd[1] = -1;
		oc_err_set(err, OC_EIO, "pipe: %s", strerror(errno));
		goto fail;
	}
	for (int i = 0; i < 2; i++) {
		fcntl(srv->wake_fd[i], F_SETFL, O_NONBLOCK);
		fcntl(srv->wake_fd[i], F_SETFD, FD_CLOEXEC);
	}
	if (cfg->tls_listen != NULL &&
	    (srv->ssl_ctx = tls_ctx_new(cfg, err)) == NULL)
		goto fail;
	for (int i = 0; i < srv->nloops; i++)
		if (loop_init(srv, &srv->loops[i], i, err) != 0)
			goto fail;
	if (cfg->listen != NULL && bind_listeners(srv, 0, cfg->listen, err) != 0)
		goto fail;
	if (cfg->tls_listen != NULL &&
	    bind_listeners(srv, 1, cfg->tls_listen, err) != 0)
		goto fail;
	/* Only the copies above are used from here on. */
	srv->cfg.listen = srv->cfg.tls_listen = NULL;
	srv->cfg.tls_cert = srv->cfg.tls_key = srv->cfg.client_ca = NULL;
	srv->pool.srv = srv;
	oc_log(OC_LOG_INFO, "http.listening", "service=%s http=%d https=%d "
	    "loops=%d workers=%d", srv->name, srv->port[0], srv->port[1],
	    srv->nloops, srv->cfg.workers);
	return srv;
fail:
	oc_http_server_free(srv);
	return NULL;
}

int
oc_http_server_port(struct oc_http_server *srv, bool tls)
{
	return srv == NULL ? 0 : srv->port[tls ? 1 : 0];
}

/* ---- running ---------------------------------------------------------- */

static void *
loop_main(void *arg)
{
	struct oc__loop *loop = arg;

	struct oc_http_server *srv = loop->srv;

	loop->tid = pthread_self();
	/* the loop's own context (a store handle, say) for LOOP_FIRST routes;
	 * NULL sends them straight to the pool */
	if (srv->loop_ctx && srv->cfg.worker_init != NULL)
		loop->ctx = srv->cfg.worker_init(srv->cfg.worker_arg);
	atomic_store(&loop->running, true);
	event_base_dispatch(loop->base);
	atomic_store(&loop->running, false);
	oc__log_flush(loop);
	if (loop->ctx != NULL && srv->cfg.worker_free != NULL)
		srv->cfg.worker_free(loop->ctx);
	loop->ctx = NULL;
	return NULL;
}

int
oc_http_server_run(struct oc_http_server *srv)
{
	sigset_t block, old;
	int rc = 0;

	if (srv == NULL || srv->ran)
		return OC_EINVAL;
	srv->ran = true;
	if (oc__pool_start(srv) != 0)
		return OC_ENOMEM;
	for (int i = 0; i < 2; i++)
		event_add(srv->loops[0].sig_ev[i], NULL);
	/* Loop and worker threads never take SIGINT/SIGTERM: the handler
	 * libevent installs then runs on some other thread and only writes to
	 * loop 0's signal pipe, and handlers never see EINTR. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	for (int i = 0; i < srv->nloops; i++) {
		if (pthread_create(&srv->loops[i].th, NULL, loop_main,
		    &srv->loops[i]) != 0) {
			rc = OC_ENOMEM;
			break;
		}
		srv->loops[i].created = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		oc_log(OC_LOG_ERROR, "http.thread", "service=%s msg=\"cannot start "
		    "the event loops\"", srv->name);
		/* loop 0 (which would relay a stop) may be the one missing */
		for (int i = 0; i < srv->nloops; i++)
			if (srv->loops[i].created)
				event_active(srv->loops[i].stop_ev, EV_READ, 0);
	}
	for (int i = 0; i < srv->nloops; i++)
		if (srv->loops[i].created)
			pthread_join(srv->loops[i].th, NULL);
	oc__pool_stop(&srv->pool);
	for (int i = 0; i < 2; i++)
		if (srv->loops[0].sig_ev[i] != NULL)
			event_del(srv->loops[0].sig_ev[i]);
	/* Close what is left: idle keep-alive connections. */
	for (int i = 0; i < srv->nloops; i++) {
		srv->loops[i].draining = true;
		for (int j = 0; j < 2; j++)
			if (srv->loops[i].http[j] != NULL) {
				srv->loops[i].bound[j] = NULL;
				evhttp_free(srv->loops[i].http[j]);
				srv->loops[i].http[j] = NULL;
			}
	}
	for (int i = 0; i < srv->nloops; i++) {
		oc__conn_free_pending(&srv->loops[i]);
		oc__linger_free_all(&srv->loops[i]);
	}
	oc_log(OC_LOG_INFO, "http.stopped", "service=%s", srv->name);
	return rc;
}

void
oc_http_server_free(struct oc_http_server *srv)
{
	if (srv == NULL)
		return;
	oc__pool_stop(&srv->pool);          /* if run() failed half-way */
	oc__req_free_leftovers(srv);
	for (int i = 0; srv->loops != NULL && i < srv->nloops; i++) {
		struct oc__loop *loop = &srv->loops[i];

		loop->draining = true;          /* no listener resumes now */
		for (int j = 0; j < 2; j++) {
			loop->bound[j] = NULL;
			if (loop->http[j] != NULL)
				evhttp_free(loop->http[j]);
			loop->http[j] = NULL;
		}
		oc__conn_free_pending(loop);
		oc__linger_free_all(loop);
		if (loop->stop_ev != NULL)
			event_free(loop->stop_ev);
		if (loop->drain_ev != NULL)
			event_free(loop->drain_ev);
		if (loop->adopt_ev != NULL)
			event_free(loop->adopt_ev);
		if (loop->wake_ev != NULL)
			event_free(loop->wake_ev);
		oc__log_flush(loop);
		if (loop->log_ev != NULL)
			event_free(loop->log_ev);
		free(loop->logbuf);
		for (int j = 0; j < 2; j++)
			if (loop->sig_ev[j] != NULL)
				event_free(loop->sig_ev[j]);
		/* runs the connections' finalizers (conn_free) */
		if (loop->base != NULL)
			event_base_free(loop->base);
		pthread_mutex_destroy(&loop->live_mu);
	}
	free(srv->loops);
	/* Last: the loops are joined (run) and every connection's SSL is
	 * gone with its base above, so this frees the TLS context itself,
	 * and then its library context may go (tls_libctx_put). */
	if (srv->ssl_ctx != NULL) {
		SSL_CTX_free(srv->ssl_ctx);
		tls_libctx_put();
	}
	for (int i = 0; i < 2; i++)
		if (srv->wake_fd[i] >= 0)
			close(srv->wake_fd[i]);
	for (size_t i = 0; i < srv->n_routes; i++) {
		free((char *)srv->routes[i].method);
		free((char *)srv->routes[i].path);
	}
	free(srv->routes);
	free(srv->proxies);
	free(srv->static_root);
	free(srv->conns);
	free(srv->stats);
	free(srv->name);
	free(srv);
}

void
oc_http_malloc_tune(void)
{
#ifdef __GLIBC__
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	mallopt(M_TRIM_THRESHOLD, 16 << 20);
#endif
}
