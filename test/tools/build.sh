#!/usr/bin/env bash
# Builds the test control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl, kwok) into bin/ from the pinned tools modules. A second run
# does nothing while the binaries exist and the pins (go.mod/go.sum) and the
# version stamp are the ones they were built from.
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
bin="$root/bin"
mkdir -p "$bin"
stamp="$bin/.tools-version"
# A plain `go build` of k8s.io/kubernetes reports v0.0.0-master+$Format:%H$,
# which is not semantic: charts that semverCompare .Capabilities.KubeVersion
# fail to render. Stamp the pinned version at link time, as release builds do.
kube_version=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)
if [[ ! "$kube_version" =~ ^v([0-9]+)\.([0-9]+)\.[0-9]+$ ]]; then
  echo "tools: k8s.io/kubernetes is pinned at $kube_version, want a release vMAJOR.MINOR.PATCH" >&2
  exit 1
fi
pkg=k8s.io/component-base/version
kube_ldflags="-X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=${BASH_REMATCH[1]} -X $pkg.gitMinor=${BASH_REMATCH[2]} -X $pkg.gitTreeState=clean"
want=$( (cat go.mod go.sum kwok/go.mod kwok/go.sum; echo "$kube_ldflags") | sha256sum | cut -d' ' -f1)
bins=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok)
have_all=true
for b in "${bins[@]}"; do [[ -x "$bin/$b" ]] || have_all=false; done
if $have_all && [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "tools: up to date in $bin"
  exit 0
fi
rm -f "$stamp"
echo "tools: building etcd"
go build -o "$bin/etcd" go.etcd.io/etcd/server/v3
echo "tools: building kube-apiserver, kube-controller-manager, kube-scheduler, kubectl $kube_version (several minutes on a cold cache)"
go build -ldflags "$kube_ldflags" -o "$bin/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
echo "tools: building kwok"
(cd kwok && go build -o "$bin/kwok" sigs.k8s.io/kwok/cmd/kwok)
echo "$want" > "$stamp"
echo "tools: done"
