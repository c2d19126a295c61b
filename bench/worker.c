/* SPDX-License-Identifier: MIT */
/*
 * Benchmark of the worker runtime (src/exec/worker.c), the executor side of
 * the client library. Prints one JSON line.
 *
 * This process plays both ends: the main thread is a minimal scheduler (a
 * proto_server on tcp://127.0.0.1 with CURVE) that sends dispatch batches of
 * B `noop` runs, keeping at most W runs in flight, and answers every result
 * batch with a result-ack batch; a second thread runs clover_worker_run()
 * with `capacity` handler threads and its spool on disk (or in memory). A run
 * counts when its result has come back. So the figure covers what an executor
 * costs per run end to end: decode, spec parse, spool writes (in flight,
 * result, ack; one transaction per loop turn), the exec pool's threads and
 * events, encode, CURVE and loopback TCP; not the scheduler's engine or store.
 */
#include "base/log.h"
#include "base/time.h"
#include "clover.h"
#include "proto/msg.h"
#include "proto/zmq.h"

#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char spec_json[] = "{\"name\":\"bench-noop\",\"schedule\":\"@every 1h\","
                                "\"run\":{\"handler\":\"noop\"}}";

static void usage(FILE *fp)
{
	fprintf(fp, "usage: worker [options]\n"
	            "Benchmarks a worker (client library executor) against an in-process\n"
	            "scheduler over CURVE on loopback. Prints one JSON line.\n"
	            "  -n, --runs N       runs (default 200000)\n"
	            "  -b, --batch B      runs per dispatch frame (default 256)\n"
	            "  -w, --window W     runs in flight at most (default 4096)\n"
	            "  -c, --capacity C   the worker's handler threads (default 4)\n"
	            "  -s, --spool FILE   spool file (default: one in /tmp; 'memory' for none)\n"
	            "  -h, --help         this text\n");
}

static void die(const char *what, int rc, const char *detail)
{
	fprintf(stderr, "bench/worker: %s: %s%s%s\n", what, clover_strerror(rc),
	        detail ? ": " : "", detail ? detail : "");
	exit(1);
}

static void *run_worker(void *arg)
{
	int rc = clover_worker_run(arg);

	if (rc != 0)
		die("clover_worker_run", rc, NULL);
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"runs", required_argument, NULL, 'n'},    {"batch", required_argument, NULL, 'b'},
		{"window", required_argument, NULL, 'w'},  {"capacity", required_argument, NULL, 'c'},
		{"spool", required_argument, NULL, 's'},   {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	long runs = 200000, batch = 256, window = 4096, capacity = 4;
	const char *spool = NULL;
	char spool_buf[128], ep[128];
	struct proto_keypair skey, wkey;
	struct proto_server *srv;
	struct proto_peer peer;
	struct proto_dispatch_item *items;
	struct proto_result_ack_item *acks;
	struct error_info e;
	clover_worker *w;
	pthread_t th;
	long sent = 0, done = 0;
	int64_t t0, t1;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "n:b:w:c:s:h", longopts, NULL)) != -1) {
		char *end = NULL;
		long v = 0;

		if (opt == 'h') {
			usage(stdout);
			return 0;
		}
		if (opt == 's') {
			spool = optarg;
			continue;
		}
		if (opt == '?') {
			usage(stderr);
			return 2;
		}
		v = strtol(optarg, &end, 10);
		if (end == optarg || *end != '\0' || v < 1 || v > 100000000) {
			fprintf(stderr, "bench/worker: bad value '%s'\n", optarg);
			return 2;
		}
		if (opt == 'n')
			runs = v;
		else if (opt == 'b')
			batch = v > PROTO_BATCH_MAX ? PROTO_BATCH_MAX : v;
		else if (opt == 'w')
			window = v;
		else if (opt == 'c')
			capacity = v > 65536 ? 65536 : v;
	}
	if (spool == NULL) {
		snprintf(spool_buf, sizeof(spool_buf), "/tmp/clover-bench-worker-%d.spool",
		         (int)getpid());
		spool = spool_buf;
	} else if (strcmp(spool, "memory") == 0) {
		spool = NULL;
	}
	log_set_level(LOG_LVL_WARN);
	if ((rc = proto_keygen(&skey)) != 0 || (rc = proto_keygen(&wkey)) != 0)
		die("keygen", rc, NULL);
	rc = proto_server_new("tcp://127.0.0.1:*", &skey.sec, &wkey.pub, 1, &srv, &e);
	if (rc != 0)
		die("proto_server_new", rc, e.message);
	snprintf(ep, sizeof(ep), "%s", proto_server_endpoint(srv));
	{
		const char *eps[] = {ep};
		clover_worker_options o = {.schedulers = eps,
		                           .nschedulers = 1,
		                           .server_key = skey.pub.z85,
		                           .secret_key = wkey.sec.z85,
		                           .capacity = (int)capacity,
		                           .id = "bench",
		                           .spool = spool};

		if ((rc = clover_worker_new(&o, &w)) != 0)
			die("clover_worker_new", rc, NULL);
	}
	items = calloc((size_t)batch, sizeof(*items));
	acks = calloc(PROTO_BATCH_MAX, sizeof(*acks));
	if (items == NULL || acks == NULL)
		die("calloc", CLOVER_ENOMEM, NULL);
	if (pthread_create(&th, NULL, run_worker, w) != 0)
		die("pthread_create", CLOVER_ESYS, NULL);

	/* Wait for the hello and welcome it. */
	for (;;) {
		struct proto_msg m;

		memset(&m, 0, sizeof(m));
		rc = proto_server_recv(srv, &peer, &m, 10000, &e);
		if (rc != 0)
			die("waiting for hello", rc, e.message);
		if (m.kind == PROTO_HELLO) {
			struct proto_msg wm;

			proto_msg_clear(&m);
			memset(&wm, 0, sizeof(wm));
			wm.kind = PROTO_WELCOME;
			wm.welcome = (struct proto_welcome){1, "bench", 1, 1000, 3000};
			if ((rc = proto_server_send(srv, &peer, &wm)) != 0)
				die("welcome", rc, NULL);
			break;
		}
		proto_msg_clear(&m);
	}

	t0 = time_mono_ns();
	while (done < runs) {
		struct proto_msg m;

		while (sent < runs && sent - done + batch <= window) {
			long n = runs - sent < batch ? runs - sent : batch;
			struct proto_msg d;

			for (long i = 0; i < n; i++)
				items[i] = (struct proto_dispatch_item){
					.run_id = sent + i + 1,
					.shard = 0,
					.attempt = 1,
					.ticket = (uint32_t)(sent + i + 1),
					.shard_count = 1,
					.scheduled_at = 1700000000000,
					.job = "bench-noop",
					.spec = spec_json,
				};
			memset(&d, 0, sizeof(d));
			d.kind = PROTO_DISPATCH;
			d.dispatch.items = items;
			d.dispatch.n = (uint32_t)n;
			rc = proto_server_send(srv, &peer, &d);
			if (rc == CLOVER_EAGAIN)
				break;
			if (rc != 0)
				die("dispatch", rc, NULL);
			sent += n;
		}
		memset(&m, 0, sizeof(m));
		rc = proto_server_recv(srv, &peer, &m, 10000, &e);
		if (rc == CLOVER_ETIMEDOUT)
			die("waiting for results", rc, NULL);
		if (rc != 0)
			continue;
		if (m.kind == PROTO_RESULT) {
			struct proto_msg a;

			for (uint32_t i = 0; i < m.result.n; i++)
				acks[i] = (struct proto_result_ack_item){
					m.result.items[i].run_id, m.result.items[i].shard,
					m.result.items[i].attempt, m.result.items[i].ticket,
					PROTO_RACK_RECORDED};
			done += m.result.n;
			memset(&a, 0, sizeof(a));
			a.kind = PROTO_RESULT_ACK;
			a.result_ack.items = acks;
			a.result_ack.n = m.result.n;
			proto_server_send(srv, &peer, &a);
		} else if (m.kind == PROTO_ACK) {
			for (uint32_t i = 0; i < m.ack.n; i++)
				if (m.ack.items[i].status != PROTO_ACK_ACCEPTED)
					die("a dispatch was not accepted", CLOVER_EAGAIN,
					    proto_ack_status_name(m.ack.items[i].status));
		}
		proto_msg_clear(&m);
	}
	t1 = time_mono_ns();

	clover_worker_stop(w);
	pthread_join(th, NULL);
	clover_worker_free(w);
	proto_server_free(srv);
	free(items);
	free(acks);
	if (spool != NULL) {
		char p[160];

		unlink(spool);
		snprintf(p, sizeof(p), "%s-wal", spool);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", spool);
		unlink(p);
	}
	printf("{\"bench\":\"worker\",\"runs\":%ld,\"batch\":%ld,\"window\":%ld,\"capacity\":%ld,"
	       "\"spool\":\"%s\",\"seconds\":%.3f,\"runs_per_s\":%.0f}\n",
	       runs, batch, window, capacity, spool ? "file" : "memory", (double)(t1 - t0) / 1e9,
	       (double)runs / ((double)(t1 - t0) / 1e9));
	return 0;
}
