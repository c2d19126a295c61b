/* SPDX-License-Identifier: MIT */
/*
 * `clover events`: the system event log (GET /api/v1/events), newest first:
 * executors joining and lost, failovers, misfires, skips, alert deliveries,
 * configuration reloads, authentication failures, job and contact changes.
 */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/table.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define PAGE_MAX 1000
#define DEFAULT_N 50
#define LIST_MAX 1000000

enum { OPT_LEVEL = 0x200, OPT_SOURCE, OPT_JOB, OPT_FROM, OPT_TO };

static const struct option opts[] = {
	{"level", required_argument, NULL, OPT_LEVEL},
	{"source", required_argument, NULL, OPT_SOURCE},
	{"job", required_argument, NULL, OPT_JOB},
	{"from", required_argument, NULL, OPT_FROM},
	{"to", required_argument, NULL, OPT_TO},
	{"limit", required_argument, NULL, 'n'},
	{0},
};

static const struct cli_command cmd = {
	.name = "events",
	.synopsis = "[--level L] [--source S] [--job J] [-q TEXT] [--from T] [--to T] [-n N]",
	.help = "Lists system events, newest first: ID AT LEVEL SOURCE NODE JOB MESSAGE\n"
		"(times in UTC).\n"
		"\n"
		"options:\n"
		"  --level L           at least this level: debug, info, warn, error\n"
		"  --source S          only events of source S (engine, cluster, api, auth,\n"
		"                      notify, remote, main)\n"
		"  --job J             only events about job J\n"
		"  -q TEXT             only events whose message contains TEXT\n"
		"  --from T, --to T    only events at or after T, before T (RFC 3339)\n"
		"  -n, --limit N       at most N events (default 50)\n",
	.opts = opts,
	.shortopts = "n:q:",
	.max_args = 0,
};

struct eopts {
	const char *level, *source, *job, *q, *from, *to;
	long long limit;
};

static int opt(void *ctx, const struct cli_command *c, int o, const char *arg)
{
	struct eopts *e = ctx;

	switch (o) {
	case OPT_LEVEL:
		e->level = arg;
		return CLI_CONTINUE;
	case OPT_SOURCE:
		e->source = arg;
		return CLI_CONTINUE;
	case OPT_JOB:
		e->job = arg;
		return CLI_CONTINUE;
	case OPT_FROM:
		e->from = arg;
		return CLI_CONTINUE;
	case OPT_TO:
		e->to = arg;
		return CLI_CONTINUE;
	case 'q':
		e->q = arg;
		return CLI_CONTINUE;
	case 'n':
		if (cli_parse_int(arg, 1, LIST_MAX, &e->limit))
			return cli_usage_error(c, "-n wants a number from 1 to %d, not '%s'",
					       LIST_MAX, arg);
		return CLI_CONTINUE;
	}
	return cli_usage_error(c, "unknown option");
}

static int table(const json_t *items)
{
	static const char *const head[] = {"ID", "AT", "LEVEL", "SOURCE", "NODE", "JOB", "MESSAGE"};
	struct cli_table t;
	json_t *it;
	size_t i;
	int rc = 0;

	if (cli_table_init(&t, 7, head))
		return CLI_EXIT_FAIL;
	cli_table_align_right(&t, 0);
	json_array_foreach(items, i, it)
	{
		char id[24], at[40];
		const char *row[7];

		snprintf(id, sizeof(id), "%lld",
			 (long long)json_integer_value(json_object_get(it, "id")));
		row[0] = id;
		row[1] = cli_format_time(cli_json_str(it, "at"), at, sizeof(at));
		row[2] = cli_json_str(it, "level");
		row[3] = cli_json_str(it, "source");
		row[4] = cli_json_str(it, "node") ? cli_json_str(it, "node") : "-";
		row[5] = cli_json_str(it, "job") ? cli_json_str(it, "job") : "-";
		row[6] = cli_json_str(it, "message");
		if ((rc = cli_table_add(&t, row)))
			break;
	}
	if (rc == 0)
		rc = cli_table_print(&t, stdout);
	cli_table_free(&t);
	return rc ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

int cli_events_main(int argc, char **argv)
{
	struct eopts o = {.limit = DEFAULT_N};
	struct cli_cmdline cl;
	int rc = cli_parse(&cmd, argc, argv, opt, &o, &cl);

	if (rc != CLI_CONTINUE)
		return rc;
	return cli_print_list(&cl.g,
	                      &(struct cli_list){
	                          .path = "/events",
	                          .filters = {"level", o.level, "source", o.source, "job", o.job,
	                                      "q", o.q, "from", o.from, "to", o.to, NULL},
	                          .key = "events",
	                          .cursor = "before",
	                          .limit = o.limit,
	                          .page_max = PAGE_MAX,
	                          .table = table,
	                      });
}
