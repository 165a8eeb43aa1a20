//go:build tools

// Package tools pins kwok, the fake kubelet of the test cluster. It lives in
// its own module because kwok needs other k8s.io versions than Kubernetes
// v1.34's own binaries. Built only by `make tools`.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
