/*
 * serve.c — `onecert hall serve`: the service hall on the HTTP core.
 *
 * The hall is a relying party: it knows the CA only through the CA
 * certificates, OCSP and CRL configured in HDIR/hall.ini ([trust],
 * docs/config.md).  Its HTTPS listener asks for (does not require) a
 * client certificate; its pages are static files (web/hall) that call the
 * JSON API.  Each worker thread, and each event loop (for GET /api/v1/me,
 * OC_HTTP_LOOP_FIRST), has its own database handle.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "agent/agent.h"
#include "hall/hall_int.h"
#include "hall/serve.h"
#include "onecert/calendar.h"
#include "onecert/log.h"
#include "onecert/notify.h"
#include "onecert/pki.h"
#include "onecert/rp.h"

static void *
worker_init(void *arg)
{
	struct hall *h = arg;
	struct oc_err err;
	struct oc_hall_store *st = oc_hall_store_open(h->db_path, &err);

	if (st == NULL)
		oc_log(OC_LOG_ERROR, "hall.db_open_failed", "msg=\"%s\"", err.msg);
	return st;
}

static void
worker_free(void *ctx)
{
	oc_hall_store_close(ctx);
}

bool
hall_call_init(struct hall_call *c, struct oc_http_req *req, struct hall *h)
{
	memset(c, 0, sizeof(*c));
	c->req = req;
	c->h = h;
	if ((c->st = oc_http_req_worker(req)) == NULL) {
		oc_http_reply_error(req, 503, "unavailable", "服务暂不可用 / service unavailable");
		return false;
	}
	return true;
}

static void
h_login_tls(struct oc_http_req *req, void *arg)
{
	struct hall_call c;

	if (hall_call_init(&c, req, arg))
		hall_login_tls(&c);
}

static void
h_challenge(struct oc_http_req *req, void *arg)
{
	struct hall_call c;

	if (hall_call_init(&c, req, arg))
		hall_login_challenge(&c);
}

static void
h_login(struct oc_http_req *req, void *arg)
{
	struct hall_call c;

	if (hall_call_init(&c, req, arg))
		hall_login_signed(&c);
}

/* GET /api/v1/login/options: what the login page may try besides the TLS
 * login — the agent's URL (hall.agent_url), "" for none.  Public and in
 * memory: on the event loop. */
static void
h_login_options(struct oc_http_req *req, void *arg)
{
	struct hall *h = arg;

	oc_http_reply_json(req, 200, json_pack("{s:s}", "agent_url", h->agent_url));
}

static void
h_me(struct oc_http_req *req, void *arg)
{
	struct hall_call c;
	struct oc_hall_version v;

	if (!hall_call_init(&c, req, arg))
		return;
	if (!oc_http_req_on_loop(req) || oc_hall_read_begin(c.st, NULL) != 0)
		return hall_me(&c, NULL);
	/* on the event loop only reads happen (anything else is deferred to
	 * a worker): one read transaction for all of them, and the loop's
	 * cache of answers (session.c) */
	if (!hall_me_cached(&c, &v))
		hall_me(&c, &v);
	oc_hall_read_end(c.st);
}

static void
h_logout(struct oc_http_req *req, void *arg)
{
	struct hall_call c;

	if (hall_call_init(&c, req, arg))
		hall_logout(&c);
}

#define HANDLER(name, fn) \
static void \
name(struct oc_http_req *req, void *arg) \
{ \
	struct hall_call c; \
 \
	if (hall_call_init(&c, req, arg)) \
		fn(&c); \
}
HANDLER(h_activation, hall_activation_get)
HANDLER(h_app_create, hall_app_create)
HANDLER(h_app, hall_app_dispatch)
HANDLER(h_review_queue, hall_review_queue)
HANDLER(h_review, hall_review_dispatch)
HANDLER(h_reg_get, hall_registration_get)
HANDLER(h_reg_sms, hall_registration_sms)
HANDLER(h_reg_submit, hall_registration_submit)
HANDLER(h_outbox, hall_admin_outbox)

/* The key that MACs the forms' QR codes and SMS codes: HDIR/form.key, 32
 * random bytes made on first start (mode 0600).  Several hall instances
 * behind one database must share it. */
static int
load_form_key(struct hall *h, struct oc_err *err)
{
	char path[4096];
	unsigned char k[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", h->dir,
	    oc_config_get(h->cfg, "hall", "form_key", "form.key"));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 && errno == ENOENT) {
		if (RAND_bytes(k, sizeof(k)) != 1)
			return oc_err_set(err, OC_ECRYPTO, "no randomness for the form key");
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			n = write(fd, k, sizeof(k));
			if (n != (ssize_t)sizeof(k) || fsync(fd) != 0) {
				close(fd);
				unlink(path);
				OPENSSL_cleanse(k, sizeof(k));
				return oc_err_set(err, OC_EIO, "cannot write %s", path);
			}
			close(fd);
		}
		OPENSSL_cleanse(k, sizeof(k));
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0)
		return oc_err_set(err, OC_EIO, "cannot read the form key %s: %s", path, strerror(errno));
	n = read(fd, h->form_key, sizeof(h->form_key));
	close(fd);
	if (n != (ssize_t)sizeof(h->form_key))
		return oc_err_set(err, OC_ECONFIG, "the form key %s must hold 32 bytes", path);
	return 0;
}

/* hall.agent_url: the agent listens on loopback only and the page runs
 * in the user's browser, so anything but http://<loopback>:PORT would
 * send the PIN somewhere else — refused at start rather than tried. */
static int
load_agent_url(struct hall *h, struct oc_err *err)
{
	const char *v = oc_config_get(h->cfg, "hall", "agent_url", "http://127.0.0.1:17650");

	if (v[0] != '\0' && (!oc_agent_url_ok(v) || strlen(v) >= sizeof(h->agent_url)))
		return oc_err_set(err, OC_ECONFIG, "hall.ini: agent_url must be http://127.0.0.1:PORT, "
		    "http://localhost:PORT or http://[::1]:PORT (or empty for no agent), not \"%.64s\"", v);
	snprintf(h->agent_url, sizeof(h->agent_url), "%s", v);
	return 0;
}

static int
load(struct hall *h, const char *dir, struct oc_err *err)
{
	char path[4096];

	snprintf(h->dir, sizeof(h->dir), "%s", dir);
	snprintf(path, sizeof(path), "%s/hall.ini", dir);
	if ((h->cfg = oc_config_load(path, err)) == NULL)
		return err && err->code ? err->code : OC_ECONFIG;
	snprintf(h->db_path, sizeof(h->db_path), "%s/%s", dir,
	    oc_config_get(h->cfg, "hall", "database", "hall.db"));
	if (oc_config_get_duration(h->cfg, "hall", "session_idle", 1800, &h->session_idle, err) != 0 ||
	    oc_config_get_duration(h->cfg, "hall", "session_recheck", 300, &h->session_recheck, err) != 0 ||
	    oc_config_get_duration(h->cfg, "hall", "challenge_ttl", 120, &h->challenge_ttl, err) != 0)
		return OC_ECONFIG;
	if ((h->rp = oc_rp_new(h->cfg, "trust", dir, err)) == NULL)
		return err && err->code ? err->code : OC_ECONFIG;
	if (oc_config_get_long(h->cfg, "hall", "scan_max", 200 * 1024, 1024, 16 * 1024 * 1024,
	    &h->scan_max, err) != 0 ||
	    oc_config_get_duration(h->cfg, "hall", "sms_ttl", 600, &h->sms_ttl, err) != 0 ||
	    oc_config_get_duration(h->cfg, "hall", "sms_cooldown", 60, &h->sms_cooldown, err) != 0 ||
	    oc_config_get_long(h->cfg, "hall", "sms_max_tries", 5, 1, 100, &h->sms_max_tries, err) != 0 ||
	    oc_config_get_long(h->cfg, "hall", "matter_draft_max", 20, 0, 100000,
	    &h->matter_bounds.draft_max, err) != 0 ||
	    oc_config_get_long(h->cfg, "hall", "matter_daily_max", 50, 0, 100000,
	    &h->matter_bounds.daily_max, err) != 0)
		return OC_ECONFIG;
	if (h->sms_ttl < 1)
		return oc_err_set(err, OC_ECONFIG, "hall.ini: sms_ttl must be at least 1s");
	if (load_agent_url(h, err) != 0)
		return OC_ECONFIG;
	{
		char cal[4096];
		const char *v = oc_config_get(h->cfg, "hall", "calendar", NULL);

		if (v != NULL)
			snprintf(cal, sizeof(cal), "%s%s%s", v[0] == '/' ? "" : dir, v[0] == '/' ? "" : "/", v);
		else
			snprintf(cal, sizeof(cal), "%s/data/calendar", ONECERT_SOURCE_DIR);
		if ((h->cal = oc_calendar_new()) == NULL)
			return oc_err_set(err, OC_ENOMEM, "out of memory");
		if (oc_calendar_load_dir(h->cal, cal, err) != 0)
			return OC_ECONFIG;
	}
	if ((h->notify = oc_notify_new(h->cfg, "sms", err)) == NULL)
		return err && err->code ? err->code : OC_ECONFIG;
	/* feature files load their data (hall_int.h) */
	if (hall_matters_load(h, err) != 0)
		return OC_ECONFIG;
	if (hall_guides_load(h, err) != 0)
		return OC_ECONFIG;
	return load_form_key(h, err);
}

static void
unload(struct hall *h)
{
	oc_rp_free(h->rp);
	oc_calendar_free(h->cal);
	oc_notify_free(h->notify);
	json_decref(h->matters);
	json_decref(h->guides);
	OPENSSL_cleanse(h->form_key, sizeof(h->form_key));
	oc_config_free(h->cfg);
}

int
oc_hall_serve(const struct oc_hall_serve_opts *o, struct oc_err *err)
{
	struct hall h;
	struct oc_http_config hc;
	struct oc_http_server *srv = NULL;
	struct oc_hall_store *st = NULL;
	char cert[4096], key[4096], web[4096];
	const char *v;
	char *proxies_buf = NULL, too_large[128];
	const char *proxies[16];
	size_t nproxies = 0;
	int rc;

	memset(&h, 0, sizeof(h));
	oc_http_malloc_tune();
	if ((rc = load(&h, o->dir, err)) != 0)
		goto out;
	/* create / migrate the database before serving */
	if ((st = oc_hall_store_open(h.db_path, err)) == NULL) {
		rc = OC_ESTORE;
		goto out;
	}
	/* sessions that went idle while the hall was down (the logins below
	 * delete the rest as they go: session.c) */
	{
		int pruned = 0;
		struct oc_err perr;

		oc_err_clear(&perr);
		if (oc_hall_session_prune(st, time(NULL) - h.session_idle, 0, &pruned, &perr) != 0)
			oc_log(OC_LOG_WARN, "hall.session_prune_failed", "msg=\"%s\"", perr.msg);
		else if (pruned > 0)
			oc_log(OC_LOG_INFO, "hall.sessions_pruned", "n=%d", pruned);
	}
	oc_hall_store_close(st);
	snprintf(too_large, sizeof(too_large), "图片最大不超过%ldKB / the scan may be at most %ld KB",
	    h.scan_max / 1024, h.scan_max / 1024);
	v = oc_config_get(h.cfg, "hall", "tls_cert", "tls.pem");
	snprintf(cert, sizeof(cert), "%s%s%s", v[0] == '/' ? "" : o->dir, v[0] == '/' ? "" : "/", v);
	v = oc_config_get(h.cfg, "hall", "tls_key", "tls.key");
	snprintf(key, sizeof(key), "%s%s%s", v[0] == '/' ? "" : o->dir, v[0] == '/' ? "" : "/", v);
	v = oc_config_get(h.cfg, "hall", "web", NULL);
	if (v != NULL)
		snprintf(web, sizeof(web), "%s", v);
	else
		snprintf(web, sizeof(web), "%s/web/hall", ONECERT_SOURCE_DIR);
	if ((proxies_buf = strdup(oc_config_get(h.cfg, "hall", "proxies", ""))) != NULL) {
		char *save = NULL;
		for (char *t = strtok_r(proxies_buf, ", ", &save); t && nproxies < 16;
		    t = strtok_r(NULL, ", ", &save))
			proxies[nproxies++] = t;
	}

	const struct oc_http_route base[] = {
		{ "POST", "/api/v1/login/tls", h_login_tls, &h, 1024, OC_HTTP_BLOCKING | OC_HTTP_TLS_ONLY },
		{ "POST", "/api/v1/login/challenge", h_challenge, &h, 1024, OC_HTTP_BLOCKING | OC_HTTP_TLS_ONLY },
		{ "POST", "/api/v1/login", h_login, &h, 64 * 1024, OC_HTTP_BLOCKING | OC_HTTP_TLS_ONLY },
		{ "GET", "/api/v1/login/options", h_login_options, &h, 0, OC_HTTP_TLS_ONLY },
		/* read-only when nothing is due: answered on the event loop */
		{ "GET", "/api/v1/me", h_me, &h, 0, OC_HTTP_BLOCKING | OC_HTTP_LOOP_FIRST | OC_HTTP_TLS_ONLY },
		{ "POST", "/api/v1/logout", h_logout, &h, 1024, OC_HTTP_BLOCKING | OC_HTTP_TLS_ONLY },
		{ "GET", "/api/v1/activation", h_activation, &h, 0, OC_HTTP_BLOCKING | OC_HTTP_TLS_ONLY },
		{ "POST", "/api/v1/applications", h_app_create, &h, 8192, OC_HTTP_BLOCKING | OC_HTTP_TLS_ONLY },
		{ NULL, "/api/v1/applications/", h_app, &h, (size_t)h.scan_max,
		  OC_HTTP_BLOCKING | OC_HTTP_TLS_ONLY | OC_HTTP_PREFIX, too_large },
		{ "GET", "/api/v1/review/queue", h_review_queue, &h, 0, OC_HTTP_BLOCKING | OC_HTTP_TLS_ONLY },
		{ NULL, "/api/v1/review/applications/", h_review, &h, 4096,
		  OC_HTTP_BLOCKING | OC_HTTP_TLS_ONLY | OC_HTTP_PREFIX },
		{ "GET", "/api/v1/registration", h_reg_get, &h, 0, OC_HTTP_BLOCKING | OC_HTTP_TLS_ONLY },
		{ "POST", "/api/v1/registration", h_reg_submit, &h, 8192, OC_HTTP_BLOCKING | OC_HTTP_TLS_ONLY },
		{ "POST", "/api/v1/registration/sms", h_reg_sms, &h, 1024, OC_HTTP_BLOCKING | OC_HTTP_TLS_ONLY },
		{ "GET", "/api/v1/admin/outbox", h_outbox, &h, 0, OC_HTTP_BLOCKING | OC_HTTP_TLS_ONLY },
	};
	struct oc_http_route routes[HALL_ROUTES_MAX];
	size_t nroutes = sizeof(base) / sizeof(base[0]);

	memcpy(routes, base, sizeof(base));
	/* feature files add their routes (hall_int.h) */
	nroutes += hall_subs_routes(&h, routes + nroutes, HALL_ROUTES_MAX - nroutes);
	nroutes += hall_matters_routes(&h, routes + nroutes, HALL_ROUTES_MAX - nroutes);
	nroutes += hall_update_routes(&h, routes + nroutes, HALL_ROUTES_MAX - nroutes);
	nroutes += hall_guides_routes(&h, routes + nroutes, HALL_ROUTES_MAX - nroutes);
	memset(&hc, 0, sizeof(hc));
	hc.name = "hall";
	hc.listen = o->listen ? o->listen : oc_config_get(h.cfg, "hall", "listen", NULL);
	hc.tls_listen = o->tls_listen ? o->tls_listen :
	    oc_config_get(h.cfg, "hall", "tls_listen", "127.0.0.1:9443");
	hc.tls_cert = cert;
	hc.tls_key = key;
	hc.proxies = proxies;
	hc.n_proxies = nproxies;
	hc.static_dir = web;
	hc.worker_init = worker_init;
	hc.worker_free = worker_free;
	hc.worker_arg = &h;
	if ((srv = oc_http_server_new(&hc, routes, nroutes, err)) == NULL) {
		rc = err && err->code ? err->code : OC_EIO;
		goto out;
	}
	fprintf(stderr, "onecert hall serve: https://%s/ (Ctrl-C stops)\n", hc.tls_listen);
	rc = oc_http_server_run(srv);
out:
	oc_http_server_free(srv);
	free(proxies_buf);
	unload(&h);
	return rc;
}

int
oc_hall_grant_role(const char *dir, const char *serial, const char *role, bool grant,
    const char *by, struct oc_err *err)
{
	struct oc_hall_store *st;
	char path[4096], canon[43];
	int rc;

	if (role == NULL || (strcmp(role, "reviewer") != 0 && strcmp(role, "admin") != 0))
		return oc_err_set(err, OC_EINVAL, "--role must be reviewer or admin");
	if ((rc = oc_serial_canon(serial, canon, err)) != 0)
		return rc;
	snprintf(path, sizeof(path), "%s/hall.db", dir);
	if (access(dir, F_OK) != 0)
		return oc_err_set(err, OC_ENOTFOUND, "%s is not a hall directory", dir);
	if ((st = oc_hall_store_open(path, err)) == NULL)
		return OC_ESTORE;
	rc = grant ? oc_hall_role_grant(st, canon, role, by, err)
	    : oc_hall_role_revoke(st, canon, role, err);
	if (rc == 0)
		oc_hall_audit(st, by, "cli", grant ? "role.grant" : "role.revoke", canon,
		    grant ? "{\"granted\":true}" : "{\"granted\":false}", NULL);
	oc_hall_store_close(st);
	return rc;
}
