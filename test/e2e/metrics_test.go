package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seedops/addon-operator/pkg/module/moduletest"
)

// metricsBundle has a global hook, a module whose beforeHelm hook fails
// while $E2E_DIR/metrics-fail exists and writes a metric to METRICS_PATH on
// every run, and a disabled module.
func metricsBundle(t *testing.T) string {
	return moduletest.Bundle(t,
		moduletest.Text("values.yaml", "metricsHookedEnabled: true\nmetricsOffEnabled: false\n"),
		hookScript("global-hooks/startup.sh", `{"configVersion":"v1","onStartup":1}`, "true"),
		moduletest.Text("modules/010-metrics-hooked/templates/cm.yaml", fmt.Sprintf(cmTemplate, "metrics-hooked", "metricsHooked")),
		hookScript("modules/010-metrics-hooked/hooks/check.sh", `{"configVersion":"v1","beforeHelm":1}`,
			`echo '{"name":"e2e_hook_runs_total","action":"add","value":1,"labels":{"source":"metrics-test"}}' > "$METRICS_PATH"
if [[ -e "$E2E_DIR/metrics-fail" ]]; then echo "the failure switch is on" >&2; exit 1; fi`),
		moduletest.Text("modules/020-metrics-off/templates/cm.yaml", fmt.Sprintf(cmTemplate, "metrics-off", "metricsOff")),
	)
}

// scrape returns the samples of an operator's metrics page, keyed by the
// series as the text format prints it (`name{a="b",c="d"}`).
func (e *env) scrape(path string) map[string]float64 {
	e.t.Helper()
	code, body, err := e.op.Get(path)
	if err != nil || code != 200 {
		e.t.Fatalf("GET %s: %d %v", path, code, err)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(body, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			e.t.Fatalf("%s: bad sample %q", path, line)
		}
		out[line[:i]] = v
	}
	return out
}

// seriesAre checks series values: "" when every series exists with its
// value, otherwise what differs.
func seriesAre(samples, want map[string]float64) string {
	var diffs []string
	for k, v := range want {
		got, ok := samples[k]
		switch {
		case !ok:
			diffs = append(diffs, k+" is absent")
		case got != v:
			diffs = append(diffs, fmt.Sprintf("%s = %v, want %v", k, got, v))
		}
	}
	return strings.Join(diffs, "; ")
}

// /metrics shows the bundle's series at 0 right after the start, a failing
// hook counts into them and turns module_phase to Error, fixing it turns it
// back; /metrics/hooks carries what hooks write to METRICS_PATH.
func TestMetricsOfModulesAndHooks(t *testing.T) {
	e := newEnv(t, metricsBundle(t), "--queue-min-backoff", "1s", "--queue-max-backoff", "2s")
	e.start()
	const (
		hook = `hook="010-metrics-hooked/hooks/check.sh",module="metrics-hooked"`
		// A config edit runs the module with activation ConfigChanged; a
		// failing run is retried with activation Retry.
		edited    = `activation="ConfigChanged",binding="beforeHelm",` + hook + `,queue="main"`
		retried   = `activation="Retry",binding="beforeHelm",` + hook + `,queue="main"`
		onStartup = `activation="OnStartup",binding="beforeHelm",` + hook + `,queue="main"`
		global    = `activation="OnStartup",binding="onStartup",hook="startup.sh",queue="main"`
	)
	phase := func(module, current string) map[string]float64 {
		out := map[string]float64{}
		for _, p := range []string{"Ready", "Reconciling", "Error", "Disabled"} {
			v := 0.0
			if p == current {
				v = 1
			}
			out[fmt.Sprintf(`addon_operator_module_phase{module=%q,phase=%q}`, module, p)] = v
		}
		return out
	}
	merge := func(ms ...map[string]float64) map[string]float64 {
		out := map[string]float64{}
		for _, m := range ms {
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}

	t.Run("the bundle's series exist at 0 after the start", func(t *testing.T) {
		want := map[string]float64{
			`addon_operator_module_run_errors_total{module="metrics-hooked"}`:                      0,
			`addon_operator_module_run_errors_total{module="metrics-off"}`:                         0,
			`addon_operator_module_delete_errors_total{module="metrics-hooked"}`:                   0,
			`addon_operator_modules_helm_release_redeployed_total{module="metrics-hooked"}`:        0,
			`addon_operator_helm_operation_errors_total{module="metrics-off",operation="upgrade"}`: 0,
			"addon_operator_module_hook_run_errors_total{" + edited + "}":                          0,
			"addon_operator_module_hook_run_errors_total{" + retried + "}":                         0,
			"addon_operator_module_hook_run_allowed_errors_total{" + retried + "}":                 0,
			"addon_operator_module_hook_run_errors_total{" + onStartup + "}":                       0,
			"addon_operator_global_hook_run_errors_total{" + global + "}":                          0,
			`addon_operator_tasks_queue_length{queue="main"}`:                                      0,
			`addon_operator_config_values_errors_total`:                                            0,
		}
		e.eventually(10*time.Second, func() string {
			return seriesAre(e.scrape("/metrics"), merge(want, phase("metrics-hooked", "Ready"), phase("metrics-off", "Disabled")))
		})
	})

	t.Run("a failing hook counts an error and turns module_phase to Error", func(t *testing.T) {
		flag := filepath.Join(e.dir, "metrics-fail")
		if err := os.WriteFile(flag, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		e.setConfig(map[string]string{"metricsHooked": "value: one\n"})
		e.eventually(20*time.Second, func() string {
			s := e.scrape("/metrics")
			if msg := seriesAre(s, phase("metrics-hooked", "Error")); msg != "" {
				return msg
			}
			// Both series existed at 0: an alert on their increase fires
			// from the first failure on.
			if n := s["addon_operator_module_hook_run_errors_total{"+edited+"}"]; n < 1 {
				return fmt.Sprintf("the hook's error counter for the edit is %v, want at least 1", n)
			}
			if n := s["addon_operator_module_hook_run_errors_total{"+retried+"}"]; n < 1 {
				return fmt.Sprintf("the hook's error counter for retries is %v, want at least 1", n)
			}
			if n := s[`addon_operator_module_run_errors_total{module="metrics-hooked"}`]; n < 2 {
				return fmt.Sprintf("module_run_errors_total is %v, want at least 2 (the failure and a retry)", n)
			}
			return ""
		})
		if err := os.Remove(flag); err != nil {
			t.Fatal(err)
		}
		e.eventually(20*time.Second, func() string {
			return seriesAre(e.scrape("/metrics"), phase("metrics-hooked", "Ready"))
		})
	})

	t.Run("/metrics/hooks carries what hooks write to METRICS_PATH", func(t *testing.T) {
		s := e.scrape("/metrics/hooks")
		key := `e2e_hook_runs_total{` + hook + `,source="metrics-test"}`
		if n := s[key]; n < 2 {
			t.Errorf("%s = %v, want at least 2 (the start and the recovery); page:\n%v", key, n, s)
		}
	})
}
