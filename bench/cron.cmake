# SPDX-License-Identifier: MIT
# bench/cron: ns per cron_next() and cron_parse(); see bench/cron.c and docs/cron.md.
add_executable(bench_cron cron.c)
target_link_libraries(bench_cron PRIVATE clover_cron)
set_target_properties(bench_cron PROPERTIES OUTPUT_NAME cron
  RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bench)
