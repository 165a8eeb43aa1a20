#!/usr/bin/env bash
# Never exits: the runner kills it at --hook-timeout.
set -euo pipefail
if [[ "${1:-}" == "--config" ]]; then
  echo '{"configVersion":"v1","beforeHelm":1}'
  exit 0
fi
sleep 600
