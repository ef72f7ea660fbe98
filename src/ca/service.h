/*
 * service.h — `onecert ca serve` (src/ca/service.c).
 */
#ifndef ONECERT_CA_SERVICE_H
#define ONECERT_CA_SERVICE_H

#include "onecert/error.h"

struct oc_ca_serve_opts {
	const char *dir;
	const char *listen;       /* plain HTTP; NULL: serve.listen or 127.0.0.1:8080 */
	const char *tls_listen;   /* HTTPS (RA API); NULL: serve.tls_listen or none */
	const char *user;         /* drop privileges to this user after start-up */
	int threads, workers;     /* 0: defaults */
};

/* Serve until SIGTERM/SIGINT.  0 after a clean stop. */
int oc_ca_serve(const struct oc_ca_serve_opts *o, struct oc_err *err);

#endif
