/*
 * service.c — `onecert ca serve`: the CA on the network.
 *
 * Start-up order matters and is the security story:
 *   1. read DIR/ca.ini ([serve] section, docs/config.md);
 *   2. make sure a TLS server certificate exists (issued once by this CA
 *      for the service's own name, key in DIR/private/tls.key);
 *   3. open one struct oc_ca for the background tasks and one per HTTP
 *      worker: each open forks a signer process that alone holds the CA
 *      keys — all forks happen here, before any thread exists;
 *   4. bind the listeners (a busy port fails here, clearly);
 *   5. drop privileges (--user) and set no_new_privs;
 *   6. serve, while a background thread regenerates the CRL on schedule,
 *      keeps the OCSP cache fresh, and stops the service if any signer
 *      process dies (a service that cannot sign must not half-run).
 */
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ca/api.h"
#include "ca/ca_priv.h"
#include "ca/service.h"
#include "onecert/buf.h"
#include "onecert/http.h"
#include "onecert/log.h"
#include "onecert/ocsp.h"

struct svc {
	char dir[2048];
	struct oc_ca **cas;          /* [0] background, [1..n] workers */
	int ncas;
	int next_worker;
	pthread_mutex_t mu;
	struct oc_http_server *srv;
	struct oc_ocsp_cache *ocsp;
	/* set by one thread, read by another: atomics (volatile orders nothing) */
	atomic_int stopping;
	atomic_int failed;
	long crl_refresh;
	char algo[8];
};

/* A thread's context: worker threads and, for the OCSP routes that run on
 * the event loop first (OC_HTTP_LOOP_FIRST), the loops too.  Only worker
 * threads run handlers that need a CA handle (RA API, lineage); each
 * claims one of the handles opened before any thread existed when it
 * first needs it, so the loops never take one from a worker. */
struct wctx {
	struct svc *s;
	struct oc_ca *ca;
};

static void *
worker_init(void *arg)
{
	struct wctx *w = calloc(1, sizeof(*w));

	if (w != NULL)
		w->s = arg;
	return w;
}

static void
worker_free(void *ctx)
{
	free(ctx);
}

struct oc_ca *
oc__ca_req_ca(struct oc_http_req *req)
{
	struct wctx *w = oc_http_req_worker(req);
	struct svc *s;

	if (w == NULL || oc_http_req_on_loop(req))
		return NULL;
	if (w->ca == NULL) {
		s = w->s;
		pthread_mutex_lock(&s->mu);
		if (s->next_worker < s->ncas)
			w->ca = s->cas[s->next_worker++];
		pthread_mutex_unlock(&s->mu);
	}
	return w->ca;
}

/* GET /crl/NAME and /ca/NAME: the files the CDP and AIA URLs name. */
static void
serve_file(struct oc_http_req *req, const char *sub, const char *ext, const char *ctype,
    struct svc *s)
{
	const char *name = oc_http_req_tail(req);
	char path[4096];
	struct oc_buf b;
	size_t n;

	n = name ? strlen(name) : 0;
	if (n < 5 || n > 64 || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-.") != n ||
	    strstr(name, "..") != NULL || strcmp(name + n - strlen(ext), ext) != 0)
		return oc_http_reply_error(req, 404, "not_found", "无此文件 / no such file");
	snprintf(path, sizeof(path), "%s/%s/%s", s->dir, sub, name);
	oc_buf_init(&b, 64 << 20);
	if (oc_buf_read_file(&b, path) != 0) {
		oc_buf_cleanup(&b);
		return oc_http_reply_error(req, 404, "not_found", "无此文件 / no such file");
	}
	oc_http_set_header(req, "Cache-Control", "max-age=300");
	oc_http_reply(req, 200, ctype, b.p, b.len);
	oc_buf_cleanup(&b);
}

static void
h_crl(struct oc_http_req *req, void *arg)
{
	serve_file(req, "crl", ".crl", "application/pkix-crl", arg);
}

static void
h_cacert(struct oc_http_req *req, void *arg)
{
	serve_file(req, "ca", ".cer", "application/pkix-cert", arg);
}

/* The RA API, then a kick of the OCSP cache after anything but a GET (an
 * issue, revocation, renewal, change or reissue has committed by the time
 * the handler returns), so that a new certificate is not `unknown` and a
 * revocation not `good` until the next poll.  The kick only wakes the
 * cache's thread (coalesced there): the signing never runs on this one.
 * The method is read first: once replied to, req belongs to its loop. */
static void
h_api(struct oc_http_req *req, void *arg)
{
	struct svc *s = arg;
	bool write = strcmp(oc_http_req_method(req), "GET") != 0;

	oc__ca_api_handle(req, arg);
	if (write)
		oc_ocsp_cache_kick(s->ocsp);
}

static void
ocsp_error(struct oc_http_req *req, enum oc_ocsp_resp_status st)
{
	size_t len = 0;
	const unsigned char *der = oc_ocsp_error_der(st, &len);

	oc_http_reply(req, 200, OC_OCSP_MIME_RESPONSE, der, len);
}

/* GET /ocsp/{base64} and POST /ocsp: answered from the pre-signed cache;
 * only nonces, multi-CertID and unknown serials are signed live. */
static void
h_ocsp(struct oc_http_req *req, void *arg)
{
	struct svc *s = arg;
	const unsigned char *body;
	unsigned char *der = NULL, *resp = NULL;
	size_t len = 0, rlen = 0;
	struct oc_ocsp_answer info;
	struct oc_err err;
	const char *m = oc_http_req_method(req);
	char cc[96];

	if (strcmp(m, "POST") == 0) {
		const char *ct = oc_http_req_header(req, "Content-Type");
		if (ct == NULL || strncmp(ct, OC_OCSP_MIME_REQUEST, strlen(OC_OCSP_MIME_REQUEST)) != 0)
			return oc_http_reply_error(req, 415, "unsupported_media_type",
			    "Content-Type must be application/ocsp-request");
		body = oc_http_req_body(req, &len);
	} else {
		if (oc_ocsp_get_decode(oc_http_req_tail(req), &der, &len, &err) != 0)
			return ocsp_error(req, OC_OCSP_MALFORMED);
		body = der;
	}
	memset(&info, 0, sizeof(info));
	if (oc_http_req_on_loop(req)) {
		/* on the event loop: what is pre-signed (or a fixed error) is
		 * answered here; what must be signed goes to a worker */
		bool need_sign = false;

		if (oc_ocsp_cache_answer_nosign(s->ocsp, body, len, &resp, &rlen, &info,
		    &need_sign) == 0 && resp == NULL && need_sign) {
			free(der);
			if (oc_http_req_defer(req))
				return;
			return ocsp_error(req, OC_OCSP_INTERNAL_ERROR);
		}
	} else {
		oc_ocsp_cache_answer_ex(s->ocsp, body, len, &resp, &rlen, &info);
	}
	if (resp == NULL) {
		free(der);
		return ocsp_error(req, OC_OCSP_INTERNAL_ERROR);
	}
	if (info.status == OC_OCSP_SUCCESSFUL && info.presigned && info.next_update > time(NULL)) {
		/* RFC 5019 §6: cacheable until nextUpdate */
		snprintf(cc, sizeof(cc), "max-age=%ld, public, no-transform, must-revalidate",
		    (long)(info.next_update - time(NULL)));
		oc_http_set_header(req, "Cache-Control", cc);
	} else {
		oc_http_set_header(req, "Cache-Control", "no-store");
	}
	oc_http_reply_take(req, 200, OC_OCSP_MIME_RESPONSE, resp, rlen);
	free(der);
}

static void
metrics(struct oc_buf *out, void *arg)
{
	struct svc *s = arg;
	const char *label = s->algo;

	oc_ocsp_cache_metrics(&s->ocsp, &label, 1, out);
}

static void *
background(void *arg)
{
	struct svc *s = arg;
	struct oc_actor who = { "ca-serve", "schedule" };
	time_t last_crl = 0;   /* at once: the CRL on disk may have expired while down */

	while (!s->stopping) {
		sleep(1);
		for (int i = 0; i < s->ncas; i++)
			if (!oc_ca_signer_alive(s->cas[i])) {
				oc_log(OC_LOG_ERROR, "ca.stopping",
				    "msg=\"a signer process died; stopping the service\"");
				s->failed = 1;
				oc_http_server_stop(s->srv);
				return NULL;
			}
		if (time(NULL) - last_crl >= s->crl_refresh) {
			struct oc_err err;
			X509_CRL *crl = oc_ca_crl(s->cas[0], &who, &err);

			if (crl == NULL)
				oc_log(OC_LOG_ERROR, "crl.refresh_failed", "msg=\"%s\"", err.msg);
			X509_CRL_free(crl);
			last_crl = time(NULL);
		}
	}
	return NULL;
}

/* The service's own TLS certificate, issued once (DIR/tls.pem + key). */
static int
ensure_tls(struct oc_ca *ca, const char *dir, const char *host, char *cert_path,
    char *key_path, size_t cap, struct oc_err *err)
{
	snprintf(cert_path, cap, "%s/tls.pem", dir);
	snprintf(key_path, cap, "%s/private/tls.key", dir);
	if (access(cert_path, R_OK) == 0 && access(key_path, R_OK) == 0)
		return 0;
	return oc_ca_issue_tls(ca, &(struct oc_actor){ "ca-serve", "start" }, host,
	    cert_path, key_path, err);
}

static int
drop_privileges(const char *user, struct oc_err *err)
{
	struct passwd *pw;

	if (user == NULL)
		return 0;
	if ((pw = getpwnam(user)) == NULL)
		return oc_err_set(err, OC_ECONFIG, "no such user: %s", user);
	if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
		return oc_err_set(err, OC_EPERM, "cannot drop privileges to %s: %s", user,
		    strerror(errno));
	if (setuid(0) == 0)
		return oc_err_set(err, OC_EINTERNAL, "privileges were not dropped");
	return 0;
}

static void
split_host(const char *addr, char *host, size_t cap)
{
	const char *colon = strrchr(addr, ':');
	size_t n = colon ? (size_t)(colon - addr) : strlen(addr);

	if (n >= cap)
		n = cap - 1;
	memcpy(host, addr, n);
	host[n] = '\0';
	if (host[0] == '[') {   /* [::1] */
		memmove(host, host + 1, strlen(host));
		host[strcspn(host, "]")] = '\0';
	}
}

int
oc_ca_serve(const struct oc_ca_serve_opts *o, struct oc_err *err)
{
	struct svc s;
	struct oc_config *cfg = NULL;
	struct oc_http_config hc;
	struct oc_ocsp_cache_opts oo;
	char path[4096], cert_path[4096], key_path[4096], host[256];
	const char *listen, *tls_listen, *proxies_s;
	char *proxies_buf = NULL;
	const char *proxies[16];
	size_t nproxies = 0;
	long threads = 0, workers = 0, v;
	pthread_t bg;
	bool bg_started = false;
	int rc = OC_EINTERNAL;

	memset(&s, 0, sizeof(s));
	pthread_mutex_init(&s.mu, NULL);
	snprintf(s.dir, sizeof(s.dir), "%s", o->dir);
	snprintf(path, sizeof(path), "%s/ca.ini", o->dir);
	if ((cfg = oc_config_load(path, err)) == NULL) {
		rc = OC_ECONFIG;
		goto out;
	}
	listen = o->listen ? o->listen : oc_config_get(cfg, "serve", "listen", "127.0.0.1:8080");
	tls_listen = o->tls_listen ? o->tls_listen : oc_config_get(cfg, "serve", "tls_listen", NULL);
	if ((rc = oc_config_get_long(cfg, "serve", "threads", o->threads, 0, 64, &threads, err)) != 0 ||
	    (rc = oc_config_get_long(cfg, "serve", "workers", o->workers, 0, 64, &workers, err)) != 0 ||
	    (rc = oc_config_get_duration(cfg, "serve", "crl_refresh", 3600, &s.crl_refresh, err)) != 0 ||
	    (rc = oc_config_get_duration(cfg, "ca", "crl_next_update", 86400, &v, err)) != 0)
		goto out;
	/* A CRL must be replaced before its nextUpdate passes. */
	if (s.crl_refresh < 1 || s.crl_refresh >= v) {
		rc = oc_err_set(err, OC_ECONFIG, "serve.crl_refresh (%lds) must be at least 1s and "
		    "shorter than ca.crl_next_update (%lds), or the CRL expires before it is "
		    "refreshed", s.crl_refresh, v);
		goto out;
	}
	if (workers == 0)
		workers = 2 * sysconf(_SC_NPROCESSORS_ONLN);
	if (workers < 1)
		workers = 1;

	/* 3. every fork before any thread */
	oc_http_malloc_tune();   /* before the signers are forked */
	s.ncas = (int)workers + 1;
	if ((s.cas = calloc((size_t)s.ncas, sizeof(*s.cas))) == NULL) {
		rc = oc_err_set(err, OC_ENOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < s.ncas; i++)
		if ((s.cas[i] = oc_ca_open(o->dir, err)) == NULL) {
			rc = err ? err->code : OC_EINTERNAL;
			goto out;
		}
	s.next_worker = 1;
	snprintf(s.algo, sizeof(s.algo), "%s", oc_algo_name(oc_ca_algo(s.cas[0])));

	/* 2. TLS */
	if (tls_listen != NULL) {
		const char *c = oc_config_get(cfg, "serve", "tls_cert", NULL);
		const char *k = oc_config_get(cfg, "serve", "tls_key", NULL);

		if (c != NULL && k != NULL) {
			snprintf(cert_path, sizeof(cert_path), "%s", c);
			snprintf(key_path, sizeof(key_path), "%s", k);
		} else {
			split_host(tls_listen, host, sizeof(host));
			if ((rc = ensure_tls(s.cas[0], o->dir, host, cert_path, key_path,
			    sizeof(cert_path), err)) != 0)
				goto out;
		}
	}

	/* OCSP: responses pre-signed by the background CA's signer */
	memset(&oo, 0, sizeof(oo));
	if ((rc = oc_config_get_duration(cfg, "serve", "ocsp_validity", 3600, &v, err)) != 0)
		goto out;
	oo.validity = (int)v;
	if ((rc = oc_config_get_duration(cfg, "serve", "ocsp_refresh_before", v / 2, &v, err)) != 0)
		goto out;
	oo.refresh_before = (int)v;
	if ((rc = oc_config_get_duration(cfg, "serve", "revocation_interval", 60, &v, err)) != 0)
		goto out;
	oo.revocation_interval = (int)v;
	if ((rc = oc_config_get_duration(cfg, "serve", "ocsp_expired_grace", 7 * 86400, &v, err)) != 0)
		goto out;
	oo.expired_grace = v > 0 ? v : -1;      /* 0: never stop pre-signing */
	snprintf(path, sizeof(path), "%s/%s", o->dir, oc_config_get(cfg, "ca", "database", "ca.db"));
	if ((s.ocsp = oc_ocsp_cache_new(path, oc_ca_get0_issuing(s.cas[0]), oc_ca_get0_ocsp(s.cas[0]),
	    oc_ca_signer(s.cas[0], "ocsp"), &oo, err)) == NULL ||
	    oc_ocsp_cache_refresh(s.ocsp, err) != 0) {
		rc = err ? err->code : OC_EINTERNAL;
		goto out;
	}

	/* trusted reverse proxies (RFC 9440 Client-Cert) */
	proxies_s = oc_config_get(cfg, "serve", "proxies", "");
	if ((proxies_buf = strdup(proxies_s)) != NULL) {
		char *save = NULL;
		for (char *t = strtok_r(proxies_buf, ", ", &save); t && nproxies < 16;
		    t = strtok_r(NULL, ", ", &save))
			proxies[nproxies++] = t;
	}

	/* 4. listeners */
	const struct oc_http_route routes[] = {
		/* answered on the event loop from the pre-signed cache; handed
		 * to a worker only to sign (nonce, unknown serial, …) */
		{ "GET", "/ocsp/", h_ocsp, &s, 0, OC_HTTP_BLOCKING | OC_HTTP_LOOP_FIRST | OC_HTTP_PREFIX },
		{ "POST", "/ocsp", h_ocsp, &s, 64 * 1024, OC_HTTP_BLOCKING | OC_HTTP_LOOP_FIRST },
		{ "POST", "/ocsp/", h_ocsp, &s, 64 * 1024,
		    OC_HTTP_BLOCKING | OC_HTTP_LOOP_FIRST | OC_HTTP_PREFIX },
		{ "GET", "/crl/", h_crl, &s, 0, OC_HTTP_BLOCKING | OC_HTTP_PREFIX },
		{ "GET", "/ca/", h_cacert, &s, 0, OC_HTTP_BLOCKING | OC_HTTP_PREFIX },
		{ NULL, "/api/v1/", h_api, &s, 64 * 1024,
		    OC_HTTP_BLOCKING | OC_HTTP_TLS_ONLY | OC_HTTP_PREFIX },
		/* public: no operator certificate (the longer prefix wins) */
		{ "GET", "/api/v1/public/lineage/", oc__ca_lineage_handle, &s, 0,
		    OC_HTTP_BLOCKING | OC_HTTP_TLS_ONLY | OC_HTTP_PREFIX },
	};
	memset(&hc, 0, sizeof(hc));
	hc.name = "ca";
	hc.listen = listen;
	hc.tls_listen = tls_listen;
	hc.tls_cert = tls_listen ? cert_path : NULL;
	hc.tls_key = tls_listen ? key_path : NULL;
	hc.proxies = proxies;
	hc.n_proxies = nproxies;
	hc.threads = (int)threads;
	hc.workers = (int)workers;
	hc.worker_init = worker_init;
	hc.worker_free = worker_free;
	hc.worker_arg = &s;
	hc.metrics = metrics;
	hc.metrics_arg = &s;
	if ((s.srv = oc_http_server_new(&hc, routes, sizeof(routes) / sizeof(routes[0]), err)) == NULL) {
		rc = err ? err->code : OC_EIO;
		goto out;
	}

	/* 5. privileges */
	if ((rc = drop_privileges(o->user, err)) != 0)
		goto out;
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	/* The CRLs are rewritten by this process from now on: a folder the
	 * new user cannot write would leave them to expire, with only a log
	 * line to say so.  Refuse to start instead. */
	snprintf(path, sizeof(path), "%s/crl", o->dir);
	if (access(path, W_OK) != 0) {
		rc = oc_err_set(err, OC_ECONFIG, "%s is not writable%s%s: the CRLs could not be "
		    "published (chown it to the service user)", path, o->user ? " by " : "",
		    o->user ? o->user : "");
		goto out;
	}

	/* 6. serve */
	if ((rc = oc_ocsp_cache_start(s.ocsp, err)) != 0)
		goto out;
	if (pthread_create(&bg, NULL, background, &s) == 0)
		bg_started = true;
	oc_log(OC_LOG_INFO, "ca.serving", "listen=%s tls_listen=%s algo=%s workers=%ld",
	    listen ? listen : "-", tls_listen ? tls_listen : "-", s.algo, workers);
	fprintf(stderr, "onecert ca serve: %s CA on http://%s%s%s (Ctrl-C stops)\n", s.algo,
	    listen ? listen : "-", tls_listen ? " and https://" : "", tls_listen ? tls_listen : "");
	rc = oc_http_server_run(s.srv);
	if (s.failed)
		rc = oc_err_set(err, OC_EINTERNAL, "a signer process died; the service stopped");
out:
	s.stopping = 1;
	if (bg_started)
		pthread_join(bg, NULL);
	if (s.ocsp != NULL)
		oc_ocsp_cache_stop(s.ocsp);
	oc_http_server_free(s.srv);
	oc_ocsp_cache_free(s.ocsp);
	for (int i = 0; s.cas != NULL && i < s.ncas; i++)
		oc_ca_close(s.cas[i]);
	free(s.cas);
	free(proxies_buf);
	oc_config_free(cfg);
	pthread_mutex_destroy(&s.mu);
	return rc;
}
