/* SPDX-License-Identifier: MIT */
/*
 * Run records (see run.h): the names of run states and triggers as they appear
 * in the store, the API and the console, and deep copies of records.
 *
 * A state is "final" once nothing more will happen to the run or shard:
 * succeeded, failed, timed_out, cancelled, skipped and lost. pending and
 * running are the only live states. The names are part of the API and the
 * store schema, so they never change; new states are appended.
 */
#include "core/run.h"
#include "clover.h"

#include <stdlib.h>
#include <string.h>

static const char *const state_names[RUN_STATE_COUNT] = {
    [RUN_PENDING] = "pending", [RUN_RUNNING] = "running",     [RUN_SUCCEEDED] = "succeeded",
    [RUN_FAILED] = "failed",   [RUN_TIMED_OUT] = "timed_out", [RUN_CANCELLED] = "cancelled",
    [RUN_SKIPPED] = "skipped", [RUN_LOST] = "lost",
};

static const char *const trigger_names[RUN_TRIGGER_COUNT] = {
    [RUN_TRIG_SCHEDULE] = "schedule", [RUN_TRIG_MANUAL] = "manual", [RUN_TRIG_RETRY] = "retry",
    [RUN_TRIG_MISFIRE] = "misfire",   [RUN_TRIG_CHAIN] = "chain",
};

/*
 * Returns the lower-case name of `s` ("timed_out"), or "unknown" for a value
 * outside the enum. The string is static.
 */
const char *run_state_name(enum run_state s)
{
	if ((unsigned)s >= RUN_STATE_COUNT)
		return "unknown";
	return state_names[s];
}

/*
 * Looks up a state by its exact name. Returns 0 and sets *out, or
 * CLOVER_EINVAL (leaving *out untouched) when `name` is NULL or unknown.
 */
int run_state_parse(const char *name, enum run_state *out)
{
	if (name == NULL)
		return CLOVER_EINVAL;
	for (int i = 0; i < RUN_STATE_COUNT; i++) {
		if (strcmp(name, state_names[i]) == 0) {
			*out = (enum run_state)i;
			return 0;
		}
	}
	return CLOVER_EINVAL;
}

/*
 * Returns the lower-case name of `t` ("misfire"), or "unknown" for a value
 * outside the enum. The string is static.
 */
const char *run_trigger_name(enum run_trigger t)
{
	if ((unsigned)t >= RUN_TRIGGER_COUNT)
		return "unknown";
	return trigger_names[t];
}

/*
 * Looks up a trigger by its exact name. Returns 0 and sets *out, or
 * CLOVER_EINVAL (leaving *out untouched) when `name` is NULL or unknown.
 */
int run_trigger_parse(const char *name, enum run_trigger *out)
{
	if (name == NULL)
		return CLOVER_EINVAL;
	for (int i = 0; i < RUN_TRIGGER_COUNT; i++) {
		if (strcmp(name, trigger_names[i]) == 0) {
			*out = (enum run_trigger)i;
			return 0;
		}
	}
	return CLOVER_EINVAL;
}

/*
 * True when nothing more will happen to a run or shard in state `s`; false for
 * pending, running and values outside the enum.
 */
bool run_state_final(enum run_state s)
{
	switch (s) {
	case RUN_SUCCEEDED:
	case RUN_FAILED:
	case RUN_TIMED_OUT:
	case RUN_CANCELLED:
	case RUN_SKIPPED:
	case RUN_LOST:
		return true;
	case RUN_PENDING:
	case RUN_RUNNING:
		break;
	}
	return false;
}

/* strdup() that maps NULL to NULL; sets *oom when a copy fails. */
static char *dup_or_null(const char *s, bool *oom)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = strdup(s);
	if (d == NULL)
		*oom = true;
	return d;
}

/*
 * Deep-copies `src` into `dst` (whose previous contents are overwritten, not
 * freed): the strings and the shard array are duplicated, so the copy lives
 * independently of the original. Returns 0, or CLOVER_ENOMEM, in which case
 * `dst` is left zeroed with nothing to free.
 */
int run_rec_copy(struct run_rec *dst, const struct run_rec *src)
{
	bool oom = false;

	*dst = *src;
	dst->job = dup_or_null(src->job, &oom);
	dst->params = dup_or_null(src->params, &oom);
	dst->reason = dup_or_null(src->reason, &oom);
	dst->shards = NULL;
	if (src->nshards > 0 && src->shards != NULL) {
		dst->shards = calloc((size_t)src->nshards, sizeof(*dst->shards));
		if (dst->shards == NULL) {
			oom = true;
		} else {
			for (int i = 0; i < src->nshards; i++) {
				dst->shards[i] = src->shards[i];
				dst->shards[i].executor =
				    dup_or_null(src->shards[i].executor, &oom);
				dst->shards[i].message = dup_or_null(src->shards[i].message, &oom);
			}
		}
	} else {
		dst->nshards = 0;
	}
	if (oom) {
		run_rec_clear(dst);
		return CLOVER_ENOMEM;
	}
	return 0;
}

/*
 * Frees the strings and shards `r` owns and zeroes it, so clearing twice is
 * harmless. The record itself is not freed. NULL is a no-op.
 */
void run_rec_clear(struct run_rec *r)
{
	if (r == NULL)
		return;
	free(r->job);
	free(r->params);
	free(r->reason);
	if (r->shards != NULL) {
		for (int i = 0; i < r->nshards; i++) {
			free(r->shards[i].executor);
			free(r->shards[i].message);
		}
		free(r->shards);
	}
	memset(r, 0, sizeof(*r));
}
