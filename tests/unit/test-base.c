/* SPDX-License-Identifier: MIT */
/* Unit tests of the base layer: heap, hash map, durations, time, buffers, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/duration.h"
#include "base/error.h"
#include "base/hash.h"
#include "base/heap.h"
#include "base/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct item {
	struct heap_node node;
	int tag;
};

static void heap_pops_in_deadline_then_insertion_order(void **state)
{
	struct heap h;
	struct item it[6] = {{.tag = 0}, {.tag = 1}, {.tag = 2}, {.tag = 3}, {.tag = 4}, {.tag = 5}};
	int64_t dl[6] = {50, 10, 50, 10, 30, 10};
	int want[6] = {1, 3, 5, 4, 0, 2};

	(void)state;
	heap_init(&h);
	for (int i = 0; i < 6; i++) {
		heap_node_init(&it[i].node);
		assert_int_equal(heap_insert(&h, &it[i].node, dl[i]), 0);
	}
	for (int i = 0; i < 6; i++) {
		struct heap_node *n = heap_pop(&h);

		assert_non_null(n);
		assert_int_equal(container_of(n, struct item, node)->tag, want[i]);
		assert_false(heap_node_active(n));
	}
	assert_null(heap_pop(&h));
	heap_free(&h);
}

static void heap_remove_keeps_order_under_random_load(void **state)
{
	enum { N = 5000 };
	struct heap h;
	struct item *it = calloc(N, sizeof(*it));
	uint64_t x = 88172645463325252ull;
	int64_t last = INT64_MIN;

	(void)state;
	heap_init(&h);
	for (int i = 0; i < N; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		heap_node_init(&it[i].node);
		heap_insert(&h, &it[i].node, (int64_t)(x % 1000));
	}
	for (int i = 0; i < N; i += 3)
		heap_remove(&h, &it[i].node);
	heap_remove(&h, &it[0].node); /* removing twice is harmless */
	assert_int_equal(h.n, N - (N + 2) / 3);
	for (struct heap_node *n; (n = heap_pop(&h)) != NULL;) {
		assert_true(n->deadline >= last);
		last = n->deadline;
	}
	heap_free(&h);
	free(it);
}

static void hmap_puts_gets_deletes_and_iterates(void **state)
{
	struct hmap m;
	char keys[2000][16];
	size_t i, count = 0;
	const char *k;
	void *v;

	(void)state;
	hmap_init(&m);
	assert_null(hmap_get(&m, "nothing"));
	for (i = 0; i < 2000; i++) {
		snprintf(keys[i], sizeof(keys[i]), "job-%zu", i);
		assert_int_equal(hmap_put(&m, keys[i], (void *)(i + 1)), 0);
	}
	for (i = 0; i < 2000; i += 2)
		assert_ptr_equal(hmap_del(&m, keys[i]), (void *)(i + 1));
	assert_null(hmap_del(&m, keys[0]));
	for (i = 0; i < 2000; i++)
		assert_ptr_equal(hmap_get(&m, keys[i]), i % 2 ? (void *)(i + 1) : NULL);
	for (i = 0; hmap_next(&m, &i, &k, &v);)
		count++;
	assert_int_equal(count, 1000);
	assert_int_equal(hmap_put(&m, keys[1], (void *)7), 0);
	assert_ptr_equal(hmap_get(&m, keys[1]), (void *)7);
	assert_int_equal(m.n, 1000);
	hmap_free(&m);
}

/* Random puts, deletes and clears checked against a plain array of the truth. */
static void imap_matches_a_reference_under_random_operations(void **state)
{
	enum { KEYS = 3000 };
	static void *truth[KEYS];
	struct imap m;
	uint64_t x = 0x9E3779B97F4A7C15ull;
	size_t live = 0, seen;
	int64_t k;
	void *v;

	(void)state;
	memset(truth, 0, sizeof(truth));
	imap_init(&m);
	for (int op = 0; op < 200000; op++) {
		int64_t key;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		key = (int64_t)(x % KEYS) * 7919 + 1; /* spread, never 0 */
		switch (x >> 60) {
		case 0: /* rarely: empty everything */
			if (op % 50 == 0) {
				imap_clear(&m);
				memset(truth, 0, sizeof(truth));
				live = 0;
			}
			break;
		case 1: case 2: case 3: case 4: case 5: case 6:
			assert_ptr_equal(imap_del(&m, key), truth[x % KEYS]);
			live -= truth[x % KEYS] != NULL;
			truth[x % KEYS] = NULL;
			break;
		default:
			live += truth[x % KEYS] == NULL;
			truth[x % KEYS] = (void *)(uintptr_t)(op + 1);
			assert_int_equal(imap_put(&m, key, truth[x % KEYS]), 0);
			break;
		}
		assert_int_equal(m.n, live);
	}
	for (int i = 0; i < KEYS; i++)
		assert_ptr_equal(imap_get(&m, (int64_t)i * 7919 + 1), truth[i]);
	seen = 0;
	for (size_t i = 0; imap_next(&m, &i, &k, &v);) {
		assert_ptr_equal(truth[(k - 1) / 7919], v);
		seen++;
	}
	assert_int_equal(seen, live);
	imap_free(&m);
}

static void hash_name_is_fnv1a_32(void **state)
{
	(void)state;
	/* Reference values of 32-bit FNV-1a: they must never change. */
	assert_int_equal(hash_name(""), 0x811c9dc5u);
	assert_int_equal(hash_name("a"), 0xe40c292cu);
	assert_int_equal(hash_name("foobar"), 0xbf9cf968u);
}

static void durations_parse_and_format(void **state)
{
	struct {
		const char *in;
		int64_t ms;
		const char *out;
	} ok[] = {
		{"0", 0, "0s"},         {"500ms", 500, "500ms"}, {"90s", 90000, "1m30s"},
		{"1h30m", 5400000, "1h30m"}, {"10m", 600000, "10m"}, {"2d", 172800000, "2d"},
		{"1h0m1s", 3601000, "1h1s"},
	};
	const char *bad[] = {"", "s", "10", "10x", "1.5h", "-1s", "1h 30m", "ms10"};
	struct error_info e;
	int64_t ms;
	char buf[32];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(duration_parse(ok[i].in, &ms, &e), 0);
		assert_int_equal(ms, ok[i].ms);
		assert_string_equal(duration_format(ms, buf, sizeof(buf)), ok[i].out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(duration_parse(bad[i], &ms, &e), CLOVER_EPARSE);
		assert_non_null(strstr(e.message, "duration"));
	}
	assert_int_equal(duration_parse("999999999999d", &ms, &e), CLOVER_ERANGE);
}

static void civil_dates_round_trip_through_2199(void **state)
{
	int64_t y;
	int m, d;

	(void)state;
	assert_int_equal(time_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(time_days_from_civil(2000, 3, 1), 11017);
	for (int64_t days = time_days_from_civil(1900, 1, 1);
	     days < time_days_from_civil(2200, 1, 1); days += 1) {
		time_civil_from_days(days, &y, &m, &d);
		assert_int_equal(time_days_from_civil(y, m, d), days);
	}
	assert_false(time_is_leap(2100));
	assert_true(time_is_leap(2104));
	assert_true(time_is_leap(2000));
	assert_int_equal(time_days_in_month(2100, 2), 28);
	assert_int_equal(time_weekday(0), 4); /* Thursday */
}

static void rfc3339_parses_offsets_and_fractions(void **state)
{
	int64_t ms;
	char out[40];

	(void)state;
	assert_int_equal(time_parse_rfc3339("2026-03-08T07:30:00Z", &ms), 0);
	assert_string_equal(time_format_rfc3339(ms, out, sizeof(out), false), "2026-03-08T07:30:00Z");
	assert_int_equal(time_parse_rfc3339("2026-03-08T02:30:00.25-05:00", &ms), 0);
	assert_string_equal(time_format_rfc3339(ms, out, sizeof(out), true),
			    "2026-03-08T07:30:00.250Z");
	assert_int_equal(time_parse_rfc3339("1969-12-31T23:59:59.999999Z", &ms), 0);
	assert_int_equal(ms, -1);
	assert_int_equal(time_parse_rfc3339("2026-02-29T00:00:00Z", &ms), CLOVER_EPARSE);
	assert_int_equal(time_parse_rfc3339("2026-03-08 07:30:00", &ms), CLOVER_EPARSE);
	assert_int_equal(time_parse_rfc3339("2026-03-08T07:30:00Zjunk", &ms), CLOVER_EPARSE);
	assert_int_equal(time_parse_rfc3339("2026-03-08T07:30:00.Z", &ms), CLOVER_EPARSE);
	assert_int_equal(time_parse_rfc3339("", &ms), CLOVER_EPARSE);
}

static void buf_enforces_its_cap(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 10);
	assert_int_equal(buf_appends(&b, "12345"), 0);
	assert_int_equal(buf_printf(&b, "%d", 678), 0);
	assert_string_equal(b.data, "12345678");
	assert_int_equal(buf_appends(&b, "abc"), CLOVER_ETOOBIG);
	assert_string_equal(b.data, "12345678"); /* unchanged on failure */
	assert_int_equal(buf_printf(&b, "%s", "xyz"), CLOVER_ETOOBIG);
	assert_int_equal(buf_appends(&b, "90"), 0);
	assert_int_equal(b.len, 10);
	char *s = buf_steal(&b);

	assert_string_equal(s, "1234567890");
	assert_null(b.data);
	free(s);
	buf_free(&b);
}

static void errors_have_names_and_messages(void **state)
{
	struct error_info e;

	(void)state;
	assert_string_equal(clover_strerror(CLOVER_ENOENT), "not found");
	assert_string_equal(clover_errname(CLOVER_ETOOBIG), "ETOOBIG");
	assert_string_equal(clover_strerror(-9999), "unknown error");
	assert_int_equal(error_set(&e, CLOVER_EINVAL, "retry.max", "must be %d or less", 100),
			 CLOVER_EINVAL);
	assert_string_equal(e.field, "retry.max");
	assert_string_equal(e.message, "must be 100 or less");
	assert_int_equal(error_set(NULL, CLOVER_EIO, NULL, "x"), CLOVER_EIO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(heap_pops_in_deadline_then_insertion_order),
		cmocka_unit_test(heap_remove_keeps_order_under_random_load),
		cmocka_unit_test(hmap_puts_gets_deletes_and_iterates),
		cmocka_unit_test(imap_matches_a_reference_under_random_operations),
		cmocka_unit_test(hash_name_is_fnv1a_32),
		cmocka_unit_test(durations_parse_and_format),
		cmocka_unit_test(civil_dates_round_trip_through_2199),
		cmocka_unit_test(rfc3339_parses_offsets_and_fractions),
		cmocka_unit_test(buf_enforces_its_cap),
		cmocka_unit_test(errors_have_names_and_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
