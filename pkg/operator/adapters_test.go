package operator

import (
	"testing"

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

// After a swap, the sections of modules the new bundle dropped stay
// acceptable; the operator section is checked by the updater's schema.
func TestBundleSchemasAcrossSwaps(t *testing.T) {
	var s bundleSchemas
	s.set(loadBundle(t, "010-kept", "020-dropped"))
	s.set(loadBundle(t, "010-kept", "030-added"))
	tests := []struct {
		key   string
		known bool
	}{
		{"global", true},
		{"operator", true},
		{"kept", true},
		{"added", true},
		{"dropped", true},
		{"never", false},
	}
	for _, tt := range tests {
		if got := s.KnownSection(tt.key); got != tt.known {
			t.Errorf("KnownSection(%q) = %v, want %v", tt.key, got, tt.known)
		}
	}
	if err := s.ValidateSection("dropped", values.Values{"anything": 1}); err != nil {
		t.Errorf("a dropped module's section is refused: %v", err)
	}
	if err := s.ValidateSection("operator", values.Values{"releaseChannel": "stable"}); err != nil {
		t.Errorf("a valid operator section is refused: %v", err)
	}
	if err := s.ValidateSection("operator", values.Values{"update": map[string]any{"mode": "Sometimes"}}); err == nil {
		t.Error("an invalid operator section is accepted")
	}
}
