package metrics_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	metricsstorage "github.com/deckhouse/deckhouse/pkg/metrics-storage"
	sometrics "github.com/flant/shell-operator/pkg/metrics"

	"github.com/seedops/addon-operator/pkg/metrics"
	"github.com/seedops/addon-operator/pkg/module"
)

// mirrors are the names of flant/addon-operator's code that show series
// of ours again, with the name of ours they show; mm_module_info shows
// module_phase in the peer's form.
var mirrors = map[string]string{
	"addon_operator_global_hook_errors_total":         "addon_operator_global_hook_run_errors_total",
	"addon_operator_global_hook_allowed_errors_total": "addon_operator_global_hook_run_allowed_errors_total",
	"addon_operator_global_hook_success_total":        "addon_operator_global_hook_run_success_total",
	"addon_operator_module_hook_errors_total":         "addon_operator_module_hook_run_errors_total",
	"addon_operator_module_hook_allowed_errors_total": "addon_operator_module_hook_run_allowed_errors_total",
	"addon_operator_module_hook_success_total":        "addon_operator_module_hook_run_success_total",
	"addon_operator_modules_discover_errors_total":    "addon_operator_module_discover_errors_total",
	"addon_operator_mm_module_info":                   "addon_operator_module_phase",
}

// observeEverything makes every metric of m have series.
func observeEverything(m *metrics.Metrics) {
	boom := errors.New("boom")
	for _, err := range []error{nil, boom} {
		for _, allow := range []bool{false, true} {
			m.HookRun("", "discovery.sh", "every-minute", "Schedule", "main", time.Second, err, allow)
			m.HookRun("ingress", "010-ingress/hooks/pods.sh", "pods", "Kubernetes", "events", time.Second, err, allow)
		}
	}
	m.HookRun("ingress", "010-ingress/hooks/pods.sh", "pods", "Kubernetes", "events", time.Second, nil, false)
	m.HookUsage("", "discovery.sh", "every-minute", "Schedule", "main", 300*time.Millisecond, 20*time.Millisecond, 4<<20)
	m.HookUsage("ingress", "010-ingress/hooks/pods.sh", "pods", "Kubernetes", "events", 300*time.Millisecond, 20*time.Millisecond, 4<<20)
	m.HookUsage("ingress", "010-ingress/hooks/pods.sh", "pods", "Kubernetes", "events", 100*time.Millisecond, 10*time.Millisecond, 6<<20)
	m.Preset(metrics.Series{
		Modules: []string{"ingress", "dns"}, HelmOperations: []string{"upgrade"}, Queues: []string{"main"},
		Hooks: []metrics.HookSeries{{Module: "dns", Hook: "020-dns/hooks/a.sh", Binding: "beforeHelm", Activation: "Retry", Queue: "main"}},
		Bindings: []metrics.HookBindings{
			{Hook: "discovery.sh", Count: 2},
			{Module: "ingress", Hook: "010-ingress/hooks/pods.sh", Count: 1},
		},
	})
	m.ModuleRun("ingress", "OnStartup", time.Second, boom)
	m.ModuleHelm("ingress", "OnStartup", 2*time.Second)
	m.ModuleDelete("dns", nil)
	m.DiscoverError()
	m.DiscoverError()
	m.HelmOperation("ingress", "upgrade", 1, nil)
	m.Redeployed("ingress", 2)
	m.Convergence("OnStartup", time.Second)
	m.QueueLength("main", 3)
	m.TaskWait("main", "ingress", "010-ingress/hooks/pods.sh", "pods", time.Second)
	m.ConfigError()
	m.ModulePhases(map[string]module.Phase{"ingress": "Error", "dns": "Disabled"})
	observeMonitors(m.KubeStorage(metricsstorage.NewMetricStorage(metricsstorage.WithNewRegistry())))
}

// ingressPods and discoveryNodes are the MetricLabels of a module hook's and
// a global hook's monitor, as package hook sets them.
var (
	ingressPods    = map[string]string{"module": "ingress", "hook": "010-ingress/hooks/pods.sh", "binding": "pods", "queue": "events", "kind": "Pod"}
	discoveryNodes = map[string]string{"module": "", "hook": "discovery.sh", "binding": "nodes", "queue": "main", "kind": "Node"}
)

// observeMonitors reports to s what shell-operator's monitors report, by
// the library's own metric names.
func observeMonitors(s metricsstorage.Storage) {
	for _, mon := range []map[string]string{ingressPods, discoveryNodes} {
		s.GaugeSet(sometrics.KubeSnapshotObjects, 3, mon)
		s.HistogramObserve(sometrics.KubeJqFilterDurationSeconds, 0.002, mon, nil)
		s.HistogramObserve(sometrics.KubeEventDurationSeconds, 0.01, mon, nil)
	}
	s.CounterAdd(sometrics.KubernetesClientWatchErrorsTotal, 1, map[string]string{"error_type": "expired"})
	s.CounterAdd(sometrics.BindingMonitorMissingTotal, 1, map[string]string{"binding": "pods"})
	s.CounterAdd(sometrics.FactoryInformerDeadTotal, 1, map[string]string{"gvr": "/v1, Resource=pods", "namespace": "addons"})
}

// Dashboards and alerts written for flant/addon-operator keep working: each
// name its code or its documentation (docs/src/metrics/SELF_METRICS.md)
// gives a fact this operator has is served, of the peer's type, with the
// peer's label names. A name dropped from the operator fails here.
func TestPeerNames(t *testing.T) {
	hook := []string{"activation", "binding", "hook", "queue"}
	moduleHook := []string{"activation", "binding", "hook", "module", "queue"}
	monitor := []string{"binding", "hook", "kind", "module", "queue"}
	for _, tc := range []struct {
		name, kind string
		labels     []string
	}{
		{"addon_operator_binding_count", "GAUGE", []string{"hook", "module"}},
		{"addon_operator_config_values_errors_total", "COUNTER", nil},
		{"addon_operator_modules_discover_errors_total", "COUNTER", nil},
		{"addon_operator_module_discover_errors_total", "COUNTER", nil},
		{"addon_operator_module_delete_errors_total", "COUNTER", []string{"module"}},
		{"addon_operator_module_run_seconds", "HISTOGRAM", []string{"activation", "module"}},
		{"addon_operator_module_run_errors_total", "COUNTER", []string{"module"}},
		{"addon_operator_modules_helm_release_redeployed_total", "COUNTER", []string{"module"}},
		// The peer adds resource (namespace/kind/name); see docs/metrics.md.
		{"addon_operator_modules_absent_resources_total", "COUNTER", []string{"module"}},
		{"addon_operator_mm_module_info", "GAUGE", []string{"enabled", "moduleName"}},
		{"addon_operator_module_hook_run_seconds", "HISTOGRAM", moduleHook},
		{"addon_operator_module_hook_errors_total", "COUNTER", moduleHook},
		{"addon_operator_module_hook_allowed_errors_total", "COUNTER", moduleHook},
		{"addon_operator_module_hook_success_total", "COUNTER", moduleHook},
		{"addon_operator_module_hook_run_errors_total", "COUNTER", moduleHook},
		{"addon_operator_module_hook_run_allowed_errors_total", "COUNTER", moduleHook},
		{"addon_operator_module_hook_run_success_total", "COUNTER", moduleHook},
		{"addon_operator_module_hook_run_user_cpu_seconds", "HISTOGRAM", moduleHook},
		{"addon_operator_module_hook_run_sys_cpu_seconds", "HISTOGRAM", moduleHook},
		{"addon_operator_module_hook_run_max_rss_bytes", "GAUGE", moduleHook},
		{"addon_operator_global_hook_run_seconds", "HISTOGRAM", hook},
		{"addon_operator_global_hook_errors_total", "COUNTER", hook},
		{"addon_operator_global_hook_allowed_errors_total", "COUNTER", hook},
		{"addon_operator_global_hook_success_total", "COUNTER", hook},
		{"addon_operator_global_hook_run_errors_total", "COUNTER", hook},
		{"addon_operator_global_hook_run_allowed_errors_total", "COUNTER", hook},
		{"addon_operator_global_hook_run_success_total", "COUNTER", hook},
		{"addon_operator_global_hook_run_user_cpu_seconds", "HISTOGRAM", hook},
		{"addon_operator_global_hook_run_sys_cpu_seconds", "HISTOGRAM", hook},
		{"addon_operator_global_hook_run_max_rss_bytes", "GAUGE", hook},
		{"addon_operator_convergence_seconds", "COUNTER", []string{"activation"}},
		{"addon_operator_convergence_total", "COUNTER", []string{"activation"}},
		{"addon_operator_module_helm_seconds", "HISTOGRAM", []string{"activation", "module"}},
		// The peer adds activation; see docs/metrics.md.
		{"addon_operator_helm_operation_seconds", "HISTOGRAM", []string{"module", "operation"}},
		{"addon_operator_task_wait_in_queue_seconds_total", "COUNTER", []string{"binding", "hook", "module", "queue"}},
		{"addon_operator_tasks_queue_length", "GAUGE", []string{"queue"}},
		{"addon_operator_live_ticks", "COUNTER", nil},
		{"addon_operator_kube_snapshot_objects", "GAUGE", monitor},
		{"addon_operator_kube_jq_filter_duration_seconds", "HISTOGRAM", monitor},
		{"addon_operator_kube_event_duration_seconds", "HISTOGRAM", monitor},
		{"addon_operator_kubernetes_client_watch_errors_total", "COUNTER", []string{"error_type"}},
		{"addon_operator_binding_monitor_missing_total", "COUNTER", []string{"binding"}},
		{"addon_operator_factory_informer_dead_total", "COUNTER", []string{"gvr", "namespace"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			observeEverything(metrics.New(reg))
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatalf("gather: %v", err)
			}
			i := slices.IndexFunc(mfs, func(mf *dto.MetricFamily) bool { return mf.GetName() == tc.name })
			if i < 0 {
				t.Fatalf("%s is not served; dashboards and alerts written for flant/addon-operator use it", tc.name)
			}
			mf := mfs[i]
			if got := mf.GetType().String(); got != tc.kind {
				t.Errorf("type %s, want %s", got, tc.kind)
			}
			if len(mf.GetMetric()) == 0 {
				t.Fatal("no series")
			}
			for _, m := range mf.GetMetric() {
				var got []string
				for _, l := range m.GetLabel() {
					got = append(got, l.GetName())
				}
				if diff := cmp.Diff(tc.labels, got); diff != "" {
					t.Errorf("label names (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// A peer name shows the same series as ours, label for label and value for
// value: one observation, two names.
func TestPeerNamesMirrorOurs(t *testing.T) {
	reg := prometheus.NewRegistry()
	observeEverything(metrics.New(reg))
	all := scrapeNames(t, reg, func(string) bool { return true })
	for peer, ours := range mirrors {
		if peer == "addon_operator_mm_module_info" {
			continue
		}
		t.Run(peer, func(t *testing.T) {
			want, got := map[string]float64{}, map[string]float64{}
			for series, v := range all {
				name, labels, _ := strings.Cut(series, "{")
				switch name {
				case ours:
					want[labels] = v
				case peer:
					got[labels] = v
				}
			}
			if len(want) == 0 {
				t.Fatalf("%s has no series", ours)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s against %s (-want +got):\n%s", peer, ours, diff)
			}
		})
	}
}

func TestPeerSeries(t *testing.T) {
	reg := prometheus.NewRegistry()
	observeEverything(metrics.New(reg))
	all := scrapeNames(t, reg, func(string) bool { return true })
	const moduleHook = `activation="Kubernetes",binding="pods",hook="010-ingress/hooks/pods.sh",module="ingress",queue="events"`
	for series, want := range map[string]float64{
		"addon_operator_module_hook_success_total{" + moduleHook + "}":                                                                         3,
		"addon_operator_module_hook_errors_total{" + moduleHook + "}":                                                                          1,
		"addon_operator_module_hook_allowed_errors_total{" + moduleHook + "}":                                                                  1,
		`addon_operator_global_hook_errors_total{activation="Schedule",binding="every-minute",hook="discovery.sh",queue="main"}`:               1,
		`addon_operator_module_hook_errors_total{activation="Retry",binding="beforeHelm",hook="020-dns/hooks/a.sh",module="dns",queue="main"}`: 0,
		"addon_operator_modules_discover_errors_total{}":                                                                                       2,
		`addon_operator_binding_count{hook="discovery.sh",module=""}`:                                                                          2,
		`addon_operator_binding_count{hook="010-ingress/hooks/pods.sh",module="ingress"}`:                                                      1,
		`addon_operator_module_helm_seconds_count{activation="OnStartup",module="ingress"}`:                                                    1,
		`addon_operator_module_helm_seconds_sum{activation="OnStartup",module="ingress"}`:                                                      2,
		`addon_operator_mm_module_info{enabled="true",moduleName="ingress"}`:                                                                   1,
		`addon_operator_mm_module_info{enabled="false",moduleName="dns"}`:                                                                      1,
		// Two runs: CPU times add up, the max RSS is the last run's.
		"addon_operator_module_hook_run_user_cpu_seconds_sum{" + moduleHook + "}":                                                     0.4,
		"addon_operator_module_hook_run_user_cpu_seconds_count{" + moduleHook + "}":                                                   2,
		"addon_operator_module_hook_run_sys_cpu_seconds_sum{" + moduleHook + "}":                                                      0.03,
		"addon_operator_module_hook_run_max_rss_bytes{" + moduleHook + "}":                                                            6 << 20,
		`addon_operator_global_hook_run_max_rss_bytes{activation="Schedule",binding="every-minute",hook="discovery.sh",queue="main"}`: 4 << 20,
	} {
		if got, ok := all[series]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", series, got, ok, want)
		}
	}
}

// A bundle swap drops the peer's series of what the bundle no longer has,
// as it drops ours (the hooks' resource usage too), and binding_count
// follows the hooks in force.
func TestPeerSeriesFollowTheBundle(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	observeEverything(m)
	m.Preset(metrics.Series{
		Modules:  []string{"dns"},
		Bindings: []metrics.HookBindings{{Module: "dns", Hook: "020-dns/hooks/a.sh", Count: 4}},
	})
	m.ModulePhases(map[string]module.Phase{"dns": "Ready"})
	got := scrapeNames(t, reg, func(name string) bool {
		return name == "addon_operator_binding_count" || name == "addon_operator_mm_module_info" ||
			name == "addon_operator_module_hook_errors_total" || name == "addon_operator_module_helm_seconds" ||
			name == "addon_operator_module_hook_run_max_rss_bytes" || name == "addon_operator_module_hook_run_user_cpu_seconds" ||
			name == "addon_operator_kube_snapshot_objects" || name == "addon_operator_kube_event_duration_seconds"
	})
	want := map[string]float64{
		`addon_operator_binding_count{hook="020-dns/hooks/a.sh",module="dns"}`:                                                                 4,
		`addon_operator_mm_module_info{enabled="true",moduleName="dns"}`:                                                                       1,
		`addon_operator_module_hook_errors_total{activation="Retry",binding="beforeHelm",hook="020-dns/hooks/a.sh",module="dns",queue="main"}`: 0,
		// discovery.sh was in neither Preset, so neither drops it.
		`addon_operator_kube_snapshot_objects{binding="nodes",hook="discovery.sh",kind="Node",module="",queue="main"}`:             3,
		`addon_operator_kube_event_duration_seconds_count{binding="nodes",hook="discovery.sh",kind="Node",module="",queue="main"}`: 1,
		`addon_operator_kube_event_duration_seconds_sum{binding="nodes",hook="discovery.sh",kind="Node",module="",queue="main"}`:   0.01,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("peer series after the swap (-want +got):\n%s", diff)
	}
}
