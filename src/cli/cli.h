/* SPDX-License-Identifier: MIT */
/*
 * Entry points of the `clover` sub-commands, called by src/main.c with argv[0]
 * being the sub-command's name ("cron"). Each returns the process exit status:
 * 0 success, 1 failure, 2 bad usage or bad input.
 */
#ifndef CLOVER_CLI_CLI_H
#define CLOVER_CLI_CLI_H

/*
 * `clover cron next|explain ...`: computes fire instants of a schedule and
 * describes it, offline (no server needed). See docs/cron.md.
 */
int cli_cron_main(int argc, char **argv);

/*
 * The API client commands (docs/cli.md), over the REST API with libcurl. Each
 * accepts the global options --server, --token, --data and -o anywhere and
 * returns 0, 1 (the server said no or could not be reached) or 2 (usage).
 */
int cli_job_main(int argc, char **argv);     /* `clover job apply|ls|show|rm|pause|resume|trigger` */
int cli_runs_main(int argc, char **argv);    /* `clover runs`: list runs */
int cli_run_main(int argc, char **argv);     /* `clover run show|log|kill` */
int cli_user_main(int argc, char **argv);    /* `clover user add|ls|rm` */
int cli_token_main(int argc, char **argv);   /* `clover token create|ls|revoke` */
int cli_version_main(int argc, char **argv); /* `clover version`: client and server versions */
int cli_executors_main(int argc, char **argv); /* `clover executors [ls|disable|enable|drain]` */
int cli_contacts_main(int argc, char **argv);  /* `clover contacts [ls|add|rm]` */
int cli_events_main(int argc, char **argv);    /* `clover events`: the system event log */

/*
 * `clover keygen [--force] NAME`: writes a CURVE key pair to NAME.key (secret,
 * mode 0600) and NAME.pub, and prints the public key. Offline. See
 * docs/protocol.md "Keys".
 */
int cli_keygen_main(int argc, char **argv);

#endif
