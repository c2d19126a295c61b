/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the wire codec's decoder (proto_decode), which reads
 * every frame a scheduler or an executor receives from the network. Besides
 * "never crash, never over-read, never leak", it checks the codec's promises
 * on every input:
 *   - a rejected frame gives CLOVER_EPROTO (or CLOVER_ENOMEM) with a message,
 *     and leaves the message zeroed;
 *   - an accepted frame re-encodes (the encoder accepts all the decoder
 *     accepts), the re-encoding decodes to an equal message, and encoding
 *     that again gives the same bytes (the encoding is deterministic);
 *   - a batch encoded into a smaller buffer keeps a prefix of its items.
 * Seeds: `CLOVER_PROTO_SEEDS=DIR build/tests/test-proto-codec` writes one
 * frame of each kind into DIR.
 */
#include "clover.h"
#include "proto/msg.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The item count of a batched message, through its kind (NULL for other kinds). */
static uint32_t *batch_count(struct proto_msg *m)
{
	switch (m->kind) {
	case PROTO_DISPATCH:
		return &m->dispatch.n;
	case PROTO_ACK:
		return &m->ack.n;
	case PROTO_PROGRESS:
		return &m->progress.n;
	case PROTO_RESULT:
		return &m->result.n;
	case PROTO_RESULT_ACK:
		return &m->result_ack.n;
	case PROTO_KILL:
		return &m->kill.n;
	default:
		return NULL;
	}
}

/* Encodes the first items of `m` into half the room; the part decodes to those items. */
static void check_batch(struct proto_msg *m, size_t full_len)
{
	uint32_t *n = batch_count(m), total, taken = 0;
	struct proto_msg part;
	struct error_info e;
	struct buf b;
	int rc;

	if (n == NULL || *n < 2)
		return;
	buf_init(&b, full_len / 2);
	rc = proto_encode_batch(m, &b, &taken, &e);
	if (rc == 0) {
		if (taken == 0 || taken >= *n || b.len > full_len / 2)
			abort();
		if (proto_decode(b.data, b.len, &part, &e) != 0)
			abort();
		total = *n;
		*n = taken;
		if (!proto_msg_equal(m, &part))
			abort();
		*n = total;
		proto_msg_clear(&part);
	} else if (rc != CLOVER_ETOOBIG || b.len != 0) {
		abort();
	}
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_msg m, again;
	struct error_info e;
	struct buf b1, b2;
	int rc;

	rc = proto_decode(data, size, &m, &e);
	if (rc != 0) {
		if ((rc != CLOVER_EPROTO && rc != CLOVER_ENOMEM) || e.code != rc ||
		    e.message[0] == '\0' || m.kind != 0)
			abort();
		return 0;
	}
	buf_init(&b1, PROTO_FRAME_MAX);
	buf_init(&b2, PROTO_FRAME_MAX);
	if (proto_encode(&m, &b1) != 0)
		abort();
	if (proto_decode(b1.data, b1.len, &again, &e) != 0)
		abort();
	if (!proto_msg_equal(&m, &again) || !proto_msg_equal(&again, &m))
		abort();
	if (proto_encode(&again, &b2) != 0 || b2.len != b1.len ||
	    memcmp(b1.data, b2.data, b1.len) != 0)
		abort();
	check_batch(&m, b1.len);
	proto_msg_clear(&again);
	proto_msg_clear(&m);
	buf_free(&b1);
	buf_free(&b2);
	return 0;
}
