// Package values holds the operator's values: JSON-shaped trees of settings
// that hooks read and patch and that Helm renders charts with.
//
// Everything here is pure: no I/O, no clocks, no goroutines. A Values is never
// mutated by the functions of this package; they return new trees that share
// nothing with their inputs, so results may be handed to other goroutines.
//
// It owns the values model and its merge, patch and naming rules, and the
// layering of a section's values: Layers (bundle, module, config, schema
// defaults, then the hooks' patches, applied leniently), CheckPatch (the
// strict check of a hook's new patch) and Compact (how the hooks' layer keeps
// its size). It must not import any other package of the operator;
// everything else builds on it.
package values
