/* SPDX-License-Identifier: MIT */
/* FNV-1a and an open-addressing string map; see hash.h. */
#include "base/hash.h"
#include "clover.h"

#include <stdlib.h>
#include <string.h>

static const char hmap_tomb_key;
#define HMAP_TOMB (&hmap_tomb_key)

uint32_t hash_bytes(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 16777619u;
	}
	return h;
}

uint32_t hash_name(const char *s)
{
	return hash_bytes(s, strlen(s));
}

void hmap_init(struct hmap *m)
{
	memset(m, 0, sizeof(*m));
}

void hmap_free(struct hmap *m)
{
	free(m->slots);
	hmap_init(m);
}

static struct hmap_slot *find(const struct hmap *m, const char *key, uint32_t h)
{
	size_t mask = m->cap - 1;

	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct hmap_slot *s = &m->slots[i];

		if (s->key == NULL)
			return NULL;
		if (s->key != HMAP_TOMB && s->h == h && strcmp(s->key, key) == 0)
			return s;
	}
}

void *hmap_get(const struct hmap *m, const char *key)
{
	struct hmap_slot *s;

	if (m->n == 0)
		return NULL;
	s = find(m, key, hash_name(key));
	return s ? s->val : NULL;
}

static int rehash(struct hmap *m, size_t cap)
{
	struct hmap_slot *old = m->slots;
	size_t oldcap = m->cap;

	m->slots = calloc(cap, sizeof(*m->slots));
	if (m->slots == NULL) {
		m->slots = old;
		return CLOVER_ENOMEM;
	}
	m->cap = cap;
	m->used = m->n;
	for (size_t i = 0; i < oldcap; i++) {
		struct hmap_slot *s = &old[i];

		if (s->key && s->key != HMAP_TOMB) {
			size_t j = s->h & (cap - 1);

			while (m->slots[j].key)
				j = (j + 1) & (cap - 1);
			m->slots[j] = *s;
		}
	}
	free(old);
	return 0;
}

int hmap_put(struct hmap *m, const char *key, void *val)
{
	uint32_t h = hash_name(key);
	struct hmap_slot *s;
	size_t mask, i;

	if (m->cap == 0 || (m->used + 1) * 4 > m->cap * 3) {
		size_t cap = m->cap ? m->cap : 16;

		while ((m->n + 1) * 2 > cap)
			cap *= 2;
		if (rehash(m, cap))
			return CLOVER_ENOMEM;
	}
	s = find(m, key, h);
	if (s) {
		s->val = val;
		s->key = key;
		return 0;
	}
	mask = m->cap - 1;
	for (i = h & mask; m->slots[i].key && m->slots[i].key != HMAP_TOMB; i = (i + 1) & mask)
		;
	if (m->slots[i].key == NULL)
		m->used++;
	m->slots[i].key = key;
	m->slots[i].val = val;
	m->slots[i].h = h;
	m->n++;
	return 0;
}

void *hmap_del(struct hmap *m, const char *key)
{
	struct hmap_slot *s;
	void *val;

	if (m->n == 0)
		return NULL;
	s = find(m, key, hash_name(key));
	if (s == NULL)
		return NULL;
	val = s->val;
	s->key = HMAP_TOMB;
	s->val = NULL;
	m->n--;
	return val;
}

int hmap_next(const struct hmap *m, size_t *i, const char **key, void **val)
{
	for (; *i < m->cap; (*i)++) {
		struct hmap_slot *s = &m->slots[*i];

		if (s->key && s->key != HMAP_TOMB) {
			*key = s->key;
			*val = s->val;
			(*i)++;
			return 1;
		}
	}
	return 0;
}

/* ---- int64 map ---- */

static size_t islot(int64_t key, size_t cap)
{
	/* Fibonacci hashing: ids are sequential, the high bits of the product are not. */
	return (size_t)(((uint64_t)key * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

void imap_init(struct imap *m)
{
	memset(m, 0, sizeof(*m));
	m->gen = 1;
}

void imap_free(struct imap *m)
{
	free(m->slots);
	imap_init(m);
}

static struct imap_slot *ifind(const struct imap *m, int64_t key)
{
	if (m->n == 0)
		return NULL;
	for (size_t i = islot(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
		struct imap_slot *s = &m->slots[i];

		if (s->gen != m->gen)
			return NULL;
		if (s->key == key)
			return s;
	}
}

void *imap_get(const struct imap *m, int64_t key)
{
	struct imap_slot *s = ifind(m, key);

	return s ? s->val : NULL;
}

static void iinsert(struct imap_slot *slots, size_t cap, uint32_t gen, int64_t key, void *val)
{
	size_t i = islot(key, cap);

	while (slots[i].gen == gen)
		i = (i + 1) & (cap - 1);
	slots[i] = (struct imap_slot){key, val, gen};
}

int imap_put(struct imap *m, int64_t key, void *val)
{
	struct imap_slot *s = ifind(m, key);

	if (s) {
		s->val = val;
		return 0;
	}
	if ((m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct imap_slot *slots = calloc(cap, sizeof(*slots));

		if (slots == NULL)
			return CLOVER_ENOMEM;
		for (size_t i = 0; i < m->cap; i++) {
			if (m->slots[i].gen == m->gen)
				iinsert(slots, cap, 1, m->slots[i].key, m->slots[i].val);
		}
		free(m->slots);
		m->slots = slots;
		m->cap = cap;
		m->gen = 1;
	}
	iinsert(m->slots, m->cap, m->gen, key, val);
	m->n++;
	return 0;
}

void *imap_del(struct imap *m, int64_t key)
{
	struct imap_slot *s = ifind(m, key);
	size_t mask, i, j;
	void *val;

	if (s == NULL)
		return NULL;
	val = s->val;
	mask = m->cap - 1;
	i = (size_t)(s - m->slots);
	m->slots[i].gen = m->gen - 1;
	m->n--;
	/* Backward shift: move later members of the cluster that may into the hole. */
	for (j = (i + 1) & mask; m->slots[j].gen == m->gen; j = (j + 1) & mask) {
		size_t home = islot(m->slots[j].key, m->cap);

		if (((j - home) & mask) >= ((j - i) & mask)) {
			m->slots[i] = m->slots[j];
			m->slots[j].gen = m->gen - 1;
			i = j;
		}
	}
	return val;
}

void imap_clear(struct imap *m)
{
	m->n = 0;
	if (++m->gen == 0) {
		/* 2^32 clears: restart the generations on a clean table. */
		if (m->slots)
			memset(m->slots, 0, m->cap * sizeof(*m->slots));
		m->gen = 1;
	}
}

int imap_next(const struct imap *m, size_t *i, int64_t *key, void **val)
{
	for (; *i < m->cap; (*i)++) {
		const struct imap_slot *s = &m->slots[*i];

		if (s->gen == m->gen) {
			*key = s->key;
			*val = s->val;
			(*i)++;
			return 1;
		}
	}
	return 0;
}
