/* SPDX-License-Identifier: MIT */
/*
 * `clover job ...`: jobs over the REST API. A job is a named scheduling
 * definition; its spec is the JSON document the operator applies, and the
 * server answers with the spec plus a "status" member (revision, pause state,
 * next fire time). `apply` sends the file's text unchanged, so the job reads
 * back exactly as written; it parses the file only to learn the job's name.
 */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/table.h"
#include "clover.h"

#include <stdio.h>
#include <string.h>

/* The server's limit for a spec (JOB_SPEC_MAX_BYTES of core/job.h). */
#define SPEC_MAX_BYTES (256 * 1024)
/* The server's largest page of jobs. */
#define JOBS_PAGE_MAX 1000
#define LIST_MAX 1000000

enum { OPT_SEARCH = 0x200, OPT_PAUSED, OPT_ACTIVE, OPT_PARAMS, OPT_LAST };

/* Builds "/jobs/NAME" plus `suffix` into `b` (initialised by the caller). */
static int job_path(struct buf *b, const char *name, const char *suffix)
{
	int rc = buf_appends(b, "/jobs/");

	if (rc == 0)
		rc = cli_url_escape(b, name);
	if (rc == 0 && suffix)
		rc = buf_appends(b, suffix);
	if (rc)
		fprintf(stderr, "clover: job name too long\n");
	return rc;
}

/* ---- apply ---- */

static const struct option apply_opts[] = {
	{"file", required_argument, NULL, 'f'},
	{0},
};

static const struct cli_command apply_cmd = {
	.name = "job apply",
	.synopsis = "-f FILE",
	.help = "Creates the job described by the JSON spec in FILE (\"-\": standard input), or\n"
		"updates it when a job of that name exists. The file is sent as is (at most\n"
		"256 KiB); a \"status\" member, as `clover job show` prints it, is ignored.\n"
		"\n"
		"options:\n"
		"  -f, --file FILE     the job spec (required)\n",
	.opts = apply_opts,
	.shortopts = "f:",
	.max_args = 0,
};

static int apply_opt(void *ctx, const struct cli_command *cmd, int opt, const char *arg)
{
	const char **file = ctx;

	if (opt != 'f')
		return cli_usage_error(cmd, "unknown option");
	*file = arg;
	return CLI_CONTINUE;
}

static int job_apply(int argc, char **argv)
{
	struct cli_cmdline cl;
	struct cli_client c;
	struct error_info e;
	struct buf text, path;
	json_error_t jerr;
	json_t *spec = NULL, *job = NULL;
	const char *file = NULL, *name, *shown;
	long status = 0;
	int rc = cli_parse(&apply_cmd, argc, argv, apply_opt, &file, &cl);

	if (rc != CLI_CONTINUE)
		return rc;
	if (file == NULL)
		return cli_usage_error(&apply_cmd, "missing -f FILE");

	shown = strcmp(file, "-") == 0 ? "standard input" : file;
	buf_init(&text, SPEC_MAX_BYTES);
	buf_init(&path, 4096);
	error_clear(&e);
	rc = CLI_EXIT_FAIL;
	if (cli_read_file(file, &text, &e)) {
		fprintf(stderr, "clover: %s\n", e.message);
		goto out;
	}
	spec = json_loadb(text.data ? text.data : "", text.len, 0, &jerr);
	if (spec == NULL) {
		fprintf(stderr, "clover: %s:%d:%d: %s\n", shown, jerr.line, jerr.column, jerr.text);
		goto out;
	}
	if (!json_is_object(spec)) {
		fprintf(stderr, "clover: %s: a job spec is a JSON object\n", shown);
		goto out;
	}
	name = cli_json_str(spec, "name");
	if (name == NULL || name[0] == '\0') {
		fprintf(stderr, "clover: %s: the job spec has no \"name\" (a string naming the job)\n",
			shown);
		goto out;
	}
	if (job_path(&path, name, NULL))
		goto out;

	rc = cli_client_open(&c, &cl.g, true);
	if (rc != CLI_CONTINUE)
		goto out;
	rc = cli_call(&c, "PUT", path.data, text.data, text.len, &status, &job);
	cli_client_close(&c);
	if (rc != CLI_EXIT_OK)
		goto out;
	if (cl.g.output == CLI_OUTPUT_JSON) {
		rc = cli_print_json(job);
	} else {
		json_t *rev = json_object_get(json_object_get(job, "status"), "revision");

		printf("job %s %s (revision %lld)\n", name, status == 201 ? "created" : "configured",
		       (long long)json_integer_value(rev));
	}
out:
	json_decref(job);
	json_decref(spec);
	buf_free(&path);
	buf_free(&text);
	return rc;
}

/* ---- ls ---- */

static const struct option ls_opts[] = {
	{"search", required_argument, NULL, OPT_SEARCH},
	{"paused", no_argument, NULL, OPT_PAUSED},
	{"active", no_argument, NULL, OPT_ACTIVE},
	{"last", required_argument, NULL, OPT_LAST},
	{"limit", required_argument, NULL, 'n'},
	{0},
};

static const struct cli_command ls_cmd = {
	.name = "job ls",
	.synopsis = "[--search S] [--paused|--active] [--last STATE] [-n N]",
	.help = "Lists jobs by name: NAME SCHEDULE TZ PAUSED NEXT-FIRE LAST-RUN (times in UTC).\n"
		"\n"
		"options:\n"
		"  --search S          only jobs whose name contains S\n"
		"  --paused            only paused jobs\n"
		"  --active            only jobs that are not paused\n"
		"  --last STATE        only jobs whose last finished run is STATE (succeeded,\n"
		"                      failed, timed_out, cancelled, skipped, lost), or never\n"
		"  -n, --limit N       at most N jobs (default: all)\n",
	.opts = ls_opts,
	.shortopts = "n:",
	.max_args = 0,
};

struct ls_opts {
	const char *search;
	const char *paused; /* "true", "false" or NULL */
	const char *last;   /* a final run state, "never" or NULL */
	long long limit;    /* 0: all */
};

static int ls_opt(void *ctx, const struct cli_command *cmd, int opt, const char *arg)
{
	struct ls_opts *o = ctx;
	const char *want;

	switch (opt) {
	case OPT_SEARCH:
		o->search = arg;
		return CLI_CONTINUE;
	case OPT_PAUSED:
	case OPT_ACTIVE:
		want = opt == OPT_PAUSED ? "true" : "false";
		if (o->paused && strcmp(o->paused, want) != 0)
			return cli_usage_error(cmd, "--paused and --active exclude each other");
		o->paused = want;
		return CLI_CONTINUE;
	case OPT_LAST:
		o->last = arg; /* the server names what it accepts */
		return CLI_CONTINUE;
	case 'n':
		if (cli_parse_int(arg, 1, LIST_MAX, &o->limit))
			return cli_usage_error(cmd, "-n wants a number from 1 to %d, not '%s'",
					       LIST_MAX, arg);
		return CLI_CONTINUE;
	}
	return cli_usage_error(cmd, "unknown option");
}

static int jobs_table(const json_t *jobs)
{
	static const char *const head[] = {"NAME",      "SCHEDULE", "TZ", "PAUSED",
					   "NEXT-FIRE", "LAST-RUN"};
	struct cli_table t;
	size_t i;
	json_t *job;
	int rc;

	if (cli_table_init(&t, 6, head))
		return CLI_EXIT_FAIL;
	json_array_foreach(jobs, i, job)
	{
		json_t *st = json_object_get(job, "status");
		const char *tz = cli_json_str(job, "timezone");
		const char *last = cli_json_str(json_object_get(st, "last_run"), "state");
		char next[40];
		const char *row[6] = {
			cli_json_str(job, "name"),
			cli_json_str(job, "schedule"),
			tz ? tz : "UTC",
			json_is_true(json_object_get(st, "paused")) ? "yes" : "no",
			cli_format_time(cli_json_str(st, "next_fire_at"), next, sizeof(next)),
			last ? last : "-",
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

static int job_ls(int argc, char **argv)
{
	struct ls_opts o = {0};
	struct cli_cmdline cl;
	int rc = cli_parse(&ls_cmd, argc, argv, ls_opt, &o, &cl);

	if (rc != CLI_CONTINUE)
		return rc;
	return cli_print_list(
	    &cl.g, &(struct cli_list){
	               .path = "/jobs",
	               .filters = {"search", o.search, "paused", o.paused, "last", o.last, NULL},
	               .key = "jobs",
	               .cursor = "after",
	               .limit = o.limit,
	               .page_max = JOBS_PAGE_MAX,
	               .table = jobs_table,
	           });
}

/* ---- show, rm, pause, resume ---- */

static const struct cli_command show_cmd = {
	.name = "job show",
	.synopsis = "NAME",
	.help = "Prints the job as JSON: its spec as applied plus \"status\" (revision,\n"
		"created_at, updated_at, paused, next_fire_at).\n",
	.min_args = 1,
	.max_args = 1,
	.args = "NAME",
};

static const struct cli_command rm_cmd = {
	.name = "job rm",
	.synopsis = "NAME",
	.help = "Deletes the job. Its past runs stay until retention removes them.\n",
	.min_args = 1,
	.max_args = 1,
	.args = "NAME",
};

static const struct cli_command pause_cmd = {
	.name = "job pause",
	.synopsis = "NAME",
	.help = "Stops firing the job on its schedule; manual triggers still work.\n",
	.min_args = 1,
	.max_args = 1,
	.args = "NAME",
};

static const struct cli_command resume_cmd = {
	.name = "job resume",
	.synopsis = "NAME",
	.help = "Fires the job on its schedule again, from now on.\n",
	.min_args = 1,
	.max_args = 1,
	.args = "NAME",
};

/*
 * One request about one job: METHOD /jobs/NAME`suffix`. Prints the answer as
 * JSON when asked to (or always, `always_json`), else "job NAME `done`".
 */
static int job_simple(const struct cli_command *cmd, int argc, char **argv, const char *method,
		      const char *suffix, const char *done, bool always_json)
{
	struct cli_cmdline cl;
	struct cli_client c;
	struct buf path;
	json_t *job = NULL;
	int rc = cli_parse(cmd, argc, argv, NULL, NULL, &cl);

	if (rc != CLI_CONTINUE)
		return rc;
	buf_init(&path, 4096);
	if (job_path(&path, cl.pos[0], suffix)) {
		buf_free(&path);
		return CLI_EXIT_FAIL;
	}
	rc = cli_client_open(&c, &cl.g, true);
	if (rc == CLI_CONTINUE) {
		rc = cli_call(&c, method, path.data, NULL, 0, NULL, &job);
		cli_client_close(&c);
	}
	if (rc == CLI_EXIT_OK) {
		if ((always_json || cl.g.output == CLI_OUTPUT_JSON) && job)
			rc = cli_print_json(job);
		else if (!always_json && cl.g.output == CLI_OUTPUT_TABLE)
			printf("job %s %s\n", cl.pos[0], done);
	}
	json_decref(job);
	buf_free(&path);
	return rc;
}

static int job_show(int argc, char **argv)
{
	return job_simple(&show_cmd, argc, argv, "GET", NULL, NULL, true);
}

static int job_rm(int argc, char **argv)
{
	return job_simple(&rm_cmd, argc, argv, "DELETE", NULL, "deleted", false);
}

static int job_pause(int argc, char **argv)
{
	return job_simple(&pause_cmd, argc, argv, "POST", "/pause", "paused", false);
}

static int job_resume(int argc, char **argv)
{
	return job_simple(&resume_cmd, argc, argv, "POST", "/resume", "resumed", false);
}

/* ---- trigger ---- */

static const struct option trigger_opts[] = {
	{"params", required_argument, NULL, OPT_PARAMS},
	{0},
};

static const struct cli_command trigger_cmd = {
	.name = "job trigger",
	.synopsis = "NAME [--params P]",
	.help = "Starts a run of the job now, whatever its schedule (also when paused), and\n"
		"prints \"run ID\".\n"
		"\n"
		"options:\n"
		"  --params P          a parameter string handed to the run\n",
	.opts = trigger_opts,
	.min_args = 1,
	.max_args = 1,
	.args = "NAME",
};

static int trigger_opt(void *ctx, const struct cli_command *cmd, int opt, const char *arg)
{
	const char **params = ctx;

	if (opt != OPT_PARAMS)
		return cli_usage_error(cmd, "unknown option");
	*params = arg;
	return CLI_CONTINUE;
}

static int job_trigger(int argc, char **argv)
{
	struct cli_cmdline cl;
	struct cli_client c;
	struct buf path;
	json_t *body = NULL, *res = NULL;
	const char *params = NULL;
	int rc = cli_parse(&trigger_cmd, argc, argv, trigger_opt, &params, &cl);

	if (rc != CLI_CONTINUE)
		return rc;
	buf_init(&path, 4096);
	rc = CLI_EXIT_FAIL;
	if (job_path(&path, cl.pos[0], "/trigger"))
		goto out;
	if (params && (body = json_pack("{s:s}", "params", params)) == NULL) {
		fprintf(stderr, "clover: --params must be UTF-8 text\n");
		goto out;
	}
	rc = cli_client_open(&c, &cl.g, true);
	if (rc != CLI_CONTINUE)
		goto out;
	rc = cli_call_json(&c, "POST", path.data, body, NULL, &res);
	cli_client_close(&c);
	if (rc != CLI_EXIT_OK)
		goto out;
	if (cl.g.output == CLI_OUTPUT_JSON)
		rc = cli_print_json(res);
	else
		printf("run %lld\n", (long long)json_integer_value(json_object_get(res, "run_id")));
out:
	json_decref(res);
	json_decref(body);
	buf_free(&path);
	return rc;
}

static const struct cli_sub job_subs[] = {
	{"apply", job_apply, "create or update a job from a JSON spec file"},
	{"ls", job_ls, "list jobs"},
	{"show", job_show, "print a job as JSON"},
	{"rm", job_rm, "delete a job"},
	{"pause", job_pause, "stop firing a job on its schedule"},
	{"resume", job_resume, "fire a paused job on its schedule again"},
	{"trigger", job_trigger, "start a run of a job now"},
};

/* Option spellings of the job commands that take a value (see cli_find_subcommand). */
static const char *const job_value_opts[] = {"-f", "--file", "--search", "-n", "--limit",
					     "--params", NULL};

int cli_job_main(int argc, char **argv)
{
	return cli_dispatch("job", job_subs, sizeof(job_subs) / sizeof(job_subs[0]),
			    job_value_opts, argc, argv);
}
