/*
 * apps.h — what activate.c (the applications of the main certificate:
 * 开通 and 主数字证书更新, their form, PDF, scan, submission, withdrawal)
 * shares with update.c (the update's own endpoints and its signed path).
 *
 * The two kinds share one set of routes, /api/v1/applications/{id}/…:
 * activate.c picks the field table, the checks, the printed form and the
 * words from the application's kind.
 */
#ifndef ONECERT_HALL_APPS_H
#define ONECERT_HALL_APPS_H

#include <stdbool.h>
#include <stddef.h>

#include "hall/hall_int.h"

/* The application as the applicant's pages see it (caller owns). */
json_t *hall_app_json(struct hall_call *c, const struct oc_hall_application *a);

/* POST of a new draft of `kind` (main_open, main_update) for the caller's
 * company: the body is the kind's form, checked field by field (400
 * naming the field); 409 when the company has an open application of
 * that kind; 201 with the application.  The caller has checked that the
 * certificate may apply. */
void hall_app_create_kind(struct hall_call *c, const struct oc_hall_company *co,
	const char *kind);

/* The registered holder's mobile (companies.profile holder_mobile) into
 * buf, "" when none. */
void hall_company_holder_mobile(const struct oc_hall_company *co, char *buf, size_t cap);

/* update.c — may the caller file a main-certificate update for its
 * company (a company with a main certificate, the caller not that main,
 * not retired)?  false after replying 403/409 when reply is set. */
bool hall_update_eligible(struct hall_call *c, const struct oc_hall_company *co,
	bool reply);

#endif
