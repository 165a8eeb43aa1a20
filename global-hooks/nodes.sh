#!/usr/bin/env bash
# Discovers the cloud provider and the number of Nodes:
#   global.discovery.cloudProvider  aws, gcp, azure, openstack, yandex, ... or
#                                   "none" when no Node has a spec.providerID
#   global.discovery.nodeCount      number of Node objects
#
# The provider is the most common scheme of the Nodes' spec.providerID
# ("aws:///eu-central-1a/i-0123" -> aws, "gce://project/zone/vm" -> gcp),
# ties broken alphabetically. Known schemes are mapped to their provider names
# (gce -> gcp, hcloud -> hetzner, ...); other schemes pass through lower-cased
# (kind, k3s, ...). Node status updates do not run the hook: the jqFilter keeps
# only the name and the providerID.
set -Eeuo pipefail
# shellcheck source=lib/context.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/context.sh"

if [[ "${1:-}" == "--config" ]]; then
  cat <<'YAML'
configVersion: v1
beforeAll: 10
kubernetes:
- name: nodes
  group: nodes
  apiVersion: v1
  kind: Node
  keepFullObjectsInMemory: false
  jqFilter: '{name: .metadata.name, providerID: (.spec.providerID // "")}'
YAML
  exit 0
fi

nodes=$(snapshot_of nodes)
if [[ "$nodes" == "null" ]]; then
  echo "no snapshot of Nodes in the binding context; discovery values left unchanged" >&2
  exit 0
fi

write_values_patch "$(jq -c '
  def provider:
    if test("^[A-Za-z][A-Za-z0-9+.-]*://") then
      (split("://")[0] | ascii_downcase) as $scheme
      | {
          "aws": "aws",
          "gce": "gcp",
          "azure": "azure",
          "openstack": "openstack",
          "yandex": "yandex",
          "digitalocean": "digitalocean",
          "hcloud": "hetzner",
          "vsphere": "vsphere",
          "oci": "oracle",
          "linode": "linode",
          "ibm": "ibm",
          "exoscale": "exoscale",
          "scaleway": "scaleway",
          "equinixmetal": "equinix",
          "packet": "equinix",
          "vultr": "vultr",
          "ovhcloud": "ovh",
          "huaweicloud": "huawei",
          "alicloud": "alibaba"
        }[$scheme] // ($scheme | gsub("[^a-z0-9-]"; ""))
    else "" end;
  ([.[] | .providerID // "" | provider | select(. != "")]
   | group_by(.)
   | map({provider: .[0], n: length})
   | sort_by(-.n, .provider)
   | .[0].provider // "none") as $provider
  | [
      {op: "add", path: "/global/discovery/cloudProvider", value: $provider},
      {op: "add", path: "/global/discovery/nodeCount", value: length}
    ]
' <<<"$nodes")"
