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
