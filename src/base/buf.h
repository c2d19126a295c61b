/* SPDX-License-Identifier: MIT */
/*
 * Growable byte buffer with a hard cap (curl's dynbuf): appending past `max`
 * fails with CLOVER_ETOOBIG and leaves the buffer as it was. The data is always
 * NUL-terminated so it can be used as a C string.
 */
#ifndef CLOVER_BASE_BUF_H
#define CLOVER_BASE_BUF_H

#include <stddef.h>

struct buf {
	char *data; /* NULL until the first append */
	size_t len;
	size_t cap;
	size_t max; /* the most bytes it may ever hold */
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
void buf_reset(struct buf *b); /* empties, keeps the memory */

int buf_append(struct buf *b, const void *p, size_t n);
int buf_appends(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Hands the data (NUL-terminated, caller frees) over and resets the buffer. */
char *buf_steal(struct buf *b);

#endif
