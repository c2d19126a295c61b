/* SPDX-License-Identifier: MIT */
/*
 * /api/v1/events: the system event log (docs/api.md "Events"), newest first,
 * filtered by minimum level, source, job, a substring of the message and a
 * time range, paged by id (`before`). Readable by every role.
 */
#include "api/internal.h"
#include "core/job.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

#define SOURCE_MAX 64
#define Q_MAX      128

static const char *level_name(enum store_level l)
{
	switch (l) {
	case STORE_LEVEL_INFO:
		return "info";
	case STORE_LEVEL_WARN:
		return "warn";
	case STORE_LEVEL_ERROR:
		return "error";
	}
	return "info";
}

json_t *api_event_json(const struct store_event *ev)
{
	return json_pack("{s:I, s:o, s:s, s:o, s:o, s:o, s:o, s:o}", "id", (json_int_t)ev->id, "at",
	                 api_time_json(ev->at), "level", level_name(ev->level), "source",
	                 api_str_json(ev->source), "node", api_str_json(ev->node), "job",
	                 api_str_json(ev->job), "run_id",
	                 ev->run_id > 0 ? json_integer(ev->run_id) : json_null(), "message",
	                 api_str_json(ev->message));
}

static json_t *event_item(const struct api_req *rq, const void *rec)
{
	(void)rq;
	return api_event_json(rec);
}

/*
 * GET /events?level=&source=&job=&q=&from=&to=&before=&limit=: one page of
 * events, newest first, with "next" (the id to pass as `before`) when the
 * page is full. `level` is a minimum; "debug" and "info" mean every event
 * (nothing is recorded below info).
 */
void api_events_list(struct api_req *rq, struct api_resp *rs)
{
	struct store_event_filter f = {.level = -1};
	struct store_event *evs = NULL;
	const char *v;
	int64_t limit, before;
	size_t n = 0;
	int rc;

	v = api_query(rq, "level");
	if (v) {
		if (strcmp(v, "debug") == 0 || strcmp(v, "info") == 0)
			f.level = -1;
		else if (strcmp(v, "warn") == 0)
			f.level = STORE_LEVEL_WARN;
		else if (strcmp(v, "error") == 0)
			f.level = STORE_LEVEL_ERROR;
		else {
			api_reply_error(rs, 400, "bad_request", "level",
			                "level must be debug, info, warn or error");
			return;
		}
	}
	v = api_query(rq, "source");
	if (v && *v) {
		if (strlen(v) > SOURCE_MAX) {
			api_reply_error(rs, 400, "bad_request", "source", "source is at most %d bytes",
			                SOURCE_MAX);
			return;
		}
		f.source = v;
	}
	if (!api_query_name(rq, rs, "job", "a job name", &f.job))
		return;
	v = api_query(rq, "q");
	if (v && *v) {
		if (strlen(v) > Q_MAX) {
			api_reply_error(rs, 400, "bad_request", "q", "q is at most %d bytes", Q_MAX);
			return;
		}
		f.search = v;
	}
	if (!api_query_time(rq, rs, "from", &f.from) || !api_query_time(rq, rs, "to", &f.to))
		return;
	if (f.from && f.to && f.from >= f.to) {
		api_reply_error(rs, 400, "bad_request", "to", "to must be later than from");
		return;
	}
	if (!api_query_int(rq, rs, "before", 1, INT64_MAX, 0, &before) ||
	    !api_query_int(rq, rs, "limit", 1, 1000, 50, &limit))
		return;
	f.before_id = before;
	f.limit = (int)limit;

	rc = store_event_list(rq->api->store, &f, &evs, &n);
	if (rc) {
		api_reply_rc(rs, rc, NULL);
		return;
	}
	api_reply_page(rq, rs, "events", evs, n, sizeof(*evs), event_item,
	               n > 0 && n == (size_t)limit ? json_integer(evs[n - 1].id) : NULL);
	for (size_t i = 0; i < n; i++)
		store_event_clear(&evs[i]);
	free(evs);
}
