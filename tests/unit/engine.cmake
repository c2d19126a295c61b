clover_test(test-engine SOURCES unit/test-engine.c LIBS clover_core LABELS unit)
