/*
 * notify.h — how the hall reaches people: SMS (SPEC §2, §4.2 step 7) and
 * the local-mobile rule (SPEC §3.3).
 *
 * Every message goes into the hall database's outbox (oc_hall_outbox_*),
 * whatever the backend, so an admin can see what was sent and when.  The
 * backend comes from hall.ini [sms]:
 *
 *   backend = outbox          the embedded default: the outbox is the
 *                             delivery (demo, tests; `onecert admin outbox`)
 *   backend = kannel          Kannel's smsbox HTTP sendsms interface:
 *   kannel_url = http://127.0.0.1:13013/cgi-bin/sendsms
 *   kannel_user = …           sendsms-user username
 *   kannel_password = …
 *   kannel_from = …           sender shown on the phone (optional)
 *   timeout = 5s
 *
 * The local-mobile rule, also [sms]:
 *   local_city = 上海市        what the segment table must say
 *   unknown_segment = reject  or `flag`: accept a number whose first seven
 *                             digits the table does not know, flagged
 *
 * Blocking (one HTTP request to Kannel): call it from a worker thread.
 */
#ifndef ONECERT_NOTIFY_H
#define ONECERT_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "onecert/config.h"
#include "onecert/error.h"

struct oc_hall_store;
struct oc_notify;

/* Caller owns the result.  OC_ECONFIG for an unknown backend, a kannel
 * backend without a URL or user, a bad URL (http:// only: Kannel listens on
 * loopback or a private network), a bad unknown_segment policy. */
struct oc_notify *oc_notify_new(const struct oc_config *cfg, const char *section,
	struct oc_err *err);
void oc_notify_free(struct oc_notify *n);
const char *oc_notify_backend(const struct oc_notify *n);   /* "outbox" / "kannel" */

/* Send one SMS to an 11-digit mobile.  purpose names why ("sms_code",
 * "application.submitted", …) and is stored with the message.  With the
 * kannel backend the message is sent first and stored with status "sent"
 * or "failed" (and the gateway's answer); a purpose of "sms_code" has its
 * digits masked in the stored text when Kannel delivered it (the code is
 * the phone's to know, not the database's).  0 once delivered to the
 * backend; OC_EIO (message names the gateway's answer) when Kannel
 * refused or could not be reached. */
int oc_notify_sms(struct oc_notify *n, struct oc_hall_store *st, const char *to,
	const char *text, const char *purpose, struct oc_err *err);

/* The local-mobile rule: 0 when the mobile is well-formed and its segment
 * is in local_city (or unknown and the policy is `flag`: *flagged = true).
 * OC_EINVAL with "请使用本市手机接收手机验证码 / …" for a non-local or (policy
 * reject) unknown segment, or the check of oc_mobile_check. */
int oc_notify_mobile_local(const struct oc_notify *n, struct oc_hall_store *st,
	const char *mobile, bool *flagged, struct oc_err *err);

/* Read a segment table file into the hall database: one segment per line,
 * "PREFIX7,CITY" (UTF-8), '#' comments; with replace the old table is
 * dropped first, in the same transaction.  A malformed line fails the
 * whole import, naming the line, and changes nothing.  *count gets the
 * number of segments read. */
int oc_notify_import_segments(struct oc_hall_store *st, const char *path, bool replace,
	size_t *count, struct oc_err *err);

#endif
