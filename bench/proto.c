/* SPDX-License-Identifier: MIT */
/*
 * Benchmark of the wire protocol (docs/protocol.md). Prints one JSON line.
 * Phases:
 *   1. codec: ns to encode and to decode (decode + proto_msg_clear) a
 *      dispatch of one run (a realistic ~150-byte shell job spec) and a
 *      result of one run, timed in groups of 64 calls (median and p99 of the
 *      per-call mean of each group), and ns per item inside a batch;
 *   2. loopback: a scheduler thread (proto_server, ROUTER) and an executor
 *      thread (proto_client, DEALER) in this process, over tcp://127.0.0.1
 *      with CURVE. The scheduler sends dispatch batches of B runs, keeping
 *      at most W runs in flight; the executor answers each with a result
 *      batch of the same runs. Runs/s from the first dispatch to the last
 *      result, frames/s both ways, and the round trip of a batch (p50/p99).
 * Both sides encode and decode for real, so the figures include the codec,
 * CURVE's boxes, ZeroMQ's I/O threads and loopback TCP: what the protocol
 * costs a 50,000 runs/s scheduler, without the engine, store or executor pool.
 */
#include "base/time.h"
#include "clover.h"
#include "proto/msg.h"
#include "proto/zmq.h"

#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GROUP 64

static const char spec_json[] =
    "{\"name\":\"report-eu-17\",\"schedule\":\"*/5 * * * * ?\","
    "\"timezone\":\"Europe/Berlin\",\"run\":{\"shell\":"
    "\"/usr/local/bin/report --region eu --quiet\"},\"timeout\":\"10m\"}";

static void usage(FILE *fp)
{
	fprintf(fp, "usage: proto [options]\n"
	            "Benchmarks the wire codec and a CURVE ROUTER/DEALER pair on loopback.\n"
	            "Prints one JSON line.\n"
	            "  -n, --runs N      runs sent over loopback (default 1000000)\n"
	            "  -b, --batch B     runs per dispatch/result frame (default 256)\n"
	            "  -w, --window W    runs in flight at most (default 16384)\n"
	            "  -i, --iters I     codec calls per measurement (default 200000)\n"
	            "  -h, --help        this text\n");
}

static void die(const char *what, int rc, const char *detail)
{
	fprintf(stderr, "bench/proto: %s: %s%s%s\n", what, clover_strerror(rc), detail ? ": " : "",
	        detail ? detail : "");
	exit(1);
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct pct {
	double p50, p99;
};

static struct pct percentiles(double *v, size_t n)
{
	struct pct p = {0, 0};

	if (n == 0)
		return p;
	qsort(v, n, sizeof(*v), cmp_dbl);
	p.p50 = v[n / 2];
	p.p99 = v[(size_t)((double)(n - 1) * 0.99)];
	return p;
}

/* ns per encode and per decode of `m`, each over `iters` calls. */
static void time_codec(const struct proto_msg *m, long iters, struct pct *enc, struct pct *dec,
                       size_t *bytes)
{
	size_t groups = (size_t)(iters / GROUP), k;
	double *se = calloc(groups, sizeof(double)), *sd = calloc(groups, sizeof(double));
	struct buf b;
	int rc;

	if (se == NULL || sd == NULL)
		die("codec", CLOVER_ENOMEM, NULL);
	buf_init(&b, PROTO_FRAME_MAX);
	if ((rc = proto_encode(m, &b)) != 0)
		die("proto_encode", rc, NULL);
	*bytes = b.len;
	for (k = 0; k < groups; k++) {
		int64_t t0 = time_mono_ns();

		for (int i = 0; i < GROUP; i++)
			if (proto_encode(m, &b) != 0)
				die("proto_encode", CLOVER_EINVAL, NULL);
		se[k] = (double)(time_mono_ns() - t0) / GROUP;
	}
	for (k = 0; k < groups; k++) {
		int64_t t0 = time_mono_ns();

		for (int i = 0; i < GROUP; i++) {
			struct proto_msg d;
			struct error_info e;

			if (proto_decode(b.data, b.len, &d, &e) != 0)
				die("proto_decode", CLOVER_EPROTO, e.message);
			proto_msg_clear(&d);
		}
		sd[k] = (double)(time_mono_ns() - t0) / GROUP;
	}
	*enc = percentiles(se, groups);
	*dec = percentiles(sd, groups);
	buf_free(&b);
	free(se);
	free(sd);
}

/* ---- loopback ---- */

struct loop {
	long runs, batch, window;
	struct proto_keypair skey, ckey;
	char endpoint[256];
	/* results */
	double seconds;
	long frames_out, frames_in;
	double *rtt_ms;
	size_t nrtt;
};

static void *executor_main(void *arg)
{
	struct loop *L = arg;
	const char *ep = L->endpoint;
	struct proto_client *c;
	struct proto_result_item *res = calloc((size_t)L->batch, sizeof(*res));
	struct proto_msg hello = {.kind = PROTO_HELLO}, out = {.kind = PROTO_RESULT};
	struct error_info e;
	int rc;

	if (res == NULL)
		die("executor", CLOVER_ENOMEM, NULL);
	if ((rc = proto_client_new(&ep, 1, &L->ckey.sec, &L->skey.pub, &c, &e)) != 0)
		die("proto_client_new", rc, e.message);
	hello.hello = (struct proto_hello){
	    .min_version = 1, .max_version = 1, .executor_id = "bench-exec", .capacity = 65536};
	out.result.items = res;
	for (;;) {
		struct proto_client_event ev;

		rc = proto_client_recv(c, &ev, 5000, &e);
		if (rc == CLOVER_ETIMEDOUT)
			die("executor", rc, "no frame for 5 s");
		if (rc != 0)
			die("proto_client_recv", rc, e.message);
		if (ev.kind == PROTO_CLIENT_UP) {
			if ((rc = proto_client_send(c, 0, &hello)) != 0)
				die("send hello", rc, NULL);
			continue;
		}
		if (ev.kind != PROTO_CLIENT_MSG)
			continue;
		if (ev.msg.kind == PROTO_BYE) {
			proto_msg_clear(&ev.msg);
			break;
		}
		if (ev.msg.kind == PROTO_DISPATCH) {
			for (uint32_t i = 0; i < ev.msg.dispatch.n; i++) {
				const struct proto_dispatch_item *d = &ev.msg.dispatch.items[i];

				res[i] = (struct proto_result_item){
				    d->run_id,     d->shard, d->attempt,      d->ticket,
				    RUN_SUCCEEDED, 0,        d->scheduled_at, d->scheduled_at + 1,
				    NULL};
			}
			out.result.n = ev.msg.dispatch.n;
			while ((rc = proto_client_send(c, 0, &out)) == CLOVER_EAGAIN)
				;
			if (rc != 0)
				die("send result", rc, NULL);
		}
		proto_msg_clear(&ev.msg);
	}
	proto_client_free(c);
	free(res);
	return NULL;
}

static void run_loopback(struct loop *L)
{
	struct proto_server *s;
	struct proto_peer peer;
	struct proto_msg m, out = {.kind = PROTO_DISPATCH}, bye = {.kind = PROTO_BYE};
	struct proto_dispatch_item *items = calloc((size_t)L->batch, sizeof(*items));
	int64_t *sent_at = calloc((size_t)(L->runs / L->batch + 2), sizeof(int64_t));
	struct error_info e;
	pthread_t t;
	long sent = 0, done = 0;
	int64_t t0 = 0;
	int rc;

	L->rtt_ms = calloc((size_t)(L->runs / L->batch + 2), sizeof(double));
	if (items == NULL || sent_at == NULL || L->rtt_ms == NULL)
		die("loopback", CLOVER_ENOMEM, NULL);
	if ((rc = proto_server_new("tcp://127.0.0.1:*", &L->skey.sec, &L->ckey.pub, 1, &s, &e)) !=
	    0)
		die("proto_server_new", rc, e.message);
	snprintf(L->endpoint, sizeof(L->endpoint), "%s", proto_server_endpoint(s));
	if (pthread_create(&t, NULL, executor_main, L) != 0)
		die("pthread_create", CLOVER_ESYS, NULL);
	/* wait for the hello */
	do {
		rc = proto_server_recv(s, &peer, &m, 5000, &e);
		if (rc != 0)
			die("waiting for hello", rc, e.message);
		rc = m.kind;
		proto_msg_clear(&m);
	} while (rc != PROTO_HELLO);

	for (long i = 0; i < L->batch; i++)
		items[i] = (struct proto_dispatch_item){.shard_count = 1,
		                                        .attempt = 1,
		                                        .scheduled_at = time_wall_ms(),
		                                        .job = "report-eu-17",
		                                        .spec = spec_json};
	out.dispatch.items = items;
	t0 = time_mono_ns();
	while (done < L->runs) {
		while (sent < L->runs && sent - done < L->window) {
			long n = L->runs - sent < L->batch ? L->runs - sent : L->batch;

			for (long i = 0; i < n; i++) {
				items[i].run_id = sent + i;
				items[i].ticket = (uint32_t)(sent + i);
			}
			out.dispatch.n = (uint32_t)n;
			rc = proto_server_send(s, &peer, &out);
			if (rc == CLOVER_EAGAIN)
				break;
			if (rc != 0)
				die("send dispatch", rc, NULL);
			sent_at[sent / L->batch] = time_mono_ns();
			sent += n;
			L->frames_out++;
		}
		rc = proto_server_recv(s, &peer, &m, 5000, &e);
		if (rc != 0)
			die("waiting for results", rc, e.message);
		if (m.kind == PROTO_RESULT) {
			long first = m.result.items[0].run_id;

			if (first % L->batch == 0)
				L->rtt_ms[L->nrtt++] =
				    (double)(time_mono_ns() - sent_at[first / L->batch]) / 1e6;
			done += m.result.n;
			L->frames_in++;
		}
		proto_msg_clear(&m);
	}
	L->seconds = (double)(time_mono_ns() - t0) / 1e9;
	bye.bye.reason = PROTO_BYE_SHUTDOWN;
	while ((rc = proto_server_send(s, &peer, &bye)) == CLOVER_EAGAIN)
		;
	pthread_join(t, NULL);
	proto_server_free(s);
	free(items);
	free(sent_at);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"runs", required_argument, NULL, 'n'},   {"batch", required_argument, NULL, 'b'},
	    {"window", required_argument, NULL, 'w'}, {"iters", required_argument, NULL, 'i'},
	    {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	struct loop L = {.runs = 1000000, .batch = 256, .window = 16384};
	long iters = 200000;
	struct proto_dispatch_item d1 = {.run_id = 123456789,
	                                 .shard = 0,
	                                 .attempt = 1,
	                                 .ticket = 987654,
	                                 .shard_count = 1,
	                                 .scheduled_at = 1767225600000,
	                                 .not_before = 1767225600000,
	                                 .job = "report-eu-17",
	                                 .spec = spec_json};
	struct proto_result_item r1 = {
	    123456789, 0, 1, 987654, RUN_SUCCEEDED, 0, 1767225600003, 1767225600912, NULL};
	struct proto_msg dm = {.kind = PROTO_DISPATCH}, rm = {.kind = PROTO_RESULT};
	struct pct de, dd, re, rd, be, bd, rtt;
	size_t dbytes, rbytes, bbytes;
	struct proto_dispatch_item *many;
	int c, rc;

	while ((c = getopt_long(argc, argv, "n:b:w:i:h", opts, NULL)) != -1) {
		char *end;
		long v = c == 'h' ? 0 : strtol(optarg, &end, 10);

		if (c != 'h' && (*end != '\0' || v <= 0)) {
			usage(stderr);
			return 2;
		}
		switch (c) {
		case 'n':
			L.runs = v;
			break;
		case 'b':
			L.batch = v > PROTO_BATCH_MAX ? PROTO_BATCH_MAX : v;
			break;
		case 'w':
			L.window = v;
			break;
		case 'i':
			iters = v < GROUP ? GROUP : v;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (L.window < L.batch)
		L.window = L.batch;

	dm.dispatch.items = &d1;
	dm.dispatch.n = 1;
	rm.result.items = &r1;
	rm.result.n = 1;
	time_codec(&dm, iters, &de, &dd, &dbytes);
	time_codec(&rm, iters, &re, &rd, &rbytes);
	/* per item inside a full batch */
	many = calloc((size_t)L.batch, sizeof(*many));
	if (many == NULL)
		die("codec", CLOVER_ENOMEM, NULL);
	for (long i = 0; i < L.batch; i++) {
		many[i] = d1;
		many[i].run_id += i;
	}
	dm.dispatch.items = many;
	dm.dispatch.n = (uint32_t)L.batch;
	time_codec(&dm, iters / L.batch < GROUP ? GROUP : iters / L.batch, &be, &bd, &bbytes);
	free(many);

	if ((rc = proto_keygen(&L.skey)) != 0 || (rc = proto_keygen(&L.ckey)) != 0)
		die("proto_keygen", rc, NULL);
	run_loopback(&L);
	rtt = percentiles(L.rtt_ms, L.nrtt);

	printf("{\"bench\":\"proto\","
	       "\"dispatch\":{\"bytes\":%zu,\"encode_ns\":{\"p50\":%.0f,\"p99\":%.0f},"
	       "\"decode_ns\":{\"p50\":%.0f,\"p99\":%.0f}},"
	       "\"result\":{\"bytes\":%zu,\"encode_ns\":{\"p50\":%.0f,\"p99\":%.0f},"
	       "\"decode_ns\":{\"p50\":%.0f,\"p99\":%.0f}},"
	       "\"dispatch_batch\":{\"items\":%ld,\"bytes\":%zu,\"encode_ns_per_item\":%.0f,"
	       "\"decode_ns_per_item\":%.0f},"
	       "\"loopback\":{\"curve\":true,\"batch\":%ld,\"window\":%ld,\"runs\":%ld,"
	       "\"seconds\":%.3f,\"runs_per_s\":%.0f,\"frames_per_s\":%.0f,"
	       "\"batch_rtt_ms\":{\"p50\":%.2f,\"p99\":%.2f}}}\n",
	       dbytes, de.p50, de.p99, dd.p50, dd.p99, rbytes, re.p50, re.p99, rd.p50, rd.p99,
	       L.batch, bbytes, be.p50 / (double)L.batch, bd.p50 / (double)L.batch, L.batch,
	       L.window, L.runs, L.seconds, (double)L.runs / L.seconds,
	       (double)(L.frames_out + L.frames_in) / L.seconds, rtt.p50, rtt.p99);
	free(L.rtt_ms);
	return 0;
}
