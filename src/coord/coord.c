/* SPDX-License-Identifier: MIT */
/*
 * The coordination front: checks paths, owners and data against the caps of
 * coord.h, then dispatches to the backend (local.c now, zookeeper.c later)
 * through `struct coord_ops`. Messages name the field and the rule broken, so
 * the API can show them to an operator as they are.
 */
#include "coord/backend.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void coord_node_clear(struct coord_node *n)
{
	if (n == NULL)
		return;
	free(n->data);
	for (size_t i = 0; i < n->nchildren; i++)
		free(n->children[i]);
	free(n->children);
	memset(n, 0, sizeof(*n));
}

int coord_open_local(struct coord **out)
{
	struct coord *c = calloc(1, sizeof(*c));
	int rc;

	*out = NULL;
	if (c == NULL)
		return CLOVER_ENOMEM;
	c->ops = &coord_local_ops;
	if ((rc = coord_local_open(&c->be))) {
		free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void coord_close(struct coord *c)
{
	if (c == NULL)
		return;
	c->ops->close(c->be);
	free(c);
}

const char *coord_backend(const struct coord *c)
{
	return c->ops->name;
}

static bool name_char(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '.' || ch == '_' || ch == '-' || ch == ':' || ch == '@';
}

bool coord_path_valid(const char *path, const char *field, struct error_info *e)
{
	size_t len, depth = 0;
	const char *p;

	if (path == NULL || path[0] != '/') {
		error_set(e, CLOVER_EINVAL, field, "a path starts with '/' (e.g. /clover/leader)");
		return false;
	}
	len = strlen(path);
	if (len >= COORD_PATH_MAX) {
		error_set(e, CLOVER_EINVAL, field, "the path is longer than %d bytes",
		          COORD_PATH_MAX - 1);
		return false;
	}
	if (len == 1)
		return true;
	for (p = path + 1;;) {
		const char *end = strchr(p, '/');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n == 0) {
			error_set(e, CLOVER_EINVAL, field,
			          "the path has an empty name (a '//' or a trailing '/')");
			return false;
		}
		if (n > COORD_NAME_MAX) {
			error_set(e, CLOVER_EINVAL, field, "a name is longer than %d bytes",
			          COORD_NAME_MAX);
			return false;
		}
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
			error_set(e, CLOVER_EINVAL, field, "'.' and '..' are not names");
			return false;
		}
		for (size_t i = 0; i < n; i++) {
			if (!name_char((unsigned char)p[i])) {
				error_set(e, CLOVER_EINVAL, field,
				          "names may hold only letters, digits and . _ - : @");
				return false;
			}
		}
		if (++depth > COORD_DEPTH_MAX) {
			error_set(e, CLOVER_EINVAL, field, "the path is deeper than %d names",
			          COORD_DEPTH_MAX);
			return false;
		}
		if (end == NULL)
			return true;
		p = end + 1;
	}
}

/* True when the `n` bytes at `s` are UTF-8 (no overlongs, surrogates, NULs). */
static bool utf8_text(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t k;
		uint32_t cp;

		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			k = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			k = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 3, cp = c & 0x07;
		else
			return false;
		if (n - i <= k) /* the sequence is cut short */
			return false;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		if ((k == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (k == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		i += k + 1;
	}
	return true;
}

static int check_data(const char *data, size_t len, struct error_info *e)
{
	if (len > COORD_DATA_MAX)
		return error_set(e, CLOVER_ETOOBIG, "data", "node data is limited to %d bytes",
		                 COORD_DATA_MAX);
	if (len && data == NULL)
		return error_set(e, CLOVER_EINVAL, "data", "data is missing");
	if (len && !utf8_text((const unsigned char *)data, len))
		return error_set(e, CLOVER_EINVAL, "data",
		                 "node data must be UTF-8 text without NUL bytes");
	return 0;
}

static int check_owner(enum coord_mode mode, const char *owner, struct error_info *e)
{
	size_t n;

	if (mode != COORD_EPHEMERAL)
		return 0;
	n = owner ? strlen(owner) : 0;
	if (n == 0 || n >= COORD_OWNER_MAX)
		return error_set(e, CLOVER_EINVAL, "owner",
		                 "an ephemeral node needs an owner of 1-%d bytes",
		                 COORD_OWNER_MAX - 1);
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)owner[i] <= ' ' || (unsigned char)owner[i] >= 0x7f)
			return error_set(e, CLOVER_EINVAL, "owner",
			                 "an owner is printable ASCII without spaces");
	}
	return 0;
}

/* The message of a backend's bare error code, naming `path`. */
static int explain(int rc, const char *path, struct error_info *e)
{
	if (rc == 0 || (e && e->code == rc && e->message[0]))
		return rc;
	switch (rc) {
	case CLOVER_ENOENT:
		return error_set(e, rc, "path", "no node %.400s", path);
	case CLOVER_EEXIST:
		return error_set(e, rc, "path", "node %.400s exists already", path);
	case CLOVER_ECONFLICT:
		return error_set(e, rc, "version",
		                 "node %.400s has another version (changed meanwhile?)", path);
	case CLOVER_ESTATE:
		return error_set(e, rc, "path", "node %.400s has children; delete them first",
		                 path);
	case CLOVER_ETOOBIG:
		return error_set(e, rc, "path", "the tree is limited to %d nodes", COORD_NODES_MAX);
	default:
		return error_set(e, rc, NULL, "%s", clover_strerror(rc));
	}
}

static int create(struct coord *c, const char *path, const char *data, size_t len,
                  enum coord_mode mode, const char *owner, bool parents, bool put,
                  struct error_info *e)
{
	int rc;

	error_clear(e);
	if (!coord_path_valid(path, "path", e))
		return CLOVER_EINVAL;
	if (strcmp(path, "/") == 0)
		return put ? coord_set(c, path, data, len, COORD_ANY_VERSION, NULL, e)
		           : error_set(e, CLOVER_EEXIST, "path", "the root node always exists");
	if ((rc = check_data(data, len, e)) || (rc = check_owner(mode, owner, e)))
		return rc;
	rc = c->ops->create(c->be, path, data, len, mode, mode == COORD_EPHEMERAL ? owner : NULL,
	                    parents, put, e);
	return explain(rc, path, e);
}

int coord_create(struct coord *c, const char *path, const char *data, size_t len,
                 enum coord_mode mode, const char *owner, bool parents, struct error_info *e)
{
	return create(c, path, data, len, mode, owner, parents, false, e);
}

int coord_put(struct coord *c, const char *path, const char *data, size_t len, enum coord_mode mode,
              const char *owner, struct error_info *e)
{
	return create(c, path, data, len, mode, owner, true, true, e);
}

int coord_get(struct coord *c, const char *path, struct coord_node *out, struct error_info *e)
{
	memset(out, 0, sizeof(*out));
	error_clear(e);
	if (!coord_path_valid(path, "path", e))
		return CLOVER_EINVAL;
	return explain(c->ops->get(c->be, path, out), path, e);
}

int coord_set(struct coord *c, const char *path, const char *data, size_t len, int64_t version,
              int64_t *new_version, struct error_info *e)
{
	int rc;

	error_clear(e);
	if (!coord_path_valid(path, "path", e))
		return CLOVER_EINVAL;
	if (version < COORD_ANY_VERSION)
		return error_set(e, CLOVER_EINVAL, "version", "a version is >= 0 (or -1: any)");
	if ((rc = check_data(data, len, e)))
		return rc;
	return explain(c->ops->set(c->be, path, data, len, version, new_version), path, e);
}

int coord_delete(struct coord *c, const char *path, int64_t version, struct error_info *e)
{
	error_clear(e);
	if (!coord_path_valid(path, "path", e))
		return CLOVER_EINVAL;
	if (strcmp(path, "/") == 0)
		return error_set(e, CLOVER_EINVAL, "path", "the root node cannot be deleted");
	if (version < COORD_ANY_VERSION)
		return error_set(e, CLOVER_EINVAL, "version", "a version is >= 0 (or -1: any)");
	return explain(c->ops->remove(c->be, path, version), path, e);
}

int coord_expire(struct coord *c, const char *owner)
{
	if (owner == NULL || owner[0] == '\0')
		return 0;
	return c->ops->expire(c->be, owner);
}
