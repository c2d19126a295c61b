/* SPDX-License-Identifier: MIT */
/*
 * Durations as written by people: a sequence of <number><unit> with units
 * ms, s, m, h, d ("90s", "1h30m", "10m", "500ms", "2d"). A bare "0" is zero.
 */
#ifndef CLOVER_BASE_DURATION_H
#define CLOVER_BASE_DURATION_H

#include "base/error.h"

#include <stddef.h>
#include <stdint.h>

/* Largest accepted duration: 100 years, so sums never overflow. */
#define DURATION_MAX_MS (100LL * 366 * 24 * 3600 * 1000)

/*
 * Parses `s` into milliseconds. On error returns CLOVER_EPARSE or CLOVER_ERANGE
 * and fills `e` (field left empty, for the caller to name) with a message that
 * quotes the input.
 */
int duration_parse(const char *s, int64_t *ms, struct error_info *e);

/* Writes the shortest form ("1h30m", "500ms", "0s") into `out`; returns out. */
char *duration_format(int64_t ms, char *out, size_t n);

#endif
