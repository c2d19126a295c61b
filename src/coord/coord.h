/* SPDX-License-Identifier: MIT */
/*
 * The coordination tree: a small ZooKeeper-like namespace of nodes, each with
 * data, children and a stat, where a cluster publishes its membership and
 * configuration (docs/coordination.md). One interface, one backend per file:
 * the in-process tree (local.c, standalone mode) now, ZooKeeper later; coord.c
 * checks arguments and dispatches through `struct coord_ops` (backend.h).
 *
 * Terms: a *path* is "/" followed by names joined by "/" ("/clover/leader");
 * a *name* is 1-COORD_NAME_MAX bytes of [A-Za-z0-9._:@-], not "." or "..".
 * A node's *version* counts the changes of its data (0 at creation, like
 * ZooKeeper's dataVersion); a write or delete may require it (`version` >= 0)
 * or take any (COORD_ANY_VERSION). An *ephemeral* node belongs to an *owner*
 * (a session: "executor:<id>", "scheduler:<id>"), has no children, and
 * disappears when its owner's session ends (coord_expire()). Data is UTF-8
 * text, JSON by convention, at most COORD_DATA_MAX bytes.
 *
 * Threads: every function is thread-safe. Returned nodes belong to the caller
 * (coord_node_clear()). Errors are negative CLOVER_E* codes, with `e` (may be
 * NULL) saying why and naming the field: CLOVER_EINVAL (a bad path, name or
 * data), CLOVER_ETOOBIG (past a cap), CLOVER_ENOENT (no such node or parent),
 * CLOVER_EEXIST (the node exists), CLOVER_ECONFLICT (the version differs),
 * CLOVER_ESTATE (a delete of a node with children; a child under an ephemeral
 * node), CLOVER_ENOMEM.
 */
#ifndef CLOVER_COORD_COORD_H
#define CLOVER_COORD_COORD_H

#include "base/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct coord;

#define COORD_PATH_MAX     512         /* bytes of a path */
#define COORD_DEPTH_MAX    16          /* names in a path */
#define COORD_NAME_MAX     128         /* bytes of one name */
#define COORD_DATA_MAX     (64 * 1024) /* bytes of a node's data */
#define COORD_OWNER_MAX    160         /* bytes of an owner */
#define COORD_CHILDREN_MAX 10000       /* names one coord_get() returns */
#define COORD_NODES_MAX    100000      /* nodes in the in-process tree */
#define COORD_ANY_VERSION  (-1)

enum coord_mode { COORD_PERSISTENT, COORD_EPHEMERAL };

struct coord_stat {
	int64_t version;    /* data changes since creation */
	int64_t cversion;   /* child creations and deletions since creation */
	int64_t created_at; /* wall ms */
	int64_t modified_at;
	bool ephemeral;
	char owner[COORD_OWNER_MAX]; /* "" unless ephemeral */
	size_t data_len;             /* bytes of data */
	size_t nchildren;            /* all children, even past COORD_CHILDREN_MAX */
};

struct coord_node {
	char *data;      /* NUL-terminated copy, or NULL when the node has no data */
	char **children; /* names in byte order, at most COORD_CHILDREN_MAX */
	size_t nchildren;
	struct coord_stat st;
};

/* Frees what the node owns and zeroes it. NULL is a no-op. */
void coord_node_clear(struct coord_node *n);

/*
 * Opens the in-process tree (only "/" exists). *out owns it; free with
 * coord_close(). CLOVER_ENOMEM.
 */
int coord_open_local(struct coord **out);
/* Frees the tree. NULL is a no-op. Not concurrent with other calls. */
void coord_close(struct coord *c);
/* The backend's name: "local" (or "zookeeper"). */
const char *coord_backend(const struct coord *c);

/*
 * True when `path` is a valid absolute path (see the terms above); otherwise
 * fills `e` (field `field`, may be NULL) with what is wrong.
 */
bool coord_path_valid(const char *path, const char *field, struct error_info *e);

/*
 * Creates `path` with `data` (`len` bytes, may be NULL/0). With `parents`,
 * missing ancestors are created as persistent nodes without data (mkdir -p);
 * otherwise the parent must exist (CLOVER_ENOENT). An ephemeral node needs an
 * `owner` (persistent ones ignore it). CLOVER_EEXIST when the node exists.
 */
int coord_create(struct coord *c, const char *path, const char *data, size_t len,
                 enum coord_mode mode, const char *owner, bool parents, struct error_info *e);

/*
 * Creates or replaces: when `path` exists its data is set (any version; an
 * existing node keeps its mode and owner), else it is created as by
 * coord_create() with `parents`. The daemon uses it to publish.
 */
int coord_put(struct coord *c, const char *path, const char *data, size_t len, enum coord_mode mode,
              const char *owner, struct error_info *e);

/* Fills *out with the node's data, children and stat (clear it with coord_node_clear). */
int coord_get(struct coord *c, const char *path, struct coord_node *out, struct error_info *e);

/*
 * Sets the data of `path` when its version is `version` (or any, with
 * COORD_ANY_VERSION); *new_version (may be NULL) gets the version after.
 */
int coord_set(struct coord *c, const char *path, const char *data, size_t len, int64_t version,
              int64_t *new_version, struct error_info *e);

/*
 * Deletes `path` when its version is `version` (or any). A node with
 * children is not deleted (CLOVER_ESTATE); "/" cannot be deleted (EINVAL).
 */
int coord_delete(struct coord *c, const char *path, int64_t version, struct error_info *e);

/*
 * Ends the session of `owner`: deletes every ephemeral node it owns. Returns
 * how many were deleted (>= 0).
 */
int coord_expire(struct coord *c, const char *owner);

#endif
