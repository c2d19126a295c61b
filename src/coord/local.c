/* SPDX-License-Identifier: MIT */
/*
 * The in-process coordination backend (standalone mode): the whole tree in
 * memory behind one mutex. Nothing is persisted; a restarted server publishes
 * its tree again, as a cluster re-creates its ephemeral nodes in a new
 * ZooKeeper session.
 *
 * Each node keeps its children in a string hash map keyed by the child's name
 * (stored in the child itself); listings are sorted when they are read. An
 * owner's session ends with coord_expire(), which walks the tree: owners end
 * rarely (an executor leaves) and the tree holds membership, not jobs.
 */
#include "coord/backend.h"

#include "base/hash.h"
#include "base/time.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct node {
	struct node *parent;
	struct hmap kids; /* name -> struct node * */
	char *data;       /* NULL: none */
	size_t len;
	int64_t version, cversion, created_at, modified_at;
	char *owner; /* ephemeral nodes only */
	char name[];
};

struct local {
	pthread_mutex_t mu;
	struct node *root;
	size_t nnodes;
};

static struct node *node_new(const char *name, size_t n, int64_t now)
{
	struct node *x = calloc(1, sizeof(*x) + n + 1);

	if (x == NULL)
		return NULL;
	memcpy(x->name, name, n);
	hmap_init(&x->kids);
	x->created_at = x->modified_at = now;
	return x;
}

static void node_free(struct node *x)
{
	const char *k;
	void *v;

	if (x == NULL)
		return;
	for (size_t i = 0; hmap_next(&x->kids, &i, &k, &v);)
		node_free(v);
	hmap_free(&x->kids);
	free(x->data);
	free(x->owner);
	free(x);
}

int coord_local_open(void **be)
{
	struct local *l = calloc(1, sizeof(*l));

	*be = NULL;
	if (l == NULL)
		return CLOVER_ENOMEM;
	if ((l->root = node_new("", 0, time_wall_ms())) == NULL ||
	    pthread_mutex_init(&l->mu, NULL) != 0) {
		free(l->root);
		free(l);
		return CLOVER_ENOMEM;
	}
	l->nnodes = 1;
	*be = l;
	return 0;
}

static void local_close(void *be)
{
	struct local *l = be;

	node_free(l->root);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

/*
 * The node at `path` (valid, checked by the front), or NULL. With `parent`,
 * stops one name short: returns the parent and points *last at the last name.
 */
static struct node *walk(struct local *l, const char *path, bool parent, const char **last)
{
	struct node *x = l->root;
	char name[COORD_NAME_MAX + 1];
	const char *p = path + 1;

	if (path[1] == '\0')
		return parent ? NULL : x;
	for (;;) {
		const char *end = strchr(p, '/');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (end == NULL && parent) {
			*last = p;
			return x;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		if ((x = hmap_get(&x->kids, name)) == NULL)
			return NULL;
		if (end == NULL)
			return x;
		p = end + 1;
	}
}

static int set_data(struct node *x, const char *data, size_t len)
{
	char *copy = NULL;

	if (len) {
		if ((copy = malloc(len + 1)) == NULL)
			return CLOVER_ENOMEM;
		memcpy(copy, data, len);
		copy[len] = '\0';
	}
	free(x->data);
	x->data = copy;
	x->len = len;
	return 0;
}

/* Adds child `name` (n bytes) under `x`; *out gets it. */
static int add_child(struct local *l, struct node *x, const char *name, size_t n, int64_t now,
                     struct node **out)
{
	struct node *k;

	if (l->nnodes >= COORD_NODES_MAX)
		return CLOVER_ETOOBIG;
	if (x->owner)
		return CLOVER_ESTATE;
	if ((k = node_new(name, n, now)) == NULL)
		return CLOVER_ENOMEM;
	if (hmap_put(&x->kids, k->name, k)) {
		node_free(k);
		return CLOVER_ENOMEM;
	}
	k->parent = x;
	x->cversion++;
	l->nnodes++;
	*out = k;
	return 0;
}

static int local_create(void *be, const char *path, const char *data, size_t len,
                        enum coord_mode mode, const char *owner, bool parents, bool put,
                        struct error_info *e)
{
	struct local *l = be;
	int64_t now = time_wall_ms();
	struct node *x, *k;
	const char *p = path + 1;
	int rc = 0;

	pthread_mutex_lock(&l->mu);
	x = l->root;
	for (;;) {
		const char *end = strchr(p, '/');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char name[COORD_NAME_MAX + 1];

		memcpy(name, p, n);
		name[n] = '\0';
		k = hmap_get(&x->kids, name);
		if (end == NULL) {
			if (k && !put) {
				rc = CLOVER_EEXIST;
			} else if (k) {
				if ((rc = set_data(k, data, len)) == 0) {
					k->version++;
					k->modified_at = now;
				}
			} else if ((rc = add_child(l, x, name, n, now, &k)) == 0) {
				if ((rc = set_data(k, data, len)) == 0 && mode == COORD_EPHEMERAL &&
				    (k->owner = strdup(owner)) == NULL)
					rc = CLOVER_ENOMEM;
				if (rc) { /* undo the half-made node */
					hmap_del(&x->kids, k->name);
					node_free(k);
					l->nnodes--;
				}
			}
			break;
		}
		if (k == NULL) {
			if (!parents) {
				rc = error_set(e, CLOVER_ENOENT, "path",
				               "the parent %.*s does not exist", (int)(end - path),
				               path);
				break;
			}
			if ((rc = add_child(l, x, name, n, now, &k)))
				break;
		}
		x = k;
		p = end + 1;
	}
	if (rc == CLOVER_ESTATE)
		rc = error_set(e, rc, "path", "ephemeral node %.*s cannot have children",
		               (int)(p - 1 - path), path);
	pthread_mutex_unlock(&l->mu);
	return rc;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int local_get(void *be, const char *path, struct coord_node *out)
{
	struct local *l = be;
	struct node *x;
	const char *k;
	void *v;
	int rc = 0;

	pthread_mutex_lock(&l->mu);
	if ((x = walk(l, path, false, NULL)) == NULL) {
		rc = CLOVER_ENOENT;
		goto out;
	}
	out->st = (struct coord_stat){
	    .version = x->version,
	    .cversion = x->cversion,
	    .created_at = x->created_at,
	    .modified_at = x->modified_at,
	    .ephemeral = x->owner != NULL,
	    .data_len = x->len,
	    .nchildren = x->kids.n,
	};
	if (x->owner)
		snprintf(out->st.owner, sizeof(out->st.owner), "%s", x->owner);
	if (x->data && (out->data = strdup(x->data)) == NULL) {
		rc = CLOVER_ENOMEM;
		goto out;
	}
	if (x->kids.n && (out->children = calloc(x->kids.n, sizeof(char *))) == NULL) {
		rc = CLOVER_ENOMEM;
		goto out;
	}
	for (size_t i = 0; hmap_next(&x->kids, &i, &k, &v);) {
		if ((out->children[out->nchildren] = strdup(k)) == NULL) {
			rc = CLOVER_ENOMEM;
			goto out;
		}
		out->nchildren++;
	}
out:
	pthread_mutex_unlock(&l->mu);
	if (rc) {
		coord_node_clear(out);
		return rc;
	}
	if (out->nchildren > 1)
		qsort(out->children, out->nchildren, sizeof(char *), cmp_name);
	while (out->nchildren > COORD_CHILDREN_MAX)
		free(out->children[--out->nchildren]);
	return 0;
}

static int local_set(void *be, const char *path, const char *data, size_t len, int64_t version,
                     int64_t *new_version)
{
	struct local *l = be;
	struct node *x;
	int rc = 0;

	pthread_mutex_lock(&l->mu);
	if ((x = walk(l, path, false, NULL)) == NULL)
		rc = CLOVER_ENOENT;
	else if (version != COORD_ANY_VERSION && version != x->version)
		rc = CLOVER_ECONFLICT;
	else if ((rc = set_data(x, data, len)) == 0) {
		x->version++;
		x->modified_at = time_wall_ms();
		if (new_version)
			*new_version = x->version;
	}
	pthread_mutex_unlock(&l->mu);
	return rc;
}

/* Unlinks leaf `x` from its parent and frees it. */
static void unlink_node(struct local *l, struct node *x)
{
	hmap_del(&x->parent->kids, x->name);
	x->parent->cversion++;
	x->parent->modified_at = time_wall_ms();
	l->nnodes--;
	node_free(x);
}

static int local_remove(void *be, const char *path, int64_t version)
{
	struct local *l = be;
	struct node *x;
	int rc = 0;

	pthread_mutex_lock(&l->mu);
	if ((x = walk(l, path, false, NULL)) == NULL)
		rc = CLOVER_ENOENT;
	else if (version != COORD_ANY_VERSION && version != x->version)
		rc = CLOVER_ECONFLICT;
	else if (x->kids.n)
		rc = CLOVER_ESTATE;
	else
		unlink_node(l, x);
	pthread_mutex_unlock(&l->mu);
	return rc;
}

/* Deletes the ephemeral nodes of `owner` under `x`; returns how many. */
static int expire_under(struct local *l, struct node *x, const char *owner)
{
	struct node *gone[64];
	const char *k;
	void *v;
	size_t ngone = 0;
	int n = 0;
	bool more = false;

	/* Ephemeral nodes are leaves: collect, then unlink (never under the walk). */
	for (size_t i = 0; hmap_next(&x->kids, &i, &k, &v);) {
		struct node *c = v;

		if (c->owner && strcmp(c->owner, owner) == 0) {
			if (ngone < sizeof(gone) / sizeof(gone[0]))
				gone[ngone++] = c;
			else
				more = true;
		} else if (c->kids.n) {
			n += expire_under(l, c, owner);
		}
	}
	for (size_t i = 0; i < ngone; i++)
		unlink_node(l, gone[i]);
	n += (int)ngone;
	if (more)
		n += expire_under(l, x, owner);
	return n;
}

static int local_expire(void *be, const char *owner)
{
	struct local *l = be;
	int n;

	pthread_mutex_lock(&l->mu);
	n = expire_under(l, l->root, owner);
	pthread_mutex_unlock(&l->mu);
	return n;
}

const struct coord_ops coord_local_ops = {
    .name = "local",
    .close = local_close,
    .create = local_create,
    .get = local_get,
    .set = local_set,
    .remove = local_remove,
    .expire = local_expire,
};
