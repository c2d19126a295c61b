/* SPDX-License-Identifier: MIT */
/*
 * `clover runs` and `clover run ...`: runs over the REST API. A run is one
 * firing of a job; it has one or more shards (slices executed on executors),
 * each with its latest attempt's state, exit code and log. A run's state is
 * final once it is succeeded, failed, timed_out, cancelled, skipped or lost;
 * `run log --follow` polls the log until then.
 */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/table.h"
#include "clover.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define RUNS_PAGE_MAX 1000 /* the server's largest page */
#define RUNS_DEFAULT 50
#define LIST_MAX 1000000
#define FOLLOW_POLL_MS 500
/* A log answer shorter than this means "caught up": wait before asking again. */
#define FOLLOW_BURST (64 * 1024)

enum { OPT_JOB = 0x200, OPT_STATE, OPT_SHARD };

static bool state_final(const char *s)
{
	static const char *const final[] = {"succeeded", "failed",  "timed_out",
					    "cancelled", "skipped", "lost"};

	for (size_t i = 0; s && i < sizeof(final) / sizeof(final[0]); i++) {
		if (strcmp(s, final[i]) == 0)
			return true;
	}
	return false;
}

/* Milliseconds of an integer member, -1 when null or absent. */
static int64_t json_ms(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

/* Integer member as text into `out`, "-" when null or absent. */
static const char *int_text(const json_t *o, const char *key, char *out, size_t n)
{
	json_t *v = json_object_get(o, key);

	if (json_is_integer(v))
		snprintf(out, n, "%lld", (long long)json_integer_value(v));
	else
		snprintf(out, n, "-");
	return out;
}

/*
 * The exit code to show for a run: that of its first shard that failed with
 * one, else that of its first shard that has one, else "-".
 */
static const char *run_exit(const json_t *run, char *out, size_t n)
{
	json_t *shards = json_object_get(run, "shards"), *sh, *first = NULL;
	size_t i;

	json_array_foreach(shards, i, sh)
	{
		json_t *code = json_object_get(sh, "exit_code");

		if (!json_is_integer(code))
			continue;
		if (json_integer_value(code) != 0)
			return int_text(sh, "exit_code", out, n);
		if (first == NULL)
			first = sh;
	}
	return first ? int_text(first, "exit_code", out, n) : "-";
}

/* Parses a run ID argument; prints a usage error when it is not one. */
static int run_id(const struct cli_command *cmd, const char *s, long long *id)
{
	if (cli_parse_int(s, 1, INT64_MAX, id))
		return cli_usage_error(cmd, "a run ID is a positive number, not '%s'", s);
	return CLI_CONTINUE;
}

/* ---- runs ---- */

static const struct option runs_opts[] = {
	{"job", required_argument, NULL, OPT_JOB},
	{"state", required_argument, NULL, OPT_STATE},
	{"limit", required_argument, NULL, 'n'},
	{0},
};

static const struct cli_command runs_cmd = {
	.name = "runs",
	.synopsis = "[--job J] [--state S] [-n N]",
	.help = "Lists runs, newest first: ID JOB SCHEDULED TRIGGER STATE DURATION EXIT\n"
		"(times in UTC; EXIT is the first failing shard's exit code, else the first\n"
		"shard's).\n"
		"\n"
		"options:\n"
		"  --job J             only runs of job J\n"
		"  --state S           only runs in state S (pending, running, succeeded, failed,\n"
		"                      timed_out, cancelled, skipped, lost)\n"
		"  -n, --limit N       at most N runs (default 50)\n",
	.opts = runs_opts,
	.shortopts = "n:",
	.max_args = 0,
};

struct runs_opts {
	const char *job, *state;
	long long limit;
};

static int runs_opt(void *ctx, const struct cli_command *cmd, int opt, const char *arg)
{
	struct runs_opts *o = ctx;

	switch (opt) {
	case OPT_JOB:
		o->job = arg;
		return CLI_CONTINUE;
	case OPT_STATE:
		o->state = arg;
		return CLI_CONTINUE;
	case 'n':
		if (cli_parse_int(arg, 1, LIST_MAX, &o->limit))
			return cli_usage_error(cmd, "-n wants a number from 1 to %d, not '%s'",
					       LIST_MAX, arg);
		return CLI_CONTINUE;
	}
	return cli_usage_error(cmd, "unknown option");
}

static int runs_table(const json_t *runs)
{
	static const char *const head[] = {"ID",    "JOB",      "SCHEDULED", "TRIGGER",
					   "STATE", "DURATION", "EXIT"};
	struct cli_table t;
	size_t i;
	json_t *run;
	int rc;

	if (cli_table_init(&t, 7, head))
		return CLI_EXIT_FAIL;
	cli_table_align_right(&t, 0);
	cli_table_align_right(&t, 5);
	cli_table_align_right(&t, 6);
	json_array_foreach(runs, i, run)
	{
		char id[24], sched[40], dur[40], code[24];
		const char *row[7] = {
			int_text(run, "id", id, sizeof(id)),
			cli_json_str(run, "job"),
			cli_format_time(cli_json_str(run, "scheduled_at"), sched, sizeof(sched)),
			cli_json_str(run, "trigger"),
			cli_json_str(run, "state"),
			cli_format_duration(json_ms(run, "duration_ms"), dur, sizeof(dur)),
			run_exit(run, code, sizeof(code)),
		};

		if (cli_table_add(&t, row)) {
			cli_table_free(&t);
			return CLI_EXIT_FAIL;
		}
	}
	rc = cli_table_print(&t, stdout) ? CLI_EXIT_FAIL : CLI_EXIT_OK;
	cli_table_free(&t);
	return rc;
}

int cli_runs_main(int argc, char **argv)
{
	struct runs_opts o = {.limit = RUNS_DEFAULT};
	struct cli_cmdline cl;
	int rc = cli_parse(&runs_cmd, argc, argv, runs_opt, &o, &cl);

	if (rc != CLI_CONTINUE)
		return rc;
	return cli_print_list(&cl.g, &(struct cli_list){
	                                 .path = "/runs",
	                                 .filters = {"job", o.job, "state", o.state, NULL},
	                                 .key = "runs",
	                                 .cursor = "before",
	                                 .limit = o.limit,
	                                 .page_max = RUNS_PAGE_MAX,
	                                 .table = runs_table,
	                             });
}

/* ---- run show ---- */

static const struct cli_command show_cmd = {
	.name = "run show",
	.synopsis = "ID",
	.help = "Prints a run: its job, trigger, state, times (UTC), duration, and one line\n"
		"per shard. With -o json, the API's RUN object.\n",
	.min_args = 1,
	.max_args = 1,
	.args = "ID",
};

static int show_fields(const json_t *run)
{
	struct cli_table t;
	char id[24], sched[40], created[40], started[40], finished[40], dur[40];
	const char *const rows[][2] = {
		{"id:", int_text(run, "id", id, sizeof(id))},
		{"job:", cli_json_str(run, "job")},
		{"state:", cli_json_str(run, "state")},
		{"trigger:", cli_json_str(run, "trigger")},
		{"scheduled:",
		 cli_format_time(cli_json_str(run, "scheduled_at"), sched, sizeof(sched))},
		{"created:",
		 cli_format_time(cli_json_str(run, "created_at"), created, sizeof(created))},
		{"started:",
		 cli_format_time(cli_json_str(run, "started_at"), started, sizeof(started))},
		{"finished:",
		 cli_format_time(cli_json_str(run, "finished_at"), finished, sizeof(finished))},
		{"duration:", cli_format_duration(json_ms(run, "duration_ms"), dur, sizeof(dur))},
		{"params:", cli_json_str(run, "params")},
		{"reason:", cli_json_str(run, "reason")},
	};
	int rc = 0;

	if (cli_table_init(&t, 2, NULL))
		return CLI_EXIT_FAIL;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]) && rc == 0; i++)
		rc = cli_table_add(&t, rows[i]);
	if (rc == 0)
		rc = cli_table_print(&t, stdout);
	cli_table_free(&t);
	return rc ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

static int show_shards(const json_t *run)
{
	static const char *const head[] = {"SHARD",   "ATTEMPT", "STATE",    "EXECUTOR", "EXIT",
					   "STARTED", "FINISHED", "PROGRESS", "MESSAGE"};
	json_t *shards = json_object_get(run, "shards"), *sh;
	struct cli_table t;
	size_t i;
	int rc = 0;

	if (json_array_size(shards) == 0)
		return CLI_EXIT_OK;
	if (cli_table_init(&t, 9, head))
		return CLI_EXIT_FAIL;
	for (size_t col = 0; col < 5; col++) {
		if (col != 2 && col != 3)
			cli_table_align_right(&t, col);
	}
	cli_table_align_right(&t, 7);
	json_array_foreach(shards, i, sh)
	{
		char idx[24], att[24], code[24], started[40], finished[40], prog[16];
		json_t *p = json_object_get(sh, "progress");
		const char *row[9] = {
			int_text(sh, "index", idx, sizeof(idx)),
			int_text(sh, "attempt", att, sizeof(att)),
			cli_json_str(sh, "state"),
			cli_json_str(sh, "executor"),
			int_text(sh, "exit_code", code, sizeof(code)),
			cli_format_time(cli_json_str(sh, "started_at"), started, sizeof(started)),
			cli_format_time(cli_json_str(sh, "finished_at"), finished, sizeof(finished)),
			prog,
			cli_json_str(sh, "message"),
		};

		if (json_is_number(p))
			snprintf(prog, sizeof(prog), "%.0f%%", json_number_value(p) * 100.0);
		else
			snprintf(prog, sizeof(prog), "-");
		rc = cli_table_add(&t, row);
		if (rc)
			break;
	}
	if (rc == 0) {
		putchar('\n');
		rc = cli_table_print(&t, stdout);
	}
	cli_table_free(&t);
	return rc ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

static int run_show(int argc, char **argv)
{
	struct cli_cmdline cl;
	struct cli_client c;
	json_t *run = NULL;
	long long id;
	char path[64];
	int rc = cli_parse(&show_cmd, argc, argv, NULL, NULL, &cl);

	if (rc != CLI_CONTINUE)
		return rc;
	rc = run_id(&show_cmd, cl.pos[0], &id);
	if (rc != CLI_CONTINUE)
		return rc;
	rc = cli_client_open(&c, &cl.g, true);
	if (rc != CLI_CONTINUE)
		return rc;
	snprintf(path, sizeof(path), "/runs/%lld", id);
	rc = cli_call(&c, "GET", path, NULL, 0, NULL, &run);
	cli_client_close(&c);
	if (rc == CLI_EXIT_OK) {
		if (cl.g.output == CLI_OUTPUT_JSON) {
			rc = cli_print_json(run);
		} else {
			rc = show_fields(run);
			if (rc == CLI_EXIT_OK)
				rc = show_shards(run);
		}
	}
	json_decref(run);
	return rc;
}

/* ---- run log ---- */

static const struct option log_opts[] = {
	{"shard", required_argument, NULL, OPT_SHARD},
	{"follow", no_argument, NULL, 'f'},
	{0},
};

static const struct cli_command log_cmd = {
	.name = "run log",
	.synopsis = "ID [--shard N] [-f|--follow]",
	.help = "Prints the output of a run (as text; -o is ignored).\n"
		"\n"
		"options:\n"
		"  --shard N           the log of shard N (default: the server's choice, shard 0)\n"
		"  -f, --follow        keep printing new output every 0.5 s until the run ends\n",
	.opts = log_opts,
	.shortopts = "f",
	.min_args = 1,
	.max_args = 1,
	.args = "ID",
};

struct log_opts {
	long long shard; /* -1: not given */
	bool follow;
};

static int log_opt(void *ctx, const struct cli_command *cmd, int opt, const char *arg)
{
	struct log_opts *o = ctx;

	switch (opt) {
	case OPT_SHARD:
		if (cli_parse_int(arg, 0, INT32_MAX, &o->shard))
			return cli_usage_error(cmd, "--shard wants a shard number, not '%s'", arg);
		return CLI_CONTINUE;
	case 'f':
		o->follow = true;
		return CLI_CONTINUE;
	}
	return cli_usage_error(cmd, "unknown option");
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* The run's state from GET /runs/ID, for servers that do not send the header. */
static void fetch_state(struct cli_client *c, long long id, char *out, size_t n)
{
	char path[64];
	json_t *run = NULL;

	snprintf(path, sizeof(path), "/runs/%lld", id);
	if (cli_call(c, "GET", path, NULL, 0, NULL, &run) == CLI_EXIT_OK) {
		const char *s = cli_json_str(run, "state");

		snprintf(out, n, "%s", s ? s : "");
	}
	json_decref(run);
}

static int run_log(int argc, char **argv)
{
	struct log_opts o = {.shard = -1};
	struct cli_cmdline cl;
	struct cli_client c;
	struct cli_response r;
	struct error_info e;
	long long id, offset = 0;
	char path[128], line[1024], state[32];
	int rc = cli_parse(&log_cmd, argc, argv, log_opt, &o, &cl);

	if (rc != CLI_CONTINUE)
		return rc;
	rc = run_id(&log_cmd, cl.pos[0], &id);
	if (rc != CLI_CONTINUE)
		return rc;
	rc = cli_client_open(&c, &cl.g, true);
	if (rc != CLI_CONTINUE)
		return rc;
	cli_response_init(&r);
	error_clear(&e);
	rc = CLI_EXIT_FAIL;
	for (;;) {
		size_t len;
		long long next;

		if (o.shard >= 0)
			snprintf(path, sizeof(path), "/runs/%lld/log?shard=%lld&offset=%lld", id,
				 o.shard, offset);
		else
			snprintf(path, sizeof(path), "/runs/%lld/log?offset=%lld", id, offset);
		if (cli_request(&c, "GET", path, NULL, 0, &r, &e)) {
			fprintf(stderr, "clover: %s\n", e.message);
			goto out;
		}
		if (r.status != 200) {
			cli_error_format(r.status, r.body.data, r.body.len, line, sizeof(line));
			fprintf(stderr, "%s\n", line);
			goto out;
		}
		len = r.body.len;
		if (len && (fwrite(r.body.data, 1, len, stdout) != len || fflush(stdout) != 0))
			goto out; /* standard output went away */
		next = r.next_offset >= offset ? r.next_offset : offset + (long long)len;
		if (next == offset && len > 0)
			next = offset + (long long)len;
		offset = next;
		if (!o.follow) {
			if (len == 0)
				break;
			continue;
		}
		snprintf(state, sizeof(state), "%s", r.run_state);
		if (len == 0 && state[0] == '\0')
			fetch_state(&c, id, state, sizeof(state));
		/* Stop only on an empty answer after the end: nothing is lost in between. */
		if (len == 0 && state_final(state))
			break;
		if (len < FOLLOW_BURST && !state_final(state))
			sleep_ms(FOLLOW_POLL_MS);
	}
	rc = CLI_EXIT_OK;
out:
	cli_response_free(&r);
	cli_client_close(&c);
	return rc;
}

/* ---- run kill ---- */

static const struct cli_command kill_cmd = {
	.name = "run kill",
	.synopsis = "ID",
	.help = "Asks the executors to stop a run that has not finished; the run then ends as\n"
		"cancelled. Fails (HTTP 409) when the run has already finished.\n",
	.min_args = 1,
	.max_args = 1,
	.args = "ID",
};

static int run_kill(int argc, char **argv)
{
	struct cli_cmdline cl;
	struct cli_client c;
	json_t *res = NULL;
	long long id;
	char path[64];
	int rc = cli_parse(&kill_cmd, argc, argv, NULL, NULL, &cl);

	if (rc != CLI_CONTINUE)
		return rc;
	rc = run_id(&kill_cmd, cl.pos[0], &id);
	if (rc != CLI_CONTINUE)
		return rc;
	rc = cli_client_open(&c, &cl.g, true);
	if (rc != CLI_CONTINUE)
		return rc;
	snprintf(path, sizeof(path), "/runs/%lld/kill", id);
	rc = cli_call(&c, "POST", path, NULL, 0, NULL, &res);
	cli_client_close(&c);
	if (rc == CLI_EXIT_OK) {
		if (cl.g.output == CLI_OUTPUT_JSON && res)
			rc = cli_print_json(res);
		else if (cl.g.output == CLI_OUTPUT_TABLE)
			printf("run %lld: kill requested\n", id);
	}
	json_decref(res);
	return rc;
}

static const struct cli_sub run_subs[] = {
	{"show", run_show, "print a run and its shards"},
	{"log", run_log, "print a run's output"},
	{"kill", run_kill, "stop a run"},
};

/* Option spellings of the run commands that take a value (see cli_find_subcommand). */
static const char *const run_value_opts[] = {"--shard", NULL};

int cli_run_main(int argc, char **argv)
{
	return cli_dispatch("run", run_subs, sizeof(run_subs) / sizeof(run_subs[0]),
			    run_value_opts, argc, argv);
}
