#!/usr/bin/env bash
# Discovers the API server's version:
#   global.discovery.kubernetesVersion  "major.minor", e.g. "1.34"
#
# Read from the API server's /version endpoint with `kubectl get --raw`
# (kubectl uses the Pod's service account in the cluster, $KUBECONFIG outside
# it; set $KUBECTL to use another binary). The kubelets' versions are not used:
# they may lag behind the control plane and fake kubelets report anything.
# Runs before every converge and every 15 minutes, so an upgrade of the
# control plane shows up without restarting the operator. Fails (and is
# retried) when the API server cannot be asked.
set -Eeuo pipefail
# shellcheck source=lib/context.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/context.sh"

if [[ "${1:-}" == "--config" ]]; then
  cat <<'YAML'
configVersion: v1
beforeAll: 5
schedule:
- name: refresh_kubernetes_version
  crontab: "*/15 * * * *"
YAML
  exit 0
fi

if ! version_json=$("${KUBECTL:-kubectl}" get --raw /version); then
  echo "cannot read /version from the API server" >&2
  exit 1
fi

# major/minor are the API server's own version; some providers add a suffix
# ("30+"). gitVersion ("v1.30.2-eks-1552ad0") is the fallback: binaries built
# from source report a placeholder there ("v0.0.0-master+$Format:%H$").
version=$(jq -r '
  def digits: (. // "") | tostring | gsub("[^0-9]"; "");
  def usable: test("^[1-9][0-9]*\\.[0-9]+$");
  ((.major | digits) + "." + (.minor | digits)) as $fields
  | ([(.gitVersion // "") | capture("^v?(?<major>[0-9]+)\\.(?<minor>[0-9]+)")? | "\(.major).\(.minor)"] | .[0] // "") as $git
  | [$fields, $git] | map(select(usable)) | .[0] // ""
' <<<"$version_json")
if [[ ! "$version" =~ ^[0-9]+\.[0-9]+$ ]]; then
  echo "the API server's /version answer has no usable version" >&2
  exit 1
fi

write_values_patch "$(jq -cn --arg v "$version" '[{op: "add", path: "/global/discovery/kubernetesVersion", value: $v}]')"
