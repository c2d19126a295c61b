/* SPDX-License-Identifier: MIT */
/*
 * Schedule parsing and the next/previous fire search; see cron.h.
 *
 * The search works in two spaces. *Wall seconds* count seconds on a zone's
 * clock as if it were UTC (1970-01-01T00:00:00 local = 0); next_wall() finds
 * the first wall second matching every field, field by field with "next set
 * bit" operations on the bitsets (year, month, day, hour, minute, second), so
 * it costs a handful of steps whatever the distance. *Instants* are real UTC
 * seconds. A zone is a list of periods of constant offset (tz-impl.h); within
 * one period, wall = instant + offset is monotonic, so cron_next() walks the
 * periods from the one holding `after` and asks next_wall() for the first
 * match inside each, with two twists at period starts:
 *   - gap (offset grew by g): wall times in [start + old, start + new) do not
 *     exist; those that match fire at wall - old offset, i.e. shifted forward
 *     by g, which lands inside the new period;
 *   - overlap (offset shrank): wall times in [start + new, start + old)
 *     already happened in the previous period; when the hour is fixed they are
 *     skipped (first occurrence only), otherwise they fire again.
 * An instant can be produced twice (02:30 shifted to 03:30, and 03:30 itself);
 * the schedule fires once at it.
 */
#include "cron/cron-impl.h"
#include "cron/tz-impl.h"

#include "base/duration.h"
#include "base/time.h"
#include "clover.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Wall seconds of 2199-12-31T23:59:59, the last second cron fires may use. */
#define WALL_MAX 7258118399LL
#define WALL_NONE_HI INT64_MAX
#define WALL_NONE_LO INT64_MIN
/* Offsets stay within this, so no fire is more than this from its wall time. */
#define OFF_SPAN (26 * 3600LL)

enum { F_SEC, F_MIN, F_HOUR, F_DOM, F_MON, F_DOW, F_YEAR };

struct field_def {
	const char *name;    /* in messages */
	int min, max;        /* accepted values */
	int star_max;        /* the top of '*' and of 'a/n' */
	int base;            /* value of bit 0 in the parse bitset */
	int names;           /* 0: numbers only; 1: JAN-DEC; 2: SUN-SAT */
	int name_base;       /* value of the first name */
	const char *allowed; /* in "is not valid" messages */
};

static const struct field_def quartz_fields[7] = {
	{"second", 0, 59, 59, 0, 0, 0, "0-59, a-b, */n, a/n, lists"},
	{"minute", 0, 59, 59, 0, 0, 0, "0-59, a-b, */n, a/n, lists"},
	{"hour", 0, 23, 23, 0, 0, 0, "0-23, a-b, */n, a/n, lists"},
	{"day-of-month", 1, 31, 31, 0, 0, 0, "1-31, ?, L, L-n, nW, LW, L-nW, a-b, */n, lists"},
	{"month", 1, 12, 12, 0, 1, 1, "1-12 or JAN-DEC, a-b, */n, lists"},
	{"day-of-week", 1, 7, 7, 0, 2, 1, "1-7 or SUN-SAT, ?, L, nL, n#k, a-b, */n, lists"},
	{"year", CRON_YEAR_MIN, CRON_YEAR_MAX, CRON_YEAR_MAX, CRON_YEAR_MIN, 0, 0,
	 "1970-2199, a-b, */n, a/n, lists"},
};

static const struct field_def unix_fields[5] = {
	{"minute", 0, 59, 59, 0, 0, 0, "0-59, a-b, */n, a/n, lists"},
	{"hour", 0, 23, 23, 0, 0, 0, "0-23, a-b, */n, a/n, lists"},
	{"day-of-month", 1, 31, 31, 0, 0, 0, "1-31, L, L-n, nW, LW, L-nW, a-b, */n, lists"},
	{"month", 1, 12, 12, 0, 1, 1, "1-12 or JAN-DEC, a-b, */n, lists"},
	{"day-of-week", 0, 7, 6, 0, 2, 0, "0-7 or SUN-SAT (0 and 7 are Sunday), nL, n#k, a-b, */n, lists"},
};

static const char *const month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
					   "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
static const char *const day_names[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

struct pctx {
	struct cron_expr *c;
	struct error_info *e;
	int dialect;
	int fid;                   /* F_* of the field being parsed */
	const struct field_def *f; /* its definition */
	const char *elem;          /* the list element being parsed (upper case) */
	const char *text;          /* the fields, upper-cased and split */
	const char *orig;          /* the same bytes as written */
};

static int64_t floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/* ---- parsing ------------------------------------------------------------- */

/* The text at p (upper-cased for parsing) as the user wrote it. */
static const char *as_written(const struct pctx *pc, const char *p)
{
	return pc->orig + (p - pc->text);
}

static int invalid(struct pctx *pc)
{
	return error_set(pc->e, CLOVER_EPARSE, "schedule",
			 "%s: '%.*s' is not valid (allowed: %s)", pc->f->name, (int)strlen(pc->elem),
			 as_written(pc, pc->elem), pc->f->allowed);
}

static int out_of_range(struct pctx *pc, const char *what, const char *tok, int len, int lo,
			int hi)
{
	return error_set(pc->e, CLOVER_ERANGE, "schedule", "%s: %s'%.*s' is out of range %d-%d",
			 pc->f->name, what, len, tok, lo, hi);
}

/* Reads a decimal number (saturating) at *pp. */
static int read_digits(const char **pp, long *v)
{
	const char *p = *pp;
	long x = 0;

	if (!isdigit((unsigned char)*p))
		return -1;
	while (isdigit((unsigned char)*p)) {
		if (x < 1000000000L)
			x = x * 10 + (*p - '0');
		p++;
	}
	*pp = p;
	*v = x;
	return 0;
}

/* Reads a field value: a number in range or a three-letter name. */
static int read_value(struct pctx *pc, const char **pp, int *v)
{
	const struct field_def *f = pc->f;
	const char *p = *pp, *s = p;
	long x;

	if (read_digits(&p, &x) == 0) {
		if (x < f->min || x > f->max)
			return out_of_range(pc, "", s, (int)(p - s), f->min, f->max);
		*v = (int)x;
		*pp = p;
		return 0;
	}
	if (f->names && isalpha((unsigned char)p[0]) && isalpha((unsigned char)p[1]) &&
	    isalpha((unsigned char)p[2])) {
		const char *const *tab = f->names == 1 ? month_names : day_names;
		int count = f->names == 1 ? 12 : 7;

		for (int i = 0; i < count; i++) {
			if (strncmp(p, tab[i], 3) == 0) {
				*v = i + f->name_base;
				*pp = p + 3;
				return 0;
			}
		}
	}
	return invalid(pc);
}

/* Maps a day-of-week value of the dialect to 0-6 (0 = Sunday). */
static int dow_index(const struct pctx *pc, int v)
{
	return pc->dialect == CRON_DIALECT_QUARTZ ? v - 1 : v % 7;
}

static void set_bit(uint64_t bits[4], int i)
{
	bits[i >> 6] |= 1ULL << (i & 63);
}

/* Adds lo..hi (wrapping past the top when lo > hi) in steps of `step`. */
static int add_range(struct pctx *pc, int lo, int hi, int step, uint64_t bits[4])
{
	const struct field_def *f = pc->f;
	int span = f->star_max - f->min + 1, count;

	if (pc->fid == F_DOW && pc->dialect == CRON_DIALECT_UNIX && lo == 7 && hi < 7)
		lo = 0; /* 7 is Sunday too: SUN-MON written 7-1 */
	if (lo <= hi) {
		for (int v = lo; v <= hi; v += step)
			set_bit(bits, v - f->base);
		return 0;
	}
	if (pc->fid == F_YEAR)
		return error_set(pc->e, CLOVER_EPARSE, "schedule",
				 "year: '%s' is a backwards range (years do not wrap)", pc->elem);
	count = (f->star_max - lo + 1) + (hi - f->min + 1);
	for (int i = 0; i < count; i += step)
		set_bit(bits, f->min + (lo - f->min + i) % span - f->base);
	return 0;
}

/* "L", "L-n", "LW", "L-nW" in day-of-month. */
static int parse_dom_last(struct pctx *pc, const char *p)
{
	struct cron_expr *c = pc->c;
	long n = 0;

	p++;
	if (*p == '-') {
		const char *s = ++p;

		if (read_digits(&p, &n) != 0)
			return invalid(pc);
		if (n > 30)
			return out_of_range(pc, "offset ", s, (int)(p - s), 0, 30);
	}
	if (*p == 'W') {
		p++;
		c->dom_lw |= 1u << n;
	} else {
		c->dom_last |= 1u << n;
	}
	if (*p != '\0')
		return invalid(pc);
	c->dom_special = true;
	return 0;
}

/* One element of a comma-separated list. */
static int parse_elem(struct pctx *pc, uint64_t bits[4])
{
	const struct field_def *f = pc->f;
	struct cron_expr *c = pc->c;
	const char *p = pc->elem;
	int lo, hi, rc;
	long step = 1;
	bool single = false;

	if (pc->fid == F_DOM && p[0] == 'L')
		return parse_dom_last(pc, p);
	if (pc->fid == F_DOW && strcmp(p, "L") == 0) {
		if (pc->dialect != CRON_DIALECT_QUARTZ)
			return error_set(pc->e, CLOVER_EPARSE, "schedule",
					 "day-of-week: 'L' alone means Saturday only in Quartz "
					 "expressions; write 6 or SAT");
		set_bit(bits, 7);
		return 0;
	}
	if (*p == '*') {
		lo = f->min;
		hi = f->star_max;
		p++;
	} else {
		if ((rc = read_value(pc, &p, &lo)) != 0)
			return rc;
		if (pc->fid == F_DOM && *p == 'W') {
			if (p[1] != '\0')
				return invalid(pc);
			c->dom_w |= 1u << lo;
			c->dom_special = true;
			return 0;
		}
		if (pc->fid == F_DOW && *p == 'L') {
			if (p[1] != '\0')
				return invalid(pc);
			c->dow_last |= (uint8_t)(1u << dow_index(pc, lo));
			c->dow_special = true;
			return 0;
		}
		if (pc->fid == F_DOW && *p == '#') {
			const char *s = ++p;
			long k;

			if (read_digits(&p, &k) != 0 || *p != '\0')
				return invalid(pc);
			if (k < 1 || k > 5)
				return out_of_range(pc, "occurrence ", s, (int)(p - s), 1, 5);
			c->dow_nth[dow_index(pc, lo)] |= (uint8_t)(1u << k);
			c->dow_special = true;
			return 0;
		}
		if (*p == '-') {
			p++;
			if ((rc = read_value(pc, &p, &hi)) != 0)
				return rc;
		} else {
			hi = lo;
			single = true;
		}
	}
	if (*p == '/') {
		const char *s = ++p;
		int span = f->star_max - f->min + 1;

		if (read_digits(&p, &step) != 0)
			return invalid(pc);
		if (step < 1 || step > span)
			return out_of_range(pc, "step ", s, (int)(p - s), 1, span);
		if (single)
			hi = f->star_max > lo ? f->star_max : lo;
	}
	if (*p != '\0')
		return invalid(pc);
	return add_range(pc, lo, hi, (int)step, bits);
}

/*
 * One field. Sets *question for a lone '?' and *star for a lone '*': the Unix
 * "unrestricted" test looks at the text, so a stepped star is restricted, as
 * POSIX says.
 */
static int parse_field(struct pctx *pc, char *text, uint64_t bits[4], bool *question, bool *star)
{
	bool day = pc->fid == F_DOM || pc->fid == F_DOW;

	*question = *star = false;
	memset(bits, 0, 4 * sizeof(bits[0]));
	if (strchr(text, '?') != NULL) {
		if (strcmp(text, "?") != 0 || !day)
			return error_set(pc->e, CLOVER_EPARSE, "schedule",
					 "%s: '?' is only allowed alone, in day-of-month or "
					 "day-of-week (found '%.*s')",
					 pc->f->name, (int)strlen(text), as_written(pc, text));
		if (pc->dialect != CRON_DIALECT_QUARTZ)
			return error_set(pc->e, CLOVER_EPARSE, "schedule",
					 "%s: '?' is only allowed in Quartz expressions (6 or 7 "
					 "fields); use '*'",
					 pc->f->name);
		*question = true;
		return 0;
	}
	*star = strcmp(text, "*") == 0;
	for (char *p = text;;) {
		char *comma = strchr(p, ',');
		int rc;

		if (comma != NULL)
			*comma = '\0';
		if (*p == '\0') {
			if (comma != NULL)
				*comma = ',';
			return error_set(pc->e, CLOVER_EPARSE, "schedule",
					 "%s: empty list element in '%.*s'", pc->f->name,
					 (int)strlen(text), as_written(pc, text));
		}
		pc->elem = p;
		rc = parse_elem(pc, bits);
		if (comma == NULL)
			return rc;
		*comma = ',';
		if (rc != 0)
			return rc;
		p = comma + 1;
	}
}

static int nearest_weekday(int d, int dim, int wd1)
{
	int wd = (wd1 + d - 1) % 7;

	if (wd == 6)
		return d == 1 ? 3 : d - 1;
	if (wd == 0)
		return d == dim ? d - 2 : d + 1;
	return d;
}

/*
 * The days (bits 1..dim) of a month with `dim` days whose first day is
 * weekday `wd1` that the day fields accept.
 */
static uint32_t month_days(const struct cron_expr *c, int dim, int wd1)
{
	uint32_t full = (uint32_t)(((1ULL << dim) - 1) << 1), dm = 0, wm = 0;

	if (c->day_mode == CRON_DAY_ALL)
		return full;
	if (c->day_mode == CRON_DAY_DOM && !c->dom_special)
		return c->dom & full;
	if (c->day_mode != CRON_DAY_DOW) {
		dm = c->dom & full;
		if (c->dom_special) {
			for (uint32_t b = c->dom_last; b; b &= b - 1) {
				int d = dim - __builtin_ctz(b);

				if (d >= 1)
					dm |= 1u << d;
			}
			for (uint32_t b = c->dom_w; b; b &= b - 1) {
				int d = __builtin_ctz(b);

				if (d <= dim)
					dm |= 1u << nearest_weekday(d, dim, wd1);
			}
			for (uint32_t b = c->dom_lw; b; b &= b - 1) {
				int d = dim - __builtin_ctz(b);

				if (d >= 1)
					dm |= 1u << nearest_weekday(d, dim, wd1);
			}
		}
		if (c->day_mode == CRON_DAY_DOM)
			return dm;
	}
	{
		uint64_t p = ((c->dow >> wd1) | (c->dow << (7 - wd1))) & 0x7f;

		wm = (uint32_t)(((p | p << 7 | p << 14 | p << 21 | p << 28) << 1) & full);
	}
	if (c->dow_special) {
		for (int w = 0; w < 7; w++) {
			int first = 1 + (w - wd1 + 7) % 7;

			if (c->dow_last & (1u << w))
				wm |= 1u << (first + 7 * ((dim - first) / 7));
			for (uint32_t b = c->dow_nth[w]; b; b &= b - 1) {
				int d = first + 7 * (__builtin_ctz(b) - 1);

				if (d <= dim)
					wm |= 1u << d;
			}
		}
	}
	return c->day_mode == CRON_DAY_DOW ? wm : dm | wm;
}

/*
 * The kinds of year (leap or not, weekday of January 1) in which some month
 * of the month field has a matching day. The search skips other years with
 * one test, which keeps rare dates (a fifth Monday in February) cheap.
 */
static uint16_t year_types(const struct cron_expr *c)
{
	static const int dims[] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	static const int before[] = {0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
	uint16_t types = 0;

	for (int leap = 0; leap < 2; leap++) {
		for (int wd = 0; wd < 7; wd++) {
			for (int m = 1; m <= 12; m++) {
				int dim = dims[m] + (leap && m == 2);
				int wd1 = (wd + before[m] + (leap && m > 2)) % 7;

				if ((c->mon & (1u << m)) && month_days(c, dim, wd1) != 0) {
					types |= (uint16_t)(1u << (leap * 7 + wd));
					break;
				}
			}
		}
	}
	return types;
}

static int parse_fields(struct cron_expr *c, char *text, struct error_info *e)
{
	char *fields[8];
	int nf = 0, rc;
	const struct field_def *defs;
	bool q[7] = {false}, star[7] = {false};
	uint64_t bits[7][4];
	char orig[CRON_TEXT_MAX + 1];
	struct pctx pc = {.c = c, .e = e};

	snprintf(orig, sizeof(orig), "%s", text);
	pc.text = text;
	pc.orig = orig;

	for (char *p = text; *p;) {
		while (*p == ' ' || *p == '\t')
			*p++ = '\0';
		if (*p == '\0')
			break;
		if (nf < 8)
			fields[nf] = p;
		nf++;
		while (*p && *p != ' ' && *p != '\t') {
			*p = (char)toupper((unsigned char)*p);
			p++;
		}
	}
	if (nf < 5 || nf > 7)
		return error_set(e, CLOVER_EPARSE, "schedule",
				 "expected 5 fields (Unix: minute hour day-of-month month "
				 "day-of-week) or 6-7 fields (Quartz: second minute hour "
				 "day-of-month month day-of-week [year]), found %d",
				 nf);
	c->kind = CRON_KIND_CRON;
	c->dialect = nf == 5 ? CRON_DIALECT_UNIX : CRON_DIALECT_QUARTZ;
	pc.dialect = c->dialect;
	defs = nf == 5 ? unix_fields : quartz_fields;
	for (int i = 0; i < nf; i++) {
		/* Field i of this dialect is field fid of the Quartz numbering. */
		int fid = nf == 5 ? i + 1 : i;

		pc.fid = fid;
		pc.f = &defs[i];
		if ((rc = parse_field(&pc, fields[i], bits[fid], &q[fid], &star[fid])) != 0)
			return rc;
	}
	if (nf == 5) {
		memset(bits[F_SEC], 0, sizeof(bits[F_SEC]));
		bits[F_SEC][0] = 1; /* second 0 */
	}
	c->sec = bits[F_SEC][0];
	c->min = bits[F_MIN][0];
	c->hour = (uint32_t)bits[F_HOUR][0];
	c->dom = (uint32_t)bits[F_DOM][0];
	c->mon = (uint16_t)bits[F_MON][0];
	if (c->dialect == CRON_DIALECT_QUARTZ)
		c->dow = (uint8_t)((bits[F_DOW][0] >> 1) & 0x7f);
	else
		c->dow = (uint8_t)((bits[F_DOW][0] | bits[F_DOW][0] >> 7) & 0x7f);
	if (nf == 7) {
		memcpy(c->year, bits[F_YEAR], sizeof(c->year));
	} else {
		for (int y = 0; y < CRON_YEARS; y++)
			c->year[y >> 6] |= 1ULL << (y & 63);
	}
	c->all_years = nf != 7 || star[F_YEAR];
	if (c->dialect == CRON_DIALECT_QUARTZ) {
		bool dom_any = q[F_DOM] || star[F_DOM], dow_any = q[F_DOW] || star[F_DOW];

		if (q[F_DOM] && q[F_DOW])
			return error_set(e, CLOVER_EPARSE, "schedule",
					 "day-of-month and day-of-week: only one of them may be "
					 "'?'");
		if (!q[F_DOM] && !q[F_DOW])
			return error_set(e, CLOVER_EPARSE, "schedule",
					 "day-of-month and day-of-week: one of them must be '?' in a "
					 "Quartz expression (e.g. '0 0 12 * * ?' or '0 0 12 ? * MON')");
		if (dom_any && dow_any)
			c->day_mode = CRON_DAY_ALL;
		else if (q[F_DOM])
			c->day_mode = CRON_DAY_DOW;
		else
			c->day_mode = CRON_DAY_DOM;
	} else {
		if (star[F_DOM] && star[F_DOW])
			c->day_mode = CRON_DAY_ALL;
		else if (star[F_DOM])
			c->day_mode = CRON_DAY_DOW;
		else if (star[F_DOW])
			c->day_mode = CRON_DAY_DOM;
		else
			c->day_mode = CRON_DAY_OR;
	}
	c->hour_fixed = __builtin_popcount(c->hour) == 1;
	c->year_types = year_types(c);
	c->never = c->year_types == 0;
	return 0;
}

static const struct {
	const char *name;
	const char *cron;
} macros[] = {
	{"@YEARLY", "0 0 1 1 *"}, {"@ANNUALLY", "0 0 1 1 *"}, {"@MONTHLY", "0 0 1 * *"},
	{"@WEEKLY", "0 0 * * 0"}, {"@DAILY", "0 0 * * *"},    {"@MIDNIGHT", "0 0 * * *"},
	{"@HOURLY", "0 * * * *"},
};

#define KNOWN_SPECIALS                                                                             \
	"@yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, @every "               \
	"<duration>, @at <instant> or @manual"

/* "@..." schedules. `text` is trimmed and writable. */
static int parse_special(struct cron_expr *c, char *text, struct error_info *e)
{
	char *arg = text;
	char word[16];
	size_t wl;

	while (*arg && *arg != ' ' && *arg != '\t')
		arg++;
	wl = (size_t)(arg - text);
	while (*arg == ' ' || *arg == '\t')
		arg++;
	if (wl >= sizeof(word))
		goto unknown;
	for (size_t i = 0; i < wl; i++)
		word[i] = (char)toupper((unsigned char)text[i]);
	word[wl] = '\0';
	if (strcmp(word, "@EVERY") == 0) {
		struct error_info de;
		int64_t ms;
		int rc;

		if (*arg == '\0')
			return error_set(e, CLOVER_EPARSE, "schedule",
					 "@every: missing duration (e.g. '@every 90s', '@every 1h30m')");
		if ((rc = duration_parse(arg, &ms, &de)) != 0)
			return error_set(e, rc, "schedule", "@every: %s", de.message);
		if (ms < 1000)
			return error_set(e, CLOVER_ERANGE, "schedule",
					 "@every: '%s' is shorter than the minimum of 1s", arg);
		if (ms % 1000 != 0)
			return error_set(e, CLOVER_EPARSE, "schedule",
					 "@every: '%s' is not a whole number of seconds", arg);
		c->kind = CRON_KIND_EVERY;
		c->every_ms = ms;
		return 0;
	}
	if (strcmp(word, "@AT") == 0) {
		int64_t ms;

		if (*arg == '\0')
			return error_set(e, CLOVER_EPARSE, "schedule",
					 "@at: missing instant (e.g. '@at 2026-03-08T07:30:00Z')");
		if (time_parse_rfc3339(arg, &ms) != 0)
			return error_set(e, CLOVER_EPARSE, "schedule",
					 "@at: '%s' is not an RFC 3339 instant (e.g. "
					 "2026-03-08T07:30:00Z or 2026-03-08T02:30:00-05:00)",
					 arg);
		if (floordiv(ms, 1000) * 1000 != ms)
			return error_set(e, CLOVER_EPARSE, "schedule",
					 "@at: '%s' has a fraction of a second; fires are whole "
					 "seconds",
					 arg);
		c->kind = CRON_KIND_AT;
		c->at_ms = ms;
		return 0;
	}
	if (strcmp(word, "@REBOOT") == 0)
		return error_set(e, CLOVER_ENOTSUP, "schedule",
				 "'@reboot' is not supported: clover schedules are based on the "
				 "clock (use @manual and trigger the job at start-up)");
	for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++) {
		if (strcmp(word, macros[i].name) == 0) {
			char buf[16];

			if (*arg != '\0')
				goto extra;
			snprintf(buf, sizeof(buf), "%s", macros[i].cron);
			return parse_fields(c, buf, e);
		}
	}
	if (strcmp(word, "@MANUAL") == 0) {
		if (*arg != '\0')
			goto extra;
		c->kind = CRON_KIND_MANUAL;
		return 0;
	}
unknown:
	return error_set(e, CLOVER_EPARSE, "schedule", "'%.*s' is not a known schedule (use %s)",
			 (int)(wl > 64 ? 64 : wl), text, KNOWN_SPECIALS);
extra:
	return error_set(e, CLOVER_EPARSE, "schedule", "'%.*s' takes no argument (found '%s')",
			 (int)wl, text, arg);
}

int cron_parse(const char *text, struct cron_expr **out, struct error_info *e)
{
	char buf[CRON_TEXT_MAX + 1];
	struct cron_expr *c;
	size_t len;
	char *s, *end;
	int rc;

	if (text == NULL)
		return error_set(e, CLOVER_EINVAL, "schedule", "schedule is missing");
	len = strnlen(text, CRON_TEXT_MAX + 1);
	if (len > CRON_TEXT_MAX)
		return error_set(e, CLOVER_ETOOBIG, "schedule",
				 "schedule is longer than %d bytes", CRON_TEXT_MAX);
	memcpy(buf, text, len + 1);
	s = buf;
	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	for (char *p = s; *p; p++) {
		if (isspace((unsigned char)*p))
			*p = ' ';
		else if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			return error_set(e, CLOVER_EPARSE, "schedule",
					 "schedule contains a control or non-ASCII character at "
					 "byte %d",
					 (int)(p - s));
	}
	if (*s == '\0')
		return error_set(e, CLOVER_EPARSE, "schedule", "schedule is empty");
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return error_set(e, CLOVER_ENOMEM, "schedule", "out of memory");
	rc = s[0] == '@' ? parse_special(c, s, e) : parse_fields(c, s, e);
	if (rc != 0) {
		free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void cron_free(struct cron_expr *c)
{
	free(c);
}

enum cron_kind cron_kind(const struct cron_expr *c)
{
	return (enum cron_kind)c->kind;
}

enum cron_dialect cron_dialect(const struct cron_expr *c)
{
	return (enum cron_dialect)c->dialect;
}

int64_t cron_every_ms(const struct cron_expr *c)
{
	return c->kind == CRON_KIND_EVERY ? c->every_ms : 0;
}

int64_t cron_at_ms(const struct cron_expr *c)
{
	return c->kind == CRON_KIND_AT ? c->at_ms : 0;
}

bool cron_hour_fixed(const struct cron_expr *c)
{
	return c->kind == CRON_KIND_CRON && c->hour_fixed;
}

/* ---- searching wall time ------------------------------------------------- */

static inline int next_bit(uint64_t m, int from)
{
	if (from > 63)
		return -1;
	m &= ~0ULL << from;
	return m ? __builtin_ctzll(m) : -1;
}

static inline int prev_bit(uint64_t m, int from)
{
	if (from < 0)
		return -1;
	if (from < 63)
		m &= (2ULL << from) - 1;
	return m ? 63 - __builtin_clzll(m) : -1;
}

/* The kind of year y, as a bit of cron_expr.year_types. */
static uint16_t year_type(int64_t y)
{
	return (uint16_t)(1u << ((time_is_leap(y) ? 7 : 0) +
				 time_weekday(time_days_from_civil(y, 1, 1))));
}

/* The first year >= y of the year field, or -1. */
static int64_t next_year(const struct cron_expr *c, int64_t y)
{
	int i;

	if (y > CRON_YEAR_MAX)
		return -1;
	if (y < CRON_YEAR_MIN)
		y = CRON_YEAR_MIN;
	if (c->all_years)
		return y;
	for (i = (int)(y - CRON_YEAR_MIN); i < CRON_YEARS; i = (i | 63) + 1) {
		int b = next_bit(c->year[i >> 6], i & 63);

		if (b >= 0)
			return CRON_YEAR_MIN + (i & ~63) + b;
	}
	return -1;
}

/* The last year <= y of the year field, or -1. */
static int64_t prev_year(const struct cron_expr *c, int64_t y)
{
	if (y < CRON_YEAR_MIN)
		return -1;
	if (y > CRON_YEAR_MAX)
		y = CRON_YEAR_MAX;
	if (c->all_years)
		return y;
	for (int i = (int)(y - CRON_YEAR_MIN); i >= 0; i = (i & ~63) - 1) {
		int b = prev_bit(c->year[i >> 6], i & 63);

		if (b >= 0)
			return CRON_YEAR_MIN + (i & ~63) + b;
	}
	return -1;
}

static uint32_t days_of(const struct cron_expr *c, int64_t y, int m)
{
	int dim = time_days_in_month(y, m);

	if (c->day_mode == CRON_DAY_ALL || (c->day_mode == CRON_DAY_DOM && !c->dom_special))
		return month_days(c, dim, 0);
	return month_days(c, dim, time_weekday(time_days_from_civil(y, m, 1)));
}

/*
 * The first wall second >= lo matching every field, or WALL_NONE_HI. The
 * calendar starts at 1970 and ends with 2199.
 */
static int64_t next_wall(const struct cron_expr *c, int64_t lo)
{
	int64_t y, cy = -1, ty = -1;
	int m, d, h, mi, s, cm = 0;
	uint32_t days = 0;

	if (lo < 0)
		lo = 0;
	if (lo > WALL_MAX)
		return WALL_NONE_HI;
	time_civil_from_days(lo / 86400, &y, &m, &d);
	h = (int)(lo % 86400 / 3600);
	mi = (int)(lo % 3600 / 60);
	s = (int)(lo % 60);
	for (;;) {
		int64_t y2 = next_year(c, y);
		int v;

		if (y2 < 0)
			return WALL_NONE_HI;
		if (y2 != y) {
			y = y2, m = 1, d = 1, h = 0, mi = 0, s = 0;
		}
		if (c->year_types != CRON_ALL_YEAR_TYPES && y != ty) {
			ty = y;
			if (!(c->year_types & year_type(y))) {
				y++, m = 1, d = 1, h = 0, mi = 0, s = 0;
				continue;
			}
		}
		if ((v = next_bit(c->mon, m)) < 0) {
			y++, m = 1, d = 1, h = 0, mi = 0, s = 0;
			continue;
		}
		if (v != m)
			m = v, d = 1, h = 0, mi = 0, s = 0;
		if (y != cy || m != cm) {
			days = days_of(c, y, m);
			cy = y, cm = m;
		}
		if ((v = next_bit(days, d)) < 0) {
			d = 1, h = 0, mi = 0, s = 0;
			if (++m > 12)
				y++, m = 1;
			continue;
		}
		if (v != d)
			d = v, h = 0, mi = 0, s = 0;
		if ((v = next_bit(c->hour, h)) < 0) {
			d++, h = 0, mi = 0, s = 0;
			continue;
		}
		if (v != h)
			h = v, mi = 0, s = 0;
		if ((v = next_bit(c->min, mi)) < 0) {
			h++, mi = 0, s = 0;
			continue;
		}
		if (v != mi)
			mi = v, s = 0;
		if ((v = next_bit(c->sec, s)) < 0) {
			mi++, s = 0;
			continue;
		}
		return time_days_from_civil(y, m, d) * 86400 + h * 3600 + mi * 60 + v;
	}
}

/* The last wall second <= hi matching every field, or WALL_NONE_LO. */
static int64_t prev_wall(const struct cron_expr *c, int64_t hi)
{
	int64_t y, cy = -1, ty = -1;
	int m, d, h, mi, s, cm = 0;
	uint32_t days = 0;

	if (hi < 0)
		return WALL_NONE_LO;
	if (hi > WALL_MAX)
		hi = WALL_MAX;
	time_civil_from_days(hi / 86400, &y, &m, &d);
	h = (int)(hi % 86400 / 3600);
	mi = (int)(hi % 3600 / 60);
	s = (int)(hi % 60);
	for (;;) {
		int64_t y2 = prev_year(c, y);
		int v;

		if (y2 < 0)
			return WALL_NONE_LO;
		if (y2 != y)
			y = y2, m = 12, d = 31, h = 23, mi = 59, s = 59;
		if (c->year_types != CRON_ALL_YEAR_TYPES && y != ty) {
			ty = y;
			if (!(c->year_types & year_type(y))) {
				y--, m = 12, d = 31, h = 23, mi = 59, s = 59;
				continue;
			}
		}
		if ((v = prev_bit(c->mon, m)) < 0) {
			y--, m = 12, d = 31, h = 23, mi = 59, s = 59;
			continue;
		}
		if (v != m)
			m = v, d = 31, h = 23, mi = 59, s = 59;
		if (y != cy || m != cm) {
			days = days_of(c, y, m);
			cy = y, cm = m;
		}
		if ((v = prev_bit(days, d)) < 0) {
			d = 31, h = 23, mi = 59, s = 59;
			if (--m < 1)
				y--, m = 12;
			continue;
		}
		if (v != d)
			d = v, h = 23, mi = 59, s = 59;
		if ((v = prev_bit(c->hour, h)) < 0) {
			d--, h = 23, mi = 59, s = 59;
			continue;
		}
		if (v != h)
			h = v, mi = 59, s = 59;
		if ((v = prev_bit(c->min, mi)) < 0) {
			h--, mi = 59, s = 59;
			continue;
		}
		if (v != mi)
			mi = v, s = 59;
		if ((v = prev_bit(c->sec, s)) < 0) {
			mi--, s = 59;
			continue;
		}
		return time_days_from_civil(y, m, d) * 86400 + h * 3600 + mi * 60 + v;
	}
}

/* ---- searching instants -------------------------------------------------- */

/*
 * What the last wall search taught: for next, no wall time in [lo, w) matches
 * and w does (or w is WALL_NONE_HI: nothing from lo on); for prev, nothing in
 * (w, hi] matches and w does (or WALL_NONE_LO). Periods whose wall times all
 * fall in such a range are skipped without searching.
 */
struct known {
	int64_t lo, w, hi;
};

static int64_t known_next(const struct cron_expr *c, struct known *kn, int64_t lo)
{
	if (lo >= kn->lo && lo <= kn->w)
		return kn->w;
	kn->lo = lo;
	kn->w = next_wall(c, lo);
	return kn->w;
}

static int64_t known_prev(const struct cron_expr *c, struct known *kn, int64_t hi)
{
	if (hi <= kn->hi && hi >= kn->w)
		return kn->w;
	kn->hi = hi;
	kn->w = prev_wall(c, hi);
	return kn->w;
}

/* From period k on, the first period that may hold a match (see struct known). */
static size_t skip_forward(const struct tz *z, size_t k, const struct known *kn)
{
	while (k < z->n && tz__wall_lo(z, k) >= kn->lo && tz__wall_end(z, k) <= kn->w) {
		if (z->monotone) {
			/* every later period is as high: jump to the first reaching past w */
			size_t lo = k + 1, hi = z->n;

			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;

				if (tz__wall_end(z, mid) <= kn->w)
					lo = mid + 1;
				else
					hi = mid;
			}
			return lo;
		}
		k++;
	}
	return k;
}

/* From period k down, the first period that may hold a match. */
static size_t skip_backward(const struct tz *z, size_t k, const struct known *kn)
{
	while (k > 0 && tz__wall_lo(z, k) > kn->w && tz__wall_end(z, k) - 1 <= kn->hi) {
		if (z->monotone) {
			/* the last period starting at or below w */
			size_t lo = 0, hi = k - 1;

			while (lo < hi) {
				size_t mid = hi - (hi - lo) / 2;

				if (tz__wall_lo(z, mid) <= kn->w)
					lo = mid;
				else
					hi = mid - 1;
			}
			return lo;
		}
		k--;
	}
	return k;
}

static int next_cron(const struct cron_expr *c, const struct tz *z, int64_t after_ms,
		     int64_t *next_ms)
{
	int64_t s0 = floordiv(after_ms, 1000) + 1;
	struct known kn = {INT64_MAX, INT64_MAX, 0};
	size_t k;

	if (c->never || s0 > WALL_MAX + OFF_SPAN)
		return CLOVER_ENOENT;
	if (s0 < -OFF_SPAN)
		s0 = -OFF_SPAN; /* nothing fires before wall 1970-01-01T00:00:00 */
	if (z == NULL || z->n == 0) {
		int32_t o = z ? z->off[0] : 0;
		int64_t w = next_wall(c, s0 + o);

		if (w == WALL_NONE_HI)
			return CLOVER_ENOENT;
		*next_ms = (w - o) * 1000;
		return 0;
	}
	for (k = tz__period(z, s0);;) {
		/* Period k: instants [t, end) at offset o; p is the offset before t. */
		int64_t t = k > 0 ? z->trans[k - 1] : INT64_MIN;
		int64_t end = k < z->n ? z->trans[k] : INT64_MAX;
		int32_t o = z->off[k], p = k > 0 ? z->off[k - 1] : o;
		int64_t lo = s0 > t ? s0 : t, best = WALL_NONE_HI, w, wlo;

		if (p < o && lo < t + (o - p)) {
			/* Gap: the skipped wall times, shifted forward by o - p. */
			w = known_next(c, &kn, lo + p);
			if (w != WALL_NONE_HI && w < t + o && w - p < end)
				best = w - p;
		}
		wlo = lo + o;
		if (p > o && c->hour_fixed && wlo < t + p)
			wlo = t + p; /* overlap: these wall times fired in period k-1 */
		w = known_next(c, &kn, wlo);
		if (w != WALL_NONE_HI && (end == INT64_MAX || w < end + o) && w - o < best)
			best = w - o;
		if (best != WALL_NONE_HI) {
			*next_ms = best * 1000;
			return 0;
		}
		if (k >= z->n)
			return CLOVER_ENOENT;
		k = skip_forward(z, k + 1, &kn);
		s0 = z->trans[k - 1];
	}
}

static int prev_cron(const struct cron_expr *c, const struct tz *z, int64_t before_ms,
		     int64_t *prev_ms)
{
	int64_t s0 = floordiv(before_ms - 1, 1000);
	struct known kn = {0, INT64_MIN, INT64_MIN};
	size_t k;

	if (c->never || s0 < -OFF_SPAN)
		return CLOVER_ENOENT;
	if (s0 > WALL_MAX + OFF_SPAN)
		s0 = WALL_MAX + OFF_SPAN;
	if (z == NULL || z->n == 0) {
		int32_t o = z ? z->off[0] : 0;
		int64_t w = prev_wall(c, s0 + o);

		if (w == WALL_NONE_LO)
			return CLOVER_ENOENT;
		*prev_ms = (w - o) * 1000;
		return 0;
	}
	for (k = tz__period(z, s0);;) {
		int64_t t = k > 0 ? z->trans[k - 1] : INT64_MIN;
		int64_t end = k < z->n ? z->trans[k] : INT64_MAX;
		int32_t o = z->off[k], p = k > 0 ? z->off[k - 1] : o;
		int64_t hi = s0 < end ? s0 : end - 1, best = WALL_NONE_LO, w, whi;
		int64_t wstart = k == 0 ? INT64_MIN : t + (p > o && c->hour_fixed ? p : o);

		w = known_prev(c, &kn, hi + o);
		if (w != WALL_NONE_LO && w >= wstart)
			best = w - o;
		if (k > 0 && p < o) {
			/* Gap: wall times in [t + p, t + o) fire at wall - p. */
			whi = hi + p < t + o - 1 ? hi + p : t + o - 1;
			if (whi >= t + p) {
				w = known_prev(c, &kn, whi);
				if (w != WALL_NONE_LO && w >= t + p && w - p > best)
					best = w - p;
			}
		}
		if (best != WALL_NONE_LO) {
			*prev_ms = best * 1000;
			return 0;
		}
		if (k == 0)
			return CLOVER_ENOENT;
		k = skip_backward(z, k - 1, &kn);
		s0 = z->trans[k] - 1;
	}
}

bool cron_matches_local(const struct cron_expr *c, int64_t local_ms)
{
	int64_t w = floordiv(local_ms, 1000);

	if (c->kind != CRON_KIND_CRON || c->never || w * 1000 != local_ms)
		return false;
	return next_wall(c, w) == w;
}

int cron_next(const struct cron_expr *c, const struct tz *z, int64_t after_ms, int64_t *next_ms)
{
	switch (c->kind) {
	case CRON_KIND_EVERY: {
		int64_t q = floordiv(after_ms, c->every_ms) + 1;

		if (q > INT64_MAX / c->every_ms)
			return CLOVER_ENOENT;
		*next_ms = q * c->every_ms;
		return 0;
	}
	case CRON_KIND_AT:
		if (c->at_ms <= after_ms)
			return CLOVER_ENOENT;
		*next_ms = c->at_ms;
		return 0;
	case CRON_KIND_MANUAL:
		return CLOVER_ENOENT;
	default:
		return next_cron(c, z, after_ms, next_ms);
	}
}

int cron_prev(const struct cron_expr *c, const struct tz *z, int64_t before_ms, int64_t *prev_ms)
{
	switch (c->kind) {
	case CRON_KIND_EVERY: {
		int64_t q;

		if (before_ms == INT64_MIN)
			return CLOVER_ENOENT;
		q = floordiv(before_ms - 1, c->every_ms);
		if (q < INT64_MIN / c->every_ms)
			return CLOVER_ENOENT;
		*prev_ms = q * c->every_ms;
		return 0;
	}
	case CRON_KIND_AT:
		if (c->at_ms >= before_ms)
			return CLOVER_ENOENT;
		*prev_ms = c->at_ms;
		return 0;
	case CRON_KIND_MANUAL:
		return CLOVER_ENOENT;
	default:
		if (before_ms == INT64_MIN)
			return CLOVER_ENOENT;
		return prev_cron(c, z, before_ms, prev_ms);
	}
}
