package bench

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/seedops/addon-operator/test/cluster"
	"github.com/seedops/addon-operator/test/process"
)

// The control plane and the operator binary, shared by the package's
// cluster benchmarks; needCluster starts and builds them on first use.
var (
	testCluster *cluster.Cluster
	binary      string

	clusterOnce sync.Once
	clusterErr  error
	buildDir    string
)

// TestMain stops what needCluster started once every test and benchmark
// has run. Tests and the micro-benchmarks never start it, so `make test`
// runs this package in seconds.
func TestMain(m *testing.M) {
	code := m.Run()
	if testCluster != nil {
		if err := testCluster.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "stop bench cluster: %v\n", err)
			code = max(code, 1)
		}
	}
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// needCluster starts, on its first call, one control plane (etcd,
// kube-apiserver and kube-controller-manager, so that Deployments get
// ReplicaSets and Pods; no scheduler, no kwok: the Pods stay Pending and
// cost nothing) and builds the operator (or takes the binary at
// $BENCH_OPERATOR_BINARY, an absolute path, to compare builds). A failure
// fails every benchmark that needs them.
func needCluster(b *testing.B) {
	b.Helper()
	clusterOnce.Do(func() {
		binary = os.Getenv("BENCH_OPERATOR_BINARY")
		if binary == "" {
			if buildDir, clusterErr = os.MkdirTemp("", "addon-operator-bench-"); clusterErr != nil {
				return
			}
			if binary, clusterErr = process.Build("../..", buildDir); clusterErr != nil {
				return
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		testCluster, clusterErr = cluster.Start(ctx, cluster.Options{ControllerManager: true})
	})
	if clusterErr != nil {
		b.Fatalf("bench cluster: %v", clusterErr)
	}
}

// envInt reads a positive integer setting of the benchmarks from the
// environment (go test ./... cannot pass package flags).
func envInt(key string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(key)); err == nil && v > 0 {
		return v
	}
	return def
}

func envDuration(key string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(key)); err == nil && v > 0 {
		return v
	}
	return def
}

// bundle writes a generated bundle into a temp dir of b.
func bundle(b *testing.B, opts BundleOptions) string {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "bundle")
	if err := WriteBundle(dir, opts); err != nil {
		b.Fatal(err)
	}
	return dir
}

// namespace creates a namespace for one operator and deletes it (waiting
// for its contents to go, so that the next benchmark starts on a quiet
// cluster) when b ends.
func namespace(b *testing.B, name string) string {
	b.Helper()
	needCluster(b)
	cs := testCluster.Client()
	ctx := context.Background()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { deleteNamespace(b, cs, name) })
	return name
}

func deleteNamespace(b *testing.B, cs kubernetes.Interface, name string) {
	ctx := context.Background()
	if err := cs.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		b.Logf("delete namespace %s: %v", name, err)
		return
	}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if _, err := cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	b.Logf("namespace %s still terminating after 1m; going on", name)
}

// operatorRun is one operator process under measurement.
type operatorRun struct {
	op    *process.Operator
	start time.Time // just before the process was started
}

// startOperator starts the operator on bundleDir in ns, at log level info
// (the production default; the e2e helper's debug level costs time).
// With BENCH_LOG_DIR set, the operator's log is kept there as
// <ns>-<start time>.log once the process has stopped.
func startOperator(b *testing.B, bundleDir, ns string, env ...string) *operatorRun {
	b.Helper()
	needCluster(b)
	var op *process.Operator
	if dir := os.Getenv("BENCH_LOG_DIR"); dir != "" {
		// The log lives in b's temp dir: make sure its removal is
		// registered first, so that it runs after the copy below.
		_ = b.TempDir()
		name := filepath.Join(dir, ns+"-"+time.Now().Format("150405.000")+".log")
		// Registered before process.Start, so it runs after the process's
		// own cleanup has stopped it.
		b.Cleanup(func() {
			if op == nil {
				return
			}
			if err := os.MkdirAll(dir, 0o755); err == nil {
				_ = os.WriteFile(name, []byte(op.Logs()), 0o644)
			}
		})
	}
	start := time.Now()
	op = process.Start(b, process.Options{
		Binary: binary, Kubeconfig: testCluster.Kubeconfig, Namespace: ns, BundleDir: bundleDir,
		Env: env, Args: []string{"--log-level", "info"},
	})
	return &operatorRun{op: op, start: start}
}

// waitReady polls /readyz every 20 ms and returns the time of the first
// 200 (a finer poll costs the operator measurable CPU on 2 cores).
func (r *operatorRun) waitReady(b *testing.B, timeout time.Duration) time.Time {
	b.Helper()
	client := &http.Client{Timeout: time.Second}
	url := r.op.URL("/readyz")
	deadline := time.Now().Add(timeout)
	for {
		resp, err := client.Get(url)
		now := time.Now()
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return now
			}
		}
		if r.op.Exited() {
			b.Fatalf("operator exited before it was ready: %v\n%s", r.op.ExitErr(), r.op.Tail(60))
		}
		if now.After(deadline) {
			b.Fatalf("operator not ready after %s:\n%s", timeout, r.op.Tail(60))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// logTime returns the time of the first log line with message msg.
func (r *operatorRun) logTime(msg string) (time.Time, bool) {
	for _, l := range parseLog(r.op.Logs()) {
		if l.msg == msg {
			return l.time, true
		}
	}
	return time.Time{}, false
}

// logLine is one line of the operator's slog text log.
type logLine struct {
	time  time.Time // millisecond precision
	msg   string
	attrs map[string]string
}

var logAttr = regexp.MustCompile(`([a-z_]+)=("(?:[^"\\]|\\.)*"|\S*)`)

// parseLog reads slog text lines (time=… level=… msg=… key=value…);
// lines it cannot read are skipped.
func parseLog(text string) []logLine {
	var out []logLine
	for _, line := range strings.Split(text, "\n") {
		l := logLine{attrs: map[string]string{}}
		for _, m := range logAttr.FindAllStringSubmatch(line, -1) {
			v := m[2]
			if u, err := strconv.Unquote(v); err == nil {
				v = u
			}
			switch m[1] {
			case "time":
				l.time, _ = time.Parse(time.RFC3339Nano, v)
			case "msg":
				l.msg = v
			default:
				l.attrs[m[1]] = v
			}
		}
		if !l.time.IsZero() && l.msg != "" {
			out = append(out, l)
		}
	}
	return out
}

// firstLogAfter returns the time of the first line of lines with message
// msg, attribute key holding value (one of a comma-separated list), at or
// after from (compared at the log's millisecond precision).
func firstLogAfter(lines []logLine, msg, key, value string, from time.Time) (time.Time, bool) {
	from = from.Truncate(time.Millisecond)
	for _, l := range lines {
		if l.msg == msg && !l.time.Before(from) && slices.Contains(strings.Split(l.attrs[key], ","), value) {
			return l.time, true
		}
	}
	return time.Time{}, false
}

// metrics scrapes /metrics and sums the samples of each name, optionally
// filtered by one label (name{label="value"}): enough to read totals.
func (r *operatorRun) metrics(b *testing.B) promText {
	b.Helper()
	code, body, err := r.op.Get("/metrics")
	if err != nil || code != http.StatusOK {
		b.Fatalf("scrape /metrics: %d %v", code, err)
	}
	return promText(body)
}

type promText string

// sum adds the samples of a metric whose labels include every given
// label="value" pair.
func (p promText) sum(name string, labels ...string) float64 {
	total := 0.0
	s := bufio.NewScanner(strings.NewReader(string(p)))
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		line := s.Text()
		if !strings.HasPrefix(line, name) || strings.HasPrefix(line, "#") {
			continue
		}
		rest := line[len(name):]
		if rest == "" || (rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		ok := true
		for _, l := range labels {
			if !strings.Contains(rest, l) {
				ok = false
			}
		}
		if !ok {
			continue
		}
		f := strings.Fields(rest[strings.LastIndex(rest, "}")+1:])
		if len(f) == 0 {
			continue
		}
		if v, err := strconv.ParseFloat(f[0], 64); err == nil {
			total += v
		}
	}
	return total
}

// releases reads Helm's release records in ns: the sum over releases of
// their last revision number (it grows by one with every new revision) and
// the names whose last revision is deployed.
func releases(b *testing.B, ns string) (revisions int, deployed map[string]bool) {
	b.Helper()
	list, err := testCluster.Client().CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "owner=helm"})
	if err != nil {
		b.Fatal(err)
	}
	last := map[string]int{}
	status := map[string]string{}
	for _, s := range list.Items {
		v, _ := strconv.Atoi(s.Labels["version"])
		name := s.Labels["name"]
		if v > last[name] {
			last[name], status[name] = v, s.Labels["status"]
		}
	}
	deployed = map[string]bool{}
	for name, v := range last {
		revisions += v
		if status[name] == "deployed" {
			deployed[name] = true
		}
	}
	return revisions, deployed
}

// waitDeployed polls until n releases are deployed in ns and returns when
// that was seen.
func waitDeployed(b *testing.B, ns string, n int, timeout time.Duration) time.Time {
	b.Helper()
	deadline := time.Now().Add(timeout)
	for {
		_, deployed := releases(b, ns)
		if len(deployed) >= n {
			return time.Now()
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d releases deployed after %s", len(deployed), n, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// procStat is what /proc/<pid>/stat tells about CPU time.
type procStat struct {
	ppid                         int
	utime, stime, cutime, cstime int64 // clock ticks
}

func readStat(pid int) (procStat, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	// The command name (field 2) may hold spaces; fields after it start at
	// the last ')'.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime is field 14, so f[11].
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	num := func(k int) int64 { v, _ := strconv.ParseInt(f[k], 10, 64); return v }
	return procStat{ppid: int(num(1)), utime: num(11), stime: num(12), cutime: num(13), cstime: num(14)}, nil
}

// controlPlaneTicks is the CPU time (user + system, clock ticks) used so
// far by the local control plane: the bench process's children named
// kube-apiserver, etcd and kube-controller-manager (comm is cut at 15
// bytes). Two readings around a start give what the start cost the
// cluster.
func controlPlaneTicks() int64 {
	entries, _ := os.ReadDir("/proc")
	var total int64
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err != nil {
			continue
		}
		switch strings.TrimSpace(string(data)) {
		case "kube-apiserver", "etcd", "kube-controller":
		default:
			continue
		}
		if st, err := readStat(pid); err == nil && st.ppid == os.Getpid() {
			total += st.utime + st.stime
		}
	}
	return total
}

// cpuSeconds is where one operator run's CPU time went, in seconds: the
// operator itself, the processes it waited for (hook runs and `--config`
// runs with their children: /proc's cutime and cstime) and the control
// plane.
type cpuSeconds struct{ operator, hooks, cluster float64 }

// cpuSince reads the operator's CPU times and the control plane's since
// cluster0 (a controlPlaneTicks reading taken before the start).
func cpuSince(b *testing.B, pid int, cluster0 int64) cpuSeconds {
	b.Helper()
	st, err := readStat(pid)
	if err != nil {
		b.Fatalf("operator CPU time: %v", err)
	}
	return cpuSeconds{
		operator: float64(st.utime+st.stime) / clockTicks,
		hooks:    float64(st.cutime+st.cstime) / clockTicks,
		cluster:  float64(controlPlaneTicks()-cluster0) / clockTicks,
	}
}

// reportCPU reports the medians of cpu as operator-cpu-s, hooks-cpu-s,
// cluster-cpu-s and hooks-floor-s: hooks-cpu-s spread perfectly over every
// CPU, sooner than which no start of the bundle can be ready on this
// machine, whatever the operator does, because the hooks must run.
func reportCPU(b *testing.B, cpu []cpuSeconds) {
	var op, hooks, cl []float64
	for _, c := range cpu {
		op, hooks, cl = append(op, c.operator), append(hooks, c.hooks), append(cl, c.cluster)
	}
	b.ReportMetric(newStats(op).median(), "operator-cpu-s")
	b.ReportMetric(newStats(hooks).median(), "hooks-cpu-s")
	b.ReportMetric(newStats(cl).median(), "cluster-cpu-s")
	b.ReportMetric(newStats(hooks).median()/float64(runtime.NumCPU()), "hooks-floor-s")
}

// requestLabels are the labels of apiserver_request_total that
// apiRequests groups by.
var requestLabels = regexp.MustCompile(`[{,](dry_run|resource|subresource|verb)="([^"]*)"`)

// apiRequests sums apiserver_request_total by verb and resource (a dry
// run's verb is DRYRUN-<verb>).
func (p promText) apiRequests() map[string]float64 {
	out := map[string]float64{}
	for _, line := range strings.Split(string(p), "\n") {
		if !strings.HasPrefix(line, "apiserver_request_total{") {
			continue
		}
		var verb, resource, sub, dry string
		for _, m := range requestLabels.FindAllStringSubmatch(line, -1) {
			switch m[1] {
			case "verb":
				verb = m[2]
			case "resource":
				resource = m[2]
			case "subresource":
				sub = m[2]
			default:
				dry = m[2]
			}
		}
		if sub != "" {
			resource += "/" + sub
		}
		if dry != "" {
			verb = "DRYRUN-" + verb
		}
		f := strings.Fields(line[strings.LastIndex(line, "}")+1:])
		if len(f) == 0 {
			continue
		}
		v, _ := strconv.ParseFloat(f[0], 64)
		out[verb+" "+resource] += v
	}
	return out
}

// logAPIRequests logs the API server's requests between two scrapes, most
// frequent first, and returns their total.
func logAPIRequests(b *testing.B, before, after promText) float64 {
	b.Helper()
	a, z := before.apiRequests(), after.apiRequests()
	type kv struct {
		k string
		v float64
	}
	var all []kv
	total := 0.0
	for k, v := range z {
		if d := v - a[k]; d > 0 {
			all = append(all, kv{k, d})
			total += d
		}
	}
	slices.SortFunc(all, func(x, y kv) int { return int(y.v - x.v) })
	var parts []string
	for _, e := range all[:min(len(all), 12)] {
		parts = append(parts, fmt.Sprintf("%s=%.0f", e.k, e.v))
	}
	b.Logf("API requests: %.0f; %s", total, strings.Join(parts, " "))
	return total
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times (100 on Linux
// for every architecture Go supports here).
const clockTicks = 100

// statusKB reads a "Key:   123 kB" line of /proc/<pid>/status.
func statusKB(pid int, key string) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, key+":"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				return strconv.ParseInt(f[0], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("%s not in /proc/%d/status", key, pid)
}

// loadAvg is the 1-minute load average, reported next to each figure.
func loadAvg() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return math.NaN()
	}
	f := strings.Fields(string(data))
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// pressure is the avg60 figure of a /proc/pressure file's "some" (tasks
// waited for the resource some of the time) or "full" line, in percent.
func pressure(resource, line string) float64 {
	data, err := os.ReadFile("/proc/pressure/" + resource)
	if err != nil {
		return math.NaN()
	}
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) < 3 || f[0] != line {
			continue
		}
		if v, ok := strings.CutPrefix(f[2], "avg60="); ok {
			p, _ := strconv.ParseFloat(v, 64)
			return p
		}
	}
	return math.NaN()
}

// reportLoad reports the 1-minute load average now, as load1-start, and
// returns a func that reports it again as load1-end, with the CPU and
// memory pressure of the last minute (cpu-psi-some60: % of time some task
// waited for a CPU; mem-psi-full60: % of time all tasks stalled on memory
// reclaim): the machine is shared, each figure goes with the load it was
// measured under. Use it as `defer reportLoad(b)()`.
func reportLoad(b *testing.B) func() {
	b.ReportMetric(loadAvg(), "load1-start")
	return func() {
		b.ReportMetric(loadAvg(), "load1-end")
		b.ReportMetric(pressure("cpu", "some"), "cpu-psi-some60")
		b.ReportMetric(pressure("memory", "full"), "mem-psi-full60")
	}
}

// stats are order statistics of samples, nearest-rank percentiles.
type stats struct{ sorted []float64 }

func newStats(samples []float64) stats {
	s := slices.Clone(samples)
	slices.Sort(s)
	return stats{sorted: s}
}

// pct returns the p-th percentile (0 < p <= 100) by nearest rank.
func (s stats) pct(p float64) float64 {
	if len(s.sorted) == 0 {
		return math.NaN()
	}
	rank := int(math.Ceil(p / 100 * float64(len(s.sorted))))
	return s.sorted[max(rank, 1)-1]
}

func (s stats) min() float64 { return s.pct(0.0001) }
func (s stats) max() float64 { return s.sorted[len(s.sorted)-1] }

// median is the middle sample (the mean of the two middle ones for an
// even count).
func (s stats) median() float64 {
	n := len(s.sorted)
	if n == 0 {
		return math.NaN()
	}
	if n%2 == 1 {
		return s.sorted[n/2]
	}
	return (s.sorted[n/2-1] + s.sorted[n/2]) / 2
}

// report adds min, median and max of samples as metrics named
// <prefix>-min, <prefix>-median, <prefix>-max (unit in the name).
func (s stats) report(b *testing.B, prefix string) {
	b.ReportMetric(s.min(), prefix+"-min")
	b.ReportMetric(s.median(), prefix+"-median")
	b.ReportMetric(s.max(), prefix+"-max")
}

// perf records a CPU profile with `perf record` while a phase runs, when
// BENCH_PERF_DIR is set: system-wide (-a) or of one process (pid > 0). It
// returns a stop func that ends the recording and writes text reports next
// to the data file. Without BENCH_PERF_DIR it does nothing.
func perf(b *testing.B, name string, pid int) (stop func()) {
	b.Helper()
	dir := os.Getenv("BENCH_PERF_DIR")
	if dir == "" {
		return func() {}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	data := filepath.Join(dir, name+".perf.data")
	args := []string{"record", "-q", "-e", "cpu-clock", "-F", "499", "-g", "-o", data}
	if pid > 0 {
		args = append(args, "-p", strconv.Itoa(pid))
	} else {
		args = append(args, "-a")
	}
	cmd := exec.Command("perf", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	logFile, err := os.Create(filepath.Join(dir, name+".perf.log"))
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		b.Logf("perf not started: %v", err)
		return func() {}
	}
	time.Sleep(300 * time.Millisecond) // let perf attach
	return func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		_ = cmd.Wait()
		logFile.Close()
		for _, rep := range []struct{ suffix, sort string }{
			{"by-command", "comm"},
			{"by-symbol", "comm,dso,sym"},
		} {
			out, err := exec.Command("perf", "report", "-i", data, "--stdio", "--no-children", "-g", "none", "--percent-limit", "0.5", "--sort", rep.sort).CombinedOutput()
			if err != nil {
				b.Logf("perf report: %v", err)
			}
			_ = os.WriteFile(filepath.Join(dir, name+"."+rep.suffix+".txt"), out, 0o644)
		}
	}
}

// apiserverMetrics scrapes the API server's own /metrics.
func apiserverMetrics(b *testing.B) promText {
	b.Helper()
	body, err := testCluster.Client().CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		b.Fatalf("scrape the API server's /metrics: %v", err)
	}
	return promText(body)
}
