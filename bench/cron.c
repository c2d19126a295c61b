/* SPDX-License-Identifier: MIT */
/*
 * bench/cron: how long cron_next() and cron_parse() take.
 *
 * The corpus is every pair of a mixed set of expressions (common Unix ones,
 * Quartz with L/W/#, wrapped ranges, rare dates such as Feb 29 or a fifth
 * Monday in February, @every, @at) and zones (UTC, fixed-offset, DST with
 * one-hour, 30-minute and 45-minute shifts, southern hemisphere). For each
 * pair, cron_next() is timed call by call from random instants in 2020-2060,
 * and each call's time has the clock's own cost (measured first) subtracted.
 * Reported: the median and 99th percentile over all calls, the largest
 * per-pair median and 99th percentile and which pair it was, and the same
 * percentiles for parsing. Output: one JSON line on standard output.
 */
#include "base/time.h"
#include "clover.h"
#include "cron/cron.h"
#include "cron/tz.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const exprs[] = {
	"*/15 * * * *",        "0 * * * *",           "0 0 * * *",
	"30 2 * * *",          "0 9 * * 1-5",         "*/5 9-17 * * 1-5",
	"0 0 1 * *",           "0 0 * * 0",           "@hourly",
	"@daily",              "@weekly",             "@monthly",
	"@yearly",             "0 0 13 * 5",          "0 0 */10 * 1",
	"0 0 L * *",           "0 0 * * 5L",          "* * * * * ?",
	"*/10 * * * * ?",      "0 0 12 * * ?",        "0 15 10 ? * MON-FRI",
	"0 0/5 14,18 * * ?",   "0 15 10 L * ?",       "0 15 10 L-2 * ?",
	"0 15 10 ? * 6L",      "0 15 10 ? * 6#3",     "0 0 0 15W * ?",
	"0 0 0 LW * ?",        "0 0 22-2/2 * * ?",    "0 0 12 ? * FRI-MON",
	"0 0 0 1,L * ?",       "0 30 1 * * ?",        "0 */30 * * * ?",
	"0 0 0 29 2 ?",        "0 0 0 ? 2 MON#5",     "0 0 0 1 1 ? 2030-2035",
	"0 11 11 11 11 ?",     "0 0 0 31W * ?",       "0 0 0 L-3W * ?",
	"5,35 0-4 1,15,L * *", "@every 90s",          "@every 1h30m",
	"@at 2030-01-01T00:00:00Z",
};

static const char *const zones[] = {
	"UTC",           "America/New_York",    "Europe/London",     "Australia/Lord_Howe",
	"Asia/Shanghai", "Pacific/Chatham",     "America/Sao_Paulo",
};

#define NEXPR (sizeof(exprs) / sizeof(exprs[0]))
#define NZONE (sizeof(zones) / sizeof(zones[0]))

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* The q-quantile (0..1) of n sorted values. */
static int64_t quantile(const int64_t *v, size_t n, double q)
{
	size_t i = (size_t)(q * (double)(n - 1) + 0.5);

	return v[i < n ? i : n - 1];
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* The median cost of reading the clock twice, subtracted from each sample. */
static int64_t timer_cost(void)
{
	int64_t v[10001];

	for (int i = 0; i < 10001; i++) {
		int64_t t0 = time_mono_ns();

		v[i] = time_mono_ns() - t0;
	}
	qsort(v, 10001, sizeof(v[0]), cmp64);
	return v[5000];
}

static void usage(FILE *f)
{
	fprintf(f, "usage: bench/cron [--calls N] [--verbose] [--help]\n"
		   "\n"
		   "Times cron_next() over %zu expressions x %zu zones (N calls per pair from\n"
		   "random instants in 2020-2060, default 2000) and cron_parse() (1000 times per\n"
		   "expression), and prints one JSON line:\n"
		   "  {\"bench\":\"cron\",\"exprs\":..,\"zones\":..,\"calls\":..,\n"
		   "   \"next_ns\":{\"p50\":..,\"p99\":..,\"max_expr_p50\":..,\"max_expr_p99\":..,\n"
		   "               \"slowest\":\"EXPR @ ZONE\",\"mean_untimed\":..},\n"
		   "   \"parse_ns\":{\"p50\":..,\"p99\":..,\"max_expr_p50\":..},\"timer_ns\":..}\n"
		   "Times are nanoseconds per call, clock overhead subtracted; mean_untimed is\n"
		   "the mean of a second pass timed as a whole (random instants included).\n"
		   "--verbose also prints the median and p99 of every pair on standard error.\n",
		   NEXPR, NZONE);
}

int main(int argc, char **argv)
{
	long calls = 2000;
	bool verbose = false;
	int64_t *all, *one, *after, timer, worst50 = -1, worst99 = -1;
	size_t nall = 0, worst = 0;
	const struct tz *tz[NZONE];
	struct cron_expr *c[NEXPR];
	int64_t *pall, pworst50 = -1;
	size_t npall = 0;
	const int parse_reps = 1000;
	int64_t batch_mean = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--verbose") == 0) {
			verbose = true;
		} else if (strcmp(argv[i], "--calls") == 0 && i + 1 < argc) {
			calls = strtol(argv[++i], NULL, 10);
			if (calls < 10 || calls > 1000000) {
				fprintf(stderr, "bench/cron: --calls must be 10-1000000\n");
				return 2;
			}
		} else {
			usage(stderr);
			return 2;
		}
	}
	for (size_t z = 0; z < NZONE; z++) {
		struct error_info e;

		if (tz_get(zones[z], &tz[z], &e) != 0) {
			fprintf(stderr, "bench/cron: %s\n", e.message);
			return 1;
		}
	}
	all = malloc(sizeof(*all) * (size_t)calls * NEXPR * NZONE);
	one = malloc(sizeof(*one) * (size_t)(calls > parse_reps ? calls : parse_reps));
	after = malloc(sizeof(*after) * (size_t)calls);
	pall = malloc(sizeof(*pall) * (size_t)parse_reps * NEXPR);
	if (all == NULL || one == NULL || after == NULL || pall == NULL) {
		fprintf(stderr, "bench/cron: out of memory\n");
		return 1;
	}
	timer = timer_cost();

	/* parsing */
	for (size_t x = 0; x < NEXPR; x++) {
		for (int r = 0; r < parse_reps; r++) {
			struct cron_expr *p;
			int64_t t0 = time_mono_ns(), d;

			if (cron_parse(exprs[x], &p, NULL) != 0) {
				fprintf(stderr, "bench/cron: cannot parse '%s'\n", exprs[x]);
				return 1;
			}
			d = time_mono_ns() - t0 - timer;
			one[r] = d > 0 ? d : 0;
			pall[npall++] = one[r];
			cron_free(p);
		}
		qsort(one, (size_t)parse_reps, sizeof(one[0]), cmp64);
		if (quantile(one, (size_t)parse_reps, 0.5) > pworst50)
			pworst50 = quantile(one, (size_t)parse_reps, 0.5);
		if (cron_parse(exprs[x], &c[x], NULL) != 0)
			return 1;
	}

	/* next */
	for (size_t x = 0; x < NEXPR; x++) {
		for (size_t z = 0; z < NZONE; z++) {
			int64_t sink = 0, p50, p99;

			for (long i = 0; i < calls; i++)
				after[i] = 1577836800000LL + (int64_t)(rnd() % 1262304000000ULL);
			for (long i = 0; i < calls; i++) { /* warm up */
				int64_t f;

				if (cron_next(c[x], tz[z], after[i], &f) == 0)
					sink += f;
			}
			for (long i = 0; i < calls; i++) {
				int64_t f, t0 = time_mono_ns(), d;

				if (cron_next(c[x], tz[z], after[i], &f) == 0)
					sink += f;
				d = time_mono_ns() - t0 - timer;
				one[i] = d > 0 ? d : 0;
				all[nall++] = one[i];
			}
			if (sink == 42)
				fputs("", stderr); /* keep the calls */
			qsort(one, (size_t)calls, sizeof(one[0]), cmp64);
			p50 = quantile(one, (size_t)calls, 0.5);
			p99 = quantile(one, (size_t)calls, 0.99);
			if (p50 > worst50) {
				worst50 = p50;
				worst = x * NZONE + z;
			}
			if (p99 > worst99)
				worst99 = p99;
			if (verbose)
				fprintf(stderr, "%8lld %8lld  %s @ %s\n", (long long)p50, (long long)p99,
					exprs[x], zones[z]);
		}
	}
	/* The same work again without a clock read per call: a check on the above. */
	{
		int64_t sink = 0, t0, t1;
		size_t n = 0;

		t0 = time_mono_ns();
		for (size_t x = 0; x < NEXPR; x++) {
			for (size_t z = 0; z < NZONE; z++) {
				for (long i = 0; i < calls; i++) {
					int64_t f, a = 1577836800000LL +
						       (int64_t)(rnd() % 1262304000000ULL);

					if (cron_next(c[x], tz[z], a, &f) == 0)
						sink += f;
					n++;
				}
			}
		}
		t1 = time_mono_ns();
		if (sink == 42)
			fputs("", stderr);
		batch_mean = (t1 - t0) / (int64_t)n;
	}
	qsort(all, nall, sizeof(all[0]), cmp64);
	qsort(pall, npall, sizeof(pall[0]), cmp64);
	printf("{\"bench\":\"cron\",\"exprs\":%zu,\"zones\":%zu,\"calls\":%zu,"
	       "\"next_ns\":{\"p50\":%lld,\"p99\":%lld,\"max_expr_p50\":%lld,\"max_expr_p99\":%lld,"
	       "\"slowest\":\"%s @ %s\",\"mean_untimed\":%lld},"
	       "\"parse_ns\":{\"p50\":%lld,\"p99\":%lld,\"max_expr_p50\":%lld},\"timer_ns\":%lld}\n",
	       NEXPR, NZONE, nall, (long long)quantile(all, nall, 0.5),
	       (long long)quantile(all, nall, 0.99), (long long)worst50, (long long)worst99,
	       exprs[worst / NZONE], zones[worst % NZONE], (long long)batch_mean,
	       (long long)quantile(pall, npall, 0.5),
	       (long long)quantile(pall, npall, 0.99), (long long)pworst50, (long long)timer);
	for (size_t x = 0; x < NEXPR; x++)
		cron_free(c[x]);
	free(all);
	free(one);
	free(after);
	free(pall);
	tz_cleanup();
	return 0;
}
