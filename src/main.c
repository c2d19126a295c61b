/* SPDX-License-Identifier: MIT */
/*
 * The `clover` program: one binary for the server, the worker, the cron tool
 * and the API client. This file only dispatches on the first argument.
 */
#include "clover.h"
#include "cli/cli.h"
#include "daemon/daemon.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct command {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *help;
};

static const struct command commands[] = {
	{"server", daemon_server_main, "run the scheduler (standalone mode)"},
	{"worker", daemon_worker_main, "run an executor that takes work from schedulers"},
	{"version", cli_version_main, "print the client's and the server's versions"},
	{"job", cli_job_main, "create, list, change and trigger jobs"},
	{"runs", cli_runs_main, "list runs"},
	{"run", cli_run_main, "show, follow the log of, or kill a run"},
	{"executors", cli_executors_main, "list, disable, enable or drain executors"},
	{"contacts", cli_contacts_main, "list, add or remove alert contacts"},
	{"events", cli_events_main, "show the system event log"},
	{"user", cli_user_main, "manage users"},
	{"token", cli_token_main, "manage API tokens"},
	{"cron", cli_cron_main, "compute and explain cron schedules"},
	{"keygen", cli_keygen_main, "make a CURVE key pair for a scheduler or executor"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: clover <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\nRun 'clover <command> --help' for a command's options.\n");
}

/*
 * Global options may come before the command word (`clover --data D runs`):
 * every command accepts them anywhere, so the command word is moved to the
 * front. Options that take a value are skipped with their value.
 */
static void hoist_command(int argc, char **argv)
{
	static const char *const with_value[] = {"--server", "--token", "--data", "-o", NULL};
	int i = 1;

	while (i < argc && argv[i][0] == '-' && strcmp(argv[i], "--help") != 0 &&
	       strcmp(argv[i], "-h") != 0 && strcmp(argv[i], "--version") != 0) {
		bool takes = false;

		for (int k = 0; with_value[k]; k++)
			takes |= strcmp(argv[i], with_value[k]) == 0;
		i += takes ? 2 : 1;
	}
	if (i > 1 && i < argc) {
		char *cmd = argv[i];

		memmove(&argv[2], &argv[1], (size_t)(i - 1) * sizeof(*argv));
		argv[1] = cmd;
	}
}

int main(int argc, char **argv)
{
	hoist_command(argc, argv);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0)
		return cli_version_main(argc - 1, argv + 1);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].main(argc - 1, argv + 1);
	}
	fprintf(stderr, "clover: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
