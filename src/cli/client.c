/* SPDX-License-Identifier: MIT */
/*
 * The command-line client's plumbing (see client.h): global options, parsing
 * and sub-command dispatch, server and token resolution, the libcurl HTTP
 * client with its capped response buffer and API error decoding, and the
 * `clover version` command, which is the simplest user of all of them.
 *
 * The "API error body" is {"error": {"code", "message", "field"}}; this file
 * is the one place where it is turned into the line the user sees.
 */
#include "cli/client.h"
#include "cli/cli.h"
#include "clover.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

enum { OPT_SERVER = 0x100, OPT_TOKEN, OPT_DATA };

static const struct option global_opts[] = {
	{"server", required_argument, NULL, OPT_SERVER},
	{"token", required_argument, NULL, OPT_TOKEN},
	{"data", required_argument, NULL, OPT_DATA},
	{"output", required_argument, NULL, 'o'},
	{"help", no_argument, NULL, 'h'},
};
#define NGLOBAL (sizeof(global_opts) / sizeof(global_opts[0]))

/* Global options that take a value, as the sub-command finder sees them. */
static const char *const global_value_opts[] = {"--server", "--token", "--data", "--output", "-o",
						NULL};

static const char global_help[] =
	"global options:\n"
	"  --server URL        API server (env CLOVER_SERVER; default " CLI_DEFAULT_SERVER ")\n"
	"  --token TOKEN       bearer token (env CLOVER_TOKEN)\n"
	"  --data DIR          read the token from DIR/" CLI_TOKEN_FILE "\n"
	"  -o, --output FMT    table (default) or json\n"
	"  -h, --help          show this help\n";

void cli_print_help(const struct cli_command *cmd, FILE *f)
{
	fprintf(f, "usage: clover %s%s%s\n\n", cmd->name, cmd->synopsis[0] ? " " : "",
		cmd->synopsis);
	if (cmd->help && cmd->help[0])
		fprintf(f, "%s\n", cmd->help);
	fputs(global_help, f);
}

int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "clover %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: clover %s%s%s\n", cmd->name, cmd->synopsis[0] ? " " : "",
		cmd->synopsis);
	return CLI_EXIT_USAGE;
}

/* The option as the user typed it, for messages: "--file" or "-f". */
static void option_text(char **argv, int opt, char *out, size_t n)
{
	const char *prev = optind > 0 ? argv[optind - 1] : NULL;

	if (prev && strncmp(prev, "--", 2) == 0 && prev[2]) {
		size_t len = strcspn(prev, "=");

		snprintf(out, n, "%.*s", (int)len, prev);
	} else if (opt > 0 && opt < 0x100) {
		snprintf(out, n, "-%c", opt);
	} else {
		snprintf(out, n, "%s", prev ? prev : "?");
	}
}

int cli_parse(const struct cli_command *cmd, int argc, char **argv, cli_opt_fn fn, void *ctx,
	      struct cli_cmdline *cl)
{
	struct option opts[CLI_MAX_OPTS + 1];
	char shortopts[64];
	size_t nopts = 0;
	char what[64];
	int c;

	memset(cl, 0, sizeof(*cl));
	memset(opts, 0, sizeof(opts));
	for (size_t i = 0; i < NGLOBAL; i++)
		opts[nopts++] = global_opts[i];
	for (const struct option *o = cmd->opts; o && o->name; o++) {
		if (nopts == CLI_MAX_OPTS)
			return cli_usage_error(cmd, "internal error: too many options");
		opts[nopts++] = *o;
	}
	/*
	 * "-" returns positional arguments in order as option 1, so flags may
	 * follow them even under POSIXLY_CORRECT; ":" reports a missing value
	 * as ':' so that the message is ours.
	 */
	snprintf(shortopts, sizeof(shortopts), "-:ho:%s", cmd->shortopts ? cmd->shortopts : "");

	optind = 0; /* glibc: full re-initialisation */
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		int rc;

		switch (c) {
		case 1:
			if (cl->npos == CLI_MAX_ARGS || cl->npos >= cmd->max_args)
				return cli_usage_error(cmd, "unexpected argument '%s'", optarg);
			cl->pos[cl->npos++] = optarg;
			break;
		case 'h':
			cli_print_help(cmd, stdout);
			return CLI_EXIT_OK;
		case 'o':
			if (strcmp(optarg, "table") == 0)
				cl->g.output = CLI_OUTPUT_TABLE;
			else if (strcmp(optarg, "json") == 0)
				cl->g.output = CLI_OUTPUT_JSON;
			else
				return cli_usage_error(
					cmd, "unknown output format '%s' (table or json)", optarg);
			break;
		case OPT_SERVER:
			cl->g.server = optarg;
			break;
		case OPT_TOKEN:
			cl->g.token = optarg;
			break;
		case OPT_DATA:
			cl->g.data = optarg;
			break;
		case ':':
			option_text(argv, optopt, what, sizeof(what));
			return cli_usage_error(cmd, "option %s needs a value", what);
		case '?':
			option_text(argv, optopt, what, sizeof(what));
			return cli_usage_error(cmd, "unknown option %s", what);
		default:
			if (fn == NULL)
				return cli_usage_error(cmd, "unknown option");
			rc = fn(ctx, cmd, c, optarg);
			if (rc != CLI_CONTINUE)
				return rc;
			break;
		}
	}
	/* What follows "--" is positional. */
	for (; optind < argc; optind++) {
		if (cl->npos == CLI_MAX_ARGS || cl->npos >= cmd->max_args)
			return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
		cl->pos[cl->npos++] = argv[optind];
	}
	if (cl->npos < cmd->min_args)
		return cli_usage_error(cmd, "missing %s", cmd->args ? cmd->args : "argument");
	return CLI_CONTINUE;
}

static bool listed(const char *const *list, const char *s)
{
	for (; list && *list; list++) {
		if (strcmp(*list, s) == 0)
			return true;
	}
	return false;
}

static bool takes_value(const char *const *value_opts, const char *s)
{
	return listed(global_value_opts, s) || listed(value_opts, s);
}

int cli_find_subcommand(int argc, char **argv, const char *const *value_opts)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0)
			return i + 1 < argc ? i + 1 : -1;
		if (a[0] != '-' || a[1] == '\0')
			return i;
		if (a[1] == '-') {
			char name[64];
			size_t len = strcspn(a, "=");

			if (a[len] == '=' || len >= sizeof(name))
				continue;
			memcpy(name, a, len);
			name[len] = '\0';
			if (takes_value(value_opts, name))
				i++;
			continue;
		}
		/* A cluster of short options: the first that takes a value ends it. */
		for (const char *p = a + 1; *p; p++) {
			char one[3] = {'-', *p, '\0'};

			if (takes_value(value_opts, one)) {
				if (p[1] == '\0')
					i++;
				break;
			}
		}
	}
	return -1;
}

static void family_help(const char *family, const struct cli_sub *subs, size_t nsubs, FILE *f)
{
	fprintf(f, "usage: clover %s <command> [options]\n\ncommands:\n", family);
	for (size_t i = 0; i < nsubs; i++)
		fprintf(f, "  %-10s %s\n", subs[i].name, subs[i].summary);
	fprintf(f, "\nRun 'clover %s <command> --help' for a command's options.\n", family);
}

int cli_dispatch(const char *family, const struct cli_sub *subs, size_t nsubs,
		 const char *const *value_opts, int argc, char **argv)
{
	int at = cli_find_subcommand(argc, argv, value_opts);
	char **sub_argv;
	int n = 0, rc;

	if (at < 0) {
		for (int i = 1; i < argc; i++) {
			if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
				family_help(family, subs, nsubs, stdout);
				return CLI_EXIT_OK;
			}
		}
		fprintf(stderr, "clover %s: missing command\n", family);
		family_help(family, subs, nsubs, stderr);
		return CLI_EXIT_USAGE;
	}
	for (size_t i = 0; i < nsubs; i++) {
		if (strcmp(argv[at], subs[i].name) != 0)
			continue;
		sub_argv = calloc((size_t)argc + 1, sizeof(*sub_argv));
		if (sub_argv == NULL) {
			fprintf(stderr, "clover: out of memory\n");
			return CLI_EXIT_FAIL;
		}
		sub_argv[n++] = argv[at];
		for (int j = 1; j < argc; j++) {
			if (j != at)
				sub_argv[n++] = argv[j];
		}
		rc = subs[i].run(n, sub_argv);
		free(sub_argv);
		return rc;
	}
	fprintf(stderr, "clover %s: unknown command '%s'\n", family, argv[at]);
	family_help(family, subs, nsubs, stderr);
	return CLI_EXIT_USAGE;
}

int cli_parse_int(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	if (s == NULL || s[0] < '0' || s[0] > '9')
		return CLOVER_EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0')
		return CLOVER_EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return CLOVER_ERANGE;
	*out = v;
	return 0;
}

static bool given(const char *s)
{
	return s != NULL && s[0] != '\0';
}

int cli_server_resolve(const char *flag, const char *env, char **out, struct error_info *e)
{
	const char *url = given(flag) ? flag : given(env) ? env : CLI_DEFAULT_SERVER;
	const char *source = given(flag) ? "--server" : given(env) ? "CLOVER_SERVER" : "default";
	size_t len = strlen(url);
	const char *host;

	*out = NULL;
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return error_set(e, CLOVER_EINVAL, source,
				 "server URL '%s' must start with http:// or https://", url);
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7f)
			return error_set(e, CLOVER_EINVAL, source,
					 "server URL holds a space or control character");
	}
	while (len > 0 && url[len - 1] == '/')
		len--;
	host = url + (url[4] == 's' ? 8 : 7);
	if (host >= url + len || *host == '/')
		return error_set(e, CLOVER_EINVAL, source, "server URL '%s' has no host", url);
	*out = strndup(url, len);
	if (*out == NULL)
		return error_set(e, CLOVER_ENOMEM, NULL, "out of memory");
	return 0;
}

/* A token goes into an HTTP header: printable ASCII without spaces only. */
static int token_check(const char *tok, const char *source, struct error_info *e)
{
	size_t len = strlen(tok);

	if (len == 0)
		return error_set(e, CLOVER_EINVAL, source, "the token from %s is empty", source);
	if (len > CLI_TOKEN_MAX)
		return error_set(e, CLOVER_EINVAL, source,
				 "the token from %s is longer than %d characters", source,
				 CLI_TOKEN_MAX);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)tok[i];

		if (ch <= 0x20 || ch >= 0x7f)
			return error_set(e, CLOVER_EINVAL, source,
					 "the token from %s holds a space or control character",
					 source);
	}
	return 0;
}

static int token_from_file(const char *path, char **out, struct error_info *e)
{
	struct buf b;
	size_t start = 0, end;
	int rc;

	buf_init(&b, CLI_TOKEN_FILE_MAX);
	rc = cli_read_file(path, &b, e);
	if (rc)
		goto out;
	end = b.len;
	while (start < end && strchr(" \t\r\n", b.data[start]))
		start++;
	while (end > start && strchr(" \t\r\n", b.data[end - 1]))
		end--;
	if (b.data)
		b.data[end] = '\0';
	rc = token_check(b.data ? b.data + start : "", path, e);
	if (rc)
		goto out;
	*out = strdup(b.data + start);
	if (*out == NULL)
		rc = error_set(e, CLOVER_ENOMEM, NULL, "out of memory");
out:
	buf_free(&b);
	return rc;
}

int cli_token_resolve(const char *flag, const char *env, const char *data_dir, const char *home,
		      char **out, struct error_info *e)
{
	struct buf path;
	struct stat st;
	int rc;

	*out = NULL;
	if (given(flag) || given(env)) {
		const char *tok = given(flag) ? flag : env;

		rc = token_check(tok, given(flag) ? "--token" : "CLOVER_TOKEN", e);
		if (rc)
			return rc;
		*out = strdup(tok);
		return *out ? 0 : error_set(e, CLOVER_ENOMEM, NULL, "out of memory");
	}
	if (!given(data_dir) && !given(home))
		return 0;
	buf_init(&path, 4096);
	if (given(data_dir))
		rc = buf_printf(&path, "%s/%s", data_dir, CLI_TOKEN_FILE);
	else
		rc = buf_printf(&path, "%s/%s/%s", home, CLI_HOME_DATA_DIR, CLI_TOKEN_FILE);
	if (rc) {
		rc = error_set(e, rc, NULL, "token file path too long");
		goto out;
	}
	/* The default file is optional: without it requests go unauthenticated. */
	if (!given(data_dir) && stat(path.data, &st) != 0 && errno == ENOENT)
		goto out;
	rc = token_from_file(path.data, out, e);
out:
	buf_free(&path);
	return rc;
}

int cli_read_file(const char *path, struct buf *out, struct error_info *e)
{
	bool is_stdin = strcmp(path, "-") == 0;
	const char *name = is_stdin ? "standard input" : path;
	FILE *f = is_stdin ? stdin : fopen(path, "rb");
	char chunk[8192];
	size_t n;
	int rc = 0;

	if (f == NULL) {
		int err = errno;

		return error_set(e, err == ENOENT ? CLOVER_ENOENT : CLOVER_EIO, path,
				 "cannot open %s: %s", path, strerror(err));
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		rc = buf_append(out, chunk, n);
		if (rc == CLOVER_ETOOBIG) {
			rc = error_set(e, rc, path, "%s is larger than %zu bytes", name, out->max);
			goto out;
		}
		if (rc) {
			rc = error_set(e, rc, path, "out of memory reading %s", name);
			goto out;
		}
	}
	if (ferror(f))
		rc = error_set(e, CLOVER_EIO, path, "cannot read %s: %s", name, strerror(errno));
out:
	if (!is_stdin)
		fclose(f);
	return rc;
}

int cli_url_escape(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		int rc;

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '.' || ch == '_' || ch == '~') {
			rc = buf_append(b, s, 1);
		} else {
			char pct[3] = {'%', hex[ch >> 4], hex[ch & 15]};

			rc = buf_append(b, pct, 3);
		}
		if (rc)
			return rc;
	}
	return 0;
}

int cli_query_add(struct buf *b, const char *key, const char *value)
{
	bool first = b->data == NULL || strchr(b->data, '?') == NULL;
	int rc = buf_printf(b, "%c%s=", first ? '?' : '&', key);

	return rc ? rc : cli_url_escape(b, value);
}

void cli_error_format(long status, const char *body, size_t len, char *out, size_t n)
{
	json_t *doc = body && len ? json_loadb(body, len, 0, NULL) : NULL;
	json_t *err = json_object_get(doc, "error");
	const char *msg = cli_json_str(err, "message");
	const char *field = cli_json_str(err, "field");

	if (msg && msg[0]) {
		if (field && field[0])
			snprintf(out, n, "clover: %s [field: %s]", msg, field);
		else
			snprintf(out, n, "clover: %s", msg);
	} else {
		snprintf(out, n, "clover: the server answered HTTP %ld", status);
	}
	/* The message came from the network: keep the terminal safe. */
	for (char *p = out; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	}
	json_decref(doc);
}

void cli_response_init(struct cli_response *r)
{
	r->status = 0;
	buf_init(&r->body, CLI_RESPONSE_MAX);
	r->next_offset = -1;
	r->run_state[0] = '\0';
}

void cli_response_free(struct cli_response *r)
{
	buf_free(&r->body);
}

int cli_client_open(struct cli_client *c, const struct cli_global *g, bool with_token)
{
	struct error_info e;
	int rc;

	memset(c, 0, sizeof(*c));
	error_clear(&e);
	c->connect_timeout_ms = 10000;
	rc = cli_server_resolve(g->server, getenv("CLOVER_SERVER"), &c->server, &e);
	if (rc == 0 && with_token)
		rc = cli_token_resolve(g->token, getenv("CLOVER_TOKEN"), g->data, getenv("HOME"),
				       &c->token, &e);
	if (rc) {
		/* A bad option or variable is a usage error; a bad token file is not. */
		bool usage = rc == CLOVER_EINVAL &&
			     (e.field[0] == '-' || strncmp(e.field, "CLOVER_", 7) == 0);

		fprintf(stderr, "clover: %s\n", e.message);
		cli_client_close(c);
		return usage ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (c->curl = curl_easy_init()) == NULL) {
		fprintf(stderr, "clover: cannot initialise libcurl\n");
		cli_client_close(c);
		return CLI_EXIT_FAIL;
	}
	return CLI_CONTINUE;
}

void cli_client_close(struct cli_client *c)
{
	if (c->curl) {
		curl_easy_cleanup(c->curl);
		curl_global_cleanup();
	}
	c->curl = NULL;
	free(c->server);
	c->server = NULL;
	if (c->token) {
		explicit_bzero(c->token, strlen(c->token));
		free(c->token);
	}
	c->token = NULL;
}

struct transfer {
	struct cli_response *r;
	bool toobig, nomem;
};

static size_t on_body(char *p, size_t size, size_t nmemb, void *userdata)
{
	struct transfer *t = userdata;
	size_t n = size * nmemb;
	int rc = buf_append(&t->r->body, p, n);

	if (rc == CLOVER_ETOOBIG)
		t->toobig = true;
	else if (rc)
		t->nomem = true;
	return rc ? 0 : n;
}

/* Value of header line `line` if its name is `name`, trimmed into `out`. */
static bool header_value(const char *line, size_t len, const char *name, char *out, size_t n)
{
	size_t nl = strlen(name), i, end;

	if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return false;
	for (i = nl + 1; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
		;
	for (end = len; end > i && strchr(" \t\r\n", line[end - 1]); end--)
		;
	snprintf(out, n, "%.*s", (int)(end - i), line + i);
	return true;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *userdata)
{
	struct transfer *t = userdata;
	size_t n = size * nmemb;
	char v[32];
	long long off;

	if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		/* A new answer (after a 100 Continue, say): forget the last one's headers. */
		t->r->next_offset = -1;
		t->r->run_state[0] = '\0';
	} else if (header_value(p, n, "X-Clover-Next-Offset", v, sizeof(v))) {
		if (cli_parse_int(v, 0, INT64_MAX, &off) == 0)
			t->r->next_offset = off;
	} else if (header_value(p, n, "X-Clover-Run-State", v, sizeof(v))) {
		snprintf(t->r->run_state, sizeof(t->r->run_state), "%s", v);
	}
	return n;
}

int cli_request(struct cli_client *c, const char *method, const char *path, const char *body,
		size_t len, struct cli_response *r, struct error_info *e)
{
	struct transfer t = {.r = r};
	struct curl_slist *hdrs = NULL, *h;
	struct buf url, auth;
	CURLcode cc;
	int rc = CLOVER_ENOMEM;

	buf_init(&url, 64 * 1024);
	buf_init(&auth, CLI_TOKEN_MAX + 64);
	buf_reset(&r->body);
	r->status = 0;
	r->next_offset = -1;
	r->run_state[0] = '\0';
	c->errbuf[0] = '\0';

	if (buf_printf(&url, "%s/api/v1%s", c->server, path)) {
		rc = error_set(e, CLOVER_EINVAL, NULL, "request URL too long");
		goto out;
	}
	if (c->token && buf_printf(&auth, "Authorization: Bearer %s", c->token))
		goto nomem;
	h = curl_slist_append(hdrs, "Accept: application/json");
	if (h == NULL)
		goto nomem;
	hdrs = h;
	/* No "Expect: 100-continue" round trip for bodies. */
	h = curl_slist_append(hdrs, "Expect:");
	if (h == NULL)
		goto nomem;
	hdrs = h;
	if (body) {
		h = curl_slist_append(hdrs, "Content-Type: application/json");
		if (h == NULL)
			goto nomem;
		hdrs = h;
	}
	if (c->token) {
		h = curl_slist_append(hdrs, auth.data);
		if (h == NULL)
			goto nomem;
		hdrs = h;
	}

	curl_easy_reset(c->curl);
	curl_easy_setopt(c->curl, CURLOPT_URL, url.data);
	curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "clover/" CLOVER_VERSION);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &t);
	curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, &t);
	if (strcmp(method, "POST") == 0 || body) {
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)(body ? len : 0));
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
		curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);

	cc = curl_easy_perform(c->curl);
	if (t.toobig) {
		rc = error_set(e, CLOVER_ETOOBIG, NULL,
			       "the answer from %s is larger than %zu MiB", c->server,
			       CLI_RESPONSE_MAX >> 20);
		goto out;
	}
	if (t.nomem)
		goto nomem;
	if (cc != CURLE_OK) {
		rc = error_set(e, CLOVER_ECONN, NULL, "cannot reach %s: %s", c->server,
			       c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &r->status);
	rc = 0;
	goto out;
nomem:
	rc = error_set(e, CLOVER_ENOMEM, NULL, "out of memory");
out:
	curl_slist_free_all(hdrs);
	if (auth.data)
		explicit_bzero(auth.data, auth.len);
	buf_free(&auth);
	buf_free(&url);
	return rc;
}

int cli_call(struct cli_client *c, const char *method, const char *path, const char *body,
	     size_t len, long *status, json_t **out)
{
	struct cli_response r;
	struct error_info e;
	json_error_t jerr;
	json_t *doc = NULL;
	char line[1024];
	int rc = CLI_EXIT_FAIL;

	if (out)
		*out = NULL;
	cli_response_init(&r);
	error_clear(&e);
	if (cli_request(c, method, path, body, len, &r, &e)) {
		fprintf(stderr, "clover: %s\n", e.message);
		goto out;
	}
	if (r.status < 200 || r.status > 299) {
		cli_error_format(r.status, r.body.data, r.body.len, line, sizeof(line));
		fprintf(stderr, "%s\n", line);
		if (r.status == 401 && c->token == NULL)
			fprintf(stderr, "clover: no token given: use --token, CLOVER_TOKEN or "
					"--data DIR\n");
		goto out;
	}
	if (r.body.len > 0) {
		doc = json_loadb(r.body.data, r.body.len, 0, &jerr);
		if (doc == NULL) {
			fprintf(stderr, "clover: the server's answer is not JSON: %s\n", jerr.text);
			goto out;
		}
	}
	if (status)
		*status = r.status;
	if (out) {
		*out = doc;
		doc = NULL;
	}
	rc = CLI_EXIT_OK;
out:
	json_decref(doc);
	cli_response_free(&r);
	return rc;
}

int cli_call_json(struct cli_client *c, const char *method, const char *path, const json_t *body,
		  long *status, json_t **out)
{
	char *text = NULL;
	int rc;

	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		if (text == NULL) {
			fprintf(stderr, "clover: out of memory\n");
			return CLI_EXIT_FAIL;
		}
	}
	rc = cli_call(c, method, path, text, text ? strlen(text) : 0, status, out);
	if (text) {
		/* Bodies may carry passwords. */
		explicit_bzero(text, strlen(text));
		free(text);
	}
	return rc;
}

int cli_print_json(const json_t *j)
{
	char *text = json_dumps(j, JSON_INDENT(2));

	if (text == NULL) {
		fprintf(stderr, "clover: out of memory\n");
		return CLI_EXIT_FAIL;
	}
	puts(text);
	free(text);
	return CLI_EXIT_OK;
}

const char *cli_json_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static const struct cli_command version_cmd = {
	.name = "version",
	.synopsis = "",
	.help = "Prints the client's version and, when the server can be reached, the server's\n"
		"version and mode (asked from /api/v1/health, which needs no token).\n",
	.max_args = 0,
};

int cli_version_main(int argc, char **argv)
{
	struct cli_cmdline cl;
	struct cli_client c;
	struct cli_response r;
	struct error_info e;
	json_t *health = NULL, *doc;
	const char *ver, *mode;
	int rc = cli_parse(&version_cmd, argc, argv, NULL, NULL, &cl);

	if (rc != CLI_CONTINUE)
		return rc;
	rc = cli_client_open(&c, &cl.g, false);
	if (rc != CLI_CONTINUE)
		return rc;
	c.connect_timeout_ms = 3000;
	c.timeout_ms = 5000;
	cli_response_init(&r);
	error_clear(&e);
	if (cli_request(&c, "GET", "/health", NULL, 0, &r, &e) == 0 && r.status == 200)
		health = json_loadb(r.body.data, r.body.len, 0, NULL);
	ver = cli_json_str(health, "version");
	mode = cli_json_str(health, "mode");
	if (ver == NULL) {
		json_decref(health);
		health = NULL;
	}

	rc = CLI_EXIT_OK;
	if (cl.g.output == CLI_OUTPUT_JSON) {
		doc = json_pack("{s:s, s:O?}", "client", CLOVER_VERSION, "server", health);
		rc = doc ? cli_print_json(doc) : CLI_EXIT_FAIL;
		json_decref(doc);
	} else {
		printf("client %s\n", CLOVER_VERSION);
		if (ver) {
			char line[256];

			snprintf(line, sizeof(line), "server %s (%s)", ver, mode ? mode : "unknown");
			for (char *p = line; *p; p++) {
				if ((unsigned char)*p < 0x20 || *p == 0x7f)
					*p = '?';
			}
			puts(line);
		} else {
			puts("server: not reachable");
		}
	}
	json_decref(health);
	cli_response_free(&r);
	cli_client_close(&c);
	return rc;
}

/* Appends the cursor to continue after: a name, or an id. */
static int add_cursor(struct buf *path, const char *param, const json_t *cur)
{
	char num[24];

	if (json_is_string(cur))
		return cli_query_add(path, param, json_string_value(cur));
	snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(cur));
	return cli_query_add(path, param, num);
}

/*
 * The pages of cli_print_list(): on CLI_EXIT_OK, *all holds the items and
 * *next the cursor after the last page (JSON null when there is none), both
 * new references.
 */
static int get_pages(struct cli_client *c, const char *query, const char *key, const char *cursor,
		     long long limit, long long page_max, json_t **all, json_t **next)
{
	struct buf path;
	json_t *page = NULL, *cur = NULL; /* cur: where the next page starts (owned) */
	int rc = CLI_EXIT_FAIL;

	*next = NULL;
	*all = json_array();
	buf_init(&path, 64 * 1024);
	if (*all == NULL)
		goto oom;
	for (;;) {
		long long want = limit ? limit - (long long)json_array_size(*all) : page_max;
		json_t *items, *nc;
		char num[24];
		bool more;

		snprintf(num, sizeof(num), "%lld", want < page_max ? want : page_max);
		buf_reset(&path);
		if (buf_appends(&path, query) || cli_query_add(&path, "limit", num) ||
		    (cur && add_cursor(&path, cursor, cur))) {
			fprintf(stderr, "clover: request too long\n");
			goto out;
		}
		json_decref(page);
		page = NULL;
		if ((rc = cli_call(c, "GET", path.data, NULL, 0, NULL, &page)) != CLI_EXIT_OK)
			goto out;
		rc = CLI_EXIT_FAIL;
		items = json_object_get(page, key);
		nc = json_object_get(page, "next");
		if (!json_is_array(items)) {
			fprintf(stderr, "clover: the server's answer has no \"%s\" list\n", key);
			goto out;
		}
		if (json_array_extend(*all, items))
			goto oom;
		if (!json_is_string(nc) && !json_is_integer(nc))
			nc = NULL;
		/* A cursor that does not move would loop forever: stop there too. */
		more = nc && json_array_size(items) > 0 &&
		       !(limit && (long long)json_array_size(*all) >= limit) &&
		       !(cur && json_equal(cur, nc));
		json_decref(cur);
		cur = json_incref(nc);
		if (!more)
			break;
	}
	*next = cur ? cur : json_null();
	cur = NULL;
	rc = CLI_EXIT_OK;
	goto out;
oom:
	fprintf(stderr, "clover: out of memory\n");
out:
	if (rc != CLI_EXIT_OK) {
		json_decref(*all);
		*all = NULL;
	}
	json_decref(cur);
	json_decref(page);
	buf_free(&path);
	return rc;
}

int cli_print_list(const struct cli_global *g, const struct cli_list *l)
{
	struct cli_client c;
	struct buf query;
	json_t *all = NULL, *next = NULL, *doc;
	int rc = cli_client_open(&c, g, true);

	if (rc != CLI_CONTINUE)
		return rc;
	buf_init(&query, 64 * 1024);
	rc = buf_appends(&query, l->path);
	for (const char *const *f = l->filters; rc == 0 && f[0]; f += 2)
		rc = f[1] ? cli_query_add(&query, f[0], f[1]) : 0;
	if (rc) {
		fprintf(stderr, "clover: request too long\n");
		rc = CLI_EXIT_FAIL;
		goto out;
	}
	rc = get_pages(&c, query.data, l->key, l->cursor, l->limit, l->page_max, &all, &next);
	if (rc != CLI_EXIT_OK)
		goto out;
	if (g->output == CLI_OUTPUT_JSON) {
		doc = json_pack("{s:O, s:O}", l->key, all, "next", next);
		rc = doc ? cli_print_json(doc) : CLI_EXIT_FAIL;
		json_decref(doc);
	} else {
		rc = l->table(all);
	}
out:
	json_decref(all);
	json_decref(next);
	buf_free(&query);
	cli_client_close(&c);
	return rc;
}
