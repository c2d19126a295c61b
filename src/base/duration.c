/* SPDX-License-Identifier: MIT */
/* Human durations; see duration.h. */
#include "base/duration.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	int64_t ms;
} units[] = {
	{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000},
};

int duration_parse(const char *s, int64_t *ms, struct error_info *e)
{
	const char *p = s;
	int64_t total = 0;

	if (s == NULL || *s == '\0')
		return error_set(e, CLOVER_EPARSE, NULL, "empty duration");
	if (strcmp(s, "0") == 0) {
		*ms = 0;
		return 0;
	}
	while (*p) {
		int64_t v = 0;
		size_t ulen = 0;
		int u = -1;

		if (!isdigit((unsigned char)*p))
			goto bad;
		while (isdigit((unsigned char)*p)) {
			v = v * 10 + (*p - '0');
			if (v > DURATION_MAX_MS)
				goto range;
			p++;
		}
		while (isalpha((unsigned char)p[ulen]))
			ulen++;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			if (strlen(units[i].name) == ulen && strncmp(p, units[i].name, ulen) == 0)
				u = (int)i;
		}
		if (u < 0)
			goto bad;
		if (v > DURATION_MAX_MS / units[u].ms)
			goto range;
		total += v * units[u].ms;
		if (total > DURATION_MAX_MS)
			goto range;
		p += ulen;
	}
	*ms = total;
	return 0;
bad:
	return error_set(e, CLOVER_EPARSE, NULL,
			 "'%s' is not a duration (use e.g. 500ms, 90s, 10m, 1h30m, 2d)", s);
range:
	return error_set(e, CLOVER_ERANGE, NULL, "'%s' is longer than 100 years", s);
}

char *duration_format(int64_t ms, char *out, size_t n)
{
	size_t off = 0;

	if (ms <= 0) {
		snprintf(out, n, "0s");
		return out;
	}
	out[0] = '\0';
	for (int i = 4; i >= 0 && off < n; i--) {
		if (ms >= units[i].ms) {
			int w = snprintf(out + off, n - off, "%lld%s", (long long)(ms / units[i].ms),
					 units[i].name);
			if (w < 0)
				break;
			off += (size_t)w;
			ms %= units[i].ms;
		}
	}
	return out;
}
