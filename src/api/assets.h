/* SPDX-License-Identifier: MIT */
/*
 * The console's files (web/), embedded in the binary at build time by
 * src/api/embed-web.cmake, so the server never reads them from disk and works
 * the same wherever it is installed. The table is generated; console.c serves
 * it.
 */
#ifndef CLOVER_API_ASSETS_H
#define CLOVER_API_ASSETS_H

#include <stddef.h>

struct web_asset {
	const char *name; /* path under web/, e.g. "index.html", "js/jobs.js" */
	const char *type; /* Content-Type */
	const char *etag; /* "\"<16 hex of its SHA-256>\"" */
	const unsigned char *data;
	size_t len;
};

extern const struct web_asset web_assets[];
extern const size_t web_assets_count;

#endif
