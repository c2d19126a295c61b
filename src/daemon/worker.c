/* SPDX-License-Identifier: MIT */
/*
 * `clover worker`: a standalone executor process. It is a thin main over the
 * client library's worker (include/clover.h, src/exec/worker.c): options
 * become a clover_worker_options, job specs from --jobs are declared, and
 * the first SIGTERM/SIGINT drains the worker (clover_worker_drain() with
 * --drain-grace), a second one stops it at once (clover_worker_stop()); both
 * are async-signal-safe. The worker
 * serves the built-in run kinds (shell, http, the `noop` handler); an
 * application with handler functions of its own links the library instead
 * (examples/worker-hello.c). See docs/executors.md.
 *
 * Exit status: 0 stopped or drained, 1 failed to start or run, 2 usage.
 */
#include "daemon/daemon.h"

#include "base/duration.h"
#include "base/log.h"
#include "clover.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#define MAX_SCHEDULERS 64
#define MAX_LABELS     64
#define JOBS_FILE_MAX  (8L * 1024 * 1024)

static clover_worker *the_worker;
static int64_t drain_grace_ms = 30000;
static volatile sig_atomic_t signals;

static const char usage_text[] =
    "usage: clover worker --scheduler tcp://HOST:PORT --server-key FILE --key NAME [options]\n"
    "\n"
    "Runs an executor that takes work from schedulers (shell, http and noop jobs).\n"
    "\n"
    "  --scheduler URL    a scheduler's executor endpoint, tcp://host:port (repeatable)\n"
    "  --server-key FILE  the schedulers' public key (their .pub from clover keygen)\n"
    "  --key NAME         this executor's key pair NAME.key / NAME.pub (clover keygen)\n"
    "  --label K=V        a label that jobs can target (repeatable)\n"
    "  --capacity N       shards run at a time (default 16)\n"
    "  --id ID            executor id (default the host name)\n"
    "  --spool FILE       where unacknowledged results are kept (default\n"
    "                     clover-worker-ID.spool in the current directory)\n"
    "  --jobs FILE        job specs to declare: a JSON array of specs, or one spec\n"
    "  --drain-grace DUR  on SIGTERM, how long running shards may finish (default 30s)\n"
    "  --log-level LEVEL  trace, debug, info, warn, error, off (default info)\n"
    "\n"
    "SIGTERM or SIGINT drains it: no new shards, running ones get --drain-grace\n"
    "to finish, results are delivered, then it exits. A second signal stops it at\n"
    "once (running shards are cancelled, their results kept in the spool).\n"
    "See docs/executors.md.\n";

static void on_signal(int sig)
{
	(void)sig;
	/* Both are atomic stores and a write(2). */
	if (signals++ == 0)
		clover_worker_drain(the_worker, drain_grace_ms);
	else
		clover_worker_stop(the_worker);
}

static int parse_int(const char *s, int min, int max, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

/* Declares every spec of FILE (an array, or one object). 0 or -1 (printed). */
static int declare_jobs(clover_worker *w, const char *path)
{
	json_error_t jerr;
	struct stat st;
	json_t *root;
	int rc = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "clover worker: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (st.st_size > JOBS_FILE_MAX) {
		fprintf(stderr, "clover worker: %s: over %ld bytes\n", path, JOBS_FILE_MAX);
		return -1;
	}
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		fprintf(stderr, "clover worker: %s:%d: %s\n", path, jerr.line, jerr.text);
		return -1;
	}
	if (!json_is_array(root) && !json_is_object(root)) {
		fprintf(stderr, "clover worker: %s: a job spec or an array of them expected\n",
		        path);
		json_decref(root);
		return -1;
	}
	for (size_t i = 0; rc == 0 && i < (json_is_array(root) ? json_array_size(root) : 1); i++) {
		json_t *spec = json_is_array(root) ? json_array_get(root, i) : root;
		char *text = json_dumps(spec, JSON_COMPACT | JSON_PRESERVE_ORDER);
		int r;

		if (text == NULL) {
			fprintf(stderr, "clover worker: %s: job %zu: out of memory\n", path, i + 1);
			rc = -1;
			break;
		}
		r = clover_worker_declare_job(w, text);
		free(text);
		if (r != 0) {
			fprintf(stderr, "clover worker: %s: job %zu: %s (see the log line above)\n",
			        path, i + 1, clover_strerror(r));
			rc = -1;
		}
	}
	json_decref(root);
	return rc;
}

int daemon_worker_main(int argc, char **argv)
{
	const char *schedulers[MAX_SCHEDULERS], *labels[MAX_LABELS];
	const char *jobs = NULL, *level = NULL;
	clover_worker_options o;
	struct sigaction sa;
	char spool[PATH_MAX];
	int rc;

	drain_grace_ms = 30000;
	memset(&o, 0, sizeof(o));
	o.schedulers = schedulers;
	o.labels = labels;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(usage_text, stdout);
			return 0;
		}
		if (a[0] != '-' || a[1] != '-') {
			fprintf(stderr, "clover worker: unexpected argument '%s'\n%s", a, usage_text);
			return 2;
		}
		if (v == NULL) {
			fprintf(stderr, "clover worker: %s needs a value\n%s", a, usage_text);
			return 2;
		}
		i++;
		if (strcmp(a, "--scheduler") == 0) {
			if (o.nschedulers == MAX_SCHEDULERS) {
				fprintf(stderr, "clover worker: at most %d schedulers\n",
				        MAX_SCHEDULERS);
				return 2;
			}
			schedulers[o.nschedulers++] = v;
		} else if (strcmp(a, "--server-key") == 0) {
			o.server_key_file = v;
		} else if (strcmp(a, "--key") == 0) {
			o.key = v;
		} else if (strcmp(a, "--label") == 0) {
			if (o.nlabels == MAX_LABELS) {
				fprintf(stderr, "clover worker: at most %d labels\n", MAX_LABELS);
				return 2;
			}
			labels[o.nlabels++] = v;
		} else if (strcmp(a, "--capacity") == 0) {
			if (parse_int(v, 1, 65536, &o.capacity) != 0) {
				fprintf(stderr, "clover worker: --capacity '%s': 1 - 65536\n", v);
				return 2;
			}
		} else if (strcmp(a, "--id") == 0) {
			o.id = v;
		} else if (strcmp(a, "--spool") == 0) {
			o.spool = v;
		} else if (strcmp(a, "--jobs") == 0) {
			jobs = v;
		} else if (strcmp(a, "--drain-grace") == 0) {
			struct error_info e;

			if (duration_parse(v, &drain_grace_ms, &e) != 0) {
				fprintf(stderr, "clover worker: --drain-grace '%s': %s\n", v,
				        e.message);
				return 2;
			}
		} else if (strcmp(a, "--log-level") == 0) {
			level = v;
		} else {
			fprintf(stderr, "clover worker: unknown option '%s'\n%s", a, usage_text);
			return 2;
		}
	}
	if (level != NULL) {
		enum log_level l;

		if (log_parse_level(level, &l) != 0) {
			fprintf(stderr, "clover worker: --log-level '%s': unknown level\n", level);
			return 2;
		}
		log_set_level(l);
	}
	if (o.nschedulers == 0 || o.server_key_file == NULL || o.key == NULL) {
		fprintf(stderr, "clover worker: --scheduler, --server-key and --key are required\n%s",
		        usage_text);
		return 2;
	}
	if (o.spool == NULL) {
		int n = snprintf(spool, sizeof(spool), "clover-worker-%s.spool",
		                 o.id ? o.id : "default");

		if (n < 0 || (size_t)n >= sizeof(spool) || strchr(spool, '/') != NULL) {
			fprintf(stderr, "clover worker: give --spool FILE for this --id\n");
			return 2;
		}
		o.spool = spool;
	}

	rc = clover_worker_new(&o, &the_worker);
	if (rc != 0) {
		fprintf(stderr, "clover worker: %s (see the log line above)\n", clover_strerror(rc));
		return 1;
	}
	if (jobs != NULL && declare_jobs(the_worker, jobs) != 0) {
		clover_worker_free(the_worker);
		return 1;
	}
	signals = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Processes a shell job leaves behind become ours, so they are reaped. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	rc = clover_worker_run(the_worker);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	clover_worker_free(the_worker);
	the_worker = NULL;
	if (rc != 0) {
		fprintf(stderr, "clover worker: %s\n", clover_strerror(rc));
		return 1;
	}
	return 0;
}
