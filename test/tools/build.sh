#!/usr/bin/env bash
# Builds the test control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl, kwok) into bin/ from the pinned tools modules. A second run
# does nothing while the binaries exist and the pins (go.mod/go.sum) are the
# ones they were built from.
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
bin="$root/bin"
mkdir -p "$bin"
stamp="$bin/.tools-version"
want=$(cat go.mod go.sum kwok/go.mod kwok/go.sum | sha256sum | cut -d' ' -f1)
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
echo "tools: building kube-apiserver, kube-controller-manager, kube-scheduler, kubectl (several minutes on a cold cache)"
go build -o "$bin/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
echo "tools: building kwok"
(cd kwok && go build -o "$bin/kwok" sigs.k8s.io/kwok/cmd/kwok)
echo "$want" > "$stamp"
echo "tools: done"
