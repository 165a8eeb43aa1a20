#!/usr/bin/env bash
# Fails when a control-plane or operator process started from this
# repository's bin/ is still running after the tests: every test must stop
# what it started.
set -euo pipefail
bin=$(cd "$(dirname "$0")/../bin" && pwd)
strays=$(pgrep -fa "^$bin/" || true)
if [[ -n "$strays" ]]; then
  echo "stray processes left by the tests:" >&2
  echo "$strays" >&2
  exit 1
fi
echo "no stray processes"
