# The notify layer. Unit tests need no network; the integration tests start a
# real SMTP server (python3-aiosmtpd with tests/support/smtp_sink.py) and a
# webhook receiver (libmicrohttpd) on loopback.
foreach(t group format api)
  clover_test(test-notify-${t} SOURCES unit/test-notify-${t}.c LIBS clover_notify LABELS unit)
endforeach()
clover_test(test-notify-smtp SOURCES unit/test-notify-smtp.c LIBS clover_notify
            LABELS integration)
target_compile_definitions(test-notify-smtp PRIVATE
  NOTIFY_SUPPORT_DIR="${PROJECT_SOURCE_DIR}/tests/support")
clover_test(test-notify-webhook SOURCES unit/test-notify-webhook.c
            LIBS clover_notify PkgConfig::MHD PkgConfig::JANSSON LABELS integration)
