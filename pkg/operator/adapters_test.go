package operator

import (
	"context"
	"errors"
	"strings"
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

// A released bundle is loaded by bundleRuntime.Load; the updater makes a
// release whose bundle does not load Failed, with the error as its message
// (updater.TestRefusesBadReleasesBeforeTheSwap). A bad module.yaml is such
// an error, naming the file, the field and the reason.
func TestBundleRuntimeRefusesABadModuleYAML(t *testing.T) {
	for _, tc := range []struct {
		name, moduleYAML string
		want             []string // in the error, besides the file
	}{
		{"unknown field", "wieght: 10\n", []string{"wieght"}},
		{"bad kubernetes constraint", "requirements: {kubernetes: \">= one\"}\n", []string{"requirements.kubernetes", ">= one"}},
		{"requires itself", "requirements: {modules: {demo: \"\"}}\n", []string{"requirements.modules.demo", "itself"}},
		{"requires an unknown module", "requirements: {modules: {nope: \"\"}}\n", []string{"requirements.modules.nope", "no module"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := moduletest.Bundle(t,
				moduletest.Text("modules/010-demo/Chart.yaml", "apiVersion: v2\nname: demo\nversion: 0.1.0\n"),
				moduletest.Text("modules/010-demo/module.yaml", tc.moduleYAML))
			_, err := (&bundleRuntime{}).Load(context.Background(), dir)
			if !errors.Is(err, module.ErrInvalidBundle) {
				t.Fatalf("Load: %v, want an error wrapping module.ErrInvalidBundle", err)
			}
			for _, w := range append(tc.want, "modules/010-demo/module.yaml") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Load: %v, want it to name %q", err, w)
				}
			}
		})
	}
}
