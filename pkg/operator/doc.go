// Package operator is the composition root: it builds every part from the
// Config and runs them together until the context is done or one fails.
//
// It owns the wiring: clients, leader election, which parts run on every
// replica and which only on the leader, and the small adapters that let one
// part's interface be served by another. It must not hold logic that belongs
// to a part, and no package under pkg/ may import it; only cmd/ does.
package operator
