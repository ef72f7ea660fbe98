/*
 * calendar.h — the working-day calendar (工作日历).
 *
 * Saturdays and Sundays are rest days and Monday–Friday working days,
 * except where a year's data file says otherwise: `holiday` dates are rest
 * days, `workday` dates (调休) are working days even on a weekend.  Years
 * with a data file are "known"; for an unknown year the plain weekday rule
 * applies and oc_calendar_year_known() says false so callers can warn.
 *
 * Data files (data/calendar/YYYY.txt), one rule per line, '#' comments:
 *   year 2026
 *   holiday 2026-02-15..2026-02-23 春节
 *   workday 2026-02-14 春节调休
 * All dates and deadlines are in China Standard Time (UTC+8, no DST).
 */
#ifndef ONECERT_CALENDAR_H
#define ONECERT_CALENDAR_H

#include <stdbool.h>
#include <time.h>
#include "onecert/error.h"

struct oc_calendar;

/* Caller owns the result. */
struct oc_calendar *oc_calendar_new(void);
void oc_calendar_free(struct oc_calendar *cal);
/* Load one data file; a malformed line fails the whole file with a message
 * naming the line, and leaves cal unchanged. */
int oc_calendar_load_file(struct oc_calendar *cal, const char *path, struct oc_err *err);
/* Load every *.txt in dir. */
int oc_calendar_load_dir(struct oc_calendar *cal, const char *dir, struct oc_err *err);

bool oc_calendar_year_known(const struct oc_calendar *cal, int year);
/* y-m-d is a civil date (m 1–12, d 1–31). */
bool oc_calendar_is_workday(const struct oc_calendar *cal, int y, int m, int d);
/* The name of the holiday on that date ("春节"), or NULL. Borrowed. */
const char *oc_calendar_holiday_name(const struct oc_calendar *cal, int y, int m, int d);

/* The deadline for something submitted at `submitted` that must be handled
 * within n working days: the end (23:59:59 CST) of the n-th working day
 * strictly after the submission's CST date.  n >= 1. */
int oc_calendar_deadline(const struct oc_calendar *cal, time_t submitted, int n,
	time_t *deadline);

#endif
