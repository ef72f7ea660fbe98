/*
 * matters.h — the matter catalogue (事项, SPEC §4.3) as the other hall
 * files see it: review.c shows a matter application's attachments and
 * serves their bytes to reviewers.  The catalogue itself is loaded and
 * checked by matters.c (hall_matters_load) and lives in h->matters, a
 * JSON array that nobody changes after start-up, so any thread may read
 * it without a lock.
 */
#ifndef ONECERT_HALL_MATTERS_H
#define ONECERT_HALL_MATTERS_H

#include <jansson.h>

#include "hall/hall_int.h"

/* The catalogue entry with this code, or NULL.  Borrowed from h->matters. */
json_t *hall_matter_find(const struct hall *h, const char *code);
/* The entry's attachment with this name, or NULL.  Borrowed. */
json_t *hall_matter_attachment_find(const json_t *matter, const char *name);
/* {"code", "name"} of an application's matter (the name is "" when the
 * catalogue no longer holds the code).  Caller owns the result. */
json_t *hall_matter_ref_json(const struct hall *h, const char *code);
/* The application's stored attachments as [{"name", "label",
 * "content_type", "size", "sha256", "uploaded_at"}] in catalogue order.
 * Caller owns the result (an empty array when the store fails). */
json_t *hall_matter_attachments_json(struct hall_call *c,
	const struct oc_hall_application *a);
/* Reply with the bytes of one attachment of a (its content type,
 * Content-Security-Policy: sandbox, no caching); 404 when it has none of
 * that name. */
void hall_matter_attachment_reply(struct hall_call *c,
	const struct oc_hall_application *a, const char *name);

#endif
