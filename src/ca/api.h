/*
 * api.h — the RA API handler of `onecert ca serve` (src/ca/api.c) and its
 * one public endpoint (src/ca/lineage.c).
 */
#ifndef ONECERT_CA_API_H
#define ONECERT_CA_API_H

#include "onecert/http.h"

/* The handler of the prefix route /api/v1/ (blocking, TLS only).  Its
 * worker context (oc_http_req_worker) must be a struct oc_ca *. */
void oc__ca_api_handle(struct oc_http_req *req, void *arg);

/* GET /api/v1/public/lineage/{serial} (src/ca/lineage.c): what a
 * certificate renews, changes or reissues — public, no client
 * certificate.  Same worker context. */
void oc__ca_lineage_handle(struct oc_http_req *req, void *arg);

#endif
