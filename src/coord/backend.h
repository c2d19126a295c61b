/* SPDX-License-Identifier: MIT */
/*
 * The interface between the coordination front (coord.c) and a backend
 * (local.c now, zookeeper.c later). Not a public header: only src/coord/
 * includes it.
 *
 * The front validates paths, names, owners and data sizes and fills the
 * error_info; a backend receives only valid arguments (a path already checked,
 * data at most COORD_DATA_MAX bytes) and returns a CLOVER_E* code, filling
 * `e` only for what it alone knows (which ancestor is missing). Every function
 * may be called from any thread; the backend serialises.
 */
#ifndef CLOVER_COORD_BACKEND_H
#define CLOVER_COORD_BACKEND_H

#include "coord/coord.h"

struct coord_ops {
	const char *name;
	void (*close)(void *be);
	/* `put`: replace the data when the node exists (any version) instead of EEXIST. */
	int (*create)(void *be, const char *path, const char *data, size_t len,
	              enum coord_mode mode, const char *owner, bool parents, bool put,
	              struct error_info *e);
	int (*get)(void *be, const char *path, struct coord_node *out);
	int (*set)(void *be, const char *path, const char *data, size_t len, int64_t version,
	           int64_t *new_version);
	int (*remove)(void *be, const char *path, int64_t version);
	int (*expire)(void *be, const char *owner);
};

struct coord {
	const struct coord_ops *ops;
	void *be;
};

extern const struct coord_ops coord_local_ops;

/* Opens the in-process backend's state into *be. CLOVER_ENOMEM. */
int coord_local_open(void **be);

#endif
