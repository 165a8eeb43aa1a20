#!/usr/bin/env bash
# Traces every lifecycle binding; beforeHelm also computes internal.upper.
set -euo pipefail
source "$(dirname "$0")/lib/trace.sh"
if [[ "${1:-}" == "--config" ]]; then
  cat <<'YAML'
configVersion: v1
onStartup: 1
beforeHelm: 1
afterHelm: 1
beforeDeleteHelm: 1
afterDeleteHelm: 1
YAML
  exit 0
fi
binding=$(jq -r '.[0].binding' "$BINDING_CONTEXT_PATH")
trace "echo $binding"
# beforeHelm fails while the file $E2E_DIR/echo-fail exists: the module's
# new values are then not applied.
if [[ "$binding" == "beforeHelm" && -n "${E2E_DIR:-}" && -e "$E2E_DIR/echo-fail" ]]; then
  echo "echo: the failure switch is on" >&2
  exit 1
fi
if [[ "$binding" == "beforeHelm" ]]; then
  jq -c '[{"op":"add","path":"/echo/internal/upper","value":(.echo.message | ascii_upcase)}]' "$VALUES_PATH" > "$VALUES_JSON_PATCH_PATH"
fi
