# The notify layer. Unit tests need no network.
foreach(t group format api)
  clover_test(test-notify-${t} SOURCES unit/test-notify-${t}.c LIBS clover_notify LABELS unit)
endforeach()
