# The built-in executor: pool and handlers, shell jobs, HTTP jobs.
foreach(t pool shell http)
  clover_test(test-exec-${t} SOURCES unit/test-exec-${t}.c LIBS clover_exec LABELS unit)
endforeach()
