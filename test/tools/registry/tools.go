//go:build tools

// Package tools pins the OCI registry (CNCF distribution) that test/registry
// runs. Its own module: distribution's dependencies (OpenTelemetry, gRPC)
// would otherwise move the control plane's pins. Built only by `make tools`.
package tools

import _ "github.com/distribution/distribution/v3/cmd/registry"
