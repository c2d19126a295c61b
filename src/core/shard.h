/* SPDX-License-Identifier: MIT */
/*
 * Sharding strategies: which of k executors (sorted by id) runs each of the n
 * shards of a run. Pure functions; the vectors of DESIGN.md are unit tests.
 *
 *  average  per = n / k; executor i gets [i*per, (i+1)*per); the n % k
 *           remainder shards go one each to executors 0, 1, ...
 *  odevity  if hash_name(job) is even, the executor list is reversed, then average.
 *  rotate   the list is rotated left by hash_name(job) % k (executor i of the
 *           rotated list is executor (i + r) % k), then average.
 */
#ifndef CLOVER_CORE_SHARD_H
#define CLOVER_CORE_SHARD_H

#include "core/job.h"

/* Fills out[0..n-1] with executor indexes in [0, k). k must be >= 1. */
void shard_assign(enum job_shard_strategy s, const char *job, int n, int k, int *out);

#endif
