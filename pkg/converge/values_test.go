package converge_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sdkpkg "github.com/deckhouse/module-sdk/pkg"
	"github.com/google/go-cmp/cmp"

	"github.com/seedops/addon-operator/pkg/configstore"
	"github.com/seedops/addon-operator/pkg/converge"
	"github.com/seedops/addon-operator/pkg/hook"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/module/moduletest"
	"github.com/seedops/addon-operator/pkg/values"
)

func yamlValues(t *testing.T, doc string) values.Values {
	t.Helper()
	v, err := values.FromYAML([]byte(doc))
	if err != nil {
		t.Fatalf("values %s: %v", doc, err)
	}
	return v
}

func TestHelmValuesAreLayered(t *testing.T) {
	h := newHarness(t, files(
		[]moduletest.File{
			moduletest.Text("values.yaml", `
global: {fromBundle: bundle, overridden: bundle}
alpha: {fromBundle: bundle, overridden: bundle, cfg: bundle}
alphaEnabled: true
betaEnabled: true
`),
			moduletest.Hook("global-hooks/before.sh"),
			moduletest.Text("global-hooks/openapi/values.yaml", `
type: object
properties:
  fromBundle: {type: string}
  overridden: {type: string}
  defaulted: {type: string, default: schema}
  fromHook: {type: string}
`),
		},
		chart("010-alpha",
			moduletest.Text("modules/010-alpha/values.yaml", "overridden: module\ncfg: module\nown: module\n"),
			moduletest.Text("modules/010-alpha/openapi/values.yaml", `
type: object
properties:
  fromBundle: {type: string}
  overridden: {type: string}
  cfg: {type: string}
  own: {type: string}
  defaulted: {type: string, default: schema}
  cfgOverDefault: {type: string, default: schema}
  hook: {type: string}
`),
			moduletest.Hook("modules/010-alpha/hooks/before.sh"),
		),
		chart("020-beta"),
	), map[string]string{
		"before.sh":                 "configVersion: v1\nbeforeAll: 1\n",
		"010-alpha/hooks/before.sh": "configVersion: v1\nbeforeHelm: 1\n",
	})
	globalPatch := patch(t, `[{"op":"add","path":"/global/fromHook","value":"hook"}]`)
	alphaPatch := patch(t, `[{"op":"add","path":"/alpha/hook","value":"hook"},{"op":"replace","path":"/alpha/own","value":"hook"}]`)
	h.run.run = func(_ context.Context, hk *hook.Hook, _ hook.Input) (hook.Output, error) {
		switch hk.Name {
		case "before.sh":
			return hook.Output{ValuesPatch: globalPatch}, nil
		case "010-alpha/hooks/before.sh":
			return hook.Output{ValuesPatch: alphaPatch}, nil
		}
		return hook.Output{}, nil
	}
	h.start(snapshot(t, `
global: {overridden: config}
alpha: {cfg: config, cfgOverDefault: config}
`))
	h.waitReady()

	global := `{fromBundle: bundle, overridden: config, defaulted: schema, fromHook: hook, enabledModules: [alpha, beta]}`
	want := yamlValues(t, `
global: `+global+`
alpha: {fromBundle: bundle, overridden: module, cfg: config, own: hook, defaulted: schema, cfgOverDefault: config, hook: hook}
`)
	if diff := cmp.Diff(want, h.rel.last("alpha")); diff != "" {
		t.Errorf("alpha's Helm values (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(yamlValues(t, "global: "+global+"\nbeta: {}\n"), h.rel.last("beta")); diff != "" {
		t.Errorf("beta's Helm values (-want +got):\n%s", diff)
	}

	// The beforeHelm hook read the values before its own patch, and the
	// config values apart.
	runs := h.run.runsOf("010-alpha/hooks/before.sh")
	wantIn := yamlValues(t, `
global: `+global+`
alpha: {fromBundle: bundle, overridden: module, cfg: config, own: module, defaulted: schema, cfgOverDefault: config}
`)
	if diff := cmp.Diff(wantIn, runs[0].Input.Values); diff != "" {
		t.Errorf("VALUES_PATH of alpha's hook (-want +got):\n%s", diff)
	}
	wantCfg := yamlValues(t, "global: {overridden: config}\nalpha: {cfg: config, cfgOverDefault: config}\n")
	if diff := cmp.Diff(wantCfg, runs[0].Input.ConfigValues); diff != "" {
		t.Errorf("CONFIG_VALUES_PATH of alpha's hook (-want +got):\n%s", diff)
	}
}

// watchBundle: alpha (on) with a kubernetes hook watch.sh whose runs return
// the harness's patch, and a beforeHelm hook before.sh.
func watchBundle(t *testing.T, valuesSchema string) *harness {
	fs := chart("010-alpha",
		moduletest.Text("values.yaml", "alphaEnabled: true\n"),
		moduletest.Hook("modules/010-alpha/hooks/watch.sh"),
		moduletest.Hook("modules/010-alpha/hooks/before.sh"),
	)
	if valuesSchema != "" {
		fs = append(fs, moduletest.Text("modules/010-alpha/openapi/values.yaml", valuesSchema))
	}
	return newHarness(t, fs, map[string]string{
		"010-alpha/hooks/watch.sh":  "configVersion: v1\nkubernetes:\n- {name: pods, apiVersion: v1, kind: Pod, queue: events}\n",
		"010-alpha/hooks/before.sh": "configVersion: v1\nbeforeHelm: 1\n",
	})
}

func TestHookValuesOutliveConfigChanges(t *testing.T) {
	h := watchBundle(t, "")
	p := patch(t, `[{"op":"add","path":"/alpha/fromHook","value":"hook"},{"op":"replace","path":"/alpha/tls/cert","value":"hook"}]`)
	h.run.run = func(_ context.Context, hk *hook.Hook, _ hook.Input) (hook.Output, error) {
		if hk.Name == "010-alpha/hooks/watch.sh" {
			return hook.Output{ValuesPatch: p}, nil
		}
		return hook.Output{}, nil
	}
	h.start(snapshot(t, "alpha: {fromConfig: 1, tls: {cert: config}}"))
	h.waitReady()
	h.sendHookEvent(event(h.hookByName("010-alpha/hooks/watch.sh"), "pods"))
	h.waitIdle("events")
	h.waitIdle("main")
	if diff := cmp.Diff(yamlValues(t, "{fromConfig: 1, fromHook: hook, tls: {cert: hook}}"), h.rel.last("alpha").Section("alpha")); diff != "" {
		t.Fatalf("alpha's Helm values after the hook (-want +got):\n%s", diff)
	}

	// Each step is a config edit of alpha's section, in this order.
	for _, step := range []struct {
		name   string
		config string
		want   string
	}{
		{"a key the hook did not touch", "alpha: {fromConfig: 2, tls: {cert: config}}", "{fromConfig: 2, fromHook: hook, tls: {cert: hook}}"},
		{"a key the hook set: the hook's value wins", "alpha: {fromConfig: 2, fromHook: config, tls: {cert: config}}", "{fromConfig: 2, fromHook: hook, tls: {cert: hook}}"},
		{"the parent of a path the hook replaced is gone: that operation is skipped", "alpha: {fromConfig: 3}", "{fromConfig: 3, fromHook: hook}"},
	} {
		h.configure(snapshot(t, step.config), configstore.Change{Modules: []string{"alpha"}})
		h.waitIdle("main")
		if diff := cmp.Diff(yamlValues(t, step.want), h.rel.last("alpha").Section("alpha")); diff != "" {
			t.Errorf("%s: alpha's Helm values (-want +got):\n%s", step.name, diff)
		}
		if st := h.status("alpha"); st.Phase != module.PhaseReady {
			t.Errorf("%s: alpha phase %s (%s), want Ready", step.name, st.Phase, st.Message)
		}
	}
	if got := len(h.run.runsOf("010-alpha/hooks/watch.sh")); got != 1 {
		t.Errorf("watch.sh ran %d times, want once", got)
	}
}

func TestRejectedHookOutputAppliesNothing(t *testing.T) {
	const schema = `
type: object
properties:
  replicas: {type: integer, default: 1}
`
	for _, tc := range []struct {
		name      string
		hook      string
		patch     string
		wantInMsg string
	}{
		{"event hook, values violate the schema", "010-alpha/hooks/watch.sh", `[{"op":"replace","path":"/alpha/replicas","value":"many"}]`, "replicas"},
		{"event hook, patch does not apply", "010-alpha/hooks/watch.sh", `[{"op":"replace","path":"/alpha/absent/x","value":1}]`, "absent"},
		{"beforeHelm hook, values violate the schema", "010-alpha/hooks/before.sh", `[{"op":"add","path":"/alpha/replicas","value":-0.5}]`, "replicas"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := watchBundle(t, schema)
			h.backoff = func(int) time.Duration { return time.Hour }
			bad := hook.Output{
				ValuesPatch:          patch(t, tc.patch),
				ConfigValuesPatch:    patch(t, `[{"op":"add","path":"/alpha/generated","value":"x"}]`),
				KubernetesOperations: []sdkpkg.PatchCollectorOperation{kubeOp("create ConfigMap alpha-extra")},
			}
			h.run.run = func(_ context.Context, hk *hook.Hook, _ hook.Input) (hook.Output, error) {
				if hk.Name == tc.hook {
					return bad, nil
				}
				return hook.Output{}, nil
			}
			lifecycle := strings.HasSuffix(tc.hook, "before.sh")
			h.start(snapshot(t, ""))
			h.waitReady()
			h.waitIdle("main")
			n := h.q.len()
			if !lifecycle {
				h.sendHookEvent(event(h.hookByName(tc.hook), "pods"))
			}
			h.eventually("the hook to fail", func() bool {
				runs := h.obs.runsOfHook(tc.hook)
				return len(runs) > 0 && runs[0].Failed
			})

			if got := h.cfg.savedPatches(); len(got) != 0 {
				t.Errorf("config values patches saved: %v, want none", got)
			}
			if got := h.eng.appliedKubeOps(); got != 0 {
				t.Errorf("%d Kubernetes operations applied, want none", got)
			}
			vals, _, err := h.conv.ModuleValues("alpha")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(yamlValues(t, "{replicas: 1}"), vals.Section("alpha")); diff != "" {
				t.Errorf("alpha values (-want +got):\n%s", diff)
			}
			for _, q := range h.q.since(n) {
				if q.Kind == converge.KindModuleRun || q.Kind == converge.KindConverge {
					t.Errorf("queued %+v, want no re-run for a rejected patch", q)
				}
			}
			if lifecycle {
				st := h.status("alpha")
				if st.Phase != module.PhaseError || st.FailedStep != module.StepHooks || !strings.Contains(st.Message, tc.wantInMsg) {
					t.Errorf("alpha status %+v, want Error at step hooks naming %q", st, tc.wantInMsg)
				}
				if got := len(h.rel.deploys("alpha")); got != 0 {
					t.Errorf("alpha deployed %d times, want never after its beforeHelm hook failed", got)
				}
			}
		})
	}
}

func TestHookCanReplaceAValueItAddedEarlier(t *testing.T) {
	h := watchBundle(t, "")
	var runs atomic.Int32
	h.run.run = func(_ context.Context, hk *hook.Hook, _ hook.Input) (hook.Output, error) {
		if hk.Name != "010-alpha/hooks/watch.sh" {
			return hook.Output{}, nil
		}
		if runs.Add(1) == 1 {
			return hook.Output{ValuesPatch: patch(t, `[{"op":"add","path":"/alpha/endpoint","value":"10.0.0.1"}]`)}, nil
		}
		return hook.Output{ValuesPatch: patch(t, `[{"op":"replace","path":"/alpha/endpoint","value":"10.0.0.2"}]`)}, nil
	}
	h.start(snapshot(t, ""))
	h.waitReady()
	for range 2 {
		h.sendHookEvent(event(h.hookByName("010-alpha/hooks/watch.sh"), "pods"))
		h.waitIdle("events")
		h.waitIdle("main")
	}

	if diff := cmp.Diff(yamlValues(t, "{endpoint: 10.0.0.2}"), h.rel.last("alpha").Section("alpha")); diff != "" {
		t.Errorf("alpha's Helm values (-want +got):\n%s", diff)
	}
}

func TestModuleValuesOfAnUnknownModule(t *testing.T) {
	h := watchBundle(t, "")
	h.start(snapshot(t, ""))
	h.waitReady()
	if _, _, err := h.conv.ModuleValues("ghost"); !errors.Is(err, module.ErrUnknownModule) {
		t.Errorf("ModuleValues(ghost) error = %v, want ErrUnknownModule", err)
	}
	vals, cfgVals := h.conv.GlobalValues()
	if diff := cmp.Diff(yamlValues(t, "global: {enabledModules: [alpha]}"), vals); diff != "" {
		t.Errorf("global values (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(yamlValues(t, "global: {}"), cfgVals); diff != "" {
		t.Errorf("global config values (-want +got):\n%s", diff)
	}
}

func TestValuesViolatingTheSchemaNeverReachHelm(t *testing.T) {
	h := watchBundle(t, "type: object\nproperties:\n  replicas: {type: integer}\n")
	h.backoff = func(int) time.Duration { return time.Hour }
	h.start(snapshot(t, "alpha: {replicas: many}"))
	h.waitReady()

	st := h.status("alpha")
	if st.Phase != module.PhaseError || st.FailedStep != module.StepHelm || !strings.Contains(st.Message, "alpha.replicas") {
		t.Errorf("alpha status %+v, want Error at step helm naming alpha.replicas", st)
	}
	if got := len(h.rel.deploys("alpha")); got != 0 {
		t.Errorf("alpha deployed %d times, want never with invalid values", got)
	}
}

// An unwrapped module's chart gets its section at the top level of .Values
// and .Values.global, where the operator's global values win over the
// chart's own global defaults; its hooks keep the wrapped layout. Values
// that break the chart's values.schema.json fail the Helm step by name and
// deploy nothing.
func TestUnwrappedHelmValues(t *testing.T) {
	h := newHarness(t, files(
		[]moduletest.File{moduletest.Text("values.yaml", "global: {logLevel: 4, fromBundle: bundle}\ncertManagerEnabled: true\n")},
		chart("030-cert-manager",
			moduletest.Text("modules/030-cert-manager/module.yaml", "values: unwrapped\n"),
			moduletest.Text("modules/030-cert-manager/values.yaml", "global: {logLevel: 2, priorityClassName: \"\"}\nreplicaCount: 1\ninstallCRDs: false\n"),
			moduletest.Text("modules/030-cert-manager/values.schema.json", `{"type":"object","properties":{"replicaCount":{"type":"integer"},"installCRDs":{"type":"boolean"},"global":{"type":"object"}}}`),
			moduletest.Hook("modules/030-cert-manager/hooks/before.sh"),
		),
	), map[string]string{"030-cert-manager/hooks/before.sh": "configVersion: v1\nbeforeHelm: 1\n"})
	h.start(snapshot(t, "certManager: {replicaCount: 2}\n"))
	h.waitReady()

	want := yamlValues(t, `
replicaCount: 2
installCRDs: false
global: {logLevel: 4, priorityClassName: "", fromBundle: bundle, enabledModules: [cert-manager]}
`)
	if diff := cmp.Diff(want, h.rel.last("cert-manager")); diff != "" {
		t.Errorf("cert-manager's Helm values (-want +got):\n%s", diff)
	}
	runs := h.run.runsOf("030-cert-manager/hooks/before.sh")
	wantIn := yamlValues(t, `
global: {logLevel: 4, fromBundle: bundle, enabledModules: [cert-manager]}
certManager: {replicaCount: 2, installCRDs: false, global: {logLevel: 2, priorityClassName: ""}}
`)
	if diff := cmp.Diff(wantIn, runs[0].Input.Values); diff != "" {
		t.Errorf("VALUES_PATH of cert-manager's hook (-want +got):\n%s", diff)
	}

	deploys := len(h.rel.deploys("cert-manager"))
	h.configure(snapshot(t, "certManager: {replicaCount: two}\n"), configstore.Change{Modules: []string{"certManager"}})
	h.eventually("the Helm step to fail", func() bool { return h.status("cert-manager").Phase == module.PhaseError })
	st := h.status("cert-manager")
	if st.FailedStep != module.StepHelm || !strings.Contains(st.Message, "certManager.replicaCount must be of type integer, got string") {
		t.Errorf("status = %s %q, want the Helm step failing on certManager.replicaCount", st.FailedStep, st.Message)
	}
	if got := len(h.rel.deploys("cert-manager")); got != deploys {
		t.Errorf("%d deploys after the bad values, want %d: the last good release stays", got, deploys)
	}
}
