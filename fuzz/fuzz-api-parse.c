/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the API's own parsers of outside input (src/api/parse.c
 * and the token shape check of src/api/auth.c): listen addresses, integers,
 * ids, URL paths, UTF-8 checks and bearer-token shapes. The first input byte
 * picks the parser; the rest is the text. Besides "never crash", it checks
 * each parser's promises: accepted integers are in range and ids print back
 * to the same text, path segments are non-empty and free of '/', "." and "..",
 * sanitized text is valid UTF-8 and valid text is left alone, an accepted
 * token has the exact length, and every rejection is reported consistently.
 */
#include "api/auth.h"
#include "api/internal.h"

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_listen(const char *s)
{
	struct sockaddr_storage ss;
	struct error_info e;
	socklen_t len = 0;
	int rc = api_parse_listen(s, &ss, &len, &e);

	if (rc != 0) {
		if (rc != CLOVER_EINVAL || e.code != rc || e.message[0] == '\0')
			abort();
		return;
	}
	if (!(ss.ss_family == AF_INET && len == sizeof(struct sockaddr_in)) &&
	    !(ss.ss_family == AF_INET6 && len == sizeof(struct sockaddr_in6)))
		abort();
}

static void check_ints(const char *s)
{
	char back[32];
	int64_t v;

	if (api_parse_int64(s, -1000, 1000, &v) == 0 && (v < -1000 || v > 1000))
		abort();
	if (api_parse_int64(s, 0, INT64_MAX, &v) == 0 && v < 0)
		abort();
	if (api_parse_id(s, &v)) {
		snprintf(back, sizeof(back), "%lld", (long long)v);
		if (v < 1 || strcmp(back, s) != 0)
			abort();
	}
}

static void check_path(const char *s)
{
	const char *seg[API_SEGS_MAX];
	char buf[API_PATH_MAX];
	int n = -1;

	if (api_split_path(s, buf, sizeof(buf), seg, API_SEGS_MAX, &n) != 0)
		return;
	if (n < 0 || n > API_SEGS_MAX)
		abort();
	for (int i = 0; i < n; i++) {
		if (seg[i][0] == '\0' || strchr(seg[i], '/') || strcmp(seg[i], ".") == 0 ||
		    strcmp(seg[i], "..") == 0)
			abort();
	}
}

static void check_utf8(char *s)
{
	bool valid = api_utf8_valid(s);
	char *copy = strdup(s);

	if (copy == NULL)
		return;
	api_utf8_sanitize(copy);
	if (!api_utf8_valid(copy) || strlen(copy) != strlen(s) || (valid && strcmp(copy, s) != 0))
		abort();
	free(copy);
}

static void check_token(const char *s)
{
	char id[AUTH_TOKEN_ID_LEN + 1];

	if (auth_token_parse(s, id) &&
	    (strlen(s) != AUTH_TOKEN_LEN || strlen(id) != AUTH_TOKEN_ID_LEN ||
	     memcmp(s + 4, id, AUTH_TOKEN_ID_LEN) != 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[TEXT_MAX + 1];
	size_t n;

	if (size < 1)
		return 0;
	n = size - 1 < TEXT_MAX ? size - 1 : TEXT_MAX;
	memcpy(text, data + 1, n);
	text[n] = '\0'; /* the parsers read C strings: stop at the first NUL */
	switch (data[0] % 5) {
	case 0:
		check_listen(text);
		break;
	case 1:
		check_ints(text);
		break;
	case 2:
		check_path(text);
		break;
	case 3:
		check_utf8(text);
		break;
	default:
		check_token(text);
		break;
	}
	return 0;
}
