/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the CLI's human tables (src/cli/table.c): column widths from
 * content, alignment, no trailing blanks, cleaning of terminal control
 * characters, and the shared cell formats for instants and durations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cli/table.h"
#include "clover.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Renders `t` into a new string (caller frees). */
static char *render(const struct cli_table *t)
{
	struct buf b;

	buf_init(&b, 1 << 20);
	assert_int_equal(cli_table_render(t, &b), 0);
	return buf_steal(&b);
}

static void columns_are_as_wide_as_their_widest_cell(void **state)
{
	static const char *const head[] = {"NAME", "SCHEDULE", "PAUSED"};
	static const char *const r1[] = {"backup", "0 3 * * *", "no"};
	static const char *const r2[] = {"nightly-report", "@every 1h", "yes"};
	struct cli_table t;
	char *out;

	(void)state;
	assert_int_equal(cli_table_init(&t, 3, head), 0);
	assert_int_equal(cli_table_add(&t, r1), 0);
	assert_int_equal(cli_table_add(&t, r2), 0);
	out = render(&t);
	assert_string_equal(out, "NAME            SCHEDULE   PAUSED\n"
				 "backup          0 3 * * *  no\n"
				 "nightly-report  @every 1h  yes\n");
	free(out);
	cli_table_free(&t);
}

static void header_only_table_when_there_are_no_rows(void **state)
{
	static const char *const head[] = {"ID", "JOB"};
	struct cli_table t;
	char *out;

	(void)state;
	assert_int_equal(cli_table_init(&t, 2, head), 0);
	out = render(&t);
	assert_string_equal(out, "ID  JOB\n");
	free(out);
	cli_table_free(&t);
	cli_table_free(&t); /* twice is harmless */
}

static void right_aligned_columns_pad_on_the_left(void **state)
{
	static const char *const head[] = {"ID", "STATE", "EXIT"};
	static const char *const r1[] = {"7", "failed", "127"};
	static const char *const r2[] = {"1042", "ok", "0"};
	struct cli_table t;
	char *out;

	(void)state;
	assert_int_equal(cli_table_init(&t, 3, head), 0);
	cli_table_align_right(&t, 0);
	cli_table_align_right(&t, 2);
	cli_table_align_right(&t, 9); /* ignored */
	assert_int_equal(cli_table_add(&t, r1), 0);
	assert_int_equal(cli_table_add(&t, r2), 0);
	out = render(&t);
	assert_string_equal(out, "  ID  STATE   EXIT\n"
				 "   7  failed   127\n"
				 "1042  ok         0\n");
	free(out);
	cli_table_free(&t);
}

static void widths_count_characters_not_bytes(void **state)
{
	static const char *const head[] = {"NAME", "ROLE"};
	static const char *const r1[] = {"bøb", "viewer"};
	static const char *const r2[] = {"al", "admin"};
	struct cli_table t;
	char *out;

	(void)state;
	assert_int_equal(cli_text_width("bøb"), 3);
	assert_int_equal(cli_text_width(""), 0);
	assert_int_equal(cli_table_init(&t, 2, head), 0);
	assert_int_equal(cli_table_add(&t, r1), 0);
	assert_int_equal(cli_table_add(&t, r2), 0);
	out = render(&t);
	assert_string_equal(out, "NAME  ROLE\n"
				 "bøb   viewer\n"
				 "al    admin\n");
	free(out);
	cli_table_free(&t);
}

static void cells_lose_terminal_control_characters(void **state)
{
	/* "\xc2\x9b" is C1 CSI; the "x" after it is split off so it is not a hex digit. */
	static const char c1_csi[] = {'c', '1', '\xc2', '\x9b', 'x', '\0'};
	static const char *const r1[] = {"a\x1b[31mred", "two\nlines\ttab", c1_csi};
	static const char *const r2[] = {NULL, "", "é"};
	struct cli_table t;
	struct buf b;
	char *out;

	(void)state;
	assert_int_equal(cli_table_init(&t, 3, NULL), 0);
	assert_int_equal(cli_table_add(&t, r1), 0);
	assert_int_equal(cli_table_add(&t, r2), 0);
	out = render(&t);
	assert_string_equal(out, "a?[31mred  two lines tab  c1?x\n"
				 "-                         é\n");
	free(out);
	cli_table_free(&t);

	buf_init(&b, 64);
	assert_int_equal(cli_text_clean(&b, "\x7f\x01ok\r"), 0);
	assert_string_equal(b.data, "??ok ");
	buf_free(&b);
}

static void table_rejects_impossible_column_counts(void **state)
{
	struct cli_table t;

	(void)state;
	assert_int_equal(cli_table_init(&t, 0, NULL), CLOVER_EINVAL);
	assert_int_equal(cli_table_init(&t, CLI_TABLE_MAX_COLS + 1, NULL), CLOVER_EINVAL);
	cli_table_free(&t);
}

static void many_rows_grow_the_table(void **state)
{
	static const char *const head[] = {"N"};
	struct cli_table t;
	char *out;

	(void)state;
	assert_int_equal(cli_table_init(&t, 1, head), 0);
	for (int i = 0; i < 1000; i++) {
		char num[16];
		const char *row[1] = {num};

		snprintf(num, sizeof(num), "%d", i);
		assert_int_equal(cli_table_add(&t, row), 0);
	}
	assert_int_equal(t.nrows, 1000);
	out = render(&t);
	/* Header padded to the widest cell (3) is the last column: no trailing blanks. */
	assert_memory_equal(out, "N\n0\n1\n", 6);
	assert_non_null(strstr(out, "\n999\n"));
	free(out);
	cli_table_free(&t);
}

static void times_show_as_utc_seconds_whatever_the_input_offset(void **state)
{
	char out[40];

	(void)state;
	setenv("TZ", "Asia/Kolkata", 1); /* must not matter */
	assert_string_equal(cli_format_time("2026-03-08T07:30:00.123Z", out, sizeof(out)),
			    "2026-03-08T07:30:00Z");
	assert_string_equal(cli_format_time("2026-03-08T08:30:59.999+01:00", out, sizeof(out)),
			    "2026-03-08T07:30:59Z");
	assert_string_equal(cli_format_time("1969-12-31T23:59:59.500Z", out, sizeof(out)),
			    "1969-12-31T23:59:59Z");
	assert_string_equal(cli_format_time(NULL, out, sizeof(out)), "-");
	assert_string_equal(cli_format_time("soon", out, sizeof(out)), "soon");
}

static void durations_use_the_shortest_units(void **state)
{
	char out[40];

	(void)state;
	assert_string_equal(cli_format_duration(-1, out, sizeof(out)), "-");
	assert_string_equal(cli_format_duration(0, out, sizeof(out)), "0s");
	assert_string_equal(cli_format_duration(500, out, sizeof(out)), "500ms");
	assert_string_equal(cli_format_duration(1500, out, sizeof(out)), "1s500ms");
	assert_string_equal(cli_format_duration(90500, out, sizeof(out)), "1m30s");
	assert_string_equal(cli_format_duration(3600000 + 1800000, out, sizeof(out)), "1h30m");
	assert_string_equal(cli_format_duration(2LL * 86400000, out, sizeof(out)), "2d");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(columns_are_as_wide_as_their_widest_cell),
		cmocka_unit_test(header_only_table_when_there_are_no_rows),
		cmocka_unit_test(right_aligned_columns_pad_on_the_left),
		cmocka_unit_test(widths_count_characters_not_bytes),
		cmocka_unit_test(cells_lose_terminal_control_characters),
		cmocka_unit_test(table_rejects_impossible_column_counts),
		cmocka_unit_test(many_rows_grow_the_table),
		cmocka_unit_test(times_show_as_utc_seconds_whatever_the_input_offset),
		cmocka_unit_test(durations_use_the_shortest_units),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
