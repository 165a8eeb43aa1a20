#!/usr/bin/env bash
# Watches ConfigMaps labelled faults=watched in the operator's namespace.
# Each run traces "watcher <type> <event> <name>" per binding context and
# puts the sorted names of the snapshot into watcher.internal.seen, which
# the chart's ConfigMap "watcher" shows.
set -euo pipefail
trace() { if [[ -n "${E2E_TRACE:-}" ]]; then echo "$*" >> "$E2E_TRACE"; fi; }
if [[ "${1:-}" == "--config" ]]; then
  cat <<YAML
configVersion: v1
kubernetes:
- name: watched
  apiVersion: v1
  kind: ConfigMap
  namespace: {nameSelector: {matchNames: ["${ADDON_OPERATOR_NAMESPACE}"]}}
  labelSelector: {matchLabels: {faults: watched}}
  jqFilter: '{name: .metadata.name, value: .data.value}'
  includeSnapshotsFrom: [watched]
  keepFullObjectsInMemory: false
YAML
  exit 0
fi
jq -r '.[] | "watcher \(.type) \(.watchEvent // "-") \(.filterResult.name? // "-")"' "$BINDING_CONTEXT_PATH" | while read -r line; do trace "$line"; done
jq -c 'last | (.snapshots.watched // .objects // []) | [.[].filterResult.name] | sort
  | [{op: "add", path: "/watcher/internal/seen", value: .}]' "$BINDING_CONTEXT_PATH" > "$VALUES_JSON_PATCH_PATH"
