#!/bin/bash
source "$(dirname "$0")/lib/common.sh"
if [[ "$1" == "--config" ]]; then
  cat <<'CONFIG'
configVersion: v1
kubernetes:
  - name: nodes
    apiVersion: v1
    kind: Node
    labelSelector: {matchLabels: {dedicated: ingress}}
    jqFilter: '.status.addresses'
CONFIG
  exit 0
fi
echo '[]' > "$VALUES_JSON_PATCH_PATH"
