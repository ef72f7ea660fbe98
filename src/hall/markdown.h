/*
 * markdown.h — a small, strict Markdown subset rendered to safe HTML, for
 * the guides (办事指南, SPEC §4.5).
 *
 * What is understood: ATX headings (# … ######), paragraphs, unordered
 * (-, *, +) and ordered (1. or 1)) lists, nested by indentation, bold
 * (**text**), links [text](url) whose url is http(s) or relative, and
 * backslash escapes of the marker characters.  Everything else is text:
 * every <, >, &, " and ' is escaped, so no raw HTML passes through; a link
 * to any other scheme (javascript:, data:, mailto:, //host) keeps its text
 * and loses its link; control characters are dropped.  The renderer never
 * fails on content — only when out is full.
 */
#ifndef ONECERT_HALL_MARKDOWN_H
#define ONECERT_HALL_MARKDOWN_H

#include <stdbool.h>
#include <stddef.h>

#include "onecert/buf.h"

/* Render md[0..len) as HTML, appended to out.  0, or OC_ETOOBIG /
 * OC_ENOMEM from the buffer (out then holds a partial rendering that the
 * caller must not use). */
int hall_md_render(const char *md, size_t len, struct oc_buf *out);

/* Whether a link target is one the renderer keeps: http://…, https://…,
 * or a relative reference (no scheme, not //host), without spaces, quotes,
 * angle brackets, backslashes or control characters. */
bool hall_md_url_ok(const char *url, size_t len);

#endif
