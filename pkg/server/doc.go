// Package server is the operator's HTTP endpoint: /healthz, /readyz,
// /metrics (the operator's own metrics) and /metrics/hooks (metrics that
// hooks write to METRICS_PATH).
//
// It owns the listener and those routes; other packages add routes with
// Handle. It must not import other packages of the operator: readiness and
// the metric registries come in as a func and prometheus.Gatherers.
package server
