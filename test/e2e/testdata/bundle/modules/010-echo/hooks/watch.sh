#!/usr/bin/env bash
# A kubernetes binding with a jqFilter on a named queue: traces each run with
# the filtered sizes it saw.
set -euo pipefail
source "$(dirname "$0")/lib/trace.sh"
if [[ "${1:-}" == "--config" ]]; then
  cat <<'YAML'
configVersion: v1
kubernetes:
- name: sized
  apiVersion: v1
  kind: ConfigMap
  namespace: {nameSelector: {matchNames: [e2e-watch]}}
  labelSelector: {matchLabels: {e2e: watch}}
  jqFilter: .data.size
  queue: watch
YAML
  exit 0
fi
jq -r '.[] | "echo watch \(.type) \(.watchEvent // "-") \(.filterResult // ([.objects[]?.filterResult] | join(",")))"' "$BINDING_CONTEXT_PATH" | while read -r line; do trace "$line"; done
