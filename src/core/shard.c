/* SPDX-License-Identifier: MIT */
/* Sharding strategies; see shard.h. */
#include "core/shard.h"
#include "base/hash.h"

void shard_assign(enum job_shard_strategy s, const char *job, int n, int k, int *out)
{
	int per = n / k;
	uint32_t h = hash_name(job);

	for (int i = 0; i < n; i++) {
		int pos; /* position in the (reordered) executor list */

		if (i < per * k)
			pos = i / per;
		else
			pos = i - per * k; /* remainder: one each to the first n % k */
		switch (s) {
		case JOB_SHARD_ODEVITY:
			out[i] = (h % 2 == 0) ? k - 1 - pos : pos;
			break;
		case JOB_SHARD_ROTATE:
			out[i] = (int)((pos + h % (uint32_t)k) % (uint32_t)k);
			break;
		case JOB_SHARD_AVERAGE:
		default:
			out[i] = pos;
			break;
		}
	}
}
