#!/usr/bin/env bash
# Builds into bin/, from pinned Go modules, everything the tests need besides
# Go, make, git and bash:
#  - the test control plane (etcd, kube-apiserver, kube-controller-manager,
#    kube-scheduler, kubectl, kwok), pinned in go.mod and kwok/go.mod;
#  - the test helpers: registry (the CNCF distribution OCI registry that
#    test/registry runs, registry/go.mod) and jq (gojq, for the shipped hooks,
#    jq/go.mod).
# Each group has its own stamp: a second run does nothing while the group's
# binaries exist and its pins (go.mod/go.sum) and version stamp are the ones
# they were built from, so bumping a helper does not rebuild Kubernetes.
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
bin="$root/bin"
mkdir -p "$bin"

# fresh STAMP HASH BINARY...: whether every binary is in bin/ and STAMP holds
# HASH.
fresh() {
  local stamp=$1 want=$2 b
  shift 2
  for b in "$@"; do [[ -x "$bin/$b" ]] || return 1; done
  [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]
}

build_control_plane() {
  local stamp="$bin/.tools-version"
  # A plain `go build` of k8s.io/kubernetes reports v0.0.0-master+$Format:%H$,
  # which is not semantic: charts that semverCompare .Capabilities.KubeVersion
  # fail to render. Stamp the pinned version at link time, as release builds do.
  local kube_version
  kube_version=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)
  if [[ ! "$kube_version" =~ ^v([0-9]+)\.([0-9]+)\.[0-9]+$ ]]; then
    echo "tools: k8s.io/kubernetes is pinned at $kube_version, want a release vMAJOR.MINOR.PATCH" >&2
    exit 1
  fi
  local pkg=k8s.io/component-base/version
  local kube_ldflags="-X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=${BASH_REMATCH[1]} -X $pkg.gitMinor=${BASH_REMATCH[2]} -X $pkg.gitTreeState=clean"
  local want
  want=$( (cat go.mod go.sum kwok/go.mod kwok/go.sum; echo "$kube_ldflags") | sha256sum | cut -d' ' -f1)
  if fresh "$stamp" "$want" etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok; then
    return
  fi
  rm -f "$stamp"
  echo "tools: building etcd"
  go build -o "$bin/etcd" go.etcd.io/etcd/server/v3
  echo "tools: building kube-apiserver, kube-controller-manager, kube-scheduler, kubectl $kube_version (several minutes on a cold cache)"
  go build -ldflags "$kube_ldflags" -o "$bin/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
  echo "tools: building kwok"
  (cd kwok && go build -o "$bin/kwok" sigs.k8s.io/kwok/cmd/kwok)
  echo "$want" >"$stamp"
}

build_helpers() {
  local stamp="$bin/.tools-helpers-version" want
  want=$(cat registry/go.mod registry/go.sum jq/go.mod jq/go.sum | sha256sum | cut -d' ' -f1)
  if fresh "$stamp" "$want" registry jq; then
    return
  fi
  rm -f "$stamp"
  echo "tools: building registry (distribution $(cd registry && go list -m -f '{{.Version}}' github.com/distribution/distribution/v3))"
  (cd registry && go build -o "$bin/registry" github.com/distribution/distribution/v3/cmd/registry)
  echo "tools: building jq (gojq $(cd jq && go list -m -f '{{.Version}}' github.com/itchyny/gojq))"
  (cd jq && go build -o "$bin/jq" github.com/itchyny/gojq/cmd/gojq)
  echo "$want" >"$stamp"
}

build_control_plane
build_helpers
echo "tools: up to date in $bin"
