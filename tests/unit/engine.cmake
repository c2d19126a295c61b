clover_test(test-engine SOURCES unit/test-engine.c LIBS clover_core LABELS unit)
clover_test(test-engine-fires SOURCES unit/test-engine-fires.c LIBS clover_core LABELS unit)
