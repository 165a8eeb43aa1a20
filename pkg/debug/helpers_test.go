package debug_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"

	"github.com/seedops/addon-operator/pkg/debug"
	"github.com/seedops/addon-operator/pkg/helm"
	"github.com/seedops/addon-operator/pkg/hook"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/queue"
	"github.com/seedops/addon-operator/pkg/updater"
	"github.com/seedops/addon-operator/pkg/values"
	"github.com/seedops/addon-operator/test/poll"
)

// Secrets of the fixture, and what must never be printed without
// --show-secrets.
const (
	modulePassword   = "s3cr3t-pass"
	oldPassword      = "old-pa55word"
	moduleToken      = "tok-0123456789"
	tlsKey           = "-----BEGIN KEY-----\nMIIEvQIBADANBg\n-----END KEY-----"
	registryPassword = "reg-pa55"
)

// fakeConverger stands in for *converge.Converger: the bundle of
// testdata/bundle with values as the converger would compute them.
type fakeConverger struct {
	bundle   *module.Bundle
	statuses []module.Status
	hooks    []*hook.Hook
	vals     map[string]values.Values // by module name
	cfg      map[string]values.Values
	global   values.Values
	globCfg  values.Values
}

func (f *fakeConverger) Bundle() *module.Bundle    { return f.bundle }
func (f *fakeConverger) Statuses() []module.Status { return f.statuses }
func (f *fakeConverger) Hooks() []*hook.Hook       { return f.hooks }

func (f *fakeConverger) ModuleValues(name string) (vals, cfgVals values.Values, err error) {
	v, ok := f.vals[name]
	if !ok {
		return nil, nil, fmt.Errorf("%w %q", module.ErrUnknownModule, name)
	}
	return v.DeepCopy(), f.cfg[name].DeepCopy(), nil
}

func (f *fakeConverger) GlobalValues() (vals, cfgVals values.Values) {
	return f.global.DeepCopy(), f.globCfg.DeepCopy()
}

// fakeQueues stands in for *queue.Set.
type fakeQueues struct{ queues []queue.QueueInfo }

func (f *fakeQueues) Snapshot() []queue.QueueInfo { return f.queues }

// fakeCharts renders charts with Helm's template engine, as helm.Client
// does but without a cluster, and keeps releases in a map.
type fakeCharts struct {
	mu        sync.Mutex
	releases  map[string]helm.Release
	renderErr error
	rendered  []values.Values
}

func (f *fakeCharts) Render(_ context.Context, name, chartDir string, vals values.Values) (helm.Rendered, error) {
	f.mu.Lock()
	f.rendered = append(f.rendered, vals)
	renderErr := f.renderErr
	f.mu.Unlock()
	if renderErr != nil {
		return helm.Rendered{}, renderErr
	}
	manifest, err := renderChart(name, chartDir, vals)
	if err != nil {
		return helm.Rendered{}, fmt.Errorf("render release %q: %w: %w", name, helm.ErrRender, err)
	}
	return helm.Rendered{Manifest: manifest}, nil
}

func (f *fakeCharts) Status(_ context.Context, name string) (helm.Release, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rel, ok := f.releases[name]
	if !ok {
		return helm.Release{}, fmt.Errorf("release %q: %w", name, helm.ErrNotFound)
	}
	return rel, nil
}

func renderChart(name, chartDir string, vals values.Values) (string, error) {
	ch, err := loader.Load(chartDir)
	if err != nil {
		return "", err
	}
	top, err := chartutil.ToRenderValues(ch, map[string]any(vals.DeepCopy()), chartutil.ReleaseOptions{Name: name, Namespace: "addons", Revision: 1, IsInstall: true}, chartutil.DefaultCapabilities)
	if err != nil {
		return "", err
	}
	files, err := engine.Render(ch, top)
	if err != nil {
		return "", err
	}
	names := make([]string, 0, len(files))
	for f := range files {
		names = append(names, f)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, f := range names {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", f, strings.TrimSpace(files[f]))
	}
	return b.String(), nil
}

func mustYAML(t testing.TB, doc string) values.Values {
	t.Helper()
	v, err := values.FromYAML([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustHook(t testing.TB, name, module, config string) *hook.Hook {
	t.Helper()
	b, err := hook.ParseConfig([]byte(config), module == "")
	if err != nil {
		t.Fatal(err)
	}
	key := values.GlobalKey
	if module != "" {
		key = values.ValuesKey(module)
	}
	return &hook.Hook{Name: name, Path: "/bundle/" + name, Module: module, ValuesKey: key, Bindings: b}
}

// fakeReleases stands in for the operator's Release objects.
type fakeReleases struct {
	mu         sync.Mutex
	items      []updater.Release
	listErr    error
	approveErr error
	// approved lists the names Approve was called with, approvals what.
	approved  []string
	approvals []updater.Approval
}

func (f *fakeReleases) List(context.Context) ([]updater.Release, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.listErr != nil {
		return nil, f.listErr
	}
	return slices.Clone(f.items), nil
}

func (f *fakeReleases) Approve(_ context.Context, name string, a updater.Approval) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.approveErr != nil {
		return f.approveErr
	}
	f.approved = append(f.approved, name)
	f.approvals = append(f.approvals, a)
	for i := range f.items {
		if f.items[i].Name == name {
			f.items[i].Approved = true
		}
	}
	return nil
}

// fixture is the data behind the server in most tests.
type fixture struct {
	conv     *fakeConverger
	queues   *fakeQueues
	charts   *fakeCharts
	releases *fakeReleases
	// lastRun and retryAt are the times in the statuses and queues.
	lastRun, retryAt time.Time
}

func (f *fixture) sources() debug.Sources {
	return debug.Sources{Modules: f.conv, Values: f.conv, Queues: f.queues, Charts: f.charts, Releases: f.releases}
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	b, err := module.Load(module.DefaultPaths("testdata/bundle"), nil)
	if err != nil {
		t.Fatal(err)
	}
	global := `
clusterName: test-cluster
registry: {host: registry.example.com, password: ` + registryPassword + `}
enabledModules: [echo-server, plain-module]
`
	globalCfg := "registry: {host: registry.example.com, password: " + registryPassword + "}\n"
	echoCfg := `
replicas: 2
auth: {user: admin, password: ` + modulePassword + `}
tls:
  cert: CERTDATA
  key: |
` + indent(tlsKey, "    ") + "\n"
	echo := echoCfg + "internal: {token: " + moduleToken + "}\n"
	section := func(key, doc string) values.Values {
		return values.Values{key: map[string]any(mustYAML(t, doc))}
	}
	withGlobal := func(v values.Values, g string) values.Values {
		v[values.GlobalKey] = map[string]any(mustYAML(t, g))
		return v
	}
	now := time.Now()
	lastRun := now.Add(-5*time.Minute - 10*time.Second)
	retryAt := now.Add(10*time.Minute + 10*time.Second)
	fx := &fixture{
		lastRun: lastRun,
		retryAt: retryAt,
		conv: &fakeConverger{
			bundle: b,
			statuses: []module.Status{
				{Module: "echo-server", Enabled: true, EnabledByConfig: true, Phase: module.PhaseReady, LastRun: lastRun, Revision: 3},
				{Module: "plain-module", Enabled: true, EnabledByConfig: true, Phase: module.PhaseError, FailedStep: module.StepHooks,
					Message: "hook 020-plain-module/hooks/check.sh: exit status 1\nstderr: boom", LastRun: lastRun.Add(-85 * time.Minute), Failures: 2},
			},
			hooks: []*hook.Hook{
				mustHook(t, "global-hooks/discovery.sh", "", "configVersion: v1\nonStartup: 10\nbeforeAll: 5\nschedule:\n- name: every-minute\n  crontab: '* * * * *'\n"),
				mustHook(t, "010-echo-server/hooks/pods.sh", "echo-server", "configVersion: v1\nkubernetes:\n- name: pods\n  apiVersion: v1\n  kind: Pod\n  queue: echo\nbeforeHelm: 1\n"),
			},
			vals: map[string]values.Values{
				"echo-server":  withGlobal(section("echoServer", echo), global),
				"plain-module": withGlobal(section("plainModule", "level: info\n"), global),
			},
			cfg: map[string]values.Values{
				"echo-server":  withGlobal(section("echoServer", echoCfg), globalCfg),
				"plain-module": withGlobal(section("plainModule", "{}"), globalCfg),
			},
			global:  withGlobal(values.Values{}, global),
			globCfg: withGlobal(values.Values{}, globalCfg),
		},
		queues: &fakeQueues{queues: []queue.QueueInfo{
			{Name: "echo"},
			{Name: queue.MainQueue, Tasks: []queue.TaskInfo{
				{Queue: "main", ID: 7, Kind: "ModuleRun", Attrs: []slog.Attr{slog.String("module", "echo-server")}, Attempts: 3,
					LastError: errors.New("helm: upgrade \"echo-server\":\ntimed out"), RetryAt: retryAt, QueuedAt: lastRun},
				{Queue: "main", ID: 9, Kind: "HookRun", Attrs: []slog.Attr{slog.String("module", "echo-server"), slog.String("hook", "010-echo-server/hooks/pods.sh"), slog.String("binding", "pods")},
					QueuedAt: lastRun},
			}},
			{Name: "hooks", Tasks: []queue.TaskInfo{
				{Queue: "hooks", ID: 8, Kind: "HookRun", Attrs: []slog.Attr{slog.String("hook", "global-hooks/discovery.sh"), slog.String("binding", "every-minute")},
					Attempts: 1, Running: true, QueuedAt: lastRun},
			}},
		}},
		charts: &fakeCharts{releases: map[string]helm.Release{}},
		releases: &fakeReleases{items: []updater.Release{
			// In List's order, which is not the creation order.
			{Name: "addons-v1.2.0-c0ffee001234", Version: "v1.2.0", Channel: "stable", Digest: "sha256:c0ffee001234", Phase: updater.PhasePending,
				Message: "waiting for approval: annotate with addons.seedops.io/approved=true", Created: lastRun, Transition: lastRun},
			{Name: "addons-v1.0.0-3f2a9c1d7e55", Version: "v1.0.0", Channel: "stable", Digest: "sha256:3f2a9c1d7e55", Phase: updater.PhaseSuperseded,
				Message: "superseded by v1.1.0", Created: now.Add(-50 * time.Hour), Transition: now.Add(-90 * time.Minute)},
			{Name: "addons-v1.1.0-8b1e04c2aa10", Version: "v1.1.0", Channel: "stable", Digest: "sha256:8b1e04c2aa10", Phase: updater.PhaseDeployed,
				Created: now.Add(-90 * time.Minute), Transition: now.Add(-85 * time.Minute)},
		}},
	}
	return fx
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}

// startServer runs a server with opts on a new socket until the test ends;
// src nil leaves it a follower.
func startServer(t *testing.T, src *debug.Sources, opts ...debug.Option) (*debug.Server, string) {
	t.Helper()
	socket := filepath.Join(shortTempDir(t), "debug.socket")
	srv := debug.NewServer(debug.Config{Socket: socket}, slog.New(slog.DiscardHandler), opts...)
	if src != nil {
		srv.Lead(*src)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start: %v", err)
		}
	})
	waitSocket(t, socket, done)
	return srv, socket
}

// shortTempDir is a temporary directory with a short path: a unix socket
// path holds at most 107 bytes, and t.TempDir contains the test's name.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "dbg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// waitSocket waits until a socket file is at path.
func waitSocket(t *testing.T, path string, done <-chan error) {
	t.Helper()
	poll.Until(t, 5*time.Millisecond, 10*time.Second, "a socket at "+path, func() error {
		info, err := os.Lstat(path)
		if err == nil && info.Mode().Type() == fs.ModeSocket {
			return nil
		}
		select {
		case err := <-done:
			t.Fatalf("Start returned before listening: %v", err)
		default:
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("%s is a %s, not a socket", path, info.Mode().Type())
	})
}

// cli runs a CLI command in process against socket.
func cli(socket string, args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	code = debug.RunCLI(append(args, "--debug-socket", socket), &out, &errOut)
	return out.String(), errOut.String(), code
}
