/* SPDX-License-Identifier: MIT */
/*
 * The inside of a `struct cron_expr`, shared by cron.c (parser and
 * next-fire search) and describe.c. One bitset per field, in a numbering
 * common to both dialects: day-of-week 0 = Sunday, months 1-12, days 1-31,
 * years as bit (year - CRON_YEAR_MIN). About 110 bytes per expression.
 */
#ifndef CLOVER_CRON_CRON_IMPL_H
#define CLOVER_CRON_CRON_IMPL_H

#include "cron/cron.h"

#include <stdbool.h>
#include <stdint.h>

/* How the day-of-month and day-of-week fields combine. */
enum cron_day_mode {
	CRON_DAY_ALL, /* neither restricts */
	CRON_DAY_DOM, /* only day-of-month restricts */
	CRON_DAY_DOW, /* only day-of-week restricts */
	CRON_DAY_OR,  /* Unix, both restricted: a day matching either */
};

#define CRON_YEARS (CRON_YEAR_MAX - CRON_YEAR_MIN + 1)
/* All 14 kinds of year: common or leap, starting on any weekday. */
#define CRON_ALL_YEAR_TYPES 0x3fff

struct cron_expr {
	uint64_t sec, min; /* bits 0-59 */
	uint64_t year[4];  /* bit (y - CRON_YEAR_MIN) */
	uint32_t hour;     /* bits 0-23 */
	uint32_t dom;      /* bits 1-31: plain days */
	uint32_t dom_last; /* bit n: "L-n", n days before the last day (L = L-0) */
	uint32_t dom_w;    /* bit d: "dW", the weekday nearest day d */
	uint32_t dom_lw;   /* bit n: "L-nW", the weekday nearest day L-n (LW = L-0W) */
	uint16_t mon;      /* bits 1-12 */
	uint8_t dow;       /* bits 0-6, 0 = Sunday */
	uint8_t dow_last;  /* bit w: "wL", the last weekday w of the month */
	uint8_t dow_nth[7];/* per weekday w, bit k (1-5): "w#k", the k-th w */
	uint8_t kind;      /* enum cron_kind */
	uint8_t dialect;   /* enum cron_dialect */
	uint8_t day_mode;  /* enum cron_day_mode */
	bool dom_special;  /* any of dom_last, dom_w, dom_lw */
	bool dow_special;  /* any of dow_last, dow_nth */
	bool hour_fixed;   /* exactly one hour */
	bool all_years;    /* no year restriction */
	bool never;        /* no month ever has a matching day */
	uint16_t year_types; /* bit (leap * 7 + weekday of Jan 1): years with a matching day */
	int64_t every_ms;  /* CRON_KIND_EVERY */
	int64_t at_ms;     /* CRON_KIND_AT */
};

#endif
