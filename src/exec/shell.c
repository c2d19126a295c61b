/* SPDX-License-Identifier: MIT */
/*
 * Shell jobs: `/bin/sh -c <spec->shell>` started with posix_spawn() (the
 * scheduler is large and multithreaded: no fork) as the leader of its own
 * process group, with default signal dispositions, an empty signal mask,
 * stdin from /dev/null and stdout+stderr on one pipe, so their lines stay
 * interleaved as written. The environment is the server's, plus spec->env,
 * plus the CLOVER_* variables describing the run (which win over both).
 *
 * Supervision happens on the worker thread with poll() over the output pipe,
 * a pidfd of the shell (a 10 ms waitpid(WNOHANG) tick where pidfds are
 * missing) and the worker's wake eventfd. No SIGCHLD handler is installed;
 * only the shell's own pid, and later only its group, is ever waited for.
 *
 * Terms: *term* is SIGTERM to the whole group (-pgid) and *kill9* the SIGKILL
 * that follows kill_grace_ms later if any member is left. The *drain* is the
 * time we keep reading after the shell exited: until EOF, or 100 ms without
 * data (at most 1 s), because a background process may hold the pipe open
 * for ever. Group members still alive after the drain (*stragglers*) are
 * stopped the same way (term, grace, kill9): a shard's processes do not
 * outlive it. Zombies of the group that were reparented to this process (when
 * it is a child subreaper) are reaped with waitpid(-pgid).
 */
#include "exec/internal.h"

#include "base/buf.h"
#include "base/log.h"
#include "base/time.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define SHELL_PATH     "/bin/sh"
#define DRAIN_QUIET_MS 100         /* after the shell exits: stop after this long without data */
#define DRAIN_MAX_MS   1000        /* ... or this long after the exit, whatever comes */
#define LINGER_MS      50          /* output is sent when a chunk fills or is this old */
#define TICK_MS        10          /* polling period where nothing else can wake us */
#define REAP_WAIT_MS   200         /* after SIGKILL: how long to wait for the group to vanish */
#define ENV_MAX        (16u << 20) /* the job's added environment strings */

static const char *const clover_vars[] = {
    "CLOVER_JOB",         "CLOVER_RUN_ID",      "CLOVER_SCHEDULED_AT", "CLOVER_SHARD",
    "CLOVER_SHARD_COUNT", "CLOVER_SHARD_PARAM", "CLOVER_ATTEMPT",      "CLOVER_PARAMS",
};
#define NCLOVER_VARS (sizeof(clover_vars) / sizeof(clover_vars[0]))

/* True when the environment entry "KEY=..." has the key `key`. */
static bool env_is(const char *entry, const char *key)
{
	size_t n = strlen(key);

	return strncmp(entry, key, n) == 0 && entry[n] == '=';
}

static bool is_clover_var(const char *entry_or_key, bool entry)
{
	for (size_t i = 0; i < NCLOVER_VARS; i++)
		if (entry ? env_is(entry_or_key, clover_vars[i])
		          : strcmp(entry_or_key, clover_vars[i]) == 0)
			return true;
	return false;
}

/*
 * Builds the child's environment: *envp (free it) points into environ and into
 * *strs (buf_free it). Returns 0 or a CLOVER_E* code.
 */
static int build_env(const struct exec_request *req, char ***envp, struct buf *strs)
{
	const struct job_spec *spec = req->spec;
	char when[40];
	size_t nenv = 0, n = 0, noff = 0, *offs = NULL;
	char **env = NULL;
	int rc = CLOVER_ENOMEM;

	buf_init(strs, ENV_MAX);
	for (char **e = environ; e && *e; e++)
		nenv++;
	env = calloc(nenv + spec->nenv + NCLOVER_VARS + 1, sizeof(*env));
	offs = calloc(spec->nenv + NCLOVER_VARS, sizeof(*offs));
	if (env == NULL || offs == NULL)
		goto fail;

	for (char **e = environ; e && *e; e++) {
		bool keep = !is_clover_var(*e, true);

		for (size_t i = 0; keep && i < spec->nenv; i++)
			keep = !env_is(*e, spec->env[i].key);
		if (keep)
			env[n++] = *e;
	}
	/* Offsets first: the buffer may move while it grows. */
#define ADD(...)                                                                                   \
	do {                                                                                       \
		offs[noff++] = strs->len;                                                          \
		if ((rc = buf_printf(strs, __VA_ARGS__)) != 0 ||                                   \
		    (rc = buf_append(strs, "", 1)) != 0)                                           \
			goto fail;                                                                 \
	} while (0)
	for (size_t i = 0; i < spec->nenv; i++)
		if (!is_clover_var(spec->env[i].key, false))
			ADD("%s=%s", spec->env[i].key, spec->env[i].val ? spec->env[i].val : "");
	time_format_rfc3339(req->scheduled_at, when, sizeof(when), req->scheduled_at % 1000 != 0);
	ADD("CLOVER_JOB=%s", spec->name ? spec->name : "");
	ADD("CLOVER_RUN_ID=%lld", (long long)req->run_id);
	ADD("CLOVER_SCHEDULED_AT=%s", when);
	ADD("CLOVER_SHARD=%d", req->shard);
	ADD("CLOVER_SHARD_COUNT=%d", req->shard_count);
	ADD("CLOVER_SHARD_PARAM=%s", req->shard_param ? req->shard_param : "");
	ADD("CLOVER_ATTEMPT=%d", req->attempt);
	ADD("CLOVER_PARAMS=%s", req->params ? req->params : "");
#undef ADD
	for (size_t i = 0; i < noff; i++)
		env[n++] = strs->data + offs[i];
	env[n] = NULL;
	free(offs);
	*envp = env;
	return 0;
fail:
	free(offs);
	free(env);
	buf_free(strs);
	return rc;
}

/* Moves `fd` above 2, so a dup2() onto 0-2 can never be a no-op. */
static int fd_above_stdio(int fd)
{
	int nfd;

	if (fd > 2)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return nfd;
}

static int pidfd_open_compat(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

/* Starts the shell; on failure fills `res` and returns -1. */
static pid_t spawn_shell(struct exec_ctx *ctx, int wfd, struct exec_result *res)
{
	const struct job_spec *spec = ctx->task->req.spec;
	char *argv[] = {"sh", "-c", spec->shell, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	struct buf strs;
	char **envp = NULL;
	pid_t pid = -1;
	int err, rc;

	rc = build_env(&ctx->task->req, &envp, &strs);
	if (rc) {
		exec_result_set(res, RUN_FAILED, -1, "cannot build the environment: %s",
		                clover_strerror(rc));
		return -1;
	}
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	err = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (!err)
		err = posix_spawn_file_actions_adddup2(&fa, wfd, 1);
	if (!err)
		err = posix_spawn_file_actions_adddup2(&fa, wfd, 2);
	if (!err && spec->cwd && spec->cwd[0])
		err = posix_spawn_file_actions_addchdir_np(&fa, spec->cwd);
	if (!err)
		err = posix_spawnattr_setflags(
		    &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	if (!err)
		err = posix_spawnattr_setpgroup(&attr, 0);
	if (!err)
		err = posix_spawnattr_setsigmask(&attr, &none);
	if (!err)
		err = posix_spawnattr_setsigdefault(&attr, &all);
	if (err) {
		exec_result_set(res, RUN_FAILED, -1, "cannot prepare the shell: %s", strerror(err));
		goto out;
	}
	err = posix_spawn(&pid, SHELL_PATH, &fa, &attr, argv, envp);
	if (err) {
		pid = -1;
		if (spec->cwd && spec->cwd[0])
			exec_result_set(res, RUN_FAILED, -1, "cannot start %s in cwd '%s': %s",
			                SHELL_PATH, spec->cwd, strerror(err));
		else
			exec_result_set(res, RUN_FAILED, -1, "cannot start %s: %s", SHELL_PATH,
			                strerror(err));
	}
out:
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	free(envp);
	buf_free(&strs);
	return pid;
}

/* The supervision state of one shell. */
struct sup {
	struct exec_ctx *ctx;
	pid_t pid; /* also the pgid */
	int rfd;   /* output pipe, -1 after EOF */
	int pidfd; /* -1: tick instead */
	bool reaped;
	int status;   /* waitpid status of the shell, when reaped */
	bool lost;    /* the shell was reaped by someone else (ECHILD) */
	bool termed;  /* SIGTERM sent to the group */
	bool killed9; /* SIGKILL sent to the group */
	int64_t term_at, kill9_at, reaped_at, last_data;
	enum exec_kill_kind why; /* what the term was for; NONE: stragglers */
	char *chunk;
	size_t clen, cmax;
	int64_t chunk_at; /* when the oldest unsent byte arrived */
};

static void flush(struct sup *s)
{
	if (s->clen == 0)
		return;
	exec_emit_log(s->ctx, s->chunk, s->clen);
	s->clen = 0;
}

static void signal_group(struct sup *s, int sig)
{
	if (kill(-s->pid, sig) < 0 && errno != ESRCH)
		log_at(LOG_WARN, "exec", "job=%s run=%lld shard=%d: kill(-%d, %d): %s",
		       s->ctx->task->req.spec->name, (long long)s->ctx->task->req.run_id,
		       s->ctx->task->req.shard, (int)s->pid, sig, strerror(errno));
}

static void term(struct sup *s, enum exec_kill_kind why, int64_t now)
{
	s->termed = true;
	s->why = why;
	s->term_at = now;
	signal_group(s, SIGTERM);
}

/* Reads what the pipe holds now; returns after EAGAIN or EOF. */
static void read_output(struct sup *s, int64_t now)
{
	for (int i = 0; i < 64; i++) {
		ssize_t n = read(s->rfd, s->chunk + s->clen, s->cmax - s->clen);

		if (n > 0) {
			if (s->clen == 0)
				s->chunk_at = now;
			s->clen += (size_t)n;
			s->last_data = now;
			if (s->clen == s->cmax)
				flush(s);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		close(s->rfd); /* EOF, or an error that reading again would repeat */
		s->rfd = -1;
		return;
	}
}

static void check_shell(struct sup *s, int64_t now)
{
	pid_t r;

	do
		r = waitpid(s->pid, &s->status, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return;
	if (r < 0) {
		/* Someone else waited for it (waitpid(-1) or SIGCHLD ignored). */
		s->lost = true;
		log_at(LOG_WARN, "exec", "job=%s run=%lld shard=%d: pid %d reaped elsewhere: %s",
		       s->ctx->task->req.spec->name, (long long)s->ctx->task->req.run_id,
		       s->ctx->task->req.shard, (int)s->pid, strerror(errno));
	}
	s->reaped = true;
	s->reaped_at = now;
	if (s->pidfd >= 0) {
		close(s->pidfd);
		s->pidfd = -1;
	}
}

/* Reaps group members that became our children; true if the group remains. */
static bool group_alive(struct sup *s)
{
	int st;

	while (waitpid(-s->pid, &st, WNOHANG) > 0)
		;
	return kill(-s->pid, 0) == 0;
}

static int64_t min_wait(int64_t cur, int64_t until, int64_t now)
{
	int64_t d = until > now ? until - now : 0;

	return cur < 0 || d < cur ? d : cur;
}

static void supervise(struct sup *s)
{
	struct exec_ctx *ctx = s->ctx;
	int64_t grace = ctx->pool->opt.kill_grace_ms;
	struct pollfd fds[3];

	for (;;) {
		int64_t now = time_mono_ms(), wait = -1, drain_end = 0;
		enum exec_kill_kind kind;
		int nfds = 0, ipipe = -1, ipid = -1;

		if (!s->termed) {
			kind = exec_ctx_kill_kind(ctx);
			if (kind == EXEC_KILL_NONE && !s->reaped && ctx->deadline_ms > 0 &&
			    now >= ctx->deadline_ms)
				kind = exec_ctx_time_out(ctx);
			if (kind != EXEC_KILL_NONE)
				term(s, kind, now);
		}
		if (s->termed && !s->killed9 && now >= s->term_at + grace) {
			signal_group(s, SIGKILL);
			s->killed9 = true;
			s->kill9_at = now;
		}
		if (s->reaped) {
			drain_end = (s->last_data > s->reaped_at ? s->last_data : s->reaped_at) +
			            DRAIN_QUIET_MS;
			if (drain_end > s->reaped_at + DRAIN_MAX_MS)
				drain_end = s->reaped_at + DRAIN_MAX_MS;
			if (s->rfd < 0 || now >= drain_end) {
				/*
				 * After SIGKILL the group dies for sure; waiting a little
				 * longer only lets us reap the zombies that are ours.
				 */
				if (!group_alive(s) ||
				    (s->killed9 && now >= s->kill9_at + REAP_WAIT_MS))
					break;
				if (!s->termed) {
					log_at(LOG_INFO, "exec",
					       "job=%s run=%lld shard=%d: the shell exited; "
					       "terminating what is left of process group %d",
					       ctx->task->req.spec->name,
					       (long long)ctx->task->req.run_id,
					       ctx->task->req.shard, (int)s->pid);
					term(s, EXEC_KILL_NONE, now);
				}
				wait = TICK_MS;
			} else {
				wait = min_wait(wait, drain_end, now);
			}
		}

		if (!s->termed && !s->reaped && ctx->deadline_ms > 0)
			wait = min_wait(wait, ctx->deadline_ms, now);
		if (s->termed && !s->killed9)
			wait = min_wait(wait, s->term_at + grace, now);
		if (s->clen > 0)
			wait = min_wait(wait, s->chunk_at + LINGER_MS, now);
		if (!s->reaped && s->pidfd < 0)
			wait = min_wait(wait, now + TICK_MS, now);

		fds[nfds].fd = ctx->worker->wakefd;
		fds[nfds++].events = POLLIN;
		if (s->rfd >= 0) {
			ipipe = nfds;
			fds[nfds].fd = s->rfd;
			fds[nfds++].events = POLLIN;
		}
		if (!s->reaped && s->pidfd >= 0) {
			ipid = nfds;
			fds[nfds].fd = s->pidfd;
			fds[nfds++].events = POLLIN;
		}
		if (wait > 60000)
			wait = 60000;
		if (poll(fds, (nfds_t)nfds, (int)wait) < 0) {
			if (errno != EINTR) {
				struct timespec pause = {0, TICK_MS * 1000000L};

				/* Only ENOMEM is plausible: do not spin on it. */
				log_at(LOG_WARN, "exec", "poll: %s", strerror(errno));
				nanosleep(&pause, NULL);
			}
			continue;
		}
		now = time_mono_ms();
		if (fds[0].revents)
			exec_worker_drain_wake(ctx->worker);
		if (ipipe >= 0 && fds[ipipe].revents)
			read_output(s, now);
		if (!s->reaped && (s->pidfd < 0 || (ipid >= 0 && fds[ipid].revents)))
			check_shell(s, now);
		if (s->clen > 0 && now >= s->chunk_at + LINGER_MS)
			flush(s);
	}
	flush(s);
}

static void signal_name(int sig, char *out, size_t n)
{
	const char *abbrev = sigabbrev_np(sig);

	if (abbrev)
		snprintf(out, n, "SIG%s", abbrev);
	else
		snprintf(out, n, "%d", sig);
}

void exec_shell_run(struct exec_ctx *ctx, struct exec_result *res)
{
	const struct job_spec *spec = ctx->task->req.spec;
	struct exec_worker *w = ctx->worker;
	struct sup s = {.ctx = ctx, .rfd = -1, .pidfd = -1};
	enum exec_kill_kind kind;
	struct stat st;
	int pfd[2], code = -1;
	char sig[32];

	if (spec->shell == NULL || spec->shell[0] == '\0') {
		exec_result_set(res, RUN_FAILED, -1, "the job has no shell command");
		return;
	}
	if (spec->cwd && spec->cwd[0]) {
		if (stat(spec->cwd, &st) < 0) {
			exec_result_set(res, RUN_FAILED, -1, "cwd '%s': %s", spec->cwd,
			                strerror(errno));
			return;
		}
		if (!S_ISDIR(st.st_mode)) {
			exec_result_set(res, RUN_FAILED, -1, "cwd '%s': not a directory",
			                spec->cwd);
			return;
		}
	}
	if (w->chunk == NULL) {
		w->chunk = malloc(ctx->pool->opt.log_chunk_max);
		if (w->chunk == NULL) {
			exec_result_set(res, RUN_FAILED, -1, "out of memory");
			return;
		}
	}
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		exec_result_set(res, RUN_FAILED, -1, "pipe: %s", strerror(errno));
		return;
	}
	pfd[0] = fd_above_stdio(pfd[0]);
	pfd[1] = fd_above_stdio(pfd[1]);
	if (pfd[0] < 0 || pfd[1] < 0 || fcntl(pfd[0], F_SETFL, O_NONBLOCK) < 0) {
		exec_result_set(res, RUN_FAILED, -1, "pipe: %s", strerror(errno));
		if (pfd[0] >= 0)
			close(pfd[0]);
		if (pfd[1] >= 0)
			close(pfd[1]);
		return;
	}
	exec_worker_drain_wake(w);
	s.pid = spawn_shell(ctx, pfd[1], res);
	close(pfd[1]);
	if (s.pid < 0) {
		close(pfd[0]);
		return;
	}
	log_at(LOG_DEBUG, "exec", "job=%s run=%lld shard=%d attempt=%d: started pid %d", spec->name,
	       (long long)ctx->task->req.run_id, ctx->task->req.shard, ctx->task->req.attempt,
	       (int)s.pid);
	s.rfd = pfd[0];
	s.pidfd = pidfd_open_compat(s.pid);
	s.chunk = w->chunk;
	s.cmax = ctx->pool->opt.log_chunk_max;
	supervise(&s);
	if (s.rfd >= 0)
		close(s.rfd);
	if (s.pidfd >= 0)
		close(s.pidfd);

	if (!s.lost && WIFEXITED(s.status))
		code = WEXITSTATUS(s.status);
	kind = s.termed ? s.why : EXEC_KILL_NONE;
	if (kind == EXEC_KILL_NONE)
		kind = exec_ctx_kill_kind(ctx); /* killed while draining: still honoured */
	if (kind != EXEC_KILL_NONE)
		exec_result_killed(res, ctx, kind, code);
	else if (s.lost)
		exec_result_set(res, RUN_FAILED, -1, "exit status unknown (reaped elsewhere)");
	else if (WIFEXITED(s.status) && code == 0)
		exec_result_set(res, RUN_SUCCEEDED, 0, NULL);
	else if (WIFEXITED(s.status))
		exec_result_set(res, RUN_FAILED, code, "exit status %d", code);
	else if (WIFSIGNALED(s.status)) {
		signal_name(WTERMSIG(s.status), sig, sizeof(sig));
		exec_result_set(res, RUN_FAILED, -1, "killed by signal %s", sig);
	} else {
		exec_result_set(res, RUN_FAILED, -1, "wait status %#x", (unsigned)s.status);
	}
}
