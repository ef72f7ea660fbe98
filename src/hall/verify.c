/*
 * verify.c — the hall's view of a certificate: the relying-party check
 * (src/pki/rp.c: chain to a configured anchor, validity, usage,
 * revocation by OCSP with CRL fallback, fail closed) and the mapping to a
 * company by its organization code and to an account by its unique ID,
 * reading the OIDs that [trust] configures (ours and SHECA's by default).
 */
#include <stdio.h>
#include <string.h>

#include "hall/hall_int.h"
#include "onecert/rp.h"

int
hall_identify(struct hall *h, X509 *cert, STACK_OF(X509) *chain,
    struct hall_identity *id, struct oc_err *err)
{
	struct oc_rp_result r;
	int rc;

	memset(id, 0, sizeof(*id));
	rc = oc_rp_check(h->rp, cert, chain, 0, &r, err);
	snprintf(id->serial, sizeof(id->serial), "%s", r.serial);
	if (rc != 0) {
		if (rc == OC_EPERM)
			snprintf(id->refusal, sizeof(id->refusal), "%s", r.message);
		return rc;
	}
	snprintf(id->subject_cn, sizeof(id->subject_cn), "%s", r.subject_cn);
	snprintf(id->issuer, sizeof(id->issuer), "%s", r.issuer);
	id->not_after = r.not_after;
	if (r.unique_id[0])
		snprintf(id->uid, sizeof(id->uid), "%s", r.unique_id);
	else   /* no unique ID: the issuer and serial stand in for it */
		snprintf(id->uid, sizeof(id->uid), "sn:%.40s", r.serial);
	if (r.org_code[0] == '\0') {
		id->staff = true;   /* a personal certificate */
		return 0;
	}
	snprintf(id->org_value, sizeof(id->org_value), "%s", r.org_code_value);
	snprintf(id->org_code, sizeof(id->org_code), "%s", r.org_code);
	snprintf(id->uscc, sizeof(id->uscc), "%s", r.uscc);
	return 0;
}

int
hall_recheck(struct hall *h, X509 *cert, struct oc_err *err)
{
	struct oc_rp_result r;

	return oc_rp_recheck(h->rp, cert, NULL, 0, &r, err);
}
