#!/usr/bin/env bash
# Counts Nodes labelled dedicated=ingress into global.discovery.ingressCount.
set -euo pipefail
source "$(dirname "$0")/lib/trace.sh"
if [[ "${1:-}" == "--config" ]]; then
  cat <<'YAML'
configVersion: v1
kubernetes:
- name: nodes
  apiVersion: v1
  kind: Node
  jqFilter: '.metadata.labels.dedicated // ""'
  includeSnapshotsFrom: [nodes]
YAML
  exit 0
fi
trace "global nodes $(jq -r '.[-1].type' "$BINDING_CONTEXT_PATH")"
count=$(jq '[.[-1].snapshots.nodes[]? | select(.filterResult == "ingress")] | length' "$BINDING_CONTEXT_PATH")
jq -nc --argjson c "$count" '[{"op":"add","path":"/global/discovery/ingressCount","value":$c}]' > "$VALUES_JSON_PATCH_PATH"
