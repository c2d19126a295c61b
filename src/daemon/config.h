/* SPDX-License-Identifier: MIT */
/*
 * Server configuration. Every key can be set in the INI file (section
 * [server]), by a CLOVER_<KEY> environment variable and by a --<key> flag
 * (underscores become dashes); a flag beats the environment, which beats the
 * file, which beats the default. docs/configuration.md lists the keys.
 */
#ifndef CLOVER_DAEMON_CONFIG_H
#define CLOVER_DAEMON_CONFIG_H

#include "base/error.h"
#include "base/log.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_FILE_MAX (64 * 1024)

struct config {
	char data[4096];
	char listen[256];
	char config_file[4096];
	enum log_level log_level;
	char trace[256];
	int workers;
	int64_t retention_ms;
	int64_t drain_grace_ms;
	int64_t kill_grace_ms;
	int http_threads;
	char rpc_listen[256];      /* executors' address; empty: no remote executors */
	char server_key[4096];     /* path prefix of the scheduler's NAME.key / NAME.pub */
	char executor_keys[4096];  /* file of accepted executor public keys */
	int64_t executor_timeout_ms; /* silence after which an executor is lost */
	bool metrics_public;         /* /metrics without a token (docs/operations.md) */

	/* Alerts (docs/alerts.md "Configuration"); read at start only. */
	char smtp_url[1024]; /* empty: no e-mail */
	char smtp_user[256];
	char smtp_password[256];
	char smtp_from[512];
	int smtp_starttls; /* enum notify_starttls */
	int64_t smtp_timeout_ms;
	int smtp_retries;
	char alert_ca_file[4096];
	int64_t webhook_timeout_ms;
	int webhook_retries;
	int64_t alert_retry_backoff_ms;
	int64_t alert_retry_backoff_max_ms;
	int64_t alert_group_window_ms;
	int alert_rate_limit;
	int64_t alert_rate_period_ms;
	int alert_items_max;
	int64_t alert_flush_timeout_ms;
	int alert_groups_max;
	int alert_queue_max;
};

/* Fills `c` with the defaults. */
void config_defaults(struct config *c);
/* Resets only the alert keys to their defaults (those of src/notify). */
void config_alert_defaults(struct config *c);

/*
 * Applies one key=value (from any source) to `c`. `source` names where it
 * came from for the error message ("clover.ini:12", "CLOVER_WORKERS").
 */
int config_set(struct config *c, const char *key, const char *value, const char *source,
	       struct error_info *e);

/* Parses INI text of at most CONFIG_FILE_MAX bytes, applying [server] keys. */
int config_parse_ini(struct config *c, const char *text, size_t len, const char *name,
		     struct error_info *e);

/* Reads and applies an INI file. */
int config_load_file(struct config *c, const char *path, struct error_info *e);

/* Applies every CLOVER_<KEY> variable of the environment. */
int config_load_env(struct config *c, struct error_info *e);

/* The list of keys, for --help: "data", "listen", ... NULL-terminated. */
extern const char *const config_keys[];

#endif
