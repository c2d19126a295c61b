/* SPDX-License-Identifier: MIT */
/*
 * Human-readable tables for the command-line client ("clover job ls"): rows of
 * text cells under a header, each column as wide as its widest cell, columns
 * separated by two spaces, no trailing blanks. Widths count characters (UTF-8
 * code points), not bytes. Cells come from the server, so they are cleaned on
 * the way in: control characters that could move the cursor or talk to the
 * terminal become '?', tabs and line breaks a space.
 *
 * Also the cell formats every table shares: instants as RFC 3339 UTC to the
 * second whatever the local time zone ("2026-03-08T07:30:00Z"), durations in
 * the shortest unit form of base/duration.h ("1m30s"), "-" for a missing value.
 */
#ifndef CLOVER_CLI_TABLE_H
#define CLOVER_CLI_TABLE_H

#include "base/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CLI_TABLE_MAX_COLS 32

struct cli_table {
	size_t ncols;
	char **head;  /* ncols cleaned headers; NULL: no header row */
	char **cells; /* nrows * ncols cleaned cells, row by row */
	size_t nrows, cap;
	bool right[CLI_TABLE_MAX_COLS]; /* column aligned to the right */
};

/*
 * Prepares an empty table of `ncols` (1..CLI_TABLE_MAX_COLS) columns with the
 * given headers (`ncols` strings), or without a header row when `headers` is
 * NULL. Returns 0, CLOVER_EINVAL or CLOVER_ENOMEM (then there is nothing to
 * free). Release with cli_table_free().
 */
int cli_table_init(struct cli_table *t, size_t ncols, const char *const *headers);

/* Aligns column `col` to the right (numbers). Out-of-range columns are ignored. */
void cli_table_align_right(struct cli_table *t, size_t col);

/*
 * Appends a row of `t->ncols` cells, copied and cleaned; a NULL cell shows as
 * "-". Returns 0 or CLOVER_ENOMEM (the table is unchanged).
 */
int cli_table_add(struct cli_table *t, const char *const *cells);

/* Appends the rendered table, one '\n'-terminated line per row, to `out`. */
int cli_table_render(const struct cli_table *t, struct buf *out);

/* Renders the table to `f`. Returns 0 or a CLOVER_E* code. */
int cli_table_print(const struct cli_table *t, FILE *f);

/* Frees the table's memory; safe twice and on a table whose init failed. */
void cli_table_free(struct cli_table *t);

/* Appends `s` to `out` with control characters replaced as described above. */
int cli_text_clean(struct buf *out, const char *s);

/* Display width of UTF-8 text: its number of code points. */
size_t cli_text_width(const char *s);

/*
 * Formats an RFC 3339 instant from the API as UTC without fractions into `out`
 * (32 bytes are enough): "-" for NULL, the text itself when it does not parse.
 * Returns `out`.
 */
char *cli_format_time(const char *rfc3339, char *out, size_t n);

/*
 * Formats milliseconds as "1h30m" into `out`: exact below a minute ("1s500ms"),
 * to the second from a minute on; "-" when `ms` is negative. Returns `out`.
 */
char *cli_format_duration(int64_t ms, char *out, size_t n);

#endif
