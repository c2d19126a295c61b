/* SPDX-License-Identifier: MIT */
/*
 * The server's published state: the coordination tree of a standalone
 * scheduler and the snapshots the API reads (observe.h). The tree's layout is
 * docs/coordination.md's; in standalone mode this scheduler is the only one,
 * the leader, and owns the only partition.
 */
#include "daemon/observe.h"

#include "base/log.h"
#include "base/time.h"
#include "coord/coord.h"
#include "core/engine.h"
#include "daemon/alerts.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FIRES_KEPT 10

struct observe {
	struct coord *coord;
	char id[COORD_NAME_MAX + 1]; /* this scheduler: "<host>:<port>" */
	char owner[COORD_OWNER_MAX]; /* "scheduler:<id>" */
	struct observe_options opt;
	char listen[256], rpc[256];
	int64_t started_at;

	pthread_mutex_t mu; /* guards the snapshot */
	struct engine_stats st;
	struct api_fire fires[FIRES_KEPT];
	size_t nfires;
	int64_t next_ms; /* monotonic: the next refresh (main thread only) */
};

/* Replaces what a name may not hold ([A-Za-z0-9._:@-]) by '_'. */
static void sanitize(char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-' || c == ':' || c == '@'))
			*s = '_';
	}
}

/* Writes `doc` (stolen) at `path`; failures are logged: the tree is for people. */
static void publish(struct observe *o, const char *path, json_t *doc, enum coord_mode mode,
                    const char *owner)
{
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	struct error_info e;
	int rc;

	json_decref(doc);
	if (text == NULL) {
		log_at(LOG_WARN, "coord", "cannot publish %s: out of memory", path);
		return;
	}
	if ((rc = coord_put(o->coord, path, text, strlen(text), mode, owner, &e)))
		log_at(LOG_WARN, "coord", "cannot publish %s: %s", path, e.message);
	free(text);
}

static json_t *time_json(int64_t ms)
{
	char buf[40];

	time_format_rfc3339(ms, buf, sizeof(buf), true);
	return json_string(buf);
}

static void publish_scheduler(struct observe *o)
{
	char path[COORD_PATH_MAX], host[256] = "", api[300];

	if (gethostname(host, sizeof(host) - 1))
		host[0] = '\0';
	snprintf(api, sizeof(api), "http://%s", o->listen);
	snprintf(path, sizeof(path), "/clover/schedulers/%s", o->id);
	publish(o, path,
	        json_pack("{s:s, s:s, s:I, s:s, s:I, s:s*, s:s, s:o, s:s}", "id", o->id, "host",
	                  host, "pid", (json_int_t)getpid(), "api", api, "api_port",
	                  (json_int_t)o->opt.api_port, "rpc", o->rpc[0] ? o->rpc : NULL, "version",
	                  CLOVER_VERSION, "started_at", time_json(o->started_at), "mode",
	                  "standalone"),
	        COORD_EPHEMERAL, o->owner);
}

int observe_new(const struct observe_options *opt, struct observe **out, struct error_info *e)
{
	struct observe *o = calloc(1, sizeof(*o));
	char host[256] = "";
	const char *local[] = {"clover.local=true"};
	int rc;

	*out = NULL;
	if (o == NULL)
		return error_set(e, CLOVER_ENOMEM, NULL, "out of memory");
	if ((rc = coord_open_local(&o->coord))) {
		free(o);
		return error_set(e, rc, NULL, "cannot open the coordination tree");
	}
	pthread_mutex_init(&o->mu, NULL);
	o->opt = *opt;
	o->started_at = time_wall_ms();
	snprintf(o->listen, sizeof(o->listen), "%s", opt->api_listen ? opt->api_listen : "");
	snprintf(o->rpc, sizeof(o->rpc), "%s", opt->rpc ? opt->rpc : "");
	if (gethostname(host, sizeof(host) - 1) || host[0] == '\0')
		snprintf(host, sizeof(host), "scheduler");
	snprintf(o->id, sizeof(o->id), "%.100s:%d", host, opt->api_port);
	sanitize(o->id);
	snprintf(o->owner, sizeof(o->owner), "scheduler:%s", o->id);

	publish_scheduler(o);
	publish(o, "/clover/leader",
	        json_pack("{s:s, s:I, s:o}", "id", o->id, "epoch", (json_int_t)1, "since",
	                  time_json(o->started_at)),
	        COORD_EPHEMERAL, o->owner);
	publish(o, "/clover/assignment",
	        json_pack("{s:I, s:I, s:{s:s}}", "epoch", (json_int_t)1, "partitions",
	                  (json_int_t)1, "owners", "0", o->id),
	        COORD_PERSISTENT, NULL);
	publish(o, "/clover/config",
	        json_pack("{s:s, s:I, s:I, s:I}", "mode", "standalone", "retention_ms",
	                  (json_int_t)opt->retention_ms, "executor_timeout_ms",
	                  (json_int_t)opt->executor_timeout_ms, "workers",
	                  (json_int_t)opt->workers),
	        COORD_PERSISTENT, NULL);
	publish(o, "/clover/jobs/notice",
	        json_pack("{s:o}", "changed_at", time_json(o->started_at)), COORD_PERSISTENT, NULL);
	observe_executor_join(o, "local", local, 1, opt->workers);
	*out = o;
	return 0;
}

struct coord *observe_coord(struct observe *o)
{
	return o->coord;
}

void observe_api_port(struct observe *o, int port)
{
	char old[COORD_PATH_MAX];
	char host[256] = "";

	if (port == o->opt.api_port)
		return;
	/* The id names the port: publish under the new name, drop the old one. */
	snprintf(old, sizeof(old), "/clover/schedulers/%s", o->id);
	(void)coord_delete(o->coord, old, COORD_ANY_VERSION, NULL);
	o->opt.api_port = port;
	if (gethostname(host, sizeof(host) - 1) || host[0] == '\0')
		snprintf(host, sizeof(host), "scheduler");
	snprintf(o->id, sizeof(o->id), "%.100s:%d", host, port);
	sanitize(o->id);
	(void)coord_expire(o->coord, o->owner);
	snprintf(o->owner, sizeof(o->owner), "scheduler:%s", o->id);
	publish_scheduler(o);
	publish(o, "/clover/leader",
	        json_pack("{s:s, s:I, s:o}", "id", o->id, "epoch", (json_int_t)1, "since",
	                  time_json(o->started_at)),
	        COORD_EPHEMERAL, o->owner);
	publish(o, "/clover/assignment",
	        json_pack("{s:I, s:I, s:{s:s}}", "epoch", (json_int_t)1, "partitions",
	                  (json_int_t)1, "owners", "0", o->id),
	        COORD_PERSISTENT, NULL);
	{
		const char *local[] = {"clover.local=true"};

		observe_executor_join(o, "local", local, 1, o->opt.workers);
	}
}

void observe_pass(struct observe *o, const struct engine *e)
{
	struct engine_fire f[FIRES_KEPT];
	struct engine_stats st;
	int64_t now = time_mono_ms();
	size_t n;

	if (o == NULL || now < o->next_ms)
		return;
	o->next_ms = now + OBSERVE_EVERY_MS;
	engine_stats(e, &st);
	n = engine_next_fires(e, f, FIRES_KEPT);
	pthread_mutex_lock(&o->mu);
	o->st = st;
	o->nfires = n;
	for (size_t i = 0; i < n; i++) {
		snprintf(o->fires[i].job, sizeof(o->fires[i].job), "%s", f[i].job);
		o->fires[i].at = f[i].at;
	}
	pthread_mutex_unlock(&o->mu);
}

void observe_executor_join(struct observe *o, const char *id, const char *const *labels,
                           size_t nlabels, int capacity)
{
	char path[COORD_PATH_MAX], owner[COORD_OWNER_MAX], name[COORD_NAME_MAX + 1];
	json_t *lab = json_object();

	if (o == NULL || lab == NULL) {
		json_decref(lab);
		return;
	}
	for (size_t i = 0; i < nlabels; i++) {
		const char *eq = strchr(labels[i], '=');
		char k[256];

		if (eq == NULL || (size_t)(eq - labels[i]) >= sizeof(k))
			continue;
		memcpy(k, labels[i], (size_t)(eq - labels[i]));
		k[eq - labels[i]] = '\0';
		json_object_set_new(lab, k, json_string(eq + 1));
	}
	snprintf(name, sizeof(name), "%s", id);
	sanitize(name);
	snprintf(path, sizeof(path), "/clover/executors/%s", name);
	snprintf(owner, sizeof(owner), "executor:%s", name);
	publish(o, path,
	        json_pack("{s:s, s:o, s:i, s:o, s:s}", "id", id, "labels", lab, "capacity",
	                  capacity, "joined_at", time_json(time_wall_ms()), "scheduler", o->id),
	        COORD_EPHEMERAL, owner);
}

void observe_executor_leave(struct observe *o, const char *id)
{
	char owner[COORD_OWNER_MAX], name[COORD_NAME_MAX + 1];

	if (o == NULL)
		return;
	snprintf(name, sizeof(name), "%s", id);
	sanitize(name);
	snprintf(owner, sizeof(owner), "executor:%s", name);
	(void)coord_expire(o->coord, owner);
}

void observe_job_changed(struct observe *o)
{
	if (o)
		publish(o, "/clover/jobs/notice",
		        json_pack("{s:o}", "changed_at", time_json(time_wall_ms())),
		        COORD_PERSISTENT, NULL);
}

size_t observe_next_fires(struct observe *o, struct api_fire *out, size_t max)
{
	size_t n;

	pthread_mutex_lock(&o->mu);
	n = o->nfires < max ? o->nfires : max;
	memcpy(out, o->fires, n * sizeof(*out));
	pthread_mutex_unlock(&o->mu);
	return n;
}

void observe_metrics(struct observe *o, struct api_metrics *out)
{
	pthread_mutex_lock(&o->mu);
	out->fires = o->st.fires;
	out->misfires = o->st.misfired;
	out->retries = o->st.retries;
	out->active_runs = o->st.active_runs;
	out->jobs = o->st.jobs;
	pthread_mutex_unlock(&o->mu);
	out->leader = true;
	out->partitions_owned = 1;
	out->partitions_total = 1;
	if (o->opt.alerts) {
		struct alerts_stats as;

		alerts_stats(o->opt.alerts, &as);
		for (int k = 0; k <= NOTIFY_DROPPED && out->nalerts < API_METRICS_ALERTS; k++) {
			out->alerts[out->nalerts].outcome =
			    notify_outcome_name((enum notify_outcome)k);
			out->alerts[out->nalerts].n = as.outcomes[k];
			out->nalerts++;
		}
		out->alerts_dropped = as.dropped;
	}
}

void observe_free(struct observe *o)
{
	if (o == NULL)
		return;
	coord_close(o->coord);
	pthread_mutex_destroy(&o->mu);
	free(o);
}
