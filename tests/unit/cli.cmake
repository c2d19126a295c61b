# SPDX-License-Identifier: MIT
# The command-line client: tables, client plumbing (tokens, URLs, error bodies),
# argument handling of every API command. No server needed.
clover_test(test-cli-table SOURCES unit/test-cli-table.c LIBS clover_cli LABELS unit)
clover_test(test-cli-client SOURCES unit/test-cli-client.c LIBS clover_cli LABELS unit)
clover_test(test-cli-args SOURCES unit/test-cli-args.c LIBS clover_cli LABELS unit)
