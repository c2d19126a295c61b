/* SPDX-License-Identifier: MIT */
/*
 * /api/v1/runs: list with filters (newest first, keyset paging by id), one
 * run with its shards, a run's log (plain text, paged by byte offset) and kill.
 * Reads go to the store; kill goes to the daemon through hooks.kill.
 */
#include "api/internal.h"
#include "base/log.h"
#include "core/job.h"
#include "core/run.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

#define LOG_PAGE_MAX (1024 * 1024)

static json_t *run_item(const struct api_req *rq, const void *rec)
{
	(void)rq;
	return api_run_json(rec);
}

/* GET /runs?job=&state=&from=&to=&before=&limit=: RUN objects, newest first, with
 * "next" set to the last id when the page is full. 400 on a bad parameter. */
void api_runs_list(struct api_req *rq, struct api_resp *rs)
{
	struct store_run_filter f = {.state = -1};
	struct run_rec *runs = NULL;
	const char *v;
	int64_t limit;
	size_t n = 0;
	int rc;

	if (!api_query_name(rq, rs, "job", "a job name", &f.job))
		return;
	v = api_query(rq, "state");
	if (v && *v) {
		enum run_state st;

		if (run_state_parse(v, &st) != 0) {
			api_reply_error(rs, 400, "bad_request", "state",
			                "state must be one of pending, running, succeeded, failed, "
			                "timed_out, cancelled, skipped, lost");
			return;
		}
		f.state = (int)st;
	}
	if (!api_query_time(rq, rs, "from", &f.from) || !api_query_time(rq, rs, "to", &f.to) ||
	    !api_query_int(rq, rs, "before", 1, INT64_MAX, 0, &f.before_id) ||
	    !api_query_int(rq, rs, "limit", 1, 1000, 50, &limit))
		return;
	f.limit = (int)limit;

	rc = store_run_list(rq->api->store, &f, &runs, &n);
	if (rc) {
		api_reply_rc(rs, rc, NULL);
		return;
	}
	api_reply_page(rq, rs, "runs", runs, n, sizeof(*runs), run_item,
	               n > 0 && n == (size_t)limit ? json_integer(runs[n - 1].id) : NULL);
	for (size_t i = 0; i < n; i++)
		run_rec_clear(&runs[i]);
	free(runs);
}

/* Loads run rq->seg[1] into *r; replies 404 (or the store error) and returns false. */
static bool load_run(struct api_req *rq, struct api_resp *rs, struct run_rec *r, int64_t *id)
{
	int rc;

	memset(r, 0, sizeof(*r));
	if (!api_parse_id(rq->seg[1], id)) { /* the router checked it; belt and braces */
		api_reply_error(rs, 400, "bad_request", "id", "bad run id");
		return false;
	}
	rc = store_run_get(rq->api->store, *id, r);
	if (rc == CLOVER_ENOENT) {
		api_reply_error(rs, 404, "not_found", NULL, "no run %lld", (long long)*id);
		return false;
	}
	if (rc) {
		api_reply_rc(rs, rc, NULL);
		return false;
	}
	return true;
}

/* GET /runs/{id}: 200 RUN with its shards, or 404. */
void api_run_get(struct api_req *rq, struct api_resp *rs)
{
	struct run_rec r;
	int64_t id;
	json_t *doc;

	if (!load_run(rq, rs, &r, &id))
		return;
	doc = api_run_json(&r);
	run_rec_clear(&r);
	if (doc == NULL) {
		api_reply_error(rs, 500, "internal", NULL, "cannot show run %lld", (long long)id);
		return;
	}
	api_reply_json(rs, 200, doc);
}

/* GET /runs/{id}/log?shard=&offset=&limit=: the run's output as text/plain, with
 * X-Clover-Next-Offset (where to continue) and X-Clover-Run-State; 404 when
 * there is no such run. A run without output yet gives an empty page. */
void api_run_log(struct api_req *rq, struct api_resp *rs)
{
	int64_t id, shard, offset, limit, next = 0;
	struct run_rec r;
	char *data = NULL;
	size_t len = 0;
	int rc;

	if (!api_query_int(rq, rs, "shard", 0, JOB_SHARDS_MAX - 1, -1, &shard) ||
	    !api_query_int(rq, rs, "offset", 0, INT64_MAX, 0, &offset) ||
	    !api_query_int(rq, rs, "limit", 1, LOG_PAGE_MAX, LOG_PAGE_MAX, &limit))
		return;
	if (!load_run(rq, rs, &r, &id))
		return;
	rc = store_log_read(rq->api->store, id, (int)shard, offset, (size_t)limit, &data, &len,
	                    &next);
	if (rc == CLOVER_ENOENT) { /* a run without output yet */
		rc = 0;
		len = 0;
		next = offset;
	}
	if (rc) {
		run_rec_clear(&r);
		free(data);
		api_reply_rc(rs, rc, NULL);
		return;
	}
	api_reply_text(rs, 200, "text/plain; charset=utf-8", data ? data : "", len);
	api_header_add(rs, "X-Clover-Next-Offset", "%lld", (long long)next);
	api_header_add(rs, "X-Clover-Run-State", "%s", run_state_name(r.state));
	run_rec_clear(&r);
	free(data);
}

/* POST /runs/{id}/kill: asks the daemon to kill the run; 202 {"run_id"}, 404
 * when unknown, 409 when it has finished already. */
void api_run_kill(struct api_req *rq, struct api_resp *rs)
{
	struct error_info e;
	int64_t id;
	int rc;

	if (!api_parse_id(rq->seg[1], &id)) {
		api_reply_error(rs, 400, "bad_request", "id", "bad run id");
		return;
	}
	if (rq->api->hooks.kill == NULL) {
		api_reply_error(rs, 501, "internal", NULL, "this server cannot kill runs");
		return;
	}
	error_clear(&e);
	rc = rq->api->hooks.kill(rq->api->hooks.ctx, id, &e);
	if (rc == CLOVER_ENOENT && e.message[0] == '\0')
		error_set(&e, rc, NULL, "no run %lld", (long long)id);
	if (rc == CLOVER_ESTATE && e.message[0] == '\0')
		error_set(&e, rc, NULL, "run %lld has already finished", (long long)id);
	if (rc) {
		api_reply_rc(rs, rc, &e);
		return;
	}
	log_at(LOG_INFO, "api", "run=%lld kill requested by %s", (long long)id, rq->who.user);
	api_event(rq, STORE_LEVEL_INFO, "api", NULL, "kill of run %lld requested by %s",
	          (long long)id, rq->who.user);
	api_reply_json(rs, 202, json_pack("{s:I}", "run_id", (json_int_t)id));
}
