/* SPDX-License-Identifier: MIT */
/* The long-running processes: `clover server` (and later `clover worker`). */
#ifndef CLOVER_DAEMON_DAEMON_H
#define CLOVER_DAEMON_DAEMON_H

/* `clover server [options]`: runs until SIGTERM/SIGINT; returns the exit status. */
int daemon_server_main(int argc, char **argv);

#endif
