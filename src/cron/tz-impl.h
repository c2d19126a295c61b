/* SPDX-License-Identifier: MIT */
/*
 * The inside of a `struct tz`, shared by tz.c (which builds it) and cron.c
 * (which walks its periods to find fire instants quickly). Not for other
 * layers: they use tz.h.
 *
 * A zone is a sorted list of transitions; between two transitions lies a
 * *period* with one UTC offset. Period k (0 <= k <= n) covers the instants
 * [trans[k-1], trans[k]) (unbounded at the ends) and has offset off[k].
 * Times here are seconds, offsets seconds east of UTC. Transitions that do not
 * change the offset (only the abbreviation or the DST flag) are dropped, and
 * the POSIX footer rule is expanded into the table up to TZ_TABLE_END, so for
 * instants before that a binary search is all a lookup needs.
 */
#ifndef CLOVER_CRON_TZ_IMPL_H
#define CLOVER_CRON_TZ_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 2202-01-01T00:00:00Z: the table covers every instant cron schedules reach. */
#define TZ_TABLE_END 7320758400LL

/* One date of a POSIX TZ rule: Jn, n or Mm.w.d, plus a time of day. */
struct tz_rule_date {
	char kind; /* 'J' (1-365, no Feb 29), 'D' (0-365), 'M' (month.week.weekday) */
	int a, b, c;
	int32_t time; /* seconds after local midnight; may be negative or > 24h */
};

/* A POSIX TZ string such as "EST5EDT,M3.2.0,M11.1.0". */
struct tz_rule {
	int32_t std_off, dst_off; /* seconds east of UTC */
	bool has_dst;
	struct tz_rule_date start, end; /* start: std->dst (std time), end: dst->std */
};

struct tz {
	char *name;
	size_t n;       /* transitions */
	int64_t *trans; /* n instants (seconds), strictly ascending */
	int32_t *off;   /* n + 1 offsets (seconds east) */
	bool has_rule;  /* `rule` applies to instants >= TZ_TABLE_END */
	bool monotone;  /* tz__wall_lo() and tz__wall_end() never decrease with k */
	struct tz_rule rule;
};

/* Index of the period holding instant `t` (seconds): the count of trans <= t. */
static inline size_t tz__period(const struct tz *z, int64_t t)
{
	size_t lo = 0, hi = z->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (z->trans[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * The wall times period k can produce: from the lowest of its gap window
 * (trans[k-1] + off[k-1]) and its own first wall time (trans[k-1] + off[k]),
 * up to (not including) tz__wall_end(). Unbounded at the ends.
 */
static inline int64_t tz__wall_lo(const struct tz *z, size_t k)
{
	if (k == 0)
		return INT64_MIN;
	return z->trans[k - 1] + (z->off[k - 1] < z->off[k] ? z->off[k - 1] : z->off[k]);
}

static inline int64_t tz__wall_end(const struct tz *z, size_t k)
{
	return k < z->n ? z->trans[k] + z->off[k] : INT64_MAX;
}

#endif
