/* SPDX-License-Identifier: MIT */
/*
 * Time. All instants are UTC milliseconds since the Unix epoch (int64_t), as in
 * the store. The wall clock is for calendar matching, the monotonic clock for
 * intervals and timeouts. The engine reads neither: its caller passes the
 * time into every call, which is how tests run it on a virtual clock.
 *
 * Also: proleptic Gregorian civil-date arithmetic shared by the cron engine and
 * the time-zone reader, and RFC 3339 formatting and parsing.
 */
#ifndef CLOVER_BASE_TIME_H
#define CLOVER_BASE_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MS_PER_SEC 1000LL
#define MS_PER_MIN (60 * MS_PER_SEC)
#define MS_PER_HOUR (60 * MS_PER_MIN)
#define MS_PER_DAY (24 * MS_PER_HOUR)

/* The real clocks (CLOCK_REALTIME, CLOCK_MONOTONIC). Thread-safe. */
int64_t time_wall_ms(void);
int64_t time_mono_ms(void);
int64_t time_mono_ns(void);

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1-12). */
int64_t time_days_from_civil(int64_t y, int m, int d);
/* The inverse of time_days_from_civil. */
void time_civil_from_days(int64_t days, int64_t *y, int *m, int *d);
bool time_is_leap(int64_t y);
int time_days_in_month(int64_t y, int m);
/* Day of week of a day number: 0 = Sunday ... 6 = Saturday. */
int time_weekday(int64_t days);

/* Broken-down UTC or local time, without time-zone knowledge. */
struct civil {
	int64_t year;
	int month, day, hour, min, sec, ms;
};
void time_to_civil(int64_t ms, struct civil *c);
int64_t time_from_civil(const struct civil *c);

/*
 * Formats `ms` as RFC 3339 UTC ("2026-03-08T07:30:00Z", or with ".123" before
 * the Z when `millis`). `out` needs 32 bytes. Returns `out`.
 */
char *time_format_rfc3339(int64_t ms, char *out, size_t n, bool millis);

/*
 * Parses RFC 3339: "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)" ('t', ' ' and
 * 'z' accepted too). Fractions beyond milliseconds are truncated. Returns 0, or
 * CLOVER_EPARSE for anything else.
 */
int time_parse_rfc3339(const char *s, int64_t *ms);

#endif
