/* SPDX-License-Identifier: MIT */
/*
 * Error details. Codes are the CLOVER_E* values of include/clover.h; a
 * `struct error_info` carries, next to a code, the field that was wrong and a
 * sentence for the user ("day-of-month: '32' is out of range 1-31"). Parsers and
 * validators fill one in; callers that do not care pass NULL.
 */
#ifndef CLOVER_BASE_ERROR_H
#define CLOVER_BASE_ERROR_H

#include "clover.h"

#include <stddef.h>

#define ERROR_FIELD_MAX 128
#define ERROR_MSG_MAX 512

struct error_info {
	int code;
	char field[ERROR_FIELD_MAX];  /* "" when no single field is to blame */
	char message[ERROR_MSG_MAX];
};

/*
 * Fills `e` (if not NULL) with code, field (may be NULL) and a printf-style
 * message; returns `code` so callers can write `return error_set(e, ...)`.
 */
int error_set(struct error_info *e, int code, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Resets `e` to "no error". NULL is a no-op. */
void error_clear(struct error_info *e);

/* Translates an errno value into the nearest CLOVER_E* code. */
int error_from_errno(int err);

#endif
