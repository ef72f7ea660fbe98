/*
 * fuzz_calendar.c — working-day calendar data files (data/calendar/
 * YYYY.txt) through oc_calendar_load_file, from a scratch file.
 *
 * On every input: load into an empty calendar.  A refusal carries a
 * message and leaves the calendar as it was (empty: no year known).  On
 * what loads: exactly one year is known; every day of it and of its
 * neighbours answers is_workday / holiday_name (a holiday has a name, a
 * named day is no workday); deadlines from the first of that year are
 * found and strictly later for larger n.  Then the real 2025 and 2026
 * files from the source tree are loaded on top (merging, replacing a
 * year, or refusing a clash at the border of two years), and the same
 * input is loaded a second time (replacing its own year must work).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "onecert/calendar.h"
#include "fuzz.h"

#ifndef ONECERT_SOURCE_DIR
#define ONECERT_SOURCE_DIR "."
#endif

static int
known_year(const struct oc_calendar *cal, int *year)
{
	int n = 0;

	for (int y = 1890; y <= 9999; y++)
		if (oc_calendar_year_known(cal, y)) {
			*year = y;
			n++;
		}
	return n;
}

static void
check_days(const struct oc_calendar *cal, int year)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	for (int y = year - 1; y <= year + 1; y++)
		for (int m = 1; m <= 12; m++)
			for (int d = 1; d <= mdays[m - 1] + 1; d++) {
				bool work = oc_calendar_is_workday(cal, y, m, d);
				const char *name = oc_calendar_holiday_name(cal,
				    y, m, d);

				if (name != NULL) {
					FUZZ_CHECK(!work && name[0] != '\0');
					FUZZ_CHECK(strlen(name) < 64);
				}
			}
	/* Out-of-range dates are nobody's workday. */
	FUZZ_CHECK(!oc_calendar_is_workday(cal, year, 13, 1));
	FUZZ_CHECK(!oc_calendar_is_workday(cal, year, 2, 30));
}

static void
check_deadlines(const struct oc_calendar *cal, int year)
{
	struct tm tm;
	time_t t, prev, dl;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = 0;
	tm.tm_mday = 1;
	t = timegm(&tm);
	prev = t;
	for (int n = 1; n <= 40; n += 13) {
		FUZZ_CHECK(oc_calendar_deadline(cal, t, n, &dl) == 0);
		FUZZ_CHECK(dl > prev);
		prev = dl;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const real[] = {
		ONECERT_SOURCE_DIR "/data/calendar/2025.txt",
		ONECERT_SOURCE_DIR "/data/calendar/2026.txt",
	};
	struct oc_calendar *cal;
	struct oc_err err;
	const char *path = fuzz_tmpfile_put(0, data, size);
	int year = 0;

	if ((cal = oc_calendar_new()) == NULL)
		abort();
	oc_err_clear(&err);
	if (oc_calendar_load_file(cal, path, &err) != 0) {
		FUZZ_CHECK(err.code < 0 && err.msg[0] != '\0');
		FUZZ_CHECK(known_year(cal, &year) == 0);
		oc_calendar_free(cal);
		return 0;
	}
	FUZZ_CHECK(known_year(cal, &year) == 1);
	check_days(cal, year);
	check_deadlines(cal, year);
	for (size_t i = 0; i < sizeof(real) / sizeof(real[0]); i++) {
		oc_err_clear(&err);
		if (oc_calendar_load_file(cal, real[i], &err) != 0)
			FUZZ_CHECK(err.msg[0] != '\0' && err.code != OC_ENOTFOUND);
	}
	oc_err_clear(&err);
	if (oc_calendar_load_file(cal, path, &err) != 0)
		FUZZ_CHECK(err.msg[0] != '\0');
	oc_calendar_free(cal);
	return 0;
}
