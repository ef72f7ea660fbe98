/*
 * metrics.c — counters and the built-in GET /metrics and GET /healthz.
 *
 * Counters are relaxed atomics, bumped once per reply on the loop thread
 * that sends it, each loop its own set (summed here): per route slot
 * (configured routes, then healthz, metrics, static, none, rejected) a
 * counter per status (the usual ones, plus one "other" bucket per class
 * so the label set stays bounded) and the sum and
 * count of durations.  /metrics prints them in Prometheus text format with
 * the gauges (requests in flight, open connections, worker queue) and then
 * whatever config.metrics appends.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "onecert/buf.h"
#include "onecert/log.h"
#include "http_int.h"

static const int statuses[] = {
	200, 201, 202, 204, 301, 302, 303, 304, 307, 308,
	400, 401, 403, 404, 405, 408, 409, 410, 411, 412, 413, 414, 415, 422,
	429, 431, 500, 501, 502, 503, 504, 505,
};
#define N_KNOWN ((int)(sizeof(statuses) / sizeof(statuses[0])))

static int
status_index(int status)
{
	for (int i = 0; i < N_KNOWN; i++)
		if (statuses[i] == status)
			return i;
	if (status < 100 || status > 599)
		status = 500;
	return N_KNOWN + status / 100 - 1;       /* 1xx..5xx "other" */
}

/* Only the loop's own thread writes its counters: a plain load and store
 * (relaxed atomics, so /metrics on another thread reads whole values),
 * no locked read-modify-write and no cache line shared between loops. */
static void
bump(_Atomic unsigned long long *v, unsigned long long by)
{
	atomic_store_explicit(v, atomic_load_explicit(v, memory_order_relaxed) +
	    by, memory_order_relaxed);
}

void
oc__metrics_count(struct oc__loop *loop, int slot, int status,
    unsigned long long dur_us)
{
	struct oc_http_server *srv = loop->srv;
	struct oc__route_stats *st;

	if (slot < 0 || (size_t)slot >= srv->n_routes + OC__SLOT_N)
		slot = (int)srv->n_routes + OC__SLOT_NONE;
	st = &loop->stats[slot];
	bump(&st->by_status[status_index(status)], 1);
	bump(&st->dur_us, dur_us);
	bump(&st->n, 1);
}

/* A counter summed over the loops. */
static unsigned long long
total(const struct oc_http_server *srv, size_t slot, size_t off)
{
	unsigned long long v = 0;
	size_t nslots = srv->n_routes + OC__SLOT_N;

	for (int i = 0; i < srv->nloops; i++)
		v += atomic_load_explicit((_Atomic unsigned long long *)
		    ((char *)&srv->stats[(size_t)i * nslots + slot] + off),
		    memory_order_relaxed);
	return v;
}

/* A Prometheus label value: \ " and newline escaped. */
static void
label(struct oc_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			oc_buf_printf(b, "\\%c", *s);
		else if (*s == '\n')
			oc_buf_adds(b, "\\n");
		else
			oc_buf_add(b, s, 1);
	}
}

static void
slot_labels(struct oc_buf *b, const struct oc_http_server *srv, size_t slot)
{
	static const char *const builtin[OC__SLOT_N] = {
		"/healthz", "/metrics", "static", "none", "rejected"
	};
	const char *route, *method = "";

	if (slot < srv->n_routes) {
		route = srv->routes[slot].path;
		method = srv->routes[slot].method != NULL ?
		    srv->routes[slot].method : "any";
	} else {
		route = builtin[slot - srv->n_routes];
		method = slot - srv->n_routes <= OC__SLOT_METRICS ? "GET" : "any";
	}
	oc_buf_adds(b, "service=\"");
	label(b, srv->name);
	oc_buf_adds(b, "\",route=\"");
	label(b, route);
	oc_buf_adds(b, "\",method=\"");
	label(b, method);
	oc_buf_adds(b, "\"");
}

void
oc__metrics_handler(struct oc_http_req *req, void *arg)
{
	struct oc_http_server *srv = arg;
	struct oc_buf b;
	int inflight = 0, conns = 0;
	size_t nslots = srv->n_routes + OC__SLOT_N;

	oc_buf_init(&b, 8u * 1024 * 1024);
	oc_buf_adds(&b, "# HELP onecert_http_requests_total HTTP requests "
	    "answered, by route and status.\n"
	    "# TYPE onecert_http_requests_total counter\n");
	for (size_t s = 0; s < nslots; s++)
		for (int i = 0; i < OC__N_STATUS; i++) {
			unsigned long long v = total(srv, s,
			    offsetof(struct oc__route_stats, by_status) +
			    (size_t)i * sizeof(srv->stats[0].by_status[0]));

			if (v == 0)
				continue;
			oc_buf_adds(&b, "onecert_http_requests_total{");
			slot_labels(&b, srv, s);
			if (i < N_KNOWN)
				oc_buf_printf(&b, ",status=\"%d\"} %llu\n", statuses[i], v);
			else
				oc_buf_printf(&b, ",status=\"%dxx\"} %llu\n",
				    i - N_KNOWN + 1, v);
		}
	oc_buf_adds(&b, "# HELP onecert_http_request_duration_seconds Time "
	    "from a whole request to its reply.\n"
	    "# TYPE onecert_http_request_duration_seconds summary\n");
	for (size_t s = 0; s < nslots; s++) {
		unsigned long long n = total(srv, s,
		    offsetof(struct oc__route_stats, n));
		unsigned long long us = total(srv, s,
		    offsetof(struct oc__route_stats, dur_us));

		if (n == 0)
			continue;
		oc_buf_adds(&b, "onecert_http_request_duration_seconds_sum{");
		slot_labels(&b, srv, s);
		oc_buf_printf(&b, "} %.6f\n", (double)us / 1e6);
		oc_buf_adds(&b, "onecert_http_request_duration_seconds_count{");
		slot_labels(&b, srv, s);
		oc_buf_printf(&b, "} %llu\n", n);
	}
	for (int i = 0; i < srv->nloops; i++) {
		inflight += atomic_load(&srv->loops[i].inflight);
		conns += atomic_load(&srv->loops[i].nconns);
	}
	oc_buf_adds(&b, "# HELP onecert_http_requests_in_flight Requests being "
	    "handled.\n# TYPE onecert_http_requests_in_flight gauge\n"
	    "onecert_http_requests_in_flight{service=\"");
	label(&b, srv->name);
	oc_buf_printf(&b, "\"} %d\n", inflight);
	oc_buf_adds(&b, "# HELP onecert_http_connections Open client "
	    "connections.\n# TYPE onecert_http_connections gauge\n"
	    "onecert_http_connections{service=\"");
	label(&b, srv->name);
	oc_buf_printf(&b, "\"} %d\n", conns);
	oc_buf_adds(&b, "# HELP onecert_http_connections_total Connections "
	    "accepted.\n# TYPE onecert_http_connections_total counter\n"
	    "onecert_http_connections_total{service=\"");
	label(&b, srv->name);
	oc_buf_printf(&b, "\"} %llu\n", atomic_load(&srv->conns_total));
	oc_buf_adds(&b, "# HELP onecert_http_worker_queue_depth Blocking "
	    "requests waiting for a worker.\n"
	    "# TYPE onecert_http_worker_queue_depth gauge\n"
	    "onecert_http_worker_queue_depth{service=\"");
	label(&b, srv->name);
	oc_buf_printf(&b, "\"} %zu\n", oc__pool_depth(&srv->pool));
	oc_buf_adds(&b, "# HELP onecert_http_worker_queue_capacity Most "
	    "requests that may wait for a worker.\n"
	    "# TYPE onecert_http_worker_queue_capacity gauge\n"
	    "onecert_http_worker_queue_capacity{service=\"");
	label(&b, srv->name);
	oc_buf_printf(&b, "\"} %d\n", srv->cfg.queue_max);
	oc_buf_adds(&b, "# HELP onecert_http_workers Worker threads.\n"
	    "# TYPE onecert_http_workers gauge\n"
	    "onecert_http_workers{service=\"");
	label(&b, srv->name);
	oc_buf_printf(&b, "\"} %d\n", srv->cfg.workers);
	oc_buf_adds(&b, "# HELP onecert_http_rejected_busy_total Blocking "
	    "requests refused with 503 (queue full).\n"
	    "# TYPE onecert_http_rejected_busy_total counter\n"
	    "onecert_http_rejected_busy_total{service=\"");
	label(&b, srv->name);
	oc_buf_printf(&b, "\"} %llu\n", atomic_load(&srv->rejected_busy));
	if (srv->cfg.metrics != NULL)
		srv->cfg.metrics(&b, srv->cfg.metrics_arg);
	oc_http_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8",
	    b.p, b.len);
	oc_buf_cleanup(&b);
}

void
oc__healthz_handler(struct oc_http_req *req, void *arg)
{
	(void)arg;
	if (req->loop->draining) {
		oc_http_reply_json(req, 503, json_pack("{s:s}", "status",
		    "stopping"));
		return;
	}
	oc_http_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}
