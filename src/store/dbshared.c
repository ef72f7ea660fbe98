/*
 * dbshared.c — state shared by every handle of this process on one
 * database file: the group commits of the CA store (src/ca/group.c) and
 * of the hall store (src/store/hall_sqlite.c) keep their queue and their
 * sync counters here, so that all handles on a file meet in one place.
 *
 * A file is known by its device and inode (two paths to one file meet),
 * and each user names a kind, so two users of one file never share.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/store_int.h"

struct node {
	dev_t dev;
	ino_t ino;
	const char *kind;
	int refs;
	struct oc__dbshared *state;
	struct node *next;
};

static pthread_mutex_t nodes_mu = PTHREAD_MUTEX_INITIALIZER;
static struct node *nodes;

void *
oc__dbshared_get(const char *path, const char *kind, size_t size)
{
	struct node *n;
	struct stat sb;

	if (size < sizeof(struct oc__dbshared) || stat(path, &sb) != 0)
		return NULL;
	pthread_mutex_lock(&nodes_mu);
	for (n = nodes; n != NULL; n = n->next)
		if (n->dev == sb.st_dev && n->ino == sb.st_ino && strcmp(n->kind, kind) == 0)
			break;
	if (n == NULL && (n = calloc(1, sizeof(*n))) != NULL) {
		if ((n->state = calloc(1, size)) == NULL) {
			free(n);
			n = NULL;
		} else {
			n->dev = sb.st_dev;
			n->ino = sb.st_ino;
			n->kind = kind;
			pthread_mutex_init(&n->state->mu, NULL);
			pthread_cond_init(&n->state->cv, NULL);
			n->next = nodes;
			nodes = n;
		}
	}
	if (n != NULL)
		n->refs++;
	pthread_mutex_unlock(&nodes_mu);
	return n != NULL ? n->state : NULL;
}

void
oc__dbshared_put(void *state)
{
	struct node **pp, *n;

	if (state == NULL)
		return;
	pthread_mutex_lock(&nodes_mu);
	for (pp = &nodes; (n = *pp) != NULL; pp = &n->next)
		if (n->state == state)
			break;
	if (n != NULL && --n->refs == 0) {
		*pp = n->next;
		pthread_cond_destroy(&n->state->cv);
		pthread_mutex_destroy(&n->state->mu);
		free(n->state);
		free(n);
	}
	pthread_mutex_unlock(&nodes_mu);
}
