/* SPDX-License-Identifier: MIT */
/* The long-running processes: `clover server` and `clover worker`. */
#ifndef CLOVER_DAEMON_DAEMON_H
#define CLOVER_DAEMON_DAEMON_H

/* `clover server [options]`: runs until SIGTERM/SIGINT; returns the exit status. */
int daemon_server_main(int argc, char **argv);

/*
 * `clover worker [options]`: an executor that takes work from the schedulers
 * given with --scheduler (docs/executors.md); runs until SIGTERM/SIGINT or a
 * drain. Returns the exit status: 0, 1 (failed), 2 (usage).
 */
int daemon_worker_main(int argc, char **argv);

#endif
