/* SPDX-License-Identifier: MIT */
/*
 * A query tool over the cron and tz engines for cross-checking scripts
 * (tests/unit/cron-crosscheck.py): it reads one query per line on standard
 * input, fields separated by tabs, and answers one line per query:
 *
 *   next  ZONE FROM COUNT EXPR  -> fires after FROM (RFC 3339), space-separated,
 *                                  then "end" if the schedule ran out
 *   prev  ZONE BEFORE COUNT EXPR -> fires before BEFORE, latest first, same form
 *   offset ZONE UTC_SECONDS      -> the UTC offset in seconds
 *   local ZONE LOCAL_SECONDS     -> "unique U", "gap U TRANSITION" or
 *                                   "overlap U1 U2" (instants in seconds)
 *
 * Errors answer "error: <message>". Not a test by itself; built next to them.
 */
#include "base/time.h"
#include "clover.h"
#include "cron/cron.h"
#include "cron/tz.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_LEN 4096

static void answer_fires(char **f, bool forward)
{
	struct error_info e = {0};
	const struct tz *z;
	struct cron_expr *c;
	int64_t t;
	long n = strtol(f[3], NULL, 10);
	char buf[40];

	if (tz_get(f[1], &z, &e) != 0 || cron_parse(f[4], &c, &e) != 0) {
		printf("error: %s\n", e.message);
		return;
	}
	if (time_parse_rfc3339(f[2], &t) != 0) {
		printf("error: bad instant\n");
		cron_free(c);
		return;
	}
	for (long i = 0; i < n; i++) {
		int rc = forward ? cron_next(c, z, t, &t) : cron_prev(c, z, t, &t);

		if (rc != 0) {
			printf("%send", i ? " " : "");
			break;
		}
		printf("%s%s", i ? " " : "", time_format_rfc3339(t, buf, sizeof(buf), false));
	}
	printf("\n");
	cron_free(c);
}

int main(void)
{
	static char line[LINE_MAX_LEN];

	while (fgets(line, sizeof(line), stdin) != NULL) {
		char *f[5] = {0}, *p = line;
		int nf = 0;
		struct error_info e = {0};
		const struct tz *z;

		line[strcspn(line, "\r\n")] = '\0';
		while (nf < 5) {
			f[nf++] = p;
			p = strchr(p, '\t');
			if (p == NULL)
				break;
			*p++ = '\0';
		}
		if (nf == 5 && strcmp(f[0], "next") == 0) {
			answer_fires(f, true);
		} else if (nf == 5 && strcmp(f[0], "prev") == 0) {
			answer_fires(f, false);
		} else if (nf == 3 && (strcmp(f[0], "offset") == 0 || strcmp(f[0], "local") == 0)) {
			int64_t s = strtoll(f[2], NULL, 10);

			if (tz_get(f[1], &z, &e) != 0) {
				printf("error: %s\n", e.message);
			} else if (f[0][0] == 'o') {
				printf("%" PRId64 "\n", tz_offset_at(z, s * 1000) / 1000);
			} else {
				struct tz_local tl;

				tz_local_to_utc(z, s * 1000, &tl);
				if (tl.kind == TZ_LOCAL_UNIQUE)
					printf("unique %" PRId64 "\n", tl.utc / 1000);
				else if (tl.kind == TZ_LOCAL_GAP)
					printf("gap %" PRId64 " %" PRId64 "\n", tl.utc / 1000,
					       tl.transition / 1000);
				else
					printf("overlap %" PRId64 " %" PRId64 "\n", tl.utc / 1000,
					       tl.utc_later / 1000);
			}
		} else {
			printf("error: bad query\n");
		}
	}
	tz_cleanup();
	return 0;
}
