package converge_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deckhouse/deckhouse/pkg/metrics-storage/operation"
	sdkpkg "github.com/deckhouse/module-sdk/pkg"
	bctx "github.com/flant/shell-operator/pkg/hook/binding_context"
	htypes "github.com/flant/shell-operator/pkg/hook/types"
	kemtypes "github.com/flant/shell-operator/pkg/kube_events_manager/types"
	"k8s.io/apimachinery/pkg/util/wait"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/seedops/addon-operator/pkg/configstore"
	"github.com/seedops/addon-operator/pkg/converge"
	"github.com/seedops/addon-operator/pkg/helm"
	"github.com/seedops/addon-operator/pkg/hook"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/module/moduletest"
	"github.com/seedops/addon-operator/pkg/queue"
	"github.com/seedops/addon-operator/pkg/values"
	"github.com/seedops/addon-operator/test/logbuf"
)

// timeout bounds every wait; reaching it fails the test.
const timeout = 5 * time.Second

// journal records what the converger asked of its collaborators, in order,
// across all fakes: "run <hook> <binding>", "deploy <module>", "uninstall
// <release>", "track <release>", "untrack <release>", "enable <hook>",
// "unlock <hook>", "disable <hook>", "enabled <module>".
type journal struct {
	mu      sync.Mutex
	entries []string
}

func (j *journal) add(format string, args ...any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries = append(j.entries, fmt.Sprintf(format, args...))
}

func (j *journal) all() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.entries)
}

// with returns the entries that start with one of the prefixes.
func (j *journal) with(prefixes ...string) []string {
	var out []string
	for _, e := range j.all() {
		for _, p := range prefixes {
			if strings.HasPrefix(e, p) {
				out = append(out, e)
				break
			}
		}
	}
	return out
}

func (j *journal) count(entry string) int {
	n := 0
	for _, e := range j.all() {
		if e == entry {
			n++
		}
	}
	return n
}

// fakeConfig is an in-memory ConfigStore.
type fakeConfig struct {
	mu      sync.Mutex
	snap    configstore.Snapshot
	patches []values.Patch
	events  chan configstore.Event
}

func (f *fakeConfig) Current() configstore.Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snap.DeepCopy()
}

func (f *fakeConfig) Patch(_ context.Context, p values.Patch) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.patches = append(f.patches, p)
	return nil
}

func (f *fakeConfig) Events() <-chan configstore.Event { return f.events }

func (f *fakeConfig) set(s configstore.Snapshot) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.snap = s.DeepCopy()
}

func (f *fakeConfig) savedPatches() []values.Patch {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.patches)
}

// fakeReleases records deploys and uninstalls. deploy, when set before
// start, decides a Deploy's outcome.
type fakeReleases struct {
	j         *journal
	deploy    func(ctx context.Context, name string, vals values.Values) (helm.Result, error)
	uninstall func(name string) error
	list      []helm.Release

	mu       sync.Mutex
	deployed map[string][]values.Values
}

func (f *fakeReleases) Deploy(ctx context.Context, name, _ string, vals values.Values) (helm.Result, error) {
	f.j.add("deploy %s", name)
	f.mu.Lock()
	f.deployed[name] = append(f.deployed[name], vals.DeepCopy())
	n := len(f.deployed[name])
	f.mu.Unlock()
	if f.deploy != nil {
		return f.deploy(ctx, name, vals)
	}
	return helm.Result{Revision: n, Applied: true, Reason: helm.ReasonUpgraded}, nil
}

func (f *fakeReleases) Uninstall(_ context.Context, name string) error {
	f.j.add("uninstall %s", name)
	if f.uninstall != nil {
		return f.uninstall(name)
	}
	return nil
}

func (f *fakeReleases) List(context.Context) ([]helm.Release, error) { return f.list, nil }

func (f *fakeReleases) ApplyCRDs(_ context.Context, files []string) error {
	f.j.add("crds %d", len(files))
	return nil
}

// deploys returns the values of every Deploy of the module, in order.
func (f *fakeReleases) deploys(name string) []values.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.deployed[name])
}

// last returns the values of the module's last Deploy, nil if none.
func (f *fakeReleases) last(name string) values.Values {
	d := f.deploys(name)
	if len(d) == 0 {
		return nil
	}
	return d[len(d)-1]
}

type fakeTracker struct{ j *journal }

func (f fakeTracker) Track(release string, _ []helm.ObjectRef) { f.j.add("track %s", release) }
func (f fakeTracker) Untrack(release string)                   { f.j.add("untrack %s", release) }

// fakeEngine returns the Synchronization events configured per hook name
// and records the Kubernetes operations hooks asked for.
type fakeEngine struct {
	j     *journal
	syncs map[string][]hook.Event

	mu      sync.Mutex
	kubeOps []sdkpkg.PatchCollectorOperation
	metrics []operation.MetricOperation
}

func (f *fakeEngine) Enable(h *hook.Hook) ([]hook.Event, error) {
	f.j.add("enable %s", h.Name)
	var out []hook.Event
	for _, ev := range f.syncs[h.Name] {
		ev.Hook, ev.Sync = h, true
		if ev.Queue == "" {
			ev.Queue = queue.MainQueue
		}
		if len(ev.Contexts) == 0 {
			ev.Contexts = []bctx.BindingContext{syncContext(ev.Binding)}
		}
		out = append(out, ev)
	}
	return out, nil
}

func (f *fakeEngine) Unlock(h *hook.Hook)  { f.j.add("unlock %s", h.Name) }
func (f *fakeEngine) Disable(h *hook.Hook) { f.j.add("disable %s", h.Name) }

func (f *fakeEngine) Snapshots(_ *hook.Hook, contexts []bctx.BindingContext) []bctx.BindingContext {
	return contexts
}

func (f *fakeEngine) LifecycleContexts(_ *hook.Hook, b hook.Binding) []bctx.BindingContext {
	bc := bctx.BindingContext{Binding: string(b)}
	bc.Metadata.BindingType = htypes.BindingType(b)
	return []bctx.BindingContext{bc}
}

func (f *fakeEngine) ApplyKubernetes(ops []sdkpkg.PatchCollectorOperation) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.kubeOps = append(f.kubeOps, ops...)
	return nil
}

func (f *fakeEngine) ApplyMetrics(_ *hook.Hook, ops []operation.MetricOperation) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.metrics = append(f.metrics, ops...)
	return nil
}

func (f *fakeEngine) appliedKubeOps() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.kubeOps)
}

// kubeOp is a Kubernetes operation a hook asks for.
type kubeOp string

func (o kubeOp) Description() string { return string(o) }

// runCall is one hook run.
type runCall struct {
	Hook    string
	Binding string
	Input   hook.Input
}

// fakeRunner runs hooks by calling run (when set before start) and
// `enabled` scripts by calling enabled (default: enabled).
type fakeRunner struct {
	j       *journal
	run     func(ctx context.Context, h *hook.Hook, in hook.Input) (hook.Output, error)
	enabled func(module string, vals values.Values) (bool, error)

	mu           sync.Mutex
	calls        []runCall
	enabledSeen  map[string][][]string // module -> global.enabledModules per call
	enabledCalls int
}

func (f *fakeRunner) Run(ctx context.Context, h *hook.Hook, in hook.Input) (hook.Output, error) {
	f.j.add("run %s %s", h.Name, in.Binding)
	f.mu.Lock()
	f.calls = append(f.calls, runCall{Hook: h.Name, Binding: in.Binding, Input: in})
	f.mu.Unlock()
	if f.run != nil {
		return f.run(ctx, h, in)
	}
	return hook.Output{}, nil
}

func (f *fakeRunner) Enabled(_ context.Context, module, _ string, vals, _ values.Values) (bool, string, error) {
	f.j.add("enabled %s", module)
	f.mu.Lock()
	f.enabledSeen[module] = append(f.enabledSeen[module], enabledModules(vals))
	f.mu.Unlock()
	if f.enabled != nil {
		on, err := f.enabled(module, vals)
		return on, "", err
	}
	return true, "", nil
}

// runsOf returns the runs of one hook, in order.
func (f *fakeRunner) runsOf(hookName string) []runCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []runCall
	for _, c := range f.calls {
		if c.Hook == hookName {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeRunner) seenByEnabled(module string) [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.enabledSeen[module])
}

func enabledModules(vals values.Values) []string {
	var out []string
	for _, r := range vals.Get("global.enabledModules").Array() {
		out = append(out, r.String())
	}
	return out
}

// hookRun is one Observer.HookRun.
type hookRun struct {
	Module, Hook, Binding, Activation, Queue string
	Failed, AllowFailure                     bool
}

// hookUsage is one Observer.HookUsage.
type hookUsage struct {
	Module, Hook, Binding, Activation, Queue string
	User, System                             time.Duration
	MaxRSS                                   int64
}

// fakeObserver records what the converger reports.
type fakeObserver struct {
	mu             sync.Mutex
	hookRuns       []hookRun
	hookUsages     []hookUsage
	moduleRuns     []string // "module activation ok|error"
	moduleHelms    []string // "module activation"
	moduleDeletes  []string
	discoverErrors int
	configErrors   int
	convergences   []string
	redeployed     []string
}

func (f *fakeObserver) HookRun(module, h, binding string, activation module.Activation, q string, _ time.Duration, err error, allowFailure bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hookRuns = append(f.hookRuns, hookRun{module, h, binding, string(activation), q, err != nil, allowFailure})
}

func (f *fakeObserver) HookUsage(module, h, binding string, activation module.Activation, q string, user, system time.Duration, maxRSS int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hookUsages = append(f.hookUsages, hookUsage{module, h, binding, string(activation), q, user, system, maxRSS})
}

func (f *fakeObserver) usagesOfHook(name string) []hookUsage {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []hookUsage
	for _, u := range f.hookUsages {
		if u.Hook == name {
			out = append(out, u)
		}
	}
	return out
}

func (f *fakeObserver) ModuleRun(module string, activation module.Activation, _ time.Duration, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.moduleRuns = append(f.moduleRuns, fmt.Sprintf("%s %s %s", module, activation, outcome(err)))
}

func (f *fakeObserver) ModuleHelm(module string, activation module.Activation, _ time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.moduleHelms = append(f.moduleHelms, fmt.Sprintf("%s %s", module, activation))
}

func (f *fakeObserver) ModuleDelete(module string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.moduleDeletes = append(f.moduleDeletes, fmt.Sprintf("%s %s", module, outcome(err)))
}

func (f *fakeObserver) DiscoverError() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.discoverErrors++
}

func (f *fakeObserver) Convergence(activation module.Activation, _ time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.convergences = append(f.convergences, string(activation))
}

func (f *fakeObserver) ConfigError() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.configErrors++
}

func (f *fakeObserver) Redeployed(module string, _ int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.redeployed = append(f.redeployed, module)
}

func (f *fakeObserver) runsOfHook(name string) []hookRun {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []hookRun
	for _, r := range f.hookRuns {
		if r.Hook == name {
			out = append(out, r)
		}
	}
	return out
}

func (f *fakeObserver) converges() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.convergences)
}

func (f *fakeObserver) redeploys() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.redeployed)
}

func (f *fakeObserver) deletes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.moduleDeletes)
}

func (f *fakeObserver) modules() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.moduleRuns)
}

func (f *fakeObserver) helms() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.moduleHelms)
}

func (f *fakeObserver) counts() (configErrors, discoverErrors int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.configErrors, f.discoverErrors
}

func outcome(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}

// queued is one task the converger put on a queue.
type queued struct {
	Queue, Kind, Module, Activation string
}

// recordingQueues is a real queue.Set that remembers what was queued.
type recordingQueues struct {
	set *queue.Set

	mu    sync.Mutex
	added []queued
}

func (q *recordingQueues) Add(name string, t *queue.Task) {
	q.record(name, t)
	q.set.Add(name, t)
}

func (q *recordingQueues) AddFirst(name string, tasks ...*queue.Task) {
	for _, t := range tasks {
		q.record(name, t)
	}
	q.set.AddFirst(name, tasks...)
}

func (q *recordingQueues) record(name string, t *queue.Task) {
	rec := queued{Queue: name, Kind: t.Kind}
	for _, a := range t.Attrs {
		switch a.Key {
		case "module":
			rec.Module = a.Value.String()
		case "activation":
			rec.Activation = a.Value.String()
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.added = append(q.added, rec)
}

// since returns the tasks queued after the first n.
func (q *recordingQueues) since(n int) []queued {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.added) == n {
		return nil
	}
	return slices.Clone(q.added[n:])
}

func (q *recordingQueues) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.added)
}

// harness is a Converger on a bundle written to a temporary directory, with
// fakes for every collaborator and a real queue.Set. Set the fakes' funcs
// before start.
type harness struct {
	t       *testing.T
	conv    *converge.Converger
	bundle  module.Loaded
	j       *journal
	cfg     *fakeConfig
	rel     *fakeReleases
	eng     *fakeEngine
	run     *fakeRunner
	obs     *fakeObserver
	q       *recordingQueues
	healing chan string
	// hookEvents stands for the engine's Events channel.
	hookEvents chan hook.Event
	// backoff is Deps.Backoff; 10ms unless set before start.
	backoff func(n int) time.Duration
	// parallelism is Deps.ModuleParallelism; 4 unless set before start,
	// so that tests do not depend on the machine's CPUs.
	parallelism int
	// kubeVersion is Deps.KubeVersion; a cluster of v1.34.4 unless set
	// before start.
	kubeVersion func(ctx context.Context) (string, error)
	// clock is Deps.Clock; the real clock unless set before start. Step a
	// fake clock only while the converger is idle: the retries it fires
	// take the converger's lock under the fake clock's lock.
	clock *clocktesting.FakeClock
}

// newHarness writes files as a bundle and loads it. hookConfigs holds what
// each hook prints for --config, by hook name ("startup.sh" for
// global-hooks/startup.sh, "010-alpha/hooks/run.sh" for a module hook);
// every hook of the bundle must have one.
func newHarness(t *testing.T, bundleFiles []moduletest.File, hookConfigs map[string]string) *harness {
	t.Helper()
	root := moduletest.Bundle(t, bundleFiles...)
	mb, err := module.Load(module.DefaultPaths(root), nil)
	if err != nil {
		t.Fatalf("load bundle: %v", err)
	}
	used := map[string]bool{}
	mkHook := func(mh module.Hook, key string) *hook.Hook {
		cfg, ok := hookConfigs[mh.Name]
		if !ok {
			t.Fatalf("no --config for hook %s", mh.Name)
		}
		used[mh.Name] = true
		b, err := hook.ParseConfig([]byte(cfg), mh.Module == "")
		if err != nil {
			t.Fatalf("hook %s: %v", mh.Name, err)
		}
		return &hook.Hook{Name: mh.Name, Path: mh.Path, Module: mh.Module, ValuesKey: key, Bindings: b}
	}
	b := module.Loaded{Modules: mb, ModuleHooks: map[string][]*hook.Hook{}}
	for _, mh := range mb.GlobalHooks {
		b.GlobalHooks = append(b.GlobalHooks, mkHook(mh, values.GlobalKey))
	}
	for _, m := range mb.Modules {
		for _, mh := range m.Hooks {
			b.ModuleHooks[m.Name] = append(b.ModuleHooks[m.Name], mkHook(mh, m.ValuesKey))
		}
	}
	for name := range hookConfigs {
		if !used[name] {
			t.Fatalf("hook config for %s, which the bundle does not have", name)
		}
	}
	j := &journal{}
	return &harness{
		t:          t,
		bundle:     b,
		j:          j,
		cfg:        &fakeConfig{events: make(chan configstore.Event)},
		rel:        &fakeReleases{j: j, deployed: map[string][]values.Values{}},
		eng:        &fakeEngine{j: j, syncs: map[string][]hook.Event{}},
		run:        &fakeRunner{j: j, enabledSeen: map[string][][]string{}},
		obs:        &fakeObserver{},
		healing:    make(chan string),
		hookEvents: make(chan hook.Event),
		backoff:    func(int) time.Duration { return 10 * time.Millisecond },
	}
}

// start runs the queues and the converger with snap as the first accepted
// configuration. The test's cleanup stops both.
func (h *harness) start(snap configstore.Snapshot) {
	h.t.Helper()
	h.startWith(configstore.Event{Snapshot: snap, Change: configstore.Change{Initial: true}})
}

// startWith runs the queues and the converger and sends first as the first
// configuration event.
func (h *harness) startWith(first configstore.Event) {
	t := h.t
	t.Helper()
	logs := &logbuf.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("journal:\n%s\nlogs:\n%s", strings.Join(h.j.all(), "\n"), logs.String())
		}
	})
	set, err := queue.New(queue.Config{MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}, log)
	if err != nil {
		t.Fatalf("queue.New: %v", err)
	}
	h.q = &recordingQueues{set: set}
	deps := converge.Deps{
		Config: h.cfg, Releases: h.rel, Tracker: fakeTracker{h.j}, Engine: h.eng, Runner: h.run,
		Queues: h.q, Observer: h.obs, Backoff: h.backoff, Log: log,
		ModuleParallelism: cmp.Or(h.parallelism, 4), KubeVersion: h.kubeVersion,
	}
	if deps.KubeVersion == nil {
		deps.KubeVersion = func(context.Context) (string, error) { return "v1.34.4", nil }
	}
	if h.clock != nil {
		deps.Clock = h.clock
	}
	h.conv = converge.New(h.bundle, deps)
	ctx, cancel := context.WithCancel(context.Background())
	queuesDone, convDone := make(chan error, 1), make(chan error, 1)
	go func() { queuesDone <- set.Start(ctx) }()
	go func() { convDone <- h.conv.Start(ctx, h.healing, h.hookEvents) }()
	t.Cleanup(func() {
		cancel()
		for name, done := range map[string]chan error{"queues": queuesDone, "converger": convDone} {
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("%s Start returned %v, want nil", name, err)
				}
			case <-time.After(timeout):
				t.Errorf("%s did not stop after its ctx was cancelled", name)
			}
		}
	})
	h.cfg.set(first.Snapshot)
	h.cfg.events <- first
}

// configure makes snap the accepted configuration and sends the event; it
// returns once the converger has handled it.
func (h *harness) configure(snap configstore.Snapshot, ch configstore.Change) {
	h.t.Helper()
	h.cfg.set(snap)
	h.send(configstore.Event{Snapshot: snap, Change: ch})
}

// send delivers ev and returns once the converger has handled it (the
// events channel is unbuffered and handled one event at a time, so the
// send of a second, empty event returns only after the first is done).
func (h *harness) send(ev configstore.Event) {
	h.t.Helper()
	for _, e := range []configstore.Event{ev, {}} {
		select {
		case h.cfg.events <- e:
		case <-time.After(timeout):
			h.t.Fatal("the converger does not read configuration events")
		}
	}
}

// heal sends a release name on the healing channel and returns once the
// converger has taken it.
func (h *harness) heal(name string) {
	h.t.Helper()
	select {
	case h.healing <- name:
	case <-time.After(timeout):
		h.t.Fatal("the converger does not read the healing channel")
	}
}

// sendHookEvent sends ev on the hook events channel and returns once the
// converger has queued the hook's run. Call it after start: the healing
// channel, which Start reads from the accepted configuration on, serves as
// the barrier (Start handles one event at a time, and a release of no
// module heals nothing).
func (h *harness) sendHookEvent(ev hook.Event) {
	h.t.Helper()
	select {
	case h.hookEvents <- ev:
	case <-time.After(timeout):
		h.t.Fatal("the converger does not read the hook events channel")
	}
	h.heal("")
}

func (h *harness) waitReady() {
	h.t.Helper()
	select {
	case <-h.conv.Ready():
	case <-time.After(timeout):
		h.t.Fatalf("not ready after %s; statuses: %+v; global: %+v", timeout, h.conv.Statuses(), h.conv.GlobalStatus())
	}
}

// waitIdle waits until the queue has no task waiting, retrying or running.
func (h *harness) waitIdle(name string) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := h.q.set.WaitIdle(ctx, name); err != nil {
		h.t.Fatalf("queue %q not idle: %v; queues: %+v", name, err, h.q.set.Snapshot())
	}
}

// eventually polls cond until it holds, failing the test after timeout.
func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	if !poll(timeout, cond) {
		h.t.Fatalf("timed out waiting for %s", what)
	}
}

// poll reports whether cond held within d, checking it every 2ms.
func poll(d time.Duration, cond func() bool) bool {
	err := wait.PollUntilContextTimeout(context.Background(), 2*time.Millisecond, d, true, func(context.Context) (bool, error) {
		return cond(), nil
	})
	return err == nil
}

// status returns the module's status.
func (h *harness) status(name string) module.Status {
	h.t.Helper()
	for _, s := range h.conv.Statuses() {
		if s.Module == name {
			return s
		}
	}
	h.t.Fatalf("no status for module %q", name)
	return module.Status{}
}

// hookByName finds a hook of the bundle.
func (h *harness) hookByName(name string) *hook.Hook {
	h.t.Helper()
	for _, hk := range h.conv.Hooks() {
		if hk.Name == name {
			return hk
		}
	}
	h.t.Fatalf("no hook %q", name)
	return nil
}

// snapshot builds a configuration from ConfigMap-like YAML: "global",
// module sections by values key, and "<key>Enabled" booleans.
func snapshot(t *testing.T, doc string) configstore.Snapshot {
	t.Helper()
	v, err := values.FromYAML([]byte(doc))
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	s := configstore.Snapshot{Global: values.Values{}, Modules: map[string]values.Values{}, Enabled: map[string]bool{}, Operator: values.Values{}}
	for k, val := range v {
		switch on, isBool := val.(bool); {
		case k == values.GlobalKey:
			s.Global = v.Section(k)
		case isBool && strings.HasSuffix(k, "Enabled"):
			s.Enabled[strings.TrimSuffix(k, "Enabled")] = on
		default:
			s.Modules[k] = v.Section(k)
		}
	}
	return s
}

// chart is a module with a chart that makes a release.
func chart(dir string, extra ...moduletest.File) []moduletest.File {
	name := dir[strings.IndexByte(dir, '-')+1:]
	return append([]moduletest.File{
		moduletest.Text("modules/"+dir+"/Chart.yaml", "apiVersion: v2\nname: "+name+"\nversion: 0.1.0\n"),
		moduletest.Text("modules/"+dir+"/templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: "+name+"\n"),
	}, extra...)
}

// files concatenates fixture parts.
func files(parts ...[]moduletest.File) []moduletest.File {
	var out []moduletest.File
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// patch builds a values patch from JSON.
func patch(t *testing.T, doc string) values.Patch {
	t.Helper()
	p, err := values.ParsePatch([]byte(doc))
	if err != nil {
		t.Fatalf("patch %s: %v", doc, err)
	}
	return p
}

// eventContext is the binding context of a kubernetes event.
func eventContext(binding, watchEvent string) bctx.BindingContext {
	bc := bctx.BindingContext{Binding: binding, Type: kemtypes.TypeEvent, WatchEvent: kemtypes.WatchEventType(watchEvent)}
	bc.Metadata.BindingType = htypes.OnKubernetesEvent
	return bc
}

func syncContext(binding string) bctx.BindingContext {
	bc := bctx.BindingContext{Binding: binding, Type: kemtypes.TypeSynchronization}
	bc.Metadata.BindingType = htypes.OnKubernetesEvent
	return bc
}

// contextsOf decodes the binding contexts a hook run got into
// "binding/type/watchEvent" strings.
func contextsOf(t *testing.T, in hook.Input) []string {
	t.Helper()
	var list []map[string]any
	if err := json.Unmarshal(in.Contexts, &list); err != nil {
		t.Fatalf("binding contexts %s: %v", in.Contexts, err)
	}
	var out []string
	for _, bc := range list {
		s := fmt.Sprintf("%v/%v", bc["binding"], bc["type"])
		if w, ok := bc["watchEvent"]; ok {
			s += "/" + fmt.Sprint(w)
		}
		out = append(out, s)
	}
	return out
}
