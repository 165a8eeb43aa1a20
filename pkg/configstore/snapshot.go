package configstore

import (
	"slices"

	"github.com/seedops/addon-operator/pkg/values"
)

// enabledSuffix ends the keys that switch a module on or off.
const enabledSuffix = "Enabled"

// Snapshot is one accepted configuration. The Store never mutates a
// Snapshot after handing it out and gives every caller its own copy, so a
// Snapshot may be read from any goroutine; callers must not share a
// Snapshot they mutate.
type Snapshot struct {
	// Global is the "global" section.
	Global values.Values
	// Modules holds module sections by values key ("ingressNginx").
	Modules map[string]values.Values
	// Enabled holds the explicit "<key>Enabled" flags by module values key;
	// a module without an entry follows its default.
	Enabled map[string]bool
	// Operator is the reserved "operator" section.
	Operator values.Values
	// Unknown describes the data keys of no known section (ConfigMap and
	// Secret), sorted: they are ignored, left where they are, and reported
	// as warnings, never a reason to reject the configuration. Such keys
	// are typical of a module dropped by a release.
	Unknown []string
}

func emptySnapshot() Snapshot {
	return Snapshot{
		Global:   values.Values{},
		Modules:  map[string]values.Values{},
		Enabled:  map[string]bool{},
		Operator: values.Values{},
	}
}

// Section returns a copy of the section under key ("global", "operator" or
// a module values key); empty Values when the configuration has none.
func (s Snapshot) Section(key string) values.Values {
	switch key {
	case values.GlobalKey:
		return s.Global.DeepCopy()
	case values.OperatorKey:
		return s.Operator.DeepCopy()
	}
	return s.Modules[key].DeepCopy()
}

// Checksum is the checksum of Section(key): equal content, equal checksum;
// an absent section has the checksum of an empty one.
func (s Snapshot) Checksum(key string) string {
	return s.Section(key).Checksum()
}

// DeepCopy returns a Snapshot that shares nothing with s. Nil maps become
// empty ones.
func (s Snapshot) DeepCopy() Snapshot {
	out := emptySnapshot()
	out.Global = s.Global.DeepCopy()
	out.Operator = s.Operator.DeepCopy()
	for k, v := range s.Modules {
		out.Modules[k] = v.DeepCopy()
	}
	for k, v := range s.Enabled {
		out.Enabled[k] = v
	}
	out.Unknown = slices.Clone(s.Unknown)
	return out
}

// sections returns every section of s keyed by its ConfigMap key; global
// and operator are present only when not empty.
func (s Snapshot) sections() map[string]values.Values {
	out := make(map[string]values.Values, len(s.Modules)+2)
	for k, v := range s.Modules {
		out[k] = v
	}
	if len(s.Global) > 0 {
		out[values.GlobalKey] = s.Global
	}
	if len(s.Operator) > 0 {
		out[values.OperatorKey] = s.Operator
	}
	return out
}

// Change says what differs between an event's Snapshot and the one accepted
// before it.
type Change struct {
	// Global and Operator report a changed section.
	Global   bool
	Operator bool
	// Modules are the values keys of module sections that changed, were
	// added or were removed, sorted. An absent and an empty section are the
	// same.
	Modules []string
	// Enabled are the values keys whose "<key>Enabled" flag changed, was
	// added or was removed, sorted.
	Enabled []string
	// Initial marks the first accepted configuration since Start; consumers
	// treat everything as changed. The other fields then describe the
	// difference from an empty configuration.
	Initial bool
}

// Empty reports whether c records no change at all.
func (c Change) Empty() bool {
	return !c.Global && !c.Operator && len(c.Modules) == 0 && len(c.Enabled) == 0 && !c.Initial
}

// Event is what the Store sends on Events.
//
// With Err nil, Snapshot was accepted and Change says what differs from the
// previous accepted one; an event with an empty Change and no Err says that a
// problem reported earlier is gone (the ConfigMap was fixed back to the
// configuration in force) or that only Snapshot.Unknown changed. With Err set, an edit was rejected: Err wraps
// ErrInvalidConfig and lists every problem, and Snapshot is the last accepted
// configuration, still in force (empty, without Change.Initial, when nothing
// was accepted yet since Start). An event that merged several (see
// Store.Events) may carry both a Change and an Err.
type Event struct {
	Snapshot Snapshot
	Change   Change
	Err      error
}

// diff compares two snapshots.
func diff(old, cur Snapshot) Change {
	var c Change
	c.Global = !values.Equal(old.Global, cur.Global)
	c.Operator = !values.Equal(old.Operator, cur.Operator)
	for _, k := range unionKeys(old.Modules, cur.Modules) {
		if !values.Equal(old.Modules[k], cur.Modules[k]) {
			c.Modules = append(c.Modules, k)
		}
	}
	for _, k := range unionKeys(old.Enabled, cur.Enabled) {
		ov, oOK := old.Enabled[k]
		cv, cOK := cur.Enabled[k]
		if ov != cv || oOK != cOK {
			c.Enabled = append(c.Enabled, k)
		}
	}
	return c
}

// coalesce folds a newer event into an older one the consumer has not read
// yet: the newest Snapshot, the union of both Changes and the newest Err (nil
// when the latest state was accepted, because the older problem is gone).
func coalesce(older, newer Event) Event {
	out := Event{Snapshot: newer.Snapshot, Err: newer.Err}
	out.Change = Change{
		Global:   older.Change.Global || newer.Change.Global,
		Operator: older.Change.Operator || newer.Change.Operator,
		Modules:  unionSorted(older.Change.Modules, newer.Change.Modules),
		Enabled:  unionSorted(older.Change.Enabled, newer.Change.Enabled),
		Initial:  older.Change.Initial || newer.Change.Initial,
	}
	return out
}

func unionKeys[V any](a, b map[string]V) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

func unionSorted(a, b []string) []string {
	if len(a) == 0 && len(b) == 0 {
		return nil
	}
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}
