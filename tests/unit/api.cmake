# Unit tests of the API layer: its parsers, and the server over real HTTP
# (libcurl) against a real store.
clover_test(test-api-parse SOURCES unit/test-api-parse.c LIBS clover_api LABELS unit)
clover_test(test-api SOURCES unit/test-api.c unit/test-api-harness.c
  LIBS clover_api PkgConfig::CURL LABELS unit)
clover_test(test-api-auth SOURCES unit/test-api-auth.c unit/test-api-harness.c
  LIBS clover_api PkgConfig::CURL LABELS unit)
clover_test(test-api-session SOURCES unit/test-api-session.c unit/test-api-harness.c
  LIBS clover_api PkgConfig::CURL LABELS unit)
clover_test(test-api-contacts SOURCES unit/test-api-contacts.c unit/test-api-harness.c
  LIBS clover_api PkgConfig::CURL LABELS unit)
clover_test(test-api-observe SOURCES unit/test-api-observe.c unit/test-api-harness.c
  LIBS clover_api PkgConfig::CURL LABELS unit)
