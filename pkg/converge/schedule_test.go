package converge_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/seedops/addon-operator/pkg/configstore"
	"github.com/seedops/addon-operator/pkg/converge"
	"github.com/seedops/addon-operator/pkg/helm"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/module/moduletest"
	"github.com/seedops/addon-operator/pkg/values"
)

// defined is a module with a chart and a module.yaml.
func defined(dir, moduleYAML string) []moduletest.File {
	return chart(dir, moduletest.Text("modules/"+dir+"/module.yaml", moduleYAML))
}

// deployGate makes the fake Deploy of each module named in meet wait until
// every module named there has entered Deploy too (failing the deploy
// after a timeout: the modules did not run at the same time), journals
// "deployed <module>" when a deploy ends, fails the deploys of the modules
// in fail, and counts the deploys in flight.
type deployGate struct {
	mu          sync.Mutex
	inFlight    int
	maxInFlight int
	arrived     map[string]bool
	all         chan struct{}
}

func gateDeploys(h *harness, meet, fail []string) *deployGate {
	g := &deployGate{arrived: map[string]bool{}, all: make(chan struct{})}
	h.rel.deploy = func(ctx context.Context, name string, _ values.Values) (helm.Result, error) {
		g.mu.Lock()
		g.inFlight++
		g.maxInFlight = max(g.maxInFlight, g.inFlight)
		if slices.Contains(meet, name) {
			g.arrived[name] = true
			if len(g.arrived) == len(meet) {
				close(g.all)
			}
		}
		g.mu.Unlock()
		defer func() {
			g.mu.Lock()
			g.inFlight--
			g.mu.Unlock()
			h.j.add("deployed %s", name)
		}()
		if slices.Contains(meet, name) {
			select {
			case <-g.all:
			case <-time.After(2 * time.Second):
				return helm.Result{}, fmt.Errorf("%s: the modules %v did not deploy at the same time", name, meet)
			case <-ctx.Done():
				return helm.Result{}, ctx.Err()
			}
		}
		if slices.Contains(fail, name) {
			return helm.Result{}, errors.New("install failed")
		}
		return helm.Result{Revision: 1, Applied: true, Reason: helm.ReasonInstalled}, nil
	}
	return g
}

func (g *deployGate) most() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.maxInFlight
}

// before reports whether entry first occurs in entries before other does.
func before(entries []string, entry, other string) bool {
	i, j := slices.Index(entries, entry), slices.Index(entries, other)
	return i >= 0 && j >= 0 && i < j
}

func TestModuleRunsFollowDependencies(t *testing.T) {
	const allOn = "aEnabled: true\nbEnabled: true\ncEnabled: true\n"
	for _, tc := range []struct {
		name        string
		bundle      []moduletest.File
		parallelism int
		meet, fail  []string
		// after: each pair's second module starts its deploy only after
		// the first's deploy ended.
		after   [][2]string
		wantMax int
	}{
		{
			name:        "module.yaml without requirements: every order at once",
			bundle:      files(defined("010-a", "description: A\n"), defined("020-b", "tags: [x]\n"), defined("030-c", "weight: 5\n")),
			parallelism: 3, meet: []string{"a", "b", "c"}, wantMax: 3,
		},
		{
			name: "a requires c: b and c at once, a after c",
			bundle: files(defined("010-a", "requirements: {modules: {c: \"\"}}\n"), defined("020-b", "description: B\n"),
				defined("030-c", "description: C\n")),
			parallelism: 3, meet: []string{"b", "c"}, after: [][2]string{{"c", "a"}}, wantMax: 2,
		},
		{
			name: "a requires c, c fails: a still runs, after c's run",
			bundle: files(defined("010-a", "requirements: {modules: {c: \"\"}}\n"), defined("020-b", "description: B\n"),
				defined("030-c", "description: C\n")),
			parallelism: 3, meet: []string{"b", "c"}, fail: []string{"c"}, after: [][2]string{{"c", "a"}}, wantMax: 2,
		},
		{
			name:        "no module.yaml: one order after the other",
			bundle:      files(chart("010-a"), chart("010-b"), chart("020-c")),
			parallelism: 3, meet: []string{"a", "b"}, after: [][2]string{{"a", "c"}, {"b", "c"}}, wantMax: 2,
		},
		{
			name:        "no module.yaml waits for every lower order, module.yaml waits for nothing",
			bundle:      files(defined("010-a", "description: A\n"), chart("020-b"), defined("030-c", "description: C\n")),
			parallelism: 3, meet: []string{"a", "c"}, after: [][2]string{{"a", "b"}}, wantMax: 2,
		},
		{
			name:        "parallelism 1: one module after the other",
			bundle:      files(defined("010-a", "description: A\n"), defined("020-b", "description: B\n"), defined("030-c", "description: C\n")),
			parallelism: 1, after: [][2]string{{"a", "b"}, {"b", "c"}}, wantMax: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, files([]moduletest.File{moduletest.Text("values.yaml", allOn)}, tc.bundle), nil)
			h.parallelism = tc.parallelism
			// A failed module stays in Error: its retry is not due.
			h.backoff = func(int) time.Duration { return time.Hour }
			g := gateDeploys(h, tc.meet, tc.fail)
			h.start(snapshot(t, ""))
			h.waitReady()

			got := h.j.with("deploy ", "deployed ")
			for _, p := range tc.after {
				if !before(got, "deployed "+p[0], "deploy "+p[1]) {
					t.Errorf("%s started before %s's deploy ended; deploys: %v", p[1], p[0], got)
				}
			}
			if g.most() != tc.wantMax {
				t.Errorf("deploys at once = %d, want %d; deploys: %v", g.most(), tc.wantMax, got)
			}
			for _, name := range []string{"a", "b", "c"} {
				want := module.PhaseReady
				if slices.Contains(tc.fail, name) {
					want = module.PhaseError
				}
				if st := h.status(name); st.Phase != want {
					t.Errorf("%s: phase %s (%s), want %s", name, st.Phase, st.Message, want)
				}
			}
		})
	}
}

func TestModuleRequirementsDecideWhetherItIsEnabled(t *testing.T) {
	const requiresB = "requirements: {modules: {b: \"\"}}\n"
	for _, tc := range []struct {
		name   string
		bundle []moduletest.File
		config string
		// b's `enabled` script verdict, when b has one.
		bScript bool
		// want: module -> EnabledReason, for the enabled modules "on".
		want map[string]string
	}{
		{
			name:   "kubernetes requirement met",
			bundle: files(defined("010-a", "requirements: {kubernetes: \">= 1.30\"}\n")),
			want:   map[string]string{"a": "on"},
		},
		{
			name:   "kubernetes requirement not met",
			bundle: files(defined("010-a", "requirements: {kubernetes: \">= 1.40\"}\n")),
			want:   map[string]string{"a": `requirements.kubernetes ">= 1.40" is not met by the cluster's version v1.34.4`},
		},
		{
			name:   "required module enabled, though of a higher order",
			bundle: files(defined("010-a", requiresB), defined("020-b", "description: B\n")),
			want:   map[string]string{"a": "on", "b": "on"},
		},
		{
			name: "required module disabled by configuration",
			bundle: files(defined("010-a", requiresB), defined("020-b", "description: B\n"),
				[]moduletest.File{moduletest.Script("modules/010-a/enabled", "#!/bin/sh\n")}),
			config: "bEnabled: false",
			want:   map[string]string{"a": "requirements.modules: module b is not enabled", "b": ""},
		},
		{
			name:    "required module disabled by its enabled script",
			bundle:  files(defined("010-a", requiresB), defined("020-b", "description: B\n"), []moduletest.File{moduletest.Script("modules/020-b/enabled", "#!/bin/sh\n")}),
			bScript: false,
			want:    map[string]string{"a": "requirements.modules: module b is not enabled", "b": ""},
		},
		{
			name: "a chain: c disabled disables b, which disables a",
			bundle: files(defined("010-a", requiresB), defined("020-b", "requirements: {modules: {c: \"\"}}\n"),
				defined("030-c", "description: C\n")),
			config: "cEnabled: false",
			want: map[string]string{"a": "requirements.modules: module b is not enabled",
				"b": "requirements.modules: module c is not enabled", "c": ""},
		},
		{
			name:   "required module disabled by its kubernetes requirement",
			bundle: files(defined("010-a", requiresB), defined("020-b", "requirements: {kubernetes: \"< 1.20\"}\n")),
			want: map[string]string{"a": "requirements.modules: module b is not enabled",
				"b": `requirements.kubernetes "< 1.20" is not met by the cluster's version v1.34.4`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, files([]moduletest.File{moduletest.Text("values.yaml", "aEnabled: true\nbEnabled: true\ncEnabled: true\n")}, tc.bundle), nil)
			h.run.enabled = func(string, values.Values) (bool, error) { return tc.bScript, nil }
			h.start(snapshot(t, tc.config))
			h.waitReady()

			got := map[string]string{}
			for _, st := range h.conv.Statuses() {
				got[st.Module] = st.EnabledReason
				if st.Enabled {
					got[st.Module] = "on"
				}
				deployed := len(h.rel.deploys(st.Module)) > 0
				if deployed != st.Enabled {
					t.Errorf("%s: deployed %v, enabled %v", st.Module, deployed, st.Enabled)
				}
				if !st.Enabled && st.Phase != module.PhaseDisabled {
					t.Errorf("%s: phase %s, want Disabled", st.Module, st.Phase)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("EnabledReason, \"on\" when enabled (-want +got):\n%s", diff)
			}
			// A module refused by its requirements does not run its
			// enabled script.
			for _, e := range h.j.with("enabled ") {
				if m := strings.TrimPrefix(e, "enabled "); strings.HasPrefix(got[m], "requirements.") {
					t.Errorf("%s's enabled script ran, though its requirements are not met", m)
				}
			}
		})
	}
}

func TestUnreadableClusterVersionFailsTheConverge(t *testing.T) {
	h := newHarness(t, files(
		[]moduletest.File{moduletest.Text("values.yaml", "aEnabled: true\nbEnabled: true\n")},
		defined("010-a", "requirements: {kubernetes: \">= 1.30\"}\n"), chart("020-b"),
	), nil)
	var mu sync.Mutex
	unreachable := true
	h.kubeVersion = func(context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if unreachable {
			return "", errors.New("connection refused")
		}
		return "v1.34.4", nil
	}
	h.start(snapshot(t, ""))
	h.eventually("the global step to fail", func() bool { return h.conv.GlobalStatus().Phase == module.PhaseError })
	if msg := h.conv.GlobalStatus().Message; !strings.Contains(msg, "cluster's version") || !strings.Contains(msg, "connection refused") {
		t.Errorf("global message %q, want it to name the cluster's version and the error", msg)
	}
	if d := h.j.with("deploy "); len(d) > 0 {
		t.Errorf("deploys %v before the cluster's version was read, want none", d)
	}
	mu.Lock()
	unreachable = false
	mu.Unlock()
	// The queue retries the startup, which then converges every module.
	h.waitReady()
	for _, name := range []string{"a", "b"} {
		if st := h.status(name); st.Phase != module.PhaseReady {
			t.Errorf("%s: phase %s (%s), want Ready", name, st.Phase, st.Message)
		}
	}
}

func TestModuleParallelismFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want int
	}{
		{nil, runtime.NumCPU()},
		{[]string{"--module-parallelism", "1"}, 1},
		{[]string{"--module-parallelism=8"}, 8},
	} {
		var c converge.Config
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		c.BindFlags(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatalf("parse %v: %v", tc.args, err)
		}
		if c.ModuleParallelism != tc.want {
			t.Errorf("%v: ModuleParallelism = %d, want %d", tc.args, c.ModuleParallelism, tc.want)
		}
	}
}

// Disabled modules are deleted in the reverse order of starts: a module
// before the modules it requires, so it never runs without them.
func TestDisabledModulesAreDeletedBeforeTheModulesTheyRequire(t *testing.T) {
	h := newHarness(t, files(
		[]moduletest.File{moduletest.Text("values.yaml", "aEnabled: true\nbEnabled: true\ncEnabled: true\n")},
		defined("010-a", "requirements: {modules: {c: \"\"}}\n"), defined("020-b", "description: B\n"), defined("030-c", "description: C\n"),
	), nil)
	h.start(snapshot(t, ""))
	h.waitReady()
	h.waitIdle("main")

	h.configure(snapshot(t, "aEnabled: false\nbEnabled: false\ncEnabled: false"), configstore.Change{Enabled: []string{"a", "b", "c"}})
	h.eventually("a second converge", func() bool { return len(h.obs.converges()) == 2 })
	if diff := cmp.Diff([]string{"uninstall a", "uninstall c", "uninstall b"}, h.j.with("uninstall ")); diff != "" {
		t.Errorf("uninstalls (-want +got):\n%s", diff)
	}
}
