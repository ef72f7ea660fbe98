/*
 * rp_cache.c — the relying party's cache of OCSP answers, one entry per
 * (issuer key, serial), each with its own expiry (the earlier of the
 * response's nextUpdate and ocsp_max_age after it was fetched).
 *
 * A chained hash table plus a doubly linked LRU list, under one mutex:
 * lookups move the entry to the front, inserts beyond max_entries drop
 * the entry at the back, expired entries are dropped when met.  Every
 * operation is O(1); the lock is never held across I/O.  The number of
 * entries is bounded whatever certificates clients present.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rp_int.h"

struct ent {
	struct oc__rp_key k;
	struct oc__rp_rev v;
	time_t expires;
	struct ent *hnext;             /* hash chain */
	struct ent *prev, *next;       /* LRU: head = most recent */
};

struct oc__rp_cache {
	pthread_mutex_t mu;
	struct ent **buckets;
	size_t nbuckets;               /* a power of two */
	size_t n, max;
	struct ent *head, *tail;
};

static uint64_t
key_hash(const struct oc__rp_key *k)
{
	uint64_t h = 1469598103934665603ULL;   /* FNV-1a */

	for (size_t i = 0; i < sizeof(k->issuer); i++)
		h = (h ^ k->issuer[i]) * 1099511628211ULL;
	for (const char *p = k->serial; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h;
}

static bool
key_eq(const struct oc__rp_key *a, const struct oc__rp_key *b)
{
	return memcmp(a->issuer, b->issuer, sizeof(a->issuer)) == 0 &&
	    strcmp(a->serial, b->serial) == 0;
}

struct oc__rp_cache *
oc__rp_cache_new(size_t max_entries)
{
	struct oc__rp_cache *c;
	size_t nb = 64;

	if (max_entries == 0)
		max_entries = 1;
	while (nb < max_entries && nb < ((size_t)1 << 24))
		nb <<= 1;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((c->buckets = calloc(nb, sizeof(*c->buckets))) == NULL) {
		free(c);
		return NULL;
	}
	c->nbuckets = nb;
	c->max = max_entries;
	pthread_mutex_init(&c->mu, NULL);
	return c;
}

static void
lru_unlink(struct oc__rp_cache *c, struct ent *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void
lru_push_front(struct oc__rp_cache *c, struct ent *e)
{
	e->prev = NULL;
	e->next = c->head;
	if (c->head != NULL)
		c->head->prev = e;
	c->head = e;
	if (c->tail == NULL)
		c->tail = e;
}

/* The slot that points at the entry for k (or at the NULL ending its
 * chain). */
static struct ent **
find_slot(struct oc__rp_cache *c, const struct oc__rp_key *k)
{
	struct ent **pp = &c->buckets[key_hash(k) & (c->nbuckets - 1)];

	while (*pp != NULL && !key_eq(&(*pp)->k, k))
		pp = &(*pp)->hnext;
	return pp;
}

static void
remove_at(struct oc__rp_cache *c, struct ent **pp)
{
	struct ent *e = *pp;

	*pp = e->hnext;
	lru_unlink(c, e);
	c->n--;
	free(e);
}

bool
oc__rp_cache_get(struct oc__rp_cache *c, const struct oc__rp_key *k,
    time_t now, struct oc__rp_rev *out)
{
	struct ent **pp;
	bool hit = false;

	if (c == NULL)
		return false;
	pthread_mutex_lock(&c->mu);
	pp = find_slot(c, k);
	if (*pp != NULL) {
		if ((*pp)->expires > now) {
			*out = (*pp)->v;
			lru_unlink(c, *pp);
			lru_push_front(c, *pp);
			hit = true;
		} else {
			remove_at(c, pp);
		}
	}
	pthread_mutex_unlock(&c->mu);
	return hit;
}

void
oc__rp_cache_put(struct oc__rp_cache *c, const struct oc__rp_key *k,
    const struct oc__rp_rev *v, time_t expires)
{
	struct ent **pp, *e;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	pp = find_slot(c, k);
	if ((e = *pp) != NULL) {
		e->v = *v;
		e->expires = expires;
		lru_unlink(c, e);
		lru_push_front(c, e);
		goto out;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL)
		goto out;          /* not cached: the next check asks again */
	e->k = *k;
	e->v = *v;
	e->expires = expires;
	*pp = e;
	lru_push_front(c, e);
	c->n++;
	while (c->n > c->max && c->tail != NULL) {
		struct ent *old = c->tail;

		remove_at(c, find_slot(c, &old->k));
	}
out:
	pthread_mutex_unlock(&c->mu);
}

void
oc__rp_cache_del(struct oc__rp_cache *c, const struct oc__rp_key *k)
{
	struct ent **pp;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	pp = find_slot(c, k);
	if (*pp != NULL)
		remove_at(c, pp);
	pthread_mutex_unlock(&c->mu);
}

void
oc__rp_cache_clear(struct oc__rp_cache *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	while (c->head != NULL)
		remove_at(c, find_slot(c, &c->head->k));
	pthread_mutex_unlock(&c->mu);
}

size_t
oc__rp_cache_count(struct oc__rp_cache *c)
{
	size_t n;

	if (c == NULL)
		return 0;
	pthread_mutex_lock(&c->mu);
	n = c->n;
	pthread_mutex_unlock(&c->mu);
	return n;
}

void
oc__rp_cache_free(struct oc__rp_cache *c)
{
	if (c == NULL)
		return;
	oc__rp_cache_clear(c);
	pthread_mutex_destroy(&c->mu);
	free(c->buckets);
	free(c);
}
