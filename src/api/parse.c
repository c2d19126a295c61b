/* SPDX-License-Identifier: MIT */
/*
 * Parsers of outside input that jansson does not cover: the listen address,
 * integers and booleans in query strings and paths, and URL paths. They are
 * pure (no allocation, no globals) and fuzzed by fuzz/fuzz-api-parse.c.
 */
#include "api/internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#define HOST_MAX 64

/* Length of the valid UTF-8 sequence at p (n bytes left), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	size_t len;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

bool api_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	while (n > 0) {
		size_t k = utf8_seq(p, n);

		if (k == 0)
			return false;
		p += k;
		n -= k;
	}
	return true;
}

void api_utf8_sanitize(char *s)
{
	unsigned char *p = (unsigned char *)s;
	size_t n = strlen(s);

	while (n > 0) {
		size_t k = utf8_seq(p, n);

		if (k == 0) {
			*p = '?';
			k = 1;
		}
		p += k;
		n -= k;
	}
}

int api_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	bool neg = false;
	uint64_t v = 0, lim;

	if (s == NULL || *s == '\0')
		return CLOVER_EINVAL;
	if (*s == '-' && min < 0) {
		neg = true;
		s++;
	}
	if (*s == '\0' || strlen(s) > 19)
		return CLOVER_EINVAL;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return CLOVER_EINVAL;
		if (v > (lim - (uint64_t)(*s - '0')) / 10)
			return CLOVER_ERANGE;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (neg) {
		int64_t r = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;

		if (r < min || r > max)
			return CLOVER_ERANGE;
		*out = r;
		return 0;
	}
	if ((int64_t)v < min || (int64_t)v > max)
		return CLOVER_ERANGE;
	*out = (int64_t)v;
	return 0;
}

bool api_parse_id(const char *s, int64_t *out)
{
	if (s == NULL || s[0] == '0')
		return false; /* no leading zeros: one spelling per id */
	return api_parse_int64(s, 1, INT64_MAX, out) == 0;
}

int api_parse_bool(const char *s, bool *out)
{
	if (s && strcmp(s, "true") == 0) {
		*out = true;
		return 0;
	}
	if (s && strcmp(s, "false") == 0) {
		*out = false;
		return 0;
	}
	return CLOVER_EINVAL;
}

int api_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len,
                     struct error_info *e)
{
	char host[HOST_MAX];
	const char *port, *end;
	size_t hlen;
	int64_t p;
	bool v6 = false;

	memset(ss, 0, sizeof(*ss));
	if (s == NULL || *s == '\0')
		return error_set(e, CLOVER_EINVAL, "listen", "empty listen address");
	if (*s == '[') {
		end = strchr(s, ']');
		if (end == NULL || end[1] != ':')
			return error_set(e, CLOVER_EINVAL, "listen",
			                 "listen address '%.64s' must be [IPv6]:port", s);
		v6 = true;
		hlen = (size_t)(end - s - 1);
		s++;
		port = end + 2;
	} else {
		end = strrchr(s, ':');
		if (end == NULL)
			return error_set(e, CLOVER_EINVAL, "listen",
			                 "listen address '%.64s' must be host:port", s);
		hlen = (size_t)(end - s);
		port = end + 1;
		if (memchr(s, ':', hlen))
			return error_set(e, CLOVER_EINVAL, "listen",
			                 "write IPv6 listen addresses in brackets: [::1]:8080");
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return error_set(e, CLOVER_EINVAL, "listen", "listen address needs a host");
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (api_parse_int64(port, 0, 65535, &p) != 0)
		return error_set(e, CLOVER_EINVAL, "listen",
		                 "listen port '%.16s' is not a number in 0-65535", port);
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return error_set(e, CLOVER_EINVAL, "listen", "'%s' is not an IPv6 address",
			                 host);
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)p);
		*len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		if (strcmp(host, "localhost") == 0)
			memcpy(host, "127.0.0.1", sizeof("127.0.0.1"));
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return error_set(e, CLOVER_EINVAL, "listen",
			                 "'%s' is not an IPv4 address (nor localhost)", host);
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)p);
		*len = sizeof(*a);
	}
	return 0;
}

int api_split_path(const char *path, char *buf, size_t n, const char **seg, int max, int *nseg)
{
	size_t len;
	char *p;
	int k = 0;

	*nseg = 0;
	if (path == NULL)
		return CLOVER_EINVAL;
	len = strlen(path);
	if (len >= n)
		return CLOVER_ETOOBIG;
	if (len == 0)
		return 0;
	if (path[0] != '/')
		return CLOVER_EINVAL;
	memcpy(buf, path + 1, len); /* with the NUL */
	len--;
	if (len > 0 && buf[len - 1] == '/')
		buf[--len] = '\0';
	if (len == 0)
		return 0;
	p = buf;
	for (;;) {
		char *slash = strchr(p, '/');

		if (slash)
			*slash = '\0';
		if (*p == '\0' || strcmp(p, ".") == 0 || strcmp(p, "..") == 0)
			return CLOVER_EINVAL;
		if (k == max)
			return CLOVER_ETOOBIG;
		seg[k++] = p;
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	*nseg = k;
	return 0;
}
