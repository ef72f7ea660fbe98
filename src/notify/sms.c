/*
 * sms.c — the hall's notifier (include/onecert/notify.h): the [sms]
 * configuration, sending one SMS through the configured backend with a
 * row in the outbox for every message, the local-mobile rule (SPEC §3.3)
 * and the import of a number-segment table.
 *
 * Backends are two and small, so they are a switch on the name rather
 * than a table of function pointers: `outbox` (the database row is the
 * delivery) and `kannel` (kannel.c, then the row records the result).  A
 * login code (purpose sms_code) that Kannel took is stored with its digits
 * masked — every run of four or more digits, so "10分钟" stays readable:
 * the phone is where the code belongs, not the database (sms_codes keeps
 * only its hash).
 *
 * The segment file is read whole (bounded), checked line by line, and put
 * in one transaction, so a bad line changes nothing and is named.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "notify/notify_int.h"
#include "onecert/buf.h"
#include "onecert/hall_store.h"
#include "onecert/ident.h"
#include "onecert/log.h"
#include "onecert/notify.h"
#include "onecert/utf8.h"

#define SEGMENT_FILE_MAX (64u << 20)
#define CITY_MAX 64

static int
cfg_str(const struct oc_config *cfg, const char *sec, const char *key, const char *def,
    char *dst, size_t cap, struct oc_err *err)
{
	const char *v = oc_config_get(cfg, sec, key, def);

	if (v == NULL)
		v = "";
	if (strlen(v) >= cap)
		return oc_err_set(err, OC_ECONFIG, "配置项 %s.%s 过长 / %s.%s is too long (at most "
		    "%zu bytes)", sec, key, sec, key, cap - 1);
	snprintf(dst, cap, "%s", v);
	return 0;
}

struct oc_notify *
oc_notify_new(const struct oc_config *cfg, const char *section, struct oc_err *err)
{
	const char *sec = section ? section : "sms";
	struct oc_notify *n = calloc(1, sizeof(*n));
	char policy[16];

	if (n == NULL) {
		oc_err_set(err, OC_ENOMEM, "out of memory");
		return NULL;
	}
	if (cfg_str(cfg, sec, "backend", "outbox", n->backend, sizeof(n->backend), err) != 0)
		goto fail;
	if (strcmp(n->backend, "kannel") == 0) {
		const char *url = oc_config_get(cfg, sec, "kannel_url", NULL);

		if (url == NULL || *url == '\0') {
			oc_err_set(err, OC_ECONFIG, "短信网关为 kannel 时须配置 %s.kannel_url / "
			    "backend kannel needs %s.kannel_url", sec, sec);
			goto fail;
		}
		if (oc__kannel_parse_url(url, &n->url, err) != 0 ||
		    cfg_str(cfg, sec, "kannel_user", "", n->user, sizeof(n->user), err) != 0 ||
		    cfg_str(cfg, sec, "kannel_password", "", n->password, sizeof(n->password),
		    err) != 0 ||
		    cfg_str(cfg, sec, "kannel_from", "", n->from, sizeof(n->from), err) != 0)
			goto fail;
		if (n->user[0] == '\0') {
			oc_err_set(err, OC_ECONFIG, "短信网关为 kannel 时须配置 %s.kannel_user / "
			    "backend kannel needs %s.kannel_user", sec, sec);
			goto fail;
		}
	} else if (strcmp(n->backend, "outbox") != 0) {
		oc_err_set(err, OC_ECONFIG, "%s.backend 须为 outbox 或 kannel / %s.backend must be "
		    "outbox or kannel", sec, sec);
		goto fail;
	}
	if (oc_config_get_duration(cfg, sec, "timeout", 5, &n->timeout, err) != 0) {
		if (err != NULL)
			err->code = OC_ECONFIG;
		goto fail;
	}
	if (n->timeout < 1 || n->timeout > 300) {
		oc_err_set(err, OC_ECONFIG, "%s.timeout 须在1秒到5分钟之间 / %s.timeout must be "
		    "1 s to 5 min", sec, sec);
		goto fail;
	}
	if (cfg_str(cfg, sec, "local_city", "上海市", n->local_city, CITY_MAX + 1, err) != 0)
		goto fail;
	if (n->local_city[0] == '\0' || !oc_utf8_valid(n->local_city, strlen(n->local_city))) {
		oc_err_set(err, OC_ECONFIG, "%s.local_city 须为城市名（UTF-8） / %s.local_city "
		    "must name a city (UTF-8)", sec, sec);
		goto fail;
	}
	if (cfg_str(cfg, sec, "unknown_segment", "reject", policy, sizeof(policy), err) != 0 ||
	    (strcmp(policy, "reject") != 0 && strcmp(policy, "flag") != 0)) {
		oc_err_set(err, OC_ECONFIG, "%s.unknown_segment 须为 reject 或 flag / "
		    "%s.unknown_segment must be reject or flag", sec, sec);
		goto fail;
	}
	n->unknown_flag = strcmp(policy, "flag") == 0;
	return n;
fail:
	oc_notify_free(n);
	return NULL;
}

void
oc_notify_free(struct oc_notify *n)
{
	if (n == NULL)
		return;
	OPENSSL_cleanse(n->password, sizeof(n->password));
	free(n);
}

const char *
oc_notify_backend(const struct oc_notify *n)
{
	return n != NULL ? n->backend : "";
}

/* 13816001234 → 138****1234, for logs. */
static const char *
shown_mobile(const char *m, char *buf, size_t cap)
{
	snprintf(buf, cap, "%.3s****%s", m, strlen(m) >= 11 ? m + 7 : "");
	return buf;
}

/* Mask every run of 4 or more ASCII digits (the code) with '*'; shorter
 * numbers ("10分钟内有效") stay readable. */
static void
mask_code(char *s)
{
	while (*s) {
		size_t run = strspn(s, "0123456789");

		if (run >= 4)
			memset(s, '*', run);
		s += run ? run : 1;
	}
}

int
oc_notify_sms(struct oc_notify *n, struct oc_hall_store *st, const char *to,
    const char *text, const char *purpose, struct oc_err *err)
{
	struct oc_hall_sms m;
	struct oc_err perr;
	char shown[16], q[OC_LOG_QBUF], qa[OC_LOG_QBUF];
	size_t len;
	int rc, prc;

	if (n == NULL || st == NULL)
		return oc_err_set(err, OC_EINVAL, "no notifier or store");
	if ((rc = oc_mobile_check(to, err)) != 0)
		return rc;
	if (text == NULL || (len = strlen(text)) == 0)
		return oc_err_set(err, OC_EINVAL, "短信内容为空 / the message is empty");
	if (len >= sizeof(m.text))
		return oc_err_set(err, OC_ETOOBIG, "短信内容超过%zu字节 / the message is longer "
		    "than %zu bytes", sizeof(m.text) - 1, sizeof(m.text) - 1);
	if (!oc_utf8_valid(text, len))
		return oc_err_set(err, OC_EINVAL, "短信内容不是有效的 UTF-8 / the message is not "
		    "valid UTF-8");
	if (purpose == NULL)
		purpose = "";
	if (strlen(purpose) >= sizeof(m.purpose))
		return oc_err_set(err, OC_EINVAL, "purpose too long");

	memset(&m, 0, sizeof(m));
	snprintf(m.to, sizeof(m.to), "%s", to);
	memcpy(m.text, text, len + 1);
	snprintf(m.purpose, sizeof(m.purpose), "%s", purpose);
	snprintf(m.via, sizeof(m.via), "%s", n->backend);
	shown_mobile(to, shown, sizeof(shown));
	oc_log_q(q, sizeof(q), purpose);

	if (strcmp(n->backend, "outbox") == 0) {
		snprintf(m.status, sizeof(m.status), "stored");
		if ((rc = oc_hall_outbox_put(st, &m, err)) != 0) {
			oc_log(OC_LOG_ERROR, "sms.outbox_failed", "to=%s purpose=%s msg=%s", shown,
			    q, oc_log_q(qa, sizeof(qa), err ? err->msg : ""));
			return rc;
		}
		oc_log(OC_LOG_INFO, "sms.stored", "id=%lld to=%s purpose=%s via=outbox", m.id,
		    shown, q);
		return 0;
	}

	/* kannel: send first, then record what happened */
	rc = oc__kannel_send(n, to, text, m.answer, sizeof(m.answer), err);
	snprintf(m.status, sizeof(m.status), "%s", rc == 0 ? "sent" : "failed");
	if (rc == 0 && strcmp(purpose, "sms_code") == 0)
		mask_code(m.text);
	oc_err_clear(&perr);
	prc = oc_hall_outbox_put(st, &m, &perr);
	oc_log_q(qa, sizeof(qa), m.answer);
	if (rc != 0)
		oc_log(OC_LOG_WARN, "sms.failed", "id=%lld to=%s purpose=%s via=kannel answer=%s",
		    m.id, shown, q, qa);
	else
		oc_log(OC_LOG_INFO, "sms.sent", "id=%lld to=%s purpose=%s via=kannel answer=%s",
		    m.id, shown, q, qa);
	if (prc != 0)
		/* delivered (or not) all the same: the caller acts on the
		 * delivery, the log keeps the lost row */
		oc_log(OC_LOG_ERROR, "sms.outbox_failed", "to=%s purpose=%s status=%s msg=%s",
		    shown, q, m.status, oc_log_q(qa, sizeof(qa), perr.msg));
	return rc;
}

int
oc_notify_mobile_local(const struct oc_notify *n, struct oc_hall_store *st,
    const char *mobile, bool *flagged, struct oc_err *err)
{
	char prefix[8], city[CITY_MAX * 2 + 1];
	int rc;

	if (flagged != NULL)
		*flagged = false;
	if (n == NULL || st == NULL)
		return oc_err_set(err, OC_EINVAL, "no notifier or store");
	if ((rc = oc_mobile_check(mobile, err)) != 0)
		return rc;
	memcpy(prefix, mobile, 7);
	prefix[7] = '\0';
	rc = oc_hall_segment_city(st, prefix, city, sizeof(city), err);
	if (rc == 0 && strcmp(city, n->local_city) == 0)
		return 0;
	if (rc == OC_ENOTFOUND && n->unknown_flag) {
		if (flagged != NULL)
			*flagged = true;
		if (err != NULL)
			oc_err_clear(err);
		return 0;
	}
	if (rc != 0 && rc != OC_ENOTFOUND)
		return rc;
	oc_err_set(err, OC_EINVAL, "请使用本市手机接收手机验证码 / please use a mobile number "
	    "of %s to receive the SMS code", n->local_city);
	if (rc == 0)
		oc_err_detail(err, "segment %s is %s", prefix, city);
	else
		oc_err_detail(err, "segment %s is not in the segment table", prefix);
	return OC_EINVAL;
}

struct seg {
	const char *prefix;
	const char *city;
	size_t line;
};

static int
seg_cmp(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;
	int c = strcmp(x->prefix, y->prefix);

	return c != 0 ? c : x->line < y->line ? -1 : x->line > y->line;
}

static char *
trim(char *s, char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*end = '\0';
	return s;
}

/* Check one line (NUL-terminated, no line end) and fill *out. */
static int
parse_line(char *l, size_t lineno, struct seg *out, struct oc_err *err)
{
	char *comma = strchr(l, ','), *p, *c;
	size_t cl;

	if (comma == NULL)
		return oc_err_set(err, OC_EINVAL, "号段文件第%zu行：应为“7位号段,城市” / line %zu: "
		    "expected PREFIX7,CITY", lineno, lineno);
	p = trim(l, comma);
	c = trim(comma + 1, comma + 1 + strlen(comma + 1));
	if (strlen(p) != 7 || p[0] != '1' || strspn(p, "0123456789") != 7)
		return oc_err_set(err, OC_EINVAL, "号段文件第%zu行：号段应为以1开头的7位数字 / "
		    "line %zu: the prefix must be 7 digits starting with 1", lineno, lineno);
	cl = strlen(c);
	if (cl == 0)
		return oc_err_set(err, OC_EINVAL, "号段文件第%zu行：缺少城市 / line %zu: the city "
		    "is missing", lineno, lineno);
	if (cl > CITY_MAX)
		return oc_err_set(err, OC_EINVAL, "号段文件第%zu行：城市名超过%d字节 / line %zu: "
		    "the city is longer than %d bytes", lineno, CITY_MAX, lineno, CITY_MAX);
	if (!oc_utf8_valid(c, cl))
		return oc_err_set(err, OC_EINVAL, "号段文件第%zu行：城市名不是有效的 UTF-8 / "
		    "line %zu: the city is not valid UTF-8", lineno, lineno);
	for (size_t i = 0; i < cl; i++)
		if ((unsigned char)c[i] < 0x20 || c[i] == 0x7f || c[i] == ',')
			return oc_err_set(err, OC_EINVAL, "号段文件第%zu行：城市名含控制字符或逗号 / "
			    "line %zu: the city holds a control character or a comma",
			    lineno, lineno);
	out->prefix = p;
	out->city = c;
	out->line = lineno;
	return 0;
}

int
oc_notify_import_segments(struct oc_hall_store *st, const char *path, bool replace,
    size_t *count, struct oc_err *err)
{
	struct oc_buf b;
	struct seg *segs = NULL;
	const char **prefixes = NULL, **cities = NULL;
	size_t n = 0, cap = 0, lineno = 0;
	char *p, *end, *nul, qp[OC_LOG_QBUF];
	int rc = OC_EINVAL;

	if (count != NULL)
		*count = 0;
	oc_buf_init(&b, SEGMENT_FILE_MAX);
	if (path == NULL || (rc = oc_buf_read_file(&b, path)) != 0) {
		rc = rc == OC_ETOOBIG ? oc_err_set(err, OC_ETOOBIG, "号段文件超过%u MiB / the "
		    "segment file is larger than %u MiB", SEGMENT_FILE_MAX >> 20,
		    SEGMENT_FILE_MAX >> 20) :
		    oc_err_set(err, rc == OC_ENOTFOUND ? OC_ENOTFOUND : OC_EIO, "无法读取号段文件 %s / "
		    "cannot read the segment file %s", path ? path : "", path ? path : "");
		goto out;
	}
	p = (char *)b.p;
	end = p + b.len;
	if ((nul = memchr(p, '\0', b.len)) != NULL) {
		for (char *x = p; x < nul; x++)
			lineno += *x == '\n';
		rc = oc_err_set(err, OC_EINVAL, "号段文件第%zu行含 NUL 字节 / line %zu holds a NUL "
		    "byte", lineno + 1, lineno + 1);
		goto out;
	}
	if (b.len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;                 /* a UTF-8 byte order mark */
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end, *s;

		lineno++;
		if (le > p && le[-1] == '\r')
			le--;
		*le = '\0';
		for (s = p; *s == ' ' || *s == '\t'; s++)
			;
		if (*s != '\0' && *s != '#') {
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 1024;
				struct seg *g = realloc(segs, nc * sizeof(*segs));

				if (g == NULL) {
					rc = oc_err_set(err, OC_ENOMEM, "out of memory");
					goto out;
				}
				segs = g;
				cap = nc;
			}
			if ((rc = parse_line(s, lineno, &segs[n], err)) != 0)
				goto out;
			n++;
		}
		p = nl ? nl + 1 : end;
	}
	if (n == 0) {
		rc = oc_err_set(err, OC_EINVAL, "号段文件中没有号段 / the file holds no segments");
		goto out;
	}
	/* a prefix twice is a mistake in the file: name the second line */
	qsort(segs, n, sizeof(*segs), seg_cmp);
	for (size_t i = 1; i < n; i++)
		if (strcmp(segs[i - 1].prefix, segs[i].prefix) == 0) {
			rc = oc_err_set(err, OC_EINVAL, "号段文件第%zu行：号段 %s 与第%zu行重复 / "
			    "line %zu: segment %s repeats line %zu", segs[i].line, segs[i].prefix,
			    segs[i - 1].line, segs[i].line, segs[i].prefix, segs[i - 1].line);
			goto out;
		}
	prefixes = calloc(n, sizeof(*prefixes));
	cities = calloc(n, sizeof(*cities));
	if (prefixes == NULL || cities == NULL) {
		rc = oc_err_set(err, OC_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		prefixes[i] = segs[i].prefix;
		cities[i] = segs[i].city;
	}
	if ((rc = oc_hall_segments_put(st, prefixes, cities, n, replace, err)) != 0)
		goto out;
	if (count != NULL)
		*count = n;
	oc_log(OC_LOG_INFO, "segments.imported", "file=%s count=%zu replace=%s",
	    oc_log_q(qp, sizeof(qp), path), n, replace ? "true" : "false");
	rc = 0;
out:
	free(prefixes);
	free(cities);
	free(segs);
	oc_buf_cleanup(&b);
	return rc;
}
