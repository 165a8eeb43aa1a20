#!/usr/bin/env bash
# Discovers the Nodes dedicated to ingress (label dedicated=ingress):
#   global.discovery.ingressNodes.names  sorted Node names
#   global.discovery.ingressNodes.count  how many
#
# The binding watches only labelled Nodes and keeps only their names, so the
# hook runs when a Node joins or leaves that set (created, deleted, labelled,
# unlabelled) and not on any other Node change.
set -Eeuo pipefail
# shellcheck source=lib/context.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/context.sh"

if [[ "${1:-}" == "--config" ]]; then
  cat <<'YAML'
configVersion: v1
beforeAll: 10
kubernetes:
- name: ingress_nodes
  group: ingress_nodes
  apiVersion: v1
  kind: Node
  labelSelector:
    matchLabels:
      dedicated: ingress
  keepFullObjectsInMemory: false
  jqFilter: '{name: .metadata.name}'
YAML
  exit 0
fi

# An Event without a snapshot is applied to the set known from the values.
base=$(jq -c '[(.global.discovery.ingressNodes.names // [])[] | {name: .}]' "$VALUES_PATH")
nodes=$(snapshot_of ingress_nodes "$base")
if [[ "$nodes" == "null" ]]; then
  echo "no snapshot of ingress Nodes in the binding context; discovery values left unchanged" >&2
  exit 0
fi

write_values_patch "$(jq -c '
  [.[].name] | unique as $names
  | [{op: "add", path: "/global/discovery/ingressNodes", value: {names: $names, count: ($names | length)}}]
' <<<"$nodes")"
