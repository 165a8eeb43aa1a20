package configstore

import (
	"log/slog"
	"sync"

	"github.com/seedops/addon-operator/pkg/schema"
	"github.com/seedops/addon-operator/pkg/values"
)

// fakeSchemas stands in for a bundle: sections global, operator,
// ingressNginx, prometheus and certManager; prometheus.grafana.adminPassword
// and prometheus.tokens are x-secret; ingressNginx.replicas must be a number
// of at least 1. Modules can be added while a Store runs.
type fakeSchemas struct {
	mu    sync.Mutex
	known map[string]bool
}

func newFakeSchemas() *fakeSchemas {
	return &fakeSchemas{known: map[string]bool{
		"global": true, "operator": true, "ingressNginx": true, "prometheus": true, "certManager": true,
	}}
}

func (f *fakeSchemas) addModule(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.known[key] = true
}

func (f *fakeSchemas) KnownSection(key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.known[key]
}

func (f *fakeSchemas) ValidateSection(key string, v values.Values) error {
	if key != "ingressNginx" {
		return nil
	}
	var found schema.ViolationsError
	if r, ok := v["replicas"]; ok {
		if n, isNum := r.(float64); !isNum || n < 1 {
			found = append(found, "ingressNginx.replicas: want a number >= 1")
		}
	}
	if c, ok := v["class"]; ok {
		if _, isString := c.(string); !isString {
			found = append(found, "ingressNginx.class: want a string")
		}
	}
	if len(found) == 0 {
		return nil
	}
	return found
}

func (f *fakeSchemas) SecretPaths(key string) [][]string {
	if key == "prometheus" {
		return [][]string{{"grafana", "adminPassword"}, {"tokens"}}
	}
	return nil
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }
