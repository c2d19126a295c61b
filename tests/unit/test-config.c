/* SPDX-License-Identifier: MIT */
/* Server configuration: INI parsing, environment, precedence and errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/time.h"
#include "daemon/config.h"
#include "notify/notify.h"

#include <stdlib.h>
#include <string.h>

static int parse(struct config *c, const char *text, struct error_info *e)
{
	config_defaults(c);
	return config_parse_ini(c, text, strlen(text), "test.ini", e);
}

static void ini_sets_every_key(void **state)
{
	struct config c;
	struct error_info e;

	(void)state;
	assert_int_equal(parse(&c,
			       "# comment\n; another\n\n[server]\n data = /srv/clover \n"
			       "listen=0.0.0.0:9090\nlog_level = debug\ntrace = engine,store\n"
			       "workers = 8\nretention = 7d\ndrain_grace = 1m\nkill_grace=2s\n"
			       "http_threads = 2\n",
			       &e),
			 0);
	assert_string_equal(c.data, "/srv/clover");
	assert_string_equal(c.listen, "0.0.0.0:9090");
	assert_int_equal(c.log_level, LOG_LVL_DEBUG);
	assert_string_equal(c.trace, "engine,store");
	assert_int_equal(c.workers, 8);
	assert_int_equal(c.retention_ms, 7 * MS_PER_DAY);
	assert_int_equal(c.drain_grace_ms, 60000);
	assert_int_equal(c.kill_grace_ms, 2000);
	assert_int_equal(c.http_threads, 2);
}

static void ini_errors_name_the_line_and_key(void **state)
{
	struct config c;
	struct error_info e;

	(void)state;
	assert_int_equal(parse(&c, "[server]\nworkers = many\n", &e), CLOVER_EINVAL);
	assert_string_equal(e.field, "workers");
	assert_non_null(strstr(e.message, "test.ini:2"));
	assert_non_null(strstr(e.message, "'many'"));
	assert_int_equal(parse(&c, "[server]\nbogus = 1\n", &e), CLOVER_EINVAL);
	assert_non_null(strstr(e.message, "unknown setting 'bogus'"));
	assert_int_equal(parse(&c, "workers = 1\n", &e), CLOVER_EPARSE);
	assert_non_null(strstr(e.message, "outside a section"));
	assert_int_equal(parse(&c, "[client]\n", &e), CLOVER_EPARSE);
	assert_int_equal(parse(&c, "[server]\njust words\n", &e), CLOVER_EPARSE);
	assert_int_equal(parse(&c, "[server]\nretention = soon\n", &e), CLOVER_EINVAL);
	assert_non_null(strstr(e.message, "retention"));
	assert_int_equal(parse(&c, "[server]\ndata = \"/x\n", &e), CLOVER_EPARSE);
}

static void quoted_values_and_size_cap(void **state)
{
	struct config c;
	struct error_info e;
	char *big = malloc(CONFIG_FILE_MAX + 2);

	(void)state;
	assert_int_equal(parse(&c, "[server]\ndata = \"/path with spaces\"\n", &e), 0);
	assert_string_equal(c.data, "/path with spaces");
	memset(big, '#', CONFIG_FILE_MAX + 1);
	big[CONFIG_FILE_MAX + 1] = '\0';
	config_defaults(&c);
	assert_int_equal(config_parse_ini(&c, big, CONFIG_FILE_MAX + 1, "big.ini", &e),
			 CLOVER_ETOOBIG);
	free(big);
}

static void environment_overrides_file(void **state)
{
	struct config c;
	struct error_info e;

	(void)state;
	assert_int_equal(parse(&c, "[server]\nworkers = 8\nlisten = 127.0.0.1:1\n", &e), 0);
	setenv("CLOVER_WORKERS", "16", 1);
	assert_int_equal(config_load_env(&c, &e), 0);
	assert_int_equal(c.workers, 16);
	assert_string_equal(c.listen, "127.0.0.1:1");
	setenv("CLOVER_WORKERS", "0", 1);
	assert_int_equal(config_load_env(&c, &e), CLOVER_EINVAL);
	assert_non_null(strstr(e.message, "CLOVER_WORKERS"));
	unsetenv("CLOVER_WORKERS");
}

static void remote_executor_keys(void **state)
{
	struct config c;
	struct error_info e;

	(void)state;
	config_defaults(&c);
	assert_string_equal(c.rpc_listen, ""); /* off by default */
	assert_int_equal(c.executor_timeout_ms, 3000);
	assert_int_equal(parse(&c,
			       "[server]\nrpc_listen = 127.0.0.1:7070\nserver_key = /k/sched\n"
			       "executor_keys = /k/executors.keys\nexecutor_timeout = 5s\n",
			       &e),
			 0);
	assert_string_equal(c.rpc_listen, "127.0.0.1:7070");
	assert_string_equal(c.server_key, "/k/sched");
	assert_string_equal(c.executor_keys, "/k/executors.keys");
	assert_int_equal(c.executor_timeout_ms, 5000);
	assert_int_equal(parse(&c, "[server]\nexecutor_timeout = 11m\n", &e), CLOVER_EINVAL);
	assert_string_equal(e.field, "executor_timeout");
	assert_int_equal(parse(&c, "[server]\nexecutor_timeout = 10ms\n", &e), CLOVER_EINVAL);
	setenv("CLOVER_RPC_LISTEN", "0.0.0.0:7071", 1);
	assert_int_equal(config_load_env(&c, &e), 0);
	assert_string_equal(c.rpc_listen, "0.0.0.0:7071");
	unsetenv("CLOVER_RPC_LISTEN");
}

static void alert_keys_default_to_the_notifiers_and_are_checked(void **state)
{
	struct notify_options o;
	struct config c;
	struct error_info e;

	(void)state;
	notify_options_init(&o);
	config_defaults(&c);
	assert_string_equal(c.smtp_url, "");
	assert_int_equal(c.smtp_starttls, (int)o.smtp_starttls);
	assert_int_equal(c.smtp_retries, o.smtp_retries);
	assert_int_equal(c.webhook_retries, o.webhook_retries);
	assert_int_equal(c.alert_group_window_ms, o.group_window_ms);
	assert_int_equal(c.alert_rate_limit, o.rate_limit);
	assert_int_equal(c.alert_rate_period_ms, o.rate_period_ms);
	assert_int_equal(c.alert_items_max, (int)o.items_max);
	assert_int_equal(c.alert_flush_timeout_ms, o.flush_timeout_ms);
	assert_int_equal(c.alert_queue_max, (int)o.queue_max);

	assert_int_equal(parse(&c,
			       "[server]\nsmtp_url = smtp://mail.example.com:587\n"
			       "smtp_from = Clover <clover@example.com>\nsmtp_user = u\n"
			       "smtp_password = p\nsmtp_starttls = require\nsmtp_timeout = 5s\n"
			       "smtp_retries = 0\nalert_ca_file = /etc/ca.pem\n"
			       "webhook_timeout = 2s\nwebhook_retries = 5\n"
			       "alert_retry_backoff = 250ms\nalert_retry_backoff_max = 1m\n"
			       "alert_group_window = 0\nalert_rate_limit = 3\n"
			       "alert_rate_period = 1h\nalert_items_max = 7\n"
			       "alert_flush_timeout = 1s\nalert_groups_max = 9\nalert_queue_max = 11\n",
			       &e),
			 0);
	assert_string_equal(c.smtp_url, "smtp://mail.example.com:587");
	assert_string_equal(c.smtp_from, "Clover <clover@example.com>");
	assert_string_equal(c.smtp_user, "u");
	assert_string_equal(c.smtp_password, "p");
	assert_int_equal(c.smtp_starttls, NOTIFY_STARTTLS_REQUIRE);
	assert_int_equal(c.smtp_timeout_ms, 5000);
	assert_int_equal(c.smtp_retries, 0);
	assert_string_equal(c.alert_ca_file, "/etc/ca.pem");
	assert_int_equal(c.webhook_timeout_ms, 2000);
	assert_int_equal(c.webhook_retries, 5);
	assert_int_equal(c.alert_retry_backoff_ms, 250);
	assert_int_equal(c.alert_retry_backoff_max_ms, 60000);
	assert_int_equal(c.alert_group_window_ms, 0);
	assert_int_equal(c.alert_rate_limit, 3);
	assert_int_equal(c.alert_rate_period_ms, 3600000);
	assert_int_equal(c.alert_items_max, 7);
	assert_int_equal(c.alert_flush_timeout_ms, 1000);
	assert_int_equal(c.alert_groups_max, 9);
	assert_int_equal(c.alert_queue_max, 11);

	assert_int_not_equal(parse(&c, "[server]\nsmtp_starttls = maybe\n", &e), 0);
	assert_string_equal(e.field, "smtp_starttls");
	assert_int_not_equal(parse(&c, "[server]\nalert_items_max = 0\n", &e), 0);
	assert_string_equal(e.field, "alert_items_max");
	assert_int_not_equal(parse(&c, "[server]\nalert_group_window = 2d\n", &e), 0);
	assert_string_equal(e.field, "alert_group_window");
	assert_int_not_equal(parse(&c, "[server]\nwebhook_retries = -1\n", &e), 0);
	assert_string_equal(e.field, "webhook_retries");
	setenv("CLOVER_SMTP_URL", "smtps://relay:465", 1);
	config_defaults(&c);
	assert_int_equal(config_load_env(&c, &e), 0);
	unsetenv("CLOVER_SMTP_URL");
	assert_string_equal(c.smtp_url, "smtps://relay:465");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ini_sets_every_key),
		cmocka_unit_test(ini_errors_name_the_line_and_key),
		cmocka_unit_test(quoted_values_and_size_cap),
		cmocka_unit_test(environment_overrides_file),
		cmocka_unit_test(remote_executor_keys),
		cmocka_unit_test(alert_keys_default_to_the_notifiers_and_are_checked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
