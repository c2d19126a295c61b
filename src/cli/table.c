/* SPDX-License-Identifier: MIT */
/*
 * Human-readable tables and cell formats for the command-line client; see
 * table.h. A table keeps cleaned copies of its cells and measures column widths
 * only when rendered, so rows may be added in any number first.
 */
#include "cli/table.h"
#include "base/duration.h"
#include "base/time.h"
#include "clover.h"

#include <stdlib.h>
#include <string.h>

#define SEP "  "

int cli_text_clean(struct buf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t run = 0;
		int rc;

		/* Copy the longest run of harmless bytes at once. */
		while (p[run] >= 0x20 && p[run] != 0x7f &&
		       !(p[run] == 0xc2 && p[run + 1] >= 0x80 && p[run + 1] <= 0x9f))
			run++;
		if (run) {
			rc = buf_append(out, p, run);
			if (rc)
				return rc;
			p += run;
			continue;
		}
		if (*p == 0xc2) {
			/* A C1 control (U+0080-U+009F) such as CSI. */
			rc = buf_append(out, "?", 1);
			p += 2;
		} else {
			rc = buf_append(out, (*p == '\t' || *p == '\n' || *p == '\r') ? " " : "?",
					1);
			p++;
		}
		if (rc)
			return rc;
	}
	/* Make sure an empty result is still a string. */
	return buf_append(out, "", 0);
}

size_t cli_text_width(const char *s)
{
	size_t w = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p & 0xc0) != 0x80)
			w++;
	}
	return w;
}

static char *clean_copy(const char *s)
{
	struct buf b;

	buf_init(&b, (size_t)1 << 30);
	if (cli_text_clean(&b, s ? s : "-")) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

int cli_table_init(struct cli_table *t, size_t ncols, const char *const *headers)
{
	memset(t, 0, sizeof(*t));
	if (ncols == 0 || ncols > CLI_TABLE_MAX_COLS)
		return CLOVER_EINVAL;
	t->ncols = ncols;
	if (headers == NULL)
		return 0;
	t->head = calloc(ncols, sizeof(*t->head));
	if (t->head == NULL)
		return CLOVER_ENOMEM;
	for (size_t i = 0; i < ncols; i++) {
		t->head[i] = clean_copy(headers[i]);
		if (t->head[i] == NULL) {
			cli_table_free(t);
			return CLOVER_ENOMEM;
		}
	}
	return 0;
}

void cli_table_align_right(struct cli_table *t, size_t col)
{
	if (col < t->ncols)
		t->right[col] = true;
}

int cli_table_add(struct cli_table *t, const char *const *cells)
{
	size_t base;

	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **p;

		if (cap > SIZE_MAX / sizeof(*p) / t->ncols)
			return CLOVER_ENOMEM;
		p = realloc(t->cells, cap * t->ncols * sizeof(*p));
		if (p == NULL)
			return CLOVER_ENOMEM;
		t->cells = p;
		t->cap = cap;
	}
	base = t->nrows * t->ncols;
	for (size_t i = 0; i < t->ncols; i++) {
		t->cells[base + i] = clean_copy(cells[i]);
		if (t->cells[base + i] == NULL) {
			while (i > 0)
				free(t->cells[base + --i]);
			return CLOVER_ENOMEM;
		}
	}
	t->nrows++;
	return 0;
}

static int pad(struct buf *out, size_t n)
{
	static const char spaces[] = "                                ";

	while (n > 0) {
		size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;
		int rc = buf_append(out, spaces, k);

		if (rc)
			return rc;
		n -= k;
	}
	return 0;
}

static int render_row(const struct cli_table *t, char *const *row, const size_t *width,
		      struct buf *out)
{
	int rc = 0;

	for (size_t i = 0; i < t->ncols && rc == 0; i++) {
		size_t w = cli_text_width(row[i]);
		bool last = i + 1 == t->ncols;

		if (i > 0)
			rc = buf_appends(out, SEP);
		if (rc == 0 && t->right[i])
			rc = pad(out, width[i] - w);
		if (rc == 0)
			rc = buf_appends(out, row[i]);
		if (rc == 0 && !t->right[i] && !last)
			rc = pad(out, width[i] - w);
	}
	return rc ? rc : buf_append(out, "\n", 1);
}

int cli_table_render(const struct cli_table *t, struct buf *out)
{
	size_t width[CLI_TABLE_MAX_COLS] = {0};
	int rc = 0;

	for (size_t i = 0; i < t->ncols; i++) {
		if (t->head)
			width[i] = cli_text_width(t->head[i]);
		for (size_t r = 0; r < t->nrows; r++) {
			size_t w = cli_text_width(t->cells[r * t->ncols + i]);

			if (w > width[i])
				width[i] = w;
		}
	}
	if (t->head)
		rc = render_row(t, t->head, width, out);
	for (size_t r = 0; r < t->nrows && rc == 0; r++)
		rc = render_row(t, t->cells + r * t->ncols, width, out);
	return rc;
}

int cli_table_print(const struct cli_table *t, FILE *f)
{
	struct buf b;
	int rc;

	buf_init(&b, (size_t)1 << 30);
	rc = cli_table_render(t, &b);
	if (rc == 0 && b.len && fwrite(b.data, 1, b.len, f) != b.len)
		rc = CLOVER_EIO;
	buf_free(&b);
	return rc;
}

void cli_table_free(struct cli_table *t)
{
	if (t->head) {
		for (size_t i = 0; i < t->ncols; i++)
			free(t->head[i]);
		free(t->head);
	}
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	t->head = NULL;
	t->cells = NULL;
	t->nrows = t->cap = 0;
}

char *cli_format_time(const char *rfc3339, char *out, size_t n)
{
	int64_t ms;

	if (rfc3339 == NULL)
		snprintf(out, n, "-");
	else if (time_parse_rfc3339(rfc3339, &ms) == 0 && n >= 32)
		time_format_rfc3339(ms, out, n, false); /* drops the milliseconds */
	else
		snprintf(out, n, "%s", rfc3339);
	return out;
}

char *cli_format_duration(int64_t ms, char *out, size_t n)
{
	if (ms < 0)
		snprintf(out, n, "-");
	else if (ms >= MS_PER_MIN)
		duration_format(ms - ms % MS_PER_SEC, out, n); /* "1m30s", not "1m30s500ms" */
	else
		duration_format(ms, out, n);
	return out;
}
