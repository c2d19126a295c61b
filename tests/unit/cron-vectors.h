/* SPDX-License-Identifier: MIT */
/*
 * Reading the vector files of tests/data/cron/ (test-cron.c, test-tz.c):
 * lines of fields separated by " | ", '#' comments. Include after cmocka.h.
 */
#ifndef CLOVER_TESTS_CRON_VECTORS_H
#define CLOVER_TESTS_CRON_VECTORS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline char *trim(char *s)
{
	char *e;

	while (*s == ' ')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* Splits a vector line on " | " into at most n trimmed fields. */
static inline int split(char *line, char **f, int n)
{
	int nf = 0;
	char *p = line;

	while (nf < n) {
		char *sep = strstr(p, " | ");

		f[nf++] = trim(p);
		if (sep == NULL)
			break;
		*sep = '\0';
		p = sep + 3;
	}
	return nf;
}

/* Opens tests/data/cron/<name> (the directory comes from CLOVER_TEST_DATA). */
static inline FILE *open_vectors(const char *name)
{
	const char *dir = getenv("CLOVER_TEST_DATA");
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/cron/%s", dir ? dir : "tests/data", name);
	f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot open %s (set CLOVER_TEST_DATA)", path);
	return f;
}

#endif
