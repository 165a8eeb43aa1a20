package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seedops/addon-operator/pkg/module/moduletest"
	"github.com/seedops/addon-operator/test/cluster"
	"github.com/seedops/addon-operator/test/process"
)

// fastRetry makes failed tasks come back within a second or two.
var fastRetry = []string{"--queue-min-backoff", "1s", "--queue-max-backoff", "2s"}

// resumeWithin bounds how long after an API outage a watch takes to
// resume: client-go's reflectors retry with a backoff capped at 30 s and
// jittered up to twice that, plus the time to process.
const resumeWithin = 90 * time.Second

func faultBundle(name string) string { return filepath.Join("testdata", "faults", name) }

// startVia starts the operator with another kubeconfig (one that goes
// through a test proxy) and waits until it is ready.
func (e *env) startVia(kubeconfig string) {
	e.t.Helper()
	e.launch(kubeconfig)
	e.op.WaitReady(e.t, 60*time.Second)
}

// createWatched creates a ConfigMap the watcher module's hook follows.
func (e *env) createWatched(name, value string) {
	e.t.Helper()
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns, Labels: map[string]string{"faults": "watched"}},
		Data:       map[string]string{"value": value},
	}
	if _, err := e.client.CoreV1().ConfigMaps(e.ns).Create(context.Background(), cm, metav1.CreateOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

// waitWatcher waits until the watcher module's ConfigMap shows the message
// and the sorted names its hook saw.
func (e *env) waitWatcher(timeout time.Duration, message string, seen ...string) {
	e.t.Helper()
	want := strings.Join(seen, ",")
	e.eventually(timeout, func() string {
		data := e.configMapData(e.ns, "watcher")
		if data == nil {
			return "the watcher ConfigMap does not exist"
		}
		if data["message"] != message || data["seen"] != want {
			return fmt.Sprintf("watcher ConfigMap: message %q seen %q, want %q and %q", data["message"], data["seen"], message, want)
		}
		return ""
	})
}

// revisionOf is one stored Helm revision.
type revisionOf struct {
	version int
	status  string
}

// history returns the stored revisions of a release, oldest first.
func (e *env) history(release string) []revisionOf {
	e.t.Helper()
	list, err := e.client.CoreV1().Secrets(e.ns).List(context.Background(), metav1.ListOptions{LabelSelector: "owner=helm,name=" + release})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []revisionOf
	for _, s := range list.Items {
		v, _ := strconv.Atoi(s.Labels["version"])
		out = append(out, revisionOf{v, s.Labels["status"]})
	}
	slices.SortFunc(out, func(a, b revisionOf) int { return a.version - b.version })
	return out
}

// checkHistory reports a release history that two concurrent or
// interrupted Helm operations would leave: gaps or repeats in the revision
// numbers, a revision left pending, or a last revision that is not
// deployed. "" means the history is clean.
func (e *env) checkHistory(release string) string {
	h := e.history(release)
	if len(h) == 0 {
		return "release " + release + " has no revisions"
	}
	for i, r := range h {
		if i > 0 && r.version != h[i-1].version+1 {
			return fmt.Sprintf("release %s: revisions not sequential: %v", release, h)
		}
		if strings.HasPrefix(r.status, "pending") {
			return fmt.Sprintf("release %s: revision %d left %s: %v", release, r.version, r.status, h)
		}
	}
	if last := h[len(h)-1]; last.status != "deployed" {
		return fmt.Sprintf("release %s: last revision %d is %s: %v", release, last.version, last.status, h)
	}
	return ""
}

// waitHistory waits until the histories of the releases are clean (see
// checkHistory): the objects of a revision are in the cluster a moment
// before Helm records the revision deployed.
func (e *env) waitHistory(releases ...string) {
	e.t.Helper()
	e.eventually(15*time.Second, func() string {
		for _, r := range releases {
			if msg := e.checkHistory(r); msg != "" {
				return msg
			}
		}
		return ""
	})
}

// memory returns the operator's resident memory now and its peak (VmRSS and
// VmHWM of /proc/<pid>/status) in bytes.
func (e *env) memory() (rss, peak int64) {
	e.t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", e.op.Pid()))
	if err != nil {
		e.t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb << 10
		case "VmHWM:":
			peak = kb << 10
		}
	}
	return rss, peak
}

// alive fails the test when the operator exited or /healthz does not
// answer 200.
func (e *env) alive() {
	e.t.Helper()
	if e.op.Exited() {
		e.t.Fatalf("the operator exited: %v\n%s", e.op.ExitErr(), e.op.Tail(40))
	}
	code, _, err := e.op.Get("/healthz")
	if err != nil || code != 200 {
		e.t.Fatalf("/healthz = %d, %v", code, err)
	}
}

// healCluster restarts control-plane components that an outage made exit,
// so that later tests find a whole cluster.
func healCluster(t *testing.T) {
	t.Helper()
	restarted, err := testCluster.Heal()
	if err != nil {
		t.Errorf("heal the cluster: %v", err)
	}
	if len(restarted) > 0 {
		t.Logf("restarted after the outage: %v", restarted)
	}
}

// outage runs the shared part of the API outage cases: the operator runs
// the watch bundle, the API goes away for down (stop) and comes back
// (start); the operator stays alive and healthy throughout, makes no Helm
// revision for nothing, and processes a config edit and a new watched
// object made right after the API is back.
func outage(t *testing.T, down time.Duration, stop func() error, start func(context.Context) error) {
	e := newEnv(t, faultBundle("watch"), fastRetry...)
	e.createWatched("before-1", "a")
	e.start()
	e.waitWatcher(20*time.Second, "hello", "before-1")
	revs := map[string]int{}
	for _, r := range []string{"watcher", "steady"} {
		revs[r], _ = e.revision(r)
	}

	stopped := false
	t.Cleanup(func() {
		if stopped {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := start(ctx); err != nil {
				t.Errorf("restart after a failed test: %v", err)
			}
		}
		healCluster(t)
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	stopped = true
	for end := time.Now().Add(down); time.Now().Before(end); time.Sleep(time.Second) {
		e.alive()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := start(ctx); err != nil {
		t.Fatal(err)
	}
	stopped = false
	back := time.Now()
	e.alive()

	t.Run("nothing changed: no new Helm revision", func(t *testing.T) {
		time.Sleep(5 * time.Second) // watches resume, the drift monitor relists
		for r, rev := range revs {
			if got, status := e.revision(r); got != rev || status != "deployed" {
				t.Errorf("%s: revision %d %s after the outage, want %d deployed", r, got, status, rev)
			}
		}
	})

	t.Run("an edit and a new object right after the outage are processed", func(t *testing.T) {
		e.setConfig(map[string]string{"watcher": "message: after-outage\n"})
		e.createWatched("after-1", "b")
		// client-go's reflectors retry a lost watch with a backoff of up to
		// 30 s, jittered up to 60 s, once the outage lasted long enough.
		e.waitWatcher(resumeWithin, "after-outage", "after-1", "before-1")
		t.Logf("processed %s after the API came back", time.Since(back).Round(100*time.Millisecond))
		if e.count("watcher Event Added after-1") != 1 {
			t.Errorf("the hook saw the new object's Added event %d times, want once", e.count("watcher Event Added after-1"))
		}
		e.waitHistory("watcher", "steady")
		if got, _ := e.revision("steady"); got != revs["steady"] {
			t.Errorf("steady: revision %d, want %d: nothing of it changed", got, revs["steady"])
		}
		if got, _ := e.revision("watcher"); got > revs["watcher"]+2 {
			t.Errorf("watcher: revision %d after two changes from %d", got, revs["watcher"])
		}
	})
	if code, _, err := e.op.Get("/readyz"); err != nil || code != 200 {
		t.Errorf("/readyz = %d, %v after the outage", code, err)
	}
}

// kube-apiserver stopped for 30 s: the operator keeps running and healthy,
// resumes its watches and processes what comes after.
func TestFaultAPIServerOutage(t *testing.T) {
	outage(t, 30*time.Second, testCluster.StopAPIServer, testCluster.StartAPIServer)
}

// etcd stopped for 10 s and started again behind a running API server:
// the same guarantees.
func TestFaultEtcdRestart(t *testing.T) {
	outage(t, 10*time.Second, testCluster.StopEtcd, func(ctx context.Context) error {
		if err := testCluster.StartEtcd(ctx); err != nil {
			return err
		}
		return testCluster.WaitAPI(ctx)
	})
}

// The operator cut off from a running API server for 20 s (a network
// partition) while the cluster changes: an admin edits the config, watched
// objects are created, changed and deleted, an object of a release is
// deleted. Once connected again, the operator catches up with all of it
// (its watches resync) and keeps running throughout.
func TestFaultPartition(t *testing.T) {
	ctx := context.Background()
	proxy, kubeconfig := proxied(t)
	e := newEnv(t, faultBundle("watch"), fastRetry...)
	e.createWatched("before-1", "a")
	e.createWatched("before-2", "a")
	e.startVia(kubeconfig)
	e.waitWatcher(20*time.Second, "hello", "before-1", "before-2")
	steady, _ := e.revision("steady")

	proxy.Cut()
	cms := e.client.CoreV1().ConfigMaps(e.ns)
	e.setConfig(map[string]string{"watcher": "message: during-partition\n"})
	e.createWatched("during-1", "b")
	if err := cms.Delete(ctx, "before-2", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(ctx, "steady", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(time.Second) {
		e.alive()
	}
	if e.configMapData(e.ns, "steady") != nil {
		t.Fatal("the steady ConfigMap came back during the partition: the proxy did not cut the operator off")
	}
	proxy.Restore()

	e.waitWatcher(resumeWithin, "during-partition", "before-1", "during-1")
	e.eventually(30*time.Second, func() string {
		if e.configMapData(e.ns, "steady") == nil {
			return "the steady ConfigMap deleted during the partition was not re-created"
		}
		return ""
	})
	if e.count("watcher Event Added during-1") != 1 || e.count("watcher Event Deleted before-2") != 1 {
		t.Errorf("the hook did not get one Added event for during-1 and one Deleted for before-2:\n%s", strings.Join(e.traceLines(), "\n"))
	}
	e.waitHistory("watcher", "steady")
	if got, _ := e.revision("steady"); got != steady+1 {
		t.Errorf("steady: revision %d, want %d (one re-apply of the deleted object)", got, steady+1)
	}
}

// deleteConfigMap deletes the operator's ConfigMap.
func (e *env) deleteConfigMap() {
	e.t.Helper()
	err := e.client.CoreV1().ConfigMaps(e.ns).Delete(context.Background(), "addon-operator", metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		e.t.Fatal(err)
	}
}

// Deleting the operator's ConfigMap is not an edit: the last accepted
// configuration stays in force and nothing is uninstalled. By default the
// ConfigMap is re-created from it; with --recreate-config-map=false the
// deletion is only reported.
func TestFaultConfigMapDeleted(t *testing.T) {
	for _, tt := range []struct {
		name     string
		recreate bool
	}{{"recreated", true}, {"reported-only", false}} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, faultBundle("watch"), append(fastRetry, "--recreate-config-map="+strconv.FormatBool(tt.recreate))...)
			e.setConfig(map[string]string{"watcher": "message: configured\n", "steadyEnabled": "true"})
			e.createWatched("w-1", "a")
			e.start()
			e.waitWatcher(20*time.Second, "configured", "w-1")
			revs := map[string]int{}
			for _, r := range []string{"watcher", "steady"} {
				revs[r], _ = e.revision(r)
			}
			before := e.configMapData(e.ns, "addon-operator")

			e.deleteConfigMap()
			if tt.recreate {
				e.eventually(15*time.Second, func() string {
					got := e.configMapData(e.ns, "addon-operator")
					if got == nil {
						return "the ConfigMap was not re-created"
					}
					if got["watcher"] != before["watcher"] || got["steadyEnabled"] != "true" {
						return fmt.Sprintf("re-created ConfigMap %v, want the settings of %v", got, before)
					}
					return ""
				})
				e.op.WaitLog(t, "config objects re-created", 5*time.Second)
			} else {
				e.op.WaitLog(t, "configmap deleted, keeping the last accepted config", 15*time.Second)
				time.Sleep(3 * time.Second)
				if e.configMapData(e.ns, "addon-operator") != nil {
					t.Fatal("the ConfigMap was re-created with --recreate-config-map=false")
				}
			}
			// A change elsewhere still renders with the last known config.
			e.createWatched("w-2", "b")
			e.waitWatcher(20*time.Second, "configured", "w-1", "w-2")
			if got, status := e.revision("steady"); got != revs["steady"] || status != "deployed" {
				t.Errorf("steady: revision %d %s, want %d deployed", got, status, revs["steady"])
			}
			if e.configMapData(e.ns, "steady") == nil {
				t.Errorf("the steady module's objects are gone")
			}
			if strings.Contains(e.op.Logs(), "release uninstalled") || strings.Contains(e.op.Logs(), "uninstalling") {
				t.Errorf("something was uninstalled:\n%s", grep(e.op.Logs(), "uninstall"))
			}

			// The admin's next ConfigMap is taken as usual.
			e.setConfig(map[string]string{"watcher": "message: edited-after-delete\n", "steadyEnabled": "true"})
			e.waitWatcher(20*time.Second, "edited-after-delete", "w-1", "w-2")
		})
	}
}

// logTime returns the time of a log line of the operator (text format).
func logTime(t *testing.T, line string) time.Time {
	t.Helper()
	f := strings.Fields(line)
	if len(f) == 0 || !strings.HasPrefix(f[0], "time=") {
		t.Fatalf("log line without a time: %q", line)
	}
	ts, err := time.Parse(time.RFC3339Nano, strings.TrimPrefix(f[0], "time="))
	if err != nil {
		t.Fatalf("log line %q: %v", line, err)
	}
	return ts
}

// helmLines returns the log lines of Helm operations: the SDK's own lines
// and the operator's recovery and result lines.
func helmLines(logs string) []string {
	var out []string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, `msg="helm sdk"`) || strings.Contains(l, `msg="release stuck in a pending state`) || strings.Contains(l, `msg="release applied"`) {
			out = append(out, l)
		}
	}
	return out
}

// Two replicas with --ha, each reaching the API through a proxy of its
// own. The leader's connection is blackholed (requests hang, no error)
// while Helm upgrades a release. The old leader stops all its work and
// exits, non-zero, before the lease can pass on; the new leader takes over
// after that, recovers the revision the interrupted upgrade left pending
// and finishes the upgrade. No two Helm operations on the release
// overlapped: the old leader's last Helm log line comes before the new
// leader's first, the revision history is sequential, and the new leader's
// revision began after the old leader had exited.
func TestFaultLeaderPartitionedMidUpgrade(t *testing.T) {
	e := newEnv(t, faultBundle("bulk"), fastRetry...)
	e.setConfig(map[string]string{"betaEnabled": "false", "gammaEnabled": "false"})
	args := append([]string{"--ha", "--ha-lease-duration", "4s", "--ha-renew-deadline", "3s", "--ha-retry-period", "500ms"}, fastRetry...)
	via := func() (*process.Operator, *cluster.Proxy) {
		proxy, kubeconfig := proxied(t)
		return process.Start(t, process.Options{
			Binary: binary, Kubeconfig: kubeconfig, Namespace: e.ns, BundleDir: e.bundle,
			Env: []string{"E2E_TRACE=" + e.trace, "E2E_DIR=" + e.dir}, Args: args,
		}), proxy
	}
	a, proxyA := via()
	a.WaitReady(t, 60*time.Second)
	e.waitBulk(30*time.Second, "alpha", "v0")
	b, _ := via()
	b.WaitReady(t, 30*time.Second)
	b.WaitLog(t, "following", 10*time.Second)

	s := actWhen(t, a, 60*time.Second, e.helmSecrets("alpha"), func() {
		e.setConfig(map[string]string{"alpha": "version: v1\n"})
	}, func(s *corev1.Secret) bool { return e.midUpgrade("alpha", "v1", s) }, proxyA.Blackhole)
	interrupted, _ := strconv.Atoi(s.Labels["version"])
	t.Logf("leader cut off during revision %d; objects by version: %v", interrupted, e.bulkVersions("alpha"))

	err, exited := a.Wait(20 * time.Second)
	if !exited {
		t.Fatalf("the old leader still runs 20s after it was cut off with a 4s lease:\n%s", a.Tail(40))
	}
	exitedAt := time.Now()
	if err == nil {
		t.Errorf("the old leader exited with code 0 after losing its lease, want non-zero")
	}

	b.WaitLog(t, "leading", 15*time.Second)
	e.waitBulk(60*time.Second, "alpha", "v1")
	e.waitHistory("alpha")

	aLines := strings.Split(strings.TrimRight(a.Logs(), "\n"), "\n")
	aLast := logTime(t, aLines[len(aLines)-1])
	bLeading := logTime(t, grep(b.Logs(), `msg=leading`))
	if !aLast.Before(bLeading) {
		t.Errorf("the old leader logged at %s, after the new leader started leading at %s", aLast.Format(time.StampMilli), bLeading.Format(time.StampMilli))
	}
	aHelm, bHelm := helmLines(a.Logs()), helmLines(b.Logs())
	if len(aHelm) == 0 || len(bHelm) == 0 {
		t.Fatalf("want Helm log lines of both replicas; old leader %d, new leader %d", len(aHelm), len(bHelm))
	}
	if last, first := logTime(t, aHelm[len(aHelm)-1]), logTime(t, bHelm[0]); !last.Before(first) || first.Before(bLeading) {
		t.Errorf("Helm operations overlapped: the old leader's last Helm line at %s, the new leader's first at %s (leading at %s):\n%s\n%s",
			last.Format(time.StampMilli), first.Format(time.StampMilli), bLeading.Format(time.StampMilli), aHelm[len(aHelm)-1], bHelm[0])
	}
	if !strings.Contains(a.Logs(), "exiting: leadership lost") ||
		(!strings.Contains(a.Logs(), "leadership lost, work stopped") && !strings.Contains(a.Logs(), "leadership lost, work still running at the deadline")) {
		t.Errorf("the old leader did not log that it exits and whether its work stopped:\n%s", a.Tail(20))
	}
	if !strings.Contains(grep(b.Logs(), "release stuck in a pending state"), "release=alpha") {
		t.Errorf("the new leader did not recover alpha's interrupted upgrade:\n%s", b.Tail(40))
	}

	rels, err := driver.NewSecrets(e.client.CoreV1().Secrets(e.ns)).Query(map[string]string{"owner": "helm", "name": "alpha"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rels {
		switch {
		case r.Version == interrupted:
			if r.Info.Status != release.StatusFailed || !strings.Contains(r.Info.Description, "Interrupted while pending-upgrade") {
				t.Errorf("revision %d, interrupted by the partition, is %s (%q); want failed, marked by the new leader", r.Version, r.Info.Status, r.Info.Description)
			}
		case r.Version > interrupted:
			if !r.Info.LastDeployed.Time.After(exitedAt) {
				t.Errorf("revision %d began at %s, before the old leader had exited (%s)", r.Version, r.Info.LastDeployed.Format(time.StampMilli), exitedAt.Format(time.StampMilli))
			}
		}
	}
	for name, op := range map[string]*process.Operator{"old leader": a, "new leader": b} {
		if logs := op.Logs(); strings.Contains(logs, "another operation") {
			t.Errorf("the %s met a concurrent Helm operation:\n%s", name, grep(logs, "another operation"))
		}
	}
}

// A leader cut off from the API while a hook runs, one that ignores
// SIGTERM and has a child in the background: the leader exits before the
// lease can pass on and takes the hook's whole process group with it, so
// no hook process of the old leader runs on beside the new one.
func TestFaultLeaderPartitionedKillsHooks(t *testing.T) {
	bundle := moduletest.Bundle(t,
		moduletest.Text("values.yaml", "global: {}\nstuckEnabled: true\n"),
		hookScript("modules/010-stuck/hooks/stuck.sh", `{"configVersion":"v1","beforeHelm":1}`,
			`trap '' TERM
sleep 600 &
echo $! > "$E2E_DIR/child.tmp" && mv "$E2E_DIR/child.tmp" "$E2E_DIR/child"
wait`),
	)
	e := newEnv(t, bundle)
	proxy, kubeconfig := proxied(t)
	op := process.Start(t, process.Options{
		Binary: binary, Kubeconfig: kubeconfig, Namespace: e.ns, BundleDir: bundle,
		Env:  []string{"E2E_TRACE=" + e.trace, "E2E_DIR=" + e.dir},
		Args: []string{"--ha", "--ha-lease-duration", "4s", "--ha-renew-deadline", "3s", "--ha-retry-period", "500ms"},
	})
	var child int
	e.eventually(60*time.Second, func() string {
		data, err := os.ReadFile(filepath.Join(e.dir, "child"))
		if err != nil {
			return "the hook did not start its child"
		}
		child, _ = strconv.Atoi(strings.TrimSpace(string(data)))
		return ""
	})
	t.Cleanup(func() { _ = syscall.Kill(child, syscall.SIGKILL) })
	proxy.Blackhole()
	if err, exited := op.Wait(20 * time.Second); !exited || err == nil {
		t.Fatalf("the cut-off leader did not exit non-zero within 20s with a 4s lease (exited %v, %v):\n%s", exited, err, op.Tail(20))
	}
	// SIGKILL was sent before the exit; the kernel ends the child at once.
	e.eventually(5*time.Second, func() string {
		if !gone(child) {
			return fmt.Sprintf("the hook's background child %d outlived the leader", child)
		}
		return ""
	})
	if !strings.Contains(grep(op.Logs(), "exiting: leadership lost"), "hooks_killed=1") {
		t.Errorf("the leader did not report killing the running hook:\n%s", op.Tail(20))
	}
}

// gone reports whether pid has exited (a zombie waiting to be reaped
// counts as exited).
func gone(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// proxied starts a proxy in front of the API server, stopped when the test
// ends, and returns it with a kubeconfig that talks through it.
func proxied(t *testing.T) (*cluster.Proxy, string) {
	t.Helper()
	proxy, err := testCluster.StartProxy()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := testCluster.ProxyKubeconfig(kubeconfig, proxy); err != nil {
		t.Fatal(err)
	}
	return proxy, kubeconfig
}
