/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the API's own parsers of outside input: listen addresses,
 * integers, booleans, ids, URL paths and UTF-8 checks (see also the fuzz
 * target fuzz/fuzz-api-parse.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "api/internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static int listen_port(const char *s, int *family)
{
	struct sockaddr_storage ss;
	struct error_info e;
	socklen_t len;

	if (api_parse_listen(s, &ss, &len, &e) != 0) {
		assert_string_equal(e.field, "listen");
		return -1;
	}
	*family = ss.ss_family;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void listen_addresses(void **state)
{
	struct sockaddr_storage ss;
	struct error_info e;
	socklen_t len;
	int fam = 0;
	char ip[64];

	(void)state;
	assert_int_equal(listen_port("127.0.0.1:8080", &fam), 8080);
	assert_int_equal(fam, AF_INET);
	assert_int_equal(listen_port("0.0.0.0:80", &fam), 80);
	assert_int_equal(listen_port("[::1]:8080", &fam), 8080);
	assert_int_equal(fam, AF_INET6);
	assert_int_equal(listen_port("[::]:0", &fam), 0);
	assert_int_equal(api_parse_listen("localhost:9", &ss, &len, &e), 0);
	inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ip, sizeof(ip));
	assert_string_equal(ip, "127.0.0.1");
	assert_int_equal(len, sizeof(struct sockaddr_in));

	assert_int_equal(listen_port("127.0.0.1", &fam), -1);
	assert_int_equal(listen_port("127.0.0.1:", &fam), -1);
	assert_int_equal(listen_port(":8080", &fam), -1);
	assert_int_equal(listen_port("127.0.0.1:65536", &fam), -1);
	assert_int_equal(listen_port("127.0.0.1:-1", &fam), -1);
	assert_int_equal(listen_port("127.0.0.1:80x", &fam), -1);
	assert_int_equal(listen_port("::1:8080", &fam), -1);
	assert_int_equal(listen_port("[::1]8080", &fam), -1);
	assert_int_equal(listen_port("[::1:8080", &fam), -1);
	assert_int_equal(listen_port("[127.0.0.1]:80", &fam), -1);
	assert_int_equal(listen_port("example.com:80", &fam), -1);
	assert_int_equal(listen_port("", &fam), -1);
	assert_int_equal(api_parse_listen(NULL, &ss, &len, &e), CLOVER_EINVAL);
}

static void integers_booleans_and_ids(void **state)
{
	int64_t v;
	bool b;

	(void)state;
	assert_int_equal(api_parse_int64("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(api_parse_int64("9223372036854775807", 0, INT64_MAX, &v), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(api_parse_int64("9223372036854775808", 0, INT64_MAX, &v), CLOVER_ERANGE);
	assert_int_equal(api_parse_int64("-9223372036854775808", INT64_MIN, 0, &v), 0);
	assert_true(v == INT64_MIN);
	assert_int_equal(api_parse_int64("-1", 0, 10, &v), CLOVER_EINVAL);
	assert_int_equal(api_parse_int64("11", 0, 10, &v), CLOVER_ERANGE);
	assert_int_equal(api_parse_int64("+1", 0, 10, &v), CLOVER_EINVAL);
	assert_int_equal(api_parse_int64(" 1", 0, 10, &v), CLOVER_EINVAL);
	assert_int_equal(api_parse_int64("1 ", 0, 10, &v), CLOVER_EINVAL);
	assert_int_equal(api_parse_int64("", 0, 10, &v), CLOVER_EINVAL);
	assert_int_equal(api_parse_int64("-", -5, 10, &v), CLOVER_EINVAL);
	assert_int_equal(api_parse_int64("99999999999999999999", 0, INT64_MAX, &v), CLOVER_EINVAL);

	assert_int_equal(api_parse_bool("true", &b), 0);
	assert_true(b);
	assert_int_equal(api_parse_bool("false", &b), 0);
	assert_false(b);
	assert_int_equal(api_parse_bool("1", &b), CLOVER_EINVAL);
	assert_int_equal(api_parse_bool("TRUE", &b), CLOVER_EINVAL);

	assert_true(api_parse_id("42", &v));
	assert_int_equal(v, 42);
	assert_false(api_parse_id("0", &v));
	assert_false(api_parse_id("042", &v));
	assert_false(api_parse_id("-4", &v));
	assert_false(api_parse_id("4e2", &v));
}

static void paths_split_into_segments(void **state)
{
	const char *seg[4];
	char buf[64];
	int n;

	(void)state;
	assert_int_equal(api_split_path("/jobs/x/trigger", buf, sizeof(buf), seg, 4, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(seg[0], "jobs");
	assert_string_equal(seg[1], "x");
	assert_string_equal(seg[2], "trigger");
	assert_int_equal(api_split_path("/jobs/", buf, sizeof(buf), seg, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(api_split_path("", buf, sizeof(buf), seg, 4, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(api_split_path("/", buf, sizeof(buf), seg, 4, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(api_split_path("/jobs//x", buf, sizeof(buf), seg, 4, &n), CLOVER_EINVAL);
	assert_int_equal(api_split_path("/jobs/../users", buf, sizeof(buf), seg, 4, &n),
	                 CLOVER_EINVAL);
	assert_int_equal(api_split_path("/a/./b", buf, sizeof(buf), seg, 4, &n), CLOVER_EINVAL);
	assert_int_equal(api_split_path("jobs", buf, sizeof(buf), seg, 4, &n), CLOVER_EINVAL);
	assert_int_equal(api_split_path("/a/b/c/d/e", buf, sizeof(buf), seg, 4, &n),
	                 CLOVER_ETOOBIG);
	assert_int_equal(
	    api_split_path("/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	                   "aaaaaaaaaaaaa",
	                   buf, sizeof(buf), seg, 4, &n),
	    CLOVER_ETOOBIG);
}

static void utf8_checks(void **state)
{
	char bad[] = "ab\xff"
	             "c\xc3";
	char overlong[] = "\xc0\xaf";
	char surrogate[] = "\xed\xa0\x80";

	(void)state;
	assert_true(api_utf8_valid("plain"));
	assert_true(api_utf8_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
	assert_false(api_utf8_valid(bad));
	assert_false(api_utf8_valid(overlong));
	assert_false(api_utf8_valid(surrogate));
	assert_false(api_utf8_valid("\xf4\x90\x80\x80")); /* past U+10FFFF */
	api_utf8_sanitize(bad);
	assert_string_equal(bad, "ab?c?");
	assert_true(api_utf8_valid(bad));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(listen_addresses),
	    cmocka_unit_test(integers_booleans_and_ids),
	    cmocka_unit_test(paths_split_into_segments),
	    cmocka_unit_test(utf8_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
