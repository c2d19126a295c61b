/* SPDX-License-Identifier: MIT */
/*
 * The ZeroMQ transport and CURVE keys (src/proto/zmq.c, keys.c, and the
 * `clover keygen` command): key generation, parsing and key files (modes,
 * no overwriting, comments); a real ROUTER/DEALER exchange over
 * tcp://127.0.0.1 on a free port with CURVE, where an allowed key gets
 * through both ways with batches, an unknown key is refused by the ZAP
 * handler (and the refusal logged once, with the key) until it is allowed,
 * a wrong server key fails the handshake, a malformed frame is rejected
 * without stopping the server, sends to a gone peer fail at once, one
 * client talks to two servers, and wake-ups interrupt blocking receives.
 */
#include "proto/zmq.h"

#include "base/log.h"
#include "base/time.h"
#include "cli/cli.h"
#include "clover.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#define WAIT_MS 5000

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static struct proto_keypair keypair(void)
{
	struct proto_keypair kp;

	assert_int_equal(proto_keygen(&kp), 0);
	return kp;
}

/* A temporary directory, removed (one level deep) by rmdir_all(). */
static void make_dir(char *dir, size_t n)
{
	snprintf(dir, n, "/tmp/clover-proto-XXXXXX");
	assert_non_null(mkdtemp(dir));
}

static void rmdir_all(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s = calloc(1, 1 << 16);
	size_t n;

	assert_non_null(f);
	assert_non_null(s);
	n = fread(s, 1, (1 << 16) - 1, f);
	s[n] = '\0';
	fclose(f);
	return s;
}

static int count_of(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/* ---- keys ---- */

static void test_keys(void **state)
{
	struct proto_keypair kp = keypair(), kp2 = keypair();
	struct proto_key pub, k;
	struct error_info e;

	(void)state;
	assert_int_equal(strlen(kp.pub.z85), PROTO_KEY_Z85_LEN);
	assert_int_equal(strlen(kp.sec.z85), PROTO_KEY_Z85_LEN);
	assert_string_not_equal(kp.pub.z85, kp2.pub.z85);
	assert_int_equal(proto_key_public(&kp.sec, &pub), 0);
	assert_string_equal(pub.z85, kp.pub.z85);
	assert_int_equal(proto_key_parse(kp.pub.z85, 40, &k, &e), 0);
	assert_string_equal(k.z85, kp.pub.z85);

	assert_int_equal(proto_key_parse(kp.pub.z85, 39, &k, &e), CLOVER_EINVAL);
	assert_non_null(strstr(e.message, "40 Z85 characters, not 39"));
	assert_int_equal(proto_key_parse("0123456789012345678901234567890123456 89", 40, &k, &e),
	                 CLOVER_EINVAL);
	assert_non_null(strstr(e.message, "character 38 (' ') is not Z85"));
	/* "#####" is 4437053124, more than 4 bytes hold */
	assert_int_equal(proto_key_parse("#####56789012345678901234567890123456789", 40, &k, &e),
	                 CLOVER_EINVAL);
	assert_non_null(strstr(e.message, "characters 1-5 do not encode 4 bytes"));
	snprintf(k.z85, sizeof(k.z85), "not a key");
	assert_int_equal(proto_key_public(&k, &pub), CLOVER_EINVAL);
}

static void test_key_files(void **state)
{
	struct proto_keypair kp = keypair(), kp2 = keypair();
	struct proto_key keys[4];
	struct error_info e;
	char dir[64], base[128], path[160], text[512];
	struct stat st;
	size_t n;

	(void)state;
	make_dir(dir, sizeof(dir));
	snprintf(base, sizeof(base), "%s/exec-1", dir);
	assert_int_equal(proto_keypair_write(base, &kp, false, &e), 0);

	snprintf(path, sizeof(path), "%s.key", base);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(proto_keys_read(path, keys, 4, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(keys[0].z85, kp.sec.z85);
	snprintf(path, sizeof(path), "%s.pub", base);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(proto_keys_read(path, keys, 4, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(keys[0].z85, kp.pub.z85);

	/* never replaced by accident; replaced with force */
	assert_int_equal(proto_keypair_write(base, &kp2, false, &e), CLOVER_EEXIST);
	assert_non_null(strstr(e.message, "exec-1.key already exists"));
	assert_int_equal(proto_keys_read(path, keys, 4, &n, &e), 0);
	assert_string_equal(keys[0].z85, kp.pub.z85);
	assert_int_equal(proto_keypair_write(base, &kp2, true, &e), 0);
	assert_int_equal(proto_keys_read(path, keys, 4, &n, &e), 0);
	assert_string_equal(keys[0].z85, kp2.pub.z85);
	snprintf(path, sizeof(path), "%s.key", base);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* only the two files: no temporaries left behind */
	snprintf(text, sizeof(text), "test $(ls -A '%s' | wc -l) -eq 2", dir);
	assert_int_equal(system(text), 0);

	/* a list: comments, blank lines, CRLF, a key with a comment after it */
	snprintf(path, sizeof(path), "%s/allowed", dir);
	snprintf(text, sizeof(text),
	         "# executors of the eu cluster\n\n  %s exec-1\r\n\t%s\n"
	         "#bcdefghij0123456789ABCDEFGHIJ0123456789 (not a key: none starts with #)\n"
	         "%s\tthe same again",
	         kp.pub.z85, kp2.pub.z85, kp.pub.z85);
	write_text(path, text);
	assert_int_equal(proto_keys_read(path, keys, 4, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_string_equal(keys[0].z85, kp.pub.z85);
	assert_string_equal(keys[1].z85, kp2.pub.z85);
	assert_string_equal(keys[2].z85, kp.pub.z85);
	assert_int_equal(proto_keys_read(path, keys, 2, &n, &e), CLOVER_ETOOBIG);
	assert_int_equal(n, 0);

	write_text(path, "# nothing\n\n");
	assert_int_equal(proto_keys_read(path, keys, 4, &n, &e), CLOVER_EINVAL);
	assert_non_null(strstr(e.message, "no key in the file"));
	snprintf(text, sizeof(text), "%s\nshort-key\n", kp.pub.z85);
	write_text(path, text);
	assert_int_equal(proto_keys_read(path, keys, 4, &n, &e), CLOVER_EINVAL);
	assert_non_null(strstr(e.message, "allowed:2: a key is 40 Z85 characters, not 9"));
	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_equal(proto_keys_read(path, keys, 4, &n, &e), CLOVER_EIO);
	assert_non_null(strstr(e.message, "No such file"));
	assert_int_equal(proto_keypair_write("/nonexistent-dir/x", &kp, false, &e) < 0, 1);
	assert_int_equal(proto_keypair_write("dir/", &kp, false, &e), CLOVER_EINVAL);
	rmdir_all(dir);
}

/* Runs `clover keygen ARGS...` in-process with stdout and stderr captured. */
static int keygen(const char *dir, char *out, size_t outn, int argc, char **argv)
{
	char path[128];
	int fd, saved_out, saved_err, rc;
	char *text;

	snprintf(path, sizeof(path), "%s/output", dir);
	fflush(stdout);
	fflush(stderr);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	saved_out = dup(1);
	saved_err = dup(2);
	dup2(fd, 1);
	dup2(fd, 2);
	rc = cli_keygen_main(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	close(fd);
	text = read_text(path);
	snprintf(out, outn, "%s", text);
	free(text);
	unlink(path);
	return rc;
}

static void test_keygen_command(void **state)
{
	char dir[64], base[128], path[160], out[4096];
	struct proto_key keys[2], pub;
	struct error_info e;
	struct stat st;
	size_t n;

	(void)state;
	make_dir(dir, sizeof(dir));
	snprintf(base, sizeof(base), "%s/sched-1", dir);
	{
		char *argv[] = {"keygen", base, NULL};

		assert_int_equal(keygen(dir, out, sizeof(out), 2, argv), 0);
	}
	/* it prints the public key, which is the .pub's and matches the .key's */
	assert_int_equal(strlen(out), PROTO_KEY_Z85_LEN + 1);
	snprintf(path, sizeof(path), "%s.pub", base);
	assert_int_equal(proto_keys_read(path, keys, 2, &n, &e), 0);
	assert_int_equal(strncmp(out, keys[0].z85, PROTO_KEY_Z85_LEN), 0);
	snprintf(path, sizeof(path), "%s.key", base);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(proto_keys_read(path, keys + 1, 1, &n, &e), 0);
	assert_int_equal(proto_key_public(&keys[1], &pub), 0);
	assert_string_equal(pub.z85, keys[0].z85);
	{
		char *argv[] = {"keygen", base, NULL};

		assert_int_equal(keygen(dir, out, sizeof(out), 2, argv), 1);
		assert_non_null(strstr(out, "already exists (use --force"));
	}
	{
		char *argv[] = {"keygen", "--force", base, NULL};

		assert_int_equal(keygen(dir, out, sizeof(out), 3, argv), 0);
	}
	{
		char *argv[] = {"keygen", NULL};

		assert_int_equal(keygen(dir, out, sizeof(out), 1, argv), 2);
		assert_non_null(strstr(out, "NAME is missing"));
	}
	{
		char *argv[] = {"keygen", "--bits", base, NULL};

		assert_int_equal(keygen(dir, out, sizeof(out), 3, argv), 2);
		assert_non_null(strstr(out, "unknown option '--bits'"));
	}
	{
		char *argv[] = {"keygen", base, "other", NULL};

		assert_int_equal(keygen(dir, out, sizeof(out), 3, argv), 2);
	}
	{
		char *argv[] = {"keygen", "--help", NULL};

		assert_int_equal(keygen(dir, out, sizeof(out), 2, argv), 0);
		assert_non_null(strstr(out, "usage: clover keygen"));
	}
	rmdir_all(dir);
}

/* ---- transport ---- */

struct pair {
	struct proto_keypair server, client;
	struct proto_server *srv;
	struct proto_client *cli;
};

static void server_up(struct pair *p, const struct proto_key *allowed, size_t n)
{
	struct error_info e;
	int rc;

	p->server = keypair();
	rc = proto_server_new("tcp://127.0.0.1:*", &p->server.sec, allowed, n, &p->srv, &e);
	if (rc != 0)
		fail_msg("proto_server_new: %s", e.message);
	assert_int_equal(strncmp(proto_server_endpoint(p->srv), "tcp://127.0.0.1:", 16), 0);
}

static void client_up(struct pair *p, const struct proto_key *server_pub)
{
	const char *ep = proto_server_endpoint(p->srv);
	struct error_info e;
	int rc;

	rc = proto_client_new(&ep, 1, &p->client.sec, server_pub, &p->cli, &e);
	if (rc != 0)
		fail_msg("proto_client_new: %s", e.message);
}

/* Waits for a client event of `kind`; other link events are skipped. */
static void wait_event(struct proto_client *c, enum proto_client_event_kind kind,
                       struct proto_client_event *ev)
{
	int64_t end = time_mono_ms() + WAIT_MS;
	struct error_info e;

	for (;;) {
		int rc;

		assert_true(time_mono_ms() < end);
		rc = proto_client_recv(c, ev, 100, &e);
		if (rc == CLOVER_ETIMEDOUT)
			continue;
		if (rc != 0)
			fail_msg("proto_client_recv: %s (%s)", clover_errname(rc), e.message);
		if (ev->kind == kind)
			return;
		if (ev->kind == PROTO_CLIENT_MSG)
			fail_msg("unexpected %s", proto_kind_name(ev->msg.kind));
	}
}

static void server_wait(struct proto_server *s, struct proto_peer *peer, struct proto_msg *m)
{
	struct error_info e;
	int rc = proto_server_recv(s, peer, m, WAIT_MS, &e);

	if (rc != 0)
		fail_msg("proto_server_recv: %s (%s)", clover_errname(rc), e.message);
}

static void test_exchange(void **state)
{
	struct pair p;
	struct proto_client_event ev;
	struct proto_peer peer;
	struct proto_msg m, hello = {.kind = PROTO_HELLO}, welcome = {.kind = PROTO_WELCOME};
	struct proto_result_item res[100];
	struct proto_dispatch_item disp[50];
	struct proto_msg results = {.kind = PROTO_RESULT}, dispatches = {.kind = PROTO_DISPATCH};
	struct proto_server_stats st;

	(void)state;
	p.client = keypair();
	server_up(&p, &p.client.pub, 1);
	assert_true(proto_server_fd(p.srv) >= 0);
	assert_non_null(proto_server_socket(p.srv));
	client_up(&p, &p.server.pub);
	wait_event(p.cli, PROTO_CLIENT_UP, &ev);
	assert_int_equal(ev.endpoint, 0);

	hello.hello = (struct proto_hello){
	    .min_version = 1, .max_version = 1, .executor_id = "exec-1", .capacity = 8};
	assert_int_equal(proto_client_send(p.cli, 0, &hello), 0);
	server_wait(p.srv, &peer, &m);
	assert_int_equal(m.kind, PROTO_HELLO);
	assert_string_equal(m.hello.executor_id, "exec-1");
	/* the server knows who it is talking to */
	assert_string_equal(peer.key.z85, p.client.pub.z85);
	assert_true(peer.id_len > 0);
	proto_msg_clear(&m);

	welcome.welcome = (struct proto_welcome){1, "sched-1", 7, 1000, 3000};
	assert_int_equal(proto_server_send(p.srv, &peer, &welcome), 0);
	wait_event(p.cli, PROTO_CLIENT_MSG, &ev);
	assert_true(proto_msg_equal(&ev.msg, &welcome));
	proto_msg_clear(&ev.msg);

	/* batches both ways */
	for (int i = 0; i < 100; i++)
		res[i] =
		    (struct proto_result_item){i, 0, 1, (uint32_t)i, RUN_SUCCEEDED, 0, 1, 2, NULL};
	results.result.items = res;
	results.result.n = 100;
	assert_int_equal(proto_client_send(p.cli, 0, &results), 0);
	server_wait(p.srv, &peer, &m);
	assert_true(proto_msg_equal(&m, &results));
	proto_msg_clear(&m);
	for (int i = 0; i < 50; i++)
		disp[i] = (struct proto_dispatch_item){.run_id = i,
		                                       .attempt = 1,
		                                       .shard_count = 1,
		                                       .ticket = (uint32_t)i,
		                                       .job = "j",
		                                       .spec = "{\"name\":\"j\"}"};
	dispatches.dispatch.items = disp;
	dispatches.dispatch.n = 50;
	assert_int_equal(proto_server_send(p.srv, &peer, &dispatches), 0);
	wait_event(p.cli, PROTO_CLIENT_MSG, &ev);
	assert_true(proto_msg_equal(&ev.msg, &dispatches));
	proto_msg_clear(&ev.msg);

	/* an invalid message is refused before it reaches the socket */
	dispatches.dispatch.n = 0;
	assert_int_equal(proto_server_send(p.srv, &peer, &dispatches), CLOVER_EINVAL);
	assert_int_equal(proto_client_send(p.cli, 3, &hello), CLOVER_ENOENT);
	/* nothing more is waiting */
	assert_int_equal(proto_server_recv(p.srv, &peer, &m, 0, NULL), CLOVER_ETIMEDOUT);
	assert_int_equal(proto_client_recv(p.cli, &ev, 0, NULL), CLOVER_ETIMEDOUT);

	proto_server_stats(p.srv, &st);
	assert_int_equal(st.accepted, 1);
	assert_int_equal(st.refused, 0);

	/* the client goes away: sends to its peer fail at once */
	proto_client_free(p.cli);
	{
		int64_t end = time_mono_ms() + WAIT_MS;
		int rc;

		while ((rc = proto_server_send(p.srv, &peer, &welcome)) == 0) {
			assert_true(time_mono_ms() < end);
			sleep_ms(10);
		}
		assert_int_equal(rc, CLOVER_ENOENT);
	}
	proto_server_free(p.srv);
}

static void test_unknown_key_refused(void **state)
{
	struct pair p;
	struct proto_client_event ev;
	struct proto_server_stats st;
	struct proto_msg hb = {.kind = PROTO_HEARTBEAT}, m;
	struct proto_peer peer;
	struct proto_keypair other = keypair();
	char path[] = "/tmp/clover-proto-log-XXXXXX", needle[128];
	char *log;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	log_set_fd(fd);
	p.client = keypair();
	server_up(&p, &other.pub, 1); /* allows someone else */
	client_up(&p, &p.server.pub);
	wait_event(p.cli, PROTO_CLIENT_REFUSED, &ev);
	assert_int_equal(ev.endpoint, 0);
	/* nothing gets through: the client has no connection to queue on */
	assert_int_equal(proto_client_send(p.cli, 0, &hb), CLOVER_EAGAIN);
	assert_int_equal(proto_server_recv(p.srv, &peer, &m, 200, NULL), CLOVER_ETIMEDOUT);
	/*
	 * It tries again (after 1 s) while its owner keeps receiving; the
	 * server refuses each time but logs the key once.
	 */
	{
		int64_t end = time_mono_ms() + WAIT_MS;

		do {
			assert_true(time_mono_ms() < end);
			assert_int_equal(proto_client_recv(p.cli, &ev, 50, NULL), CLOVER_ETIMEDOUT);
			proto_server_stats(p.srv, &st);
		} while (st.refused < 2);
	}
	assert_int_equal(st.accepted, 0);
	log = read_text(path);
	snprintf(needle, sizeof(needle), "refused executor key %s from 127.0.0.1",
	         p.client.pub.z85);
	if (count_of(log, needle) != 1)
		fail_msg("want one '%s' in the log:\n%s", needle, log);
	assert_int_equal(count_of(log, "refused executor key"), 1);
	/* and the client said why it cannot get in */
	snprintf(needle, sizeof(needle), "refused this executor's key %s", p.client.pub.z85);
	assert_int_equal(count_of(log, needle), 1);
	free(log);

	/* allowed later, it gets in without a restart */
	proto_server_allow(p.srv, &p.client.pub, 1);
	wait_event(p.cli, PROTO_CLIENT_UP, &ev);
	hb.heartbeat.seq = 5;
	assert_int_equal(proto_client_send(p.cli, 0, &hb), 0);
	server_wait(p.srv, &peer, &m);
	assert_int_equal(m.heartbeat.seq, 5);
	assert_string_equal(peer.key.z85, p.client.pub.z85);
	proto_msg_clear(&m);

	proto_client_free(p.cli);
	proto_server_free(p.srv);
	log_set_fd(2);
	close(fd);
	unlink(path);
}

static void test_wrong_server_key(void **state)
{
	struct pair p;
	struct proto_client_event ev;
	struct proto_keypair impostor = keypair();

	(void)state;
	p.client = keypair();
	server_up(&p, &p.client.pub, 1);
	client_up(&p, &impostor.pub); /* expects another server */
	wait_event(p.cli, PROTO_CLIENT_FAILED, &ev);
	assert_int_equal(ev.endpoint, 0);
	proto_client_free(p.cli);
	proto_server_free(p.srv);
}

static void test_malformed_frame(void **state)
{
	struct pair p;
	struct proto_client_event ev;
	struct proto_server_stats st;
	struct proto_peer peer;
	struct proto_msg m, bye = {.kind = PROTO_BYE};
	struct error_info e;
	static const unsigned char junk[] = {0xCB, 0x01, 0x04, 0xff, 0xff, 0xff, 0xff};
	char path[] = "/tmp/clover-proto-log-XXXXXX";
	char *log;
	int fd, rc;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	log_set_fd(fd);
	p.client = keypair();
	server_up(&p, &p.client.pub, 1);
	client_up(&p, &p.server.pub);
	wait_event(p.cli, PROTO_CLIENT_UP, &ev);
	assert_int_equal(proto_client_send_frame(p.cli, 0, junk, sizeof(junk)), 0);
	assert_int_equal(proto_client_send_frame(p.cli, 0, "hello", 5), 0);
	rc = proto_server_recv(p.srv, &peer, &m, WAIT_MS, &e);
	assert_int_equal(rc, CLOVER_EPROTO);
	assert_string_equal(e.field, "dispatch");
	assert_string_equal(peer.key.z85, p.client.pub.z85);
	assert_int_equal(m.kind, 0);
	rc = proto_server_recv(p.srv, &peer, &m, WAIT_MS, &e);
	assert_int_equal(rc, CLOVER_EPROTO);
	assert_non_null(strstr(e.message, "bad magic"));
	/* and it keeps serving */
	bye.bye.reason = PROTO_BYE_SHUTDOWN;
	assert_int_equal(proto_client_send(p.cli, 0, &bye), 0);
	server_wait(p.srv, &peer, &m);
	assert_int_equal(m.kind, PROTO_BYE);
	proto_msg_clear(&m);
	proto_server_stats(p.srv, &st);
	assert_int_equal(st.malformed, 2);
	/* the server sends garbage: the client rejects it too */
	assert_int_equal(proto_server_send_frame(p.srv, &peer, junk, 3), 0);
	{
		int64_t end = time_mono_ms() + WAIT_MS;

		while ((rc = proto_client_recv(p.cli, &ev, 100, &e)) == CLOVER_ETIMEDOUT)
			assert_true(time_mono_ms() < end);
		assert_int_equal(rc, CLOVER_EPROTO);
		assert_int_equal(ev.endpoint, 0);
	}
	log = read_text(path);
	assert_int_equal(count_of(log, "dropped a malformed frame from executor key"), 2);
	assert_int_equal(count_of(log, "dropped a malformed frame from scheduler"), 1);
	free(log);
	proto_client_free(p.cli);
	proto_server_free(p.srv);
	log_set_fd(2);
	close(fd);
	unlink(path);
}

static void test_two_schedulers(void **state)
{
	struct proto_keypair client = keypair();
	struct pair a, b;
	struct proto_client *c;
	struct proto_client_event ev;
	struct proto_peer peer;
	struct proto_msg m, hb = {.kind = PROTO_HEARTBEAT};
	struct error_info e;
	size_t ib, seen = 0;
	const char *ep;

	(void)state;
	server_up(&a, &client.pub, 1);
	server_up(&b, &client.pub, 1);
	/* each scheduler has its own key: the endpoint says which */
	ep = proto_server_endpoint(a.srv);
	assert_int_equal(proto_client_new(&ep, 1, &client.sec, &a.server.pub, &c, &e), 0);
	assert_int_equal(
	    proto_client_connect(c, proto_server_endpoint(b.srv), &b.server.pub, &ib, &e), 0);
	assert_int_equal(ib, 1);
	assert_string_equal(proto_client_endpoint(c, 1), proto_server_endpoint(b.srv));
	while (seen != 3) {
		wait_event(c, PROTO_CLIENT_UP, &ev);
		seen |= 1u << ev.endpoint;
	}
	/* a send goes to the one scheduler named, not round-robin */
	for (int i = 0; i < 4; i++) {
		hb.heartbeat.seq = (uint64_t)i;
		assert_int_equal(proto_client_send(c, 1, &hb), 0);
	}
	for (int i = 0; i < 4; i++) {
		server_wait(b.srv, &peer, &m);
		assert_int_equal(m.heartbeat.seq, i);
		proto_msg_clear(&m);
	}
	assert_int_equal(proto_server_recv(a.srv, &peer, &m, 100, NULL), CLOVER_ETIMEDOUT);
	/* replies say where they came from */
	hb.heartbeat.seq = 77;
	assert_int_equal(proto_client_send(c, 0, &hb), 0);
	server_wait(a.srv, &peer, &m);
	proto_msg_clear(&m);
	assert_int_equal(proto_server_send(a.srv, &peer, &hb), 0);
	wait_event(c, PROTO_CLIENT_MSG, &ev);
	assert_int_equal(ev.endpoint, 0);
	assert_int_equal(ev.msg.heartbeat.seq, 77);
	proto_msg_clear(&ev.msg);
	/* forget one; its index is free for the next */
	assert_int_equal(proto_client_disconnect(c, 0), 0);
	assert_int_equal(proto_client_disconnect(c, 0), CLOVER_ENOENT);
	assert_null(proto_client_endpoint(c, 0));
	assert_int_equal(proto_client_send(c, 0, &hb), CLOVER_ENOENT);
	assert_int_equal(
	    proto_client_connect(c, proto_server_endpoint(a.srv), &a.server.pub, &ib, &e), 0);
	assert_int_equal(ib, 0);
	wait_event(c, PROTO_CLIENT_UP, &ev);
	assert_int_equal(ev.endpoint, 0);
	assert_int_equal(proto_client_connect(c, "bogus://x", &a.server.pub, NULL, &e),
	                 CLOVER_EINVAL);
	assert_non_null(strstr(e.message, "cannot connect to bogus://x"));
	proto_client_free(c);
	proto_server_free(a.srv);
	proto_server_free(b.srv);
}

static void *waker(void *arg)
{
	sleep_ms(50);
	proto_client_wake(arg);
	return NULL;
}

static void *server_waker(void *arg)
{
	sleep_ms(50);
	proto_server_wake(arg);
	return NULL;
}

static void test_wake_and_errors(void **state)
{
	struct pair p;
	struct proto_client_event ev;
	struct proto_peer peer;
	struct proto_msg m;
	struct proto_server *dup;
	struct proto_key bad;
	struct error_info e;
	pthread_t t;
	int64_t t0;

	(void)state;
	p.client = keypair();
	server_up(&p, &p.client.pub, 1);
	client_up(&p, &p.server.pub);

	/* a receive blocked "forever" returns when another thread wakes it */
	t0 = time_mono_ms();
	assert_int_equal(pthread_create(&t, NULL, waker, p.cli), 0);
	do
		assert_int_equal(proto_client_recv(p.cli, &ev, -1, &e), 0);
	while (ev.kind != PROTO_CLIENT_WAKE);
	pthread_join(t, NULL);
	assert_true(time_mono_ms() - t0 < WAIT_MS);
	assert_int_equal(pthread_create(&t, NULL, server_waker, p.srv), 0);
	assert_int_equal(proto_server_recv(p.srv, &peer, &m, -1, &e), CLOVER_EAGAIN);
	pthread_join(t, NULL);

	/* a timeout is a timeout */
	t0 = time_mono_ms();
	assert_int_equal(proto_server_recv(p.srv, &peer, &m, 100, &e), CLOVER_ETIMEDOUT);
	assert_true(time_mono_ms() - t0 >= 100);

	/* the port is taken */
	assert_int_equal(
	    proto_server_new(proto_server_endpoint(p.srv), &p.server.sec, NULL, 0, &dup, &e),
	    CLOVER_EEXIST);
	assert_null(dup);
	assert_non_null(strstr(e.message, "cannot bind"));
	/* bad keys */
	snprintf(bad.z85, sizeof(bad.z85), "short");
	assert_int_equal(proto_server_new("tcp://127.0.0.1:*", &bad, NULL, 0, &dup, &e),
	                 CLOVER_EINVAL);
	assert_int_equal(proto_server_new("tcp://127.0.0.1:*", &p.server.sec, &bad, 1, &dup, &e),
	                 CLOVER_EINVAL);
	{
		const char *ep = "tcp://127.0.0.1:1";
		struct proto_client *c;

		assert_int_equal(proto_client_new(&ep, 1, &bad, &p.server.pub, &c, &e),
		                 CLOVER_EINVAL);
		assert_int_equal(proto_client_new(&ep, 1, &p.client.sec, &bad, &c, &e),
		                 CLOVER_EINVAL);
		assert_null(c);
	}
	proto_client_free(NULL);
	proto_server_free(NULL);
	proto_client_free(p.cli);
	proto_server_free(p.srv);
}

/* A 3 MiB incompressible log chunk crosses the transport intact. */
static void test_large_frame(void **state)
{
	enum { LEN = PROTO_LOG_CHUNK_MAX };
	struct pair p;
	struct proto_client_event ev;
	struct proto_peer peer;
	struct proto_msg m, log = {.kind = PROTO_LOG};
	char *data = malloc(LEN);
	uint32_t x = 99;

	(void)state;
	assert_non_null(data);
	for (int i = 0; i < LEN; i++) {
		x = x * 1664525u + 1013904223u;
		data[i] = (char)(x >> 24);
	}
	p.client = keypair();
	server_up(&p, &p.client.pub, 1);
	client_up(&p, &p.server.pub);
	wait_event(p.cli, PROTO_CLIENT_UP, &ev);
	log.log = (struct proto_log){1, 0, 1, 1, 0, data, LEN};
	assert_int_equal(proto_client_send(p.cli, 0, &log), 0);
	server_wait(p.srv, &peer, &m);
	assert_int_equal(m.log.len, LEN);
	assert_memory_equal(m.log.data, data, LEN);
	proto_msg_clear(&m);
	proto_client_free(p.cli);
	proto_server_free(p.srv);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keys),
	    cmocka_unit_test(test_key_files),
	    cmocka_unit_test(test_keygen_command),
	    cmocka_unit_test(test_exchange),
	    cmocka_unit_test(test_unknown_key_refused),
	    cmocka_unit_test(test_wrong_server_key),
	    cmocka_unit_test(test_malformed_frame),
	    cmocka_unit_test(test_two_schedulers),
	    cmocka_unit_test(test_wake_and_errors),
	    cmocka_unit_test(test_large_frame),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
