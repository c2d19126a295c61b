/* SPDX-License-Identifier: MIT */
/*
 * Test harness of the API tests: a real store in a temporary directory, the
 * API on 127.0.0.1 with an ephemeral port, three users (admin, operator,
 * viewer) with tokens, recording hooks, and a small libcurl client.
 */
#ifndef CLOVER_TEST_API_HARNESS_H
#define CLOVER_TEST_API_HARNESS_H

#include "api/api.h"
#include "api/auth.h"
#include "store/store.h"

#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct harness {
	char dir[PATH_MAX];
	struct store *store;
	struct api *api;
	char base[64]; /* "http://127.0.0.1:PORT" */
	char admin[AUTH_TOKEN_LEN + 1], oper[AUTH_TOKEN_LEN + 1], viewer[AUTH_TOKEN_LEN + 1];

	/* What the hooks saw. */
	pthread_mutex_t mu;
	int changed_calls;
	char changed_name[160];
	bool changed_null; /* the last job_changed had spec == NULL */
	bool changed_paused;
	char changed_schedule[160];
	int trigger_calls;
	char trigger_job[160];
	char trigger_params[256];
	bool trigger_params_null;
	int64_t next_run_id;   /* trigger hands out next_run_id++ */
	int64_t kill_finished; /* kill answers CLOVER_ESTATE for this run */
	int64_t killed;        /* the last run killed */
	int control_calls;
	char control_id[160], control_op[16]; /* the last executor_control */
};

struct resp {
	long status;
	char *body;
	size_t len;
	json_t *json; /* parsed body when JSON, else NULL */
	char next_offset[32];
	char run_state[32];
	char etag[32];
	char www_auth[64];
	char content_type[64];
	char set_cookie[256];
};

/* cmocka group setup/teardown: *state becomes a struct harness. */
int harness_setup(void **state);
int harness_teardown(void **state);

/*
 * Makes one HTTP request to path (under base, e.g. "/api/v1/jobs"); `token`
 * and `body` may be NULL; `header` is extra header lines (separated by
 * '\n') or NULL.
 * Fills *r (free with resp_free) and returns the status, or 0 when no answer
 * came (connection refused or dropped).
 */
long req(struct harness *h, const char *method, const char *path, const char *token,
         const char *body, const char *header, struct resp *r);
/* Sends `len` bytes of 'x' with chunked transfer encoding (no Content-Length). */
long req_chunked(struct harness *h, const char *path, const char *token, size_t len,
                 struct resp *r);
void resp_free(struct resp *r);

/* Creates a user with the MIN Argon2 cost and a token for it (written to `token`). */
void make_user(struct harness *h, const char *name, enum store_role role, char *token);

/* The error code / field of an error body ("" when absent). */
const char *err_code(const struct resp *r);
const char *err_field(const struct resp *r);

#endif
