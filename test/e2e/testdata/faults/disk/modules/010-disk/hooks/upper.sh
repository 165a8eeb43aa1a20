#!/usr/bin/env bash
# Puts disk.message in upper case into disk.internal.upper.
set -euo pipefail
if [[ "${1:-}" == "--config" ]]; then
  echo '{"configVersion":"v1","beforeHelm":1}'
  exit 0
fi
jq -c '[{op: "add", path: "/disk/internal", value: {upper: (.disk.message | ascii_upcase)}}]' "$VALUES_PATH" > "$VALUES_JSON_PATCH_PATH"
