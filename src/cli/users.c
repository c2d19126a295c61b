/* SPDX-License-Identifier: MIT */
/*
 * `clover user ...` and `clover token ...`: accounts and API tokens over the
 * REST API. A user has a role (viewer, operator or admin) and a password for
 * the web console; a token ("clv_<id>_<secret>") is what the CLI and scripts
 * present as "Authorization: Bearer". The server keeps only a hash of each
 * token, so `token create` prints the secret the one time it exists in clear.
 *
 * Passwords come from --password, from one line of standard input
 * (--password-stdin), or from the terminal with echo switched off; copies are
 * wiped after use.
 */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/table.h"
#include "clover.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define PASSWORD_MAX 1024 /* bytes of a password, newline included */

enum { OPT_ROLE = 0x200, OPT_PASSWORD, OPT_PASSWORD_STDIN, OPT_NAME, OPT_USER };

/* Builds `prefix` + escaped `name` into `b` (initialised by the caller). */
static int name_path(struct buf *b, const char *prefix, const char *name)
{
	int rc = buf_appends(b, prefix);

	if (rc == 0)
		rc = cli_url_escape(b, name);
	if (rc)
		fprintf(stderr, "clover: name too long\n");
	return rc;
}

/* ---- passwords ---- */

static struct termios saved_tty;
static volatile sig_atomic_t tty_changed;

/* Gives the terminal its echo back when interrupted in the middle of a prompt. */
static void restore_tty_and_die(int sig)
{
	if (tty_changed)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * Reads one line of at most `n` - 1 bytes from `f` into `out`, without its
 * "\n" or "\r\n". Returns 0, CLOVER_ETOOBIG for a longer line, or CLOVER_EIO at
 * end of input before any byte.
 */
static int read_line(FILE *f, char *out, size_t n)
{
	size_t len;

	if (fgets(out, (int)n, f) == NULL)
		return CLOVER_EIO;
	len = strlen(out);
	if (len > 0 && out[len - 1] == '\n')
		out[--len] = '\0';
	else if (len == n - 1 && !feof(f))
		return CLOVER_ETOOBIG;
	if (len > 0 && out[len - 1] == '\r')
		out[--len] = '\0';
	return 0;
}

/* Prompts on standard error and reads a line from the terminal without echo. */
static int prompt_silently(const char *prompt, char *out, size_t n)
{
	struct sigaction sa, old_int, old_term, old_hup;
	struct termios quiet;
	int rc;

	if (tcgetattr(STDIN_FILENO, &saved_tty) != 0)
		return CLOVER_EIO;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = restore_tty_and_die;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);
	quiet = saved_tty;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	fputs(prompt, stderr);
	fflush(stderr);
	tty_changed = 1;
	rc = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0 ? read_line(stdin, out, n) : CLOVER_EIO;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
	tty_changed = 0;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	fputc('\n', stderr);
	return rc;
}

/* ---- user add ---- */

static const struct option add_opts[] = {
	{"role", required_argument, NULL, OPT_ROLE},
	{"password", required_argument, NULL, OPT_PASSWORD},
	{"password-stdin", no_argument, NULL, OPT_PASSWORD_STDIN},
	{0},
};

static const struct cli_command add_cmd = {
	.name = "user add",
	.synopsis = "NAME --role R [--password-stdin | --password P]",
	.help = "Creates a user (admins only). Without --password or --password-stdin the\n"
		"password is asked for on the terminal, twice, without echo. Passwords have\n"
		"at least 8 characters.\n"
		"\n"
		"options:\n"
		"  --role R            viewer (read only), operator (also changes jobs and\n"
		"                      kills runs) or admin (also users and everyone's tokens)\n"
		"  --password P        the password (visible to other local users: prefer\n"
		"                      --password-stdin in scripts)\n"
		"  --password-stdin    read the password from the first line of standard input\n",
	.opts = add_opts,
	.min_args = 1,
	.max_args = 1,
	.args = "NAME",
};

struct add_opts {
	const char *role;
	const char *password;
	bool from_stdin;
};

static int add_opt(void *ctx, const struct cli_command *cmd, int opt, const char *arg)
{
	struct add_opts *o = ctx;

	switch (opt) {
	case OPT_ROLE:
		if (strcmp(arg, "viewer") != 0 && strcmp(arg, "operator") != 0 &&
		    strcmp(arg, "admin") != 0)
			return cli_usage_error(cmd, "the role is viewer, operator or admin, not '%s'",
					       arg);
		o->role = arg;
		return CLI_CONTINUE;
	case OPT_PASSWORD:
		o->password = arg;
		return CLI_CONTINUE;
	case OPT_PASSWORD_STDIN:
		o->from_stdin = true;
		return CLI_CONTINUE;
	}
	return cli_usage_error(cmd, "unknown option");
}

/* Fills `pw` from the source the options name. Returns CLI_CONTINUE or an exit status. */
static int get_password(const struct add_opts *o, const char *user, char *pw, size_t n)
{
	char again[PASSWORD_MAX], prompt[256];
	int rc;

	if (o->password) {
		if (strlen(o->password) >= n) {
			fprintf(stderr, "clover: the password is longer than %zu bytes\n", n - 1);
			return CLI_EXIT_FAIL;
		}
		snprintf(pw, n, "%s", o->password);
		return CLI_CONTINUE;
	}
	if (o->from_stdin) {
		rc = read_line(stdin, pw, n);
		if (rc == CLOVER_ETOOBIG)
			fprintf(stderr, "clover: the password is longer than %zu bytes\n", n - 2);
		else if (rc)
			fprintf(stderr, "clover: no password on standard input\n");
		return rc ? CLI_EXIT_FAIL : CLI_CONTINUE;
	}
	if (!isatty(STDIN_FILENO))
		return cli_usage_error(&add_cmd, "no password: use --password-stdin or --password "
						 "when standard input is not a terminal");
	snprintf(prompt, sizeof(prompt), "Password for %s: ", user);
	rc = prompt_silently(prompt, pw, n);
	if (rc == 0)
		rc = prompt_silently("Repeat the password: ", again, sizeof(again));
	if (rc == 0 && strcmp(pw, again) != 0) {
		fprintf(stderr, "clover: the passwords differ\n");
		rc = CLOVER_EINVAL;
	} else if (rc) {
		fprintf(stderr, "clover: cannot read the password from the terminal\n");
	}
	explicit_bzero(again, sizeof(again));
	return rc ? CLI_EXIT_FAIL : CLI_CONTINUE;
}

static int user_add(int argc, char **argv)
{
	struct add_opts o = {0};
	struct cli_cmdline cl;
	struct cli_client c;
	char pw[PASSWORD_MAX];
	json_t *body = NULL, *res = NULL;
	int rc = cli_parse(&add_cmd, argc, argv, add_opt, &o, &cl);

	if (rc != CLI_CONTINUE)
		return rc;
	if (o.role == NULL)
		return cli_usage_error(&add_cmd, "missing --role (viewer, operator or admin)");
	if (o.password && o.from_stdin)
		return cli_usage_error(&add_cmd, "--password and --password-stdin exclude each other");
	rc = get_password(&o, cl.pos[0], pw, sizeof(pw));
	if (rc != CLI_CONTINUE)
		goto out;
	body = json_pack("{s:s, s:s, s:s}", "name", cl.pos[0], "role", o.role, "password", pw);
	if (body == NULL) {
		fprintf(stderr, "clover: the user name and password must be UTF-8 text\n");
		rc = CLI_EXIT_FAIL;
		goto out;
	}
	rc = cli_client_open(&c, &cl.g, true);
	if (rc != CLI_CONTINUE)
		goto out;
	rc = cli_call_json(&c, "POST", "/users", body, NULL, &res);
	cli_client_close(&c);
	if (rc != CLI_EXIT_OK)
		goto out;
	if (cl.g.output == CLI_OUTPUT_JSON)
		rc = cli_print_json(res);
	else
		printf("user %s created (role %s)\n", cl.pos[0], o.role);
out:
	if (body) {
		/* jansson keeps its own copy of the password: wipe it too. */
		char *copy = (char *)json_string_value(json_object_get(body, "password"));

		if (copy)
			explicit_bzero(copy, strlen(copy));
	}
	explicit_bzero(pw, sizeof(pw));
	json_decref(body);
	json_decref(res);
	return rc;
}

/* ---- user ls, user rm ---- */

static const struct cli_command user_ls_cmd = {
	.name = "user ls",
	.synopsis = "",
	.help = "Lists users (admins only): NAME ROLE CREATED.\n",
	.max_args = 0,
};

static const struct cli_command user_rm_cmd = {
	.name = "user rm",
	.synopsis = "NAME",
	.help = "Deletes a user and their tokens (admins only; not yourself).\n",
	.min_args = 1,
	.max_args = 1,
	.args = "NAME",
};

/*
 * GET `path`, then prints member `member` (an array of objects) as a table of
 * the given columns (`keys` name the members; a key ending in "_at" is a time)
 * or the whole answer as JSON.
 */
static int list_table(const struct cli_command *cmd, int argc, char **argv, const char *path,
		      const char *member, size_t ncols, const char *const *head,
		      const char *const *keys)
{
	struct cli_cmdline cl;
	struct cli_client c;
	struct cli_table t;
	json_t *doc = NULL, *items, *it;
	size_t i;
	int rc = cli_parse(cmd, argc, argv, NULL, NULL, &cl);

	if (rc != CLI_CONTINUE)
		return rc;
	rc = cli_client_open(&c, &cl.g, true);
	if (rc != CLI_CONTINUE)
		return rc;
	rc = cli_call(&c, "GET", path, NULL, 0, NULL, &doc);
	cli_client_close(&c);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (cl.g.output == CLI_OUTPUT_JSON) {
		rc = cli_print_json(doc);
		json_decref(doc);
		return rc;
	}
	items = json_object_get(doc, member);
	if (!json_is_array(items)) {
		fprintf(stderr, "clover: the server's answer has no \"%s\" list\n", member);
		json_decref(doc);
		return CLI_EXIT_FAIL;
	}
	if (cli_table_init(&t, ncols, head)) {
		json_decref(doc);
		return CLI_EXIT_FAIL;
	}
	rc = 0;
	json_array_foreach(items, i, it)
	{
		char times[CLI_TABLE_MAX_COLS][40];
		const char *row[CLI_TABLE_MAX_COLS];

		for (size_t k = 0; k < ncols; k++) {
			size_t kl = strlen(keys[k]);

			row[k] = cli_json_str(it, keys[k]);
			if (kl > 3 && strcmp(keys[k] + kl - 3, "_at") == 0)
				row[k] = cli_format_time(row[k], times[k], sizeof(times[k]));
		}
		rc = cli_table_add(&t, row);
		if (rc)
			break;
	}
	if (rc == 0)
		rc = cli_table_print(&t, stdout);
	cli_table_free(&t);
	json_decref(doc);
	return rc ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

static int user_ls(int argc, char **argv)
{
	static const char *const head[] = {"NAME", "ROLE", "CREATED"};
	static const char *const keys[] = {"name", "role", "created_at"};

	return list_table(&user_ls_cmd, argc, argv, "/users", "users", 3, head, keys);
}

/* DELETE `prefix`NAME; prints "`what` NAME `done`" unless -o json. */
static int delete_named(const struct cli_command *cmd, int argc, char **argv, const char *prefix,
			const char *what, const char *done)
{
	struct cli_cmdline cl;
	struct cli_client c;
	struct buf path;
	int rc = cli_parse(cmd, argc, argv, NULL, NULL, &cl);

	if (rc != CLI_CONTINUE)
		return rc;
	buf_init(&path, 4096);
	if (name_path(&path, prefix, cl.pos[0])) {
		buf_free(&path);
		return CLI_EXIT_FAIL;
	}
	rc = cli_client_open(&c, &cl.g, true);
	if (rc == CLI_CONTINUE) {
		rc = cli_call(&c, "DELETE", path.data, NULL, 0, NULL, NULL);
		cli_client_close(&c);
	}
	if (rc == CLI_EXIT_OK && cl.g.output == CLI_OUTPUT_TABLE)
		printf("%s %s %s\n", what, cl.pos[0], done);
	buf_free(&path);
	return rc;
}

static int user_rm(int argc, char **argv)
{
	return delete_named(&user_rm_cmd, argc, argv, "/users/", "user", "deleted");
}

/* ---- token create, ls, revoke ---- */

static const struct option create_opts[] = {
	{"name", required_argument, NULL, OPT_NAME},
	{"user", required_argument, NULL, OPT_USER},
	{0},
};

static const struct cli_command create_cmd = {
	.name = "token create",
	.synopsis = "[--name N] [--user U]",
	.help = "Creates an API token and prints it on standard output, alone on its line (it\n"
		"is shown only this once: the server keeps a hash). Details go to standard\n"
		"error, so TOKEN=$(clover token create) works.\n"
		"\n"
		"options:\n"
		"  --name N            a label for the token (default \"cli\")\n"
		"  --user U            create it for user U (admins only; default: yourself)\n",
	.opts = create_opts,
	.max_args = 0,
};

struct create_opts {
	const char *name, *user;
};

static int create_opt(void *ctx, const struct cli_command *cmd, int opt, const char *arg)
{
	struct create_opts *o = ctx;

	switch (opt) {
	case OPT_NAME:
		o->name = arg;
		return CLI_CONTINUE;
	case OPT_USER:
		o->user = arg;
		return CLI_CONTINUE;
	}
	return cli_usage_error(cmd, "unknown option");
}

static int token_create(int argc, char **argv)
{
	struct create_opts o = {.name = "cli"};
	struct cli_cmdline cl;
	struct cli_client c;
	json_t *body, *res = NULL;
	const char *secret;
	int rc = cli_parse(&create_cmd, argc, argv, create_opt, &o, &cl);

	if (rc != CLI_CONTINUE)
		return rc;
	body = json_pack("{s:s, s:s*}", "name", o.name, "user", o.user);
	if (body == NULL) {
		fprintf(stderr, "clover: --name and --user must be UTF-8 text\n");
		return CLI_EXIT_FAIL;
	}
	rc = cli_client_open(&c, &cl.g, true);
	if (rc == CLI_CONTINUE) {
		rc = cli_call_json(&c, "POST", "/tokens", body, NULL, &res);
		cli_client_close(&c);
	}
	json_decref(body);
	if (rc != CLI_EXIT_OK)
		goto out;
	if (cl.g.output == CLI_OUTPUT_JSON) {
		rc = cli_print_json(res);
		goto out;
	}
	secret = cli_json_str(res, "token");
	if (secret == NULL) {
		fprintf(stderr, "clover: the server's answer holds no token\n");
		rc = CLI_EXIT_FAIL;
		goto out;
	}
	printf("%s\n", secret);
	fflush(stdout);
	{
		char line[512];
		const char *id = cli_json_str(res, "id"), *user = cli_json_str(res, "user");

		snprintf(line, sizeof(line), "token %s created for user %s (name %s); it is shown "
			 "only this once", id ? id : "?", user ? user : "?", o.name);
		for (char *p = line; *p; p++) {
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
		}
		fprintf(stderr, "%s\n", line);
	}
out:
	if (res) {
		char *copy = (char *)cli_json_str(res, "token");

		if (copy)
			explicit_bzero(copy, strlen(copy));
	}
	json_decref(res);
	return rc;
}

static const struct cli_command token_ls_cmd = {
	.name = "token ls",
	.synopsis = "",
	.help = "Lists your API tokens (admins: everyone's): ID USER NAME CREATED LAST-USED.\n",
	.max_args = 0,
};

static int token_ls(int argc, char **argv)
{
	static const char *const head[] = {"ID", "USER", "NAME", "CREATED", "LAST-USED"};
	static const char *const keys[] = {"id", "user", "name", "created_at", "last_used_at"};

	return list_table(&token_ls_cmd, argc, argv, "/tokens", "tokens", 5, head, keys);
}

static const struct cli_command revoke_cmd = {
	.name = "token revoke",
	.synopsis = "ID",
	.help = "Deletes an API token (yours; admins: anyone's). Requests that present it fail\n"
		"from then on.\n",
	.min_args = 1,
	.max_args = 1,
	.args = "ID",
};

static int token_revoke(int argc, char **argv)
{
	return delete_named(&revoke_cmd, argc, argv, "/tokens/", "token", "revoked");
}

static const struct cli_sub user_subs[] = {
	{"add", user_add, "create a user"},
	{"ls", user_ls, "list users"},
	{"rm", user_rm, "delete a user"},
};

static const struct cli_sub token_subs[] = {
	{"create", token_create, "create an API token and print it"},
	{"ls", token_ls, "list API tokens"},
	{"revoke", token_revoke, "delete an API token"},
};

/* Option spellings that take a value (see cli_find_subcommand). */
static const char *const user_value_opts[] = {"--role", "--password", NULL};
static const char *const token_value_opts[] = {"--name", "--user", NULL};

int cli_user_main(int argc, char **argv)
{
	return cli_dispatch("user", user_subs, sizeof(user_subs) / sizeof(user_subs[0]),
			    user_value_opts, argc, argv);
}

int cli_token_main(int argc, char **argv)
{
	return cli_dispatch("token", token_subs, sizeof(token_subs) / sizeof(token_subs[0]),
			    token_value_opts, argc, argv);
}
