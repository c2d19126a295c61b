/* SPDX-License-Identifier: MIT */
/*
 * Plain-language descriptions of schedules, for `clover cron explain` and the
 * console: "at 02:30, on the last Friday of every month, Asia/Shanghai".
 *
 * A description is built from phrases, one per part of the schedule: the time
 * of day, the days, the months, the years and the zone. Each field's set is
 * first classified as all, one value, a step ("every 15 minutes"), a range or
 * a list, and the phrase follows from the class.
 */
#include "cron/cron-impl.h"

#include "base/duration.h"
#include "base/time.h"
#include "clover.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const month_long[] = {"",     "January", "February", "March",
					 "April", "May",    "June",     "July",
					 "August", "September", "October", "November",
					 "December"};
static const char *const day_long[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
				       "Thursday", "Friday", "Saturday"};
static const char *const ordinal[] = {"", "first", "second", "third", "fourth", "fifth"};

/* An appender that remembers whether anything was cut. */
struct out {
	char *p;
	size_t n, len;
	bool cut;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (o->cut)
		return;
	va_start(ap, fmt);
	w = vsnprintf(o->p + o->len, o->n - o->len, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= o->n - o->len) {
		o->cut = true;
		o->len = o->n - 1;
		return;
	}
	o->len += (size_t)w;
}

enum set_class { SET_ALL, SET_ONE, SET_STEP, SET_RANGE, SET_LIST };

struct set_info {
	enum set_class cls;
	int first, last, step, count;
	bool arith; /* evenly spaced (step apart) */
};

/* A bitset over bits lo..hi, as a word array (years need more than 64 bits). */
static bool has(const uint64_t *w, int i)
{
	return (w[i >> 6] >> (i & 63)) & 1;
}

static void classify(const uint64_t *w, int lo, int hi, struct set_info *si)
{
	int prev = -1, step = 0;
	bool arith = true;

	si->count = 0;
	si->first = si->last = -1;
	for (int i = lo; i <= hi; i++) {
		if (!has(w, i))
			continue;
		if (si->count == 0)
			si->first = i;
		else if (step == 0)
			step = i - prev;
		else if (i - prev != step)
			arith = false;
		prev = i;
		si->last = i;
		si->count++;
	}
	si->step = step;
	si->arith = arith && si->count > 1;
	if (si->count == hi - lo + 1)
		si->cls = SET_ALL;
	else if (si->count == 1)
		si->cls = SET_ONE;
	else if (arith && step == 1)
		si->cls = SET_RANGE;
	else if (arith && si->first - lo < step && si->last + step > hi)
		si->cls = SET_STEP;
	else
		si->cls = SET_LIST;
}

/* Writes a set as "1, 5 and 7", with runs of three or more as "10 through 20". */
static void put_list(struct out *o, const uint64_t *w, int lo, int hi,
		     void (*item)(struct out *, int))
{
	int parts[256][2], np = 0;

	for (int i = lo; i <= hi && np < 256; i++) {
		int j = i;

		if (!has(w, i))
			continue;
		while (j + 1 <= hi && has(w, j + 1))
			j++;
		if (j - i >= 2) {
			parts[np][0] = i, parts[np][1] = j, np++;
		} else {
			for (int k = i; k <= j && np < 256; k++)
				parts[np][0] = parts[np][1] = k, np++;
		}
		i = j;
	}
	for (int r = 0; r < np; r++) {
		if (r > 0)
			put(o, r == np - 1 ? " and " : ", ");
		item(o, parts[r][0]);
		if (parts[r][1] != parts[r][0]) {
			put(o, " through ");
			item(o, parts[r][1]);
		}
	}
}

static void item_num(struct out *o, int v)
{
	put(o, "%d", v);
}

static void item_hour(struct out *o, int v)
{
	put(o, "%02d", v);
}

static void item_month(struct out *o, int v)
{
	put(o, "%s", month_long[v]);
}

static void item_day(struct out *o, int v)
{
	put(o, "%s", day_long[v]);
}

static void item_year(struct out *o, int v)
{
	put(o, "%d", v + CRON_YEAR_MIN);
}

/* "every 15 minutes", "at minute 5", "at minutes 0, 15 and 45"... */
static void put_unit(struct out *o, const uint64_t *w, int hi, const char *unit)
{
	struct set_info si;

	classify(w, 0, hi, &si);
	switch (si.cls) {
	case SET_ALL:
		put(o, "every %s", unit);
		break;
	case SET_ONE:
		put(o, "at %s %d", unit, si.first);
		break;
	case SET_STEP:
		put(o, "every %d %ss", si.step, unit);
		if (si.first != 0)
			put(o, " from %s %d", unit, si.first);
		break;
	default:
		put(o, "at %ss ", unit);
		put_list(o, w, 0, hi, item_num);
	}
}

static void put_time(struct out *o, const struct cron_expr *c)
{
	uint64_t hw[1] = {c->hour}, mw[1] = {c->min}, sw[1] = {c->sec};
	struct set_info h, m, s;

	classify(hw, 0, 23, &h);
	classify(mw, 0, 59, &m);
	classify(sw, 0, 59, &s);
	if (s.cls == SET_ONE && m.cls == SET_ONE && h.count <= 6) {
		int i = 0;

		put(o, "at ");
		for (int hr = 0; hr < 24; hr++) {
			if (!(c->hour & (1u << hr)))
				continue;
			if (i > 0)
				put(o, i == h.count - 1 ? " and " : ", ");
			put(o, "%02d:%02d", hr, m.first);
			if (s.first != 0)
				put(o, ":%02d", s.first);
			i++;
		}
		return;
	}
	/* Seconds, then minutes, then hours, each only when it says something. */
	if (!(s.cls == SET_ONE && s.first == 0)) {
		put_unit(o, sw, 59, "second");
		if (m.cls == SET_ALL && h.cls == SET_ALL)
			return;
		put(o, m.cls == SET_ALL ? " " : ", ");
	}
	if (m.cls == SET_ALL) {
		if (s.cls == SET_ONE && s.first == 0)
			put(o, "every minute");
		else
			put(o, "of every minute");
	} else {
		put_unit(o, mw, 59, "minute");
	}
	switch (h.cls) {
	case SET_ALL:
		if (m.cls == SET_ONE || m.cls == SET_LIST)
			put(o, " of every hour");
		break;
	case SET_ONE:
		put(o, ", during the %02d:00 hour", h.first);
		break;
	case SET_RANGE:
		put(o, ", from %02d:00 through %02d:59", h.first, h.last);
		break;
	case SET_STEP:
		put(o, ", every %d hours", h.step);
		if (h.first != 0)
			put(o, " from %02d:00", h.first);
		break;
	default:
		put(o, ", during hours ");
		put_list(o, hw, 0, 23, item_hour);
	}
}

/* The day-of-month part; returns false when there is none. */
static bool put_dom(struct out *o, const struct cron_expr *c)
{
	const char *sep = "";
	uint64_t dw[1] = {c->dom};

	if (c->dom) {
		struct set_info si;

		classify(dw, 1, 31, &si);
		put(o, si.count == 1 ? "on day " : "on days ");
		put_list(o, dw, 1, 31, item_num);
		sep = " and ";
	}
	for (int n = 0; n <= 30; n++) {
		if (c->dom_last & (1u << n)) {
			if (n == 0)
				put(o, "%son the last day", sep);
			else
				put(o, "%s%d day%s before the last day", sep, n, n == 1 ? "" : "s");
			sep = " and ";
		}
		if (c->dom_lw & (1u << n)) {
			if (n == 0)
				put(o, "%son the last weekday", sep);
			else
				put(o, "%son the weekday nearest %d day%s before the last day", sep, n,
				    n == 1 ? "" : "s");
			sep = " and ";
		}
	}
	for (int d = 1; d <= 31; d++) {
		if (c->dom_w & (1u << d)) {
			put(o, "%son the weekday nearest day %d", sep, d);
			sep = " and ";
		}
	}
	return sep[0] != '\0';
}

/* The day-of-week part; sets *relative when it speaks of a month's days. */
static void put_dow(struct out *o, const struct cron_expr *c, bool *relative)
{
	const char *sep = "";

	if (c->dow) {
		uint64_t w[1] = {c->dow};
		struct set_info si;

		classify(w, 0, 6, &si);
		if (si.cls == SET_ALL) {
			put(o, "every day");
		} else {
			put(o, "on ");
			put_list(o, w, 0, 6, item_day);
		}
		sep = " and ";
	}
	for (int d = 0; d < 7; d++) {
		if (c->dow_last & (1u << d)) {
			put(o, "%son the last %s", sep, day_long[d]);
			sep = " and ";
			*relative = true;
		}
		for (int k = 1; k <= 5; k++) {
			if (c->dow_nth[d] & (1u << k)) {
				put(o, "%son the %s %s", sep, ordinal[k], day_long[d]);
				sep = " and ";
				*relative = true;
			}
		}
	}
}

static void put_months(struct out *o, const struct cron_expr *c, bool relative)
{
	uint64_t w[1] = {c->mon};
	struct set_info si;

	classify(w, 1, 12, &si);
	if (si.cls == SET_ALL) {
		if (relative)
			put(o, " of every month");
		return;
	}
	put(o, relative ? " of " : ", in ");
	put_list(o, w, 1, 12, item_month);
}

static void put_years(struct out *o, const struct cron_expr *c)
{
	struct set_info si;

	if (c->all_years)
		return;
	classify(c->year, 0, CRON_YEARS - 1, &si);
	if (si.cls == SET_ALL)
		return;
	if (si.arith && si.step > 1 && si.count > 3) {
		put(o, ", every %d years from %d", si.step, si.first + CRON_YEAR_MIN);
		if (si.last != CRON_YEARS - 1 && si.last + si.step <= CRON_YEARS - 1)
			put(o, " through %d", si.last + CRON_YEAR_MIN);
		return;
	}
	put(o, ", in ");
	put_list(o, c->year, 0, CRON_YEARS - 1, item_year);
}

static void put_cron(struct out *o, const struct cron_expr *c)
{
	bool relative = false;

	put_time(o, c);
	put(o, ", ");
	switch (c->day_mode) {
	case CRON_DAY_ALL:
		put(o, "every day");
		break;
	case CRON_DAY_DOM:
		put_dom(o, c);
		relative = true;
		break;
	case CRON_DAY_DOW:
		put_dow(o, c, &relative);
		break;
	default:
		/* Unix, both day fields restricted: either matches. */
		put_dom(o, c);
		put(o, " of the month or ");
		put_dow(o, c, &relative);
		if (relative)
			put(o, " of the month");
		relative = false;
	}
	put_months(o, c, relative);
	put_years(o, c);
	if (c->never)
		put(o, " (a date that never occurs, so never)");
}

int cron_describe(const struct cron_expr *c, const struct tz *z, char *out, size_t n)
{
	struct out o = {out, n, 0, false};
	char buf[64];

	if (n == 0)
		return CLOVER_ETOOBIG;
	out[0] = '\0';
	switch (c->kind) {
	case CRON_KIND_EVERY:
		put(&o, "every %s (real time, counted from 1970-01-01T00:00:00Z)",
		    duration_format(c->every_ms, buf, sizeof(buf)));
		return o.cut ? CLOVER_ETOOBIG : 0;
	case CRON_KIND_AT:
		put(&o, "once, at %s", time_format_rfc3339(c->at_ms, buf, sizeof(buf), false));
		return o.cut ? CLOVER_ETOOBIG : 0;
	case CRON_KIND_MANUAL:
		put(&o, "never by itself (manual trigger only)");
		return o.cut ? CLOVER_ETOOBIG : 0;
	default:
		put_cron(&o, c);
		if (z != NULL)
			put(&o, ", %s", tz_name(z));
		return o.cut ? CLOVER_ETOOBIG : 0;
	}
}
