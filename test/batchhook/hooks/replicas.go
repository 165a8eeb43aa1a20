package main

import (
	"context"
	"errors"
	"strconv"

	"github.com/deckhouse/module-sdk/pkg"
	"github.com/deckhouse/module-sdk/pkg/registry"
)

var _ = registry.RegisterFunc(&pkg.HookConfig{
	Kubernetes: []pkg.KubernetesConfig{{
		Name:              "source",
		APIVersion:        "v1",
		Kind:              "ConfigMap",
		NameSelector:      &pkg.NameSelector{MatchNames: []string{"batchhook-source"}},
		NamespaceSelector: &pkg.NamespaceSelector{NameSelector: &pkg.NameSelector{MatchNames: []string{"e2e-watch"}}},
		JqFilter:          ".data.replicas",
	}},
	OnBeforeHelm: &pkg.OrderedConfig{Order: 10},
}, copyReplicas)

// copyReplicas sets batchHookE2e.internal.replicas from the snapshot, and
// fails (as module-sdk reports failures) when the value is not a number.
func copyReplicas(_ context.Context, input *pkg.HookInput) error {
	snaps := input.Snapshots.Get("source")
	if len(snaps) == 0 {
		input.Values.Remove("batchHookE2e.internal.replicas")
		return nil
	}
	var raw string
	if err := snaps[0].UnmarshalTo(&raw); err != nil {
		return err
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		return errors.New("replicas in batchhook-source is not a number: " + raw)
	}
	input.Values.Set("batchHookE2e.internal.replicas", n)
	input.MetricsCollector.Set("e2e_batch_replicas", float64(n), map[string]string{"source": "batchhook-source"})
	return nil
}
