/*
 * lineage.c — the CA's public answer to "what does this certificate
 * replace?" (issue 6: the service hall's signed main-certificate update).
 *
 *   GET /api/v1/public/lineage/{serial}   (HTTPS, no client certificate)
 *   → {"serial", "replaces", "kind": "renew"|"change"|"reissue"|"new",
 *      "medium", "replaces_medium"}
 *
 * A relying party (the hall) asks it when a holder wants to sign the
 * update of a main certificate with the old key: only a renewal (更新: new
 * key, same data, same medium, the old certificate still valid) lets the
 * old key speak for the new certificate.  The answer holds nothing the
 * two certificates do not already show to whoever holds them, except
 * the media serials, which are printed on the USB keys themselves; it is
 * given for enterprise certificates only (anything else: 404), over TLS
 * so that the relying party can authenticate the CA by its server
 * certificate.  Served from the worker's own store connection, read only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ca/api.h"
#include "onecert/ca.h"
#include "onecert/http.h"
#include "onecert/pki.h"
#include "onecert/store.h"

void
oc__ca_lineage_handle(struct oc_http_req *req, void *arg)
{
	struct oc_ca *ca = oc__ca_req_ca(req);
	struct oc_cert_rec r, old;
	struct oc_enrollment e;
	struct oc_err err;
	const char *tail = oc_http_req_tail(req), *kind = "new";
	char canon[43];
	json_t *j;
	(void)arg;

	memset(&r, 0, sizeof(r));
	memset(&old, 0, sizeof(old));
	if (ca == NULL)
		return oc_http_reply_error(req, 503, "unavailable", "服务暂不可用 / service unavailable");
	if (tail == NULL || strlen(tail) > 64 || strchr(tail, '/') != NULL ||
	    oc_serial_canon(tail, canon, NULL) != 0)
		return oc_http_reply_error(req, 404, "not_found", "无此证书 / no such certificate");
	oc_err_clear(&err);
	if (oc_store_cert_get(oc_ca_store(ca), canon, &r, &err) != 0) {
		free(r.der);
		if (err.code == OC_ENOTFOUND)
			return oc_http_reply_error(req, 404, "not_found", "无此证书 / no such certificate");
		return oc_http_reply_error(req, 503, "unavailable", "服务暂不可用 / service unavailable");
	}
	free(r.der);
	r.der = NULL;
	if (strcmp(r.profile, "enterprise") != 0)
		return oc_http_reply_error(req, 404, "not_found", "无此证书 / no such certificate");
	if (r.replaces[0] != '\0') {
		if (r.enrollment_id > 0 &&
		    oc_store_enroll_get(oc_ca_store(ca), r.enrollment_id, &e, NULL) == 0 &&
		    e.kind != OC_ENROLL_APPLY)
			kind = oc_enroll_kind_name(e.kind);
		else
			kind = "?";     /* a replacement the records do not explain */
		if (oc_store_cert_get(oc_ca_store(ca), r.replaces, &old, NULL) != 0)
			memset(old.medium, 0, sizeof(old.medium));
		free(old.der);
	}
	j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "serial", r.serial, "replaces", r.replaces,
	    "kind", kind, "medium", r.medium, "replaces_medium", r.replaces[0] ? old.medium : "");
	oc_http_set_header(req, "Cache-Control", "no-store");
	oc_http_reply_json(req, 200, j);
}
