package mask

import (
	"encoding/json"
	"slices"
	"sync"
	"testing"

	"github.com/seedops/addon-operator/pkg/values"
)

func TestMasker(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string
		in      string
		want    string
	}{
		{name: "nothing known", in: "token s3cr3t-v", want: "token s3cr3t-v"},
		{name: "value", secrets: []string{"s3cr3t-v"}, in: "hook failed: token s3cr3t-v refused", want: "hook failed: token *** refused"},
		{name: "every occurrence", secrets: []string{"hunter2"}, in: "hunter2/hunter2", want: "***/***"},
		{name: "short values stay", secrets: []string{"on", "abc"}, in: "on abc", want: "on abc"},
		{name: "longest first", secrets: []string{"pass", "password1"}, in: "password1 pass", want: "*** ***"},
		{name: "base64", secrets: []string{"s3cr3t-v"}, in: "data: czNjcjN0LXY=", want: "data: ***"},
		{name: "lines of a multi-line value", secrets: []string{"-----BEGIN KEY-----\nAAAABBBB\n-----END KEY-----"}, in: "line 2: AAAABBBB", want: "line 2: ***"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New()
			m.Update(tt.secrets)
			if got := m.Mask(tt.in); got != tt.want {
				t.Errorf("Mask(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestMaskerUpdateReplaces(t *testing.T) {
	m := New()
	m.Update([]string{"old-secret"})
	m.Update([]string{"new-secret"})
	if got, want := m.Mask("old-secret new-secret"), "old-secret ***"; got != want {
		t.Errorf("Mask = %q, want %q", got, want)
	}
	m.Update(nil)
	if got, want := m.Mask("new-secret"), "new-secret"; got != want {
		t.Errorf("Mask after Update(nil) = %q, want %q", got, want)
	}
}

func TestMaskerNil(t *testing.T) {
	var m *Masker
	if got := m.Mask("s3cr3t-v"); got != "s3cr3t-v" {
		t.Errorf("nil Masker changed the text: %q", got)
	}
}

func TestMaskerConcurrent(t *testing.T) {
	m := New()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for range 100 {
				if i%2 == 0 {
					m.Update([]string{"s3cr3t-v"})
				} else {
					_ = m.Mask("token s3cr3t-v")
				}
			}
		})
	}
	wg.Wait()
}

func TestScalars(t *testing.T) {
	tree := map[string]any{
		"password": "hunter22",
		"port":     8443.0,
		"count":    json.Number("12345"),
		"on":       true,
		"none":     nil,
		"nested":   values.Values{"list": []any{"a-key", map[string]any{"deep": "deep-secret"}}},
	}
	got := Scalars(nil, tree)
	slices.Sort(got)
	want := []string{"12345", "8443", "a-key", "deep-secret", "hunter22"}
	if !slices.Equal(got, want) {
		t.Errorf("Scalars = %q, want %q", got, want)
	}
}
