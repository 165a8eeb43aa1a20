package metrics_test

import (
	"testing"

	metricsstorage "github.com/deckhouse/deckhouse/pkg/metrics-storage"
	sometrics "github.com/flant/shell-operator/pkg/metrics"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/seedops/addon-operator/pkg/metrics"
)

// What shell-operator's monitors measure is served on the operator's
// registry with the monitors' labels, and a global hook's monitor series
// go when a bundle swap removes the hook; other measurements of the
// library stay in the storage it was given, which is not served.
func TestKubeStorage(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	m.Preset(metrics.Series{Hooks: []metrics.HookSeries{{Hook: "discovery.sh", Binding: "nodes", Activation: "Kubernetes", Queue: "main"}}})
	rest := prometheus.NewRegistry()
	s := m.KubeStorage(metricsstorage.NewMetricStorage(metricsstorage.WithRegistry(rest)))
	observeMonitors(s)
	s.GaugeSet(sometrics.KubeSnapshotObjects, 5, ingressPods)
	s.CounterAdd("other_total", 1, nil)

	kube := func(name string) bool {
		switch name {
		case "addon_operator_kube_snapshot_objects", "addon_operator_kube_jq_filter_duration_seconds",
			"addon_operator_kubernetes_client_watch_errors_total", "addon_operator_binding_monitor_missing_total",
			"addon_operator_factory_informer_dead_total":
			return true
		}
		return false
	}
	const ingress = `{binding="pods",hook="010-ingress/hooks/pods.sh",kind="Pod",module="ingress",queue="events"}`
	const discovery = `{binding="nodes",hook="discovery.sh",kind="Node",module="",queue="main"}`
	want := map[string]float64{
		"addon_operator_kube_snapshot_objects" + ingress:                                          5,
		"addon_operator_kube_snapshot_objects" + discovery:                                        3,
		"addon_operator_kube_jq_filter_duration_seconds_count" + ingress:                          1,
		"addon_operator_kube_jq_filter_duration_seconds_sum" + ingress:                            0.002,
		"addon_operator_kube_jq_filter_duration_seconds_count" + discovery:                        1,
		"addon_operator_kube_jq_filter_duration_seconds_sum" + discovery:                          0.002,
		`addon_operator_kubernetes_client_watch_errors_total{error_type="expired"}`:               1,
		`addon_operator_binding_monitor_missing_total{binding="pods"}`:                            1,
		`addon_operator_factory_informer_dead_total{gvr="/v1, Resource=pods",namespace="addons"}`: 1,
	}
	if diff := cmp.Diff(want, scrapeNames(t, reg, kube)); diff != "" {
		t.Errorf("monitor series (-want +got):\n%s", diff)
	}
	if got := scrapeNames(t, rest, func(string) bool { return true }); got["other_total{}"] != 1 || len(got) != 1 {
		t.Errorf("the library's other measurements = %v, want other_total{} 1 only", got)
	}

	m.Preset(metrics.Series{Modules: []string{"ingress"}})
	got := scrapeNames(t, reg, func(name string) bool { return name == "addon_operator_kube_snapshot_objects" })
	if diff := cmp.Diff(map[string]float64{"addon_operator_kube_snapshot_objects" + ingress: 5}, got); diff != "" {
		t.Errorf("snapshot series after discovery.sh left the bundle (-want +got):\n%s", diff)
	}
}
