/* SPDX-License-Identifier: MIT */
/*
 * /api/v1/cron/preview: parses a schedule in a time zone and answers its kind,
 * a plain-language description and its next fire instants, so people can
 * check an expression before putting it in a job.
 */
#include "api/internal.h"
#include "base/time.h"
#include "cron/cron.h"
#include "cron/tz.h"

#include <string.h>

#define PREVIEW_N_MAX 50

static const char *kind_name(enum cron_kind k)
{
	switch (k) {
	case CRON_KIND_CRON:
		return "cron";
	case CRON_KIND_EVERY:
		return "every";
	case CRON_KIND_AT:
		return "at";
	case CRON_KIND_MANUAL:
		return "manual";
	}
	return "cron";
}

/* GET /cron/preview?expr=&tz=&n=: the schedule's kind, description and next n
 * fires (RFC 3339, no milliseconds); 422 with field "expr" or "tz" when either
 * is wrong, 400 for a bad n. */
void api_cron_preview(struct api_req *rq, struct api_resp *rs)
{
	const char *expr = api_query(rq, "expr"), *zone = api_query(rq, "tz");
	char desc[CRON_DESCRIBE_MAX], when[40];
	struct cron_expr *c = NULL;
	const struct tz *z = NULL;
	struct error_info e;
	json_t *next;
	int64_t n, t;
	int rc;

	if (!api_query_int(rq, rs, "n", 1, PREVIEW_N_MAX, 5, &n))
		return;
	if (expr == NULL || *expr == '\0') {
		api_reply_error(rs, 422, "invalid", "expr", "expr (the schedule) is required");
		return;
	}
	if (zone == NULL || *zone == '\0')
		zone = "UTC";
	error_clear(&e);
	rc = cron_parse(expr, &c, &e);
	if (rc == CLOVER_ENOMEM) {
		api_reply_rc(rs, rc, NULL);
		return;
	}
	if (rc) {
		api_reply_error(rs, 422, "invalid", "expr", "%s",
		                e.message[0] ? e.message : "invalid schedule");
		return;
	}
	error_clear(&e);
	rc = tz_get(zone, &z, &e);
	if (rc == CLOVER_ENOMEM || rc == CLOVER_EIO) {
		cron_free(c);
		api_reply_rc(rs, rc, NULL);
		return;
	}
	if (rc) {
		cron_free(c);
		api_reply_error(rs, 422, "invalid", "tz", "%s",
		                e.message[0] ? e.message : "unknown time zone");
		return;
	}
	cron_describe(c, z, desc, sizeof(desc));
	next = json_array();
	t = rq->now;
	for (int64_t i = 0; next && i < n; i++) {
		if (cron_next(c, z, t, &t) != 0)
			break;
		if (json_array_append_new(next, json_string(time_format_rfc3339(
		                                    t, when, sizeof(when), false))) != 0) {
			json_decref(next);
			next = NULL;
		}
	}
	api_reply_json(rs, 200,
	               next ? json_pack("{s:s, s:s, s:s, s:o, s:o}", "expr", expr, "timezone",
	                                tz_name(z), "kind", kind_name(cron_kind(c)), "description",
	                                api_str_json(desc), "next", next)
	                    : NULL);
	cron_free(c);
}
