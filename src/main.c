/* SPDX-License-Identifier: MIT */
/*
 * The `clover` program: one binary for the server, the worker, the cron tool
 * and the API client. This file only dispatches on the first argument.
 */
#include "clover.h"
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

struct command {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *help;
};

static int version_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("clover %s\n", CLOVER_VERSION);
	return 0;
}

static const struct command commands[] = {
	{"version", version_main, "print the version"},
	{"cron", cli_cron_main, "compute and explain cron schedules"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: clover <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\nRun 'clover <command> --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
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
		return version_main(argc - 1, argv + 1);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].main(argc - 1, argv + 1);
	}
	fprintf(stderr, "clover: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
