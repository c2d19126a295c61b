/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the schedule parser. The input is the schedule text.
 * Whatever the parser accepts is then run through next/prev/describe in a few
 * zones from instants derived from the input, checking the invariants the
 * engine relies on: next() is strictly after its argument and on a whole
 * second (cron), prev(next(t)) <= t, next(prev(next(t))) == next(t), and
 * searches end. Rejections must carry a message and the field "schedule".
 */
#include "base/hash.h"
#include "clover.h"
#include "cron/cron.h"
#include "cron/tz.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const zone_names[] = {"UTC", "America/New_York", "Australia/Lord_Howe",
					 "Pacific/Chatham", "America/Sao_Paulo"};
static const struct tz *zones[5];

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[CRON_TEXT_MAX + 64];
	struct cron_expr *c = NULL;
	struct error_info e = {0};
	uint64_t h;
	int rc;

	if (zones[0] == NULL) {
		for (int i = 0; i < 5; i++) {
			if (tz_get(zone_names[i], &zones[i], NULL) != 0)
				zones[i] = zones[0]; /* no database: UTC only */
		}
	}
	if (size >= sizeof(text))
		size = sizeof(text) - 1;
	memcpy(text, data, size);
	text[size] = '\0';
	rc = cron_parse(text, &c, &e);
	if (rc != 0) {
		check(c == NULL && e.code == rc && e.message[0] != '\0');
		check(strcmp(e.field, "schedule") == 0);
		return 0;
	}
	check(strlen(text) <= CRON_TEXT_MAX);
	h = (uint64_t)hash_bytes(data, size) << 32 | hash_bytes(text, strlen(text) / 2);
	for (int zi = 0; zi < 5; zi++) {
		const struct tz *z = zones[(zi + h) % 5];
		/* 1960 .. 2230, so both ends of the calendar get visited */
		int64_t t = -315619200000LL + (int64_t)(h % 8520000000ULL) * 1000 + (int64_t)(h % 997);
		char desc[CRON_DESCRIBE_MAX];

		check(cron_describe(c, z, desc, sizeof(desc)) == 0 || desc[0] != '\0');
		for (int i = 0; i < 6; i++) {
			int64_t f, p, f2;

			if (cron_next(c, z, t, &f) != 0)
				break;
			check(f > t);
			if (cron_kind(c) == CRON_KIND_CRON)
				check(f % 1000 == 0);
			if (cron_prev(c, z, f, &p) == 0) {
				check(p < f && p <= t);
				check(cron_next(c, z, p, &f2) == 0 && f2 == f);
			}
			t = f;
		}
		h = h * 6364136223846793005ULL + 1442695040888963407ULL;
	}
	cron_free(c);
	return 0;
}
