package configstore

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Check lists problems one by one, so that Added tells what an edit broke
// from what was broken before: the webhook allows edits that add nothing.
func TestCheckAdded(t *testing.T) {
	tests := []struct {
		name          string
		before, after map[string]string
		want          []string
	}{
		{
			name:   "a valid edit adds nothing",
			before: map[string]string{"ingressNginx": "replicas: 1\n"},
			after:  map[string]string{"ingressNginx": "replicas: 2\n"},
		},
		{
			name:   "an edit of another section leaves a pre-existing problem alone",
			before: map[string]string{"ingressNginx": "replicas: 0\n", "ingressNginxEnabled": "on"},
			after:  map[string]string{"ingressNginx": "replicas: 0\n", "ingressNginxEnabled": "on", "global": "a: 1\n"},
		},
		{
			name:   "keys of no known module are never problems",
			before: map[string]string{},
			after:  map[string]string{"droppedModule": "a: [\n", "droppedModuleEnabled": "maybe"},
		},
		{
			name:   "fixing one violation of a section keeps the other pre-existing one",
			before: map[string]string{"ingressNginx": "replicas: 0\nclass: 5\n"},
			after:  map[string]string{"ingressNginx": "replicas: 3\nclass: 5\n"},
		},
		{
			name:   "a second violation in a broken section is new",
			before: map[string]string{"ingressNginx": "replicas: 0\n"},
			after:  map[string]string{"ingressNginx": "replicas: 0\nclass: 5\n"},
			want:   []string{`section "ingressNginx": schema violation: ingressNginx.class: want a string`},
		},
		{
			name:   "a new problem next to a pre-existing one is named alone",
			before: map[string]string{"ingressNginxEnabled": "on"},
			after:  map[string]string{"ingressNginxEnabled": "on", "global": "a: [\n"},
			want:   []string{`configmap key "global": bad section: not valid YAML, want a YAML map of settings: parse yaml: error converting YAML to JSON: yaml: line 1: did not find expected node content`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFakeSchemas()
			before, after := Check(tt.before, nil, s), Check(tt.after, nil, s)
			if diff := cmp.Diff(tt.want, after.Added(before)); diff != "" {
				t.Errorf("Added (-want +got):\n%s", diff)
			}
			if (len(after.Problems) == 0) != (Validate(tt.after, nil, s) == nil) {
				t.Errorf("Check found %q but Validate says %v", after.Problems, Validate(tt.after, nil, s))
			}
		})
	}
}
