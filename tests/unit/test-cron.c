/* SPDX-License-Identifier: MIT */
/*
 * Tests of the schedule engine (src/cron/cron.c, describe.c):
 *   - the vectors in tests/data/cron/: next.txt (fires, and prev() read
 *     backwards over the same lists), errors.txt (exact messages) and
 *     describe.txt (descriptions);
 *   - a brute-force check of the daylight-saving rules: every wall minute
 *     around real transitions is mapped to instants by the Time rules with
 *     tz_local_to_utc(), and the result must equal the chain of cron_next()
 *     (and, backwards, of cron_prev());
 *   - invariants over a corpus of expressions and zones (next is strictly
 *     after, prev(next(t)) <= t, next(prev(next(t))) == next(t));
 *   - input limits, accessors, and sharing one expression between threads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/time.h"
#include "clover.h"
#include "cron/cron.h"
#include "cron/tz.h"
#include "cron-vectors.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t at(const char *rfc3339)
{
	int64_t ms;

	if (time_parse_rfc3339(rfc3339, &ms) != 0)
		fail_msg("bad instant '%s'", rfc3339);
	return ms;
}

static const char *fmt(int64_t ms, char *buf)
{
	return time_format_rfc3339(ms, buf, 40, true);
}

static struct cron_expr *parse_ok(const char *text)
{
	struct cron_expr *c = NULL;
	struct error_info e = {0};

	if (cron_parse(text, &c, &e) != 0)
		fail_msg("'%s': %s", text, e.message);
	return c;
}

static const struct tz *zone(const char *name)
{
	const struct tz *z;
	struct error_info e;

	if (tz_get(name, &z, &e) != 0)
		fail_msg("%s", e.message);
	return z;
}

/* ---- vectors ------------------------------------------------------------------ */

static void test_next_vectors(void **state)
{
	static char line[4096];
	FILE *f = open_vectors("next.txt");
	int cases = 0, fires = 0;

	(void)state;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *fl[4], *tok, *save = NULL, buf[40], buf2[40], buf3[40];
		struct cron_expr *c;
		const struct tz *z;
		int64_t from, t, want[64], p;
		int n = 0;
		bool end = false;

		if (line[0] == '#' || trim(line)[0] == '\0')
			continue;
		assert_int_equal(split(line, fl, 4), 4);
		z = zone(fl[0]);
		from = at(fl[1]);
		c = parse_ok(fl[2]);
		for (tok = fl[3]; tok != NULL && *tok != '\0'; tok = save) {
			save = strchr(tok, ' ');
			if (save != NULL)
				*save++ = '\0';
			if (strcmp(tok, "end") == 0) {
				end = true;
				break;
			}
			assert_true(n < 64);
			want[n++] = at(tok);
		}
		t = from;
		for (int i = 0; i < n; i++) {
			int64_t got;

			if (cron_next(c, z, t, &got) != 0)
				fail_msg("%s in %s after %s: no fire, want %s", fl[2], fl[0],
					 fmt(t, buf), fmt(want[i], buf2));
			if (got != want[i])
				fail_msg("%s in %s after %s: got %s, want %s", fl[2], fl[0],
					 fmt(t, buf), fmt(got, buf2), fmt(want[i], buf3));
			t = got;
			fires++;
		}
		if (end && cron_next(c, z, t, &p) != CLOVER_ENOENT)
			fail_msg("%s in %s after %s: got %s, want the end", fl[2], fl[0], fmt(t, buf),
				 fmt(p, buf2));
		/* prev() walks the same list backwards */
		for (int i = n - 1; i > 0; i--) {
			if (cron_prev(c, z, want[i], &p) != 0 || p != want[i - 1])
				fail_msg("%s in %s: prev(%s) is not %s", fl[2], fl[0],
					 fmt(want[i], buf), fmt(want[i - 1], buf2));
		}
		if (n > 0 && cron_prev(c, z, want[0], &p) == 0 && p > from)
			fail_msg("%s in %s: prev(%s) = %s is after %s", fl[2], fl[0], fmt(want[0], buf),
				 fmt(p, buf2), fl[1]);
		cron_free(c);
		cases++;
	}
	fclose(f);
	assert_true(cases >= 120);
	assert_true(fires >= 350);
	tz_cleanup();
}

static void test_error_vectors(void **state)
{
	char line[2048];
	FILE *f = open_vectors("errors.txt");
	int cases = 0;

	(void)state;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *fl[3];
		struct cron_expr *c = NULL;
		struct error_info e = {0};
		int rc;

		if (line[0] == '#' || trim(line)[0] == '\0')
			continue;
		assert_int_equal(split(line, fl, 3), 3);
		rc = cron_parse(fl[0], &c, &e);
		if (rc == 0)
			fail_msg("'%s' was accepted", fl[0]);
		assert_null(c);
		if (strcmp(clover_errname(rc), fl[1]) != 0 || strcmp(e.message, fl[2]) != 0)
			fail_msg("'%s': got %s \"%s\", want %s \"%s\"", fl[0], clover_errname(rc),
				 e.message, fl[1], fl[2]);
		assert_int_equal(e.code, rc);
		assert_string_equal(e.field, "schedule");
		cases++;
	}
	fclose(f);
	assert_true(cases >= 60);
}

static void test_describe_vectors(void **state)
{
	char line[2048];
	FILE *f = open_vectors("describe.txt");
	int cases = 0;

	(void)state;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *fl[3], out[CRON_DESCRIBE_MAX];
		struct cron_expr *c;

		if (line[0] == '#' || trim(line)[0] == '\0')
			continue;
		assert_int_equal(split(line, fl, 3), 3);
		c = parse_ok(fl[1]);
		assert_int_equal(
			cron_describe(c, strcmp(fl[0], "-") == 0 ? NULL : zone(fl[0]), out, sizeof(out)),
			0);
		if (strcmp(out, fl[2]) != 0)
			fail_msg("'%s': got \"%s\", want \"%s\"", fl[1], out, fl[2]);
		/* a short buffer is cut and says so */
		assert_int_equal(cron_describe(c, NULL, out, 8), CLOVER_ETOOBIG);
		assert_int_equal(strlen(out), 7);
		cron_free(c);
		cases++;
	}
	fclose(f);
	assert_true(cases >= 25);
	tz_cleanup();
}

/* ---- the daylight-saving rules, brute force ------------------------------------------ */

#define MAX_FIRES 4096

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/*
 * The fires of c in [lo, hi) by definition: every matching wall minute near
 * the window, mapped with tz_local_to_utc(): unique and gap times once (a gap
 * time shifted forward), overlap times at the first occurrence, and at the
 * second too unless the hour is fixed. Duplicates fire once.
 */
static int brute_force(const struct cron_expr *c, const struct tz *z, int64_t lo, int64_t hi,
		       int64_t *out)
{
	int n = 0, m = 0;

	for (int64_t w = lo - 40 * MS_PER_HOUR; w < hi + 40 * MS_PER_HOUR; w += MS_PER_MIN) {
		struct tz_local tl;

		if (!cron_matches_local(c, w))
			continue;
		tz_local_to_utc(z, w, &tl);
		assert_true(n + 2 < MAX_FIRES);
		out[n++] = tl.utc;
		if (tl.kind == TZ_LOCAL_OVERLAP && !cron_hour_fixed(c))
			out[n++] = tl.utc_later;
	}
	qsort(out, (size_t)n, sizeof(out[0]), cmp64);
	for (int i = 0; i < n; i++) {
		if (out[i] >= lo && out[i] < hi && (m == 0 || out[m - 1] != out[i]))
			out[m++] = out[i];
	}
	return m;
}

static void test_dst_brute_force(void **state)
{
	static const struct {
		const char *zone, *transition;
	} cases[] = {
		{"America/New_York", "2026-03-08T07:00:00Z"},
		{"America/New_York", "2026-11-01T06:00:00Z"},
		{"America/New_York", "2199-03-10T07:00:00Z"},
		{"America/New_York", "2199-11-03T06:00:00Z"},
		{"Europe/London", "2026-03-29T01:00:00Z"},
		{"Europe/London", "2026-10-25T01:00:00Z"},
		{"Australia/Lord_Howe", "2026-04-04T15:00:00Z"},
		{"Australia/Lord_Howe", "2026-10-03T15:30:00Z"},
		{"Pacific/Chatham", "2026-04-04T14:00:00Z"},
		{"Pacific/Chatham", "2026-09-26T14:00:00Z"},
		{"America/Sao_Paulo", "2018-11-04T03:00:00Z"},
		{"America/Sao_Paulo", "2019-02-17T02:00:00Z"},
		{"Pacific/Apia", "2011-12-30T10:00:00Z"},
		{"Europe/Dublin", "2026-10-25T01:00:00Z"},
		{"Antarctica/Troll", "2026-03-29T01:00:00Z"},
	};
	static const char *const exprs[] = {
		"0 * * * *",       "*/15 * * * *",   "30 2 * * *",      "30 1 * * *",
		"0 0 * * *",       "0,30 1-3 * * *", "0 */2 * * *",     "15 1,13 * * *",
		"45 2 * * *",      "0 3 * * *",      "50 2 * * *",      "*/7 0-4 * * *",
		"0 23 * * *",      "30 23 * * *",    "0 0 * * 0",       "0 0/30 2 * * ?",
		"0 45 1 ? * SUN",  "0 50 3 * * ?",   "59 23 * * *",     "* 1 * * *",
		"0 0 0 1W * ?",      "5 0-3/3 * * *",  "@hourly",         "@daily",
	};
	static int64_t want[MAX_FIRES];
	int checked = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tz *z = zone(cases[i].zone);
		int64_t tr = at(cases[i].transition);
		int64_t lo = tr - 12 * MS_PER_HOUR, hi = tr + 12 * MS_PER_HOUR;

		for (size_t j = 0; j < sizeof(exprs) / sizeof(exprs[0]); j++) {
			struct cron_expr *c = parse_ok(exprs[j]);
			int n = brute_force(c, z, lo, hi, want), k = 0;
			int64_t t = lo - 1, f;
			char b1[40], b2[40];

			while (cron_next(c, z, t, &f) == 0 && f < hi) {
				if (k >= n || f != want[k])
					fail_msg("%s in %s near %s: fire %d is %s, brute force says %s",
						 exprs[j], cases[i].zone, cases[i].transition, k,
						 fmt(f, b1), k < n ? fmt(want[k], b2) : "none");
				k++;
				t = f;
			}
			if (k != n)
				fail_msg("%s in %s near %s: %d fires, brute force says %d", exprs[j],
					 cases[i].zone, cases[i].transition, k, n);
			/* and backwards */
			t = hi;
			while (k > 0 && cron_prev(c, z, t, &f) == 0 && f >= lo) {
				k--;
				if (f != want[k])
					fail_msg("%s in %s near %s: prev fire %d is %s, want %s",
						 exprs[j], cases[i].zone, cases[i].transition, k,
						 fmt(f, b1), fmt(want[k], b2));
				t = f;
			}
			assert_int_equal(k, 0);
			checked += n;
			cron_free(c);
		}
	}
	assert_true(checked > 1000);
	tz_cleanup();
}

/* ---- invariants over a corpus ---------------------------------------------------------- */

static const char *const corpus[] = {
	"* * * * * ?",          "0 0 12 * * ?",         "0 15 10 ? * MON-FRI",
	"0 0/5 14,18 * * ?",    "0 15 10 L * ?",        "0 15 10 ? * 6L",
	"0 15 10 ? * 6#3",      "0 0 0 15W * ?",        "0 0 0 LW * ?",
	"0 0 0 L-3W * ?",       "0 0 22-2/2 * * ?",     "0 0 12 ? * FRI-MON",
	"0 0 0 1,L * ?",        "0 0 0 29 2 ?",         "0 0 0 ? 2 MON#5",
	"0 0 0 1 1 ? 2027-2029", "*/15 * * * *",         "0 9 * * 1-5",
	"0 0 13 * 5",           "0 0 */10 * 1",         "@yearly",
	"@every 90s",           "@every 1h30m",         "@at 2026-03-08T07:30:00Z",
	"@manual",              "30 2 * * *",           "0 30 1 * * ?",
	"0 */30 * * * ?",       "0 0 0 31W * ?",        "0 0 0 ? * L",
	"59 59 23 31 12 ? 2199", "0 0 0 1 1 ? 1970",     "5,10,50 0-4 1,15,L * *",
	"0 0 0 30 2 ?",         "0 0 0 L-30 2 ?",       "0 0 1,15 * 1#5",
};

static const char *const corpus_zones[] = {
	"UTC",           "America/New_York",  "Europe/London",       "Australia/Lord_Howe",
	"Pacific/Chatham", "America/Sao_Paulo", "Asia/Shanghai",       "Asia/Kolkata",
	"Pacific/Apia",  "Europe/Dublin",     "America/St_Johns",    "Pacific/Kiritimati",
};

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void test_invariants(void **state)
{
	const int64_t lo = at("1965-01-01T00:00:00Z"), hi = at("2205-01-01T00:00:00Z");
	char b1[40], b2[40], b3[40];
	int checks = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(corpus) / sizeof(corpus[0]); i++) {
		struct cron_expr *c = parse_ok(corpus[i]);

		for (size_t j = 0; j < sizeof(corpus_zones) / sizeof(corpus_zones[0]); j++) {
			const struct tz *z = zone(corpus_zones[j]);

			for (int k = 0; k < 60; k++) {
				int64_t t = lo + (int64_t)(rnd() % (uint64_t)(hi - lo)), f, p, f2;

				if (k % 3 == 0)
					t -= t % 1000; /* whole seconds, where equality matters */
				if (cron_next(c, z, t, &f) != 0) {
					/* nothing after t: then nothing after any later instant */
					assert_int_equal(cron_next(c, z, t + 86400000LL * 400, &f),
							 CLOVER_ENOENT);
					continue;
				}
				if (f <= t || f % 1000 != 0)
					fail_msg("%s in %s: next(%s) = %s", corpus[i],
						 corpus_zones[j], fmt(t, b1), fmt(f, b2));
				if (cron_prev(c, z, f, &p) == 0) {
					if (p > t || cron_next(c, z, p, &f2) != 0 || f2 != f)
						fail_msg("%s in %s: next(%s) = %s but prev() = %s",
							 corpus[i], corpus_zones[j], fmt(t, b1),
							 fmt(f, b2), fmt(p, b3));
				}
				/* next(f - 1ms) is f again */
				assert_int_equal(cron_next(c, z, f - 1, &f2), 0);
				assert_int_equal(f2, f);
				checks++;
			}
		}
		cron_free(c);
	}
	assert_true(checks > 10000);
	tz_cleanup();
}

/* ---- limits, accessors, threads ------------------------------------------------------------ */

static void test_limits(void **state)
{
	char big[CRON_TEXT_MAX + 2];
	struct cron_expr *c = NULL;
	struct error_info e;

	(void)state;
	assert_int_equal(cron_parse(NULL, &c, &e), CLOVER_EINVAL);
	assert_int_equal(cron_parse("", &c, &e), CLOVER_EPARSE);
	assert_string_equal(e.message, "schedule is empty");
	assert_int_equal(cron_parse(" \t\n ", &c, &e), CLOVER_EPARSE);
	assert_int_equal(cron_parse("0 0 * * *\x01", &c, &e), CLOVER_EPARSE);
	assert_string_equal(e.message, "schedule contains a control or non-ASCII character at byte 9");
	assert_int_equal(cron_parse("0 0 * * MON\xc3\xa9", &c, &e), CLOVER_EPARSE);
	/* exactly the limit is fine, one more byte is not */
	memset(big, ' ', sizeof(big));
	memcpy(big, "0 0 * * *", 9);
	big[CRON_TEXT_MAX] = '\0';
	c = parse_ok(big);
	cron_free(c);
	big[CRON_TEXT_MAX] = ' ';
	big[CRON_TEXT_MAX + 1] = '\0';
	assert_int_equal(cron_parse(big, &c, &e), CLOVER_ETOOBIG);
	assert_string_equal(e.message, "schedule is longer than 1024 bytes");
	/* a long but valid list */
	{
		char list[CRON_TEXT_MAX];
		size_t off = 0;

		for (int i = 0; i < 60; i++)
			off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%d", i ? "," : "", i);
		snprintf(list + off, sizeof(list) - off, " * * * *");
		c = parse_ok(list);
		cron_free(c);
	}
	/* surrounding and inner white space, tabs, lower case */
	c = parse_ok("  0\t30  2 ? *\tsun#2  ");
	cron_free(c);
	cron_free(NULL);
	/* errors leave *out alone and NULL e is fine */
	c = NULL;
	assert_int_equal(cron_parse("61 * * * *", &c, NULL), CLOVER_ERANGE);
	assert_null(c);
}

static void test_accessors(void **state)
{
	static const struct {
		const char *text;
		enum cron_kind kind;
		enum cron_dialect dialect;
		bool fixed;
	} cases[] = {
		{"0 30 1 * * ?", CRON_KIND_CRON, CRON_DIALECT_QUARTZ, true},
		{"0 30 1 * * ? 2030", CRON_KIND_CRON, CRON_DIALECT_QUARTZ, true},
		{"30 1 * * *", CRON_KIND_CRON, CRON_DIALECT_UNIX, true},
		{"30 1-1 * * *", CRON_KIND_CRON, CRON_DIALECT_UNIX, true},
		{"30 1,1 * * *", CRON_KIND_CRON, CRON_DIALECT_UNIX, true},
		{"30 3/24 * * *", CRON_KIND_CRON, CRON_DIALECT_UNIX, true},
		{"30 */24 * * *", CRON_KIND_CRON, CRON_DIALECT_UNIX, true},
		{"@daily", CRON_KIND_CRON, CRON_DIALECT_UNIX, true},
		{"30 * * * *", CRON_KIND_CRON, CRON_DIALECT_UNIX, false},
		{"30 */2 * * *", CRON_KIND_CRON, CRON_DIALECT_UNIX, false},
		{"30 1,13 * * *", CRON_KIND_CRON, CRON_DIALECT_UNIX, false},
		{"30 1-2 * * *", CRON_KIND_CRON, CRON_DIALECT_UNIX, false},
		{"@hourly", CRON_KIND_CRON, CRON_DIALECT_UNIX, false},
		{"@every 90s", CRON_KIND_EVERY, CRON_DIALECT_NONE, false},
		{"@at 2026-03-08T07:30:00Z", CRON_KIND_AT, CRON_DIALECT_NONE, false},
		{"@manual", CRON_KIND_MANUAL, CRON_DIALECT_NONE, false},
		{"@MANUAL", CRON_KIND_MANUAL, CRON_DIALECT_NONE, false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cron_expr *c = parse_ok(cases[i].text);

		assert_int_equal(cron_kind(c), cases[i].kind);
		assert_int_equal(cron_dialect(c), cases[i].dialect);
		if (cron_hour_fixed(c) != cases[i].fixed)
			fail_msg("%s: hour fixed should be %d", cases[i].text, cases[i].fixed);
		assert_int_equal(cron_every_ms(c), cases[i].kind == CRON_KIND_EVERY ? 90000 : 0);
		assert_int_equal(cron_at_ms(c),
				 cases[i].kind == CRON_KIND_AT ? at("2026-03-08T07:30:00Z") : 0);
		cron_free(c);
	}
}

static void test_matches_local(void **state)
{
	struct cron_expr *c = parse_ok("0 30 2 L * ?");
	struct cron_expr *e = parse_ok("@every 1s");

	(void)state;
	assert_true(cron_matches_local(c, at("2026-02-28T02:30:00Z")));
	assert_false(cron_matches_local(c, at("2026-02-27T02:30:00Z")));
	assert_false(cron_matches_local(c, at("2026-02-28T02:30:00Z") + 1));
	assert_false(cron_matches_local(c, at("2026-02-28T02:30:01Z")));
	assert_false(cron_matches_local(c, at("1969-12-31T02:30:00Z")));
	assert_false(cron_matches_local(e, at("2026-02-28T02:30:00Z")));
	cron_free(c);
	cron_free(e);
}

struct thread_arg {
	const struct cron_expr *c;
	const struct tz *z;
	int64_t sum;
};

static void *thread_main(void *p)
{
	struct thread_arg *a = p;
	int64_t t = 1767225600000LL; /* 2026-01-01 */

	a->sum = 0;
	for (int i = 0; i < 20000; i++) {
		if (cron_next(a->c, a->z, t, &t) != 0)
			break;
		a->sum += t / 1000 % 1000003;
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct cron_expr *c = parse_ok("0 */7 * * * ?");
	struct thread_arg args[6];
	pthread_t th[6];
	const struct tz *z = zone("Europe/London");

	(void)state;
	for (int i = 0; i < 6; i++) {
		args[i].c = c;
		args[i].z = z;
		assert_int_equal(pthread_create(&th[i], NULL, thread_main, &args[i]), 0);
	}
	for (int i = 0; i < 6; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (int i = 1; i < 6; i++)
		assert_int_equal(args[i].sum, args[0].sum);
	cron_free(c);
	tz_cleanup();
}

/* A NULL zone is UTC; @every and @at ignore zones. */
static void test_null_zone(void **state)
{
	struct cron_expr *c = parse_ok("0 30 2 * * ?");
	int64_t a, b;

	(void)state;
	assert_int_equal(cron_next(c, NULL, at("2026-03-08T00:00:00Z"), &a), 0);
	assert_int_equal(cron_next(c, zone("UTC"), at("2026-03-08T00:00:00Z"), &b), 0);
	assert_int_equal(a, b);
	assert_int_equal(a, at("2026-03-08T02:30:00Z"));
	assert_int_equal(cron_prev(c, NULL, a, &b), 0);
	assert_int_equal(b, at("2026-03-07T02:30:00Z"));
	/* extreme instants */
	assert_int_equal(cron_next(c, NULL, INT64_MIN, &a), 0);
	assert_int_equal(a, at("1970-01-01T02:30:00Z"));
	assert_int_equal(cron_next(c, NULL, INT64_MAX, &a), CLOVER_ENOENT);
	assert_int_equal(cron_prev(c, NULL, INT64_MIN, &a), CLOVER_ENOENT);
	assert_int_equal(cron_prev(c, NULL, INT64_MAX, &a), 0);
	assert_int_equal(a, at("2199-12-31T02:30:00Z"));
	cron_free(c);
	c = parse_ok("@every 1h");
	assert_int_equal(cron_next(c, NULL, INT64_MAX - 1, &a), CLOVER_ENOENT);
	assert_int_equal(cron_prev(c, NULL, INT64_MIN, &a), CLOVER_ENOENT);
	assert_int_equal(cron_prev(c, NULL, at("2026-01-01T00:00:00Z"), &a), 0);
	assert_int_equal(a, at("2025-12-31T23:00:00Z"));
	cron_free(c);
	tz_cleanup();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_next_vectors),   cmocka_unit_test(test_error_vectors),
		cmocka_unit_test(test_describe_vectors), cmocka_unit_test(test_dst_brute_force),
		cmocka_unit_test(test_invariants),     cmocka_unit_test(test_limits),
		cmocka_unit_test(test_accessors),      cmocka_unit_test(test_matches_local),
		cmocka_unit_test(test_threads),        cmocka_unit_test(test_null_zone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
