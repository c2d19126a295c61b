/* SPDX-License-Identifier: MIT */
/*
 * Leveled logging. `log_at(level, "subsystem", fmt, ...)` checks the level before
 * formatting anything; TRACE lines are written only for subsystems switched on
 * with log_set_trace("zk,zmq,engine") (or "all"). Lines about a run carry
 * `job=` and `run=`. Thread-safe: one write(2) per line.
 */
#ifndef CLOVER_BASE_LOG_H
#define CLOVER_BASE_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LVL_TRACE = 0,
	LOG_LVL_DEBUG,
	LOG_LVL_INFO,
	LOG_LVL_WARN,
	LOG_LVL_ERROR,
	LOG_LVL_OFF,
};

#define LOG_TRACE LOG_LVL_TRACE
#define LOG_DEBUG LOG_LVL_DEBUG
#define LOG_INFO LOG_LVL_INFO
#define LOG_WARN LOG_LVL_WARN
#define LOG_ERROR LOG_LVL_ERROR

extern int log__level; /* the lowest level written; read by log_at() */

#define log_at(level, sub, ...)                                                                    \
	do {                                                                                       \
		if ((int)(level) >= log__level || ((level) == LOG_LVL_TRACE && log_tracing(sub))) \
			log_write((level), (sub), __VA_ARGS__);                                    \
	} while (0)

void log_write(enum log_level level, const char *sub, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Sets the lowest level written (default INFO). */
void log_set_level(enum log_level level);

/* Parses "trace|debug|info|warn|error|off"; returns 0 or CLOVER_EINVAL. */
int log_parse_level(const char *name, enum log_level *out);

/*
 * Switches on TRACE for a comma-separated list of subsystems ("all" for every
 * one); NULL or "" switches tracing off. Not thread-safe: call at start-up or
 * from the thread that reloads configuration.
 */
void log_set_trace(const char *list);

/* True when TRACE lines of `sub` are wanted. */
bool log_tracing(const char *sub);

/* Writes to `fd` instead of standard error (default 2). */
void log_set_fd(int fd);

#endif
