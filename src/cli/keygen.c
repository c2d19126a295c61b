/* SPDX-License-Identifier: MIT */
/*
 * `clover keygen`: makes a CURVE key pair for a scheduler or an executor.
 *
 *   clover keygen [--force] NAME
 *       writes NAME.key (the secret key, mode 0600) and NAME.pub (the public
 *       key and NAME as a comment), then prints the public key on standard
 *       output. NAME may include a directory ("/etc/clover/sched-1").
 *
 * The scheduler is given its own NAME.key and the .pub files of the
 * executors it accepts; an executor its own NAME.key and the scheduler's
 * .pub (docs/protocol.md "Keys"). Existing files are not replaced without
 * --force. Exit status: 0 done, 1 failed (files, CURVE support), 2 usage.
 */
#include "cli/cli.h"

#include "clover.h"
#include "proto/zmq.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char usage_text[] =
    "usage: clover keygen [--force] NAME\n"
    "\n"
    "Makes a CURVE key pair for a scheduler or an executor: writes NAME.key\n"
    "(the secret key, mode 0600) and NAME.pub (the public key), and prints the\n"
    "public key. NAME may include a directory.\n"
    "\n"
    "  --force   replace existing NAME.key and NAME.pub\n"
    "\n"
    "Give the scheduler its NAME.key and the .pub files of the executors it\n"
    "accepts; give each executor its NAME.key and the scheduler's .pub.\n"
    "See docs/protocol.md.\n";

int cli_keygen_main(int argc, char **argv)
{
	const char *name = NULL;
	struct proto_keypair kp;
	struct error_info e;
	bool force = false;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage_text, stdout);
			return 0;
		} else if (strcmp(argv[i], "--force") == 0 || strcmp(argv[i], "-f") == 0) {
			force = true;
		} else if (strcmp(argv[i], "--") == 0 && i + 1 < argc && name == NULL) {
			name = argv[++i];
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "clover keygen: unknown option '%s'\n%s", argv[i],
			        usage_text);
			return 2;
		} else if (name == NULL) {
			name = argv[i];
		} else {
			fprintf(stderr, "clover keygen: one NAME only ('%s' is extra)\n%s", argv[i],
			        usage_text);
			return 2;
		}
	}
	if (name == NULL || name[0] == '\0') {
		fprintf(stderr, "clover keygen: NAME is missing\n%s", usage_text);
		return 2;
	}
	if ((rc = proto_keygen(&kp)) != 0) {
		fprintf(stderr, "clover keygen: cannot make a key pair: %s\n",
		        rc == CLOVER_ENOTSUP ? "this libzmq has no CURVE support"
		                             : clover_strerror(rc));
		return 1;
	}
	rc = proto_keypair_write(name, &kp, force, &e);
	explicit_bzero(&kp.sec, sizeof(kp.sec));
	if (rc != 0) {
		fprintf(stderr, "clover keygen: %s\n", e.message);
		return rc == CLOVER_EINVAL ? 2 : 1;
	}
	printf("%s\n", kp.pub.z85);
	return 0;
}
