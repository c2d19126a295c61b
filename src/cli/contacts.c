/* SPDX-License-Identifier: MIT */
/*
 * `clover contacts`: the people and systems alerts go to, over the REST API
 * (/api/v1/contacts; docs/alerts.md). `contacts [ls]` lists them, `contacts
 * add NAME --email ADDR --webhook URL [--oncall]` creates one (operators),
 * `contacts rm NAME` deletes one. A job names its contacts in its spec
 * (`contacts: [..]`); on-call contacts receive every alert.
 */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/table.h"

#include <stdio.h>
#include <string.h>

#define PAGE_MAX 1000
#define LIST_MAX 1000000

enum { OPT_SEARCH = 0x200, OPT_EMAIL, OPT_WEBHOOK, OPT_ONCALL };

static const struct option ls_opts[] = {
	{"search", required_argument, NULL, OPT_SEARCH},
	{"oncall", no_argument, NULL, OPT_ONCALL},
	{"limit", required_argument, NULL, 'n'},
	{0},
};

static const struct cli_command ls_cmd = {
	.name = "contacts",
	.synopsis = "[ls] [--search S] [--oncall] [-n N]",
	.help = "Lists contacts by name: NAME EMAIL WEBHOOK ONCALL CREATED.\n"
		"  clover contacts add NAME [--email ADDR] [--webhook URL] [--oncall]\n"
		"  clover contacts rm NAME\n"
		"\n"
		"options:\n"
		"  --search S          names or e-mail addresses containing S\n"
		"  --oncall            only the on-call contacts\n"
		"  -n, --limit N       at most N contacts (default: all)\n",
	.opts = ls_opts,
	.shortopts = "n:",
	.max_args = 1,
	.args = "ls",
};

static const struct option add_opts[] = {
	{"email", required_argument, NULL, OPT_EMAIL},
	{"webhook", required_argument, NULL, OPT_WEBHOOK},
	{"oncall", no_argument, NULL, OPT_ONCALL},
	{0},
};

static const struct cli_command add_cmd = {
	.name = "contacts add",
	.synopsis = "NAME [--email ADDR] [--webhook URL] [--oncall]",
	.help = "Creates a contact (operators). It needs an e-mail address, a webhook URL or\n"
		"both; --oncall makes it receive every alert, not only those of the jobs that\n"
		"name it in their `contacts`.\n",
	.opts = add_opts,
	.min_args = 1,
	.max_args = 1,
	.args = "NAME",
};

static const struct cli_command rm_cmd = {
	.name = "contacts rm",
	.synopsis = "NAME",
	.help = "Deletes a contact (operators). Jobs that name it stop alerting it.\n",
	.min_args = 1,
	.max_args = 1,
	.args = "NAME",
};

struct opts {
	const char *search, *email, *webhook;
	bool oncall;
	long long limit;
};

static int opt(void *ctx, const struct cli_command *cmd, int o, const char *arg)
{
	struct opts *op = ctx;

	switch (o) {
	case OPT_SEARCH:
		op->search = arg;
		return CLI_CONTINUE;
	case OPT_EMAIL:
		op->email = arg;
		return CLI_CONTINUE;
	case OPT_WEBHOOK:
		op->webhook = arg;
		return CLI_CONTINUE;
	case OPT_ONCALL:
		op->oncall = true;
		return CLI_CONTINUE;
	case 'n':
		if (cli_parse_int(arg, 1, LIST_MAX, &op->limit))
			return cli_usage_error(cmd, "-n wants a number from 1 to %d, not '%s'",
					       LIST_MAX, arg);
		return CLI_CONTINUE;
	}
	return cli_usage_error(cmd, "unknown option");
}

static int table(const json_t *items)
{
	static const char *const head[] = {"NAME", "EMAIL", "WEBHOOK", "ONCALL", "CREATED"};
	struct cli_table t;
	json_t *it;
	size_t i;
	int rc = 0;

	if (cli_table_init(&t, 5, head))
		return CLI_EXIT_FAIL;
	json_array_foreach(items, i, it)
	{
		char created[40];
		const char *row[5] = {
			cli_json_str(it, "name"),
			cli_json_str(it, "email") ? cli_json_str(it, "email") : "-",
			cli_json_str(it, "webhook") ? cli_json_str(it, "webhook") : "-",
			json_is_true(json_object_get(it, "oncall")) ? "yes" : "no",
			cli_format_time(cli_json_str(it, "created_at"), created, sizeof(created)),
		};

		if ((rc = cli_table_add(&t, row)))
			break;
	}
	if (rc == 0)
		rc = cli_table_print(&t, stdout);
	cli_table_free(&t);
	return rc ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

static int ls(int argc, char **argv)
{
	struct opts o = {0};
	struct cli_cmdline cl;
	int rc = cli_parse(&ls_cmd, argc, argv, opt, &o, &cl);

	if (rc != CLI_CONTINUE)
		return rc;
	if (cl.npos == 1 && strcmp(cl.pos[0], "ls") != 0)
		return cli_usage_error(&ls_cmd, "unknown sub-command '%s'", cl.pos[0]);
	return cli_print_list(
	    &cl.g, &(struct cli_list){
	               .path = "/contacts",
	               .filters = {"search", o.search, "oncall", o.oncall ? "true" : NULL, NULL},
	               .key = "contacts",
	               .cursor = "after",
	               .limit = o.limit,
	               .page_max = PAGE_MAX,
	               .table = table,
	           });
}

static int add(int argc, char **argv)
{
	struct opts o = {0};
	struct cli_cmdline cl;
	struct cli_client c;
	json_t *body, *res = NULL;
	int rc = cli_parse(&add_cmd, argc, argv, opt, &o, &cl);

	if (rc != CLI_CONTINUE)
		return rc;
	if (o.email == NULL && o.webhook == NULL)
		return cli_usage_error(&add_cmd, "give --email, --webhook or both");
	body = json_pack("{s:s, s:o, s:o, s:b}", "name", cl.pos[0], "email",
			 o.email ? json_string(o.email) : json_null(), "webhook",
			 o.webhook ? json_string(o.webhook) : json_null(), "oncall", o.oncall);
	if (body == NULL) {
		fprintf(stderr, "clover: the arguments must be UTF-8\n");
		return CLI_EXIT_USAGE;
	}
	rc = cli_client_open(&c, &cl.g, true);
	if (rc == CLI_CONTINUE) {
		rc = cli_call_json(&c, "POST", "/contacts", body, NULL, &res);
		cli_client_close(&c);
	}
	if (rc == CLI_EXIT_OK) {
		if (cl.g.output == CLI_OUTPUT_JSON)
			rc = cli_print_json(res);
		else
			printf("contact %s created\n", cl.pos[0]);
	}
	json_decref(body);
	json_decref(res);
	return rc;
}

static int rm(int argc, char **argv)
{
	struct cli_cmdline cl;
	struct cli_client c;
	struct buf path;
	int rc = cli_parse(&rm_cmd, argc, argv, NULL, NULL, &cl);

	if (rc != CLI_CONTINUE)
		return rc;
	buf_init(&path, 1024);
	if (buf_appends(&path, "/contacts/") || cli_url_escape(&path, cl.pos[0])) {
		fprintf(stderr, "clover: contact name too long\n");
		buf_free(&path);
		return CLI_EXIT_USAGE;
	}
	rc = cli_client_open(&c, &cl.g, true);
	if (rc == CLI_CONTINUE) {
		rc = cli_call(&c, "DELETE", path.data, NULL, 0, NULL, NULL);
		cli_client_close(&c);
	}
	if (rc == CLI_EXIT_OK && cl.g.output != CLI_OUTPUT_JSON)
		printf("contact %s deleted\n", cl.pos[0]);
	buf_free(&path);
	return rc;
}

static const struct cli_sub subs[] = {
	{"ls", ls, "list the contacts (the default)"},
	{"add", add, "create a contact"},
	{"rm", rm, "delete a contact"},
};

int cli_contacts_main(int argc, char **argv)
{
	static const char *const value_opts[] = {"--search", "-n", "--limit", "--email",
						 "--webhook", NULL};
	int at = cli_find_subcommand(argc, argv, value_opts);

	if (at < 0)
		return ls(argc, argv);
	return cli_dispatch("contacts", subs, sizeof(subs) / sizeof(subs[0]), value_opts, argc,
			    argv);
}
