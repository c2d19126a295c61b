/* SPDX-License-Identifier: MIT */
/*
 * What the server shows of itself: the coordination tree it publishes
 * (docs/coordination.md) and the snapshots behind GET /stats' next fires and
 * /metrics' daemon counters (docs/operations.md "Monitoring").
 *
 * The engine belongs to the main thread, so HTTP threads never read it:
 * observe_pass(), called by the main thread after each pass of its loop,
 * copies the engine's counters and its next fires into a snapshot (at most
 * every OBSERVE_EVERY_MS, so a burst of passes costs nothing), and the API's
 * hooks read that snapshot under a mutex. Executors are published in the tree
 * as ephemeral nodes when they say hello and removed when they leave (any
 * thread; the tree is thread-safe).
 */
#ifndef CLOVER_DAEMON_OBSERVE_H
#define CLOVER_DAEMON_OBSERVE_H

#include "api/api.h"
#include "base/error.h"

#include <stddef.h>
#include <stdint.h>

struct observe;
struct engine;
struct alerts;
struct coord;

#define OBSERVE_EVERY_MS 200

struct observe_options {
	const char *api_listen; /* the API's address as configured */
	int api_port;           /* the bound port */
	const char *rpc;        /* the executors' endpoint, or NULL */
	int workers;            /* the built-in executor's capacity */
	int64_t retention_ms;   /* published as configuration */
	int64_t executor_timeout_ms;
	struct alerts *alerts; /* borrowed; may be NULL */
};

/*
 * Opens the in-process coordination tree and publishes this scheduler, the
 * leadership, the partition assignment, the built-in executor and the
 * configuration. *out is freed with observe_free(). CLOVER_ENOMEM.
 */
int observe_new(const struct observe_options *opt, struct observe **out, struct error_info *e);
/* The tree (for api_options.coord). */
struct coord *observe_coord(struct observe *o);
/* Sets the listening port once the API is up, and republishes this scheduler. */
void observe_api_port(struct observe *o, int port);
/* Main thread: refreshes the snapshot when OBSERVE_EVERY_MS has passed. */
void observe_pass(struct observe *o, const struct engine *e);
/* Publishes executor `id` (ephemeral, owner "executor:<id>"). Any thread. */
void observe_executor_join(struct observe *o, const char *id, const char *const *labels,
                           size_t nlabels, int capacity);
/* Removes what executor `id` published (its session ended). Any thread. */
void observe_executor_leave(struct observe *o, const char *id);
/* Bumps /clover/jobs/notice (a job was created, changed or deleted). Any thread. */
void observe_job_changed(struct observe *o);
/* Frees the tree and the snapshot. Call after the API stopped. NULL is a no-op. */
void observe_free(struct observe *o);

/* For the API hooks of the same names: read the snapshot. Any thread. */
size_t observe_next_fires(struct observe *o, struct api_fire *out, size_t max);
void observe_metrics(struct observe *o, struct api_metrics *out);

#endif
