// Package metrics holds the operator's own Prometheus collectors, named
// after flant/addon-operator's self-metrics (prefix addon_operator_) where
// the peer has one. Where the peer's code and its documentation name a
// fact differently, both names are served from the one collector (peer.go).
// Other packages report the operator's own metrics through the methods here
// rather than declaring collectors of their own; shell-operator's kubernetes
// monitors report through the storage KubeStorage returns.
//
// It owns the names, help texts and labels of those collectors. It must not
// import other packages of the operator but module, whose Phase and
// Activation types are its phase and activation label values, and never
// serves HTTP: package server exposes the registry.
package metrics
