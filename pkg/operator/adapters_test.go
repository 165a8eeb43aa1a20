package operator

import (
	"errors"
	"testing"

	"github.com/seedops/addon-operator/pkg/configstore"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/module/moduletest"
	"github.com/seedops/addon-operator/pkg/values"
)

func loadBundle(t *testing.T, modules ...string) *module.Bundle {
	t.Helper()
	var files []moduletest.File
	for _, m := range modules {
		files = append(files, moduletest.Text("modules/"+m+"/values.yaml", "{}\n"))
	}
	files = append(files, moduletest.Text("values.yaml", "global: {}\n"))
	b, err := module.Load(module.DefaultPaths(moduletest.Bundle(t, files...)), nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The schemas are those of one bundle: after a swap a dropped module's
// section is unknown (the config store ignores it with a warning, see
// configstore), and the operator section is checked by the updater's
// schema. A follower's bundle never replaces the leader's.
func TestBundleSchemasAcrossSwaps(t *testing.T) {
	var s bundleSchemas
	if !s.follow(loadBundle(t, "010-kept", "040-followed")) {
		t.Fatal("follow refused before the replica leads")
	}
	s.set(loadBundle(t, "010-kept", "020-dropped"))
	s.set(loadBundle(t, "010-kept", "030-added"))
	if s.follow(loadBundle(t, "040-followed")) {
		t.Error("follow replaced the leader's bundle")
	}
	tests := []struct {
		key   string
		known bool
	}{
		{"global", true},
		{"operator", true},
		{"kept", true},
		{"added", true},
		{"dropped", false},
		{"followed", false},
		{"never", false},
	}
	for _, tt := range tests {
		if got := s.KnownSection(tt.key); got != tt.known {
			t.Errorf("KnownSection(%q) = %v, want %v", tt.key, got, tt.known)
		}
	}
	if err := s.ValidateSection("operator", values.Values{"releaseChannel": "stable"}); err != nil {
		t.Errorf("a valid operator section is refused: %v", err)
	}
	if err := s.ValidateSection("operator", values.Values{"update": map[string]any{"mode": "Sometimes"}}); err == nil {
		t.Error("an invalid operator section is accepted")
	}
}

// The updater is woken by config events that change the operator section,
// once however many came since it last looked, and by no other event.
func TestOperatorChanges(t *testing.T) {
	listen, changes := operatorChanges()
	pending := func() bool {
		select {
		case <-changes:
			return true
		default:
			return false
		}
	}
	listen(configstore.Event{Change: configstore.Change{Modules: []string{"demo"}}})
	listen(configstore.Event{Err: errors.New("rejected")})
	if pending() {
		t.Error("signalled without an operator section change")
	}
	listen(configstore.Event{Change: configstore.Change{Operator: true}})
	listen(configstore.Event{Change: configstore.Change{Operator: true, Initial: true}})
	if !pending() {
		t.Error("not signalled after an operator section change")
	}
	if pending() {
		t.Error("two changes signalled twice")
	}
}
