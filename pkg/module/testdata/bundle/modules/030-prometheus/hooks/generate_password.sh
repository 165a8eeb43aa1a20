#!/bin/bash
if [[ "$1" == "--config" ]]; then
  echo '{"configVersion": "v1", "beforeHelm": 5}'
  exit 0
fi
echo '[{"op": "add", "path": "/prometheus/internal/password", "value": "generated"}]' > "$CONFIG_VALUES_JSON_PATCH_PATH"
