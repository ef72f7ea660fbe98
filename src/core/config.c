/*
 * config.c — INI configuration files, parsed with inih.
 *
 * The file is read whole into a bounded buffer and checked line by line
 * before inih sees it, because inih quietly does surprising things with
 * some input: lines longer than its fixed line buffer are split in two,
 * section names are cut at 49 bytes, and an indented line is glued onto the
 * previous key as a continuation.  Such lines are refused here with their
 * line number instead.
 *
 * Sections and keys are kept in insertion order (plain arrays; a service's
 * configuration has a few dozen keys) so that oc_config_save writes the
 * file back in the order a person wrote it.  oc_config_set only accepts
 * what inih would read back identically, so save → load round-trips.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "onecert/buf.h"
#include "onecert/config.h"

#define CFG_FILE_MAX    (1024 * 1024)  /* bytes in a configuration file */
#define CFG_LINE_MAX    198            /* inih's buffer is 200 with "\n\0" */
#define CFG_SECTION_MAX 49             /* inih copies into char[50] */

struct entry {
	char *key;
	char *value;
};

struct section {
	char *name;                    /* "" for keys before any [section] */
	struct entry *e;
	size_t n, cap;
};

struct oc_config {
	struct section *s;
	size_t n, cap;
};

struct oc_config *
oc_config_new(void)
{
	return calloc(1, sizeof(struct oc_config));
}

void
oc_config_free(struct oc_config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->n; i++) {
		struct section *s = &cfg->s[i];

		for (size_t j = 0; j < s->n; j++) {
			free(s->e[j].key);
			free(s->e[j].value);
		}
		free(s->e);
		free(s->name);
	}
	free(cfg->s);
	free(cfg);
}

static struct section *
find_section(const struct oc_config *cfg, const char *name)
{
	for (size_t i = 0; cfg != NULL && i < cfg->n; i++)
		if (strcmp(cfg->s[i].name, name) == 0)
			return &cfg->s[i];
	return NULL;
}

static struct entry *
find_entry(const struct section *s, const char *key)
{
	for (size_t i = 0; s != NULL && i < s->n; i++)
		if (strcmp(s->e[i].key, key) == 0)
			return &s->e[i];
	return NULL;
}

/* Grow an array of elements of size sz to hold one more. */
static int
reserve(void **arr, size_t *cap, size_t n, size_t sz)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 8;
	if (ncap > SIZE_MAX / sz)
		return OC_ENOMEM;
	if ((p = realloc(*arr, ncap * sz)) == NULL)
		return OC_ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* Set without validation (inih's output is trusted to round-trip). */
static int
put(struct oc_config *cfg, const char *section, const char *key,
    const char *value)
{
	struct section *s;
	struct entry *e;
	char *v = NULL, *k = NULL, *sn = NULL;
	int rc = OC_ENOMEM;

	if ((v = strdup(value)) == NULL)
		goto out;
	if ((s = find_section(cfg, section)) == NULL) {
		if ((sn = strdup(section)) == NULL ||
		    reserve((void **)&cfg->s, &cfg->cap, cfg->n, sizeof(*cfg->s)) != 0)
			goto out;
		s = &cfg->s[cfg->n++];
		memset(s, 0, sizeof(*s));
		s->name = sn;
		sn = NULL;
	}
	if ((e = find_entry(s, key)) != NULL) {
		free(e->value);
		e->value = v;
		v = NULL;
		rc = 0;
		goto out;
	}
	if ((k = strdup(key)) == NULL ||
	    reserve((void **)&s->e, &s->cap, s->n, sizeof(*s->e)) != 0)
		goto out;
	e = &s->e[s->n++];
	e->key = k;
	e->value = v;
	k = v = NULL;
	rc = 0;
out:
	free(v);
	free(k);
	free(sn);
	return rc;
}

/* --- loading ---------------------------------------------------------- */

struct load_ctx {
	struct oc_config *cfg;
	int rc;
};

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *ctx = user;
	int rc;

	if (name == NULL || *name == '\0')
		return 0;
	if ((rc = put(ctx->cfg, section, name, value != NULL ? value : "")) != 0) {
		ctx->rc = rc;
		return 0;
	}
	return 1;
}

/* Lines inih would misread; returns the first bad line number or 0. */
static int
prescan(const char *text, const char **why)
{
	const char *p = text, *nl, *q;
	int line = 0;

	for (; *p != '\0'; p = nl != NULL ? nl + 1 : p + strlen(p)) {
		size_t len;

		line++;
		nl = strchr(p, '\n');
		len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (len > CFG_LINE_MAX) {
			*why = "行过长（最多198字节） / line too long (198 bytes at "
			    "most)";
			return line;
		}
		for (q = p; q < p + len && (*q == ' ' || *q == '\t'); q++)
			;
		if (q == p + len || *q == ';' || *q == '#')
			continue;
		if (q > p) {
			*why = "行首不能有空白（不支持续行） / line starts with "
			    "white space (continuation lines are not supported)";
			return line;
		}
		if (*q == '[') {
			const char *end = memchr(q, ']', len);

			if (end != NULL && end - q - 1 > CFG_SECTION_MAX) {
				*why = "节名过长（最多49字节） / section name too long "
				    "(49 bytes at most)";
				return line;
			}
		}
	}
	return 0;
}

/* Parse len bytes of text (with a NUL at data[len], as oc_buf keeps it)
 * into a new configuration; `where` names the source in err->detail (NULL:
 * nothing).  Caller owns the result. */
static struct oc_config *
load_text(const char *data, size_t len, const char *where, struct oc_err *err)
{
	struct oc_config *cfg = NULL, *ret = NULL;
	struct load_ctx ctx;
	const char *text, *why = NULL;
	int line;

	if ((cfg = oc_config_new()) == NULL) {
		oc_err_set(err, OC_ENOMEM, "内存不足 / out of memory");
		goto out;
	}
	if (len == 0) {                 /* an empty file is an empty config */
		ret = cfg;
		cfg = NULL;
		goto out;
	}
	if (memchr(data, '\0', len) != NULL) {
		oc_err_set(err, OC_ECONFIG, "配置文件含 NUL 字节 / configuration "
		    "file contains a NUL byte");
		goto bad;
	}
	text = data;
	if (strncmp(text, "\xEF\xBB\xBF", 3) == 0)
		text += 3;
	if ((line = prescan(text, &why)) != 0) {
		oc_err_set(err, OC_ECONFIG, "配置文件第%d行 / configuration file "
		    "line %d: %s", line, line, why);
		goto bad;
	}
	ctx.cfg = cfg;
	ctx.rc = 0;
	line = ini_parse_string(text, handler, &ctx);
	if (ctx.rc == OC_ENOMEM || line == -2) {
		oc_err_set(err, OC_ENOMEM, "内存不足 / out of memory");
		goto out;
	}
	if (line != 0) {
		oc_err_set(err, OC_ECONFIG, "配置文件第%d行格式错误（应为 "
		    "[节] 或 键 = 值） / configuration file line %d: syntax error "
		    "(expected [section] or key = value)", line, line);
		goto bad;
	}
	ret = cfg;
	cfg = NULL;
	goto out;
bad:
	if (where != NULL)
		oc_err_detail(err, "%s", where);
out:
	oc_config_free(cfg);
	return ret;
}

struct oc_config *
oc_config_load(const char *path, struct oc_err *err)
{
	struct oc_config *ret = NULL;
	struct oc_buf b;
	int rc;

	oc_buf_init(&b, CFG_FILE_MAX);
	if (path == NULL) {
		oc_err_set(err, OC_EINVAL, "缺少配置文件路径 / no configuration "
		    "file given");
		goto out;
	}
	errno = 0;
	if ((rc = oc_buf_read_file(&b, path)) != 0) {
		int e = errno;

		if (rc == OC_ETOOBIG)
			oc_err_set(err, OC_ETOOBIG, "配置文件过大（最多1 MiB） / "
			    "configuration file too large (1 MiB at most)");
		else
			oc_err_set(err, rc, "无法读取配置文件 / cannot read the "
			    "configuration file");
		oc_err_detail(err, "%s%s%s", path, e ? ": " : "",
		    e ? strerror(e) : "");
		goto out;
	}
	ret = load_text(b.len > 0 ? (const char *)b.p : "", b.len, path, err);
out:
	oc_buf_cleanup(&b);
	return ret;
}

struct oc_config *
oc_config_parse(const char *data, size_t len, struct oc_err *err)
{
	struct oc_config *ret = NULL;
	struct oc_buf b;
	int rc;

	oc_buf_init(&b, CFG_FILE_MAX);
	if (data == NULL && len > 0) {
		oc_err_set(err, OC_EINVAL, "参数无效 / bad argument");
		goto out;
	}
	/* A private NUL-terminated copy: inih reads C strings. */
	if (len > 0 && (rc = oc_buf_add(&b, data, len)) != 0) {
		if (rc == OC_ETOOBIG)
			oc_err_set(err, OC_ETOOBIG, "配置文件过大（最多1 MiB） / "
			    "configuration file too large (1 MiB at most)");
		else
			oc_err_set(err, OC_ENOMEM, "内存不足 / out of memory");
		goto out;
	}
	ret = load_text(b.len > 0 ? (const char *)b.p : "", b.len, NULL, err);
out:
	oc_buf_cleanup(&b);
	return ret;
}

/* --- reading ---------------------------------------------------------- */

const char *
oc_config_get(const struct oc_config *cfg, const char *section,
    const char *key, const char *def)
{
	const struct entry *e;

	if (cfg == NULL || section == NULL || key == NULL)
		return def;
	e = find_entry(find_section(cfg, section), key);
	return e != NULL ? e->value : def;
}

/* "section.key", or "key" for the top level, for messages. */
static const char *
qname(char *buf, size_t cap, const char *section, const char *key)
{
	snprintf(buf, cap, "%s%s%s", section, *section ? "." : "", key);
	return buf;
}

/* A typed reader's raw value: NULL when absent.  An empty value ("key =")
 * counts as absent, so an operator can blank a key to get the default. */
static const char *
raw(const struct oc_config *cfg, const char *section, const char *key)
{
	const char *v = oc_config_get(cfg, section, key, NULL);

	return v != NULL && *v != '\0' ? v : NULL;
}

int
oc_config_get_long(const struct oc_config *cfg, const char *section,
    const char *key, long def, long min, long max, long *out,
    struct oc_err *err)
{
	const char *v = raw(cfg, section, key);
	char name[128], *end;
	long n;

	if (v == NULL) {
		*out = def;
		return 0;
	}
	qname(name, sizeof(name), section, key);
	errno = 0;
	n = strtol(v, &end, 10);
	if (end == v || *end != '\0' || isspace((unsigned char)*v)) {
		oc_err_set(err, OC_EINVAL, "配置项 %s 应为整数 / %s must be an "
		    "integer", name, name);
		oc_err_detail(err, "%s = %s", name, v);
		return OC_EINVAL;
	}
	if (errno == ERANGE || n < min || n > max) {
		oc_err_set(err, OC_EINVAL, "配置项 %s 超出范围 %ld–%ld / %s is out "
		    "of range [%ld, %ld]", name, min, max, name, min, max);
		oc_err_detail(err, "%s = %s", name, v);
		return OC_EINVAL;
	}
	*out = n;
	return 0;
}

int
oc_config_get_bool(const struct oc_config *cfg, const char *section,
    const char *key, bool def, bool *out, struct oc_err *err)
{
	static const char *yes[] = { "true", "yes", "on", "1" };
	static const char *no[] = { "false", "no", "off", "0" };
	const char *v = raw(cfg, section, key);
	char name[128];

	if (v == NULL) {
		*out = def;
		return 0;
	}
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	qname(name, sizeof(name), section, key);
	oc_err_set(err, OC_EINVAL, "配置项 %s 应为 true/false、yes/no、on/off 或 "
	    "1/0 / %s must be true/false, yes/no, on/off or 1/0", name, name);
	oc_err_detail(err, "%s = %s", name, v);
	return OC_EINVAL;
}

int
oc_config_get_duration(const struct oc_config *cfg, const char *section,
    const char *key, long def_seconds, long *out_seconds, struct oc_err *err)
{
	const char *v = raw(cfg, section, key), *p;
	char name[128];
	long n = 0, unit = 1;

	if (v == NULL) {
		*out_seconds = def_seconds;
		return 0;
	}
	qname(name, sizeof(name), section, key);
	for (p = v; *p >= '0' && *p <= '9'; p++) {
		if (n > (LONG_MAX - (*p - '0')) / 10)
			goto range;
		n = n * 10 + (*p - '0');
	}
	if (p == v)
		goto bad;
	switch (*p) {
	case '\0': break;
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	default: goto bad;
	}
	if (*p != '\0' && p[1] != '\0')
		goto bad;
	if (n > LONG_MAX / unit)
		goto range;
	*out_seconds = n * unit;
	return 0;
bad:
	oc_err_set(err, OC_EINVAL, "配置项 %s 应为时长，如 30、30s、5m、2h、1d / "
	    "%s must be a duration such as 30, 30s, 5m, 2h, 1d", name, name);
	oc_err_detail(err, "%s = %s", name, v);
	return OC_EINVAL;
range:
	oc_err_set(err, OC_EINVAL, "配置项 %s 时长过大 / %s: duration too large",
	    name, name);
	oc_err_detail(err, "%s = %s", name, v);
	return OC_EINVAL;
}

/* --- writing ---------------------------------------------------------- */

/* Section and key names: printable ASCII without INI syntax characters. */
static bool
name_ok(const char *s, size_t max, bool allow_empty)
{
	size_t len = strlen(s);

	if ((len == 0 && !allow_empty) || len > max)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f ||
		    strchr("[]=:;#", *s) != NULL)
			return false;
	return true;
}

/* Values: one line, no white space at either end (inih trims it), no ';'
 * at the start or after white space (inih reads an inline comment there). */
static bool
value_ok(const char *v)
{
	size_t len = strlen(v);

	if (len > 0 && (isspace((unsigned char)v[0]) ||
	    isspace((unsigned char)v[len - 1])))
		return false;
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)v[i] < 0x20 && v[i] != '\t')
			return false;
		if (v[i] == 0x7f)
			return false;
		if (v[i] == ';' && (i == 0 || v[i - 1] == ' ' || v[i - 1] == '\t'))
			return false;
	}
	return true;
}

int
oc_config_set(struct oc_config *cfg, const char *section, const char *key,
    const char *value)
{
	if (cfg == NULL || section == NULL || key == NULL || value == NULL)
		return OC_EINVAL;
	if (!name_ok(section, CFG_SECTION_MAX, true) ||
	    !name_ok(key, CFG_LINE_MAX, false) || !value_ok(value) ||
	    strlen(key) + 3 + strlen(value) > CFG_LINE_MAX)
		return OC_EINVAL;
	return put(cfg, section, key, value);
}

static int
write_section(struct oc_buf *b, const struct section *s, bool first)
{
	int rc;

	if (*s->name != '\0' &&
	    (rc = oc_buf_printf(b, "%s[%s]\n", first ? "" : "\n", s->name)) != 0)
		return rc;
	for (size_t j = 0; j < s->n; j++)
		if ((rc = oc_buf_printf(b, "%s = %s\n", s->e[j].key,
		    s->e[j].value)) != 0)
			return rc;
	return 0;
}

int
oc_config_save(const struct oc_config *cfg, const char *path, int mode,
    struct oc_err *err)
{
	struct oc_buf b;
	const struct section *top;
	bool first = true;
	int rc = OC_EINVAL;

	oc_buf_init(&b, CFG_FILE_MAX);
	if (cfg == NULL || path == NULL) {
		oc_err_set(err, rc, "参数无效 / bad argument");
		goto out;
	}
	/* Keys outside any section must come before the first header. */
	if ((top = find_section(cfg, "")) != NULL) {
		if ((rc = write_section(&b, top, true)) != 0)
			goto fail;
		first = top->n == 0;
	}
	for (size_t i = 0; i < cfg->n; i++) {
		if (cfg->s[i].name[0] == '\0')
			continue;
		if ((rc = write_section(&b, &cfg->s[i], first)) != 0)
			goto fail;
		first = false;
	}
	if ((rc = oc_write_file_atomic(path, b.p != NULL ? (void *)b.p : "",
	    b.len, mode)) != 0) {
		oc_err_set(err, rc, "无法写入配置文件 / cannot write the "
		    "configuration file");
		oc_err_detail(err, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
	goto out;
fail:
	oc_err_set(err, rc, rc == OC_ETOOBIG ? "配置过大 / configuration too "
	    "large" : "内存不足 / out of memory");
out:
	oc_buf_cleanup(&b);
	return rc;
}
