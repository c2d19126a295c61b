# The store layer (SQLite backend): schema and synchronous calls; the write path for runs and logs.
foreach(t store store-runs store-stats)
  clover_test(test-${t} SOURCES unit/test-${t}.c LIBS clover_store LABELS unit)
endforeach()
