// Package converge is the operator's control loop: it turns configuration
// changes, hook results, Kubernetes and schedule events and healing signals
// into work on the queues, and that work into hook runs and Helm releases.
//
// Lifecycle. At start: global onStartup hooks → Synchronization of global
// kubernetes bindings → beforeAll → module discovery (`*Enabled` flags, then
// module.yaml requirements, then `enabled` scripts, in the order of starts:
// a module after the modules it requires) → for each disabled module that
// runs or has a release, in reverse: beforeDeleteHelm → uninstall →
// afterDeleteHelm → for each enabled module, once its enabled prerequisites
// (module.Bundle.Prerequisites) have finished their run, at most
// Deps.ModuleParallelism at once: onStartup (first run) → Synchronization of
// its kubernetes bindings → beforeHelm → Helm → afterHelm → afterAll. Then:
//
//   - a change of the global config section, of any `*Enabled` flag, or of
//     global values by a global hook re-runs all of the above but onStartup;
//   - a change of one module's config section, a module hook patching its
//     module's values, or a deleted object of its release re-runs that module;
//   - kubernetes and schedule events run the bound hook on its queue, at
//     most as often as the hook's settings allow (executionMinInterval,
//     executionBurst); a run put off leaves the queue, comes back when due
//     and absorbs the hook's events that arrived meanwhile.
//
// Failures. A failing global step fails its task, which the queue retries
// with backoff, blocking the main queue (global values feed every module).
// A failing module does not block others: its error is recorded in its
// status and the module alone is re-run after a backoff (the queue's
// backoff settings), until it succeeds or its configuration changes.
//
// It owns module states and the order of lifecycle steps. It must not import
// operator, updater, status or debug (they build on it) and never talks to
// the API server itself: Helm, hooks and the config store do, behind the
// small interfaces it declares.
package converge
