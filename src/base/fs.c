/* SPDX-License-Identifier: MIT */
/* File-system helpers; see fs.h. */
#include "base/fs.h"
#include "base/error.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>

static int mkdirs(const char *path, bool last_too)
{
	char dir[4096];
	size_t n = (size_t)snprintf(dir, sizeof(dir), "%s", path);

	if (n >= sizeof(dir))
		return CLOVER_ETOOBIG;
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST)
			return error_from_errno(errno);
		*p = '/';
	}
	if (last_too && mkdir(dir, 0700) != 0 && errno != EEXIST)
		return error_from_errno(errno);
	return 0;
}

int fs_mkdirs(const char *dir)
{
	return mkdirs(dir, true);
}

int fs_mkdirs_for(const char *path)
{
	return mkdirs(path, false);
}
