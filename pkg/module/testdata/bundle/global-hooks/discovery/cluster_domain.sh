#!/bin/bash
source "$(dirname "$0")/../lib/helpers.sh"
if [[ "$1" == "--config" ]]; then
  echo 'configVersion: v1'
  echo 'beforeAll: 10'
  exit 0
fi
echo '[{"op": "add", "path": "/global/discovery/clusterDomain", "value": "cluster.local"}]' > "$VALUES_JSON_PATCH_PATH"
