clover_test(test-base SOURCES unit/test-base.c LIBS clover_base LABELS unit)
