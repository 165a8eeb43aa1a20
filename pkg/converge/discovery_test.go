package converge_test

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/seedops/addon-operator/pkg/configstore"
	"github.com/seedops/addon-operator/pkg/helm"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/module/moduletest"
	"github.com/seedops/addon-operator/pkg/values"
)

func TestEnabledFlagOverridesBundleDefault(t *testing.T) {
	for _, tc := range []struct {
		name        string
		bundle      string // values.yaml
		config      string
		wantEnabled bool
	}{
		{"bundle default on", "alphaEnabled: true\n", "", true},
		{"bundle default on, config off", "alphaEnabled: true\n", "alphaEnabled: false", false},
		{"no default", "", "", false},
		{"no default, config on", "", "alphaEnabled: true", true},
		{"bundle default off, config on", "alphaEnabled: false\n", "alphaEnabled: true", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, files(
				[]moduletest.File{moduletest.Text("values.yaml", tc.bundle)},
				chart("010-alpha"),
			), nil)
			h.start(snapshot(t, tc.config))
			h.waitReady()

			st := h.status("alpha")
			got := []any{st.Enabled, st.EnabledByConfig, len(h.rel.deploys("alpha")) > 0}
			want := []any{tc.wantEnabled, tc.wantEnabled, tc.wantEnabled}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("[Enabled EnabledByConfig deployed] (-want +got):\n%s", diff)
			}
		})
	}
}

// scriptBundle: a (on), b and c with `enabled` scripts, d (on, no script).
func scriptBundle(t *testing.T) *harness {
	return newHarness(t, files(
		[]moduletest.File{moduletest.Text("values.yaml", "aEnabled: true\nbEnabled: true\ncEnabled: true\ndEnabled: true\n")},
		chart("010-a"),
		chart("020-b", moduletest.Script("modules/020-b/enabled", "#!/bin/sh\n")),
		chart("030-c", moduletest.Script("modules/030-c/enabled", "#!/bin/sh\n")),
		chart("040-d"),
	), nil)
}

func TestEnabledScriptsSeeTheModulesEnabledBeforeThem(t *testing.T) {
	for _, tc := range []struct {
		name        string
		bOn         bool
		wantSeenByB []string
		wantSeenByC []string
		wantEnabled []string // global.enabledModules as the charts get it
	}{
		{"b enabled by its script", true, []string{"a"}, []string{"a", "b"}, []string{"a", "b", "c", "d"}},
		{"b disabled by its script", false, []string{"a"}, []string{"a"}, []string{"a", "c", "d"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := scriptBundle(t)
			h.run.enabled = func(module string, _ values.Values) (bool, error) {
				return module != "b" || tc.bOn, nil
			}
			h.start(snapshot(t, ""))
			h.waitReady()

			if diff := cmp.Diff([][]string{tc.wantSeenByB}, h.run.seenByEnabled("b")); diff != "" {
				t.Errorf("global.enabledModules seen by b's script (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([][]string{tc.wantSeenByC}, h.run.seenByEnabled("c")); diff != "" {
				t.Errorf("global.enabledModules seen by c's script (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantEnabled, enabledModules(h.rel.last("d"))); diff != "" {
				t.Errorf("global.enabledModules in d's Helm values (-want +got):\n%s", diff)
			}
			st := h.status("b")
			if st.Enabled != tc.bOn || st.EnabledByScript == nil || *st.EnabledByScript != tc.bOn || !st.EnabledByConfig {
				t.Errorf("b status = %+v, want Enabled and EnabledByScript %v, EnabledByConfig true", st, tc.bOn)
			}
		})
	}
}

func TestEnabledScriptIsNotRunForAModuleDisabledByConfig(t *testing.T) {
	h := scriptBundle(t)
	h.start(snapshot(t, "bEnabled: false"))
	h.waitReady()
	if diff := cmp.Diff([]string{"enabled c"}, h.j.with("enabled ")); diff != "" {
		t.Errorf("enabled scripts run (-want +got):\n%s", diff)
	}
	if st := h.status("b"); st.Enabled || st.EnabledByScript != nil {
		t.Errorf("b status = %+v, want disabled without a script verdict", st)
	}
}

func TestFailingEnabledScriptKeepsTheModuleState(t *testing.T) {
	for _, tc := range []struct {
		name        string
		firstOK     bool // the script succeeds at startup and fails afterwards
		wantEnabled bool
	}{
		{"at startup: stays disabled", false, false},
		{"after it was enabled: stays enabled", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := scriptBundle(t)
			var calls atomic.Int32
			h.run.enabled = func(module string, _ values.Values) (bool, error) {
				if module == "b" && (calls.Add(1) > 1 || !tc.firstOK) {
					return false, errors.New("exit status 2")
				}
				return true, nil
			}
			h.start(snapshot(t, ""))
			h.waitReady()
			h.waitIdle("main")
			if tc.firstOK {
				h.configure(snapshot(t, "global: {x: 1}"), configstore.Change{Global: true})
				h.eventually("a second converge", func() bool { return len(h.obs.converges()) == 2 })
			}

			if got := h.status("b").Enabled; got != tc.wantEnabled {
				t.Errorf("b enabled = %v, want %v", got, tc.wantEnabled)
			}
			if got := h.j.with("uninstall "); len(got) != 0 {
				t.Errorf("uninstalled %v, want nothing", got)
			}
			if _, discoverErrors := h.obs.counts(); discoverErrors != 1 {
				t.Errorf("discover errors = %d, want 1", discoverErrors)
			}
			// c still runs its script and sees the state b kept.
			seen := h.run.seenByEnabled("c")
			wantSeen := []string{"a"}
			if tc.wantEnabled {
				wantSeen = []string{"a", "b"}
			}
			if diff := cmp.Diff(wantSeen, seen[len(seen)-1]); diff != "" {
				t.Errorf("global.enabledModules seen by c (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFailingEnabledScriptShowsInStatus(t *testing.T) {
	for _, tc := range []struct {
		name    string
		firstOK bool
	}{
		{"at startup", false},
		{"after it was enabled", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := scriptBundle(t)
			var calls atomic.Int32
			h.run.enabled = func(module string, _ values.Values) (bool, error) {
				if module == "b" && (calls.Add(1) > 1 || !tc.firstOK) {
					return false, errors.New("exit status 2")
				}
				return true, nil
			}
			h.start(snapshot(t, ""))
			h.waitReady()
			h.waitIdle("main")
			if tc.firstOK {
				h.configure(snapshot(t, "global: {x: 1}"), configstore.Change{Global: true})
				h.eventually("a second converge", func() bool { return len(h.obs.converges()) == 2 })
			}

			st := h.status("b")
			if st.Phase != module.PhaseError || st.FailedStep != module.StepEnabled || !strings.Contains(st.Message, "exit status 2") {
				t.Errorf("b status = {Phase:%s FailedStep:%s Message:%q}, want Error at step enabled with the script's error", st.Phase, st.FailedStep, st.Message)
			}
		})
	}
}

// deleteBundle: a, b, c on by default, each with a hook bound to
// beforeDeleteHelm and afterDeleteHelm.
func deleteBundle(t *testing.T, bundleValues string) *harness {
	var fs []moduletest.File
	hooks := map[string]string{}
	for _, dir := range []string{"010-a", "020-b", "030-c"} {
		fs = append(fs, chart(dir, moduletest.Hook("modules/"+dir+"/hooks/delete.sh"))...)
		hooks[dir+"/hooks/delete.sh"] = "configVersion: v1\nbeforeDeleteHelm: 1\nafterDeleteHelm: 1\n"
	}
	fs = append(fs, moduletest.Text("values.yaml", bundleValues))
	return newHarness(t, fs, hooks)
}

func TestDisabledModulesAreDeletedInReverseOrder(t *testing.T) {
	h := deleteBundle(t, "aEnabled: true\nbEnabled: true\ncEnabled: true\n")
	h.start(snapshot(t, ""))
	h.waitReady()
	h.waitIdle("main")
	before := len(h.j.all())

	h.configure(snapshot(t, "bEnabled: false\ncEnabled: false"), configstore.Change{Enabled: []string{"b", "c"}})
	h.eventually("a second converge", func() bool { return len(h.obs.converges()) == 2 })

	var got []string
	for _, e := range h.j.all()[before:] {
		for _, p := range []string{"run ", "untrack ", "uninstall ", "disable ", "deploy "} {
			if strings.HasPrefix(e, p) {
				got = append(got, e)
			}
		}
	}
	want := []string{
		"run 030-c/hooks/delete.sh beforeDeleteHelm",
		"untrack c",
		"uninstall c",
		"run 030-c/hooks/delete.sh afterDeleteHelm",
		"disable 030-c/hooks/delete.sh",
		"run 020-b/hooks/delete.sh beforeDeleteHelm",
		"untrack b",
		"uninstall b",
		"run 020-b/hooks/delete.sh afterDeleteHelm",
		"disable 020-b/hooks/delete.sh",
		"deploy a",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	wantStatus := []briefStatus{
		{Module: "a", Enabled: true, Phase: module.PhaseReady, Revision: 2},
		{Module: "b", Phase: module.PhaseDisabled},
		{Module: "c", Phase: module.PhaseDisabled},
	}
	if diff := cmp.Diff(wantStatus, brief(h.conv.Statuses())); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}

	// A module that is gone stays gone: the next converge deletes nothing.
	h.waitIdle("main")
	before = len(h.j.all())
	h.configure(snapshot(t, "bEnabled: false\ncEnabled: false\nglobal: {x: 1}"), configstore.Change{Global: true})
	h.eventually("a third converge", func() bool { return len(h.obs.converges()) == 3 })
	for _, e := range h.j.all()[before:] {
		if strings.HasPrefix(e, "uninstall ") || strings.Contains(e, "DeleteHelm") {
			t.Errorf("after the delete: %s, want nothing deleted again", e)
		}
	}
}

func TestReleasesFoundAtStartupAreAdopted(t *testing.T) {
	h := deleteBundle(t, "aEnabled: true\n")
	h.rel.list = []helm.Release{
		{Name: "b", Revision: 4, Checksum: "sum-b"},       // a module the config disables
		{Name: "gone", Revision: 2, Checksum: "sum-gone"}, // the operator's, of a module the bundle lost
		{Name: "foreign", Revision: 9},                    // not the operator's
	}
	h.start(snapshot(t, ""))
	h.waitReady()

	want := []string{
		"track b",
		"uninstall gone",
		"run 020-b/hooks/delete.sh beforeDeleteHelm",
		"untrack b",
		"uninstall b",
		"run 020-b/hooks/delete.sh afterDeleteHelm",
		"deploy a",
		"track a",
	}
	if diff := cmp.Diff(want, h.j.with("track ", "untrack ", "uninstall ", "run ", "deploy ")); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"b ok"}, h.obs.deletes()); diff != "" {
		t.Errorf("module deletes (-want +got):\n%s", diff)
	}
}

func TestFailedDeleteIsRetried(t *testing.T) {
	h := deleteBundle(t, "aEnabled: true\nbEnabled: true\n")
	var fails atomic.Int32
	fails.Store(2)
	h.rel.uninstall = func(name string) error {
		if name == "b" && fails.Add(-1) >= 0 {
			return errors.New("uninstall timed out")
		}
		return nil
	}
	h.start(snapshot(t, ""))
	h.waitReady()
	h.waitIdle("main")

	h.configure(snapshot(t, "bEnabled: false"), configstore.Change{Enabled: []string{"b"}})
	h.eventually("b's delete to fail", func() bool { return h.status("b").Phase == module.PhaseError })
	st := h.status("b")
	if st.FailedStep != module.StepDelete || !strings.Contains(st.Message, "uninstall timed out") {
		t.Errorf("b status = %+v, want Error at step delete with the uninstall error", st)
	}
	h.eventually("b to be deleted by a retry", func() bool { return h.status("b").Phase == module.PhaseDisabled })
	if diff := cmp.Diff([]string{"b error", "b error", "b ok"}, h.obs.deletes()); diff != "" {
		t.Errorf("module deletes (-want +got):\n%s", diff)
	}
	if got := h.j.count("run 020-b/hooks/delete.sh afterDeleteHelm"); got != 1 {
		t.Errorf("afterDeleteHelm ran %d times, want once, after the uninstall that worked", got)
	}
	if len(h.rel.deploys("b")) != 1 {
		t.Errorf("b deployed %d times, want once (before it was disabled)", len(h.rel.deploys("b")))
	}
}
