/*
 * router.c — from a request to its handler.
 *
 * Where a handler runs: on the event loop, on the worker pool
 * (OC_HTTP_BLOCKING), or first on the loop with the loop's own context and
 * then, if it calls oc_http_req_defer, again on the pool
 * (OC_HTTP_BLOCKING | OC_HTTP_LOOP_FIRST).  Handing a request to a worker
 * and its reply back costs two thread wake-ups, more than a few cached
 * SQLite reads: a read that will not wait is cheaper on the loop.
 *
 * Order: an exact route for the path and method; the built-in GET
 * /healthz and /metrics (unless a route claims those exact paths); the
 * longest prefix route for the path and method; 405 with Allow when some
 * route has the path but not the method; static files for GET/HEAD; 404.
 * A GET route also answers HEAD (the reply goes out without its body).
 * Errors are JSON: {"error": {"code": …, "message": …}}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onecert/log.h"
#include "http_int.h"

static bool
method_ok(const struct oc_http_route *r, const char *m)
{
	return r->method == NULL || strcmp(r->method, m) == 0 ||
	    (strcmp(m, "HEAD") == 0 && strcmp(r->method, "GET") == 0);
}

static bool
prefix_of(const struct oc_http_route *r, const char *path, size_t *n)
{
	*n = strlen(r->path);
	return strncmp(path, r->path, *n) == 0;
}

static const struct oc_http_route *
find_exact(const struct oc_http_server *srv, const char *method,
    const char *path, bool *known)
{
	for (size_t i = 0; i < srv->n_routes; i++) {
		const struct oc_http_route *r = &srv->routes[i];

		if ((r->flags & OC_HTTP_PREFIX) || strcmp(r->path, path) != 0)
			continue;
		*known = true;
		if (method_ok(r, method))
			return r;
	}
	return NULL;
}

static const struct oc_http_route *
find_prefix(const struct oc_http_server *srv, const char *method,
    const char *path, bool *known, const char **tail)
{
	const struct oc_http_route *best = NULL;
	size_t best_n = 0, n;

	for (size_t i = 0; i < srv->n_routes; i++) {
		const struct oc_http_route *r = &srv->routes[i];

		if (!(r->flags & OC_HTTP_PREFIX) || !prefix_of(r, path, &n))
			continue;
		*known = true;
		if (method_ok(r, method) && (best == NULL || n > best_n)) {
			best = r;
			best_n = n;
		}
	}
	if (best != NULL && tail != NULL)
		*tail = path + best_n;
	return best;
}

const struct oc_http_route *
oc__route_find(const struct oc_http_server *srv, const char *method,
    const char *path, bool *path_known, const char **tail)
{
	const struct oc_http_route *r;

	*path_known = false;
	if (tail != NULL)
		*tail = NULL;
	if ((r = find_exact(srv, method, path, path_known)) != NULL)
		return r;
	return find_prefix(srv, method, path, path_known, tail);
}

size_t
oc__route_body_limit(const struct oc_http_server *srv, const char *method,
    const char *path, const char **too_large)
{
	bool known;
	const struct oc_http_route *r = oc__route_find(srv, method, path, &known,
	    NULL);

	/* no route: the request will get 404 / 405; a little body is read
	 * (and dropped) so that the answer is that, not 413 */
	*too_large = r != NULL && r->too_large != NULL ? r->too_large : "请求内容过大";
	return r != NULL ? r->max_body : OC__HTTP_DEFAULT_BODY;
}

void
oc__route_allow(const struct oc_http_server *srv, const char *path,
    char *out, size_t cap)
{
	const char *seen[16];
	size_t nseen = 0, n, len = 0;
	bool get = false, head = false;

	out[0] = '\0';
	for (size_t i = 0; i < srv->n_routes && nseen < 15; i++) {
		const struct oc_http_route *r = &srv->routes[i];
		const char *m = r->method != NULL ? r->method : "GET";
		bool dup = false;

		if ((r->flags & OC_HTTP_PREFIX) ? !prefix_of(r, path, &n) :
		    strcmp(r->path, path) != 0)
			continue;
		for (size_t j = 0; j < nseen; j++)
			dup |= strcmp(seen[j], m) == 0;
		if (dup)
			continue;
		seen[nseen++] = m;
		get |= strcmp(m, "GET") == 0;
		head |= strcmp(m, "HEAD") == 0;
	}
	if (get && !head)
		seen[nseen++] = "HEAD";
	for (size_t j = 0; j < nseen; j++) {
		int w = snprintf(out + len, cap - len, "%s%s", len ? ", " : "",
		    seen[j]);

		if (w < 0 || (size_t)w >= cap - len) {
			out[len] = '\0';
			return;
		}
		len += (size_t)w;
	}
}

static bool
is_get(const struct oc_http_req *req)
{
	return strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
}

/* The handler has returned on the loop.  A reply not yet handed to evhttp
 * (req->evreq, only ever cleared on this thread) will come from another
 * thread: stop reading the connection until then (request.c). */
static void
finish(struct oc_http_req *req)
{
	if (req->evreq != NULL)
		oc__req_pause_input(req);
	oc__req_release(req);          /* the handler's reference */
}

static void
method_not_allowed(struct oc_http_req *req, const char *allow)
{
	oc_http_set_header(req, "Allow", allow);
	oc_http_reply_error(req, 405, "method_not_allowed",
	    "该地址不支持此请求方法");
}

static void
run(struct oc_http_req *req, oc_http_handler fn, void *arg, unsigned flags)
{
	struct oc_http_server *srv = req->loop->srv;

	req->fn = fn;
	req->fn_arg = arg;
	if (!(flags & OC_HTTP_BLOCKING)) {
		fn(req, arg);
		finish(req);
		return;
	}
	if ((flags & OC_HTTP_LOOP_FIRST) && req->loop->ctx != NULL) {
		req->worker_ctx = req->loop->ctx;
		req->on_loop = true;
		fn(req, arg);
		req->on_loop = false;
		req->worker_ctx = NULL;
		if (!req->deferred) {
			finish(req);
			return;
		}
	}
	oc__req_pause_input(req);      /* before another thread has it */
	if (!oc__pool_push(&srv->pool, req)) {
		atomic_fetch_add(&srv->rejected_busy, 1);
		oc_http_set_header(req, "Retry-After", "1");
		oc_http_reply_error(req, 503, "busy",
		    "服务器繁忙，请稍后再试");
		finish(req);
	}
	/* else the worker releases */
}

bool
oc_http_req_on_loop(struct oc_http_req *req)
{
	return req != NULL && req->on_loop;
}

bool
oc_http_req_defer(struct oc_http_req *req)
{
	if (req == NULL || !req->on_loop || req->deferred ||
	    atomic_load(&req->replied))
		return false;
	/* the handler starts again on the worker: drop what it set here */
	for (int i = 0; i < req->nhdrs; i++) {
		free(req->hdrs[i].name);
		free(req->hdrs[i].value);
	}
	req->nhdrs = 0;
	req->deferred = true;
	return true;
}

void
oc__route_dispatch(struct oc_http_req *req)
{
	struct oc_http_server *srv = req->loop->srv;
	const struct oc_http_route *r;
	bool known = false;
	const char *tail = NULL;
	char allow[128];

	r = find_exact(srv, req->method, req->path, &known);
	if (r == NULL && !known && (strcmp(req->path, "/healthz") == 0 ||
	    strcmp(req->path, "/metrics") == 0)) {
		bool metrics = req->path[1] == 'm';

		req->slot = (int)srv->n_routes +
		    (metrics ? OC__SLOT_METRICS : OC__SLOT_HEALTHZ);
		if (!is_get(req)) {
			method_not_allowed(req, "GET, HEAD");
			finish(req);
			return;
		}
		if (metrics)   /* the application's callback may block */
			run(req, oc__metrics_handler, srv,
			    srv->cfg.metrics != NULL ? OC_HTTP_BLOCKING : 0);
		else
			run(req, oc__healthz_handler, srv, 0);
		return;
	}
	if (r == NULL)
		r = find_prefix(srv, req->method, req->path, &known, &tail);
	if (r == NULL) {
		req->slot = (int)srv->n_routes + OC__SLOT_NONE;
		if (known) {
			oc__route_allow(srv, req->path, allow, sizeof(allow));
			method_not_allowed(req, allow);
		} else if (srv->static_root != NULL && is_get(req)) {
			req->slot = (int)srv->n_routes + OC__SLOT_STATIC;
			if (!oc__static_serve(req)) {
				req->slot = (int)srv->n_routes + OC__SLOT_NONE;
				oc_http_reply_error(req, 404, "not_found",
				    "请求的地址不存在");
			}
		} else if (srv->static_root != NULL &&
		    oc__static_exists(srv, req->path)) {
			method_not_allowed(req, "GET, HEAD");
		} else {
			oc_http_reply_error(req, 404, "not_found", "请求的地址不存在");
		}
		finish(req);
		return;
	}
	req->route = r;
	req->slot = (int)(r - srv->routes);
	req->tail = tail;
	if ((r->flags & OC_HTTP_TLS_ONLY) && !req->tls) {
		oc_http_reply_error(req, 403, "tls_required", "请使用 HTTPS 访问");
		finish(req);
		return;
	}
	if (req->body_len > r->max_body) {
		/* normally refused before the body was read (conn.c) */
		oc_http_set_header(req, "Connection", "close");
		oc_http_reply_error(req, 413, "too_large",
		    r->too_large != NULL ? r->too_large : "请求内容过大");
		finish(req);
		return;
	}
	run(req, r->fn, r->arg, r->flags);
}
