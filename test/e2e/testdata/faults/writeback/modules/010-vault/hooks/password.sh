#!/usr/bin/env bash
# Generates vault.password (x-secret: saved in the Secret) together with
# vault.passwordSetAt (saved in the ConfigMap) in one config-values patch,
# once. When a previous run's write was cut short after the Secret, only
# the missing passwordSetAt is written. Traces "vault generated" or
# "vault completed".
set -euo pipefail
trace() { if [[ -n "${E2E_TRACE:-}" ]]; then echo "$*" >> "$E2E_TRACE"; fi; }
if [[ "${1:-}" == "--config" ]]; then
  echo '{"configVersion":"v1","beforeHelm":1}'
  exit 0
fi
password=$(jq -r '.vault.password // ""' "$CONFIG_VALUES_PATH")
set_at=$(jq -r '.vault.passwordSetAt // ""' "$CONFIG_VALUES_PATH")
if [[ -z "$password" ]]; then
  password=$(head -c 64 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24)
  PASSWORD=$password jq -nc '[{op: "add", path: "/vault/password", value: env.PASSWORD},
    {op: "add", path: "/vault/passwordSetAt", value: (now | todate)}]' > "$CONFIG_VALUES_JSON_PATCH_PATH"
  trace "vault generated"
elif [[ -z "$set_at" ]]; then
  jq -nc '[{op: "add", path: "/vault/passwordSetAt", value: (now | todate)}]' > "$CONFIG_VALUES_JSON_PATCH_PATH"
  trace "vault completed"
fi
