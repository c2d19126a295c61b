/* SPDX-License-Identifier: MIT */
/*
 * clover.h - the public API of libclover, the clover client library.
 *
 * Everything an application needs to become a clover executor lives here: error
 * codes, and (see docs/client-library.md) the worker API with which it registers
 * handler functions for jobs. No other header of the project is public.
 *
 * Conventions: functions return 0 on success or a negative CLOVER_E* code.
 * Codes are never renumbered; new ones are appended.
 */
#ifndef CLOVER_H
#define CLOVER_H

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, value, message) */
#define CLOVER_ERRNO_MAP(X)                                                                        \
	X(EINVAL, -1, "invalid argument")                                                          \
	X(ENOMEM, -2, "out of memory")                                                             \
	X(ENOENT, -3, "not found")                                                                 \
	X(EEXIST, -4, "already exists")                                                            \
	X(ERANGE, -5, "out of range")                                                              \
	X(EIO, -6, "input/output error")                                                           \
	X(ETOOBIG, -7, "too big")                                                                  \
	X(EPARSE, -8, "syntax error")                                                              \
	X(ESTORE, -9, "store error")                                                               \
	X(ECONFLICT, -10, "conflict")                                                              \
	X(EPERM, -11, "permission denied")                                                         \
	X(EAUTH, -12, "authentication required")                                                   \
	X(ESTATE, -13, "operation not valid in this state")                                        \
	X(ETIMEDOUT, -14, "timed out")                                                             \
	X(ECANCELED, -15, "cancelled")                                                             \
	X(EAGAIN, -16, "try again")                                                                \
	X(ESYS, -17, "system call failed")                                                         \
	X(ENOTSUP, -18, "not supported")                                                           \
	X(EPROTO, -19, "protocol error")                                                           \
	X(ECONN, -20, "connection failed")

enum clover_errno {
#define CLOVER__ERR_ENUM(name, val, msg) CLOVER_##name = (val),
	CLOVER_ERRNO_MAP(CLOVER__ERR_ENUM)
#undef CLOVER__ERR_ENUM
};

/*
 * Returns a static, human-readable message for a CLOVER_E* code (or "unknown
 * error"). Thread-safe; the string must not be freed.
 */
const char *clover_strerror(int code);

/* Returns the name of a code ("EINVAL"), or "UNKNOWN". Thread-safe. */
const char *clover_errname(int code);

#ifdef __cplusplus
}
#endif
#endif
