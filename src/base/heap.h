/* SPDX-License-Identifier: MIT */
/*
 * Intrusive binary min-heap of timers keyed by (deadline, sequence): equal
 * deadlines pop in insertion order (FIFO), as in libuv's timers. Nodes live
 * inside their owners (use container_of); the heap's array holds each entry's
 * key next to the node pointer, so sifting compares keys without touching the
 * nodes (with a million timers, chasing node pointers is mostly cache misses),
 * and each node keeps its index so removal is O(log n). Not thread-safe.
 */
#ifndef CLOVER_BASE_HEAP_H
#define CLOVER_BASE_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

struct heap_node {
	int64_t deadline;
	uint64_t seq;
	size_t idx; /* position in the heap; HEAP_NONE when not in it */
};

#define HEAP_NONE ((size_t)-1)

struct heap_entry {
	int64_t deadline;
	uint64_t seq;
	struct heap_node *node;
};

struct heap {
	struct heap_entry *v;
	size_t n;
	size_t cap;
	uint64_t next_seq;
};

void heap_init(struct heap *h);
void heap_free(struct heap *h); /* frees the array, not the nodes */
void heap_node_init(struct heap_node *node);

/* Inserts `node` (not already in) with `deadline`. CLOVER_ENOMEM on failure. */
int heap_insert(struct heap *h, struct heap_node *node, int64_t deadline);
/* Removes `node` if it is in the heap; otherwise does nothing. */
void heap_remove(struct heap *h, struct heap_node *node);
/* True when `node` is in `h` (not merely in some heap). */
bool heap_contains(const struct heap *h, const struct heap_node *node);
/* The node with the least (deadline, seq), or NULL when empty. */
struct heap_node *heap_min(const struct heap *h);
/* Removes and returns the minimum, or NULL. */
struct heap_node *heap_pop(struct heap *h);
/* Reserves room for `n` nodes in all. */
int heap_reserve(struct heap *h, size_t n);

static inline bool heap_node_active(const struct heap_node *node)
{
	return node->idx != HEAP_NONE;
}

#endif
