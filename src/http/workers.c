/*
 * workers.c — the pool that runs OC_HTTP_BLOCKING handlers off the event
 * loops.  A bounded FIFO under one mutex: a full queue is refused by the
 * router with 503 rather than growing without bound.  Each worker makes
 * its context with config.worker_init in its own thread (a store handle,
 * say) and frees it with worker_free when the pool stops; stopping lets
 * the queue run dry first.
 */
#include <signal.h>
#include <stdlib.h>

#include "onecert/log.h"
#include "http_int.h"

struct worker_arg {
	struct oc__pool *pool;
	int idx;
};

static void *
worker_main(void *arg)
{
	struct worker_arg *wa = arg;
	struct oc__pool *pool = wa->pool;
	struct oc_http_server *srv = pool->srv;
	void *ctx = NULL;

	free(wa);
	if (srv->cfg.worker_init != NULL)
		ctx = srv->cfg.worker_init(srv->cfg.worker_arg);
	for (;;) {
		struct oc_http_req *req;

		pthread_mutex_lock(&pool->mu);
		while (pool->len == 0 && !pool->stop)
			pthread_cond_wait(&pool->cv, &pool->mu);
		if (pool->len == 0) {
			pthread_mutex_unlock(&pool->mu);
			break;
		}
		req = pool->q[pool->head];
		pool->head = (pool->head + 1) % pool->cap;
		pool->len--;
		pthread_mutex_unlock(&pool->mu);
		req->worker_ctx = ctx;
		req->fn(req, req->fn_arg);
		oc__req_release(req);        /* the handler's reference */
	}
	if (ctx != NULL && srv->cfg.worker_free != NULL)
		srv->cfg.worker_free(ctx);
	return NULL;
}

int
oc__pool_start(struct oc_http_server *srv)
{
	struct oc__pool *pool = &srv->pool;
	sigset_t block, old;

	pool->srv = srv;
	pthread_mutex_init(&pool->mu, NULL);
	pthread_cond_init(&pool->cv, NULL);
	pool->inited = true;
	pool->cap = (size_t)srv->cfg.queue_max;
	pool->q = calloc(pool->cap, sizeof(*pool->q));
	pool->th = calloc((size_t)srv->cfg.workers, sizeof(*pool->th));
	if (pool->q == NULL || pool->th == NULL)
		return OC_ENOMEM;
	pool->n = srv->cfg.workers;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	for (int i = 0; i < pool->n; i++) {
		struct worker_arg *wa = malloc(sizeof(*wa));

		if (wa == NULL)
			break;
		wa->pool = pool;
		wa->idx = i;
		if (pthread_create(&pool->th[i], NULL, worker_main, wa) != 0) {
			free(wa);
			break;
		}
		pool->started++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pool->started == 0) {
		oc_log(OC_LOG_ERROR, "http.workers", "service=%s msg=\"cannot start "
		    "worker threads\"", srv->name);
		return OC_ENOMEM;
	}
	return 0;
}

bool
oc__pool_push(struct oc__pool *pool, struct oc_http_req *req)
{
	bool ok = false;

	pthread_mutex_lock(&pool->mu);
	if (pool->len < pool->cap && !pool->stop) {
		pool->q[(pool->head + pool->len) % pool->cap] = req;
		pool->len++;
		ok = true;
		pthread_cond_signal(&pool->cv);
	}
	pthread_mutex_unlock(&pool->mu);
	return ok;
}

size_t
oc__pool_depth(struct oc__pool *pool)
{
	size_t n;

	if (!pool->inited)
		return 0;
	pthread_mutex_lock(&pool->mu);
	n = pool->len;
	pthread_mutex_unlock(&pool->mu);
	return n;
}

void
oc__pool_stop(struct oc__pool *pool)
{
	if (!pool->inited)
		return;
	pthread_mutex_lock(&pool->mu);
	pool->stop = true;
	pthread_cond_broadcast(&pool->cv);
	pthread_mutex_unlock(&pool->mu);
	for (int i = 0; i < pool->started; i++)
		pthread_join(pool->th[i], NULL);
	pool->started = 0;
	pool->inited = false;
	pthread_cond_destroy(&pool->cv);
	pthread_mutex_destroy(&pool->mu);
	free(pool->q);
	free(pool->th);
	pool->q = NULL;
	pool->th = NULL;
}
