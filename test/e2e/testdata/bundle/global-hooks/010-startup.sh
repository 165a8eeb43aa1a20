#!/usr/bin/env bash
set -euo pipefail
source "$(dirname "$0")/lib/trace.sh"
if [[ "${1:-}" == "--config" ]]; then
  echo '{"configVersion":"v1","onStartup":10}'
  exit 0
fi
trace "global onStartup"
jq -nc '[{"op":"add","path":"/global/startedBy","value":"onStartup"}]' > "$VALUES_JSON_PATCH_PATH"
