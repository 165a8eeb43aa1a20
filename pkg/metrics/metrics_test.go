package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/seedops/addon-operator/pkg/metrics"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/test/poll"
)

// scrape returns every series of reg as `name{k="v",...}` → value; a
// histogram gives its _count and _sum. It leaves out the peer's names that
// show series of ours again (mirrors); TestPeerNames checks those.
func scrape(t *testing.T, reg prometheus.Gatherer) map[string]float64 {
	t.Helper()
	return scrapeNames(t, reg, func(name string) bool { _, ok := mirrors[name]; return !ok })
}

// scrapeNames is scrape of the metrics whose name keep accepts.
func scrapeNames(t *testing.T, reg prometheus.Gatherer, keep func(name string) bool) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if !keep(mf.GetName()) {
			continue
		}
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(labels)
			id := "{" + strings.Join(labels, ",") + "}"
			switch {
			case m.GetCounter() != nil:
				out[mf.GetName()+id] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				out[mf.GetName()+id] = m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				out[mf.GetName()+"_count"+id] = float64(m.GetHistogram().GetSampleCount())
				out[mf.GetName()+"_sum"+id] = m.GetHistogram().GetSampleSum()
			}
		}
	}
	return out
}

// unlabelled are the series every scrape shows, at 0 until set.
var unlabelled = map[string]float64{
	"addon_operator_config_values_errors_total{}":          0,
	"addon_operator_config_unknown_keys{}":                 0,
	"addon_operator_module_discover_errors_total{}":        0,
	"addon_operator_live_ticks{}":                          0,
	"addon_operator_update_last_check_timestamp_seconds{}": 0,
	"addon_operator_pending_releases{}":                    0,
}

func TestMetricsRecordWhatHappened(t *testing.T) {
	boom := errors.New("boom")
	const (
		globalHook = `activation="Schedule",binding="every-minute",hook="discovery.sh",queue="main"`
		moduleHook = `activation="Kubernetes",binding="pods",hook="010-ingress/hooks/pods.sh",module="ingress",queue="events"`
	)
	for _, tc := range []struct {
		name string
		do   func(m *metrics.Metrics)
		want map[string]float64 // besides the unlabelled counters
	}{
		{
			name: "global hook succeeded",
			do: func(m *metrics.Metrics) {
				m.HookRun("", "discovery.sh", "every-minute", "Schedule", "main", 2*time.Second, nil, false)
			},
			want: map[string]float64{
				"addon_operator_global_hook_run_success_total{" + globalHook + "}": 1,
				"addon_operator_global_hook_run_seconds_count{" + globalHook + "}": 1,
				"addon_operator_global_hook_run_seconds_sum{" + globalHook + "}":   2,
			},
		},
		{
			name: "global hook failed",
			do: func(m *metrics.Metrics) {
				m.HookRun("", "discovery.sh", "every-minute", "Schedule", "main", time.Second, boom, false)
			},
			want: map[string]float64{
				"addon_operator_global_hook_run_errors_total{" + globalHook + "}":  1,
				"addon_operator_global_hook_run_seconds_count{" + globalHook + "}": 1,
				"addon_operator_global_hook_run_seconds_sum{" + globalHook + "}":   1,
			},
		},
		{
			name: "global hook failed with allowFailure",
			do: func(m *metrics.Metrics) {
				m.HookRun("", "discovery.sh", "every-minute", "Schedule", "main", time.Second, boom, true)
			},
			want: map[string]float64{
				"addon_operator_global_hook_run_allowed_errors_total{" + globalHook + "}": 1,
				"addon_operator_global_hook_run_seconds_count{" + globalHook + "}":        1,
				"addon_operator_global_hook_run_seconds_sum{" + globalHook + "}":          1,
			},
		},
		{
			name: "module hook runs",
			do: func(m *metrics.Metrics) {
				for _, err := range []error{nil, nil, boom} {
					m.HookRun("ingress", "010-ingress/hooks/pods.sh", "pods", "Kubernetes", "events", time.Second, err, false)
				}
				m.HookRun("ingress", "010-ingress/hooks/pods.sh", "pods", "Kubernetes", "events", time.Second, boom, true)
			},
			want: map[string]float64{
				"addon_operator_module_hook_run_success_total{" + moduleHook + "}":        2,
				"addon_operator_module_hook_run_errors_total{" + moduleHook + "}":         1,
				"addon_operator_module_hook_run_allowed_errors_total{" + moduleHook + "}": 1,
				"addon_operator_module_hook_run_seconds_count{" + moduleHook + "}":        4,
				"addon_operator_module_hook_run_seconds_sum{" + moduleHook + "}":          4,
			},
		},
		{
			name: "module runs: the error counter exists from the first run",
			do: func(m *metrics.Metrics) {
				m.ModuleRun("ingress", "OnStartup", 3*time.Second, nil)
				m.ModuleRun("prometheus", "OnStartup", time.Second, boom)
				m.ModuleRun("prometheus", "Retry", time.Second, boom)
			},
			want: map[string]float64{
				`addon_operator_module_run_seconds_count{activation="OnStartup",module="ingress"}`:    1,
				`addon_operator_module_run_seconds_sum{activation="OnStartup",module="ingress"}`:      3,
				`addon_operator_module_run_seconds_count{activation="OnStartup",module="prometheus"}`: 1,
				`addon_operator_module_run_seconds_sum{activation="OnStartup",module="prometheus"}`:   1,
				`addon_operator_module_run_seconds_count{activation="Retry",module="prometheus"}`:     1,
				`addon_operator_module_run_seconds_sum{activation="Retry",module="prometheus"}`:       1,
				`addon_operator_module_run_errors_total{module="ingress"}`:                            0,
				`addon_operator_module_run_errors_total{module="prometheus"}`:                         2,
			},
		},
		{
			name: "module deletes",
			do: func(m *metrics.Metrics) {
				m.ModuleDelete("ingress", nil)
				m.ModuleDelete("prometheus", boom)
			},
			want: map[string]float64{
				`addon_operator_module_delete_errors_total{module="ingress"}`:    0,
				`addon_operator_module_delete_errors_total{module="prometheus"}`: 1,
			},
		},
		{
			name: "discover and config errors",
			do: func(m *metrics.Metrics) {
				m.DiscoverError()
				m.ConfigError()
				m.ConfigError()
				m.ConfigUnknownKeys(3)
				m.ConfigUnknownKeys(2)
			},
			want: map[string]float64{
				"addon_operator_module_discover_errors_total{}": 1,
				"addon_operator_config_values_errors_total{}":   2,
				"addon_operator_config_unknown_keys{}":          2,
			},
		},
		{
			name: "helm operations",
			do: func(m *metrics.Metrics) {
				m.HelmOperation("ingress", "upgrade", 1.5, nil)
				m.HelmOperation("ingress", "upgrade", 0.5, boom)
			},
			want: map[string]float64{
				`addon_operator_helm_operation_seconds_count{module="ingress",operation="upgrade"}`: 2,
				`addon_operator_helm_operation_seconds_sum{module="ingress",operation="upgrade"}`:   2,
				`addon_operator_helm_operation_errors_total{module="ingress",operation="upgrade"}`:  1,
			},
		},
		{
			name: "healing",
			do: func(m *metrics.Metrics) {
				m.Redeployed("ingress", 3)
				m.Redeployed("ingress", 1)
			},
			want: map[string]float64{
				`addon_operator_modules_helm_release_redeployed_total{module="ingress"}`: 2,
				`addon_operator_modules_absent_resources_total{module="ingress"}`:        4,
			},
		},
		{
			name: "convergences",
			do: func(m *metrics.Metrics) {
				m.Convergence("OnStartup", 4*time.Second)
				m.Convergence("ConfigChanged", time.Second)
				m.Convergence("ConfigChanged", 2*time.Second)
			},
			want: map[string]float64{
				`addon_operator_convergence_seconds{activation="OnStartup"}`:     4,
				`addon_operator_convergence_total{activation="OnStartup"}`:       1,
				`addon_operator_convergence_seconds{activation="ConfigChanged"}`: 3,
				`addon_operator_convergence_total{activation="ConfigChanged"}`:   2,
			},
		},
		{
			name: "release info keeps only the version in force",
			do: func(m *metrics.Metrics) {
				m.ReleaseInfo("v1.2.0", "stable")
				m.ReleaseInfo("v1.3.0", "early-access")
			},
			want: map[string]float64{
				`addon_operator_release_info{channel="early-access",version="v1.3.0"}`: 1,
			},
		},
		{
			name: "updates",
			do: func(m *metrics.Metrics) {
				m.UpdateChecked(time.Unix(1700000000, 500_000_000))
				m.UpdateError("download")
				m.UpdateError("download")
				m.UpdateError("converge")
				m.PendingReleases(2)
			},
			want: map[string]float64{
				"addon_operator_update_last_check_timestamp_seconds{}": 1700000000.5,
				`addon_operator_update_errors_total{stage="download"}`: 2,
				`addon_operator_update_errors_total{stage="converge"}`: 1,
				"addon_operator_pending_releases{}":                    2,
			},
		},
		{
			name: "queues",
			do: func(m *metrics.Metrics) {
				m.QueueLength("main", 4)
				m.QueueLength("main", 2)
				m.TaskWait("main", "ingress", "010-ingress/hooks/pods.sh", "pods", 500*time.Millisecond)
				m.TaskWait("main", "ingress", "010-ingress/hooks/pods.sh", "pods", 250*time.Millisecond)
			},
			want: map[string]float64{
				`addon_operator_tasks_queue_length{queue="main"}`: 2,
				`addon_operator_task_wait_in_queue_seconds_total{binding="pods",hook="010-ingress/hooks/pods.sh",module="ingress",queue="main"}`: 0.75,
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m := metrics.New(reg)
			tc.do(m)

			want := map[string]float64{}
			for k, v := range unlabelled {
				want[k] = v
			}
			for k, v := range tc.want {
				want[k] = v
			}
			if diff := cmp.Diff(want, scrape(t, reg)); diff != "" {
				t.Errorf("scraped series (-want +got):\n%s", diff)
			}
		})
	}
}

// The names are the contract with dashboards and alerts written for the
// peer, flant/addon-operator.
func TestMetricNamesFollowThePeer(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	m.HookRun("", "g.sh", "b", "a", "main", time.Second, nil, false)
	m.HookRun("", "g.sh", "b", "a", "main", time.Second, errors.New("x"), false)
	m.HookRun("", "g.sh", "b", "a", "main", time.Second, errors.New("x"), true)
	m.HookRun("m", "m.sh", "b", "a", "main", time.Second, nil, false)
	m.HookRun("m", "m.sh", "b", "a", "main", time.Second, errors.New("x"), false)
	m.HookRun("m", "m.sh", "b", "a", "main", time.Second, errors.New("x"), true)
	m.ModuleRun("m", "a", time.Second, nil)
	m.ModuleDelete("m", nil)
	m.HelmOperation("m", "upgrade", 1, nil)
	m.Redeployed("m", 1)
	m.Convergence("a", time.Second)
	m.QueueLength("main", 1)
	m.TaskWait("main", "m", "m.sh", "b", time.Second)
	m.ReleaseInfo("v1", "stable")
	m.UpdateError("check")
	m.ModulePhases(map[string]module.Phase{"m": "Ready"})
	m.DriftChecked("m")
	m.DriftCorrected("m", "Deployment")
	m.ModuleHelm("m", "a", time.Second)
	m.Preset(metrics.Series{Modules: []string{"m"}, Bindings: []metrics.HookBindings{{Module: "m", Hook: "m.sh", Count: 1}}})

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, mf := range mfs {
		got = append(got, mf.GetName())
	}
	want := []string{
		"addon_operator_binding_count",
		"addon_operator_config_unknown_keys",
		"addon_operator_config_values_errors_total",
		"addon_operator_convergence_seconds",
		"addon_operator_convergence_total",
		"addon_operator_drift_checks_total",
		"addon_operator_drift_corrections_total",
		"addon_operator_global_hook_allowed_errors_total",
		"addon_operator_global_hook_errors_total",
		"addon_operator_global_hook_run_allowed_errors_total",
		"addon_operator_global_hook_run_errors_total",
		"addon_operator_global_hook_run_seconds",
		"addon_operator_global_hook_run_success_total",
		"addon_operator_global_hook_success_total",
		"addon_operator_helm_operation_errors_total",
		"addon_operator_helm_operation_seconds",
		"addon_operator_live_ticks",
		"addon_operator_mm_module_info",
		"addon_operator_module_delete_errors_total",
		"addon_operator_module_discover_errors_total",
		"addon_operator_module_helm_seconds",
		"addon_operator_module_hook_allowed_errors_total",
		"addon_operator_module_hook_errors_total",
		"addon_operator_module_hook_run_allowed_errors_total",
		"addon_operator_module_hook_run_errors_total",
		"addon_operator_module_hook_run_seconds",
		"addon_operator_module_hook_run_success_total",
		"addon_operator_module_hook_success_total",
		"addon_operator_module_phase",
		"addon_operator_module_run_errors_total",
		"addon_operator_module_run_seconds",
		"addon_operator_modules_absent_resources_total",
		"addon_operator_modules_discover_errors_total",
		"addon_operator_modules_helm_release_redeployed_total",
		"addon_operator_pending_releases",
		"addon_operator_release_info",
		"addon_operator_task_wait_in_queue_seconds_total",
		"addon_operator_tasks_queue_length",
		"addon_operator_update_errors_total",
		"addon_operator_update_last_check_timestamp_seconds",
	}
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metric names (-want +got):\n%s", diff)
	}
}

func TestMetricKinds(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	m.HookRun("", "g.sh", "b", "a", "main", time.Second, nil, false)
	m.ModuleRun("m", "a", time.Second, nil)
	m.QueueLength("main", 1)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, mf := range mfs {
		got[mf.GetName()] = mf.GetType().String() + ": " + mf.GetHelp()
	}
	for name, want := range map[string]string{
		"addon_operator_config_values_errors_total":    "COUNTER: Rejected ConfigMap edits.",
		"addon_operator_global_hook_run_seconds":       "HISTOGRAM: Global hook run time.",
		"addon_operator_global_hook_run_success_total": "COUNTER: Global hook runs that succeeded.",
		"addon_operator_module_run_seconds":            "HISTOGRAM: Module run time (hooks and Helm).",
		"addon_operator_module_run_errors_total":       "COUNTER: Module runs that failed.",
		"addon_operator_tasks_queue_length":            "GAUGE: Tasks waiting or running in a queue.",
		"addon_operator_live_ticks":                    "COUNTER: Increases every 10 seconds while the operator lives.",
	} {
		if diff := cmp.Diff(want, got[name]); diff != "" {
			t.Errorf("%s kind and help (-want +got):\n%s", name, diff)
		}
	}
}

func TestNewRefusesASecondRegistrationOnOneRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	metrics.New(reg)
	defer func() {
		if recover() == nil {
			t.Error("a second New on the same registry did not panic, want the duplicate registration refused")
		}
	}()
	metrics.New(reg)
}

func TestStartStopsWithItsContext(t *testing.T) {
	m := metrics.New(prometheus.NewRegistry())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Start(ctx) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Start returned %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Start did not return after its ctx was cancelled")
	}
}

// live_ticks counts the 10-second ticks of the clock while Start runs.
func TestLiveTicksCountTenSecondTicks(t *testing.T) {
	reg := prometheus.NewRegistry()
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	m := metrics.New(reg, metrics.WithClock(clk))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Start(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	poll.True(t, time.Millisecond, 5*time.Second, "Start to start its ticker", clk.HasWaiters)
	for want := 1.0; want <= 3; want++ {
		clk.Step(10 * time.Second)
		poll.Until(t, time.Millisecond, 5*time.Second, fmt.Sprintf("live_ticks %v", want), func() error {
			if got := scrape(t, reg)["addon_operator_live_ticks{}"]; got != want {
				return fmt.Errorf("live_ticks %v", got)
			}
			return nil
		})
	}
}

func TestPresetMakesTheBundlesSeriesExistAtZero(t *testing.T) {
	const (
		ingressHook = `activation="Retry",binding="beforeHelm",hook="010-ingress/hooks/replicas.sh",module="ingress",queue="main"`
		globalHook  = `activation="Kubernetes",binding="nodes",hook="nodes.sh",queue="nodes"`
		dnsHook     = `activation="Retry",binding="beforeHelm",hook="020-dns/hooks/a.sh",module="dns",queue="main"`
		oldGlobal   = `activation="Schedule",binding="tick",hook="old.sh",queue="main"`
	)
	ingress := metrics.HookSeries{Module: "ingress", Hook: "010-ingress/hooks/replicas.sh", Binding: "beforeHelm", Activation: "Retry", Queue: "main"}
	nodes := metrics.HookSeries{Hook: "nodes.sh", Binding: "nodes", Activation: "Kubernetes", Queue: "nodes"}
	dns := metrics.HookSeries{Module: "dns", Hook: "020-dns/hooks/a.sh", Binding: "beforeHelm", Activation: "Retry", Queue: "main"}
	old := metrics.HookSeries{Hook: "old.sh", Binding: "tick", Activation: "Schedule", Queue: "main"}
	moduleSeries := func(module, hookLabels string) map[string]float64 {
		return map[string]float64{
			`addon_operator_module_run_errors_total{module="` + module + `"}`:                         0,
			`addon_operator_module_delete_errors_total{module="` + module + `"}`:                      0,
			`addon_operator_modules_helm_release_redeployed_total{module="` + module + `"}`:           0,
			`addon_operator_modules_absent_resources_total{module="` + module + `"}`:                  0,
			`addon_operator_helm_operation_errors_total{module="` + module + `",operation="upgrade"}`: 0,
			"addon_operator_module_hook_run_errors_total{" + hookLabels + "}":                         0,
			"addon_operator_module_hook_run_allowed_errors_total{" + hookLabels + "}":                 0,
			"addon_operator_module_hook_run_success_total{" + hookLabels + "}":                        0,
		}
	}
	globalSeries := func(hookLabels string) map[string]float64 {
		return map[string]float64{
			"addon_operator_global_hook_run_errors_total{" + hookLabels + "}":         0,
			"addon_operator_global_hook_run_allowed_errors_total{" + hookLabels + "}": 0,
			"addon_operator_global_hook_run_success_total{" + hookLabels + "}":        0,
		}
	}
	merge := func(ms ...map[string]float64) map[string]float64 {
		out := map[string]float64{}
		for _, m := range append([]map[string]float64{unlabelled}, ms...) {
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}
	for _, tc := range []struct {
		name string
		do   func(m *metrics.Metrics)
		want map[string]float64
	}{
		{
			name: "every module, hook and queue of the bundle shows 0",
			do: func(m *metrics.Metrics) {
				m.Preset(metrics.Series{Modules: []string{"ingress"}, HelmOperations: []string{"upgrade"}, Queues: []string{"main", "nodes"}, Hooks: []metrics.HookSeries{ingress, nodes}})
			},
			want: merge(moduleSeries("ingress", ingressHook), globalSeries(globalHook), map[string]float64{
				`addon_operator_tasks_queue_length{queue="main"}`:  0,
				`addon_operator_tasks_queue_length{queue="nodes"}`: 0,
			}),
		},
		{
			name: "a preset keeps values already counted",
			do: func(m *metrics.Metrics) {
				m.ModuleRun("ingress", "Retry", time.Second, errors.New("boom"))
				m.HookRun("ingress", ingress.Hook, ingress.Binding, ingress.Activation, ingress.Queue, time.Second, errors.New("boom"), false)
				m.QueueLength("main", 3)
				m.Preset(metrics.Series{Modules: []string{"ingress"}, HelmOperations: []string{"upgrade"}, Queues: []string{"main"}, Hooks: []metrics.HookSeries{ingress}})
			},
			want: merge(moduleSeries("ingress", ingressHook), map[string]float64{
				`addon_operator_module_run_errors_total{module="ingress"}`:                     1,
				"addon_operator_module_hook_run_errors_total{" + ingressHook + "}":             1,
				"addon_operator_module_hook_run_seconds_count{" + ingressHook + "}":            1,
				"addon_operator_module_hook_run_seconds_sum{" + ingressHook + "}":              1,
				`addon_operator_module_run_seconds_count{activation="Retry",module="ingress"}`: 1,
				`addon_operator_module_run_seconds_sum{activation="Retry",module="ingress"}`:   1,
				`addon_operator_tasks_queue_length{queue="main"}`:                              3,
			}),
		},
		{
			name: "a bundle swap drops the series of modules and global hooks it no longer has",
			do: func(m *metrics.Metrics) {
				m.Preset(metrics.Series{Modules: []string{"ingress"}, HelmOperations: []string{"upgrade"}, Hooks: []metrics.HookSeries{ingress, old}})
				m.HookRun("ingress", ingress.Hook, ingress.Binding, "Kubernetes", "main", time.Second, nil, false)
				m.Preset(metrics.Series{Modules: []string{"dns"}, HelmOperations: []string{"upgrade"}, Hooks: []metrics.HookSeries{dns, nodes}})
			},
			want: merge(moduleSeries("dns", dnsHook), globalSeries(globalHook)),
		},
		{
			name: "a swap back keeps the old global hook's values only while it is in force",
			do: func(m *metrics.Metrics) {
				m.Preset(metrics.Series{Hooks: []metrics.HookSeries{old}})
				m.HookRun("", old.Hook, old.Binding, old.Activation, old.Queue, time.Second, errors.New("boom"), false)
				m.Preset(metrics.Series{Hooks: []metrics.HookSeries{old, nodes}})
			},
			want: merge(globalSeries(oldGlobal), globalSeries(globalHook), map[string]float64{
				"addon_operator_global_hook_run_errors_total{" + oldGlobal + "}":  1,
				"addon_operator_global_hook_run_seconds_count{" + oldGlobal + "}": 1,
				"addon_operator_global_hook_run_seconds_sum{" + oldGlobal + "}":   1,
			}),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m := metrics.New(reg)
			tc.do(m)
			if diff := cmp.Diff(tc.want, scrape(t, reg)); diff != "" {
				t.Errorf("scraped series (-want +got):\n%s", diff)
			}
		})
	}
}

func TestModulePhasesShowOnePhasePerModule(t *testing.T) {
	phase := func(module string, ready, reconciling, failed, disabled float64) map[string]float64 {
		return map[string]float64{
			`addon_operator_module_phase{module="` + module + `",phase="Ready"}`:       ready,
			`addon_operator_module_phase{module="` + module + `",phase="Reconciling"}`: reconciling,
			`addon_operator_module_phase{module="` + module + `",phase="Error"}`:       failed,
			`addon_operator_module_phase{module="` + module + `",phase="Disabled"}`:    disabled,
		}
	}
	for _, tc := range []struct {
		name  string
		calls []map[string]module.Phase
		want  []map[string]float64
	}{
		{
			name:  "each module has its phase at 1 and the other phases at 0",
			calls: []map[string]module.Phase{{"ingress": "Ready", "dns": "Disabled"}},
			want:  []map[string]float64{phase("ingress", 1, 0, 0, 0), phase("dns", 0, 0, 0, 1)},
		},
		{
			name:  "a phase change moves the 1",
			calls: []map[string]module.Phase{{"ingress": "Reconciling"}, {"ingress": "Error"}},
			want:  []map[string]float64{phase("ingress", 0, 0, 1, 0)},
		},
		{
			name:  "a module that is gone loses its series",
			calls: []map[string]module.Phase{{"ingress": "Error", "dns": "Ready"}, {"dns": "Ready"}},
			want:  []map[string]float64{phase("dns", 1, 0, 0, 0)},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m := metrics.New(reg)
			for _, c := range tc.calls {
				m.ModulePhases(c)
			}
			want := map[string]float64{}
			for _, w := range append([]map[string]float64{unlabelled}, tc.want...) {
				for k, v := range w {
					want[k] = v
				}
			}
			if diff := cmp.Diff(want, scrape(t, reg)); diff != "" {
				t.Errorf("scraped series (-want +got):\n%s", diff)
			}
		})
	}
}
