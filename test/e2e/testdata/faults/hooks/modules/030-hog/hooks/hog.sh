#!/usr/bin/env bash
# Doubles a string until an allocation fails (under --hook-memory-limit)
# or the string reaches 2 GiB.
set -euo pipefail
if [[ "${1:-}" == "--config" ]]; then
  echo '{"configVersion":"v1","beforeHelm":1}'
  exit 0
fi
s=x
for _ in $(seq 31); do s=$s$s; done
echo "allocated ${#s} bytes"
