/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the TZif reader: the input is a TZif image. Accepted
 * zones must give offsets within +-25 hours, local-time conversions that agree
 * with the offsets, and cron searches over them must end.
 */
#include "clover.h"
#include "cron/cron.h"
#include "cron/tz.h"

#include <stdint.h>
#include <stdlib.h>

static struct cron_expr *exprs[3];

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t probes[] = {-4102444800000LL, -1, 0, 1000000000000LL,
					 1772953200000LL, 4102444800000LL, 7258118400000LL,
					 32503680000000LL};
	struct tz *z;

	if (exprs[0] == NULL) {
		check(cron_parse("0 30 2 * * ?", &exprs[0], NULL) == 0);
		check(cron_parse("*/15 * * * *", &exprs[1], NULL) == 0);
		check(cron_parse("0 0 0 29 2 ?", &exprs[2], NULL) == 0);
	}
	if (tz_load_buffer("fuzz", data, size, &z, NULL) != 0)
		return 0;
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		int64_t off = tz_offset_at(z, probes[i]);
		struct tz_local tl;

		check(off >= -25 * 3600000LL && off <= 25 * 3600000LL);
		tz_local_to_utc(z, probes[i] + off, &tl);
		check(tl.utc_later >= tl.utc);
		if (tl.kind != TZ_LOCAL_GAP)
			check(tz_local_at(z, tl.utc) == probes[i] + off);
		for (int k = 0; k < 3; k++) {
			int64_t f;

			if (cron_next(exprs[k], z, probes[i], &f) == 0)
				check(f > probes[i]);
			if (cron_prev(exprs[k], z, probes[i], &f) == 0)
				check(f < probes[i]);
		}
	}
	tz_free(z);
	return 0;
}
