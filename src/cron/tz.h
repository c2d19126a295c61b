/* SPDX-License-Identifier: MIT */
/*
 * Time zones from the system tz database (TZif files, RFC 8536, versions 1-4).
 *
 * A `struct tz` is one IANA zone ("Europe/London"): the UTC offsets it has used
 * and will use. It is read once from <dir>/<name>, where <dir> is the one set
 * with tz_set_dir(), else $CLOVER_ZONEINFO, else /usr/share/zoneinfo, and then
 * cached for the life of the process (until tz_cleanup()). For instants past
 * the file's transition table the POSIX TZ rule in the file's footer is used,
 * so zones are right for any year. No setenv("TZ") or localtime() is involved.
 *
 * Terms: an *instant* is UTC milliseconds since the Unix epoch; a *local time*
 * (wall time) is the same count read on the zone's clock, i.e. instant plus the
 * UTC offset in force. A local time may not exist (a *gap*, when clocks spring
 * forward) or exist twice (an *overlap*, when they fall back).
 *
 * Thread-safety: every function may be called from any thread. A `struct tz`
 * is immutable once returned and may be shared freely until tz_cleanup().
 */
#ifndef CLOVER_CRON_TZ_H
#define CLOVER_CRON_TZ_H

#include "base/error.h"

#include <stddef.h>
#include <stdint.h>

/* The longest zone name accepted ("America/Argentina/ComodRivadavia" is 32). */
#define TZ_NAME_MAX 255
/* TZif files larger than this are rejected (real ones are under 4 KiB). */
#define TZ_FILE_MAX (4 * 1024 * 1024)

struct tz;

/*
 * Finds zone `name`, loading and caching it on first use, and stores it in
 * *out. "UTC" always works, even without a zone database. The zone stays
 * valid until tz_cleanup(); the caller does not free it.
 * Errors: CLOVER_ENOENT "unknown time zone 'X'" when there is no such zone (or
 * the name is not a plain relative path), CLOVER_EPARSE when the file is not a
 * valid TZif file, CLOVER_ENOTSUP for leap-second ("right/") zones,
 * CLOVER_ETOOBIG, CLOVER_EIO, CLOVER_ENOMEM; `e` (may be NULL) gets field
 * "timezone" and a message naming the zone.
 */
int tz_get(const char *name, const struct tz **out, struct error_info *e);

/*
 * Parses a TZif image held in memory (for tests and fuzzing); the zone is not
 * cached and must be released with tz_free(). Errors as for tz_get().
 */
int tz_load_buffer(const char *name, const void *data, size_t len, struct tz **out,
		   struct error_info *e);

/* Frees a zone made by tz_load_buffer(). NULL is a no-op. Never pass a cached zone. */
void tz_free(struct tz *z);

/* The name the zone was asked for ("UTC", "Europe/London"). */
const char *tz_name(const struct tz *z);

/* The UTC offset in milliseconds (east positive) in force at instant `utc_ms`. */
int64_t tz_offset_at(const struct tz *z, int64_t utc_ms);

/* Local time of an instant: utc_ms + tz_offset_at(z, utc_ms). */
int64_t tz_local_at(const struct tz *z, int64_t utc_ms);

enum tz_local_kind {
	TZ_LOCAL_UNIQUE,  /* the local time happens exactly once */
	TZ_LOCAL_GAP,     /* it never happens: clocks jumped over it */
	TZ_LOCAL_OVERLAP, /* it happens twice: clocks were turned back over it */
};

struct tz_local {
	enum tz_local_kind kind;
	/*
	 * UNIQUE: the instant. OVERLAP: the earlier of the two instants. GAP: the
	 * instant shifted forward by the length of the gap (local time read with
	 * the offset in force before the gap: 02:30 on a 02:00->03:00 day gives
	 * 03:30 new time), as RFC 5545 and java.time do.
	 */
	int64_t utc;
	/* OVERLAP: the later instant; otherwise equal to `utc`. */
	int64_t utc_later;
	/* GAP and OVERLAP: the instant of the transition; otherwise 0. */
	int64_t transition;
};

/*
 * Converts local time `local_ms` of zone `z` to UTC, reporting whether that
 * local time falls in a gap or an overlap. Always succeeds.
 */
void tz_local_to_utc(const struct tz *z, int64_t local_ms, struct tz_local *out);

/*
 * Sets the zone database directory used for zones not loaded yet (NULL goes
 * back to $CLOVER_ZONEINFO or /usr/share/zoneinfo). Zones already cached keep
 * their data. The string is copied.
 */
void tz_set_dir(const char *dir);

/*
 * Frees every cached zone. Call at shutdown (or between tests) when no
 * `struct tz` pointer is in use any more.
 */
void tz_cleanup(void);

#endif
