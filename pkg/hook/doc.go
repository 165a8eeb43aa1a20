// Package hook runs hooks: executables bound to lifecycle events, schedules
// and Kubernetes events, speaking the shell-operator / addon-operator hook
// protocol (`--config`, binding context files, values and config-values JSON
// patches, Kubernetes object patches, metrics).
//
// The Kubernetes and schedule machinery (kube events manager, schedule
// manager, hook config conversion, binding contexts, object patcher) is
// shell-operator's, used as a library; this package wires it to the
// operator's values and queues. One exception: a kubernetes binding whose
// hook never sees whole objects (keepFullObjectsInMemory: false) over fixed
// namespaces gets this package's own monitor (monitor.go), which keeps
// only each object's jqFilter result and lists once, page by page.
//
// It owns hook processes (Runner), their configurations and the bindings
// that trigger them (Engine). It must not import converge, module, helm or
// queue: what a hook's result means for modules and Helm is the caller's.
package hook
