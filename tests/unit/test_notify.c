/*
 * test_notify.c — SMS and the local-mobile rule (include/onecert/notify.h):
 * the outbox backend; the Kannel backend against an in-process fake
 * smsbox (a thread on 127.0.0.1:0 that records the sendsms request and
 * answers like Kannel), a gateway that refuses (403), one that is not
 * there and one that never answers; the masking of login codes; the
 * segment-table import (good file, bad lines that change nothing,
 * replace) and the local-mobile decision for local, non-local, unknown
 * and malformed numbers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "onecert/config.h"
#include "onecert/hall_store.h"
#include "onecert/notify.h"

static char dbpath[512];
static char tmpdir[512];

static int
setup(void **state)
{
	const char *tmp = getenv("ONECERT_TEST_TMP");
	static int n;

	if (tmp == NULL)
		tmp = "/tmp";
	mkdir(tmp, 0755);
	snprintf(tmpdir, sizeof(tmpdir), "%s", tmp);
	snprintf(dbpath, sizeof(dbpath), "%s/test_notify.%ld.%d.db", tmp, (long)getpid(), n++);
	unlink(dbpath);
	*state = oc_hall_store_open(dbpath, NULL);
	return *state == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char p[600];

	oc_hall_store_close(*state);
	unlink(dbpath);
	snprintf(p, sizeof(p), "%s-wal", dbpath);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", dbpath);
	unlink(p);
	return 0;
}

static struct oc_config *
cfg_of(const char *ini)
{
	struct oc_config *c = oc_config_parse(ini, strlen(ini), NULL);

	assert_non_null(c);
	return c;
}

static struct oc_notify *
notifier(const char *ini)
{
	struct oc_config *c = cfg_of(ini);
	struct oc_err err;
	struct oc_notify *n = oc_notify_new(c, "sms", &err);

	if (n == NULL)
		fail_msg("oc_notify_new: %s", err.msg);
	oc_config_free(c);
	return n;
}

/* --- outbox reading ---------------------------------------------------- */

#define MAXMSG 16
struct got {
	size_t n;
	struct oc_hall_sms m[MAXMSG];
};

static int
collect(const struct oc_hall_sms *m, void *arg)
{
	struct got *g = arg;

	if (g->n < MAXMSG)
		g->m[g->n] = *m;
	g->n++;
	return 0;
}

static void
list(struct oc_hall_store *st, const char *to, long long after, int limit, struct got *g)
{
	memset(g, 0, sizeof(*g));
	assert_int_equal(oc_hall_outbox_list(st, to, after, limit, collect, g, NULL), 0);
}

/* --- a fake Kannel smsbox ---------------------------------------------- */

struct fake {
	int lfd;
	int port;
	const char *answer;         /* the whole HTTP answer */
	char req[8192];             /* what the client sent */
	pthread_t th;
};

static int
listener(int *port)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* Serve one connection: read the request head, answer, close. */
static void *
fake_run(void *arg)
{
	struct fake *f = arg;
	struct pollfd pfd = { f->lfd, POLLIN, 0 };
	size_t len = 0;
	int c;

	if (poll(&pfd, 1, 10000) != 1 || (c = accept(f->lfd, NULL, NULL)) < 0)
		return NULL;
	while (len + 1 < sizeof(f->req)) {
		ssize_t r = recv(c, f->req + len, sizeof(f->req) - 1 - len, 0);

		if (r <= 0)
			break;
		len += (size_t)r;
		f->req[len] = '\0';
		if (strstr(f->req, "\r\n\r\n") != NULL)
			break;
	}
	if (send(c, f->answer, strlen(f->answer), MSG_NOSIGNAL) < 0)
		perror("fake kannel send");
	close(c);
	return NULL;
}

static void
fake_start(struct fake *f, const char *answer)
{
	memset(f, 0, sizeof(*f));
	f->answer = answer;
	f->lfd = listener(&f->port);
	assert_int_equal(pthread_create(&f->th, NULL, fake_run, f), 0);
}

static void
fake_stop(struct fake *f)
{
	pthread_join(f->th, NULL);
	close(f->lfd);
}

static int
hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 :
	    c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The percent-decoded value of key in the request line's query, or NULL
 * when absent. */
static const char *
param(const char *req, const char *key, char *out, size_t cap)
{
	const char *q = strchr(req, '?'), *end = strstr(req, " HTTP/");
	size_t kl = strlen(key), o = 0;

	if (q == NULL || end == NULL)
		return NULL;
	for (const char *p = q + 1; p < end; ) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *e = amp ? amp : end;

		if ((size_t)(e - p) > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
			for (const char *v = p + kl + 1; v < e && o + 1 < cap; v++) {
				if (*v == '%' && e - v >= 3 && hexval(v[1]) >= 0 && hexval(v[2]) >= 0) {
					out[o++] = (char)(hexval(v[1]) * 16 + hexval(v[2]));
					v += 2;
				} else {
					out[o++] = *v;
				}
			}
			out[o] = '\0';
			return out;
		}
		p = e + 1;
	}
	return NULL;
}

static char *
kannel_ini(int port, const char *extra)
{
	static char ini[1024];

	snprintf(ini, sizeof(ini), "[sms]\nbackend = kannel\n"
	    "kannel_url = http://127.0.0.1:%d/cgi-bin/sendsms\n"
	    "kannel_user = hall\nkannel_password = p&ss w=rd/%%\nkannel_from = 10690000\n"
	    "timeout = 2s\n%s", port, extra ? extra : "");
	return ini;
}

#define ACCEPTED "HTTP/1.1 202 Accepted\r\nServer: Kannel/1.4.5\r\n" \
	"Content-Type: text/html\r\nContent-Length: 24\r\n\r\n0: Accepted for delivery"
#define REFUSED "HTTP/1.1 403 Forbidden\r\nServer: Kannel/1.4.5\r\n" \
	"Content-Type: text/html\r\nContent-Length: 32\r\n\r\nAuthorization failed for sendsms"

static long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- tests --------------------------------------------------------------- */

static void
test_outbox_backend(void **state)
{
	struct oc_hall_store *st = *state;
	struct oc_notify *n = oc_notify_new(NULL, NULL, NULL);
	struct oc_err err;
	struct got g;

	assert_non_null(n);
	assert_string_equal(oc_notify_backend(n), "outbox");
	assert_int_equal(oc_notify_sms(n, st, "13816001234", "您的验证码是123456", "sms_code",
	    &err), 0);
	assert_int_equal(oc_notify_sms(n, st, "13901001234", "申请已提交", "application.submitted",
	    &err), 0);
	assert_int_equal(oc_notify_sms(n, st, "13816001234", "申请已通过", "application.approved",
	    &err), 0);
	list(st, NULL, 0, 0, &g);
	assert_int_equal(g.n, 3);
	/* the outbox is the delivery: the code is kept for the person who reads it */
	assert_string_equal(g.m[0].text, "您的验证码是123456");
	assert_string_equal(g.m[0].to, "13816001234");
	assert_string_equal(g.m[0].purpose, "sms_code");
	assert_string_equal(g.m[0].via, "outbox");
	assert_string_equal(g.m[0].status, "stored");
	assert_true(g.m[0].ts > time(NULL) - 60 && g.m[0].ts <= time(NULL));
	assert_true(g.m[0].id < g.m[1].id && g.m[1].id < g.m[2].id);
	/* one number, after an id, a limit */
	list(st, "13816001234", 0, 0, &g);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.m[1].text, "申请已通过");
	list(st, "13816001234", g.m[0].id, 0, &g);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.m[0].purpose, "application.approved");
	list(st, NULL, 0, 2, &g);
	assert_int_equal(g.n, 2);
	list(st, "13700000000", 0, 0, &g);
	assert_int_equal(g.n, 0);

	/* bad input: nothing stored */
	assert_int_equal(oc_notify_sms(n, st, "1381600123", "x", "t", &err), OC_EINVAL);
	assert_non_null(strstr(err.msg, "11"));
	assert_int_equal(oc_notify_sms(n, st, "13816001234", "", "t", &err), OC_EINVAL);
	assert_int_equal(oc_notify_sms(n, st, "13816001234", "\xff\xfe", "t", &err), OC_EINVAL);
	{
		char big[1100];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		assert_int_equal(oc_notify_sms(n, st, "13816001234", big, "t", &err), OC_ETOOBIG);
	}
	list(st, NULL, 0, 0, &g);
	assert_int_equal(g.n, 3);
	oc_notify_free(n);
}

static void
test_config(void **state)
{
	static const char *const bad[] = {
		"[sms]\nbackend = carrier-pigeon\n",
		"[sms]\nbackend = kannel\nkannel_user = u\n",
		"[sms]\nbackend = kannel\nkannel_url = http://127.0.0.1:13013/\n",
		"[sms]\nbackend = kannel\nkannel_url = https://127.0.0.1/\nkannel_user = u\n",
		"[sms]\nbackend = kannel\nkannel_url = http://127.0.0.1:99999/\nkannel_user = u\n",
		"[sms]\nbackend = kannel\nkannel_url = http://127.0.0.1:1x/\nkannel_user = u\n",
		"[sms]\nbackend = kannel\nkannel_url = http://u:p@127.0.0.1/\nkannel_user = u\n",
		"[sms]\nbackend = kannel\nkannel_url = http://127.0.0.1/s?x=1\nkannel_user = u\n",
		"[sms]\nbackend = kannel\nkannel_url = http:///x\nkannel_user = u\n",
		"[sms]\nunknown_segment = maybe\n",
		"[sms]\ntimeout = 0\n",
		"[sms]\ntimeout = soon\n",
		"[sms]\nlocal_city =\n",
	};
	struct oc_err err;
	struct oc_notify *n;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct oc_config *c = cfg_of(bad[i]);

		oc_err_clear(&err);
		n = oc_notify_new(c, "sms", &err);
		if (n != NULL)
			fail_msg("accepted: %s", bad[i]);
		assert_int_equal(err.code, OC_ECONFIG);
		assert_true(err.msg[0] != '\0');
		oc_config_free(c);
	}
	n = notifier("[sms]\nbackend = kannel\nkannel_url = http://[::1]:13013\n"
	    "kannel_user = u\nunknown_segment = flag\n");
	assert_string_equal(oc_notify_backend(n), "kannel");
	oc_notify_free(n);
}

static void
test_kannel_sent(void **state)
{
	struct oc_hall_store *st = *state;
	struct fake f;
	struct oc_notify *n;
	struct oc_err err;
	struct got g;
	char v[512];
	const char *q;

	fake_start(&f, ACCEPTED);
	n = notifier(kannel_ini(f.port, NULL));
	assert_string_equal(oc_notify_backend(n), "kannel");
	oc_err_clear(&err);
	if (oc_notify_sms(n, st, "13816001234", "您的验证码是123456", "sms_code", &err) != 0)
		fail_msg("send: %s", err.msg);
	fake_stop(&f);
	/* what Kannel was asked */
	assert_memory_equal(f.req, "GET /cgi-bin/sendsms?", 21);
	assert_non_null(strstr(f.req, " HTTP/1.0\r\n"));
	assert_string_equal(param(f.req, "username", v, sizeof(v)), "hall");
	assert_string_equal(param(f.req, "password", v, sizeof(v)), "p&ss w=rd/%");
	assert_string_equal(param(f.req, "to", v, sizeof(v)), "13816001234");
	assert_string_equal(param(f.req, "from", v, sizeof(v)), "10690000");
	assert_string_equal(param(f.req, "charset", v, sizeof(v)), "UTF-8");
	assert_string_equal(param(f.req, "coding", v, sizeof(v)), "2");
	assert_string_equal(param(f.req, "text", v, sizeof(v)), "您的验证码是123456");
	/* every byte outside the unreserved set went percent-encoded */
	for (q = strchr(f.req, '?') + 1; *q != ' '; q++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%&=", *q))
			fail_msg("raw byte 0x%02x in the query", (unsigned char)*q);
	assert_non_null(strstr(f.req, "text=%E6%82%A8%E7%9A%84"));
	assert_non_null(strstr(f.req, "password=p%26ss%20w%3Drd%2F%25&"));
	/* what the outbox kept: the code masked, the gateway's answer */
	list(st, NULL, 0, 0, &g);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.m[0].text, "您的验证码是******");
	assert_string_equal(g.m[0].via, "kannel");
	assert_string_equal(g.m[0].status, "sent");
	assert_string_equal(g.m[0].answer, "202 0: Accepted for delivery");

	/* other purposes keep their digits; "Sent." (200) is success too */
	fake_start(&f, "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\nSent.");
	oc_notify_free(n);
	n = notifier(kannel_ini(f.port, NULL));
	assert_int_equal(oc_notify_sms(n, st, "13816001234", "申请编号 42 已提交",
	    "application.submitted", &err), 0);
	fake_stop(&f);
	assert_string_equal(param(f.req, "text", v, sizeof(v)), "申请编号 42 已提交");
	list(st, NULL, 0, 0, &g);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.m[1].text, "申请编号 42 已提交");
	assert_string_equal(g.m[1].status, "sent");
	assert_string_equal(g.m[1].answer, "200 Sent.");

	/* the code is masked, a short number next to it stays readable */
	fake_start(&f, ACCEPTED);
	oc_notify_free(n);
	n = notifier(kannel_ini(f.port, NULL));
	assert_int_equal(oc_notify_sms(n, st, "13816001234", "【网上办事大厅】您的验证码为908172，"
	    "10分钟内有效。", "sms_code", &err), 0);
	fake_stop(&f);
	assert_string_equal(param(f.req, "text", v, sizeof(v)), "【网上办事大厅】您的验证码为908172，"
	    "10分钟内有效。");
	list(st, NULL, 0, 0, &g);
	assert_int_equal(g.n, 3);
	assert_string_equal(g.m[2].text, "【网上办事大厅】您的验证码为******，10分钟内有效。");
	oc_notify_free(n);
}

static void
test_kannel_refused(void **state)
{
	struct oc_hall_store *st = *state;
	struct fake f;
	struct oc_notify *n;
	struct oc_err err;
	struct got g;

	fake_start(&f, REFUSED);
	n = notifier(kannel_ini(f.port, NULL));
	oc_err_clear(&err);
	assert_int_equal(oc_notify_sms(n, st, "13816001234", "您的验证码是654321", "sms_code",
	    &err), OC_EIO);
	fake_stop(&f);
	assert_non_null(strstr(err.msg, "403"));
	assert_non_null(strstr(err.msg, "Authorization failed for sendsms"));
	assert_non_null(strstr(err.msg, "短信网关"));
	list(st, NULL, 0, 0, &g);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.m[0].status, "failed");
	assert_string_equal(g.m[0].via, "kannel");
	assert_string_equal(g.m[0].answer, "403 Authorization failed for sendsms");
	/* not delivered: kept as written, like the outbox backend would */
	assert_string_equal(g.m[0].text, "您的验证码是654321");

	/* something that is not HTTP */
	fake_start(&f, "SSH-2.0-OpenSSH_9.2\r\n");
	oc_notify_free(n);
	n = notifier(kannel_ini(f.port, NULL));
	assert_int_equal(oc_notify_sms(n, st, "13816001234", "x", "t", &err), OC_EIO);
	fake_stop(&f);
	assert_non_null(strstr(err.msg, "HTTP"));
	oc_notify_free(n);
}

static void
test_kannel_unreachable(void **state)
{
	struct oc_hall_store *st = *state;
	struct oc_notify *n;
	struct oc_err err;
	struct got g;
	long t0, ms;
	int port, fd;

	/* nobody listens: refused at once */
	fd = listener(&port);
	close(fd);
	n = notifier(kannel_ini(port, NULL));
	t0 = mono_ms();
	assert_int_equal(oc_notify_sms(n, st, "13816001234", "您的验证码是111111", "sms_code",
	    &err), OC_EIO);
	ms = mono_ms() - t0;
	assert_true(ms < 1000);
	assert_non_null(strstr(err.msg, "无法连接短信网关"));
	oc_notify_free(n);

	/* a gateway that takes the connection and never answers: the
	 * timeout (1 s) bounds the wait */
	fd = listener(&port);
	n = notifier(kannel_ini(port, "timeout = 1\n"));
	t0 = mono_ms();
	assert_int_equal(oc_notify_sms(n, st, "13816001234", "您的验证码是222222", "sms_code",
	    &err), OC_EIO);
	ms = mono_ms() - t0;
	close(fd);
	assert_true(ms >= 900 && ms < 2500);
	assert_non_null(strstr(err.msg, "1 s"));
	oc_notify_free(n);

	list(st, NULL, 0, 0, &g);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.m[0].status, "failed");
	assert_non_null(strstr(g.m[0].answer, "cannot connect"));
	assert_string_equal(g.m[1].status, "failed");
	assert_non_null(strstr(g.m[1].answer, "no answer"));
}

static const char *
fixture(void)
{
	static char p[1024];
	const char *src = getenv("ONECERT_SOURCE_DIR");

	snprintf(p, sizeof(p), "%s/tests/unit/data/segments_fixture.csv", src ? src : ONECERT_SOURCE_DIR);
	return p;
}

static const char *
write_tmp(const char *name, const char *content)
{
	static char p[1024];
	FILE *f;

	snprintf(p, sizeof(p), "%s/test_notify.%ld.%s", tmpdir, (long)getpid(), name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
	return p;
}

static void
city_is(struct oc_hall_store *st, const char *prefix, const char *want)
{
	char city[128];
	int rc = oc_hall_segment_city(st, prefix, city, sizeof(city), NULL);

	if (want == NULL) {
		assert_int_equal(rc, OC_ENOTFOUND);
	} else {
		assert_int_equal(rc, 0);
		assert_string_equal(city, want);
	}
}

static void
test_segments_import(void **state)
{
	static const struct { const char *content; const char *line; } bad[] = {
		{ "1381600,上海市\n1381800\n", "第2行" },                   /* no comma */
		{ "1381600,上海市\n\n# c\n138180,上海市\n", "第4行" },        /* 6 digits */
		{ "2381800,上海市\n", "第1行" },                            /* not 1… */
		{ "1381600,上海市\n13818a0,上海市\n", "第2行" },
		{ "1381600,上海市\n1381800,\n", "第2行" },                   /* no city */
		{ "1381800,\xe4\xb8\n", "第1行" },                           /* bad UTF-8 */
		{ "1381800,上海市,浦东\n", "第1行" },                        /* a third field */
		{ "1381800,上海市上海市上海市上海市上海市上海市上海市上海市上海市上海市上海市\n", "第1行" },
		{ "1381800,上海市\n1381900,上海市\n1381800,北京市\n", "第3行" }, /* twice */
		{ "# only comments\n\n", "没有号段" },
	};
	struct oc_hall_store *st = *state;
	struct oc_err err;
	size_t n = 99;
	char name[32];

	if (oc_notify_import_segments(st, fixture(), false, &n, &err) != 0)
		fail_msg("import: %s", err.msg);
	assert_int_equal(n, 5);
	city_is(st, "1381600", "上海市");
	city_is(st, "1391600", "上海市");
	city_is(st, "1390100", "北京市");
	city_is(st, "1381800", NULL);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *p;

		snprintf(name, sizeof(name), "bad%zu.csv", i);
		p = write_tmp(name, bad[i].content);
		n = 99;
		oc_err_clear(&err);
		assert_int_equal(oc_notify_import_segments(st, p, true, &n, &err), OC_EINVAL);
		if (strstr(err.msg, bad[i].line) == NULL)
			fail_msg("case %zu: message lacks %s: %s", i, bad[i].line, err.msg);
		assert_int_equal(n, 0);
		unlink(p);
		/* nothing changed, not even with --replace */
		city_is(st, "1381600", "上海市");
		city_is(st, "1390100", "北京市");
		city_is(st, "1381800", NULL);
	}
	assert_int_equal(oc_notify_import_segments(st, "/nonexistent/segments.csv", false, &n,
	    &err), OC_ENOTFOUND);

	/* without replace: added and updated; with replace: only the new file */
	oc_err_clear(&err);
	assert_int_equal(oc_notify_import_segments(st, write_tmp("add.csv",
	    "\xef\xbb\xbf# BOM, CRLF\r\n1381800,上海市\r\n1390100,天津市\r\n"), false, &n, &err), 0);
	assert_int_equal(n, 2);
	city_is(st, "1381800", "上海市");
	city_is(st, "1390100", "天津市");
	city_is(st, "1381600", "上海市");
	assert_int_equal(oc_notify_import_segments(st, write_tmp("rep.csv", "1500000,杭州市"),
	    true, &n, &err), 0);
	assert_int_equal(n, 1);
	city_is(st, "1500000", "杭州市");
	city_is(st, "1381600", NULL);
	city_is(st, "1381800", NULL);
	unlink(write_tmp("add.csv", ""));
	unlink(write_tmp("rep.csv", ""));
}

static void
test_segments_put_rollback(void **state)
{
	struct oc_hall_store *st = *state;
	const char *p1[] = { "1381600", "1381700" }, *c1[] = { "上海市", "上海市" };
	const char *p2[] = { "1390100", "139010" }, *c2[] = { "北京市", "北京市" };
	const char *p3[] = { "1390100" }, *c3[] = { "" };
	struct oc_err err;

	assert_int_equal(oc_hall_segments_put(st, p1, c1, 2, false, &err), 0);
	assert_int_equal(oc_hall_segments_put(st, p2, c2, 2, true, &err), OC_EINVAL);
	assert_non_null(strstr(err.msg, "2"));
	assert_int_equal(oc_hall_segments_put(st, p3, c3, 1, true, &err), OC_EINVAL);
	city_is(st, "1381600", "上海市");
	city_is(st, "1390100", NULL);
	/* replace with nothing empties the table */
	assert_int_equal(oc_hall_segments_put(st, NULL, NULL, 0, true, &err), 0);
	city_is(st, "1381600", NULL);
}

static void
test_mobile_local(void **state)
{
	struct oc_hall_store *st = *state;
	struct oc_notify *reject = notifier("[sms]\n"), *flag =
	    notifier("[sms]\nunknown_segment = flag\n"), *bj =
	    notifier("[sms]\nlocal_city = 北京市\n");
	struct oc_err err;
	bool flagged;

	assert_int_equal(oc_notify_import_segments(st, fixture(), true, NULL, &err), 0);
	flagged = true;
	assert_int_equal(oc_notify_mobile_local(reject, st, "13816001234", &flagged, &err), 0);
	assert_false(flagged);
	assert_int_equal(oc_notify_mobile_local(reject, st, "13916009999", &flagged, &err), 0);
	assert_int_equal(oc_notify_mobile_local(flag, st, "13817000000", &flagged, &err), 0);
	assert_false(flagged);

	/* Beijing: not local, whatever the unknown policy */
	oc_err_clear(&err);
	assert_int_equal(oc_notify_mobile_local(reject, st, "13901001234", &flagged, &err),
	    OC_EINVAL);
	assert_non_null(strstr(err.msg, "请使用本市手机接收手机验证码"));
	assert_non_null(strstr(err.detail, "北京市"));
	assert_int_equal(oc_notify_mobile_local(flag, st, "13910001234", &flagged, &err),
	    OC_EINVAL);
	assert_false(flagged);
	assert_int_equal(oc_notify_mobile_local(bj, st, "13910001234", &flagged, &err), 0);
	assert_int_equal(oc_notify_mobile_local(bj, st, "13816001234", &flagged, &err), OC_EINVAL);

	/* unknown segment: reject, or accept flagged */
	oc_err_clear(&err);
	assert_int_equal(oc_notify_mobile_local(reject, st, "17000001234", &flagged, &err),
	    OC_EINVAL);
	assert_non_null(strstr(err.msg, "请使用本市手机接收手机验证码"));
	assert_non_null(strstr(err.detail, "1700000"));
	flagged = false;
	assert_int_equal(oc_notify_mobile_local(flag, st, "17000001234", &flagged, &err), 0);
	assert_true(flagged);

	/* malformed: the mobile check's own message, never flagged */
	flagged = true;
	assert_int_equal(oc_notify_mobile_local(flag, st, "1381600123", &flagged, &err), OC_EINVAL);
	assert_false(flagged);
	assert_non_null(strstr(err.msg, "11"));
	assert_int_equal(oc_notify_mobile_local(flag, st, "1381600123x", &flagged, &err),
	    OC_EINVAL);
	assert_int_equal(oc_notify_mobile_local(flag, st, "23816001234", &flagged, &err),
	    OC_EINVAL);
	assert_int_equal(oc_notify_mobile_local(flag, st, NULL, &flagged, &err), OC_EINVAL);
	oc_notify_free(reject);
	oc_notify_free(flag);
	oc_notify_free(bj);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_outbox_backend, setup, teardown),
		cmocka_unit_test(test_config),
		cmocka_unit_test_setup_teardown(test_kannel_sent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kannel_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kannel_unreachable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_segments_import, setup, teardown),
		cmocka_unit_test_setup_teardown(test_segments_put_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mobile_local, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
