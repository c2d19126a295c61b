/* SPDX-License-Identifier: MIT */
/*
 * HTTP jobs against a tiny HTTP/1.1 server started by the test on 127.0.0.1
 * with a kernel-chosen port (one thread per connection, "Connection: close"):
 *   /ok     200 "hello"            /unavailable  503 "try later"
 *   /echo   200, the request head and body as the response body
 *   /big    200, 200,000 bytes     /slow         never answers
 * Covered: default 2xx and explicit expectations (match and mismatch), method,
 * headers and body sent, X-Clover-* headers, the status line and body in the
 * log with the body capped, connection refused, timeout and kill.
 */
#include "exec-test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CONNS 64

struct server {
	int lfd;
	int port;
	int stop[2]; /* a byte here stops everything */
	pthread_t thread;
	pthread_t conns[MAX_CONNS];
	int nconns;
};

struct conn {
	struct server *srv;
	int fd;
};

static void send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void respond(int fd, const char *status, const char *body, size_t len)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
	                 "HTTP/1.1 %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", status,
	                 len);

	send_all(fd, head, (size_t)n);
	send_all(fd, body, len);
}

/* Waits for the client to close or the server to stop. */
static void hold(struct server *s, int fd)
{
	struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = s->stop[0], .events = POLLIN}};
	char tmp[256];

	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return;
		if (p[1].revents)
			return;
		if (p[0].revents && recv(fd, tmp, sizeof(tmp), 0) <= 0)
			return;
	}
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	char req[16384];
	size_t len = 0;
	char *end = NULL, *cl;
	size_t want = 0;

	/* Read the head, then Content-Length bytes of body. */
	while (len < sizeof(req) - 1) {
		ssize_t n = recv(c->fd, req + len, sizeof(req) - 1 - len, 0);

		if (n <= 0)
			goto out;
		len += (size_t)n;
		req[len] = '\0';
		if (end == NULL && (end = strstr(req, "\r\n\r\n")) != NULL) {
			cl = strcasestr(req, "\r\nContent-Length:");
			want = (size_t)(end + 4 - req) +
			       (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
		}
		if (end != NULL && len >= want)
			break;
	}
	if (strncmp(req, "GET /ok ", 8) == 0) {
		respond(c->fd, "200 OK", "hello", 5);
	} else if (strncmp(req, "GET /unavailable ", 17) == 0) {
		respond(c->fd, "503 Service Unavailable", "try later", 9);
	} else if (strstr(req, " /echo ") != NULL) {
		respond(c->fd, "200 OK", req, len);
	} else if (strncmp(req, "GET /big ", 9) == 0) {
		char *big = malloc(200000);

		assert_non_null(big);
		memset(big, 'b', 200000);
		respond(c->fd, "200 OK", big, 200000);
		free(big);
	} else if (strncmp(req, "GET /slow ", 10) == 0) {
		hold(c->srv, c->fd);
	} else {
		respond(c->fd, "404 Not Found", "", 0);
	}
out:
	close(c->fd);
	free(c);
	return NULL;
}

static void *server_main(void *arg)
{
	struct server *s = arg;
	struct pollfd p[2] = {{.fd = s->lfd, .events = POLLIN},
	                      {.fd = s->stop[0], .events = POLLIN}};

	for (;;) {
		struct conn *c;

		if (poll(p, 2, -1) < 0)
			continue;
		if (p[1].revents)
			return NULL;
		c = malloc(sizeof(*c));
		assert_non_null(c);
		c->srv = s;
		c->fd = accept(s->lfd, NULL, NULL);
		if (c->fd < 0 || s->nconns == MAX_CONNS) {
			if (c->fd >= 0)
				close(c->fd);
			free(c);
			continue;
		}
		assert_int_equal(pthread_create(&s->conns[s->nconns++], NULL, conn_main, c), 0);
	}
}

static int listen_any(int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 64), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static int setup(void **state)
{
	struct server *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	s->lfd = listen_any(&s->port);
	assert_int_equal(pipe(s->stop), 0);
	assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	struct server *s = *state;

	assert_int_equal(write(s->stop[1], "x", 1), 1);
	pthread_join(s->thread, NULL);
	for (int i = 0; i < s->nconns; i++)
		pthread_join(s->conns[i], NULL);
	close(s->lfd);
	close(s->stop[0]);
	close(s->stop[1]);
	free(s);
	return 0;
}

/* Runs one HTTP job (the "http" object given) and returns its FINISHED event. */
static struct rec_ev run_http(struct rec *r, const char *timeout, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static struct rec_ev run_http(struct rec *r, const char *timeout, const char *fmt, ...)
{
	char http[2048];
	struct exec_pool *p;
	struct job_spec *sp;
	struct rec_ev f;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(http, sizeof(http), fmt, ap);
	va_end(ap);
	sp = mkspec("{\"name\":\"web\",\"schedule\":\"@manual\"%s%s%s,\"run\":{\"http\":%s}}",
	            timeout ? ",\"timeout\":\"" : "", timeout ? timeout : "", timeout ? "\"" : "",
	            http);
	p = mkpool(r, 1, 0, 200, 0);
	submit(p, sp, 1);
	f = rec_wait(r, 1, EXEC_EV_FINISHED, 10000);
	exec_pool_free(p);
	job_spec_unref(sp);
	return f;
}

static void test_ok(void **state)
{
	struct server *s = *state;
	struct rec r;
	struct rec_ev f;
	char *log;

	rec_init(&r);
	f = run_http(&r, NULL, "{\"url\":\"http://127.0.0.1:%d/ok\"}", s->port);
	assert_int_equal(f.state, RUN_SUCCEEDED);
	assert_null(f.message);
	log = rec_log(&r, 1, NULL, NULL, NULL);
	assert_string_equal(log, "HTTP/1.1 200 OK\nhello\n");
	free(log);
	rec_ev_free(&f);
	rec_clear(&r);
}

static void test_unexpected_status(void **state)
{
	struct server *s = *state;
	struct rec r;
	struct rec_ev f;
	char *log;

	rec_init(&r);
	f = run_http(&r, NULL, "{\"url\":\"http://127.0.0.1:%d/unavailable\"}", s->port);
	assert_int_equal(f.state, RUN_FAILED);
	assert_int_equal(f.exit_code, -1);
	assert_string_equal(f.message, "HTTP 503 (expected 2xx)");
	log = rec_log(&r, 1, NULL, NULL, NULL);
	assert_string_equal(log, "HTTP/1.1 503 Service Unavailable\ntry later\n");
	free(log);
	rec_ev_free(&f);
	rec_clear(&r);

	rec_init(&r);
	f = run_http(&r, NULL, "{\"url\":\"http://127.0.0.1:%d/unavailable\",\"expect\":[200]}",
	             s->port);
	assert_int_equal(f.state, RUN_FAILED);
	assert_string_equal(f.message, "HTTP 503 (expected 200)");
	rec_ev_free(&f);
	rec_clear(&r);

	rec_init(&r);
	f = run_http(&r, NULL, "{\"url\":\"http://127.0.0.1:%d/ok\",\"expect\":[201,204]}",
	             s->port);
	assert_int_equal(f.state, RUN_FAILED);
	assert_string_equal(f.message, "HTTP 200 (expected 201, 204)");
	rec_ev_free(&f);
	rec_clear(&r);
}

static void test_expected_non_2xx(void **state)
{
	struct server *s = *state;
	struct rec r;
	struct rec_ev f;

	rec_init(&r);
	f = run_http(&r, NULL, "{\"url\":\"http://127.0.0.1:%d/unavailable\",\"expect\":[503]}",
	             s->port);
	assert_int_equal(f.state, RUN_SUCCEEDED);
	rec_ev_free(&f);
	rec_clear(&r);
}

static void test_method_headers_body(void **state)
{
	struct server *s = *state;
	struct rec r;
	struct rec_ev f;
	char *log;

	rec_init(&r);
	f = run_http(&r, NULL,
	             "{\"url\":\"http://127.0.0.1:%d/echo\",\"method\":\"PUT\","
	             "\"headers\":{\"X-Custom\":\"v1\",\"Content-Type\":\"application/json\"},"
	             "\"body\":\"{\\\"a\\\":1}\"}",
	             s->port);
	assert_int_equal(f.state, RUN_SUCCEEDED);
	log = rec_log(&r, 1, NULL, NULL, NULL);
	assert_non_null(strstr(log, "HTTP/1.1 200 OK\nPUT /echo HTTP/1.1\r\n"));
	assert_non_null(strstr(log, "\r\nX-Custom: v1\r\n"));
	assert_non_null(strstr(log, "\r\nContent-Type: application/json\r\n"));
	assert_non_null(strstr(log, "\r\nX-Clover-Job: web\r\n"));
	assert_non_null(strstr(log, "\r\nX-Clover-Run-Id: 1\r\n"));
	assert_non_null(strstr(log, "\r\nX-Clover-Scheduled-At: 2026-03-08T07:30:00Z\r\n"));
	assert_non_null(strstr(log, "\r\nX-Clover-Attempt: 1\r\n"));
	assert_non_null(strstr(log, "\r\n\r\n{\"a\":1}\n"));
	free(log);
	rec_ev_free(&f);
	rec_clear(&r);
}

static void test_body_capped(void **state)
{
	struct server *s = *state;
	struct rec r;
	struct rec_ev f;
	size_t len;
	char *log;
	const char *note = "\n[clover: 134464 more response bytes not kept]\n";

	rec_init(&r);
	f = run_http(&r, NULL, "{\"url\":\"http://127.0.0.1:%d/big\"}", s->port);
	assert_int_equal(f.state, RUN_SUCCEEDED);
	log = rec_log(&r, 1, &len, NULL, NULL);
	assert_int_equal(len, strlen("HTTP/1.1 200 OK\n") + 65536 + strlen(note));
	assert_string_equal(log + len - strlen(note), note);
	free(log);
	rec_ev_free(&f);
	rec_clear(&r);
}

static void test_connection_refused(void **state)
{
	struct rec r;
	struct rec_ev f;
	int port, fd = listen_any(&port);

	(void)state;
	close(fd); /* nothing listens there now */
	rec_init(&r);
	f = run_http(&r, NULL, "{\"url\":\"http://127.0.0.1:%d/ok\"}", port);
	assert_int_equal(f.state, RUN_FAILED);
	assert_non_null(f.message);
	assert_non_null(strstr(f.message, "onnect")); /* "Failed to connect ..." */
	rec_ev_free(&f);
	rec_clear(&r);
}

static void test_timeout(void **state)
{
	struct server *s = *state;
	struct rec r;
	struct rec_ev st, f;

	rec_init(&r);
	f = run_http(&r, "300ms", "{\"url\":\"http://127.0.0.1:%d/slow\"}", s->port);
	st = rec_wait(&r, 1, EXEC_EV_STARTED, 0);
	assert_int_equal(f.state, RUN_TIMED_OUT);
	assert_string_equal(f.message, "timed out after 300ms");
	assert_true(f.at - st.at >= 290);
	assert_true(f.at - st.at < 3000);
	rec_ev_free(&f);
	rec_ev_free(&st);
	rec_clear(&r);
}

static void test_kill(void **state)
{
	struct server *s = *state;
	struct rec r;
	struct exec_pool *p;
	struct job_spec *sp;
	struct rec_ev f;
	int64_t t0;

	rec_init(&r);
	sp = mkspec("{\"name\":\"web\",\"schedule\":\"@manual\","
	            "\"run\":{\"http\":{\"url\":\"http://127.0.0.1:%d/slow\"}}}",
	            s->port);
	p = mkpool(&r, 1, 0, 200, 0);
	submit(p, sp, 1);
	f = rec_wait(&r, 1, EXEC_EV_STARTED, 5000);
	rec_ev_free(&f);
	sleep_ms(100);
	t0 = time_mono_ms();
	assert_int_equal(exec_kill(p, 1, 0, 1, false), 0);
	f = rec_wait(&r, 1, EXEC_EV_FINISHED, 5000);
	assert_int_equal(f.state, RUN_CANCELLED);
	assert_true(time_mono_ms() - t0 < 500); /* woken, not polled once a second */
	rec_ev_free(&f);
	exec_pool_free(p);
	job_spec_unref(sp);
	rec_clear(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ok, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unexpected_status, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_expected_non_2xx, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_method_headers_body, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_body_capped, setup, teardown),
	    cmocka_unit_test(test_connection_refused),
	    cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kill, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
