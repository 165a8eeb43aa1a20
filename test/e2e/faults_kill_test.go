package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/yaml"

	"github.com/seedops/addon-operator/pkg/module/moduletest"
	"github.com/seedops/addon-operator/pkg/updater"
	"github.com/seedops/addon-operator/test/process"
)

// killWhen watches objects (w starts the watch), then calls trigger (if
// not nil), and SIGKILLs op as soon as an added or modified object
// satisfies cond: the kill lands within milliseconds of the write the test
// waits for.
func killWhen[T any](t *testing.T, op *process.Operator, timeout time.Duration, w func(context.Context) (watch.Interface, error), trigger func(), cond func(T) bool) T {
	t.Helper()
	return actWhen(t, op, timeout, w, trigger, cond, op.Kill)
}

// actWhen is killWhen with another action than the kill.
func actWhen[T any](t *testing.T, op *process.Operator, timeout time.Duration, w func(context.Context) (watch.Interface, error), trigger func(), cond func(T) bool, act func()) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	wi, err := w(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { wi.Stop() }()
	if trigger != nil {
		trigger()
	}
	for {
		select {
		case <-ctx.Done():
			t.Fatalf("the awaited write did not happen within %s:\n%s", timeout, op.Tail(40))
		case ev, ok := <-wi.ResultChan():
			if !ok {
				if wi, err = w(ctx); err != nil {
					t.Fatal(err)
				}
				continue
			}
			obj, isT := ev.Object.(T)
			if !isT || (ev.Type != watch.Added && ev.Type != watch.Modified) || !cond(obj) {
				continue
			}
			act()
			return obj
		}
	}
}

// helmSecrets watches the Helm release Secrets of one release.
func (e *env) helmSecrets(release string) func(context.Context) (watch.Interface, error) {
	return func(ctx context.Context) (watch.Interface, error) {
		return e.client.CoreV1().Secrets(e.ns).Watch(ctx, metav1.ListOptions{LabelSelector: "owner=helm,name=" + release})
	}
}

// bulkVersions counts the ConfigMaps of a bulk module by the version they
// show.
func (e *env) bulkVersions(module string) map[string]int {
	e.t.Helper()
	list, err := e.client.CoreV1().ConfigMaps(e.ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]int{}
	for _, cm := range list.Items {
		if strings.HasPrefix(cm.Name, module+"-") {
			out[cm.Data["version"]]++
		}
	}
	return out
}

// midUpgrade reports whether s is the pending-upgrade revision of a bulk
// module; it then waits (up to 5 s) until Helm has updated part of the
// module's objects to version, so that a kill lands with the objects
// half-updated.
func (e *env) midUpgrade(module, version string, s *corev1.Secret) bool {
	if s.Labels["status"] != "pending-upgrade" {
		return false
	}
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if n := e.bulkVersions(module)[version]; n > 0 && n < 120 {
			break
		}
	}
	return true
}

// waitBulk waits until all 120 ConfigMaps of a bulk module show version.
func (e *env) waitBulk(timeout time.Duration, module, version string) {
	e.t.Helper()
	e.eventually(timeout, func() string {
		if got := e.bulkVersions(module); got[version] != 120 || len(got) != 1 {
			return fmt.Sprintf("%s ConfigMaps by version: %v, want all 120 at %s", module, got, version)
		}
		return ""
	})
}

// SIGKILL while Helm is in the middle of an upgrade (the revision is
// pending-upgrade and only part of the 120 objects are updated): the next
// start marks the interrupted revision failed, upgrades again, and every
// object ends at the new version. Twice in a row.
func TestFaultKillDuringHelmUpgrade(t *testing.T) {
	e := newEnv(t, faultBundle("bulk"), fastRetry...)
	e.setConfig(map[string]string{"betaEnabled": "false", "gammaEnabled": "false"})
	e.start()
	e.waitBulk(10*time.Second, "alpha", "v0")
	for i := 1; i <= 2; i++ {
		version := fmt.Sprintf("v%d", i)
		s := killWhen(t, e.op, 30*time.Second, e.helmSecrets("alpha"), func() {
			e.setConfig(map[string]string{"alpha": "version: " + version + "\n"})
		}, func(s *corev1.Secret) bool { return e.midUpgrade("alpha", version, s) })
		partial := e.bulkVersions("alpha")
		t.Logf("killed during revision %s (%s); objects by version: %v", s.Labels["version"], s.Labels["status"], partial)
		e.start()
		e.waitBulk(30*time.Second, "alpha", version)
		e.waitHistory("alpha")
		if !strings.Contains(e.op.Logs(), "release stuck in a pending state") {
			t.Errorf("the restarted operator did not report the stuck release:\n%s", e.op.Tail(40))
		}
	}
}

// secretPassword returns vault.password from the config Secret ("" if
// none).
func (e *env) secretPassword() string {
	e.t.Helper()
	s, err := e.client.CoreV1().Secrets(e.ns).Get(context.Background(), "addon-operator-secrets", metav1.GetOptions{})
	if err != nil {
		return ""
	}
	var section map[string]any
	if err := yaml.Unmarshal(s.Data["vault"], &section); err != nil {
		e.t.Fatalf("the Secret's vault section: %v", err)
	}
	p, _ := section["password"].(string)
	return p
}

// SIGKILL while a hook's config-values patch is being saved (a generated
// password goes to the Secret, its timestamp to the ConfigMap): after the
// restart the password is the one saved before the kill (never generated
// twice), stored once, in the Secret only, the half that was missing is
// written by the next run, and the chart renders both.
func TestFaultKillDuringConfigWriteBack(t *testing.T) {
	for _, tt := range []struct {
		name string
		// configMap: kill once the ConfigMap write landed (the whole patch
		// is saved, nothing was applied yet); otherwise at the Secret write.
		configMap bool
	}{{"secret-written", false}, {"configmap-written", true}} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, faultBundle("writeback"), fastRetry...)
			e.setConfig(map[string]string{"vault": "note: e2e\n"})
			e.op = process.Start(t, process.Options{
				Binary: binary, Kubeconfig: testCluster.Kubeconfig, Namespace: e.ns, BundleDir: e.bundle,
				Env: []string{"E2E_TRACE=" + e.trace, "E2E_DIR=" + e.dir}, Args: e.args,
			})
			if tt.configMap {
				killWhen(t, e.op, 60*time.Second, func(ctx context.Context) (watch.Interface, error) {
					return e.client.CoreV1().ConfigMaps(e.ns).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=addon-operator"})
				}, nil, func(cm *corev1.ConfigMap) bool { return strings.Contains(cm.Data["vault"], "passwordSetAt") })
			} else {
				killWhen(t, e.op, 60*time.Second, func(ctx context.Context) (watch.Interface, error) {
					return e.client.CoreV1().Secrets(e.ns).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=addon-operator-secrets"})
				}, nil, func(*corev1.Secret) bool { return true })
			}
			password := e.secretPassword()
			if password == "" {
				t.Fatal("no password in the Secret at the kill")
			}
			completeAtKill := strings.Contains(e.configMapData(e.ns, "addon-operator")["vault"], "passwordSetAt")
			t.Logf("at the kill the ConfigMap had the timestamp: %v", completeAtKill)

			e.start()
			sum := sha256.Sum256([]byte(password))
			e.eventually(20*time.Second, func() string {
				data := e.configMapData(e.ns, "vault")
				if data["passwordSha"] != hex.EncodeToString(sum[:]) || data["setAt"] == "" {
					return fmt.Sprintf("vault ConfigMap %v does not render the saved password with a timestamp", data)
				}
				return ""
			})
			if got := e.secretPassword(); got != password {
				t.Errorf("the password changed after the restart")
			}
			if n := e.count("vault generated"); n != 1 {
				t.Errorf("the password was generated %d times, want once", n)
			}
			wantCompleted := 0
			if !completeAtKill {
				wantCompleted = 1
			}
			if n := e.count("vault completed"); n != wantCompleted {
				t.Errorf("the missing timestamp was written %d times, want %d", n, wantCompleted)
			}
			section := e.configMapData(e.ns, "addon-operator")["vault"]
			if !strings.Contains(section, "passwordSetAt") || !strings.Contains(section, "note: e2e") || strings.Contains(section, "password:") {
				t.Errorf("ConfigMap vault section %q: want the timestamp and the note, and no password", section)
			}
		})
	}
}

// swapBundle is a bundle of version with the named modules, each a
// ConfigMap showing the version; "slow" has a beforeHelm hook of 3 s so
// that a swap to a bundle with it lasts a while.
func swapBundle(version string, modules ...string) []moduletest.File {
	order := map[string]string{"demo": "010", "extra": "020", "slow": "030", "old": "040"}
	vals := "global: {}\n"
	var files []moduletest.File
	for _, m := range modules {
		dir := "modules/" + order[m] + "-" + m
		vals += m + "Enabled: true\n"
		files = append(files, moduletest.Text(dir+"/templates/configmap.yaml",
			"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: "+m+"\ndata:\n  version: "+version+"\n"))
		if m == "slow" {
			files = append(files, hookScript(dir+"/hooks/slow.sh", `{"configVersion":"v1","beforeHelm":1}`, "sleep 3"))
		}
	}
	return append(files, moduletest.Text("values.yaml", vals))
}

// SIGKILL in the middle of a bundle swap, when part of the modules already
// run the new bundle: the restarted operator starts on the last Deployed
// release, applies the new one again, and ends with every module of the new
// bundle and none of the old one's (the module the new bundle dropped is
// uninstalled, the one it added installed).
func TestFaultKillDuringBundleSwap(t *testing.T) {
	u := newUpdaterEnv(t)
	u.push("v1.0.0", "stable", swapBundle("v1", "demo", "slow", "old")...)
	u.setOperator(u.operatorSection("stable", ""))
	u.start()
	u.waitRelease("v1.0.0", updater.PhaseDeployed, "", 30*time.Second)
	u.waitModules(30*time.Second, "v1", "demo", "slow", "old")

	u.push("v2.0.0", "stable", swapBundle("v2", "demo", "extra", "slow")...)
	u.eventually(60*time.Second, func() string {
		if u.configMapData(u.ns, "demo")["version"] != "v2" || u.configMapData(u.ns, "extra") == nil {
			return "the swap to v2 did not start"
		}
		return ""
	})
	u.op.Kill()
	mixed := map[string]string{}
	for _, m := range []string{"demo", "extra", "slow", "old"} {
		mixed[m] = u.configMapData(u.ns, m)["version"]
	}
	t.Logf("killed with modules at %v; v2 release: %s %q", mixed, u.releases()["v2.0.0"].Phase, u.releases()["v2.0.0"].Message)
	if mixed["slow"] != "v1" {
		t.Logf("the kill came after the slow module: the swap was nearly done")
	}

	u.start()
	u.op.WaitLog(t, "starting on the deployed release", 10*time.Second)
	if line := grep(u.op.Logs(), "starting on the deployed release"); !strings.Contains(line, "v1.0.0") {
		t.Errorf("the restart did not start on the Deployed v1: %s", line)
	}
	// The restart ran the whole old bundle first: it removed what the
	// interrupted swap had installed and put back what it had removed.
	logs := u.op.Logs()
	if mixed["extra"] == "v2" && !strings.Contains(grep(logs, "uninstalling the release of a module the bundle no longer has"), "release=extra") {
		t.Errorf("the restart on v1 did not remove v2's extra module:\n%s", u.op.Tail(40))
	}
	if mixed["old"] == "" && !strings.Contains(grep(grep(logs, "release applied"), "release=old"), "reason=installed") {
		t.Errorf("the restart on v1 did not re-install the old module v2 had removed:\n%s", u.op.Tail(40))
	}
	u.waitRelease("v2.0.0", updater.PhaseDeployed, "", 60*time.Second)
	u.waitModules(30*time.Second, "v2", "demo", "extra", "slow")
	u.waitRelease("v1.0.0", updater.PhaseSuperseded, "superseded by v2.0.0", 10*time.Second)
	u.eventually(10*time.Second, func() string {
		if rev, _ := u.revision("old"); rev != 0 || u.configMapData(u.ns, "old") != nil {
			return "the module v2 dropped is still installed"
		}
		return ""
	})
	u.waitHistory("demo", "extra", "slow")
}

// waitModules waits until each module's ConfigMap shows version.
func (u *updaterEnv) waitModules(timeout time.Duration, version string, modules ...string) {
	u.t.Helper()
	u.eventually(timeout, func() string {
		for _, m := range modules {
			if got := u.configMapData(u.ns, m)["version"]; got != version {
				return fmt.Sprintf("module %s shows %q, want %s", m, got, version)
			}
		}
		return ""
	})
}

// Two replicas with --ha; the leader is SIGKILLed while Helm upgrades the
// second of three modules of a converge. The follower takes over within the
// lease duration, recovers the interrupted release and finishes the
// converge. No two Helm operations overlapped: every release's revisions
// are sequential, none is left pending, and no Helm call met another
// operation in progress.
func TestFaultLeaderKilledMidConverge(t *testing.T) {
	e := newEnv(t, faultBundle("bulk"), fastRetry...)
	args := append([]string{"--ha", "--ha-lease-duration", "4s", "--ha-renew-deadline", "3s", "--ha-retry-period", "500ms"}, fastRetry...)
	start := func() *process.Operator {
		return process.Start(t, process.Options{
			Binary: binary, Kubeconfig: testCluster.Kubeconfig, Namespace: e.ns, BundleDir: e.bundle,
			Env: []string{"E2E_TRACE=" + e.trace, "E2E_DIR=" + e.dir}, Args: args,
		})
	}
	a := start()
	a.WaitReady(t, 60*time.Second)
	for _, m := range []string{"alpha", "beta", "gamma"} {
		e.waitBulk(30*time.Second, m, "v0")
	}
	b := start()
	b.WaitReady(t, 30*time.Second)
	b.WaitLog(t, "following", 10*time.Second)
	alphaRev, _ := e.revision("alpha")

	killWhen(t, a, 60*time.Second, e.helmSecrets("beta"), func() {
		e.setConfig(map[string]string{"alpha": "version: v1\n", "beta": "version: v1\n", "gamma": "version: v1\n"})
	}, func(s *corev1.Secret) bool { return e.midUpgrade("beta", "v1", s) })
	killed := time.Now()
	t.Logf("leader killed; alpha %v, beta %v, gamma %v", e.bulkVersions("alpha"), e.bulkVersions("beta"), e.bulkVersions("gamma"))

	b.WaitLog(t, "leading", 15*time.Second)
	if d := time.Since(killed); d > 10*time.Second {
		t.Errorf("take-over after %s with a 4s lease", d)
	}
	for _, m := range []string{"alpha", "beta", "gamma"} {
		e.waitBulk(60*time.Second, m, "v1")
	}
	e.waitHistory("alpha", "beta", "gamma")
	if got, _ := e.revision("alpha"); got != alphaRev+1 {
		t.Errorf("alpha: revision %d, want %d: its upgrade before the kill is not repeated", got, alphaRev+1)
	}
	if !strings.Contains(grep(b.Logs(), "release stuck in a pending state"), "release=beta") {
		t.Errorf("the new leader did not recover beta's interrupted upgrade:\n%s", b.Tail(40))
	}
	for name, op := range map[string]*process.Operator{"old leader": a, "new leader": b} {
		if logs := op.Logs(); strings.Contains(logs, "another operation") {
			t.Errorf("the %s met a concurrent Helm operation:\n%s", name, grep(logs, "another operation"))
		}
	}
}
