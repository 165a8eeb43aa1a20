#!/usr/bin/env bash
# Two kubernetes bindings in one group on a named queue: each run gets one
# "Group" context with the snapshots of both bindings.
set -euo pipefail
source "$(dirname "$0")/lib/trace.sh"
if [[ "${1:-}" == "--config" ]]; then
  cat <<'YAML'
configVersion: v1
kubernetes:
- name: configs
  apiVersion: v1
  kind: ConfigMap
  namespace: {nameSelector: {matchNames: [e2e-watch]}}
  labelSelector: {matchLabels: {e2e: group}}
  jqFilter: .metadata.name
  group: pair
  queue: groups
  keepFullObjectsInMemory: false
- name: secrets
  apiVersion: v1
  kind: Secret
  namespace: {nameSelector: {matchNames: [e2e-watch]}}
  labelSelector: {matchLabels: {e2e: group}}
  jqFilter: .metadata.name
  group: pair
  queue: groups
  allowFailure: true
YAML
  exit 0
fi
jq -r '.[] | "echo group \(.type) \(.groupName) \(.snapshots.configs | length) \(.snapshots.secrets | length)"' "$BINDING_CONTEXT_PATH" | while read -r line; do trace "$line"; done
if [[ -n "${E2E_DIR:-}" && -e "$E2E_DIR/group-fail" ]]; then
  echo "group hook asked to fail" >&2
  exit 1
fi
