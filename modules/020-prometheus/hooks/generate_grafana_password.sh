#!/usr/bin/env bash
# Makes sure prometheus.grafana.adminPassword exists and derives the basic
# auth line of the Secret prometheus-basic-auth from it.
#
#  - When the config values have no password, generates one (32 letters and
#    digits from /dev/urandom) and writes it as a config-values patch: the
#    schema marks the field x-secret, so the operator stores it in the Secret
#    <configmap>-secrets and it survives restarts. An existing password is
#    never replaced.
#  - Writes prometheus.internal.basicAuth.htpasswd = "admin:<SHA-512 crypt>"
#    (what `openssl passwd -6` prints, readable by NGINX and Apache) as a
#    values patch. The line already in the cluster's Secret is kept while it
#    still matches the password, so the rendered manifests stay the same
#    between runs and operator restarts; otherwise a new random salt is used.
#
# The password never reaches stdout, stderr or a command line: it moves
# through environment variables and stdin only.
# Requires bash, jq (or gojq), head, tr, and the operator binary for the
# hash: its hidden `sha512-crypt` command, found through $ADDON_OPERATOR_BIN
# (the operator sets it for every hook) or else as addon-operator on PATH.
set -Eeuo pipefail

if [[ "${1:-}" == "--config" ]]; then
  namespace_selector=""
  if [[ -n "${ADDON_OPERATOR_NAMESPACE:-}" ]]; then
    namespace_selector="  namespace:
    nameSelector:
      matchNames: [\"${ADDON_OPERATOR_NAMESPACE}\"]"
  fi
  cat <<YAML
configVersion: v1
beforeHelm: 10
kubernetes:
- name: basic_auth_secret
  apiVersion: v1
  kind: Secret
  nameSelector:
    matchNames: [prometheus-basic-auth]
  labelSelector:
    matchLabels:
      app.kubernetes.io/name: prometheus
      app.kubernetes.io/part-of: addon-operator
${namespace_selector}
  executeHookOnEvent: []
  executeHookOnSynchronization: false
  keepFullObjectsInMemory: false
  jqFilter: '{name: .metadata.name, namespace: .metadata.namespace, auth: (.data.auth // "")}'
YAML
  exit 0
fi

random_chars() { # random_chars N SET: N random characters of the tr set SET
  local out=""
  while (( ${#out} < $1 )); do
    out+=$(head -c 96 /dev/urandom | tr -dc "$2")
  done
  printf '%s' "${out:0:$1}"
}

password=$(jq -r '.prometheus.grafana.adminPassword // "" | strings' "$CONFIG_VALUES_PATH")
if [[ -z "$password" ]]; then
  password=$(random_chars 32 'A-Za-z0-9')
  # A parent missing from the config values is added whole, so that the
  # patch applies under strict RFC 6902 too.
  PASSWORD=$password jq -c '
    if (.prometheus | type) != "object" then
      [{op: "add", path: "/prometheus", value: {grafana: {adminPassword: env.PASSWORD}}}]
    elif (.prometheus.grafana | type) != "object" then
      [{op: "add", path: "/prometheus/grafana", value: {adminPassword: env.PASSWORD}}]
    else
      [{op: "add", path: "/prometheus/grafana/adminPassword", value: env.PASSWORD}]
    end
  ' "$CONFIG_VALUES_PATH" >>"$CONFIG_VALUES_JSON_PATCH_PATH"
  echo "generated the Grafana admin password (prometheus.grafana.adminPassword)" >&2
fi

crypt() { # crypt SALT: SHA-512 crypt of $password
  printf '%s\n' "$password" | "${ADDON_OPERATOR_BIN:-addon-operator}" sha512-crypt --salt "$1"
}

# The auth line of the Secret in the cluster, if the binding context has it.
current=$(jq -r --arg ns "${ADDON_OPERATOR_NAMESPACE:-}" '
  [.[] | (.snapshots.basic_auth_secret // [])[] | .filterResult
   | select($ns == "" or .namespace == $ns) | .auth // ""] | last // ""
  | try @base64d catch ""
' "$BINDING_CONTEXT_PATH")
htpasswd=""
if [[ "$current" =~ ^admin:\$6\$([./0-9A-Za-z]{1,16})\$ ]] \
  && [[ "$current" == "admin:$(crypt "${BASH_REMATCH[1]}")" ]]; then
  htpasswd=$current
else
  htpasswd="admin:$(crypt "$(random_chars 16 './0-9A-Za-z')")"
fi

HTPASSWD=$htpasswd jq -cn '
  [{op: "add", path: "/prometheus/internal/basicAuth", value: {htpasswd: env.HTPASSWD}}]
' >>"$VALUES_JSON_PATCH_PATH"
