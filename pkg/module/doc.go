// Package module loads a bundle: the directory of modules, global hooks and
// static values that the operator runs, laid out as flant/addon-operator
// expects (modules/NNN-name/ with Chart.yaml, values.yaml, hooks/, enabled,
// openapi/ and crds/; global-hooks/; values.yaml).
//
// Load only reads files; it runs nothing and talks to no cluster. The
// Bundle it returns is a plain model, never modified afterwards: any number
// of goroutines may read it, and callers must not modify it either.
//
// What Load accepts, and what it refuses:
//
//   - Missing parts are fine: a bundle without values.yaml, modules/ or
//     global-hooks/ loads with those parts empty, and a module directory
//     may hold any subset of its files (a module without Chart.yaml is
//     valid; HasChart tells the Helm layer to synthesize one).
//   - A directory in a modules dir whose name is not NNN-name (lower-case
//     letters, digits and dashes: "010-ingress-nginx", "dns") is skipped with
//     a warning, as are hidden directories (silently). Bundles keep helper
//     directories next to their modules, so this is not an error; the
//     warning names the directory and the expected form.
//   - A hook file that is not executable is skipped with a warning naming it,
//     as flant/shell-operator does. An `enabled` script that is not
//     executable is an error instead: ignoring it would enable a module its
//     author meant to guard.
//   - Everything else that cannot be understood is an error wrapping
//     ErrInvalidBundle that names the file (with the line when the parser
//     gives one) and what was expected: bad YAML, a values file that is not
//     a map, an enable key that is not a bool, a Chart.yaml that is not a
//     map, a readiness annotation of Chart.yaml that is not a positive
//     duration or "true"/"false" (Readiness), an invalid OpenAPI schema
//     (also wrapping schema.ErrInvalidSchema), two directories that make the same module name, two modules whose
//     values or enable keys collide, and a module whose values key is
//     reserved ("global", "operator").
//   - A module.yaml (Definition, as in Deckhouse modules) is read strictly:
//     an unknown field, a bad semver constraint, a module that requires
//     itself or an unknown module, a required module whose Chart.yaml
//     version does not meet the constraint, and a cycle in the order of
//     starts (Bundle.Prerequisites) are errors naming the file, field and
//     reason. Deckhouse's fields that the operator does not use (stage,
//     namespace, subsystems, critical, descriptions) are accepted and
//     ignored.
//   - A module with `values: unwrapped` is an upstream chart: its
//     values.yaml is its static values as they are (never keyed), and
//     without an openapi/ directory its values.schema.json, when present,
//     is its config schema (schema.LoadChart; an invalid one is an error
//     naming the file).
//
// It also holds Loaded (a bundle with its hooks' configurations, what the
// converger runs and the updater swaps) and the types of a module's status
// (Status, GlobalStatus, Phase, Step) and of what makes it run
// (Activation), so that status, metrics, debug and updater need not import
// the control loop.
//
// It owns the bundle's on-disk layout and the model read from it. It must
// not import converge or configstore, and it runs nothing itself: it uses
// hook's and helm's types only; running hooks, deploying charts and reading
// the ConfigMap are theirs.
package module
