package updater

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seedops/addon-operator/pkg/bundle"
	"github.com/seedops/addon-operator/pkg/configstore"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/module/moduletest"
	"github.com/seedops/addon-operator/pkg/values"
	"github.com/seedops/addon-operator/test/stepclock"
)

// memReleases is an in-memory Releases.
type memReleases struct {
	mu    sync.Mutex
	items map[string]Release
	now   func() time.Time
	// lists counts List calls.
	lists int
	// listErr, when set, fails List.
	listErr error
}

func newMemReleases(now func() time.Time) *memReleases {
	return &memReleases{items: map[string]Release{}, now: now}
}

func (m *memReleases) List(context.Context) ([]Release, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lists++
	if m.listErr != nil {
		return nil, m.listErr
	}
	var out []Release
	for _, r := range m.items {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Release) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (m *memReleases) Create(_ context.Context, r Release) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.items[r.Name]; ok {
		return nil
	}
	r.Created, r.Transition = m.now(), m.now()
	m.items[r.Name] = r
	return nil
}

func (m *memReleases) SetStatus(_ context.Context, name string, phase Phase, msg string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.items[name]
	if !ok {
		return fmt.Errorf("release %s not found", name)
	}
	if r.Phase != phase {
		r.Transition = m.now()
	}
	r.Phase, r.Message = phase, msg
	m.items[name] = r
	return nil
}

// byVersion returns the release of a version.
func (m *memReleases) byVersion(t *testing.T, version string) Release {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.items {
		if r.Version == version {
			return r
		}
	}
	t.Fatalf("no release of %s", version)
	return Release{}
}

func (m *memReleases) approve(t *testing.T, version string) {
	r := m.byVersion(t, version)
	m.mu.Lock()
	defer m.mu.Unlock()
	r.Approved = true
	m.items[r.Name] = r
}

// phases summarises the store: "version phase" per release, sorted.
func (m *memReleases) phases() []string {
	rs, _ := m.List(context.Background())
	var out []string
	for _, r := range rs {
		out = append(out, r.Version+" "+string(r.Phase))
	}
	slices.Sort(out)
	return out
}

// fakeRuntime loads test bundles (a VERSION file names them; an INVALID
// file makes Load fail; a FAIL file makes the module "demo" fail to
// converge; a SLOW file keeps it Reconciling; an UNGATED file makes its
// chart opt out of the workload gate) and plays the converger.
type fakeRuntime struct {
	mu      sync.Mutex
	current string
	loads   map[string]int
	swaps   []string
	ready   chan struct{}
	// subs are the channels of Subscribe, signalled by Swap.
	subs map[chan struct{}]bool
}

func newFakeRuntime(initial string) *fakeRuntime {
	r := &fakeRuntime{current: initial, loads: map[string]int{}, ready: make(chan struct{}), subs: map[chan struct{}]bool{}}
	close(r.ready)
	return r
}

func (r *fakeRuntime) Subscribe() (<-chan struct{}, func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ch := make(chan struct{}, 1)
	r.subs[ch] = true
	return ch, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		delete(r.subs, ch)
	}
}

func (r *fakeRuntime) Load(_ context.Context, dir string) (module.Loaded, error) {
	data, err := os.ReadFile(filepath.Join(dir, "VERSION"))
	if err != nil {
		return module.Loaded{}, err
	}
	name := strings.TrimSpace(string(data))
	r.mu.Lock()
	r.loads[name]++
	r.mu.Unlock()
	if _, err := os.Stat(filepath.Join(dir, "INVALID")); err == nil {
		return module.Loaded{}, fmt.Errorf("%w: modules/010-demo/values.yaml: bad YAML", module.ErrInvalidBundle)
	}
	mode := "ok"
	for _, m := range []string{"FAIL", "SLOW", "UNGATED"} {
		if _, err := os.Stat(filepath.Join(dir, m)); err == nil {
			mode = m
		}
	}
	return module.Loaded{Modules: &module.Bundle{Values: values.Values{"name": name, "mode": mode}}}, nil
}

func (r *fakeRuntime) Swap(_ context.Context, b module.Loaded) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	name, _ := b.Modules.Values["name"].(string)
	if name == "" {
		name = "built-in"
	}
	r.current = name + "/" + fmt.Sprint(b.Modules.Values["mode"])
	r.swaps = append(r.swaps, name)
	for ch := range r.subs {
		signal(ch)
	}
	return nil
}

func (r *fakeRuntime) running() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	name, _, _ := strings.Cut(r.current, "/")
	return name
}

func (r *fakeRuntime) Ready() <-chan struct{} { return r.ready }

func (r *fakeRuntime) GlobalStatus() module.GlobalStatus {
	return module.GlobalStatus{Phase: module.PhaseReady}
}

func (r *fakeRuntime) Statuses() []module.Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case strings.HasSuffix(r.current, "/FAIL"):
		return []module.Status{{Module: "demo", Enabled: true, Phase: module.PhaseError, Failures: 3, Message: "render: v3 is broken"}}
	case strings.HasSuffix(r.current, "/SLOW"):
		return []module.Status{{Module: "demo", Enabled: true, Phase: module.PhaseReconciling}}
	case strings.HasSuffix(r.current, "/UNGATED"):
		return []module.Status{{Module: "demo", Enabled: true, Phase: module.PhaseReady, Readiness: module.Readiness{Ungated: true}}}
	}
	return []module.Status{{Module: "demo", Enabled: true, Phase: module.PhaseReady}}
}

// fakeHealth plays the status writer's judgement of the workloads: the
// module "demo" is healthy (at revision 0, as fakeRuntime reports it)
// until set says otherwise.
type fakeHealth struct {
	mu     sync.Mutex
	health map[string]module.Health
	subs   map[chan struct{}]bool
}

func newFakeHealth() *fakeHealth {
	return &fakeHealth{health: map[string]module.Health{"demo": {}}, subs: map[chan struct{}]bool{}}
}

func (h *fakeHealth) Health() map[string]module.Health {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.health)
}

func (h *fakeHealth) HealthChanges() (<-chan struct{}, func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := make(chan struct{}, 1)
	h.subs[ch] = true
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.subs, ch)
	}
}

// set replaces the health of demo and signals the subscribers.
func (h *fakeHealth) set(demo module.Health) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.health = map[string]module.Health{"demo": demo}
	for ch := range h.subs {
		signal(ch)
	}
}

// subscribers counts the open HealthChanges subscriptions.
func (h *fakeHealth) subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// fakeObserver records metrics.
type fakeObserver struct {
	mu      sync.Mutex
	info    string
	errors  map[string]int
	pending int
	checked time.Time
}

func (o *fakeObserver) ReleaseInfo(v, ch string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.info = v + "@" + ch
}

func (o *fakeObserver) UpdateChecked(at time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.checked = at
}

func (o *fakeObserver) UpdateError(stage string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.errors == nil {
		o.errors = map[string]int{}
	}
	o.errors[stage]++
}

func (o *fakeObserver) PendingReleases(n int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.pending = n
}

// fakeConfig serves an operator section and signals changes when it is
// set, as the operator's config store listener does.
type fakeConfig struct {
	mu      sync.Mutex
	section values.Values
	changes chan struct{}
}

func newFakeConfig() *fakeConfig { return &fakeConfig{changes: make(chan struct{}, 1)} }

func (c *fakeConfig) Current() configstore.Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	return configstore.Snapshot{Operator: c.section.DeepCopy()}
}

func (c *fakeConfig) set(v values.Values) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.section = v
	signal(c.changes)
}

// signal sends on ch unless a signal is pending already.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

type noSecrets struct{}

func (noSecrets) Get(context.Context, string) (map[string][]byte, error) {
	return nil, errors.New("no secrets here")
}

func (m *memReleases) setListErr(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.listErr = err
}

func (m *memReleases) delete(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.items, name)
}

// awaitAfters waits until the clock's After was asked for n delays.
func (w *world) awaitAfters(n int) {
	w.t.Helper()
	if !w.clock.Await(func() bool { return len(w.clock.Afters()) >= n }) {
		w.t.Fatalf("After not asked for %d delays: %v", n, w.clock.Afters())
	}
}

// awaitTimers waits until n timers were set to d; false when that takes
// too long. Safe to call from any goroutine.
func (w *world) awaitTimers(d time.Duration, n int) bool {
	return w.clock.Await(func() bool { return w.clock.TimersOf(d) >= n })
}

// restoreReports records what Deps.Restoring is told and signals changed
// after each report.
type restoreReports struct {
	mu      sync.Mutex
	last    error
	n       int
	changed chan struct{}
}

func (r *restoreReports) report(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last = err
	r.n++
	signal(r.changed)
}

func (r *restoreReports) get() (error, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last, r.n
}

// section reads the operator section of the world's configuration, as the
// operator reads the ConfigMap's for each restore attempt.
func (w *world) section(context.Context) values.Values { return w.cfg.Current().Operator }

// world is an Updater with fakes and a layout source.
type world struct {
	t        *testing.T
	u        *Updater
	rt       *fakeRuntime
	health   *fakeHealth
	releases *memReleases
	obs      *fakeObserver
	cfg      *fakeConfig
	clock    *stepclock.Clock
	restores *restoreReports
	source   string
	src      *bundle.Source
	cacheDir string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, rt: newFakeRuntime("built-in"), health: newFakeHealth(), obs: &fakeObserver{}, cfg: newFakeConfig(), clock: stepclock.New(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)), restores: &restoreReports{changed: make(chan struct{}, 1)}}
	w.releases = newMemReleases(w.clock.Now)
	w.source = filepath.Join(t.TempDir(), "layout")
	w.cacheDir = filepath.Join(t.TempDir(), "cache")
	var err error
	if w.src, err = bundle.Open(w.source, bundle.Options{}); err != nil {
		t.Fatal(err)
	}
	w.u = w.newUpdater()
	return w
}

func (w *world) newUpdater() *Updater {
	return w.newUpdaterWith(func(*Config) {})
}

// newUpdaterWith returns an Updater whose Config edit changed.
func (w *world) newUpdaterWith(edit func(*Config)) *Updater {
	cfg := Config{CacheDir: w.cacheDir, PollInterval: time.Second, RollbackRetries: 2, RollbackTimeout: 2 * time.Second}
	edit(&cfg)
	return New(cfg, Deps{
		Namespace: "ops", Releases: w.releases, Runtime: w.rt, Convergence: w.rt, Config: w.cfg,
		Secrets: noSecrets{}, Observer: w.obs, Clock: w.clock, ConfigChanges: w.cfg.changes, Restoring: w.restores.report,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Health: w.health,
	})
}

// publish pushes a test bundle named name with version to channels; marks
// are extra files (INVALID, FAIL, SLOW).
func (w *world) publish(name, version string, channels []string, marks ...string) bundle.Meta {
	w.t.Helper()
	meta, err := w.src.Push(context.Background(), w.bundleDir(name, marks...), bundle.PushOptions{Version: version, Channels: channels})
	if err != nil {
		w.t.Fatal(err)
	}
	return meta
}

// bundleDir writes a test bundle named name; marks are extra files.
func (w *world) bundleDir(name string, marks ...string) string {
	w.t.Helper()
	files := []moduletest.File{moduletest.Text("VERSION", name+"\n"), moduletest.Text("values.yaml", "global: {}\n")}
	for _, m := range marks {
		files = append(files, moduletest.Text(m, ""))
	}
	return moduletest.Bundle(w.t, files...)
}

func (w *world) settings(yaml string) Settings {
	w.t.Helper()
	v, err := values.FromYAML([]byte(strings.ReplaceAll(yaml, "SOURCE", w.source)))
	if err != nil {
		w.t.Fatal(err)
	}
	s, err := ParseSettings(v)
	if err != nil {
		w.t.Fatal(err)
	}
	w.cfg.set(v)
	return s
}

func (m *memReleases) listCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lists
}
