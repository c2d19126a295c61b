# Browser tests of the console (label `browser`): headless Debian chromium
# driven by playwright-core against a real `clover server`. Screenshots go to
# <build>/test-artifacts/console/. See docs/testing.md.
add_test(NAME browser-console
  COMMAND ${PROJECT_SOURCE_DIR}/tests/browser/run.sh $<TARGET_FILE:clover>
          ${PROJECT_BINARY_DIR}/test-artifacts/console)
set_tests_properties(browser-console PROPERTIES LABELS browser TIMEOUT 300
  SKIP_RETURN_CODE 77)
