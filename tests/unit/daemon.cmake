clover_test(test-config SOURCES unit/test-config.c LIBS clover_daemon LABELS unit)
clover_test(test-remote SOURCES unit/test-remote.c LIBS clover_daemon LABELS unit)
