package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seedops/addon-operator/test/cluster"
)

const testBundle = "testdata/bundle"

// One operator on the test bundle, exercised step by step the way an admin
// and the cluster would.
func TestLifecycle(t *testing.T) {
	e := newEnv(t, testBundle, "--queue-min-backoff", "1s", "--queue-max-backoff", "4s")
	ctx := context.Background()
	e.start()

	t.Run("startup runs hooks in lifecycle order", func(t *testing.T) {
		want := []string{
			"global onStartup", "global nodes Synchronization", "global beforeAll",
			"echo onStartup", "echo watch Synchronization -", "echo beforeHelm", "echo afterHelm",
			"global afterAll",
		}
		lines := e.traceLines()
		last := -1
		for _, w := range want {
			i := slices.Index(lines, w)
			if i < 0 {
				t.Fatalf("trace lacks %q:\n%s", w, strings.Join(lines, "\n"))
			}
			if i < last {
				t.Errorf("%q ran before %q:\n%s", w, want[slices.Index(want, w)-1], strings.Join(lines, "\n"))
			}
			last = i
		}
	})

	t.Run("charts render with static, config, global and hook values", func(t *testing.T) {
		data := e.configMapData(e.ns, "echo")
		want := map[string]string{"message": "hello", "upper": "HELLO", "startedBy": "onStartup", "ingressCount": "0", "enabledModules": "echo,flaky,legacy"}
		for k, v := range want {
			if data[k] != v {
				t.Errorf("echo ConfigMap %s = %q, want %q (data %v)", k, data[k], v, data)
			}
		}
		if rev, status := e.revision("echo"); rev != 1 || status != "deployed" {
			t.Errorf("echo release: revision %d %s, want 1 deployed", rev, status)
		}
	})

	t.Run("a module written for flant/addon-operator runs unchanged", func(t *testing.T) {
		if got := e.configMapData(e.ns, "legacy")["message"]; got != "hi from e2e" {
			t.Errorf("legacy ConfigMap message = %q, want %q", got, "hi from e2e")
		}
	})

	t.Run("a config edit re-renders and upgrades", func(t *testing.T) {
		e.setConfig(map[string]string{"echo": "message: bonjour\n"})
		e.eventually(10*time.Second, func() string {
			if got := e.configMapData(e.ns, "echo")["upper"]; got != "BONJOUR" {
				return "echo ConfigMap upper = " + got
			}
			return ""
		})
		if rev, _ := e.revision("echo"); rev != 2 {
			t.Errorf("echo revision = %d, want 2", rev)
		}
	})

	t.Run("an edit that changes no manifest makes no new revision", func(t *testing.T) {
		before := e.count("echo afterHelm")
		e.setConfig(map[string]string{"echo": "message: bonjour\nnote: only a note\n"})
		e.eventually(10*time.Second, func() string {
			if e.count("echo afterHelm") <= before {
				return "the echo module did not run again after the edit"
			}
			return ""
		})
		if rev, _ := e.revision("echo"); rev != 2 {
			t.Errorf("echo revision = %d, want still 2", rev)
		}
	})

	t.Run("a deleted Deployment of a release comes back", func(t *testing.T) {
		deps := e.client.AppsV1().Deployments(e.ns)
		old, err := deps.Get(ctx, "echo", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := deps.Delete(ctx, "echo", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		e.eventually(15*time.Second, func() string {
			d, err := deps.Get(ctx, "echo", metav1.GetOptions{})
			if err != nil || d.UID == old.UID {
				return "the echo Deployment was not re-created"
			}
			return ""
		})
	})

	t.Run("a kubernetes binding with a jqFilter fires only when the filtered result changes", func(t *testing.T) {
		cms := e.client.CoreV1().ConfigMaps("e2e-watch")
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "sized", Labels: map[string]string{"e2e": "watch"}}, Data: map[string]string{"size": "1"}}
		if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		e.eventually(10*time.Second, func() string {
			if e.count("echo watch Event Added 1") != 1 {
				return "no Added event traced"
			}
			return ""
		})
		got, _ := cms.Get(ctx, "sized", metav1.GetOptions{})
		got.Annotations = map[string]string{"not": "filtered"}
		if _, err := cms.Update(ctx, got, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		got, _ = cms.Get(ctx, "sized", metav1.GetOptions{})
		got.Data["size"] = "2"
		if _, err := cms.Update(ctx, got, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		e.eventually(10*time.Second, func() string {
			if e.count("echo watch Event Modified 2") != 1 {
				return "no Modified event for the size change"
			}
			return ""
		})
		for _, l := range e.traceLines() {
			if strings.HasPrefix(l, "echo watch Event Modified 1") {
				t.Errorf("the annotation-only change fired the hook: %q", l)
			}
		}
	})

	t.Run("a schedule binding fires on its queue", func(t *testing.T) {
		before := e.count("echo tick Schedule")
		e.eventually(6*time.Second, func() string {
			if e.count("echo tick Schedule") < before+2 {
				return "the schedule fired fewer than 2 times in 6s"
			}
			return ""
		})
	})

	t.Run("KUBERNETES_PATCH_PATH operations apply", func(t *testing.T) {
		cms := e.client.CoreV1().ConfigMaps("e2e-watch")
		for _, cm := range []*corev1.ConfigMap{
			{ObjectMeta: metav1.ObjectMeta{Name: "req-doomed"}},
			{ObjectMeta: metav1.ObjectMeta{Name: "req", Labels: map[string]string{"e2e": "patch-request"}}, Data: map[string]string{"a": "b"}},
		} {
			if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		e.eventually(10*time.Second, func() string {
			if e.configMapData("e2e-watch", "req-created")["by"] != "patcher" {
				return "req-created was not created"
			}
			req := e.configMapData("e2e-watch", "req")
			if req["patched"] != "merge" || req["jq"] != "yes" {
				return fmt.Sprintf("req data = %v, want patched=merge and jq=yes", req)
			}
			if e.configMapData("e2e-watch", "req-doomed") != nil {
				return "req-doomed still exists"
			}
			return ""
		})
	})

	t.Run("grouped bindings get one Group context with both snapshots", func(t *testing.T) {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "grouped", Labels: map[string]string{"e2e": "group"}}}
		if _, err := e.client.CoreV1().ConfigMaps("e2e-watch").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "grouped", Labels: map[string]string{"e2e": "group"}}}
		if _, err := e.client.CoreV1().Secrets("e2e-watch").Create(ctx, sec, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		e.eventually(10*time.Second, func() string {
			if e.count("echo group Group pair 1 1") == 0 {
				return "no Group context with one object in each snapshot"
			}
			return ""
		})
	})

	t.Run("an allowFailure binding's failure is dropped, not retried", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(e.dir, "group-fail"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(filepath.Join(e.dir, "group-fail"))
		before := e.count("echo group Group pair 1 2")
		sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "grouped-2", Labels: map[string]string{"e2e": "group"}}}
		if _, err := e.client.CoreV1().Secrets("e2e-watch").Create(ctx, sec, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		e.eventually(10*time.Second, func() string {
			if e.count("echo group Group pair 1 2") <= before {
				return "the group hook did not run for the new Secret"
			}
			return ""
		})
		e.op.WaitLog(t, "group hook asked to fail", 5*time.Second)
		time.Sleep(3 * time.Second) // a retry would come after the 1 s backoff
		if n := e.count("echo group Group pair 1 2"); n != before+1 {
			t.Errorf("the failing allowFailure run happened %d times, want once (no retry)", n-before)
		}
	})

	t.Run("a node event changes global values and re-renders modules", func(t *testing.T) {
		if err := testCluster.AddNode(ctx, cluster.Node{Name: "e2e-ingress-1", Labels: map[string]string{"dedicated": "ingress"}}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = testCluster.DeleteNode(context.Background(), "e2e-ingress-1") })
		e.eventually(15*time.Second, func() string {
			if got := e.configMapData(e.ns, "echo")["ingressCount"]; got != "1" {
				return "echo ConfigMap ingressCount = " + got
			}
			return ""
		})
	})

	t.Run("a failing hook is retried with backoff while other queues run", func(t *testing.T) {
		flag := filepath.Join(e.dir, "flaky-fail")
		if err := os.WriteFile(flag, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		e.setConfig(map[string]string{"flaky": "attempt: 1\n"})
		// Other triggers (a config change, a converge) may run the module
		// once more right away; from then on only the backoff retries it.
		e.eventually(20*time.Second, func() string {
			if n := len(attempts(e.traceLines())); n < 4 {
				return fmt.Sprintf("%d failed attempts so far, want 4", n)
			}
			return ""
		})
		at := attempts(e.traceLines())
		gap1, gap2 := at[2]-at[1], at[3]-at[2]
		if gap1 < 0.9 || gap2 < gap1*1.5 {
			t.Errorf("retry gaps %.2fs then %.2fs, want at least 1s, then doubling (attempts at %v)", gap1, gap2, at)
		}
		ticks := e.count("echo tick Schedule")
		e.eventually(5*time.Second, func() string {
			if e.count("echo tick Schedule") < ticks+1 {
				return "the ticks queue stopped while the flaky module was failing"
			}
			return ""
		})
		if err := os.Remove(flag); err != nil {
			t.Fatal(err)
		}
		e.eventually(10*time.Second, func() string {
			if e.count("flaky ok") < 2 {
				return "the flaky module did not recover"
			}
			return ""
		})
	})

	t.Run("disabling a module runs its delete hooks and uninstalls it", func(t *testing.T) {
		e.setConfig(map[string]string{"spareEnabled": "true"})
		e.eventually(10*time.Second, func() string {
			if e.configMapData(e.ns, "spare") == nil {
				return "spare was not installed"
			}
			return ""
		})
		e.setConfig(map[string]string{"spareEnabled": "false"})
		e.eventually(10*time.Second, func() string {
			if e.configMapData(e.ns, "spare") != nil {
				return "the spare ConfigMap is still there"
			}
			if rev, _ := e.revision("spare"); rev != 0 {
				return "the spare release is still there"
			}
			if e.count("spare beforeDeleteHelm") != 1 || e.count("spare afterDeleteHelm") != 1 {
				return "delete hooks did not run once each"
			}
			return ""
		})
		lines := e.traceLines()
		if slices.Index(lines, "spare beforeDeleteHelm") > slices.Index(lines, "spare afterDeleteHelm") {
			t.Errorf("afterDeleteHelm ran before beforeDeleteHelm")
		}
	})

	t.Run("a chart that does not render fails its module only", func(t *testing.T) {
		e.setConfig(map[string]string{"brokenEnabled": "true"})
		e.op.WaitLog(t, "broken.mustBeSet is required", 10*time.Second)
		if !strings.Contains(e.op.Logs(), "templates/configmap.yaml:7") {
			t.Errorf("the module error does not name the template and line:\n%s", grep(e.op.Logs(), "mustBeSet"))
		}
		e.setConfig(map[string]string{"echo": "message: still-working\n"})
		e.eventually(10*time.Second, func() string {
			if got := e.configMapData(e.ns, "echo")["message"]; got != "still-working" {
				return "echo did not converge while broken fails: message = " + got
			}
			return ""
		})
		e.setConfig(map[string]string{"brokenEnabled": "false"})
	})

	t.Run("a bad ConfigMap edit is refused and the last good config stays", func(t *testing.T) {
		e.setConfig(map[string]string{"echo": "message: [unclosed\n", "legacyEnabled": "maybe"})
		e.op.WaitLog(t, "configuration rejected", 10*time.Second)
		logs := e.op.Logs()
		for _, want := range []string{`key \"echo\"`, "line 1", `key \"legacyEnabled\"`, `want \"true\" or \"false\"`} {
			if !strings.Contains(grep(logs, "configuration rejected"), want) {
				t.Errorf("the rejection does not mention %s:\n%s", want, grep(logs, "configuration rejected"))
			}
		}
		time.Sleep(time.Second)
		if got := e.configMapData(e.ns, "echo")["message"]; got != "still-working" {
			t.Errorf("echo message = %q after a rejected edit, want the last good %q", got, "still-working")
		}
		if e.configMapData(e.ns, "legacy") == nil {
			t.Errorf("legacy was uninstalled by a rejected edit")
		}
		e.setConfig(map[string]string{"echo": "message: fixed\n", "legacyEnabled": ""})
		e.eventually(10*time.Second, func() string {
			if got := e.configMapData(e.ns, "echo")["message"]; got != "fixed" {
				return "the fixed config was not applied: message = " + got
			}
			return ""
		})
	})
}

// attempts returns the times (seconds) of the flaky module's failed attempts.
func attempts(lines []string) []float64 {
	var out []float64
	for _, l := range lines {
		if s, ok := strings.CutPrefix(l, "flaky attempt "); ok {
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				out = append(out, f)
			}
		}
	}
	return out
}

func grep(text, s string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
