# Integration tests: real processes on loopback with private data directories.
add_test(NAME integration-standalone
  COMMAND ${PROJECT_SOURCE_DIR}/tests/integration/standalone.sh $<TARGET_FILE:clover>)
set_tests_properties(integration-standalone PROPERTIES LABELS integration TIMEOUT 600)
add_test(NAME integration-remote
  COMMAND ${PROJECT_SOURCE_DIR}/tests/integration/remote.sh $<TARGET_FILE:clover>)
set_tests_properties(integration-remote PROPERTIES LABELS integration TIMEOUT 300)
add_test(NAME integration-alerts
  COMMAND ${PROJECT_SOURCE_DIR}/tests/integration/alerts.sh $<TARGET_FILE:clover>)
set_tests_properties(integration-alerts PROPERTIES LABELS integration TIMEOUT 300)
add_test(NAME integration-metrics
  COMMAND ${PROJECT_SOURCE_DIR}/tests/integration/metrics.sh $<TARGET_FILE:clover>)
set_tests_properties(integration-metrics PROPERTIES LABELS integration TIMEOUT 120)
# The installed libclover: the build installed into a temporary prefix and
# examples/worker-hello.c built against it with pkg-config (under ASan the
# application needs the sanitizer flags too).
if(CLOVER_SANITIZE)
  set(libclover_cflags "-fsanitize=address,undefined")
else()
  set(libclover_cflags "")
endif()
add_test(NAME integration-libclover
  COMMAND ${PROJECT_SOURCE_DIR}/tests/integration/libclover.sh ${PROJECT_BINARY_DIR}
          ${PROJECT_SOURCE_DIR} "${libclover_cflags}")
set_tests_properties(integration-libclover PROPERTIES LABELS integration TIMEOUT 120)
