#!/usr/bin/env bash
# Writes 100 MB of short lines to stdout, then succeeds.
set -euo pipefail
if [[ "${1:-}" == "--config" ]]; then
  echo '{"configVersion":"v1","beforeHelm":1}'
  exit 0
fi
yes "chatty hook output line" | head -c 100000000 || true  # yes ends on SIGPIPE
