/*
 * serve.h — `onecert hall …` entry points (src/hall/serve.c).
 */
#ifndef ONECERT_HALL_SERVE_H
#define ONECERT_HALL_SERVE_H

#include <stdbool.h>
#include "onecert/error.h"

struct oc_hall_serve_opts {
	const char *dir;          /* HDIR with hall.ini */
	const char *listen;       /* plain HTTP (static pages only); NULL: hall.listen */
	const char *tls_listen;   /* NULL: hall.tls_listen or 127.0.0.1:9443 */
};

int oc_hall_serve(const struct oc_hall_serve_opts *o, struct oc_err *err);
int oc_hall_grant_role(const char *dir, const char *serial, const char *role,
	bool grant, const char *by, struct oc_err *err);

#endif
