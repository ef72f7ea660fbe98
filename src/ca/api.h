/*
 * api.h — the RA API handler of `onecert ca serve` (src/ca/api.c) and its
 * one public endpoint (src/ca/lineage.c).
 */
#ifndef ONECERT_CA_API_H
#define ONECERT_CA_API_H

#include "onecert/http.h"

/* The CA handle of the worker thread running req (src/ca/service.c), or
 * NULL on an event loop or when none is left. */
struct oc_ca *oc__ca_req_ca(struct oc_http_req *req);

/* The handler of the prefix route /api/v1/ (blocking, TLS only); it gets
 * its CA handle with oc__ca_req_ca. */
void oc__ca_api_handle(struct oc_http_req *req, void *arg);

/* GET /api/v1/public/lineage/{serial} (src/ca/lineage.c): what a
 * certificate renews, changes or reissues — public, no client
 * certificate.  Same CA handle. */
void oc__ca_lineage_handle(struct oc_http_req *req, void *arg);

#endif
