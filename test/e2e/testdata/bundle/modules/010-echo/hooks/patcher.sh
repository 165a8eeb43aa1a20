#!/usr/bin/env bash
# For each ConfigMap labelled e2e=patch-request in e2e-watch, asks the
# operator (KUBERNETES_PATCH_PATH) to create, patch and delete objects.
set -euo pipefail
source "$(dirname "$0")/lib/trace.sh"
if [[ "${1:-}" == "--config" ]]; then
  cat <<'YAML'
configVersion: v1
kubernetes:
- name: requests
  apiVersion: v1
  kind: ConfigMap
  namespace: {nameSelector: {matchNames: [e2e-watch]}}
  labelSelector: {matchLabels: {e2e: patch-request}}
  executeHookOnSynchronization: false
  executeHookOnEvent: [Added]
  jqFilter: .metadata.name
YAML
  exit 0
fi
for name in $(jq -r '.[] | select(.type == "Event") | .filterResult' "$BINDING_CONTEXT_PATH"); do
  trace "echo patcher $name"
  cat >> "$KUBERNETES_PATCH_PATH" <<JSON
{"operation":"CreateOrUpdate","object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"$name-created","namespace":"e2e-watch"},"data":{"by":"patcher"}}}
{"operation":"MergePatch","apiVersion":"v1","kind":"ConfigMap","namespace":"e2e-watch","name":"$name","mergePatch":{"data":{"patched":"merge"}}}
{"operation":"JQPatch","apiVersion":"v1","kind":"ConfigMap","namespace":"e2e-watch","name":"$name","jqFilter":".data.jq = \"yes\""}
{"operation":"Delete","apiVersion":"v1","kind":"ConfigMap","namespace":"e2e-watch","name":"$name-doomed"}
JSON
done
