#!/usr/bin/env bash
# The volumeClaimTemplates of a StatefulSet cannot be changed in place, so a
# new storage size or StorageClass (set in the config, or a default
# StorageClass that appeared) would make every Helm upgrade of the module
# fail. Before Helm runs, this hook compares the StatefulSet in the cluster
# with the values and, when the claim template differs, deletes the
# StatefulSet with orphan propagation (KUBERNETES_PATCH_PATH operation
# DeleteNonCascading): the Pods and their volumes stay, Helm creates the
# StatefulSet again with the new template and it adopts the Pods.
# Existing volumes keep their class and size; only new replicas get the new
# template. With ADDON_OPERATOR_NAMESPACE set (the operator's namespace, where
# its releases live) only StatefulSets there are considered.
#
# Requires bash and jq (jq 1.6 or newer, or gojq).
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
beforeHelm: 20
kubernetes:
- name: statefulset
  apiVersion: apps/v1
  kind: StatefulSet
  nameSelector:
    matchNames: [prometheus]
  labelSelector:
    matchLabels:
      app.kubernetes.io/name: prometheus
      app.kubernetes.io/part-of: addon-operator
${namespace_selector}
  executeHookOnEvent: []
  executeHookOnSynchronization: false
  keepFullObjectsInMemory: false
  jqFilter: |
    {
      name: .metadata.name,
      namespace: .metadata.namespace,
      deleting: (.metadata.deletionTimestamp != null),
      claim: (
        [.spec.volumeClaimTemplates[]? | select(.metadata.name == "data")][0]
        | {storageClass: (.spec.storageClassName // ""), size: (.spec.resources.requests.storage // "")}
      )
    }
YAML
  exit 0
fi

# The claim template the chart renders (templates/prometheus-statefulset.yaml).
# Sizes are compared in bytes: the API server may write a quantity in another
# unit than the values ("1024Mi" comes back as "1Gi").
desired=$(jq -c '. as $v | {
  storageClass: (($v.prometheus.storage.storageClass // "") | if . == "" then ($v.global.discovery.defaultStorageClass // "") else . end),
  size: ($v.prometheus.storage.size // "20Gi")
}' "$VALUES_PATH")

jq -c --argjson desired "$desired" --arg ns "${ADDON_OPERATOR_NAMESPACE:-}" '
  def bytes:
    (capture("^(?<n>[0-9]+(\\.[0-9]+)?)(?<u>[A-Za-z]*)$") // {n: "-1", u: ""})
    | (.n | tonumber) * ({"": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15,
                           Ki: 1024, Mi: 1048576, Gi: 1073741824, Ti: 1099511627776, Pi: 1125899906842624}[.u] // -1);
  def same($a; $b): $a.storageClass == $b.storageClass and ($a.size // "" | bytes) == ($b.size // "" | bytes);
  [.[] | (.snapshots.statefulset // [])[] | .filterResult | select($ns == "" or .namespace == $ns)]
  | unique_by(.namespace + "/" + .name)
  | map(select(.deleting | not) | select(same(.claim; $desired) | not))
  | .[]
  | {operation: "DeleteNonCascading", apiVersion: "apps/v1", kind: "StatefulSet", namespace: .namespace, name: .name}
' "$BINDING_CONTEXT_PATH" >>"$KUBERNETES_PATCH_PATH"

if [[ -s "$KUBERNETES_PATCH_PATH" ]]; then
  echo "the StatefulSet's volume claim template changed; deleting the StatefulSet (Pods and volumes kept) so that Helm re-creates it" >&2
fi
