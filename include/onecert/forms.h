/*
 * forms.h — the paper side of activation (SPEC §4.2 step 3): the prefilled
 * PDF application form with a QR code that binds it to one application,
 * and the check of the signed, sealed scan that comes back.
 *
 *  - oc_form_pdf renders 《上海市建筑建材业网上办事大厅主数字证书开通申请表》
 *    (and, with kind OC_FORM_MAIN_UPDATE, 《主数字证书更新申请表》) on A4 with
 *    cairo + pango and a CJK font, the 说明 notes, signature and seal
 *    boxes, and a QR code (libqrencode) carrying oc_form_qr_payload.
 *  - oc_form_qr_payload binds the form to the application: the application
 *    ID, a digest of the prefilled fields (oc_form_digest) and an
 *    HMAC-SHA256 under the hall's secret over both, so a QR code cannot be
 *    made for another application or for changed fields without the key.
 *  - oc_scan_check decodes an uploaded scan with libturbojpeg (the whole
 *    image, not only its header: a truncated JPEG fails), refuses anything
 *    else, and reads QR codes in it with zbar.
 *
 * Everything here is a pure function of its inputs (no database, no
 * files): the hall stores what these return.
 */
#ifndef ONECERT_FORMS_H
#define ONECERT_FORMS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "onecert/buf.h"
#include "onecert/error.h"

enum oc_form_kind {
	OC_FORM_MAIN_OPEN = 1,      /* 主数字证书开通申请表 */
	OC_FORM_MAIN_UPDATE = 2,    /* 主数字证书更新申请表 (issue 6) */
};

/* A field of the form: a Chinese label and its value (UTF-8).  Both are
 * printed as given; the order is the order on paper. */
struct oc_form_field {
	const char *label;
	const char *value;
};

struct oc_form {
	enum oc_form_kind kind;
	long long app_id;           /* the application this form belongs to */
	const struct oc_form_field *fields;
	size_t n_fields;
	time_t created;             /* printed as 填表日期 (China Standard Time) */
	const char *qr_payload;     /* from oc_form_qr_payload */
};

/* Render the PDF into out (appended).  OC_EINVAL for a form without
 * fields or QR payload; OC_EINTERNAL when cairo/pango fail. */
int oc_form_pdf(const struct oc_form *form, struct oc_buf *out, struct oc_err *err);

/* SHA-256 over the fields in order (label, value, each NUL-terminated),
 * as 64 lower-case hex digits. */
void oc_form_digest(const struct oc_form_field *fields, size_t n, char hex[65]);

/* "OC1-<app_id>-<first 16 hex of digest>-<first 32 hex of
 * HMAC-SHA256(key, "OC1-<app_id>-<digest16>")>": short enough for a QR
 * code that survives print and scan.  Upper-case hex, so the QR code can
 * use alphanumeric mode. */
int oc_form_qr_payload(const unsigned char *key, size_t key_len, long long app_id,
	const char digest_hex[65], char *out, size_t cap, struct oc_err *err);

enum oc_qr_verdict {
	OC_QR_NONE = 0,             /* no QR code found in the scan */
	OC_QR_MATCH = 1,            /* this application, these fields, our MAC */
	OC_QR_OTHER = 2,            /* a valid code of ours, another application */
	OC_QR_STALE = 3,            /* this application, but the fields changed
	                               since the form was printed */
	OC_QR_FORGED = 4,           /* not made with our key, or not ours */
};
const char *oc_qr_verdict_name(enum oc_qr_verdict v);  /* "none", "match", … */

/* Judge the QR payloads found in a scan against an application: the best
 * verdict over all of them (match > stale > other > forged > none). */
enum oc_qr_verdict oc_form_qr_judge(const unsigned char *key, size_t key_len,
	long long app_id, const char digest_hex[65], const char *const *payloads,
	size_t n_payloads);

/* What the scan check found. */
struct oc_scan_info {
	int width, height;
	char qr[4][128];            /* up to 4 decoded QR payloads (text) */
	size_t n_qr;
};

/* Decode the JPEG fully (libturbojpeg), then look for QR codes (zbar) in
 * its grey image.  OC_ETOOBIG for more than max_bytes; OC_EINVAL with a
 * clear Chinese + English message for: an empty body, not a JPEG (by
 * content, whatever the name), a truncated or corrupt JPEG, a CMYK JPEG,
 * an image smaller than 200×200 or larger than 10000×10000 pixels. */
int oc_scan_check(const unsigned char *data, size_t len, size_t max_bytes,
	struct oc_scan_info *info, struct oc_err *err);

#endif
