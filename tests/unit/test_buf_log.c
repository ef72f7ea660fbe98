/*
 * test_buf_log.c — bounded buffers (limits hold, nothing half-appended),
 * whole-file reads, atomic writes (content, mode, no temp file left, safe
 * from concurrent writers), and logfmt quoting (a client's value can never
 * start a second log line or forge a key).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onecert/buf.h"
#include "onecert/error.h"
#include "onecert/log.h"

static char tmpdir[4096];

static const char *
path_of(const char *name)
{
	static _Thread_local char p[4200];

	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	return p;
}

static int
count_tmp_files(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, ".tmp.") != NULL)
			n++;
	closedir(d);
	return n;
}

/* --- buffers ---------------------------------------------------------- */

static void
buf_limits(void **state)
{
	struct oc_buf b;

	(void)state;
	oc_buf_init(&b, 10);
	assert_int_equal(oc_buf_adds(&b, "0123456789"), 0);
	assert_int_equal(b.len, 10);
	assert_true(b.cap <= 11);
	/* Full: one more byte is refused and nothing changes. */
	assert_int_equal(oc_buf_add(&b, "x", 1), OC_ETOOBIG);
	assert_int_equal(b.len, 10);
	assert_string_equal((char *)b.p, "0123456789");
	assert_int_equal(oc_buf_printf(&b, "%d", 1), OC_ETOOBIG);
	assert_string_equal((char *)b.p, "0123456789");
	/* Adding nothing is fine even when full. */
	assert_int_equal(oc_buf_add(&b, "", 0), 0);
	oc_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal((char *)b.p, "");
	/* Too much at once: nothing appended. */
	assert_int_equal(oc_buf_adds(&b, "abc"), 0);
	assert_int_equal(oc_buf_adds(&b, "12345678"), OC_ETOOBIG);
	assert_string_equal((char *)b.p, "abc");
	assert_int_equal(oc_buf_printf(&b, "%s-%d", "xy", 42), 0);
	assert_string_equal((char *)b.p, "abcxy-42");
	assert_int_equal(b.len, 8);
	assert_int_equal(oc_buf_printf(&b, "%s", "abc"), OC_ETOOBIG);
	assert_int_equal(b.len, 8);
	oc_buf_cleanup(&b);
	assert_null(b.p);
	assert_int_equal(b.len, 0);

	/* max 0: only the empty string. */
	oc_buf_init(&b, 0);
	assert_int_equal(oc_buf_add(&b, "", 0), 0);
	assert_non_null(b.p);
	assert_string_equal((char *)b.p, "");
	assert_int_equal(oc_buf_add(&b, "x", 1), OC_ETOOBIG);
	oc_buf_cleanup(&b);

	/* A size near SIZE_MAX must not wrap around. */
	oc_buf_init(&b, 16);
	assert_int_equal(oc_buf_add(&b, "x", SIZE_MAX), OC_ETOOBIG);
	oc_buf_cleanup(&b);
	oc_buf_init(&b, SIZE_MAX);
	assert_int_equal(oc_buf_adds(&b, "hello"), 0);
	assert_string_equal((char *)b.p, "hello");
	assert_true(b.cap >= 6);
	assert_int_equal(oc_buf_add(&b, "x", SIZE_MAX - 5), OC_ETOOBIG);
	assert_int_equal(oc_buf_add(&b, "x", SIZE_MAX), OC_ETOOBIG);
	assert_string_equal((char *)b.p, "hello");
	oc_buf_cleanup(&b);
}

static void
buf_growth_steal(void **state)
{
	struct oc_buf b;
	unsigned char *p;
	size_t len = 0;

	(void)state;
	oc_buf_init(&b, 1 << 20);
	for (int i = 0; i < 100000; i++)
		assert_int_equal(oc_buf_printf(&b, "%c", 'a' + i % 26), 0);
	assert_int_equal(b.len, 100000);
	assert_true(b.cap <= (1 << 20) + 1);
	assert_int_equal(b.p[99999], 'a' + 99999 % 26);
	assert_int_equal(b.p[100000], '\0');
	p = oc_buf_steal(&b, &len);
	assert_non_null(p);
	assert_int_equal(len, 100000);
	assert_int_equal(p[25], 'z');
	assert_null(b.p);
	assert_int_equal(b.len, 0);
	free(p);
	/* Stealing an empty buffer still hands over a string. */
	p = oc_buf_steal(&b, &len);
	assert_non_null(p);
	assert_int_equal(len, 0);
	assert_int_equal(p[0], '\0');
	free(p);
	/* The buffer is usable again, and cleanse empties it. */
	assert_int_equal(oc_buf_adds(&b, "1234"), 0);
	oc_buf_cleanse(&b);
	assert_null(b.p);
	assert_int_equal(b.len, 0);
}

static void
read_file_limits(void **state)
{
	struct oc_buf b;
	char data[100];
	FILE *f;

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)('A' + i % 26);
	assert_non_null(f = fopen(path_of("r.bin"), "wb"));
	assert_int_equal(fwrite(data, 1, sizeof(data), f), sizeof(data));
	fclose(f);

	oc_buf_init(&b, 100);
	assert_int_equal(oc_buf_read_file(&b, path_of("r.bin")), 0);
	assert_int_equal(b.len, 100);
	assert_memory_equal(b.p, data, 100);
	oc_buf_cleanup(&b);
	oc_buf_init(&b, 99);
	assert_int_equal(oc_buf_read_file(&b, path_of("r.bin")), OC_ETOOBIG);
	oc_buf_cleanup(&b);
	oc_buf_init(&b, 99);
	assert_int_equal(oc_buf_read_file(&b, path_of("nope.bin")), OC_ENOTFOUND);
	oc_buf_cleanup(&b);
	/* An empty file (an empty PIN file) is "", not a NULL pointer that
	 * the PIN readers would dereference. */
	assert_non_null(f = fopen(path_of("empty.bin"), "wb"));
	fclose(f);
	oc_buf_init(&b, 99);
	assert_int_equal(oc_buf_read_file(&b, path_of("empty.bin")), 0);
	assert_int_equal(b.len, 0);
	assert_non_null(b.p);
	assert_string_equal((char *)b.p, "");
	oc_buf_cleanup(&b);
}

/* --- errors ----------------------------------------------------------- */

static void
err_set_own_message(void **state)
{
	struct oc_err err;

	(void)state;
	/* Wrapping the message already in err: the callers' idiom
	 * oc_err_set(err, …, "…: %s", err->msg) must keep the old text. */
	oc_err_set(&err, OC_EINVAL, "the chain does not verify: certificate has expired");
	oc_err_set(&err, OC_EPERM, "operator certificate refused: %s", err.msg);
	assert_int_equal(err.code, OC_EPERM);
	assert_string_equal(err.msg, "operator certificate refused: the chain does not "
	    "verify: certificate has expired");
}

static void
atomic_write(void **state)
{
	struct oc_buf b;
	struct stat st;
	mode_t old;

	(void)state;
	old = umask(077);
	assert_int_equal(oc_write_file_atomic(path_of("a.txt"), "first version\n",
	    14, 0644), 0);
	umask(old);
	assert_int_equal(stat(path_of("a.txt"), &st), 0);
	/* The mode asked for, whatever the umask. */
	assert_int_equal(st.st_mode & 0777, 0644);
	/* Replacing with shorter content leaves nothing of the old. */
	assert_int_equal(oc_write_file_atomic(path_of("a.txt"), "v2", 2, 0600), 0);
	oc_buf_init(&b, 1024);
	assert_int_equal(oc_buf_read_file(&b, path_of("a.txt")), 0);
	assert_int_equal(b.len, 2);
	assert_string_equal((char *)b.p, "v2");
	oc_buf_cleanup(&b);
	assert_int_equal(stat(path_of("a.txt"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* Empty content. */
	assert_int_equal(oc_write_file_atomic(path_of("empty"), "", 0, 0600), 0);
	assert_int_equal(stat(path_of("empty"), &st), 0);
	assert_int_equal(st.st_size, 0);
	/* Failures: no folder; the target is a non-empty folder. */
	assert_int_equal(oc_write_file_atomic(path_of("no/such/file"), "x", 1,
	    0600), OC_EIO);
	assert_int_equal(mkdir(path_of("dir"), 0700), 0);
	assert_int_equal(oc_write_file_atomic(path_of("dir/inner"), "x", 1,
	    0600), 0);
	assert_int_equal(oc_write_file_atomic(path_of("dir"), "x", 1, 0600),
	    OC_EIO);
	assert_int_equal(stat(path_of("dir/inner"), &st), 0);
	assert_int_equal(count_tmp_files(), 0);
}

#define NTHREADS 4
#define NWRITES 8
#define PAYLOAD (64 * 1024)

static void *
writer(void *arg)
{
	char *data = malloc(PAYLOAD);
	int id = (int)(intptr_t)arg;
	intptr_t bad = 0;

	if (data == NULL)
		return (void *)1;
	memset(data, 'a' + id, PAYLOAD);
	for (int i = 0; i < NWRITES; i++)
		if (oc_write_file_atomic(path_of("shared"), data, PAYLOAD, 0600) != 0)
			bad = 1;
	free(data);
	return (void *)bad;
}

static void
atomic_write_concurrent(void **state)
{
	pthread_t t[NTHREADS];
	struct oc_buf b;
	void *res;

	(void)state;
	for (int i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, writer,
		    (void *)(intptr_t)i), 0);
	for (int i = 0; i < NTHREADS; i++) {
		assert_int_equal(pthread_join(t[i], &res), 0);
		assert_null(res);
	}
	/* Exactly one writer's whole payload, never a mixture. */
	oc_buf_init(&b, PAYLOAD);
	assert_int_equal(oc_buf_read_file(&b, path_of("shared")), 0);
	assert_int_equal(b.len, PAYLOAD);
	for (size_t i = 1; i < PAYLOAD; i++)
		if (b.p[i] != b.p[0])
			fail_msg("mixed content at byte %zu", i);
	oc_buf_cleanup(&b);
	assert_int_equal(count_tmp_files(), 0);
}

/* --- logging ---------------------------------------------------------- */

static void
log_quote(void **state)
{
	char q[OC_LOG_QBUF], small[8];

	(void)state;
	assert_string_equal(oc_log_q(q, sizeof(q), "plain-value_1.2"),
	    "plain-value_1.2");
	assert_string_equal(oc_log_q(q, sizeof(q), "上海"), "上海");
	assert_string_equal(oc_log_q(q, sizeof(q), "two words"), "\"two words\"");
	assert_string_equal(oc_log_q(q, sizeof(q), "k=v"), "\"k=v\"");
	assert_string_equal(oc_log_q(q, sizeof(q), "a\"b\\c"),
	    "\"a\\\"b\\\\c\"");
	assert_string_equal(oc_log_q(q, sizeof(q), "l1\nl2\r"),
	    "\"l1\\nl2\\x0d\"");
	assert_string_equal(oc_log_q(q, sizeof(q), "\x01\t"), "\"\\x01\\x09\"");
	/* DEL is a control character too. */
	assert_string_equal(oc_log_q(q, sizeof(q), "\x7f"), "\"\\x7f\"");
	assert_string_equal(oc_log_q(q, sizeof(q), ""), "\"\"");
	assert_string_equal(oc_log_q(q, sizeof(q), NULL), "\"\"");
	/* Truncated: still quoted on both sides, no half escape. */
	assert_string_equal(oc_log_q(small, sizeof(small), "hello world"),
	    "\"hello\"");
	assert_string_equal(oc_log_q(small, 5, "ab\ncd"), "\"ab\"");
	assert_string_equal(oc_log_q(small, 6, "a\"bcd"), "\"a\\\"\"");
	assert_string_equal(oc_log_q(small, 3, "a b"), "\"\"");
	assert_string_equal(oc_log_q(small, 2, "a b"), "");
	assert_string_equal(oc_log_q(small, 1, "a b"), "");
	assert_string_equal(oc_log_q(small, 4, "abcdef"), "abc");
}

static int
count_char(const char *s, char c)
{
	int n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

/* Run oc_log with stderr redirected; returns what it wrote. */
static char *
capture_log(enum oc_log_level lvl, const char *event, const char *value)
{
	char q[OC_LOG_QBUF];
	struct oc_buf b;
	int fd, saved;

	fflush(stderr);
	saved = dup(STDERR_FILENO);
	fd = open(path_of("log.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, STDERR_FILENO);
	close(fd);
	oc_log(lvl, event, "user=%s n=%d", oc_log_q(q, sizeof(q), value), 7);
	dup2(saved, STDERR_FILENO);
	close(saved);
	oc_buf_init(&b, 65536);
	assert_int_equal(oc_buf_read_file(&b, path_of("log.txt")), 0);
	return (char *)oc_buf_steal(&b, NULL);
}

static void
log_lines(void **state)
{
	char *out;
	enum oc_log_level lvl;

	(void)state;
	oc_log_set_level(OC_LOG_DEBUG);
	out = capture_log(OC_LOG_INFO, "test.event",
	    "evil\nts=2026-01-01T00:00:00Z level=error event=forged");
	/* One line, and the forged text stays inside the quoted value. */
	assert_int_equal(count_char(out, '\n'), 1);
	assert_int_equal(out[strlen(out) - 1], '\n');
	assert_int_equal(strncmp(out, "ts=", 3), 0);
	assert_non_null(strstr(out, " level=info event=test.event user=\"evil\\n"
	    "ts=2026-01-01T00:00:00Z level=error event=forged\" n=7\n"));
	free(out);
	/* Below the level: nothing at all. */
	oc_log_set_level(OC_LOG_WARN);
	out = capture_log(OC_LOG_INFO, "quiet", "x");
	assert_string_equal(out, "");
	free(out);
	out = capture_log(OC_LOG_ERROR, "loud", "x");
	assert_non_null(strstr(out, "level=error event=loud user=x n=7\n"));
	free(out);
	oc_log_set_level(OC_LOG_OFF);
	out = capture_log(OC_LOG_ERROR, "off", "x");
	assert_string_equal(out, "");
	free(out);
	oc_log_set_level(OC_LOG_INFO);

	assert_int_equal(oc_log_parse_level("WARN", &lvl), 0);
	assert_int_equal(lvl, OC_LOG_WARN);
	assert_int_equal(oc_log_parse_level("debug", &lvl), 0);
	assert_int_equal(lvl, OC_LOG_DEBUG);
	assert_int_equal(oc_log_parse_level("verbose", &lvl), OC_EINVAL);
	assert_int_equal(oc_log_parse_level(NULL, &lvl), OC_EINVAL);
}

static int
setup(void **state)
{
	const char *tmp = getenv("ONECERT_TEST_TMP");
	char base[4096];

	(void)state;
	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	(void)mkdir(tmp, 0700);
	snprintf(base, sizeof(base), "%s/buflog.XXXXXX", tmp);
	if (mkdtemp(base) == NULL)
		return -1;
	snprintf(tmpdir, sizeof(tmpdir), "%s", base);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[4200];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(buf_limits),
		cmocka_unit_test(buf_growth_steal),
		cmocka_unit_test(read_file_limits),
		cmocka_unit_test(err_set_own_message),
		cmocka_unit_test(atomic_write),
		cmocka_unit_test(atomic_write_concurrent),
		cmocka_unit_test(log_quote),
		cmocka_unit_test(log_lines),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
