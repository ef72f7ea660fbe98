/*
 * markdown.c — the guides' Markdown subset (markdown.h) rendered to HTML.
 *
 * One pass over the lines with a little state: the text of the open
 * paragraph or list item (flushed through the inline renderer when the
 * block ends) and a stack of open lists with their indentation.  Inline
 * markup is found by exact delimiters only (** … **, [ … ]( … )); what does
 * not match is text, escaped.  It is deliberately much smaller than
 * CommonMark: guides are written for this renderer, and a small grammar
 * is one whose escaping can be read and tested in full.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "hall/markdown.h"
#include "onecert/error.h"

#define LIST_DEPTH 8

struct md {
	struct oc_buf *out;
	struct oc_buf cur;          /* text of the open paragraph / list item */
	bool in_para;
	bool blank;                 /* a blank line since the last text */
	struct {
		int indent;
		bool ordered;
	} list[LIST_DEPTH];
	int depth;
	int rc;
};

static void
put(struct md *m, const char *s, size_t n)
{
	if (m->rc == 0)
		m->rc = oc_buf_add(m->out, s, n);
}

static void
puts_(struct md *m, const char *s)
{
	put(m, s, strlen(s));
}

/* Text with the five HTML specials escaped and control characters
 * (except tab) dropped. */
static void
escape(struct md *m, const char *s, size_t n)
{
	size_t start = 0;

	for (size_t i = 0; i < n; i++) {
		const char *rep = NULL;
		unsigned char ch = (unsigned char)s[i];

		switch (ch) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default:
			if ((ch < 0x20 && ch != '\t' && ch != '\n') || ch == 0x7f)
				rep = "";
		}
		if (rep != NULL) {
			put(m, s + start, i - start);
			puts_(m, rep);
			start = i + 1;
		}
	}
	put(m, s + start, n - start);
}

bool
hall_md_url_ok(const char *u, size_t n)
{
	size_t k;

	if (n == 0 || n > 2048)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)u[i];

		if (ch <= 0x20 || ch == 0x7f || strchr("<>\"'`\\", ch) != NULL)
			return false;
	}
	if ((n > 7 && strncasecmp(u, "http://", 7) == 0) ||
	    (n > 8 && strncasecmp(u, "https://", 8) == 0))
		return true;
	if (n >= 2 && u[0] == '/' && u[1] == '/')
		return false;               /* //host: another site */
	/* relative: a ':' before any '/', '?' or '#' would be a scheme */
	for (k = 0; k < n && u[k] != ':' && u[k] != '/' && u[k] != '?' && u[k] != '#'; k++)
		;
	return k == n || u[k] != ':';
}

static const char *
find2(const char *s, size_t n, const char *pat)
{
	for (size_t i = 0; i + 1 < n; i++)
		if (s[i] == pat[0] && s[i + 1] == pat[1])
			return s + i;
	return NULL;
}

static bool
escapable(char ch)
{
	return ch != '\0' && strchr("\\`*_{}[]()#+-.!>", ch) != NULL;
}

/* The ')' that closes a link's "(url", parentheses inside it balanced;
 * NULL when there is none before end. */
static const char *
close_paren(const char *p, const char *end)
{
	int depth = 0;

	for (; p < end; p++) {
		if (*p == '(')
			depth++;
		else if (*p == ')' && depth-- == 0)
			return p;
	}
	return NULL;
}

/* Inline markup: bold (unless inside bold), links (unless inside a link). */
static void
inline_(struct md *m, const char *s, size_t n, bool bold, bool link)
{
	size_t i = 0, start = 0;

	while (i < n) {
		if (s[i] == '\\' && i + 1 < n && escapable(s[i + 1])) {
			escape(m, s + start, i - start);
			escape(m, s + i + 1, 1);
			i += 2;
			start = i;
			continue;
		}
		if (bold && s[i] == '*' && i + 1 < n && s[i + 1] == '*') {
			const char *end = find2(s + i + 2, n - i - 2, "**");

			if (end != NULL && end > s + i + 2) {
				escape(m, s + start, i - start);
				puts_(m, "<strong>");
				inline_(m, s + i + 2, (size_t)(end - (s + i + 2)), false, link);
				puts_(m, "</strong>");
				i = (size_t)(end - s) + 2;
				start = i;
				continue;
			}
		}
		if (link && s[i] == '[') {
			const char *rb = memchr(s + i + 1, ']', n - i - 1), *rp = NULL;

			if (rb != NULL && (size_t)(rb - s) + 1 < n && rb[1] == '(')
				rp = close_paren(rb + 2, s + n);
			if (rp != NULL) {
				const char *text = s + i + 1, *url = rb + 2;
				size_t tn = (size_t)(rb - text), un = (size_t)(rp - url);

				escape(m, s + start, i - start);
				if (hall_md_url_ok(url, un)) {
					puts_(m, "<a href=\"");
					escape(m, url, un);
					puts_(m, strncasecmp(url, "http", 4) == 0 && memchr(url, ':', un) ?
					    "\" rel=\"noopener noreferrer\">" : "\">");
					inline_(m, text, tn, bold, false);
					puts_(m, "</a>");
				} else {
					inline_(m, text, tn, bold, false);
				}
				i = (size_t)(rp - s) + 1;
				start = i;
				continue;
			}
		}
		i++;
	}
	escape(m, s + start, n - start);
}

/* The open paragraph's or list item's text, rendered. */
static void
flush_text(struct md *m)
{
	if (m->cur.len > 0)
		inline_(m, (const char *)m->cur.p, m->cur.len, true, true);
	oc_buf_reset(&m->cur);
}

static void
add_text(struct md *m, const char *s, size_t n, const char *sep)
{
	int rc = 0;

	if (m->cur.len > 0)
		rc = oc_buf_adds(&m->cur, sep);
	if (rc == 0)
		rc = oc_buf_add(&m->cur, s, n);
	if (rc != 0 && m->rc == 0)
		m->rc = rc;
}

static void
close_para(struct md *m)
{
	if (!m->in_para)
		return;
	puts_(m, "<p>");
	flush_text(m);
	puts_(m, "</p>\n");
	m->in_para = false;
}

/* Close the innermost list (and its open item). */
static void
close_list(struct md *m)
{
	flush_text(m);
	puts_(m, m->list[m->depth - 1].ordered ? "</li>\n</ol>\n" : "</li>\n</ul>\n");
	m->depth--;
}

static void
close_lists(struct md *m)
{
	while (m->depth > 0)
		close_list(m);
}

static void
open_list(struct md *m, int indent, bool ordered, unsigned long start)
{
	char tag[40];

	if (ordered && start != 1)
		snprintf(tag, sizeof(tag), "<ol start=\"%lu\">\n<li>", start);
	else
		snprintf(tag, sizeof(tag), "%s", ordered ? "<ol>\n<li>" : "<ul>\n<li>");
	puts_(m, tag);
	m->list[m->depth].indent = indent;
	m->list[m->depth].ordered = ordered;
	m->depth++;
}

/* A list item at indent: nest, continue or close lists as needed. */
static void
list_item(struct md *m, int indent, bool ordered, unsigned long start, const char *text,
    size_t n)
{
	close_para(m);
	while (m->depth > 0 && m->list[m->depth - 1].indent > indent)
		close_list(m);
	if (m->depth > 0 && indent > m->list[m->depth - 1].indent && m->depth < LIST_DEPTH) {
		flush_text(m);              /* the parent item's text, then the sub-list */
		open_list(m, indent, ordered, start);
	} else if (m->depth > 0 && m->list[m->depth - 1].ordered == ordered) {
		flush_text(m);
		puts_(m, "</li>\n<li>");
	} else {
		if (m->depth > 0)
			close_list(m);
		open_list(m, indent, ordered, start);
	}
	add_text(m, text, n, "");
}

/* "- x", "* x", "+ x", "12. x", "12) x" after the indentation. */
static bool
list_marker(const char *s, size_t n, bool *ordered, unsigned long *start, size_t *skip)
{
	size_t i = 0;

	if (n >= 1 && (s[0] == '-' || s[0] == '*' || s[0] == '+') && (n == 1 || s[1] == ' ' ||
	    s[1] == '\t')) {
		*ordered = false;
		*start = 1;
		*skip = n == 1 ? 1 : 2;
		return true;
	}
	*start = 0;
	for (; i < n && i < 9 && isdigit((unsigned char)s[i]); i++)
		*start = *start * 10 + (unsigned long)(s[i] - '0');
	if (i == 0 || i >= n || (s[i] != '.' && s[i] != ')'))
		return false;
	if (i + 1 < n && s[i + 1] != ' ' && s[i + 1] != '\t')
		return false;
	*ordered = true;
	*skip = i + 1 < n ? i + 2 : i + 1;
	return true;
}

static void
line(struct md *m, const char *s, size_t n)
{
	int indent = 0;
	size_t i = 0, skip, hashes = 0;
	unsigned long start;
	bool ordered;

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	if (n == 0) {
		close_para(m);
		m->blank = true;
		return;
	}
	for (; i < n && (s[i] == ' ' || s[i] == '\t'); i++)
		indent = s[i] == '\t' ? (indent / 4 + 1) * 4 : indent + 1;
	s += i;
	n -= i;
	/* # heading */
	while (hashes < n && hashes < 7 && s[hashes] == '#')
		hashes++;
	if (indent < 4 && hashes >= 1 && hashes <= 6 && (hashes == n || s[hashes] == ' ')) {
		char tag[8];
		size_t a = hashes, b = n;

		while (a < b && s[a] == ' ')
			a++;
		while (b > a && s[b - 1] == '#')
			b--;
		if (b < n && b > a && s[b - 1] != ' ')
			b = n;                  /* "C#" keeps its '#' */
		while (b > a && s[b - 1] == ' ')
			b--;
		close_para(m);
		close_lists(m);
		snprintf(tag, sizeof(tag), "<h%zu>", hashes);
		puts_(m, tag);
		inline_(m, s + a, b - a, true, true);
		snprintf(tag, sizeof(tag), "</h%zu>\n", hashes);
		puts_(m, tag);
		m->blank = false;
		return;
	}
	if (list_marker(s, n, &ordered, &start, &skip)) {
		while (skip < n && (s[skip] == ' ' || s[skip] == '\t'))
			skip++;
		list_item(m, indent, ordered, start, s + skip, n - skip);
		m->blank = false;
		return;
	}
	if (m->depth > 0 && !(m->blank && indent == 0)) {
		/* the item's text goes on (lazily, or indented after a blank line) */
		add_text(m, s, n, "\n");
		m->blank = false;
		return;
	}
	close_lists(m);
	if (!m->in_para) {
		m->in_para = true;
		oc_buf_reset(&m->cur);
	}
	add_text(m, s, n, "\n");
	m->blank = false;
}

int
hall_md_render(const char *md, size_t len, struct oc_buf *out)
{
	struct md m;
	size_t i = 0;

	memset(&m, 0, sizeof(m));
	m.out = out;
	oc_buf_init(&m.cur, len + 1);
	while (i < len && m.rc == 0) {
		const char *nl = memchr(md + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (md + i)) : len - i;

		line(&m, md + i, n);
		i += n + (nl ? 1 : 0);
	}
	close_para(&m);
	close_lists(&m);
	oc_buf_cleanup(&m.cur);
	return m.rc;
}
