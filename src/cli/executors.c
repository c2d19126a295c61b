/* SPDX-License-Identifier: MIT */
/*
 * `clover executors`: the executors a scheduler knows, over the REST API
 * (GET /api/v1/executors): the built-in one ("local") and the remote ones
 * connected with `clover worker` or the client library. An executor is
 * *enabled* when it may get new shards; `disable` takes it out of routing
 * (its running shards finish there), `enable` puts it back, and `drain`
 * asks a remote executor to finish its shards, take no new ones and leave.
 */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/table.h"

#include <stdio.h>
#include <string.h>

#define COLS 9

static const struct cli_command ls_cmd = {
	.name = "executors",
	.synopsis = "[ls]",
	.help = "Lists the executors: ID HOST STATE ENABLED RUNNING CAPACITY LABELS HEARTBEAT "
		"VERSION.\n"
		"  clover executors disable|enable|drain ID   control one (operators)\n",
	.max_args = 1,
	.args = "ls",
};

static const struct cli_command disable_cmd = {
	.name = "executors disable",
	.synopsis = "ID",
	.help = "Routes no new shards to executor ID; what it runs finishes there.\n",
	.min_args = 1,
	.max_args = 1,
	.args = "ID",
};

static const struct cli_command enable_cmd = {
	.name = "executors enable",
	.synopsis = "ID",
	.help = "Routes shards to executor ID again.\n",
	.min_args = 1,
	.max_args = 1,
	.args = "ID",
};

static const struct cli_command drain_cmd = {
	.name = "executors drain",
	.synopsis = "ID",
	.help = "Asks remote executor ID to finish its shards, take no new ones, then leave.\n",
	.min_args = 1,
	.max_args = 1,
	.args = "ID",
};

/* "k=v,k=v" from the labels object into `out`. */
static void labels_text(const json_t *labels, char *out, size_t n)
{
	const char *k;
	json_t *v;
	size_t used = 0;

	out[0] = '\0';
	json_object_foreach((json_t *)labels, k, v)
	{
		int w = snprintf(out + used, n - used, "%s%s=%s", used ? "," : "", k,
				 json_is_string(v) ? json_string_value(v) : "");

		if (w < 0 || (size_t)w >= n - used)
			break;
		used += (size_t)w;
	}
}

static int ls(int argc, char **argv)
{
	static const char *const head[COLS] = {"ID",	   "HOST",   "STATE",
					       "ENABLED",  "RUNNING", "CAPACITY",
					       "LABELS",   "HEARTBEAT", "VERSION"};
	struct cli_cmdline cl;
	struct cli_client c;
	struct cli_table t;
	json_t *doc = NULL, *items, *it;
	size_t i;
	int rc = cli_parse(&ls_cmd, argc, argv, NULL, NULL, &cl);

	if (rc != CLI_CONTINUE)
		return rc;
	if (cl.npos == 1 && strcmp(cl.pos[0], "ls") != 0)
		return cli_usage_error(&ls_cmd, "unknown sub-command '%s'", cl.pos[0]);
	rc = cli_client_open(&c, &cl.g, true);
	if (rc != CLI_CONTINUE)
		return rc;
	rc = cli_call(&c, "GET", "/executors", NULL, 0, NULL, &doc);
	cli_client_close(&c);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (cl.g.output == CLI_OUTPUT_JSON) {
		rc = cli_print_json(doc);
		json_decref(doc);
		return rc;
	}
	items = json_object_get(doc, "executors");
	if (!json_is_array(items) || cli_table_init(&t, COLS, head)) {
		fprintf(stderr, "clover: the server's answer has no \"executors\" list\n");
		json_decref(doc);
		return CLI_EXIT_FAIL;
	}
	cli_table_align_right(&t, 4);
	cli_table_align_right(&t, 5);
	rc = 0;
	json_array_foreach(items, i, it)
	{
		char running[24], capacity[24], labels[1024], hb[40];
		const char *row[COLS];

		snprintf(running, sizeof(running), "%lld",
			 (long long)json_integer_value(json_object_get(it, "running")));
		snprintf(capacity, sizeof(capacity), "%lld",
			 (long long)json_integer_value(json_object_get(it, "capacity")));
		labels_text(json_object_get(it, "labels"), labels, sizeof(labels));
		row[0] = cli_json_str(it, "id");
		row[1] = cli_json_str(it, "host");
		row[2] = cli_json_str(it, "state");
		row[3] = json_is_true(json_object_get(it, "enabled")) ? "yes" : "no";
		row[4] = running;
		row[5] = capacity;
		row[6] = labels;
		row[7] = cli_format_time(cli_json_str(it, "last_heartbeat"), hb, sizeof(hb));
		row[8] = cli_json_str(it, "version");
		if ((rc = cli_table_add(&t, row)))
			break;
	}
	if (rc == 0)
		rc = cli_table_print(&t, stdout);
	cli_table_free(&t);
	json_decref(doc);
	return rc ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

/* POST /executors/ID/`op`; prints "executor ID: `op` requested" unless -o json. */
static int control(const struct cli_command *cmd, const char *op, int argc, char **argv)
{
	struct cli_cmdline cl;
	struct cli_client c;
	struct buf path;
	json_t *res = NULL;
	int rc = cli_parse(cmd, argc, argv, NULL, NULL, &cl);

	if (rc != CLI_CONTINUE)
		return rc;
	buf_init(&path, 1024);
	if (buf_appends(&path, "/executors/") || cli_url_escape(&path, cl.pos[0]) ||
	    buf_appends(&path, "/") || buf_appends(&path, op)) {
		fprintf(stderr, "clover: executor id too long\n");
		buf_free(&path);
		return CLI_EXIT_USAGE;
	}
	rc = cli_client_open(&c, &cl.g, true);
	if (rc == CLI_CONTINUE) {
		rc = cli_call(&c, "POST", path.data, NULL, 0, NULL, &res);
		cli_client_close(&c);
	}
	if (rc == CLI_EXIT_OK) {
		if (cl.g.output == CLI_OUTPUT_JSON)
			rc = cli_print_json(res);
		else
			printf("executor %s: %s requested\n", cl.pos[0], op);
	}
	json_decref(res);
	buf_free(&path);
	return rc;
}

static int disable(int argc, char **argv)
{
	return control(&disable_cmd, "disable", argc, argv);
}

static int enable(int argc, char **argv)
{
	return control(&enable_cmd, "enable", argc, argv);
}

static int drain(int argc, char **argv)
{
	return control(&drain_cmd, "drain", argc, argv);
}

static const struct cli_sub subs[] = {
	{"ls", ls, "list the executors (the default)"},
	{"disable", disable, "route no new shards to an executor"},
	{"enable", enable, "route shards to an executor again"},
	{"drain", drain, "let a remote executor finish its shards and leave"},
};

int cli_executors_main(int argc, char **argv)
{
	int at = cli_find_subcommand(argc, argv, NULL);

	/* No sub-command word (or only options, --help included): the listing. */
	if (at < 0)
		return ls(argc, argv);
	return cli_dispatch("executors", subs, sizeof(subs) / sizeof(subs[0]), NULL, argc, argv);
}
