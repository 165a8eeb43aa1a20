#!/usr/bin/env bash
# A schedule binding every two seconds on its own queue.
set -euo pipefail
source "$(dirname "$0")/lib/trace.sh"
if [[ "${1:-}" == "--config" ]]; then
  printf 'configVersion: v1\nschedule:\n- name: tick\n  crontab: "*/2 * * * * *"\n  queue: ticks\n'
  exit 0
fi
trace "echo $(jq -r '.[0].binding + " " + .[0].type' "$BINDING_CONTEXT_PATH")"
