/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the job spec parser (job_spec_parse), which reads JSON
 * sent by API clients. Besides "never crash, never leak", it checks the
 * codec's own promises on every accepted input: the result carries a field
 * path and message on rejection, the kept JSON text parses again to the same
 * text, and pausing/unpausing yields specs that differ only in `paused`.
 * A seed corpus is tests/data/jobs/valid and tests/data/jobs/invalid.
 */
#include "core/job.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct job_spec *s = NULL, *again = NULL, *p, *u;
	struct error_info e;
	int rc;

	rc = job_spec_parse((const char *)data, size, &s, &e);
	if (rc != 0) {
		if (s != NULL || e.code != rc || e.message[0] == '\0')
			abort();
		return 0;
	}
	if (job_spec_parse(s->json, strlen(s->json), &again, &e) != 0 ||
	    strcmp(again->json, s->json) != 0 || strcmp(again->name, s->name) != 0)
		abort();
	p = job_spec_with_paused(s, true);
	u = p != NULL ? job_spec_with_paused(p, false) : NULL;
	if (p != NULL && (!p->paused || strcmp(p->name, s->name) != 0))
		abort();
	if (u != NULL && (u->paused || u->shard_count != s->shard_count))
		abort();
	job_spec_unref(u);
	job_spec_unref(p);
	job_spec_unref(again);
	job_spec_unref(s);
	return 0;
}
