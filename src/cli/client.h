/* SPDX-License-Identifier: MIT */
/*
 * The plumbing shared by every `clover` command that talks to the REST API:
 *
 *  - global options: --server URL, --token T, --data DIR and -o table|json,
 *    accepted before or after the sub-command and its arguments;
 *  - their resolution against the environment. The server URL is --server,
 *    else CLOVER_SERVER, else http://127.0.0.1:8080. The bearer token is
 *    --token, else CLOVER_TOKEN, else the file DIR/admin.token of --data DIR,
 *    else $HOME/.local/share/clover/admin.token when that file exists, else none;
 *  - command-line parsing (getopt_long) and sub-command dispatch
 *    ("clover job apply ..."): a "command" is one leaf such as "job apply",
 *    a "family" the word that groups them ("job");
 *  - the HTTP client (libcurl) for /api/v1: JSON request bodies, response
 *    bodies capped at CLI_RESPONSE_MAX, error bodies decoded into one line
 *    "clover: <message> [field: <field>]".
 *
 * Every command returns an exit status: CLI_EXIT_OK, CLI_EXIT_FAIL (the server
 * said no, it could not be reached, or a local file could not be used) or
 * CLI_EXIT_USAGE. Messages for the user go to standard error, results to
 * standard output. Nothing here is thread-safe: a command runs on one thread.
 */
#ifndef CLOVER_CLI_CLIENT_H
#define CLOVER_CLI_CLIENT_H

#include "base/buf.h"
#include "base/error.h"

#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define CLI_DEFAULT_SERVER "http://127.0.0.1:8080"
#define CLI_TOKEN_FILE "admin.token"
#define CLI_HOME_DATA_DIR ".local/share/clover"
#define CLI_RESPONSE_MAX ((size_t)64 << 20) /* bytes of one response body */
#define CLI_TOKEN_FILE_MAX 4096             /* bytes of a token file */
#define CLI_TOKEN_MAX 1024                  /* characters of a token */
#define CLI_MAX_ARGS 8                      /* positional arguments of a command */
#define CLI_MAX_OPTS 32                     /* long options of a command, globals included */

enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2 };

/* Returned by cli_parse() and option callbacks when the command should go on. */
#define CLI_CONTINUE (-1)

enum cli_output { CLI_OUTPUT_TABLE, CLI_OUTPUT_JSON };

/* The global options as given; NULL members were not given. */
struct cli_global {
	const char *server;
	const char *token;
	const char *data;
	enum cli_output output;
};

/* A leaf command: its name, what its --help prints and what it accepts. */
struct cli_command {
	const char *name;     /* "job apply" */
	const char *synopsis; /* what follows the name in usage: "-f FILE" */
	const char *help;     /* description and own options, '\n'-terminated lines */
	const struct option *opts; /* own long options, zero-terminated; NULL: none */
	const char *shortopts;     /* own short options in getopt syntax ("f:n:"); NULL: none */
	int min_args, max_args;    /* positional arguments accepted */
	const char *args;          /* name of the positional argument(s), for messages */
};

/* A parsed command line. `pos` points into the argv that was parsed. */
struct cli_cmdline {
	struct cli_global g;
	char *pos[CLI_MAX_ARGS];
	int npos;
};

/*
 * Called by cli_parse() for each of the command's own options (`opt` is the
 * getopt value, `arg` its argument or NULL). Returns CLI_CONTINUE, or an exit
 * status to stop parsing with (after printing why, e.g. with cli_usage_error()).
 */
typedef int (*cli_opt_fn)(void *ctx, const struct cli_command *cmd, int opt, const char *arg);

/*
 * Parses `argv` (argv[0] is ignored) for `cmd`: the global options, the
 * command's own options (handed to `fn`, which may be NULL when the command has
 * none) and between cmd->min_args and cmd->max_args positional arguments, in any
 * order; "--" ends the options. Resets getopt's state first.
 * Returns CLI_CONTINUE with `cl` filled; CLI_EXIT_OK after printing the help to
 * standard output for --help/-h; CLI_EXIT_USAGE after printing the problem and
 * the synopsis to standard error; or the status `fn` returned.
 */
int cli_parse(const struct cli_command *cmd, int argc, char **argv, cli_opt_fn fn, void *ctx,
	      struct cli_cmdline *cl);

/* Prints "clover CMD: <message>" and the synopsis to standard error; returns CLI_EXIT_USAGE. */
int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prints the full help of `cmd` (synopsis, help text, global options) to `f`. */
void cli_print_help(const struct cli_command *cmd, FILE *f);

/* One sub-command of a family. `run` gets an argv whose argv[0] is the sub-command. */
struct cli_sub {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

/*
 * Finds the sub-command word in `argv` (argv[0], the family, is skipped): the
 * first argument that is not an option nor the value of one. Options taking a
 * value are the global ones plus `value_opts` (NULL-terminated spellings such as
 * "-f", "--search"; may be NULL). After "--" the next argument is the word.
 * Returns its index, or -1 when there is none.
 */
int cli_find_subcommand(int argc, char **argv, const char *const *value_opts);

/*
 * Runs the sub-command of family `family` ("job") named in `argv`, passing it
 * every other argument (global options may come before the word). Prints the
 * family's help for "clover FAMILY --help" (exit 0) and a usage error for a
 * missing or unknown sub-command (exit 2). Returns the exit status.
 */
int cli_dispatch(const char *family, const struct cli_sub *subs, size_t nsubs,
		 const char *const *value_opts, int argc, char **argv);

/*
 * Parses a decimal integer in [min, max] (no sign games, no trailing junk).
 * Returns 0, or CLOVER_EINVAL / CLOVER_ERANGE.
 */
int cli_parse_int(const char *s, long long min, long long max, long long *out);

/*
 * Resolves the server base URL: `flag` (--server), else `env` (CLOVER_SERVER),
 * else CLI_DEFAULT_SERVER; NULL or "" counts as not given. The URL must start
 * with http:// or https://; trailing slashes are removed. On success *out is a
 * new string (caller frees). Returns 0, or CLOVER_EINVAL / CLOVER_ENOMEM with
 * `e` filled.
 */
int cli_server_resolve(const char *flag, const char *env, char **out, struct error_info *e);

/*
 * Resolves the bearer token in the order --token (`flag`), CLOVER_TOKEN
 * (`env`), `data_dir`/admin.token (the file must be readable), then
 * `home`/.local/share/clover/admin.token if that file exists. NULL or ""
 * counts as not given. On success *out is a new string (caller frees), or NULL
 * when no token was found anywhere. Returns 0; CLOVER_EINVAL for a malformed
 * token (empty, too long, or holding spaces or control characters);
 * CLOVER_ENOENT / CLOVER_EIO / CLOVER_ETOOBIG for a token file that cannot be
 * used; CLOVER_ENOMEM. `e` says which source was wrong.
 */
int cli_token_resolve(const char *flag, const char *env, const char *data_dir, const char *home,
		      char **out, struct error_info *e);

/*
 * Reads the file `path` ("-" is standard input) into `out`, which must be
 * initialised by the caller and whose cap (buf.max) is the largest size
 * accepted. Returns 0, or CLOVER_ENOENT / CLOVER_EIO / CLOVER_ETOOBIG /
 * CLOVER_ENOMEM with `e` naming the file.
 */
int cli_read_file(const char *path, struct buf *out, struct error_info *e);

/* Appends `s` percent-encoded (all but A-Z a-z 0-9 - . _ ~) to `b`. */
int cli_url_escape(struct buf *b, const char *s);

/* Appends "?key=value" or "&key=value" (value encoded) to the path in `b`. */
int cli_query_add(struct buf *b, const char *key, const char *value);

/*
 * Writes the line to show for a failed request into `out`:
 * "clover: <message> [field: <field>]" from an API error body, or a line naming
 * the HTTP status when the body is not one. Never fails; truncates to `n`.
 */
void cli_error_format(long status, const char *body, size_t len, char *out, size_t n);

/* An open connection to the API. */
struct cli_client {
	CURL *curl;
	char *server;          /* base URL without trailing '/' */
	char *token;           /* NULL: requests carry no Authorization */
	long connect_timeout_ms;
	long timeout_ms;       /* whole request; 0: none */
	char errbuf[CURL_ERROR_SIZE];
};

/* One HTTP answer. */
struct cli_response {
	long status;
	struct buf body;       /* capped at CLI_RESPONSE_MAX */
	long long next_offset; /* X-Clover-Next-Offset, -1 when absent */
	char run_state[32];    /* X-Clover-Run-State, "" when absent */
};

void cli_response_init(struct cli_response *r);
void cli_response_free(struct cli_response *r);

/*
 * Resolves server and token from `g` and the environment (the token only when
 * `with_token`) and prepares libcurl. Returns CLI_CONTINUE, or an exit status
 * after printing the problem. On CLI_CONTINUE the caller must call
 * cli_client_close(); on anything else there is nothing to close.
 */
int cli_client_open(struct cli_client *c, const struct cli_global *g, bool with_token);

/* Releases the client. Safe on a zeroed or already closed client. */
void cli_client_close(struct cli_client *c);

/*
 * Sends METHOD server/api/v1`path` with `body` (`len` bytes of JSON; NULL for
 * none) and stores the answer, whatever its status, in `r` (initialised by the
 * caller, reset here). Returns 0 when an answer arrived; CLOVER_ECONN when the
 * server could not be reached, with e->message "cannot reach URL: <reason>";
 * CLOVER_ETOOBIG when the body exceeded CLI_RESPONSE_MAX; CLOVER_ENOMEM.
 */
int cli_request(struct cli_client *c, const char *method, const char *path, const char *body,
		size_t len, struct cli_response *r, struct error_info *e);

/*
 * cli_request() plus the usual handling: on a 2xx answer *out (if not NULL)
 * receives the parsed JSON body (a new reference, NULL for an empty body) and
 * *status (if not NULL) the status, and CLI_EXIT_OK is returned. Otherwise the
 * problem is printed (API error line, connection error, or a body that is not
 * JSON) and CLI_EXIT_FAIL returned with *out NULL.
 */
int cli_call(struct cli_client *c, const char *method, const char *path, const char *body,
	     size_t len, long *status, json_t **out);

/* Like cli_call() with the body given as JSON (NULL: none). */
int cli_call_json(struct cli_client *c, const char *method, const char *path, const json_t *body,
		  long *status, json_t **out);

/* A listing for cli_print_list(). */
struct cli_list {
	const char *path; /* "/jobs" */
	/*
	 * Query filters: name, value, name, value, ..., NULL. A NULL value
	 * leaves its filter out. At most 8 pairs.
	 */
	const char *filters[2 * 8 + 1];
	const char *key;    /* the member that holds the items: "jobs" */
	const char *cursor; /* "after" for a name cursor, "before" for an id cursor */
	long long limit;    /* items at most (0: all) */
	long long page_max; /* items asked for per page */
	int (*table)(const json_t *items);
};

/*
 * Connects with `g`, GETs the listing page by page (stopping after `limit`
 * items or at the last page) and prints, with CLI_OUTPUT_JSON, the object
 * {"<key>": [all items], "next": the cursor after the last page fetched, or
 * null}, else what `table` prints of the items. Returns the exit status (a
 * message was printed on failure).
 */
int cli_print_list(const struct cli_global *g, const struct cli_list *l);

/* Prints `j` indented by two spaces, then a newline, to standard output. */
int cli_print_json(const json_t *j);

/* Member `key` of object `o` as a string, or NULL when absent or not a string. */
const char *cli_json_str(const json_t *o, const char *key);

#endif
