/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the CLI's argument handling (src/cli/client.c and the
 * commands): global options before or after the sub-command, flags before or
 * after positional arguments, --help exiting 0, usage errors exiting 2 with a
 * message, and the checks every command makes before it talks to a server.
 * The one test that reaches the network connects to a closed local port.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cli/cli.h"
#include "cli/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Redirects file descriptor 1 or 2 into a temporary file while a command runs. */
struct capture {
	int fd, saved;
	FILE *tmp;
};

static void capture_start(struct capture *c, int fd)
{
	fflush(stdout);
	fflush(stderr);
	c->fd = fd;
	c->tmp = tmpfile();
	assert_non_null(c->tmp);
	c->saved = dup(fd);
	assert_true(c->saved >= 0);
	assert_true(dup2(fileno(c->tmp), fd) >= 0);
}

/* Ends the capture; returns what was written (caller frees). */
static char *capture_end(struct capture *c)
{
	long n;
	char *s;

	fflush(stdout);
	fflush(stderr);
	assert_true(dup2(c->saved, c->fd) >= 0);
	close(c->saved);
	n = ftell(c->tmp);
	assert_true(n >= 0);
	s = calloc(1, (size_t)n + 1);
	assert_non_null(s);
	rewind(c->tmp);
	assert_int_equal(fread(s, 1, (size_t)n, c->tmp), (size_t)n);
	fclose(c->tmp);
	return s;
}

/* Runs `fn` on `argv`; returns its status and what it wrote to `fd` in *out. */
static int run_captured(int (*fn)(int, char **), int argc, char **argv, int fd, char **out)
{
	struct capture c;
	int rc;

	capture_start(&c, fd);
	rc = fn(argc, argv);
	*out = capture_end(&c);
	return rc;
}

/* Expects exit status `want` and `needle` in what `fn` wrote to `fd`. */
static void expect(int (*fn)(int, char **), int argc, char **argv, int want, int fd,
		   const char *needle)
{
	char *out;
	int rc = run_captured(fn, argc, argv, fd, &out);

	if (rc != want || (needle && strstr(out, needle) == NULL))
		fail_msg("status %d (wanted %d), output:\n%s\n(wanted to see \"%s\")", rc, want, out,
			 needle ? needle : "");
	free(out);
}

static const char *const value_opts[] = {"-f", "--file", "-n", "--search", NULL};

static void subcommand_is_the_first_word_that_is_no_option_value(void **state)
{
	char *a1[] = {"job", "apply", "-f", "x"};
	char *a2[] = {"job", "--server", "http://h", "ls"};
	char *a3[] = {"job", "-o", "json", "ls"};
	char *a4[] = {"job", "-ojson", "ls"};
	char *a5[] = {"job", "--server=http://h", "-f", "spec", "apply"};
	char *a6[] = {"job", "--paused", "-n5", "ls"};
	char *a7[] = {"job", "--", "ls"};
	char *a8[] = {"job", "--token", "t", "--data", "d"};
	char *a9[] = {"job", "-", "ls"};

	(void)state;
	assert_int_equal(cli_find_subcommand(ARGC(a1), a1, value_opts), 1);
	assert_int_equal(cli_find_subcommand(ARGC(a2), a2, value_opts), 3);
	assert_int_equal(cli_find_subcommand(ARGC(a3), a3, value_opts), 3);
	assert_int_equal(cli_find_subcommand(ARGC(a4), a4, value_opts), 2);
	assert_int_equal(cli_find_subcommand(ARGC(a5), a5, value_opts), 4);
	assert_int_equal(cli_find_subcommand(ARGC(a6), a6, value_opts), 3);
	assert_int_equal(cli_find_subcommand(ARGC(a7), a7, value_opts), 2);
	assert_int_equal(cli_find_subcommand(ARGC(a8), a8, value_opts), -1);
	assert_int_equal(cli_find_subcommand(ARGC(a9), a9, NULL), 1);
}

enum { OPT_FLAG = 0x300 };

static const struct option test_opts[] = {
	{"file", required_argument, NULL, 'f'},
	{"flag", no_argument, NULL, OPT_FLAG},
	{0},
};

static const struct cli_command test_cmd = {
	.name = "test cmd",
	.synopsis = "NAME [-f FILE] [--flag]",
	.help = "A command for tests.\n",
	.opts = test_opts,
	.shortopts = "f:",
	.min_args = 1,
	.max_args = 2,
	.args = "NAME",
};

struct seen {
	const char *file;
	int flags;
};

static int test_opt(void *ctx, const struct cli_command *cmd, int opt, const char *arg)
{
	struct seen *s = ctx;

	(void)cmd;
	if (opt == 'f')
		s->file = arg;
	else if (opt == OPT_FLAG)
		s->flags++;
	return CLI_CONTINUE;
}

static void options_go_before_or_after_positional_arguments(void **state)
{
	char *argv[] = {"cmd", "one", "--flag", "-o", "json", "-f", "spec.json", "two",
			"--server=http://h:1", "--token", "T", "--data", "/d", "--flag"};
	struct cli_cmdline cl;
	struct seen s = {0};

	(void)state;
	setenv("POSIXLY_CORRECT", "1", 1); /* must not stop parsing at "one" */
	assert_int_equal(cli_parse(&test_cmd, ARGC(argv), argv, test_opt, &s, &cl), CLI_CONTINUE);
	unsetenv("POSIXLY_CORRECT");
	assert_int_equal(cl.npos, 2);
	assert_string_equal(cl.pos[0], "one");
	assert_string_equal(cl.pos[1], "two");
	assert_string_equal(s.file, "spec.json");
	assert_int_equal(s.flags, 2);
	assert_int_equal(cl.g.output, CLI_OUTPUT_JSON);
	assert_string_equal(cl.g.server, "http://h:1");
	assert_string_equal(cl.g.token, "T");
	assert_string_equal(cl.g.data, "/d");
}

static void double_dash_ends_the_options(void **state)
{
	char *argv[] = {"cmd", "--", "-f"};
	struct cli_cmdline cl;
	struct seen s = {0};

	(void)state;
	assert_int_equal(cli_parse(&test_cmd, ARGC(argv), argv, test_opt, &s, &cl), CLI_CONTINUE);
	assert_int_equal(cl.npos, 1);
	assert_string_equal(cl.pos[0], "-f");
	assert_null(s.file);
	assert_null(cl.g.server);
	assert_int_equal(cl.g.output, CLI_OUTPUT_TABLE);
}

static int parse_test_cmd(int argc, char **argv)
{
	struct cli_cmdline cl;
	struct seen s = {0};
	int rc = cli_parse(&test_cmd, argc, argv, test_opt, &s, &cl);

	return rc == CLI_CONTINUE ? 99 : rc;
}

static void parse_errors_are_usage_errors_with_a_message(void **state)
{
	char *unknown[] = {"cmd", "a", "--bogus"};
	char *unknown_short[] = {"cmd", "a", "-x"};
	char *no_value[] = {"cmd", "a", "--file"};
	char *no_value_short[] = {"cmd", "a", "-f"};
	char *bad_output[] = {"cmd", "a", "-o", "yaml"};
	char *too_many[] = {"cmd", "a", "b", "c"};
	char *too_few[] = {"cmd", "--flag"};
	char *help[] = {"cmd", "a", "--bogus-after-help-is-not-reached", "--help"};

	(void)state;
	expect(parse_test_cmd, ARGC(unknown), unknown, 2, 2,
	       "clover test cmd: unknown option --bogus\nusage: clover test cmd NAME");
	expect(parse_test_cmd, ARGC(unknown_short), unknown_short, 2, 2, "unknown option -x");
	expect(parse_test_cmd, ARGC(no_value), no_value, 2, 2, "option --file needs a value");
	expect(parse_test_cmd, ARGC(no_value_short), no_value_short, 2, 2,
	       "option -f needs a value");
	expect(parse_test_cmd, ARGC(bad_output), bad_output, 2, 2,
	       "unknown output format 'yaml'");
	expect(parse_test_cmd, ARGC(too_many), too_many, 2, 2, "unexpected argument 'c'");
	expect(parse_test_cmd, ARGC(too_few), too_few, 2, 2, "missing NAME");
	/* Options are read in order: the unknown one comes first. */
	expect(parse_test_cmd, ARGC(help), help, 2, 2, "unknown option");
}

static void help_prints_usage_and_global_options_and_exits_0(void **state)
{
	char *help[] = {"cmd", "--help"};
	char *h[] = {"cmd", "-h", "extra", "args", "ignored"};

	(void)state;
	expect(parse_test_cmd, ARGC(help), help, 0, 1, "usage: clover test cmd NAME [-f FILE]");
	expect(parse_test_cmd, ARGC(help), help, 0, 1, "--server URL");
	expect(parse_test_cmd, ARGC(h), h, 0, 1, "A command for tests.");
}

static void every_command_has_help(void **state)
{
	static const struct {
		int (*fn)(int, char **);
		const char *argv[3];
		const char *want;
	} cases[] = {
		{cli_job_main, {"job", "--help"}, "usage: clover job <command>"},
		{cli_job_main, {"job", "apply", "--help"}, "usage: clover job apply -f FILE"},
		{cli_job_main, {"job", "ls", "-h"}, "usage: clover job ls"},
		{cli_job_main, {"job", "show", "--help"}, "usage: clover job show NAME"},
		{cli_job_main, {"job", "rm", "--help"}, "usage: clover job rm NAME"},
		{cli_job_main, {"job", "pause", "--help"}, "usage: clover job pause NAME"},
		{cli_job_main, {"job", "resume", "--help"}, "usage: clover job resume NAME"},
		{cli_job_main, {"job", "--help", "trigger"}, "usage: clover job trigger NAME"},
		{cli_runs_main, {"runs", "--help"}, "usage: clover runs"},
		{cli_run_main, {"run", "--help"}, "usage: clover run <command>"},
		{cli_run_main, {"run", "show", "--help"}, "usage: clover run show ID"},
		{cli_run_main, {"run", "log", "--help"}, "--follow"},
		{cli_run_main, {"run", "kill", "--help"}, "usage: clover run kill ID"},
		{cli_user_main, {"user", "--help"}, "usage: clover user <command>"},
		{cli_user_main, {"user", "add", "--help"}, "--password-stdin"},
		{cli_user_main, {"user", "ls", "--help"}, "usage: clover user ls"},
		{cli_user_main, {"user", "rm", "--help"}, "usage: clover user rm NAME"},
		{cli_token_main, {"token", "--help"}, "usage: clover token <command>"},
		{cli_token_main, {"token", "create", "--help"}, "shown only this once"},
		{cli_token_main, {"token", "ls", "--help"}, "usage: clover token ls"},
		{cli_token_main, {"token", "revoke", "--help"}, "usage: clover token revoke ID"},
		{cli_version_main, {"version", "--help"}, "usage: clover version"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[4] = {0};
		int argc = 0;

		while (argc < 3 && cases[i].argv[argc]) {
			argv[argc] = (char *)cases[i].argv[argc];
			argc++;
		}
		expect(cases[i].fn, argc, argv, 0, 1, cases[i].want);
	}
}

static void commands_refuse_bad_usage_before_any_request(void **state)
{
	static const struct {
		int (*fn)(int, char **);
		const char *argv[8];
		const char *want;
	} cases[] = {
		{cli_job_main, {"job"}, "clover job: missing command"},
		{cli_job_main, {"job", "launch"}, "unknown command 'launch'"},
		{cli_job_main, {"job", "apply"}, "missing -f FILE"},
		{cli_job_main, {"job", "apply", "-f", "a", "b"}, "unexpected argument 'b'"},
		{cli_job_main, {"job", "ls", "--paused", "--active"}, "exclude each other"},
		{cli_job_main, {"job", "ls", "-n", "0"}, "-n wants a number"},
		{cli_job_main, {"job", "ls", "-n", "ten"}, "-n wants a number"},
		{cli_job_main, {"job", "show"}, "missing NAME"},
		{cli_job_main, {"job", "rm", "a", "b"}, "unexpected argument 'b'"},
		{cli_job_main, {"job", "trigger", "a", "--params"}, "--params needs a value"},
		{cli_job_main, {"job", "ls", "-o", "xml"}, "unknown output format"},
		{cli_runs_main, {"runs", "extra"}, "unexpected argument 'extra'"},
		{cli_runs_main, {"runs", "-n", "-3"}, "-n wants a number"},
		{cli_run_main, {"run", "show", "abc"}, "a run ID is a positive number"},
		{cli_run_main, {"run", "kill", "0"}, "a run ID is a positive number"},
		{cli_run_main, {"run", "log", "7", "--shard", "x"}, "--shard wants a shard number"},
		{cli_run_main, {"run", "log"}, "missing ID"},
		{cli_user_main, {"user", "add", "bob"}, "missing --role"},
		{cli_user_main, {"user", "add", "bob", "--role", "root"}, "viewer, operator or admin"},
		{cli_user_main,
		 {"user", "add", "bob", "--role", "admin", "--password", "p", "--password-stdin"},
		 "exclude each other"},
		{cli_token_main, {"token", "revoke"}, "missing ID"},
		{cli_token_main, {"token", "create", "bob"}, "unexpected argument 'bob'"},
		{cli_version_main, {"version", "now"}, "unexpected argument 'now'"},
		{cli_job_main, {"job", "ls", "--server", "ftp://x"}, "must start with http://"},
		{cli_job_main, {"job", "ls", "--token", "a b"}, "space or control character"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[9] = {0};
		int argc = 0;

		while (argc < 8 && cases[i].argv[argc]) {
			argv[argc] = (char *)cases[i].argv[argc];
			argc++;
		}
		expect(cases[i].fn, argc, argv, 2, 2, cases[i].want);
	}
}

static void apply_checks_the_spec_file_before_sending_it(void **state)
{
	char dir[] = "/tmp/clover-test-cli-XXXXXX", path[96];
	char *argv[] = {"job", "apply", "-f", path, "--server", "http://127.0.0.1:1"};
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/spec.json", dir);
	expect(cli_job_main, ARGC(argv), argv, 1, 2, "cannot open");

	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"schedule\": \"@every 1m\"}", f);
	fclose(f);
	expect(cli_job_main, ARGC(argv), argv, 1, 2, "has no \"name\"");

	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"name\": \"a\",\n \"schedule\": }", f);
	fclose(f);
	expect(cli_job_main, ARGC(argv), argv, 1, 2, "spec.json:2:");

	f = fopen(path, "w");
	assert_non_null(f);
	fputs("[\"name\"]", f);
	fclose(f);
	expect(cli_job_main, ARGC(argv), argv, 1, 2, "a job spec is a JSON object");

	f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 256 * 1024 + 1; i++)
		fputc(' ', f);
	fclose(f);
	expect(cli_job_main, ARGC(argv), argv, 1, 2, "larger than 262144 bytes");
	unlink(path);
	rmdir(dir);
}

static void unusable_token_file_is_a_failure_not_a_usage_error(void **state)
{
	char dir[] = "/tmp/clover-test-cli-XXXXXX", path[96];
	char *argv[] = {"job", "ls", "--data", dir, "--server", "http://127.0.0.1:1"};
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	expect(cli_job_main, ARGC(argv), argv, 1, 2, "admin.token");
	snprintf(path, sizeof(path), "%s/admin.token", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("\n", f);
	fclose(f);
	expect(cli_job_main, ARGC(argv), argv, 1, 2, "is empty");
	unlink(path);
	rmdir(dir);
}

static void unreachable_server_is_a_failure_naming_the_url(void **state)
{
	char *ls[] = {"job", "ls", "--server", "http://127.0.0.1:1", "--token", "t"};
	char *version[] = {"version", "--server", "http://127.0.0.1:1"};

	(void)state;
	expect(cli_job_main, ARGC(ls), ls, 1, 2, "clover: cannot reach http://127.0.0.1:1: ");
	/* version still succeeds: the client's half is always known. */
	expect(cli_version_main, ARGC(version), version, 0, 1,
	       "client " CLOVER_VERSION "\nserver: not reachable\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(subcommand_is_the_first_word_that_is_no_option_value),
		cmocka_unit_test(options_go_before_or_after_positional_arguments),
		cmocka_unit_test(double_dash_ends_the_options),
		cmocka_unit_test(parse_errors_are_usage_errors_with_a_message),
		cmocka_unit_test(help_prints_usage_and_global_options_and_exits_0),
		cmocka_unit_test(every_command_has_help),
		cmocka_unit_test(commands_refuse_bad_usage_before_any_request),
		cmocka_unit_test(apply_checks_the_spec_file_before_sending_it),
		cmocka_unit_test(unusable_token_file_is_a_failure_not_a_usage_error),
		cmocka_unit_test(unreachable_server_is_a_failure_naming_the_url),
	};

	/* Keep the developer's own token and server out of the tests. */
	unsetenv("CLOVER_TOKEN");
	unsetenv("CLOVER_SERVER");
	setenv("HOME", "/nonexistent", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
