/* SPDX-License-Identifier: MIT */
/*
 * Schedules: parsing and next-fire computation (docs/cron.md is the user's
 * reference).
 *
 * A schedule is one of four kinds:
 *   - cron: Quartz (6 or 7 fields: sec min hour dom month dow [year]) or Unix
 *     (5 fields: min hour dom month dow, or @yearly @annually @monthly @weekly
 *     @daily @midnight @hourly), matched against the wall clock of a zone;
 *   - `@every <duration>`: every k * interval since 1970-01-01T00:00:00Z, in
 *     real time, whatever the zone;
 *   - `@at <RFC 3339 instant>`: once;
 *   - `@manual`: never by itself.
 * A parsed `struct cron_expr` is a bitset per field and is immutable, so one
 * expression may be used from many threads at once.
 *
 * Instants are UTC milliseconds since the Unix epoch. Cron fires fall on whole
 * seconds between 1970-01-01 and 2199-12-31 (local time). Daylight-saving
 * rules (DESIGN.md "Time rules"): a wall time in a spring-forward gap fires
 * once, shifted forward by the length of the gap; a wall time in a fall-back
 * overlap fires at its first occurrence only when the hour field matches a
 * single hour (cron_hour_fixed()), and at both occurrences otherwise.
 */
#ifndef CLOVER_CRON_CRON_H
#define CLOVER_CRON_CRON_H

#include "base/error.h"
#include "cron/tz.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longer schedule strings are refused. */
#define CRON_TEXT_MAX 1024
/* The calendar cron schedules live in (the Quartz year field's range). */
#define CRON_YEAR_MIN 1970
#define CRON_YEAR_MAX 2199
/* A description fits in this many bytes. */
#define CRON_DESCRIBE_MAX 1024

enum cron_kind { CRON_KIND_CRON, CRON_KIND_EVERY, CRON_KIND_AT, CRON_KIND_MANUAL };

enum cron_dialect {
	CRON_DIALECT_NONE,   /* @every, @at, @manual */
	CRON_DIALECT_UNIX,   /* 5 fields or @daily and friends */
	CRON_DIALECT_QUARTZ, /* 6 or 7 fields */
};

struct cron_expr;

/*
 * Parses `text` into a new expression stored in *out (free with cron_free()).
 * Surrounding white space is ignored; fields are separated by spaces or tabs;
 * names (JAN, MON, L, W, @DAILY...) are case-insensitive.
 * Errors: CLOVER_EPARSE, CLOVER_ERANGE (a value outside its field),
 * CLOVER_ETOOBIG (longer than CRON_TEXT_MAX), CLOVER_ENOMEM; `e` (may be NULL)
 * gets field "schedule" and a message naming the cron field, the offending
 * token and what is allowed: "day-of-month: '32' is out of range 1-31".
 * Thread-safe.
 */
int cron_parse(const char *text, struct cron_expr **out, struct error_info *e);

/* Frees an expression. NULL is a no-op. */
void cron_free(struct cron_expr *c);

enum cron_kind cron_kind(const struct cron_expr *c);
enum cron_dialect cron_dialect(const struct cron_expr *c);

/* The interval of an @every schedule in milliseconds (0 for other kinds). */
int64_t cron_every_ms(const struct cron_expr *c);

/* The instant of an @at schedule (0 for other kinds). */
int64_t cron_at_ms(const struct cron_expr *c);

/*
 * True when the hour field matches exactly one hour, whatever its spelling
 * (`3`, `3-3`, `3,3`, `3/24`, `@daily`): such a schedule fires once in a
 * fall-back overlap, at the first occurrence. With two or more hours (`*`,
 * `0-23/2`, `1-3`, `1,13`) both occurrences fire. False for non-cron kinds.
 */
bool cron_hour_fixed(const struct cron_expr *c);

/*
 * Stores in *next_ms the first fire instant strictly after `after_ms`, with
 * cron fields read on the wall clock of zone `z` (NULL means UTC; @every and
 * @at ignore it). Returns 0, or CLOVER_ENOENT when the schedule never fires
 * after `after_ms` (an @at in the past, @manual, a year field that has run out,
 * a date that cannot happen, or past 2199). Thread-safe; no allocation.
 */
int cron_next(const struct cron_expr *c, const struct tz *z, int64_t after_ms, int64_t *next_ms);

/*
 * Stores in *prev_ms the last fire instant strictly before `before_ms`, the
 * mirror of cron_next() (so cron_prev(cron_next(t)) <= t). Returns 0 or
 * CLOVER_ENOENT (nothing before; cron schedules do not fire before 1970).
 */
int cron_prev(const struct cron_expr *c, const struct tz *z, int64_t before_ms,
	      int64_t *prev_ms);

/*
 * True when wall time `local_ms` (milliseconds on a zone's clock, read as if
 * it were UTC) matches every field of a cron schedule, ignoring daylight
 * saving: what a fire at that wall time would need. False for other kinds
 * and for fractions of a second.
 */
bool cron_matches_local(const struct cron_expr *c, int64_t local_ms);

/*
 * Writes a plain-language description into `out` (n bytes, always
 * NUL-terminated): "at 02:30, on the last Friday of every month,
 * Asia/Shanghai". `z` names the zone at the end (NULL: none named). Returns 0,
 * or CLOVER_ETOOBIG when it had to be cut short. Thread-safe.
 */
int cron_describe(const struct cron_expr *c, const struct tz *z, char *out, size_t n);

#endif
