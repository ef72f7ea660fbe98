/*
 * calendar.c — the working-day calendar (工作日历): weekends, the State
 * Council's holidays and the weekend workdays (调休) that pay for them.
 *
 * Dates are handled as a day count since 1970-01-01 (Howard Hinnant's
 * days_from_civil), and China Standard Time is a fixed UTC+8 with no
 * daylight saving, so no libc time-zone function is used: the result never
 * depends on TZ or on the host's zoneinfo.
 *
 * Each data file declares one year and lists its rules.  A file is parsed
 * completely into a scratch list first and merged only when every line is
 * good, so a bad file (or a bad file among a folder's) leaves the calendar
 * as it was.  Loading a year again replaces that year's rules.  The rules
 * live in one array sorted by day, searched with bsearch.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onecert/buf.h"
#include "onecert/calendar.h"

#define CAL_FILE_MAX     (256 * 1024)  /* bytes in one data file */
#define CAL_RULES_MAX    400           /* dated rules in one file */
#define CAL_RANGE_MAX    31            /* days in one holiday line */
#define CAL_NAME_MAX     64            /* bytes of a name, NUL included */
#define CAL_DIR_FILES    256           /* data files in one folder */
#define CAL_DEADLINE_MAX 10000         /* n for oc_calendar_deadline */
#define CST_OFFSET       (8 * 3600)
#define DAY              86400

enum { RULE_HOLIDAY = 'H', RULE_WORKDAY = 'W' };

struct rule {
	long day;                  /* days since 1970-01-01 */
	int year;                  /* the data file's year */
	int line;                  /* line in that file (for messages) */
	char kind;                 /* RULE_HOLIDAY / RULE_WORKDAY */
	char name[CAL_NAME_MAX];
};

struct oc_calendar {
	struct rule *rules;        /* sorted by day */
	size_t nrules;
	int *years;                /* years with a data file */
	size_t nyears;
};

/* One parsed file, not yet merged. */
struct parsed {
	int year;
	struct rule *rules;
	size_t n;
};

/* --- civil dates ------------------------------------------------------ */

static long
days_from_civil(long y, int m, int d)
{
	long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_days(long z, int *y, int *m, int *d)
{
	long era, doe, yoe, yy, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yy + (*m <= 2));
}

/* 0 = Sunday … 6 = Saturday. */
static int
weekday(long day)
{
	long w = (day + 4) % 7;        /* 1970-01-01 was a Thursday */

	return (int)(w < 0 ? w + 7 : w);
}

static bool
date_valid(int y, int m, int d)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap, max;

	if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1)
		return false;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	max = mdays[m - 1] + (m == 2 && leap);
	return d <= max;
}

/* Floor division of a time by a day, after shifting to CST. */
static long long
cst_day(time_t t)
{
	long long s = (long long)t + CST_OFFSET;

	return s >= 0 ? s / DAY : -((-s + DAY - 1) / DAY);
}

/* --- lookups ---------------------------------------------------------- */

static int
rule_cmp(const void *a, const void *b)
{
	const struct rule *x = a, *y = b;

	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	return x->line - y->line;
}

static int
day_cmp(const void *key, const void *elem)
{
	long k = *(const long *)key, d = ((const struct rule *)elem)->day;

	return k < d ? -1 : k > d;
}

static const struct rule *
find_rule(const struct oc_calendar *cal, long day)
{
	if (cal == NULL || cal->nrules == 0)
		return NULL;
	return bsearch(&day, cal->rules, cal->nrules, sizeof(*cal->rules), day_cmp);
}

static bool
is_workday_day(const struct oc_calendar *cal, long day)
{
	const struct rule *r = find_rule(cal, day);
	int w;

	if (r != NULL)
		return r->kind == RULE_WORKDAY;
	w = weekday(day);
	return w != 0 && w != 6;
}

struct oc_calendar *
oc_calendar_new(void)
{
	return calloc(1, sizeof(struct oc_calendar));
}

void
oc_calendar_free(struct oc_calendar *cal)
{
	if (cal == NULL)
		return;
	free(cal->rules);
	free(cal->years);
	free(cal);
}

bool
oc_calendar_year_known(const struct oc_calendar *cal, int year)
{
	if (cal == NULL)
		return false;
	for (size_t i = 0; i < cal->nyears; i++)
		if (cal->years[i] == year)
			return true;
	return false;
}

bool
oc_calendar_is_workday(const struct oc_calendar *cal, int y, int m, int d)
{
	if (!date_valid(y, m, d))
		return false;
	return is_workday_day(cal, days_from_civil(y, m, d));
}

const char *
oc_calendar_holiday_name(const struct oc_calendar *cal, int y, int m, int d)
{
	const struct rule *r;

	if (!date_valid(y, m, d))
		return NULL;
	r = find_rule(cal, days_from_civil(y, m, d));
	return r != NULL && r->kind == RULE_HOLIDAY ? r->name : NULL;
}

int
oc_calendar_deadline(const struct oc_calendar *cal, time_t submitted, int n,
    time_t *deadline)
{
	long long day;
	long limit;
	int found = 0;

	if (n < 1 || n > CAL_DEADLINE_MAX || deadline == NULL)
		return OC_EINVAL;
	day = cst_day(submitted);
	/* Years 1..9999 only: keeps every day count well inside long. */
	if (day < days_from_civil(1, 1, 1) || day > days_from_civil(9998, 12, 31))
		return OC_EINVAL;
	/* Weekends alone allow 5 workdays a week; the limit only stops a
	 * calendar whose data rests for ever. */
	limit = (long)n * 7 + 3660;
	for (long i = 1; i <= limit; i++) {
		if (is_workday_day(cal, (long)day + i) && ++found == n) {
			*deadline = (time_t)((day + i) * DAY + DAY - 1 - CST_OFFSET);
			return 0;
		}
	}
	return OC_EINTERNAL;
}

/* --- parsing ---------------------------------------------------------- */

static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

/* Parse exactly YYYY-MM-DD at *pp; advances *pp. */
static bool
parse_date(const char **pp, int *y, int *m, int *d)
{
	const char *p = *pp;
	int v[3] = { 0, 0, 0 };
	static const int width[3] = { 4, 2, 2 };

	for (int f = 0; f < 3; f++) {
		if (f > 0 && *p++ != '-')
			return false;
		for (int k = 0; k < width[f]; k++, p++) {
			if (*p < '0' || *p > '9')
				return false;
			v[f] = v[f] * 10 + (*p - '0');
		}
	}
	if (!date_valid(v[0], v[1], v[2]))
		return false;
	*y = v[0];
	*m = v[1];
	*d = v[2];
	*pp = p;
	return true;
}

static const char *
skip_space(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* The rest of a line as a name: trimmed, bounded, no control bytes. */
static bool
parse_name(const char *p, char out[CAL_NAME_MAX])
{
	size_t len;

	p = skip_space(p);
	len = strlen(p);
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	if (len >= CAL_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return false;
	memcpy(out, p, len);
	out[len] = '\0';
	return true;
}

static int
add_rule(struct parsed *pf, long day, int line, char kind, const char *name)
{
	struct rule *r;

	if (pf->n >= CAL_RULES_MAX)
		return OC_ETOOBIG;
	r = &pf->rules[pf->n++];
	r->day = day;
	r->year = pf->year;
	r->line = line;
	r->kind = kind;
	snprintf(r->name, sizeof(r->name), "%s", name);
	return 0;
}

/* One line, comment and trailing blanks already removed, not empty.
 * Returns NULL or a reason for the message. */
static const char *
parse_line(struct parsed *pf, char *s, int line)
{
	const char *p = s;
	char name[CAL_NAME_MAX];
	int y1, m1, d1, y2, m2, d2;
	long a, b;
	char kind;

	if (strncmp(p, "year", 4) == 0 && (p[4] == ' ' || p[4] == '\t')) {
		char *end;
		long y;

		if (pf->year != 0)
			return "“year” 只能出现一次 / “year” may appear only once";
		p = skip_space(p + 4);
		errno = 0;
		y = strtol(p, &end, 10);
		if (errno != 0 || end == p || *end != '\0' || y < 1900 || y > 9998)
			return "年份无效 / bad year";
		pf->year = (int)y;
		return NULL;
	}
	if (strncmp(p, "holiday", 7) == 0 && (p[7] == ' ' || p[7] == '\t')) {
		kind = RULE_HOLIDAY;
		p += 7;
	} else if (strncmp(p, "workday", 7) == 0 && (p[7] == ' ' || p[7] == '\t')) {
		kind = RULE_WORKDAY;
		p += 7;
	} else {
		return "未知的关键字（应为 year、holiday 或 workday） / unknown "
		    "keyword (expected year, holiday or workday)";
	}
	if (pf->year == 0)
		return "规则之前缺少 “year” 行 / “year” line missing before the "
		    "first rule";
	p = skip_space(p);
	if (!parse_date(&p, &y1, &m1, &d1))
		return "日期无效（应为 YYYY-MM-DD） / bad date (expected YYYY-MM-DD)";
	y2 = y1, m2 = m1, d2 = d1;
	if (kind == RULE_HOLIDAY && p[0] == '.' && p[1] == '.') {
		p += 2;
		if (!parse_date(&p, &y2, &m2, &d2))
			return "日期范围的结束日期无效 / bad end date of the range";
	}
	if (*p != '\0' && *p != ' ' && *p != '\t')
		return "日期后有多余字符 / junk after the date";
	if (!parse_name(p, name))
		return "名称过长或含控制字符 / name too long or has control "
		    "characters";
	if (kind == RULE_HOLIDAY && name[0] == '\0')
		return "假日缺少名称 / holiday needs a name";
	/* A holiday notice may reach into the neighbouring years (元旦). */
	if (y1 < pf->year - 1 || y1 > pf->year + 1 || y2 < pf->year - 1 ||
	    y2 > pf->year + 1)
		return "日期不在所声明年份及其相邻年份内 / date outside the "
		    "declared year and its neighbours";
	a = days_from_civil(y1, m1, d1);
	b = days_from_civil(y2, m2, d2);
	if (b < a)
		return "日期范围颠倒 / range ends before it starts";
	if (b - a + 1 > CAL_RANGE_MAX)
		return "假日范围超过31天 / holiday range longer than 31 days";
	if (kind == RULE_WORKDAY && weekday(a) != 0 && weekday(a) != 6)
		return "调休上班日必须是周六或周日 / a workday rule must fall on a "
		    "Saturday or Sunday";
	for (long day = a; day <= b; day++)
		if (add_rule(pf, day, line, kind, name) != 0)
			return "规则过多 / too many rules";
	return NULL;
}

/* Parse the file at path into *pf (pf->rules allocated here). */
static int
parse_file(const char *path, struct parsed *pf, struct oc_err *err)
{
	struct oc_buf b;
	char *s, *next, *c;
	const char *why = NULL;
	int line = 0, rc = OC_EINVAL;

	oc_buf_init(&b, CAL_FILE_MAX);
	memset(pf, 0, sizeof(*pf));
	errno = 0;
	if ((rc = oc_buf_read_file(&b, path)) != 0) {
		int e = errno;

		if (rc == OC_ETOOBIG) {
			oc_err_set(err, rc, "日历文件 %s 过大 / calendar file %s is "
			    "too large", base_name(path), base_name(path));
			oc_err_detail(err, "%s", path);
		} else {
			oc_err_set(err, rc, "无法读取日历文件 %s / cannot read "
			    "calendar file %s", base_name(path), base_name(path));
			oc_err_detail(err, "%s: %s", path, strerror(e));
		}
		goto out;
	}
	rc = OC_EINVAL;
	if ((pf->rules = calloc(CAL_RULES_MAX, sizeof(*pf->rules))) == NULL) {
		rc = oc_err_set(err, OC_ENOMEM, "内存不足 / out of memory");
		goto out;
	}
	if (b.len > 0 && memchr(b.p, '\0', b.len) != NULL) {
		why = "文件含 NUL 字节 / file contains a NUL byte";
		goto bad;
	}
	s = (char *)b.p;
	if (s != NULL && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
		s += 3;                /* a UTF-8 BOM from a Windows editor */
	for (; s != NULL && *s != '\0'; s = next) {
		size_t len;

		line++;
		if ((next = strchr(s, '\n')) != NULL)
			*next++ = '\0';
		if ((c = strchr(s, '#')) != NULL)
			*c = '\0';
		len = strlen(s);
		while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
		    s[len - 1] == '\r'))
			s[--len] = '\0';
		s = (char *)skip_space(s);
		if (*s == '\0')
			continue;
		if ((why = parse_line(pf, s, line)) != NULL)
			goto bad;
	}
	if (pf->year == 0) {
		rc = oc_err_set(err, OC_EINVAL, "日历文件 %s 缺少 “year” 行 / "
		    "calendar file %s has no “year” line", base_name(path),
		    base_name(path));
		oc_err_detail(err, "%s", path);
		goto out;
	}
	qsort(pf->rules, pf->n, sizeof(*pf->rules), rule_cmp);
	for (size_t i = 1; i < pf->n; i++)
		if (pf->rules[i].day == pf->rules[i - 1].day) {
			int y, m, d;

			civil_from_days(pf->rules[i].day, &y, &m, &d);
			rc = oc_err_set(err, OC_EINVAL,
			    "日历文件 %s 第%d行：日期 %04d-%02d-%02d 已在第%d行出现 / "
			    "calendar file %s line %d: date %04d-%02d-%02d already "
			    "given on line %d", base_name(path), pf->rules[i].line,
			    y, m, d, pf->rules[i - 1].line, base_name(path),
			    pf->rules[i].line, y, m, d, pf->rules[i - 1].line);
			oc_err_detail(err, "%s", path);
			goto out;
		}
	rc = 0;
	goto out;
bad:
	rc = oc_err_set(err, OC_EINVAL, "日历文件 %s 第%d行 / calendar file %s "
	    "line %d: %s", base_name(path), line, base_name(path), line, why);
	oc_err_detail(err, "%s", path);
out:
	oc_buf_cleanup(&b);
	if (rc != 0) {
		free(pf->rules);
		memset(pf, 0, sizeof(*pf));
	}
	return rc;
}

/* Merge parsed files into cal, replacing the years they declare; all or
 * nothing. */
static int
commit(struct oc_calendar *cal, struct parsed *pf, size_t npf,
    struct oc_err *err)
{
	struct rule *rules = NULL;
	int *years = NULL;
	size_t nrules = 0, nyears = 0, cap = cal->nrules, ycap = cal->nyears + npf;
	int rc = OC_ENOMEM;

	for (size_t i = 0; i < npf; i++) {
		cap += pf[i].n;
		for (size_t j = 0; j < i; j++)
			if (pf[j].year == pf[i].year) {
				rc = oc_err_set(err, OC_EINVAL, "两个日历文件都声明了"
				    "%d年 / two calendar files declare year %d",
				    pf[i].year, pf[i].year);
				goto out;
			}
	}
	if ((rules = calloc(cap + 1, sizeof(*rules))) == NULL ||
	    (years = calloc(ycap + 1, sizeof(*years))) == NULL) {
		rc = oc_err_set(err, OC_ENOMEM, "内存不足 / out of memory");
		goto out;
	}
	for (size_t i = 0; i < cal->nyears; i++) {
		bool replaced = false;

		for (size_t j = 0; j < npf; j++)
			replaced |= pf[j].year == cal->years[i];
		if (!replaced)
			years[nyears++] = cal->years[i];
	}
	for (size_t i = 0; i < cal->nrules; i++) {
		bool replaced = false;

		for (size_t j = 0; j < npf; j++)
			replaced |= pf[j].year == cal->rules[i].year;
		if (!replaced)
			rules[nrules++] = cal->rules[i];
	}
	for (size_t j = 0; j < npf; j++) {
		years[nyears++] = pf[j].year;
		memcpy(rules + nrules, pf[j].rules, pf[j].n * sizeof(*rules));
		nrules += pf[j].n;
	}
	qsort(rules, nrules, sizeof(*rules), rule_cmp);
	/* Two years may both name a day at their border only if they agree. */
	for (size_t i = 1; i < nrules; i++)
		if (rules[i].day == rules[i - 1].day &&
		    rules[i].kind != rules[i - 1].kind) {
			int y, m, d;

			civil_from_days(rules[i].day, &y, &m, &d);
			rc = oc_err_set(err, OC_EINVAL, "%d年与%d年的日历对 "
			    "%04d-%02d-%02d 的规定相互矛盾 / calendars for %d and "
			    "%d disagree about %04d-%02d-%02d", rules[i - 1].year,
			    rules[i].year, y, m, d, rules[i - 1].year,
			    rules[i].year, y, m, d);
			goto out;
		}
	free(cal->rules);
	free(cal->years);
	cal->rules = rules;
	cal->nrules = nrules;
	cal->years = years;
	cal->nyears = nyears;
	rules = NULL;
	years = NULL;
	rc = 0;
out:
	free(rules);
	free(years);
	return rc;
}

int
oc_calendar_load_file(struct oc_calendar *cal, const char *path,
    struct oc_err *err)
{
	struct parsed pf;
	int rc;

	if (cal == NULL || path == NULL)
		return oc_err_set(err, OC_EINVAL, "参数无效 / bad argument");
	if ((rc = parse_file(path, &pf, err)) != 0)
		return rc;
	rc = commit(cal, &pf, 1, err);
	free(pf.rules);
	return rc;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
oc_calendar_load_dir(struct oc_calendar *cal, const char *dir,
    struct oc_err *err)
{
	DIR *d = NULL;
	struct dirent *de;
	char *names[CAL_DIR_FILES];
	struct parsed pf[CAL_DIR_FILES];
	char path[4096];
	size_t nnames = 0, npf = 0;
	int rc = OC_EINVAL;

	if (cal == NULL || dir == NULL)
		return oc_err_set(err, OC_EINVAL, "参数无效 / bad argument");
	if ((d = opendir(dir)) == NULL) {
		rc = oc_err_set(err, errno == ENOENT ? OC_ENOTFOUND : OC_EIO,
		    "无法打开日历目录 / cannot open the calendar folder");
		oc_err_detail(err, "%s: %s", dir, strerror(errno));
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.' || len < 5 ||
		    strcmp(de->d_name + len - 4, ".txt") != 0)
			continue;
		if (nnames >= CAL_DIR_FILES) {
			rc = oc_err_set(err, OC_ETOOBIG, "日历目录中文件过多 / too "
			    "many files in the calendar folder");
			goto out;
		}
		if ((names[nnames] = strdup(de->d_name)) == NULL) {
			rc = oc_err_set(err, OC_ENOMEM, "内存不足 / out of memory");
			goto out;
		}
		nnames++;
	}
	qsort(names, nnames, sizeof(*names), str_cmp);
	for (size_t i = 0; i < nnames; i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >=
		    sizeof(path)) {
			rc = oc_err_set(err, OC_EINVAL, "路径过长 / path too long");
			goto out;
		}
		if ((rc = parse_file(path, &pf[npf], err)) != 0)
			goto out;
		npf++;
	}
	rc = commit(cal, pf, npf, err);
out:
	if (d != NULL)
		closedir(d);
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	for (size_t i = 0; i < npf; i++)
		free(pf[i].rules);
	return rc;
}
