/*
 * test_calendar.c — the working-day calendar against the real data files
 * (data/calendar/2025.txt, 2026.txt: the State Council's schedules), and
 * the refusal of malformed files.  Expected times were computed with
 * python3's datetime in a fixed UTC+8 zone, not with this code.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "onecert/calendar.h"

static char datadir[4096];
static char tmpdir[4096];

static struct oc_calendar *
load_real(void)
{
	struct oc_calendar *cal = oc_calendar_new();
	struct oc_err err;

	assert_non_null(cal);
	oc_err_clear(&err);
	if (oc_calendar_load_dir(cal, datadir, &err) != 0)
		fail_msg("loading %s: %s (%s)", datadir, err.msg, err.detail);
	return cal;
}

static void
write_file(const char *name, const char *text)
{
	char path[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static const char *
tmp_path(const char *name)
{
	static char path[4200];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

static void
known_years(void **state)
{
	struct oc_calendar *cal = load_real();

	(void)state;
	assert_true(oc_calendar_year_known(cal, 2025));
	assert_true(oc_calendar_year_known(cal, 2026));
	assert_false(oc_calendar_year_known(cal, 2024));
	assert_false(oc_calendar_year_known(cal, 2027));
	oc_calendar_free(cal);
}

static void
holidays(void **state)
{
	struct oc_calendar *cal = load_real();

	(void)state;
	/* 2025 */
	assert_false(oc_calendar_is_workday(cal, 2025, 1, 1));     /* Wed */
	assert_string_equal(oc_calendar_holiday_name(cal, 2025, 1, 1), "元旦");
	assert_false(oc_calendar_is_workday(cal, 2025, 1, 28));
	assert_false(oc_calendar_is_workday(cal, 2025, 2, 4));     /* Tue */
	assert_true(oc_calendar_is_workday(cal, 2025, 2, 5));      /* Wed */
	assert_string_equal(oc_calendar_holiday_name(cal, 2025, 2, 3), "春节");
	assert_false(oc_calendar_is_workday(cal, 2025, 4, 4));     /* Fri */
	assert_false(oc_calendar_is_workday(cal, 2025, 5, 5));     /* Mon */
	assert_false(oc_calendar_is_workday(cal, 2025, 6, 2));     /* Mon */
	assert_string_equal(oc_calendar_holiday_name(cal, 2025, 5, 31), "端午节");
	assert_false(oc_calendar_is_workday(cal, 2025, 10, 8));    /* Wed */
	assert_string_equal(oc_calendar_holiday_name(cal, 2025, 10, 6),
	    "国庆节、中秋节");
	assert_true(oc_calendar_is_workday(cal, 2025, 10, 9));     /* Thu */
	/* 2026 */
	assert_false(oc_calendar_is_workday(cal, 2026, 1, 2));     /* Fri */
	assert_false(oc_calendar_is_workday(cal, 2026, 2, 16));    /* Mon */
	assert_false(oc_calendar_is_workday(cal, 2026, 2, 23));    /* Mon */
	assert_true(oc_calendar_is_workday(cal, 2026, 2, 24));     /* Tue */
	assert_string_equal(oc_calendar_holiday_name(cal, 2026, 2, 15), "春节");
	assert_false(oc_calendar_is_workday(cal, 2026, 4, 6));     /* Mon */
	assert_string_equal(oc_calendar_holiday_name(cal, 2026, 4, 5), "清明节");
	assert_false(oc_calendar_is_workday(cal, 2026, 5, 4));     /* Mon */
	assert_string_equal(oc_calendar_holiday_name(cal, 2026, 5, 1), "劳动节");
	assert_false(oc_calendar_is_workday(cal, 2026, 6, 19));    /* Fri */
	assert_false(oc_calendar_is_workday(cal, 2026, 9, 25));    /* Fri */
	assert_string_equal(oc_calendar_holiday_name(cal, 2026, 9, 25), "中秋节");
	assert_false(oc_calendar_is_workday(cal, 2026, 10, 7));    /* Wed */
	assert_string_equal(oc_calendar_holiday_name(cal, 2026, 10, 1), "国庆节");
	assert_true(oc_calendar_is_workday(cal, 2026, 10, 8));     /* Thu */
	assert_null(oc_calendar_holiday_name(cal, 2026, 10, 8));
	/* A plain weekend is a rest day without a holiday name. */
	assert_false(oc_calendar_is_workday(cal, 2026, 10, 17));   /* Sat */
	assert_null(oc_calendar_holiday_name(cal, 2026, 10, 17));
	assert_true(oc_calendar_is_workday(cal, 2026, 10, 16));    /* Fri */
	/* Not a date. */
	assert_false(oc_calendar_is_workday(cal, 2026, 2, 29));
	assert_false(oc_calendar_is_workday(cal, 2026, 13, 1));
	assert_null(oc_calendar_holiday_name(cal, 2026, 0, 1));
	oc_calendar_free(cal);
}

static void
weekend_workdays(void **state)
{
	struct oc_calendar *cal = load_real();
	static const int days[][3] = {
		{ 2025, 1, 26 }, { 2025, 2, 8 }, { 2025, 4, 27 },
		{ 2025, 9, 28 }, { 2025, 10, 11 },
		{ 2026, 1, 4 }, { 2026, 2, 14 }, { 2026, 2, 28 },
		{ 2026, 5, 9 }, { 2026, 9, 20 }, { 2026, 10, 10 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(days) / sizeof(days[0]); i++) {
		if (!oc_calendar_is_workday(cal, days[i][0], days[i][1], days[i][2]))
			fail_msg("%d-%02d-%02d should be a 调休 workday",
			    days[i][0], days[i][1], days[i][2]);
		assert_null(oc_calendar_holiday_name(cal, days[i][0], days[i][1],
		    days[i][2]));
	}
	/* Their neighbours are ordinary weekend days. */
	assert_false(oc_calendar_is_workday(cal, 2026, 2, 7));     /* Sat */
	assert_false(oc_calendar_is_workday(cal, 2026, 10, 11));   /* Sun */
	oc_calendar_free(cal);
}

static void
unknown_year(void **state)
{
	struct oc_calendar *cal = load_real();
	struct oc_calendar *empty = oc_calendar_new();
	time_t d = 0;

	(void)state;
	/* 2027-01-01 is a Friday: without data it is a plain workday. */
	assert_true(oc_calendar_is_workday(cal, 2027, 1, 1));
	assert_false(oc_calendar_is_workday(cal, 2027, 1, 2));
	assert_null(oc_calendar_holiday_name(cal, 2027, 1, 1));
	/* An empty calendar knows only weekends. */
	assert_false(oc_calendar_year_known(empty, 2026));
	assert_true(oc_calendar_is_workday(empty, 2026, 10, 1));
	/* Wed 2026-09-30 20:00 CST + 1 working day, weekends only: Thu 10/1. */
	assert_int_equal(oc_calendar_deadline(empty, 1790769600, 1, &d), 0);
	assert_int_equal((long long)d, 1790783999LL + 86400);
	oc_calendar_free(empty);
	oc_calendar_free(cal);
}

static void
deadlines(void **state)
{
	struct oc_calendar *cal = load_real();
	time_t d = 0;
	static const struct {
		long long submitted;
		int n;
		long long want;
		const char *what;
	} v[] = {
		/* Wed 2026-09-30 20:00 → 国庆 10/1–7 → Thu 10/8 is the first. */
		{ 1790769600, 1, 1791475199, "2026-09-30 +1 → 10-08" },
		{ 1790769600, 2, 1791561599, "2026-09-30 +2 → 10-09" },
		{ 1790769600, 3, 1791647999, "2026-09-30 +3 → Sat 10-10 (调休)" },
		{ 1790769600, 4, 1791820799, "2026-09-30 +4 → Mon 10-12" },
		/* Fri 2026-04-03 evening before 清明 (Sat–Mon) → Tue 4/7. */
		{ 1775215800, 1, 1775577599, "2026-04-03 +1 → 04-07" },
		/* Fri 2026-02-13 → Sat 2/14 is worked; then 春节 to 2/23. */
		{ 1770976800, 1, 1771084799, "2026-02-13 +1 → Sat 02-14" },
		{ 1770976800, 2, 1771948799, "2026-02-13 +2 → 02-24" },
		/* Across the year: Wed 2025-12-31 → 元旦 1/1–3 → Sun 1/4. */
		{ 1767189600, 1, 1767542399, "2025-12-31 +1 → Sun 2026-01-04" },
		/* Fri 2025-09-26 evening → Sun 9/28 is worked. */
		{ 1758888000, 1, 1759075199, "2025-09-26 +1 → Sun 09-28" },
		/* The CST date counts, not the UTC one: 00:30 CST on Fri 10/9 is
		 * still Thu 10/8 in UTC; one second before midnight is 10/8. */
		{ 1791477000, 1, 1791647999, "2026-10-09 00:30 +1 → 10-10" },
		{ 1791475199, 1, 1791561599, "2026-10-08 23:59:59 +1 → 10-09" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		d = 0;
		assert_int_equal(oc_calendar_deadline(cal, (time_t)v[i].submitted,
		    v[i].n, &d), 0);
		if ((long long)d != v[i].want)
			fail_msg("%s: got %lld, want %lld", v[i].what,
			    (long long)d, v[i].want);
	}
	assert_int_equal(oc_calendar_deadline(cal, 1790769600, 0, &d), OC_EINVAL);
	assert_int_equal(oc_calendar_deadline(cal, 1790769600, -1, &d), OC_EINVAL);
	oc_calendar_free(cal);
}

static void
tz_does_not_matter(void **state)
{
	struct oc_calendar *cal = load_real();
	time_t d = 0;

	(void)state;
	setenv("TZ", "America/New_York", 1);
	tzset();
	assert_int_equal(oc_calendar_deadline(cal, 1791477000, 1, &d), 0);
	assert_int_equal((long long)d, 1791647999LL);
	setenv("TZ", "UTC+12", 1);
	tzset();
	assert_int_equal(oc_calendar_deadline(cal, 1790769600, 1, &d), 0);
	assert_int_equal((long long)d, 1791475199LL);
	unsetenv("TZ");
	tzset();
	oc_calendar_free(cal);
}

/* A bad file: rc, message naming the line, and the calendar unchanged. */
static void
expect_bad(struct oc_calendar *cal, const char *text, const char *want)
{
	struct oc_err err;

	write_file("bad.txt", text);
	oc_err_clear(&err);
	assert_int_equal(oc_calendar_load_file(cal, tmp_path("bad.txt"), &err),
	    OC_EINVAL);
	if (strstr(err.msg, want) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, want);
	/* Still exactly the real data. */
	assert_true(oc_calendar_year_known(cal, 2026));
	assert_false(oc_calendar_year_known(cal, 2030));
	assert_false(oc_calendar_is_workday(cal, 2026, 2, 16));
	assert_true(oc_calendar_is_workday(cal, 2026, 2, 14));
	assert_string_equal(oc_calendar_holiday_name(cal, 2026, 10, 1), "国庆节");
	assert_true(oc_calendar_is_workday(cal, 2026, 12, 25));
	assert_true(oc_calendar_is_workday(cal, 2026, 3, 2));
}

static void
malformed_files(void **state)
{
	struct oc_calendar *cal = load_real();

	(void)state;
	/* Bad month on line 4; the good lines before it must not stick. */
	expect_bad(cal, "year 2026\n# comment\nholiday 2026-12-25 圣诞\n"
	    "holiday 2026-13-01 坏\n", "line 4");
	/* Replacing 2026 with a bad file keeps the old 2026. */
	expect_bad(cal, "year 2026\nholiday 2026-03-02 测试\nworkday 2026-3-7\n",
	    "第3行");
	expect_bad(cal, "year 2030\nholiday 2030-01-01..2030-01-03 元旦\n"
	    "workday 2030-01-02 错\n", "line 3: 调休上班日必须是周六或周日");
	expect_bad(cal, "holiday 2030-01-01 元旦\n", "line 1");
	expect_bad(cal, "# nothing\n", "no “year” line");
	expect_bad(cal, "year 2030\nyear 2030\n", "line 2");
	expect_bad(cal, "year 2030\nfestival 2030-01-01 x\n", "unknown keyword");
	expect_bad(cal, "year 2030\nholiday 2030-01-05..2030-01-01 x\n",
	    "range ends before it starts");
	expect_bad(cal, "year 2030\nholiday 2030-01-01\n", "needs a name");
	expect_bad(cal, "year 2030\nholiday 2030-01-01x 元旦\n", "junk");
	expect_bad(cal, "year 2030\nholiday 2032-01-01 元旦\n",
	    "outside the declared year");
	expect_bad(cal, "year 2030\nholiday 2030-01-01..2030-03-01 长假\n",
	    "longer than 31 days");
	expect_bad(cal, "year 2030\nholiday 2030-01-01 元旦\n"
	    "holiday 2029-12-31..2030-01-01 元旦\n",
	    "line 3: date 2030-01-01 already given on line 2");
	expect_bad(cal, "year abc\n", "line 1");
	/* 2027 may reach into 2026, but not contradict it: 2026-02-15 is a
	 * Sunday and a 2026 holiday. */
	expect_bad(cal, "year 2027\nworkday 2026-02-15 冲突\n",
	    "disagree about 2026-02-15");
	oc_calendar_free(cal);
}

static void
reload_replaces_year(void **state)
{
	struct oc_calendar *cal = load_real();
	struct oc_err err;

	(void)state;
	write_file("r2026.txt", "\xEF\xBB\xBFyear 2026\r\n"
	    "holiday 2026-03-02 测试   # trailing comment\r\n");
	assert_int_equal(oc_calendar_load_file(cal, tmp_path("r2026.txt"), &err), 0);
	assert_false(oc_calendar_is_workday(cal, 2026, 3, 2));
	assert_string_equal(oc_calendar_holiday_name(cal, 2026, 3, 2), "测试");
	/* The old 2026 rules are gone, 2025's stay. */
	assert_true(oc_calendar_is_workday(cal, 2026, 2, 16));
	assert_false(oc_calendar_is_workday(cal, 2026, 2, 14));
	assert_false(oc_calendar_is_workday(cal, 2025, 1, 28));
	/* A file that names nothing still makes its year known. */
	write_file("r2030.txt", "year 2030\n");
	assert_int_equal(oc_calendar_load_file(cal, tmp_path("r2030.txt"), &err), 0);
	assert_true(oc_calendar_year_known(cal, 2030));
	assert_int_equal(oc_calendar_load_file(cal, tmp_path("missing.txt"), &err),
	    OC_ENOTFOUND);
	oc_calendar_free(cal);
}

static void
load_dir_all_or_nothing(void **state)
{
	struct oc_calendar *cal = oc_calendar_new();
	struct oc_err err;
	char sub[4200], path[4300];
	FILE *f;

	(void)state;
	snprintf(sub, sizeof(sub), "%s/dir", tmpdir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(path, sizeof(path), "%s/2031.txt", sub);
	assert_non_null(f = fopen(path, "w"));
	fputs("year 2031\nholiday 2031-01-01 元旦\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/2032.txt", sub);
	assert_non_null(f = fopen(path, "w"));
	fputs("year 2032\nholiday 2032-02-30 坏\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/notes.md", sub);   /* not *.txt */
	assert_non_null(f = fopen(path, "w"));
	fputs("garbage\n", f);
	fclose(f);

	assert_int_equal(oc_calendar_load_dir(cal, sub, &err), OC_EINVAL);
	assert_non_null(strstr(err.msg, "2032.txt"));
	assert_false(oc_calendar_year_known(cal, 2031));
	assert_true(oc_calendar_is_workday(cal, 2031, 1, 1));
	snprintf(path, sizeof(path), "%s/2032.txt", sub);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(oc_calendar_load_dir(cal, sub, &err), 0);
	assert_true(oc_calendar_year_known(cal, 2031));
	assert_false(oc_calendar_is_workday(cal, 2031, 1, 1));
	assert_int_equal(oc_calendar_load_dir(cal, "/nonexistent/onecert",
	    &err), OC_ENOTFOUND);
	oc_calendar_free(cal);
}

static int
setup(void **state)
{
	const char *src = getenv("ONECERT_SOURCE_DIR");
	const char *tmp = getenv("ONECERT_TEST_TMP");
	char base[4096];

	(void)state;
	if (src == NULL || *src == '\0')
		src = ONECERT_SOURCE_DIR;
	snprintf(datadir, sizeof(datadir), "%s/data/calendar", src);
	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	(void)mkdir(tmp, 0700);
	snprintf(base, sizeof(base), "%s/calendar.XXXXXX", tmp);
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
		cmocka_unit_test(known_years),
		cmocka_unit_test(holidays),
		cmocka_unit_test(weekend_workdays),
		cmocka_unit_test(unknown_year),
		cmocka_unit_test(deadlines),
		cmocka_unit_test(tz_does_not_matter),
		cmocka_unit_test(malformed_files),
		cmocka_unit_test(reload_replaces_year),
		cmocka_unit_test(load_dir_all_or_nothing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
