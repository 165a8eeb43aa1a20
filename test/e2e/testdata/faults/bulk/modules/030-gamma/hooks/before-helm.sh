#!/usr/bin/env bash
# Traces "gamma beforeHelm <version>" and takes half a second, so that a
# converge of the bundle lasts a few seconds.
set -euo pipefail
if [[ "${1:-}" == "--config" ]]; then
  echo '{"configVersion":"v1","beforeHelm":1}'
  exit 0
fi
if [[ -n "${E2E_TRACE:-}" ]]; then
  echo "gamma beforeHelm $(jq -r '.gamma.version' "$VALUES_PATH")" >> "$E2E_TRACE"
fi
sleep 0.5
