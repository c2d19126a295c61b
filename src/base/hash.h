/* SPDX-License-Identifier: MIT */
/*
 * Stable hashing and a string-keyed hash map.
 *
 * hash_name() is the documented hash of job names used by sharding strategies
 * and partitioning (docs/architecture.md): 32-bit FNV-1a over the UTF-8 bytes.
 * It must never change, since it decides where shards go in a running cluster.
 *
 * struct hmap maps NUL-terminated string keys (not copied: the key must live as
 * long as its entry, usually inside the value) to pointers. Open addressing with
 * linear probing and tombstones. Not thread-safe.
 */
#ifndef CLOVER_BASE_HASH_H
#define CLOVER_BASE_HASH_H

#include <stddef.h>
#include <stdint.h>

uint32_t hash_name(const char *s);
uint32_t hash_bytes(const void *p, size_t n);

struct hmap_slot {
	const char *key; /* NULL: empty; HMAP_TOMB: deleted */
	void *val;
	uint32_t h;
};

struct hmap {
	struct hmap_slot *slots;
	size_t cap;  /* power of two */
	size_t n;    /* live entries */
	size_t used; /* live + tombstones */
};

void hmap_init(struct hmap *m);
void hmap_free(struct hmap *m); /* frees the table, not keys or values */
void *hmap_get(const struct hmap *m, const char *key);
/* Inserts or replaces. Returns 0 or CLOVER_ENOMEM. */
int hmap_put(struct hmap *m, const char *key, void *val);
/* Removes and returns the value, or NULL. */
void *hmap_del(struct hmap *m, const char *key);

/* Iteration: for (size_t i = 0; hmap_next(m, &i, &k, &v);) ... */
int hmap_next(const struct hmap *m, size_t *i, const char **key, void **val);

/*
 * struct imap maps int64 keys (run ids) to non-NULL pointers. Open addressing
 * with linear probing and backward-shift deletion (no tombstones); a slot is
 * live when its generation is the map's, so imap_clear() is O(1) (the store
 * empties its map after every batch). Not thread-safe.
 */
struct imap_slot {
	int64_t key;
	void *val;
	uint32_t gen;
};

struct imap {
	struct imap_slot *slots;
	size_t cap; /* power of two */
	size_t n;
	uint32_t gen;
};

void imap_init(struct imap *m);
void imap_free(struct imap *m);
void *imap_get(const struct imap *m, int64_t key);
/* Inserts or replaces (`val` not NULL). Returns 0 or CLOVER_ENOMEM (map unchanged). */
int imap_put(struct imap *m, int64_t key, void *val);
/* Removes and returns the value, or NULL. */
void *imap_del(struct imap *m, int64_t key);
void imap_clear(struct imap *m);
/* Iteration: for (size_t i = 0; imap_next(m, &i, &k, &v);) ... (no changes meanwhile) */
int imap_next(const struct imap *m, size_t *i, int64_t *key, void **val);

#endif
