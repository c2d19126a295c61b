/* SPDX-License-Identifier: MIT */
/*
 * Server configuration from defaults, an INI file, the environment and flags;
 * see config.h. The INI reader is deliberately small: `[section]` lines,
 * `key = value` lines, `#` and `;` comments, surrounding blanks trimmed,
 * values optionally in double quotes. Anything else is an error naming the
 * line, and the file size is capped.
 */
#include "daemon/config.h"
#include "base/duration.h"
#include "base/time.h"
#include "notify/notify.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const config_keys[] = {"data",        "listen",     "log_level",
				   "trace",       "workers",    "retention",
				   "drain_grace", "kill_grace", "http_threads",
				   "rpc_listen",  "server_key", "executor_keys",
				   "executor_timeout", "metrics_public",
				   "smtp_url",    "smtp_user",  "smtp_password",
				   "smtp_from",   "smtp_starttls", "smtp_timeout",
				   "smtp_retries", "alert_ca_file", "webhook_timeout",
				   "webhook_retries", "alert_retry_backoff",
				   "alert_retry_backoff_max", "alert_group_window",
				   "alert_rate_limit", "alert_rate_period", "alert_items_max",
				   "alert_flush_timeout", "alert_groups_max", "alert_queue_max",
				   NULL};

void config_defaults(struct config *c)
{
	const char *home = getenv("HOME");

	memset(c, 0, sizeof(*c));
	snprintf(c->data, sizeof(c->data), "%s/.local/share/clover", home ? home : ".");
	snprintf(c->listen, sizeof(c->listen), "127.0.0.1:8080");
	c->log_level = LOG_LVL_INFO;
	c->workers = 64;
	c->retention_ms = 30 * MS_PER_DAY;
	c->drain_grace_ms = 30000;
	c->kill_grace_ms = 5000;
	c->http_threads = 4;
	c->executor_timeout_ms = 3000;
	config_alert_defaults(c);
}

/* The notifier's defaults (notify_options_init), so the two never differ. */
void config_alert_defaults(struct config *c)
{
	struct notify_options o;

	notify_options_init(&o);
	c->smtp_url[0] = c->smtp_user[0] = c->smtp_password[0] = c->smtp_from[0] = '\0';
	c->alert_ca_file[0] = '\0';
	c->smtp_starttls = (int)o.smtp_starttls;
	c->smtp_timeout_ms = o.smtp_timeout_ms;
	c->smtp_retries = o.smtp_retries;
	c->webhook_timeout_ms = o.webhook_timeout_ms;
	c->webhook_retries = o.webhook_retries;
	c->alert_retry_backoff_ms = o.retry_backoff_ms;
	c->alert_retry_backoff_max_ms = o.retry_backoff_max_ms;
	c->alert_group_window_ms = o.group_window_ms;
	c->alert_rate_limit = o.rate_limit;
	c->alert_rate_period_ms = o.rate_period_ms;
	c->alert_items_max = (int)o.items_max;
	c->alert_flush_timeout_ms = o.flush_timeout_ms;
	c->alert_groups_max = (int)o.groups_max;
	c->alert_queue_max = (int)o.queue_max;
}

static int set_str(char *dst, size_t n, const char *key, const char *value, const char *source,
		   struct error_info *e)
{
	if (strlen(value) >= n)
		return error_set(e, CLOVER_ETOOBIG, key, "%s: %s is longer than %zu bytes", source,
				 key, n - 1);
	snprintf(dst, n, "%s", value);
	return 0;
}

static int set_int(int *dst, int lo, int hi, const char *key, const char *value,
		   const char *source, struct error_info *e)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(value, &end, 10);
	if (errno || end == value || *end || v < lo || v > hi)
		return error_set(e, CLOVER_EINVAL, key, "%s: %s must be a whole number from %d to %d, not '%s'",
				 source, key, lo, hi, value);
	*dst = (int)v;
	return 0;
}

static int set_dur(int64_t *dst, const char *key, const char *value, const char *source,
		   struct error_info *e)
{
	struct error_info de;

	if (duration_parse(value, dst, &de))
		return error_set(e, CLOVER_EINVAL, key, "%s: %s: %s", source, key, de.message);
	return 0;
}

/* A duration that the notifier takes as an int of milliseconds (at most 24 h). */
static int set_dur_ms(int64_t *dst, const char *key, const char *value, const char *source,
		      struct error_info *e)
{
	int64_t ms;
	int rc = set_dur(&ms, key, value, source, e);

	if (rc)
		return rc;
	if (ms < 0 || ms > MS_PER_DAY)
		return error_set(e, CLOVER_EINVAL, key, "%s: %s must be from 0 to 24h, not '%s'",
				 source, key, value);
	*dst = ms;
	return 0;
}

/* The alert keys (docs/alerts.md). Returns 1 when `key` is not one of them. */
static int set_alert(struct config *c, const char *key, const char *value, const char *source,
		     struct error_info *e)
{
	if (strcmp(key, "smtp_url") == 0)
		return set_str(c->smtp_url, sizeof(c->smtp_url), key, value, source, e);
	if (strcmp(key, "smtp_user") == 0)
		return set_str(c->smtp_user, sizeof(c->smtp_user), key, value, source, e);
	if (strcmp(key, "smtp_password") == 0)
		return set_str(c->smtp_password, sizeof(c->smtp_password), key, value, source, e);
	if (strcmp(key, "smtp_from") == 0)
		return set_str(c->smtp_from, sizeof(c->smtp_from), key, value, source, e);
	if (strcmp(key, "alert_ca_file") == 0)
		return set_str(c->alert_ca_file, sizeof(c->alert_ca_file), key, value, source, e);
	if (strcmp(key, "smtp_starttls") == 0) {
		enum notify_starttls t;

		if (notify_starttls_parse(value, &t))
			return error_set(e, CLOVER_EINVAL, key,
					 "%s: smtp_starttls must be none, try or require, not '%s'",
					 source, value);
		c->smtp_starttls = (int)t;
		return 0;
	}
	if (strcmp(key, "smtp_timeout") == 0)
		return set_dur_ms(&c->smtp_timeout_ms, key, value, source, e);
	if (strcmp(key, "smtp_retries") == 0)
		return set_int(&c->smtp_retries, 0, 100, key, value, source, e);
	if (strcmp(key, "webhook_timeout") == 0)
		return set_dur_ms(&c->webhook_timeout_ms, key, value, source, e);
	if (strcmp(key, "webhook_retries") == 0)
		return set_int(&c->webhook_retries, 0, 100, key, value, source, e);
	if (strcmp(key, "alert_retry_backoff") == 0)
		return set_dur_ms(&c->alert_retry_backoff_ms, key, value, source, e);
	if (strcmp(key, "alert_retry_backoff_max") == 0)
		return set_dur_ms(&c->alert_retry_backoff_max_ms, key, value, source, e);
	if (strcmp(key, "alert_group_window") == 0)
		return set_dur_ms(&c->alert_group_window_ms, key, value, source, e);
	if (strcmp(key, "alert_rate_limit") == 0)
		return set_int(&c->alert_rate_limit, 0, 1000000, key, value, source, e);
	if (strcmp(key, "alert_rate_period") == 0)
		return set_dur_ms(&c->alert_rate_period_ms, key, value, source, e);
	if (strcmp(key, "alert_items_max") == 0)
		return set_int(&c->alert_items_max, 1, 1000, key, value, source, e);
	if (strcmp(key, "alert_flush_timeout") == 0)
		return set_dur_ms(&c->alert_flush_timeout_ms, key, value, source, e);
	if (strcmp(key, "alert_groups_max") == 0)
		return set_int(&c->alert_groups_max, 1, 10000000, key, value, source, e);
	if (strcmp(key, "alert_queue_max") == 0)
		return set_int(&c->alert_queue_max, 1, 10000000, key, value, source, e);
	return 1;
}

int config_set(struct config *c, const char *key, const char *value, const char *source,
	       struct error_info *e)
{
	int arc = set_alert(c, key, value, source, e);

	if (arc != 1)
		return arc;
	if (strcmp(key, "data") == 0)
		return set_str(c->data, sizeof(c->data), key, value, source, e);
	if (strcmp(key, "listen") == 0)
		return set_str(c->listen, sizeof(c->listen), key, value, source, e);
	if (strcmp(key, "trace") == 0)
		return set_str(c->trace, sizeof(c->trace), key, value, source, e);
	if (strcmp(key, "log_level") == 0) {
		if (log_parse_level(value, &c->log_level))
			return error_set(e, CLOVER_EINVAL, key,
					 "%s: log_level must be trace, debug, info, warn, error or "
					 "off, not '%s'",
					 source, value);
		return 0;
	}
	if (strcmp(key, "workers") == 0)
		return set_int(&c->workers, 1, 4096, key, value, source, e);
	if (strcmp(key, "http_threads") == 0)
		return set_int(&c->http_threads, 1, 256, key, value, source, e);
	if (strcmp(key, "retention") == 0)
		return set_dur(&c->retention_ms, key, value, source, e);
	if (strcmp(key, "drain_grace") == 0)
		return set_dur(&c->drain_grace_ms, key, value, source, e);
	if (strcmp(key, "kill_grace") == 0)
		return set_dur(&c->kill_grace_ms, key, value, source, e);
	if (strcmp(key, "rpc_listen") == 0)
		return set_str(c->rpc_listen, sizeof(c->rpc_listen), key, value, source, e);
	if (strcmp(key, "server_key") == 0)
		return set_str(c->server_key, sizeof(c->server_key), key, value, source, e);
	if (strcmp(key, "executor_keys") == 0)
		return set_str(c->executor_keys, sizeof(c->executor_keys), key, value, source, e);
	if (strcmp(key, "executor_timeout") == 0) {
		int64_t ms;
		int rc = set_dur(&ms, key, value, source, e);

		if (rc)
			return rc;
		/* The wire protocol's bounds (docs/protocol.md, welcome.dead_after_ms). */
		if (ms < 30 || ms > 600000)
			return error_set(e, CLOVER_EINVAL, key,
					 "%s: executor_timeout must be from 30ms to 10m, not '%s'",
					 source, value);
		c->executor_timeout_ms = ms;
		return 0;
	}
	if (strcmp(key, "metrics_public") == 0) {
		if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0)
			return error_set(e, CLOVER_EINVAL, key,
					 "%s: metrics_public must be true or false, not '%s'", source,
					 value);
		c->metrics_public = strcmp(value, "true") == 0;
		return 0;
	}
	return error_set(e, CLOVER_EINVAL, key, "%s: unknown setting '%s'", source, key);
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

int config_parse_ini(struct config *c, const char *text, size_t len, const char *name,
		     struct error_info *e)
{
	char line[4096 + 256];
	char section[64] = "";
	size_t pos = 0;
	int lineno = 0;

	if (len > CONFIG_FILE_MAX)
		return error_set(e, CLOVER_ETOOBIG, NULL, "%s: larger than %d bytes", name,
				 CONFIG_FILE_MAX);
	while (pos < len) {
		size_t n = 0;
		char where[300], *s, *eq, *key, *val;

		lineno++;
		while (pos < len && text[pos] != '\n') {
			if (n + 1 >= sizeof(line))
				return error_set(e, CLOVER_ETOOBIG, NULL, "%s:%d: line too long",
						 name, lineno);
			if (text[pos] == '\0')
				return error_set(e, CLOVER_EPARSE, NULL, "%s:%d: NUL byte", name,
						 lineno);
			line[n++] = text[pos++];
		}
		pos++;
		line[n] = '\0';
		s = trim(line);
		snprintf(where, sizeof(where), "%s:%d", name, lineno);
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *close = strchr(s, ']');

			if (close == NULL || close[1] != '\0' || (size_t)(close - s - 1) >= sizeof(section))
				return error_set(e, CLOVER_EPARSE, NULL, "%s: bad section header",
						 where);
			*close = '\0';
			snprintf(section, sizeof(section), "%s", trim(s + 1));
			if (strcmp(section, "server") != 0)
				return error_set(e, CLOVER_EPARSE, NULL,
						 "%s: unknown section [%s] (expected [server])",
						 where, section);
			continue;
		}
		eq = strchr(s, '=');
		if (eq == NULL)
			return error_set(e, CLOVER_EPARSE, NULL, "%s: expected key = value", where);
		*eq = '\0';
		key = trim(s);
		val = trim(eq + 1);
		if (section[0] == '\0')
			return error_set(e, CLOVER_EPARSE, key,
					 "%s: '%s' is outside a section (put it under [server])",
					 where, key);
		if (*val == '"') {
			size_t vl = strlen(val);

			if (vl < 2 || val[vl - 1] != '"')
				return error_set(e, CLOVER_EPARSE, key, "%s: unterminated quote",
						 where);
			val[vl - 1] = '\0';
			val++;
		}
		if (config_set(c, key, val, where, e))
			return e ? e->code : CLOVER_EINVAL;
	}
	return 0;
}

int config_load_file(struct config *c, const char *path, struct error_info *e)
{
	FILE *f = fopen(path, "rb");
	char *text;
	size_t n;
	int rc;

	if (f == NULL)
		return error_set(e, error_from_errno(errno), "config", "cannot open %s: %s", path,
				 strerror(errno));
	text = malloc(CONFIG_FILE_MAX + 1);
	if (text == NULL) {
		fclose(f);
		return error_set(e, CLOVER_ENOMEM, "config", "out of memory");
	}
	n = fread(text, 1, CONFIG_FILE_MAX + 1, f);
	fclose(f);
	rc = config_parse_ini(c, text, n, path, e);
	free(text);
	return rc;
}

int config_load_env(struct config *c, struct error_info *e)
{
	for (int i = 0; config_keys[i]; i++) {
		char var[64];
		const char *v;
		size_t j;

		snprintf(var, sizeof(var), "CLOVER_%s", config_keys[i]);
		for (j = 0; var[j]; j++)
			var[j] = (char)toupper((unsigned char)var[j]);
		v = getenv(var);
		if (v && config_set(c, config_keys[i], v, var, e))
			return e ? e->code : CLOVER_EINVAL;
	}
	return 0;
}
