/* SPDX-License-Identifier: MIT */
/*
 * Clocks, civil dates and RFC 3339; see time.h. The civil-date algorithms are
 * Howard Hinnant's days_from_civil / civil_from_days, exact for every year.
 */
#include "base/time.h"
#include "clover.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int64_t ts_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t time_wall_ms(void)
{
	return ts_ms(CLOCK_REALTIME);
}

int64_t time_mono_ms(void)
{
	return ts_ms(CLOCK_MONOTONIC);
}

int64_t time_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

int64_t time_days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = floordiv(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void time_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = floordiv(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

bool time_is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int time_days_in_month(int64_t y, int m)
{
	static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && time_is_leap(y) ? 29 : dim[m - 1];
}

int time_weekday(int64_t days)
{
	/* 1970-01-01 was a Thursday (4). */
	int64_t w = (days + 4) % 7;

	return (int)(w < 0 ? w + 7 : w);
}

void time_to_civil(int64_t ms, struct civil *c)
{
	int64_t days = floordiv(ms, MS_PER_DAY);
	int64_t rem = ms - days * MS_PER_DAY;

	time_civil_from_days(days, &c->year, &c->month, &c->day);
	c->hour = (int)(rem / MS_PER_HOUR);
	c->min = (int)(rem / MS_PER_MIN % 60);
	c->sec = (int)(rem / MS_PER_SEC % 60);
	c->ms = (int)(rem % 1000);
}

int64_t time_from_civil(const struct civil *c)
{
	return time_days_from_civil(c->year, c->month, c->day) * MS_PER_DAY +
	       c->hour * MS_PER_HOUR + c->min * MS_PER_MIN + c->sec * MS_PER_SEC + c->ms;
}

char *time_format_rfc3339(int64_t ms, char *out, size_t n, bool millis)
{
	struct civil c;

	time_to_civil(ms, &c);
	if (millis)
		snprintf(out, n, "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ", (long long)c.year,
			 c.month, c.day, c.hour, c.min, c.sec, c.ms);
	else
		snprintf(out, n, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)c.year, c.month,
			 c.day, c.hour, c.min, c.sec);
	return out;
}

/* Reads exactly `n` digits. */
static int digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int time_parse_rfc3339(const char *s, int64_t *ms)
{
	struct civil c = {0};
	int y, oh = 0, om = 0, sign = 0;
	const char *p = s;

	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &c.month) || *p++ != '-' ||
	    digits(&p, 2, &c.day))
		return CLOVER_EPARSE;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return CLOVER_EPARSE;
	p++;
	if (digits(&p, 2, &c.hour) || *p++ != ':' || digits(&p, 2, &c.min) || *p++ != ':' ||
	    digits(&p, 2, &c.sec))
		return CLOVER_EPARSE;
	if (*p == '.') {
		int scale = 100, nd = 0;

		p++;
		while (isdigit((unsigned char)*p)) {
			c.ms += (*p - '0') * scale;
			scale /= 10;
			p++;
			nd++;
		}
		if (nd == 0)
			return CLOVER_EPARSE;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '+' ? 1 : -1;
		p++;
		if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 23 || om > 59)
			return CLOVER_EPARSE;
	} else {
		return CLOVER_EPARSE;
	}
	if (*p != '\0')
		return CLOVER_EPARSE;
	c.year = y;
	/* RFC 3339 allows second 60 (leap second); POSIX time folds it into :59. */
	if (c.month < 1 || c.month > 12 || c.day < 1 || c.day > time_days_in_month(y, c.month) ||
	    c.hour > 23 || c.min > 59 || c.sec > 60)
		return CLOVER_EPARSE;
	if (c.sec == 60)
		c.sec = 59;
	*ms = time_from_civil(&c) - sign * (oh * MS_PER_HOUR + om * MS_PER_MIN);
	return 0;
}
