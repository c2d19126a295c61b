/* SPDX-License-Identifier: MIT */
/*
 * `clover cron`: the schedule engine on the command line, with no server.
 *
 *   clover cron next [--tz ZONE] [--from INSTANT] [-n COUNT] 'EXPR'
 *       prints COUNT (default 5) fire instants after INSTANT (default now),
 *       one per line, as RFC 3339 UTC ("2026-03-08T07:30:00Z"); fewer when
 *       the schedule ends.
 *   clover cron explain [--tz ZONE] [--from INSTANT] [-n COUNT] 'EXPR'
 *       prints a plain-language description and the next fires in the zone's
 *       local time with their UTC offsets.
 *
 * Other tools parse the output of `next`, so its format never changes. Bad
 * input (expression, zone, instant, option) is reported on standard error
 * with exit status 2.
 */
#include "cli/cli.h"

#include "base/time.h"
#include "clover.h"
#include "cron/cron.h"
#include "cron/tz.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_USAGE 2
#define COUNT_MAX 1000000

static const char usage_text[] =
	"usage: clover cron next [--tz ZONE] [--from INSTANT] [-n COUNT] 'EXPR'\n"
	"       clover cron explain [--tz ZONE] [--from INSTANT] [-n COUNT] 'EXPR'\n"
	"\n"
	"  next      print the next COUNT (default 5) fire instants, one per line,\n"
	"            as RFC 3339 UTC (2026-03-08T07:30:00Z)\n"
	"  explain   describe the schedule and list its next fires in local time\n"
	"\n"
	"  --tz ZONE        IANA time zone the cron fields are read in (default UTC)\n"
	"  --from INSTANT   RFC 3339 instant to start after (default now), e.g.\n"
	"                   2026-03-08T00:00:00Z or 2026-03-07T19:00:00.5-05:00\n"
	"  -n COUNT         how many fires (0-1000000)\n"
	"\n"
	"EXPR: Quartz 'sec min hour dom month dow [year]', Unix 'min hour dom month dow',\n"
	"@yearly @monthly @weekly @daily @hourly, @every 90s, @at INSTANT, @manual.\n"
	"Quote it: the shell expands '*'. See docs/cron.md.\n";

struct opts {
	const char *tz;
	const char *from;
	const char *expr;
	long count;
};

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "clover cron: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nRun 'clover cron --help' for usage.\n");
	return EXIT_USAGE;
}

/* Returns the value of option `name` at argv[*i] ("--tz X" or "--tz=X"), or NULL. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, bool *bad)
{
	size_t len = strlen(name);
	const char *a = argv[*i];

	*bad = false;
	if (strncmp(a, name, len) != 0)
		return NULL;
	if (a[len] == '=')
		return a + len + 1;
	if (a[len] != '\0') {
		/* "-n5" is "-n 5"; "--tzx" is not "--tz". */
		if (name[1] != '-')
			return a + len;
		return NULL;
	}
	if (*i + 1 >= argc) {
		*bad = true;
		return NULL;
	}
	return argv[++*i];
}

static int parse_count(const char *s, long *out)
{
	char *end;
	long v;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < 0 || v > COUNT_MAX)
		return -1;
	*out = v;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	bool dashdash = false;

	o->tz = "UTC";
	o->from = NULL;
	o->expr = NULL;
	o->count = 5;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *v;
		bool bad;

		if (!dashdash && a[0] == '-' && a[1] != '\0') {
			if (strcmp(a, "--") == 0) {
				dashdash = true;
				continue;
			}
			if ((v = opt_value(argc, argv, &i, "--tz", &bad)) != NULL) {
				o->tz = v;
			} else if (!bad && (v = opt_value(argc, argv, &i, "--from", &bad)) != NULL) {
				o->from = v;
			} else if (!bad && (v = opt_value(argc, argv, &i, "-n", &bad)) != NULL) {
				if (parse_count(v, &o->count) != 0)
					return usage_error("-n: '%s' is not a count from 0 to 1000000",
							   v);
			} else if (bad) {
				return usage_error("option %s needs a value", a);
			} else {
				return usage_error("unknown option '%s'", a);
			}
			continue;
		}
		if (o->expr != NULL)
			return usage_error("expected one schedule expression; quote it, as in "
					   "'0 30 2 * * ?' (extra argument '%s')",
					   a);
		o->expr = a;
	}
	if (o->expr == NULL)
		return usage_error("missing schedule expression");
	return 0;
}

/* Formats local time of `utc` in zone z with its offset: 2026-03-08T03:30:00-04:00. */
static void format_local(const struct tz *z, int64_t utc, char *out, size_t n)
{
	int64_t off = tz_offset_at(z, utc), a = off < 0 ? -off : off;
	struct civil c;
	int len;

	time_to_civil(utc + off, &c);
	len = snprintf(out, n, "%04lld-%02d-%02dT%02d:%02d:%02d", (long long)c.year, c.month,
		       c.day, c.hour, c.min, c.sec);
	if (len < 0 || (size_t)len >= n)
		return;
	if (a % MS_PER_MIN != 0) /* pre-1900 local mean time, e.g. -04:56:02 */
		snprintf(out + len, n - (size_t)len, "%c%02lld:%02lld:%02lld", off < 0 ? '-' : '+',
			 (long long)(a / MS_PER_HOUR), (long long)(a / MS_PER_MIN % 60),
			 (long long)(a / MS_PER_SEC % 60));
	else
		snprintf(out + len, n - (size_t)len, "%c%02lld:%02lld", off < 0 ? '-' : '+',
			 (long long)(a / MS_PER_HOUR), (long long)(a / MS_PER_MIN % 60));
}

/* A note on fires that daylight saving moved or doubled, or "". */
static const char *dst_note(const struct cron_expr *c, const struct tz *z, int64_t f)
{
	int64_t local = tz_local_at(z, f);
	struct tz_local tl;

	if (cron_kind(c) != CRON_KIND_CRON)
		return "";
	if (!cron_matches_local(c, local))
		return "  (shifted forward: the wall time fell in a daylight-saving gap)";
	tz_local_to_utc(z, local, &tl);
	if (tl.kind == TZ_LOCAL_OVERLAP)
		return tl.utc == f ? "  (first of two: clocks go back after it)"
				   : "  (second of two: clocks went back)";
	return "";
}

static int run(const char *cmd, const struct opts *o)
{
	static const char *const wday[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	struct error_info e = {0};
	struct cron_expr *c = NULL;
	const struct tz *z = NULL;
	int64_t t;
	int rc, status = 0;
	bool explain = strcmp(cmd, "explain") == 0;

	if (o->from == NULL) {
		t = time_wall_ms();
	} else if (time_parse_rfc3339(o->from, &t) != 0) {
		return usage_error("--from: '%s' is not an RFC 3339 instant (e.g. "
				   "2026-03-08T07:30:00Z or 2026-03-08T02:30:00-05:00)",
				   o->from);
	}
	if ((rc = tz_get(o->tz, &z, &e)) != 0) {
		fprintf(stderr, "clover cron: --tz: %s\n", e.message);
		status = rc == CLOVER_ENOENT || rc == CLOVER_EPARSE ? EXIT_USAGE : 1;
		goto out;
	}
	if ((rc = cron_parse(o->expr, &c, &e)) != 0) {
		fprintf(stderr, "clover cron: %s\n", e.message);
		status = rc == CLOVER_ENOMEM ? 1 : EXIT_USAGE;
		goto out;
	}
	if (explain) {
		char desc[CRON_DESCRIBE_MAX];

		cron_describe(c, z, desc, sizeof(desc));
		printf("%s\n", desc);
	}
	for (long i = 0; i < o->count; i++) {
		char utc[40], local[48];
		struct civil cv;

		if (cron_next(c, z, t, &t) != 0) {
			if (explain)
				printf(i == 0 ? "no future fires\n" : "no further fires\n");
			break;
		}
		time_format_rfc3339(t, utc, sizeof(utc), false);
		if (!explain) {
			printf("%s\n", utc);
			continue;
		}
		format_local(z, t, local, sizeof(local));
		time_to_civil(tz_local_at(z, t), &cv);
		printf("  %s %s  (%s)%s\n", local,
		       wday[time_weekday(time_days_from_civil(cv.year, cv.month, cv.day))], utc,
		       dst_note(c, z, t));
	}
	if (fflush(stdout) != 0)
		status = 1;
out:
	cron_free(c);
	tz_cleanup();
	return status;
}

int cli_cron_main(int argc, char **argv)
{
	struct opts o;
	int rc;

	if (argc < 2) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (strcmp(argv[1], "next") != 0 && strcmp(argv[1], "explain") != 0)
		return usage_error("unknown command '%s' (use next or explain)", argv[1]);
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage_text, stdout);
			return 0;
		}
	}
	if ((rc = parse_opts(argc - 2, argv + 2, &o)) != 0)
		return rc;
	return run(argv[1], &o);
}
