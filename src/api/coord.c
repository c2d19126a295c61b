/* SPDX-License-Identifier: MIT */
/*
 * /coord: browse and edit the coordination tree (docs/coordination.md), the
 * console's "ZK page". Viewers read; admins set a node's data or delete a
 * node, each change recorded as an event (source "coord") and logged.
 *
 * An ephemeral node belongs to a live session (a connected executor, this
 * scheduler): it disappears by itself when the session ends and is rewritten
 * while it lives, so editing or deleting it by hand is refused (409) -- drain
 * or disable the executor instead. Persistent nodes may be edited and
 * deleted; the scheduler re-publishes those it owns (jobs/notice,
 * assignment) on their next change.
 */
#include "api/internal.h"
#include "base/log.h"
#include "coord/coord.h"

#include <string.h>

/* The tree, or NULL after replying 501. */
static struct coord *tree(struct api_req *rq, struct api_resp *rs)
{
	if (rq->api->coord == NULL)
		api_reply_error(rs, 501, "internal", NULL, "this server has no coordination tree");
	return rq->api->coord;
}

/* The `path` parameter ("/" when absent), or NULL after replying 400. */
static const char *path_param(struct api_req *rq, struct api_resp *rs)
{
	const char *p = api_query(rq, "path");
	struct error_info e;

	if (p == NULL || *p == '\0')
		return "/";
	if (!coord_path_valid(p, "path", &e)) {
		api_reply_error(rs, 400, "bad_request", "path", "%s", e.message);
		return NULL;
	}
	return p;
}

static json_t *node_json(const char *path, const struct coord_node *nd)
{
	json_t *kids = json_array(), *doc;

	for (size_t i = 0; kids && i < nd->nchildren; i++) {
		if (json_array_append_new(kids, json_string(nd->children[i]))) {
			json_decref(kids);
			return NULL;
		}
	}
	if (kids == NULL)
		return NULL;
	doc = json_pack("{s:s, s:o, s:I, s:o, s:I, s:I, s:I, s:o, s:o, s:b, s:o}", "path", path,
	                "data", api_str_json(nd->data), "data_length", (json_int_t)nd->st.data_len,
	                "children", kids, "children_total", (json_int_t)nd->st.nchildren, "version",
	                (json_int_t)nd->st.version, "children_version", (json_int_t)nd->st.cversion,
	                "created_at", api_time_json(nd->st.created_at), "modified_at",
	                api_time_json(nd->st.modified_at), "ephemeral", nd->st.ephemeral, "owner",
	                nd->st.ephemeral ? json_string(nd->st.owner) : json_null());
	return doc;
}

void api_coord_get(struct api_req *rq, struct api_resp *rs)
{
	struct coord *c = tree(rq, rs);
	const char *path;
	struct coord_node nd;
	struct error_info e;
	int rc;

	if (c == NULL || (path = path_param(rq, rs)) == NULL)
		return;
	if ((rc = coord_get(c, path, &nd, &e))) {
		api_reply_rc(rs, rc, &e);
		return;
	}
	api_reply_json(rs, 200, node_json(path, &nd));
	coord_node_clear(&nd);
}

/* Replies 409 and returns true when `path` is an ephemeral node (see the header). */
static bool ephemeral(struct coord *c, const char *path, struct api_resp *rs)
{
	struct coord_node nd;
	bool eph = false;

	if (coord_get(c, path, &nd, NULL) == 0) {
		eph = nd.st.ephemeral;
		if (eph)
			api_reply_error(rs, 409, "conflict", "path",
			                "%s is an ephemeral node of the live session %s; it goes "
			                "when the session ends (drain or disable the executor)",
			                path, nd.st.owner);
		coord_node_clear(&nd);
	}
	return eph;
}

void api_coord_put(struct api_req *rq, struct api_resp *rs)
{
	struct coord *c = tree(rq, rs);
	const char *path, *data = NULL;
	json_t *body, *jd, *jv, *jc, *val;
	const char *key;
	int64_t version = COORD_ANY_VERSION, after = 0;
	bool create = false;
	struct error_info e;
	size_t len = 0;
	int rc;

	if (c == NULL || (path = path_param(rq, rs)) == NULL)
		return;
	if ((body = api_body_object(rq, rs, NULL)) == NULL)
		return;
	jd = json_object_get(body, "data");
	jv = json_object_get(body, "version");
	jc = json_object_get(body, "create");
	json_object_foreach(body, key, val)
	{
		if (strcmp(key, "data") && strcmp(key, "version") && strcmp(key, "create")) {
			api_reply_error(rs, 400, "bad_request", key, "unknown member '%s'", key);
			goto out;
		}
	}
	if (jd && !json_is_string(jd) && !json_is_null(jd)) {
		api_reply_error(rs, 422, "invalid", "data", "data is a string (or null: none)");
		goto out;
	}
	if (jv == NULL || !json_is_integer(jv) || json_integer_value(jv) < COORD_ANY_VERSION) {
		api_reply_error(rs, 422, "invalid", "version",
		                "version is the node's current version (an integer), or -1 to "
		                "overwrite whatever it is");
		goto out;
	}
	if (jc && !json_is_boolean(jc)) {
		api_reply_error(rs, 422, "invalid", "create", "create is true or false");
		goto out;
	}
	version = json_integer_value(jv);
	create = jc && json_is_true(jc);
	if (jd && json_is_string(jd)) {
		data = json_string_value(jd);
		len = json_string_length(jd);
	}
	if (ephemeral(c, path, rs))
		goto out;
	rc = coord_set(c, path, data, len, version, &after, &e);
	if (rc == CLOVER_ENOENT && create) {
		rc = coord_create(c, path, data, len, COORD_PERSISTENT, NULL, true, &e);
		after = 0;
	}
	if (rc) {
		api_reply_rc(rs, rc, &e);
		goto out;
	}
	log_at(LOG_INFO, "coord", "user=%s set %s (%zu bytes, version %lld)", rq->who.user, path,
	       len, (long long)after);
	api_event(rq, STORE_LEVEL_WARN, "coord", NULL,
	          "%s set coordination node %.300s (%zu bytes, now version %lld)", rq->who.user,
	          path, len, (long long)after);
	api_coord_get(rq, rs);
out:
	json_decref(body);
}

void api_coord_delete(struct api_req *rq, struct api_resp *rs)
{
	struct coord *c = tree(rq, rs);
	const char *path;
	int64_t version;
	struct error_info e;
	int rc;

	if (c == NULL || (path = path_param(rq, rs)) == NULL)
		return;
	if (!api_query_int(rq, rs, "version", COORD_ANY_VERSION, INT64_MAX, COORD_ANY_VERSION,
	                   &version))
		return;
	if (api_query(rq, "path") == NULL) {
		api_reply_error(rs, 400, "bad_request", "path", "say which node: ?path=/...");
		return;
	}
	if (ephemeral(c, path, rs))
		return;
	if ((rc = coord_delete(c, path, version, &e))) {
		api_reply_rc(rs, rc, &e);
		return;
	}
	log_at(LOG_INFO, "coord", "user=%s deleted %s", rq->who.user, path);
	api_event(rq, STORE_LEVEL_WARN, "coord", NULL, "%s deleted coordination node %.300s",
	          rq->who.user, path);
	api_reply_empty(rs, 204);
}
