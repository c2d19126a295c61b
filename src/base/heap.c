/* SPDX-License-Identifier: MIT */
/* Array-backed intrusive min-heap with inline keys; see heap.h. */
#include "base/heap.h"
#include "clover.h"

#include <stdlib.h>

static bool less(const struct heap_entry *a, const struct heap_entry *b)
{
	if (a->deadline != b->deadline)
		return a->deadline < b->deadline;
	return a->seq < b->seq;
}

static void place(struct heap *h, size_t i, struct heap_entry ent)
{
	h->v[i] = ent;
	ent.node->idx = i;
}

static void sift_up(struct heap *h, size_t i)
{
	struct heap_entry ent = h->v[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!less(&ent, &h->v[parent]))
			break;
		place(h, i, h->v[parent]);
		i = parent;
	}
	place(h, i, ent);
}

static void sift_down(struct heap *h, size_t i)
{
	struct heap_entry ent = h->v[i];

	for (;;) {
		size_t l = 2 * i + 1, m = i;
		const struct heap_entry *best = &ent;

		if (l < h->n && less(&h->v[l], best)) {
			m = l;
			best = &h->v[l];
		}
		if (l + 1 < h->n && less(&h->v[l + 1], best))
			m = l + 1;
		if (m == i)
			break;
		place(h, i, h->v[m]);
		i = m;
	}
	place(h, i, ent);
}

void heap_init(struct heap *h)
{
	h->v = NULL;
	h->n = h->cap = 0;
	h->next_seq = 0;
}

void heap_free(struct heap *h)
{
	for (size_t i = 0; i < h->n; i++)
		h->v[i].node->idx = HEAP_NONE;
	free(h->v);
	heap_init(h);
}

void heap_node_init(struct heap_node *node)
{
	node->deadline = 0;
	node->seq = 0;
	node->idx = HEAP_NONE;
}

int heap_reserve(struct heap *h, size_t n)
{
	struct heap_entry *v;

	if (n <= h->cap)
		return 0;
	v = realloc(h->v, n * sizeof(*v));
	if (v == NULL)
		return CLOVER_ENOMEM;
	h->v = v;
	h->cap = n;
	return 0;
}

int heap_insert(struct heap *h, struct heap_node *node, int64_t deadline)
{
	if (h->n == h->cap && heap_reserve(h, h->cap ? h->cap * 2 : 64))
		return CLOVER_ENOMEM;
	node->deadline = deadline;
	node->seq = h->next_seq++;
	h->v[h->n] = (struct heap_entry){deadline, node->seq, node};
	node->idx = h->n++;
	sift_up(h, node->idx);
	return 0;
}

void heap_remove(struct heap *h, struct heap_node *node)
{
	size_t i = node->idx;
	struct heap_entry last;

	if (!heap_contains(h, node))
		return;
	node->idx = HEAP_NONE;
	last = h->v[--h->n];
	if (i == h->n)
		return;
	place(h, i, last);
	if (i > 0 && less(&last, &h->v[(i - 1) / 2]))
		sift_up(h, i);
	else
		sift_down(h, i);
}

bool heap_contains(const struct heap *h, const struct heap_node *node)
{
	return node->idx < h->n && h->v[node->idx].node == node;
}

struct heap_node *heap_min(const struct heap *h)
{
	return h->n ? h->v[0].node : NULL;
}

struct heap_node *heap_pop(struct heap *h)
{
	struct heap_node *node = heap_min(h);

	if (node)
		heap_remove(h, node);
	return node;
}
