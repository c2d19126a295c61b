/* SPDX-License-Identifier: MIT */
/*
 * Executors and the cluster (docs/api.md "Executors"): the listing of the
 * executors the scheduler knows (the built-in "local" one and the remote
 * ones connected over the wire protocol), the cluster view of standalone
 * mode, and the operator's controls: disable (no new shards), enable, and
 * drain (finish what runs, take nothing new, then leave). The daemon answers
 * through api_hooks.executors and api_hooks.executor_control; this file only
 * shapes JSON and errors.
 */
#include "api/internal.h"
#include "base/log.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

/* The EXECUTOR object. NULL when out of memory. */
static json_t *executor_json(const struct api_executor *x)
{
	json_t *labels = json_object();
	char buf[sizeof(x->labels)];
	char *save = buf;

	if (labels == NULL)
		return NULL;
	/* "k=v" lines -> {"k": "v", ...} */
	snprintf(buf, sizeof(buf), "%s", x->labels);
	while (save && *save) {
		char *item = save, *comma = strchr(save, '\n'), *eq;

		if (comma)
			*comma = '\0';
		save = comma ? comma + 1 : NULL;
		eq = strchr(item, '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		json_object_set_new(labels, item, api_str_json(eq + 1));
	}
	return json_pack("{s:o, s:o, s:o, s:i, s:i, s:o, s:o, s:s, s:b}", "id", api_str_json(x->id),
	                 "host", api_str_json(x->host), "labels", labels, "capacity", x->capacity,
	                 "running", x->running, "last_heartbeat", api_time_json(x->last_heartbeat),
	                 "version", api_str_json(x->version), "state", x->state, "enabled",
	                 x->enabled);
}

/* The executors' array, or NULL after replying (501, 500). */
static json_t *executors_array(struct api_req *rq, struct api_resp *rs)
{
	struct api_executor *xs;
	json_t *arr;
	size_t n;

	if (rq->api->hooks.executors == NULL) {
		api_reply_error(rs, 501, "internal", NULL, "this server has no executor registry");
		return NULL;
	}
	if ((xs = calloc(API_EXECUTORS_MAX, sizeof(*xs))) == NULL || (arr = json_array()) == NULL) {
		free(xs);
		api_reply_json(rs, 500, NULL);
		return NULL;
	}
	n = rq->api->hooks.executors(rq->api->hooks.ctx, xs, API_EXECUTORS_MAX);
	if (n > API_EXECUTORS_MAX) {
		log_at(LOG_WARN, "api", "%zu executors; the listing shows the first %d", n,
		       API_EXECUTORS_MAX);
		n = API_EXECUTORS_MAX;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *x = executor_json(&xs[i]);

		if (x == NULL || json_array_append_new(arr, x)) {
			free(xs);
			json_decref(arr);
			api_reply_json(rs, 500, NULL);
			return NULL;
		}
	}
	free(xs);
	return arr;
}

void api_executors_list(struct api_req *rq, struct api_resp *rs)
{
	json_t *arr = executors_array(rq, rs);

	if (arr)
		api_reply_json(rs, 200, json_pack("{s:o}", "executors", arr));
}

void api_cluster(struct api_req *rq, struct api_resp *rs)
{
	json_t *arr = executors_array(rq, rs);

	/* Standalone: this process is the only scheduler and the leader. */
	if (arr)
		api_reply_json(rs, 200,
		               json_pack("{s:s, s:[{s:s, s:b, s:s}], s:o}", "mode", rq->api->mode,
		                         "schedulers", "id", "local", "leader", 1, "version",
		                         CLOVER_VERSION, "executors", arr));
}

static void control(struct api_req *rq, struct api_resp *rs, const char *op)
{
	const char *id = rq->seg[1];
	struct error_info e;
	int rc;

	if (rq->api->hooks.executor_control == NULL) {
		api_reply_error(rs, 501, "internal", NULL, "this server cannot control executors");
		return;
	}
	error_clear(&e);
	rc = rq->api->hooks.executor_control(rq->api->hooks.ctx, id, op, &e);
	if (rc == CLOVER_ENOENT && e.message[0] == '\0')
		error_set(&e, rc, "id", "no executor '%s'", id);
	if (rc) {
		api_reply_rc(rs, rc, &e);
		return;
	}
	log_at(LOG_INFO, "api", "executor=%s %s requested by %s", id, op, rq->who.user);
	api_event(rq, STORE_LEVEL_INFO, "api", NULL, "executor %s: %s requested by %s", id, op,
	          rq->who.user);
	api_reply_json(rs, 202, json_pack("{s:s, s:s}", "id", id, "requested", op));
}

void api_executor_disable(struct api_req *rq, struct api_resp *rs)
{
	control(rq, rs, "disable");
}

void api_executor_enable(struct api_req *rq, struct api_resp *rs)
{
	control(rq, rs, "enable");
}

void api_executor_drain(struct api_req *rq, struct api_resp *rs)
{
	control(rq, rs, "drain");
}
