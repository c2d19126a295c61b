# The coord layer: the coordination tree (the in-process backend).
clover_test(test-coord SOURCES unit/test-coord.c LIBS clover_coord LABELS unit)
