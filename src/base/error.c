/* SPDX-License-Identifier: MIT */
/* Error codes and messages; see error.h. */
#include "base/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *clover_strerror(int code)
{
	switch (code) {
	case 0:
		return "success";
#define X(name, val, msg)                                                                          \
	case val:                                                                                  \
		return msg;
		CLOVER_ERRNO_MAP(X)
#undef X
	}
	return "unknown error";
}

const char *clover_errname(int code)
{
	switch (code) {
	case 0:
		return "OK";
#define X(name, val, msg)                                                                          \
	case val:                                                                                  \
		return #name;
		CLOVER_ERRNO_MAP(X)
#undef X
	}
	return "UNKNOWN";
}

int error_set(struct error_info *e, int code, const char *field, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return code;
	e->code = code;
	snprintf(e->field, sizeof(e->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return code;
}

void error_clear(struct error_info *e)
{
	if (e == NULL)
		return;
	e->code = 0;
	e->field[0] = '\0';
	e->message[0] = '\0';
}

int error_from_errno(int err)
{
	switch (err) {
	case 0:
		return 0;
	case ENOMEM:
		return CLOVER_ENOMEM;
	case ENOENT:
		return CLOVER_ENOENT;
	case EEXIST:
		return CLOVER_EEXIST;
	case EINVAL:
		return CLOVER_EINVAL;
	case ERANGE:
		return CLOVER_ERANGE;
	case EACCES:
	case EPERM:
		return CLOVER_EPERM;
	case ETIMEDOUT:
		return CLOVER_ETIMEDOUT;
	case EAGAIN:
		return CLOVER_EAGAIN;
	case ECONNREFUSED:
	case ECONNRESET:
	case EHOSTUNREACH:
	case ENETUNREACH:
		return CLOVER_ECONN;
	case EIO:
		return CLOVER_EIO;
	}
	return CLOVER_ESYS;
}
