/* SPDX-License-Identifier: MIT */
/* Leveled logging; see log.h. */
#include "base/log.h"
#include "base/time.h"
#include "clover.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define TRACE_MAX 512

int log__level = LOG_LVL_INFO;
static int log_fd = 2;
static char trace_list[TRACE_MAX]; /* ",zk,zmq," form, or "all" */

static const char *level_names[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF"};

void log_set_level(enum log_level level)
{
	log__level = (int)level;
}

int log_parse_level(const char *name, enum log_level *out)
{
	for (int i = 0; i <= LOG_LVL_OFF; i++) {
		if (strcasecmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return CLOVER_EINVAL;
}

void log_set_trace(const char *list)
{
	if (list == NULL || list[0] == '\0') {
		trace_list[0] = '\0';
		return;
	}
	if (strcmp(list, "all") == 0) {
		snprintf(trace_list, sizeof(trace_list), "all");
		return;
	}
	snprintf(trace_list, sizeof(trace_list), ",%s,", list);
}

bool log_tracing(const char *sub)
{
	char key[64];

	if (trace_list[0] == '\0')
		return false;
	if (strcmp(trace_list, "all") == 0)
		return true;
	snprintf(key, sizeof(key), ",%s,", sub);
	return strstr(trace_list, key) != NULL;
}

void log_set_fd(int fd)
{
	log_fd = fd;
}

void log_write(enum log_level level, const char *sub, const char *fmt, ...)
{
	char line[4096];
	char ts[40];
	va_list ap;
	int n, m;

	time_format_rfc3339(time_wall_ms(), ts, sizeof(ts), true);
	n = snprintf(line, sizeof(line), "%s %-5s %s: ", ts, level_names[level], sub);
	if (n < 0)
		return;
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line keeps lines from different threads whole. */
	(void)!write(log_fd, line, (size_t)n);
}
