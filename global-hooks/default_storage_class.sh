#!/usr/bin/env bash
# Discovers the cluster's default StorageClass:
#   global.discovery.defaultStorageClass  its name, "" when there is none
#
# A StorageClass is default when annotated
# storageclass.kubernetes.io/is-default-class: "true" (or the beta
# annotation). With several defaults the newest one wins, as in the API
# server's DefaultStorageClass admission; ties are broken by name.
set -Eeuo pipefail
# shellcheck source=lib/context.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/context.sh"

if [[ "${1:-}" == "--config" ]]; then
  cat <<'YAML'
configVersion: v1
beforeAll: 10
kubernetes:
- name: storage_classes
  group: storage_classes
  apiVersion: storage.k8s.io/v1
  kind: StorageClass
  keepFullObjectsInMemory: false
  jqFilter: |
    {
      name: .metadata.name,
      created: (.metadata.creationTimestamp // ""),
      isDefault: (
        ((.metadata.annotations // {})["storageclass.kubernetes.io/is-default-class"] == "true")
        or ((.metadata.annotations // {})["storageclass.beta.kubernetes.io/is-default-class"] == "true")
      )
    }
YAML
  exit 0
fi

classes=$(snapshot_of storage_classes)
if [[ "$classes" == "null" ]]; then
  echo "no snapshot of StorageClasses in the binding context; discovery values left unchanged" >&2
  exit 0
fi

write_values_patch "$(jq -c '
  [.[] | select(.isDefault == true) | .created //= ""] as $defaults
  | ([$defaults[].created] | max) as $newest
  | ([$defaults[] | select(.created == $newest) | .name] | sort | .[0] // "") as $default
  | [{op: "add", path: "/global/discovery/defaultStorageClass", value: $default}]
' <<<"$classes")"
