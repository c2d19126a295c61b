/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the CLI client's pure pieces (src/cli/client.c): server URL
 * and token resolution (--token > CLOVER_TOKEN > --data DIR > $HOME default),
 * decoding of API error bodies into the user's line, URL encoding, number
 * parsing and capped file reading. No network.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cli/client.h"
#include "clover.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TOK_A "clv_0123456789abcdef_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define TOK_B "clv_fedcba9876543210_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

/* A scratch directory: dir/data (holding admin.token) and dir/home. */
struct scratch {
	char dir[64], data[96], home[96], homefile[192], datafile[128];
};

static void scratch_make(struct scratch *s)
{
	char sub[160];

	snprintf(s->dir, sizeof(s->dir), "/tmp/clover-test-cli-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->data, sizeof(s->data), "%s/data", s->dir);
	snprintf(s->home, sizeof(s->home), "%s/home", s->dir);
	snprintf(s->datafile, sizeof(s->datafile), "%s/admin.token", s->data);
	snprintf(s->homefile, sizeof(s->homefile), "%s/.local/share/clover/admin.token", s->home);
	assert_int_equal(mkdir(s->data, 0700), 0);
	assert_int_equal(mkdir(s->home, 0700), 0);
	snprintf(sub, sizeof(sub), "%s/.local", s->home);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(sub, sizeof(sub), "%s/.local/share", s->home);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(sub, sizeof(sub), "%s/.local/share/clover", s->home);
	assert_int_equal(mkdir(sub, 0700), 0);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void scratch_remove(struct scratch *s)
{
	char sub[192];

	unlink(s->datafile);
	unlink(s->homefile);
	rmdir(s->data);
	snprintf(sub, sizeof(sub), "%s/.local/share/clover", s->home);
	rmdir(sub);
	snprintf(sub, sizeof(sub), "%s/.local/share", s->home);
	rmdir(sub);
	snprintf(sub, sizeof(sub), "%s/.local", s->home);
	rmdir(sub);
	rmdir(s->home);
	rmdir(s->dir);
}

static void token_comes_from_flag_then_env_then_data_then_home(void **state)
{
	struct scratch s;
	struct error_info e;
	char *tok;

	(void)state;
	scratch_make(&s);
	write_file(s.datafile, "  " TOK_A "\n");
	write_file(s.homefile, TOK_B "\r\n");

	assert_int_equal(cli_token_resolve("flag-token", "env-token", s.data, s.home, &tok, &e), 0);
	assert_string_equal(tok, "flag-token");
	free(tok);
	assert_int_equal(cli_token_resolve(NULL, "env-token", s.data, s.home, &tok, &e), 0);
	assert_string_equal(tok, "env-token");
	free(tok);
	assert_int_equal(cli_token_resolve("", "", s.data, s.home, &tok, &e), 0);
	assert_string_equal(tok, TOK_A); /* blanks around it trimmed */
	free(tok);
	assert_int_equal(cli_token_resolve(NULL, NULL, NULL, s.home, &tok, &e), 0);
	assert_string_equal(tok, TOK_B);
	free(tok);

	/* No default file: no token, no error. */
	unlink(s.homefile);
	assert_int_equal(cli_token_resolve(NULL, NULL, NULL, s.home, &tok, &e), 0);
	assert_null(tok);
	assert_int_equal(cli_token_resolve(NULL, NULL, NULL, NULL, &tok, &e), 0);
	assert_null(tok);
	scratch_remove(&s);
}

static void token_from_an_explicit_data_dir_must_exist(void **state)
{
	struct scratch s;
	struct error_info e;
	char *tok = (char *)"unchanged";

	(void)state;
	scratch_make(&s);
	write_file(s.homefile, TOK_B "\n");
	/* --data names a directory without admin.token: an error, not the home file. */
	assert_int_equal(cli_token_resolve(NULL, NULL, s.data, s.home, &tok, &e), CLOVER_ENOENT);
	assert_null(tok);
	assert_non_null(strstr(e.message, "admin.token"));
	scratch_remove(&s);
}

static void malformed_tokens_are_refused(void **state)
{
	struct scratch s;
	struct error_info e;
	char big[CLI_TOKEN_FILE_MAX + 10];
	char *tok;

	(void)state;
	scratch_make(&s);
	assert_int_equal(cli_token_resolve("two words", NULL, NULL, NULL, &tok, &e),
			 CLOVER_EINVAL);
	assert_string_equal(e.field, "--token");
	assert_int_equal(cli_token_resolve(NULL, "x\r\nX-Evil: 1", NULL, NULL, &tok, &e),
			 CLOVER_EINVAL);
	assert_string_equal(e.field, "CLOVER_TOKEN");

	write_file(s.datafile, " \n\n");
	assert_int_equal(cli_token_resolve(NULL, NULL, s.data, NULL, &tok, &e), CLOVER_EINVAL);
	assert_non_null(strstr(e.message, "empty"));

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	write_file(s.datafile, big);
	assert_int_equal(cli_token_resolve(NULL, NULL, s.data, NULL, &tok, &e), CLOVER_ETOOBIG);
	big[CLI_TOKEN_MAX + 1] = '\0';
	write_file(s.datafile, big);
	assert_int_equal(cli_token_resolve(NULL, NULL, s.data, NULL, &tok, &e), CLOVER_EINVAL);
	scratch_remove(&s);
}

static void server_url_comes_from_flag_then_env_then_default(void **state)
{
	struct error_info e;
	char *url;

	(void)state;
	assert_int_equal(cli_server_resolve(NULL, NULL, &url, &e), 0);
	assert_string_equal(url, "http://127.0.0.1:8080");
	free(url);
	assert_int_equal(cli_server_resolve(NULL, "https://sched.example:8443/", &url, &e), 0);
	assert_string_equal(url, "https://sched.example:8443");
	free(url);
	assert_int_equal(cli_server_resolve("http://h:1//", "https://other", &url, &e), 0);
	assert_string_equal(url, "http://h:1");
	free(url);
	assert_int_equal(cli_server_resolve("", "http://env:2", &url, &e), 0);
	assert_string_equal(url, "http://env:2");
	free(url);
}

static void server_url_must_be_http_with_a_host(void **state)
{
	struct error_info e;
	char *url;

	(void)state;
	assert_int_equal(cli_server_resolve("ftp://h", NULL, &url, &e), CLOVER_EINVAL);
	assert_null(url);
	assert_string_equal(e.field, "--server");
	assert_int_equal(cli_server_resolve(NULL, "localhost:8080", &url, &e), CLOVER_EINVAL);
	assert_string_equal(e.field, "CLOVER_SERVER");
	assert_int_equal(cli_server_resolve("http://", NULL, &url, &e), CLOVER_EINVAL);
	assert_int_equal(cli_server_resolve("https:///x", NULL, &url, &e), CLOVER_EINVAL);
	assert_int_equal(cli_server_resolve("http://a b", NULL, &url, &e), CLOVER_EINVAL);
}

static void api_error_bodies_become_one_line(void **state)
{
	static const char with_field[] =
		"{\"error\": {\"code\": \"invalid\", \"message\": \"'x' is not a duration\", "
		"\"field\": \"retry.backoff\"}}";
	static const char null_field[] =
		"{\"error\": {\"code\": \"not_found\", \"message\": \"job 'a' not found\", "
		"\"field\": null}}";
	static const char no_field[] = "{\"error\": {\"code\": \"forbidden\", \"message\": "
				       "\"operators only\"}}";
	static const char evil[] = "{\"error\": {\"message\": \"a\\u001b[2Jb\\nc\"}}";
	char line[256];

	(void)state;
	cli_error_format(422, with_field, strlen(with_field), line, sizeof(line));
	assert_string_equal(line, "clover: 'x' is not a duration [field: retry.backoff]");
	cli_error_format(404, null_field, strlen(null_field), line, sizeof(line));
	assert_string_equal(line, "clover: job 'a' not found");
	cli_error_format(403, no_field, strlen(no_field), line, sizeof(line));
	assert_string_equal(line, "clover: operators only");
	cli_error_format(502, "<html>Bad gateway</html>", 24, line, sizeof(line));
	assert_string_equal(line, "clover: the server answered HTTP 502");
	cli_error_format(500, NULL, 0, line, sizeof(line));
	assert_string_equal(line, "clover: the server answered HTTP 500");
	cli_error_format(400, "{\"error\": \"x\"}", 14, line, sizeof(line));
	assert_string_equal(line, "clover: the server answered HTTP 400");
	cli_error_format(400, evil, strlen(evil), line, sizeof(line));
	assert_string_equal(line, "clover: a [2Jb c");
	cli_error_format(422, with_field, strlen(with_field), line, 12);
	assert_string_equal(line, "clover: 'x'");
}

static void paths_and_queries_are_percent_encoded(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(buf_appends(&b, "/jobs/"), 0);
	assert_int_equal(cli_url_escape(&b, "a b/../c?d&é"), 0);
	assert_string_equal(b.data, "/jobs/a%20b%2F..%2Fc%3Fd%26%C3%A9");
	buf_reset(&b);
	assert_int_equal(buf_appends(&b, "/jobs"), 0);
	assert_int_equal(cli_query_add(&b, "search", "x&y=z"), 0);
	assert_int_equal(cli_query_add(&b, "limit", "10"), 0);
	assert_string_equal(b.data, "/jobs?search=x%26y%3Dz&limit=10");
	buf_free(&b);

	buf_init(&b, 8);
	assert_int_equal(cli_url_escape(&b, "~~~~~~~~~"), CLOVER_ETOOBIG);
	buf_free(&b);
}

static void integers_are_decimal_and_in_range(void **state)
{
	long long v = 7;

	(void)state;
	assert_int_equal(cli_parse_int("42", 1, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(cli_parse_int("0", 1, 100, &v), CLOVER_ERANGE);
	assert_int_equal(cli_parse_int("101", 1, 100, &v), CLOVER_ERANGE);
	assert_int_equal(cli_parse_int("99999999999999999999", 1, INT64_MAX, &v), CLOVER_ERANGE);
	assert_int_equal(cli_parse_int("-1", -5, 100, &v), CLOVER_EINVAL);
	assert_int_equal(cli_parse_int(" 1", 0, 100, &v), CLOVER_EINVAL);
	assert_int_equal(cli_parse_int("1x", 0, 100, &v), CLOVER_EINVAL);
	assert_int_equal(cli_parse_int("", 0, 100, &v), CLOVER_EINVAL);
	assert_int_equal(cli_parse_int(NULL, 0, 100, &v), CLOVER_EINVAL);
	assert_int_equal(v, 42);
}

static void files_are_read_up_to_their_cap(void **state)
{
	struct scratch s;
	struct error_info e;
	struct buf b;
	char path[160];

	(void)state;
	scratch_make(&s);
	snprintf(path, sizeof(path), "%s/spec.json", s.data);
	write_file(path, "{\"name\": \"a\"}");
	buf_init(&b, 13);
	assert_int_equal(cli_read_file(path, &b, &e), 0);
	assert_string_equal(b.data, "{\"name\": \"a\"}");
	buf_free(&b);
	buf_init(&b, 12);
	assert_int_equal(cli_read_file(path, &b, &e), CLOVER_ETOOBIG);
	assert_non_null(strstr(e.message, "larger than 12 bytes"));
	buf_free(&b);
	unlink(path);
	buf_init(&b, 12);
	assert_int_equal(cli_read_file(path, &b, &e), CLOVER_ENOENT);
	assert_non_null(strstr(e.message, "spec.json"));
	buf_free(&b);
	scratch_remove(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(token_comes_from_flag_then_env_then_data_then_home),
		cmocka_unit_test(token_from_an_explicit_data_dir_must_exist),
		cmocka_unit_test(malformed_tokens_are_refused),
		cmocka_unit_test(server_url_comes_from_flag_then_env_then_default),
		cmocka_unit_test(server_url_must_be_http_with_a_host),
		cmocka_unit_test(api_error_bodies_become_one_line),
		cmocka_unit_test(paths_and_queries_are_percent_encoded),
		cmocka_unit_test(integers_are_decimal_and_in_range),
		cmocka_unit_test(files_are_read_up_to_their_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
