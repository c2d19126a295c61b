clover_test(test-config SOURCES unit/test-config.c LIBS clover_daemon LABELS unit)
