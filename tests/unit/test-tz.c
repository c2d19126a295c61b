/* SPDX-License-Identifier: MIT */
/*
 * Tests of the time-zone reader (src/cron/tz.c): offsets and local-time
 * conversions from the vectors in tests/data/cron/tz.txt, zone-name checks,
 * the cache (one load per zone, shared across threads), the directory
 * override, and hand-built TZif images for versions 1 and 3, footer-only
 * ("slim") files, DST all year, leap-second files and corrupt input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/time.h"
#include "clover.h"
#include "cron/tz.h"
#include "cron-vectors.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int64_t at(const char *rfc3339)
{
	int64_t ms;

	assert_int_equal(time_parse_rfc3339(rfc3339, &ms), 0);
	return ms;
}

/* "2026-03-08T02:30:00" read as a wall time. */
static int64_t wall(const char *s)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%sZ", s);
	return at(buf);
}

static int64_t parse_offset(const char *s)
{
	int h = 0, m = 0, sec = 0;
	int n = sscanf(s + 1, "%d:%d:%d", &h, &m, &sec);

	assert_true(n >= 2);
	return (s[0] == '-' ? -1 : 1) * ((int64_t)h * 3600 + m * 60 + sec) * 1000;
}

static void test_vectors(void **state)
{
	char line[1024];
	FILE *f = open_vectors("tz.txt");
	int cases = 0;

	(void)state;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *fl[6];
		int nf;
		const struct tz *z;
		struct error_info e;

		if (line[0] == '#' || trim(line)[0] == '\0')
			continue;
		nf = split(line, fl, 6);
		assert_true(nf >= 4);
		if (tz_get(fl[1], &z, &e) != 0)
			fail_msg("%s: %s", fl[1], e.message);
		if (strcmp(fl[0], "offset") == 0) {
			int64_t got = tz_offset_at(z, at(fl[2]));

			if (got != parse_offset(fl[3]))
				fail_msg("offset %s at %s: got %lld ms, want %s", fl[1], fl[2],
					 (long long)got, fl[3]);
			assert_int_equal(tz_local_at(z, at(fl[2])), at(fl[2]) + got);
		} else {
			struct tz_local tl;
			enum tz_local_kind kind = strcmp(fl[3], "gap") == 0       ? TZ_LOCAL_GAP
						  : strcmp(fl[3], "overlap") == 0 ? TZ_LOCAL_OVERLAP
										  : TZ_LOCAL_UNIQUE;

			char *later = strchr(fl[4], ' ');

			assert_int_equal(nf, 5);
			if (later != NULL)
				*later++ = '\0';
			assert_true((later != NULL) == (kind == TZ_LOCAL_OVERLAP));
			tz_local_to_utc(z, wall(fl[2]), &tl);
			if (tl.kind != kind || tl.utc != at(fl[4]) ||
			    tl.utc_later != at(later ? later : fl[4]))
				fail_msg("local %s %s: got kind %d utc %lld later %lld, want %s", fl[1],
					 fl[2], tl.kind, (long long)tl.utc, (long long)tl.utc_later,
					 fl[3]);
			if (kind != TZ_LOCAL_UNIQUE)
				assert_true(tl.transition != 0);
		}
		cases++;
	}
	fclose(f);
	assert_true(cases >= 40);
	tz_cleanup();
}

static void test_names(void **state)
{
	static const char *const bad[] = {
		"", "/etc/localtime", "../etc/passwd", "America/../../etc/passwd", "a//b",
		"America/", "./UTC", "Europe/Nowhere", "Europe/Paris\n", "Europe Paris",
		"America", /* a directory */
	};
	const struct tz *z, *z2;
	struct error_info e;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(tz_get(bad[i], &z, &e), CLOVER_ENOENT);
		assert_string_equal(e.field, "timezone");
		assert_non_null(strstr(e.message, "unknown time zone"));
	}
	assert_int_equal(tz_get("Europe/Nowhere", &z, &e), CLOVER_ENOENT);
	assert_string_equal(e.message, "unknown time zone 'Europe/Nowhere'");
	assert_int_equal(tz_get(NULL, &z, NULL), CLOVER_ENOENT);
	/* cached: the same object every time */
	assert_int_equal(tz_get("Europe/Paris", &z, NULL), 0);
	assert_int_equal(tz_get("Europe/Paris", &z2, NULL), 0);
	assert_ptr_equal(z, z2);
	assert_string_equal(tz_name(z), "Europe/Paris");
	/* UTC needs no database */
	tz_set_dir("/nonexistent");
	assert_int_equal(tz_get("UTC", &z, NULL), 0);
	assert_string_equal(tz_name(z), "UTC");
	assert_int_equal(tz_offset_at(z, at("2026-07-01T00:00:00Z")), 0);
	assert_int_equal(tz_get("Europe/Berlin", &z, &e), CLOVER_ENOENT);
	/* already cached zones stay */
	assert_int_equal(tz_get("Europe/Paris", &z, NULL), 0);
	tz_set_dir(NULL);
	assert_int_equal(tz_get("Europe/Berlin", &z, NULL), 0);
	/* leap-second zones are refused, plainly */
	assert_int_equal(tz_get("right/America/New_York", &z, &e), CLOVER_ENOTSUP);
	assert_non_null(strstr(e.message, "leap seconds"));
	tz_cleanup();
}

static void test_env_dir(void **state)
{
	char dir[] = "/tmp/clover-tz-XXXXXX", path[256];
	const struct tz *z;
	FILE *in, *out;
	char buf[4096];
	size_t n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/Test_Zone", dir);
	in = fopen("/usr/share/zoneinfo/Asia/Tokyo", "rb");
	assert_non_null(in);
	out = fopen(path, "wb");
	assert_non_null(out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	fclose(out);
	setenv("CLOVER_ZONEINFO", dir, 1);
	assert_int_equal(tz_get("Test_Zone", &z, NULL), 0);
	assert_int_equal(tz_offset_at(z, at("2026-01-01T00:00:00Z")), 9 * 3600 * 1000);
	assert_int_equal(tz_get("Asia/Tokyo", &z, NULL), CLOVER_ENOENT);
	unsetenv("CLOVER_ZONEINFO");
	unlink(path);
	rmdir(dir);
	tz_cleanup();
}

/* ---- hand-built TZif images ---------------------------------------------------- */

struct img {
	uint8_t b[4096];
	size_t n;
};

static void put8(struct img *m, uint8_t v)
{
	m->b[m->n++] = v;
}

static void put32(struct img *m, uint32_t v)
{
	for (int i = 3; i >= 0; i--)
		put8(m, (uint8_t)(v >> (8 * i)));
}

static void put64(struct img *m, int64_t v)
{
	put32(m, (uint32_t)((uint64_t)v >> 32));
	put32(m, (uint32_t)v);
}

struct zone_spec {
	int ntrans;
	const int64_t *trans;
	const uint8_t *idx;
	int ntypes;
	const int32_t *utoff;
	int leap; /* add one leap-second record */
};

static void header(struct img *m, char version, const struct zone_spec *s)
{
	memcpy(m->b + m->n, "TZif", 4);
	m->n += 4;
	put8(m, (uint8_t)version);
	for (int i = 0; i < 15; i++)
		put8(m, 0);
	put32(m, 0); /* isutcnt */
	put32(m, 0); /* isstdcnt */
	put32(m, (uint32_t)s->leap);
	put32(m, (uint32_t)s->ntrans);
	put32(m, (uint32_t)s->ntypes);
	put32(m, 4); /* charcnt: "ABC\0" */
}

static void block(struct img *m, const struct zone_spec *s, int tsize)
{
	for (int i = 0; i < s->ntrans; i++) {
		if (tsize == 8)
			put64(m, s->trans[i]);
		else
			put32(m, (uint32_t)(int32_t)s->trans[i]);
	}
	for (int i = 0; i < s->ntrans; i++)
		put8(m, s->idx[i]);
	for (int i = 0; i < s->ntypes; i++) {
		put32(m, (uint32_t)s->utoff[i]);
		put8(m, 0);
		put8(m, 0);
	}
	memcpy(m->b + m->n, "ABC", 4);
	m->n += 4;
	for (int i = 0; i < s->leap; i++) {
		if (tsize == 8)
			put64(m, 78796800);
		else
			put32(m, 78796800);
		put32(m, 1);
	}
}

/* A TZif image: version '\0' (v1 only) or '2'/'3' with `footer`. */
static void build(struct img *m, char version, const struct zone_spec *s, const char *footer)
{
	m->n = 0;
	header(m, version, s);
	block(m, s, 4);
	if (version == '\0')
		return;
	header(m, version, s);
	block(m, s, 8);
	put8(m, '\n');
	memcpy(m->b + m->n, footer, strlen(footer));
	m->n += strlen(footer);
	put8(m, '\n');
}

static int64_t off_at(const struct tz *z, const char *when)
{
	return tz_offset_at(z, at(when)) / 1000;
}

static void test_tzif_versions(void **state)
{
	static const int64_t trans[] = {1000000000, 1100000000};
	static const uint8_t idx[] = {1, 0};
	static const int32_t utoff[] = {3600, 7200};
	struct zone_spec s = {2, trans, idx, 2, utoff, 0};
	struct zone_spec none = {0, NULL, NULL, 1, utoff, 0};
	struct img m;
	struct tz *z;
	struct error_info e;
	struct tz_local tl;

	(void)state;
	/* version 1: 32-bit times, no footer: the last type holds forever */
	build(&m, '\0', &s, "");
	assert_int_equal(tz_load_buffer("v1", m.b, m.n, &z, &e), 0);
	assert_int_equal(off_at(z, "2001-01-01T00:00:00Z"), 3600);
	assert_int_equal(off_at(z, "2002-01-01T00:00:00Z"), 7200);
	assert_int_equal(off_at(z, "2100-01-01T00:00:00Z"), 3600);
	tz_free(z);
	/* version 2, footer with DST rules for instants past the table */
	build(&m, '2', &s, "CET-1CEST,M3.5.0,M10.5.0/3");
	assert_int_equal(tz_load_buffer("v2", m.b, m.n, &z, &e), 0);
	assert_int_equal(off_at(z, "2150-07-01T00:00:00Z"), 7200);
	assert_int_equal(off_at(z, "2150-12-01T00:00:00Z"), 3600);
	assert_int_equal(off_at(z, "3000-07-01T00:00:00Z"), 7200);
	tz_free(z);
	/* a "slim" file: no transitions, everything from the footer */
	build(&m, '2', &none, "EST5EDT,M3.2.0,M11.1.0");
	assert_int_equal(tz_load_buffer("slim", m.b, m.n, &z, &e), 0);
	assert_int_equal(off_at(z, "2026-03-08T06:59:59Z"), -5 * 3600);
	assert_int_equal(off_at(z, "2026-03-08T07:00:00Z"), -4 * 3600);
	assert_int_equal(off_at(z, "2026-11-01T06:00:00Z"), -5 * 3600);
	tz_local_to_utc(z, wall("2026-03-08T02:30:00"), &tl);
	assert_int_equal(tl.kind, TZ_LOCAL_GAP);
	assert_int_equal(tl.utc, at("2026-03-08T07:30:00Z"));
	tz_free(z);
	/* version 3: DST all year (transition times of 0 and 25 hours) */
	build(&m, '3', &none, "<-03>3<-02>,0/0,J365/25");
	assert_int_equal(tz_load_buffer("v3", m.b, m.n, &z, &e), 0);
	assert_int_equal(off_at(z, "2030-01-01T12:00:00Z"), -2 * 3600);
	assert_int_equal(off_at(z, "2030-06-01T00:00:00Z"), -2 * 3600);
	assert_int_equal(off_at(z, "2030-12-31T23:00:00Z"), -2 * 3600);
	assert_int_equal(off_at(z, "2400-12-31T23:00:00Z"), -2 * 3600);
	tz_local_to_utc(z, wall("2030-01-01T00:30:00"), &tl);
	assert_int_equal(tl.kind, TZ_LOCAL_UNIQUE);
	tz_free(z);
	/* version 3: rule times beyond 24 hours and Jn / n dates */
	build(&m, '3', &none, "XXX-2YYY,J60/26,300/-1");
	assert_int_equal(tz_load_buffer("v3b", m.b, m.n, &z, &e), 0);
	/* J60 is March 1 even in leap years; 26:00 local std = 00:00Z next day */
	assert_int_equal(off_at(z, "2028-03-01T23:59:59Z"), 2 * 3600);
	assert_int_equal(off_at(z, "2028-03-02T00:00:00Z"), 3 * 3600);
	/* zero-based day 300 of 2028 is October 27; -1:00 local DST = 2028-10-26T20:00Z */
	assert_int_equal(off_at(z, "2028-10-26T19:59:59Z"), 3 * 3600);
	assert_int_equal(off_at(z, "2028-10-26T20:00:00Z"), 2 * 3600);
	tz_free(z);
	/* southern hemisphere: DST across the new year */
	build(&m, '2', &none, "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0");
	assert_int_equal(tz_load_buffer("south", m.b, m.n, &z, &e), 0);
	assert_int_equal(off_at(z, "2030-01-01T00:00:00Z"), 11 * 3600);
	assert_int_equal(off_at(z, "2030-06-01T00:00:00Z"), 10 * 3600 + 1800);
	tz_free(z);
}

static void test_tzif_corrupt(void **state)
{
	static const int64_t trans[] = {1000000000, 1100000000};
	static const int64_t backwards[] = {1100000000, 1000000000};
	static const uint8_t idx[] = {1, 0}, bad_idx[] = {1, 5};
	static const int32_t utoff[] = {3600, 7200}, huge[] = {3600, 30 * 3600};
	struct zone_spec s = {2, trans, idx, 2, utoff, 0};
	struct zone_spec leap = {2, trans, idx, 2, utoff, 1};
	struct zone_spec back = {2, backwards, idx, 2, utoff, 0};
	struct zone_spec badi = {2, trans, bad_idx, 2, utoff, 0};
	struct zone_spec bigoff = {2, trans, idx, 2, huge, 0};
	static const char *const footers[] = {"EST5EDT,M3.2.0", "EST", "EST5EDT,M13.1.0,M11.1.0",
					      "<EST5", "EST5EDT,J366,J1", "EST99",
					      "EST5EDT,M3.2.0/200,M11.1.0"};
	struct img m;
	struct tz *z = NULL;
	struct error_info e;

	(void)state;
	build(&m, '2', &s, "CET-1CEST,M3.5.0,M10.5.0/3");
	/* every truncation fails cleanly */
	for (size_t n = 0; n < m.n; n++) {
		int rc = tz_load_buffer("cut", m.b, n, &z, &e);

		assert_int_equal(rc, CLOVER_EPARSE);
		assert_non_null(strstr(e.message, "not a valid TZif file"));
	}
	m.b[0] = 'X';
	assert_int_equal(tz_load_buffer("magic", m.b, m.n, &z, &e), CLOVER_EPARSE);
	build(&m, '2', &leap, "");
	assert_int_equal(tz_load_buffer("leap", m.b, m.n, &z, &e), CLOVER_ENOTSUP);
	build(&m, '2', &back, "");
	assert_int_equal(tz_load_buffer("back", m.b, m.n, &z, &e), CLOVER_EPARSE);
	build(&m, '2', &badi, "");
	assert_int_equal(tz_load_buffer("idx", m.b, m.n, &z, &e), CLOVER_EPARSE);
	build(&m, '2', &bigoff, "");
	assert_int_equal(tz_load_buffer("off", m.b, m.n, &z, &e), CLOVER_EPARSE);
	for (size_t i = 0; i < sizeof(footers) / sizeof(footers[0]); i++) {
		build(&m, '2', &s, footers[i]);
		if (tz_load_buffer("footer", m.b, m.n, &z, &e) != CLOVER_EPARSE)
			fail_msg("footer '%s' accepted", footers[i]);
	}
	assert_int_equal(tz_load_buffer("big", m.b, TZ_FILE_MAX + 1, &z, &e), CLOVER_ETOOBIG);
}

/* Every zone in zone1970.tab loads, and its offsets stay within +-16h. */
static void test_all_zones_load(void **state)
{
	FILE *f = fopen("/usr/share/zoneinfo/zone1970.tab", "r");
	char line[512];
	int count = 0;

	(void)state;
	if (f == NULL)
		skip();
	while (fgets(line, sizeof(line), f) != NULL) {
		char *name;
		const struct tz *z;
		struct error_info e;

		if (line[0] == '#')
			continue;
		/* codes, coordinates, TZ, comments: the third tab-separated column */
		name = strchr(line, '\t');
		if (name == NULL || (name = strchr(name + 1, '\t')) == NULL)
			continue;
		name++;
		name[strcspn(name, "\t\n")] = '\0';
		if (tz_get(name, &z, &e) != 0)
			fail_msg("%s: %s", name, e.message);
		for (int64_t t = -2208988800000LL; t < 7258118400000LL; t += 86400000LL * 97) {
			int64_t o = tz_offset_at(z, t);

			assert_true(o > -16 * 3600 * 1000 && o < 16 * 3600 * 1000);
		}
		count++;
	}
	fclose(f);
	assert_true(count > 300);
	tz_cleanup();
}

#define THREADS 8

static const char *const thread_zones[] = {"America/New_York", "Europe/London",
					   "Australia/Lord_Howe", "Pacific/Chatham",
					   "America/Sao_Paulo", "Asia/Shanghai"};

static void *thread_main(void *arg)
{
	const struct tz **seen = arg;

	for (int round = 0; round < 200; round++) {
		for (size_t i = 0; i < 6; i++) {
			const struct tz *z;

			if (tz_get(thread_zones[i], &z, NULL) != 0)
				return (void *)1;
			seen[i] = z;
			(void)tz_offset_at(z, (int64_t)round * 86400000LL * 30);
		}
	}
	return NULL;
}

static void test_threads(void **state)
{
	pthread_t th[THREADS];
	const struct tz *seen[THREADS][6];

	(void)state;
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, thread_main, seen[i]), 0);
	for (int i = 0; i < THREADS; i++) {
		void *rv;

		assert_int_equal(pthread_join(th[i], &rv), 0);
		assert_null(rv);
	}
	for (int i = 1; i < THREADS; i++) {
		for (int j = 0; j < 6; j++)
			assert_ptr_equal(seen[i][j], seen[0][j]);
	}
	tz_cleanup();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),       cmocka_unit_test(test_names),
		cmocka_unit_test(test_env_dir),       cmocka_unit_test(test_tzif_versions),
		cmocka_unit_test(test_tzif_corrupt),  cmocka_unit_test(test_all_zones_load),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
