#!/usr/bin/env bash
# Fails while the file $E2E_DIR/flaky-fail exists; traces each attempt with
# the time, so the test can see the backoff.
set -euo pipefail
if [[ "${1:-}" == "--config" ]]; then
  echo '{"configVersion":"v1","beforeHelm":1}'
  exit 0
fi
if [[ -n "${E2E_DIR:-}" && -e "$E2E_DIR/flaky-fail" ]]; then
  echo "flaky attempt $(date +%s.%N)" >> "$E2E_TRACE"
  echo "flaky: the failure switch is on" >&2
  exit 1
fi
echo "flaky ok" >> "${E2E_TRACE:-/dev/null}"
