package operator

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/seedops/addon-operator/pkg/configstore"
	"github.com/seedops/addon-operator/pkg/mask"
	"github.com/seedops/addon-operator/pkg/metrics"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/queue"
	"github.com/seedops/addon-operator/pkg/updater"
	"github.com/seedops/addon-operator/pkg/values"
)

// queueObserver reports queue measurements as metrics.
type queueObserver struct{ m *metrics.Metrics }

func (o queueObserver) QueueLength(q string, n int) { o.m.QueueLength(q, n) }

func (o queueObserver) TaskWaited(t queue.TaskInfo, wait time.Duration) {
	o.m.TaskWait(t.Queue, t.Attr("module"), t.Attr("hook"), t.Attr("binding"), wait)
}

func (o queueObserver) TaskFinished(queue.TaskInfo, time.Duration, queue.Outcome) {}

// bundleSchemas answers the config store's and the webhook's schema
// questions from one bundle: on the leader the bundle in force (set, by
// the updater), on a follower the Deployed release's (follow). Once set is
// called, follow no longer changes it: the leader's bundle wins. Sections
// of modules the bundle lacks are unknown; the config store ignores them
// with a warning (configstore.Snapshot.Unknown). Safe for concurrent use.
type bundleSchemas struct {
	mu      sync.RWMutex
	b       *module.Bundle
	leading bool
}

// set puts b in force for the leader.
func (s *bundleSchemas) set(b *module.Bundle) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b, s.leading = b, true
}

// follow puts b in force unless set was called; it reports whether it did.
func (s *bundleSchemas) follow(b *module.Bundle) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.leading {
		return false
	}
	s.b = b
	return true
}

// isLeading reports whether set was called.
func (s *bundleSchemas) isLeading() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.leading
}

func (s *bundleSchemas) bundle() *module.Bundle {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.b
}

// KnownSection reports whether key is global, operator or a module's
// values key in the bundle.
func (s *bundleSchemas) KnownSection(key string) bool {
	switch key {
	case values.GlobalKey, values.OperatorKey:
		return true
	}
	return s.bundle().ModuleByValuesKey(key) != nil
}

// ValidateSection validates a config section against its config-values
// schema.
func (s *bundleSchemas) ValidateSection(key string, v values.Values) error {
	b := s.bundle()
	switch key {
	case values.GlobalKey:
		return b.GlobalSchema.ValidateConfig(key, v)
	case values.OperatorKey:
		return updater.Validate(v)
	}
	if m := b.ModuleByValuesKey(key); m != nil {
		return m.Schema.ValidateConfig(key, v)
	}
	return nil
}

// SecretPaths lists the x-secret fields of a section.
func (s *bundleSchemas) SecretPaths(key string) [][]string {
	b := s.bundle()
	if key == values.GlobalKey {
		return b.GlobalSchema.SecretPaths()
	}
	if m := b.ModuleByValuesKey(key); m != nil {
		return m.Schema.SecretPaths()
	}
	return nil
}

// unknownKeysGauge sets the count of ignored config keys from every
// accepted configuration (config store events with a Change or no Err).
func unknownKeysGauge(m *metrics.Metrics) func(configstore.Event) {
	return func(ev configstore.Event) {
		if ev.Err == nil || !ev.Change.Empty() {
			m.ConfigUnknownKeys(len(ev.Snapshot.Unknown))
		}
	}
}

// maskSecrets feeds m the x-secret values of every accepted configuration
// (a config store listener), before the listeners and sinks that follow
// it see the event. A rejected edit changes nothing: its values are not in
// force, and the store's errors do not quote them.
func maskSecrets(m *mask.Masker, schemas configstore.Schemas) func(configstore.Event) {
	return func(ev configstore.Event) {
		if ev.Err == nil || !ev.Change.Empty() {
			m.Update(ev.Snapshot.Secrets(schemas))
		}
	}
}

// operatorChanges returns a config store listener that signals changes
// (coalesced, never blocking) when an event changes the operator section,
// and the channel the updater reads (updater.Deps.ConfigChanges).
func operatorChanges() (func(configstore.Event), <-chan struct{}) {
	changes := make(chan struct{}, 1)
	return func(ev configstore.Event) {
		if !ev.Change.Operator {
			return
		}
		select {
		case changes <- struct{}{}:
		default:
		}
	}, changes
}

// serverVersion reads the cluster's version ("v1.34.4") from the API
// server for the converger (modules' requirements.kubernetes), afresh on
// every call: a cluster upgrade shows at the next converge of all modules.
func serverVersion(client kubernetes.Interface) func(context.Context) (string, error) {
	return func(context.Context) (string, error) {
		v, err := client.Discovery().ServerVersion()
		if err != nil {
			return "", fmt.Errorf("server version: %w", err)
		}
		return v.GitVersion, nil
	}
}
