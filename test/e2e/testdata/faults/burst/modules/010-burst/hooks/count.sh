#!/usr/bin/env bash
# Follows ConfigMaps labelled faults=burst in $E2E_BURST_NS with two
# bindings on one queue:
#  - "events" gets every event (no snapshots): traces "burst <event> <name>";
#  - "all" is grouped, so a run gets one Group context with the snapshot
#    however many events it merges (the pattern for large snapshots: every
#    context of a binding with includeSnapshotsFrom would carry the whole
#    snapshot). Its size is traced as "burst run <size> <contexts>" and put
#    into burst.internal.count.
# The jqFilter keeps the name and data.n only, so an annotation change is
# no event.
set -euo pipefail
if [[ "${1:-}" == "--config" ]]; then
  cat <<YAML
configVersion: v1
kubernetes:
- name: events
  apiVersion: v1
  kind: ConfigMap
  namespace: {nameSelector: {matchNames: ["${E2E_BURST_NS}"]}}
  labelSelector: {matchLabels: {faults: burst}}
  jqFilter: '{name: .metadata.name, n: .data.n}'
  executeHookOnSynchronization: false
  keepFullObjectsInMemory: false
  queue: burst
- name: all
  apiVersion: v1
  kind: ConfigMap
  namespace: {nameSelector: {matchNames: ["${E2E_BURST_NS}"]}}
  labelSelector: {matchLabels: {faults: burst}}
  jqFilter: '{name: .metadata.name, n: .data.n}'
  keepFullObjectsInMemory: false
  group: count
  queue: burst
YAML
  exit 0
fi
count=$(jq -r '[.[] | select(.type == "Group")] | if length == 0 then "-" else (last | .snapshots.all | length) end' "$BINDING_CONTEXT_PATH")
if [[ -n "${E2E_TRACE:-}" ]]; then
  {
    jq -r '.[] | select(.type == "Event") | "burst \(.watchEvent) \(.filterResult.name)"' "$BINDING_CONTEXT_PATH"
    echo "burst run $count $(jq length "$BINDING_CONTEXT_PATH")"
  } >> "$E2E_TRACE"
fi
if [[ "$count" != "-" ]]; then
  jq -nc --argjson n "$count" '[{op: "add", path: "/burst/internal/count", value: $n}]' > "$VALUES_JSON_PATCH_PATH"
fi
