package operator

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	dlog "github.com/deckhouse/deckhouse/pkg/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/seedops/addon-operator/pkg/configstore"
	"github.com/seedops/addon-operator/pkg/converge"
	"github.com/seedops/addon-operator/pkg/debug"
	"github.com/seedops/addon-operator/pkg/helm"
	"github.com/seedops/addon-operator/pkg/hook"
	"github.com/seedops/addon-operator/pkg/mask"
	"github.com/seedops/addon-operator/pkg/metrics"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/queue"
	"github.com/seedops/addon-operator/pkg/server"
	"github.com/seedops/addon-operator/pkg/status"
	"github.com/seedops/addon-operator/pkg/updater"
	"github.com/seedops/addon-operator/pkg/webhook"
)

// NewLogger builds the process logger from the level and format flags.
func NewLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "color":
		// The peer's LOG_TYPE=color: text, coloured only where a person
		// reads it, so redirected logs stay parseable.
		if isTerminal(w) {
			w = colorWriter{w: w}
		}
		return slog.New(slog.NewTextHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("log format %q: want text, json or color", format)
	}
}

// Run builds the operator and runs it until ctx is done (nil error) or a
// part fails.
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	// Hook output and Helm errors may quote x-secret values: every text
	// that leaves the process (logs, statuses, Events, Releases) passes
	// through secrets, which the config store keeps up to date.
	secrets := mask.New()
	log = slog.New(mask.NewHandler(log.Handler(), secrets))
	warnPeerEnv(log, os.LookupEnv)
	if cfg.envErr != nil {
		return cfg.envErr
	}
	restCfg, err := restConfig(cfg.Kubeconfig, float32(cfg.KubeQPS), cfg.KubeBurst)
	if err != nil {
		return err
	}
	if cfg.Store.Namespace == "" {
		return errors.New("the operator's namespace is not set (--namespace or ADDON_OPERATOR_NAMESPACE)")
	}
	if err := cfg.HA.Validate(); err != nil {
		return err
	}
	if err := cfg.Updater.CheckTrust(); err != nil {
		return err
	}
	cfg.Helm.Namespace = cfg.Store.Namespace
	// Hooks learn the namespace from the environment, also when it came
	// from --namespace.
	cfg.Hook.Env = append(cfg.Hook.Env, "ADDON_OPERATOR_NAMESPACE="+cfg.Store.Namespace)
	// Hooks call the binary's helper subcommands (sha512-crypt) through
	// ADDON_OPERATOR_BIN wherever it is installed; without it they look for
	// addon-operator on PATH.
	if self, err := os.Executable(); err == nil {
		cfg.Hook.Env = append(cfg.Hook.Env, "ADDON_OPERATOR_BIN="+self)
	}

	bundle, err := module.Load(cfg.Paths(), log)
	if err != nil {
		return fmt.Errorf("load bundle: %w", err)
	}
	if cfg.Kubeconfig != "" {
		// kubectl in hooks talks to the same cluster as the operator.
		abs, err := filepath.Abs(cfg.Kubeconfig)
		if err != nil {
			return err
		}
		cfg.Hook.Env = append(cfg.Hook.Env, "KUBECONFIG="+abs)
	}
	runner := hook.NewRunner(cfg.Hook, log)
	// Run directories of hooks cut short when the last process was killed
	// hold values with secrets.
	if n, err := runner.RemoveLeftovers(); err != nil {
		log.Warn("hook run files left by an earlier process not removed", "error", err)
	} else if n > 0 {
		log.Info("removed hook run files left by an earlier process", "run_dirs", n)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := metrics.New(reg)
	hookMetrics := prometheus.NewRegistry()

	var leader leaderState
	if !cfg.HA.Enabled {
		// Without election this replica leads from the start: it is not
		// ready before its first converge, also while runLeader sets up.
		leader.lead(make(chan struct{}))
	}
	var started atomic.Bool
	srv := server.New(cfg.Server, reg, hookMetrics, func() error {
		if !started.Load() {
			return errStarting
		}
		return leader.ready()
	}, log)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, ctx := errgroup.WithContext(ctx)
	// /healthz answers while the hooks print their configurations, which
	// takes up to --hook-timeout for one hook: the startup probe waits for
	// the listener only, /readyz for all of the start.
	g.Go(func() error { return srv.Start(ctx) })
	// stop ends what runs so far and returns the error that ended it, or
	// err.
	stop := func(err error) error {
		cancel()
		if werr := g.Wait(); werr != nil {
			return werr
		}
		return err
	}
	hooks, err := loadHooks(ctx, runner, bundle)
	if err != nil {
		return stop(err)
	}

	// The config store (leader only) and the webhook (every replica) share
	// the schemas: the leader's bundle in force, a follower's Deployed
	// release.
	schemas := &bundleSchemas{}
	schemas.follow(bundle)
	var wh *webhook.Webhook
	var follower *releaseFollower
	if cfg.Webhook.Enabled {
		if wh, err = newWebhook(cfg, restCfg, schemas, log); err != nil {
			return stop(err)
		}
		if cfg.HA.Enabled {
			if follower, err = newFollower(cfg, restCfg, schemas, bundle, log); err != nil {
				return stop(err)
			}
		}
	}

	dbg := debug.NewServer(cfg.Debug, log, debug.WithHookGroups(runner))
	work := func(ctx context.Context) error {
		return runLeader(ctx, process{
			cfg: cfg, restCfg: restCfg, schemas: schemas, hooks: hooks, runner: runner,
			metrics: m, hookMetrics: hookMetrics, leader: &leader, debug: dbg, secrets: secrets, log: log,
		})
	}

	var lock resourcelock.Interface
	if cfg.HA.Enabled {
		if lock, err = newLeaseLock(cfg.HA, restCfg, cfg.Store.Namespace); err != nil {
			return stop(err)
		}
	}

	g.Go(func() error { return dbg.Start(ctx) })
	g.Go(func() error { return m.Start(ctx) })
	if wh != nil {
		g.Go(func() error { return wh.Start(ctx) })
	}
	if follower != nil {
		g.Go(func() error { return follower.Start(ctx) })
	}
	if cfg.HA.Enabled {
		// A leader that lost its lease ends the process at once, with every
		// hook process: no part of it may write after another replica leads.
		halt := func() {
			n := runner.KillAll()
			log.Error("exiting: leadership lost", "hooks_killed", n)
			os.Exit(1)
		}
		g.Go(func() error { return elect(ctx, cfg.HA, lock, work, halt, log) })
	} else {
		g.Go(func() error { return work(ctx) })
	}
	started.Store(true)
	log.Info("operator started", "namespace", cfg.Store.Namespace, "modules", len(bundle.Modules), "global_hooks", len(hooks.GlobalHooks), "ha", cfg.HA.Enabled)
	return g.Wait()
}

// errStarting: /readyz before every part of the process has started (the
// hooks print their configurations first).
var errStarting = errors.New("starting: loading hooks")

// process holds the parts every replica builds once, before and whether or
// not it leads; runLeader builds the rest from them.
type process struct {
	cfg         Config
	restCfg     *rest.Config
	schemas     *bundleSchemas
	hooks       module.Loaded
	runner      *hook.Runner
	metrics     *metrics.Metrics
	hookMetrics *prometheus.Registry
	leader      *leaderState
	debug       *debug.Server
	secrets     *mask.Masker
	log         *slog.Logger
}

// runLeader runs everything that reads or changes the cluster on the
// operator's behalf: the config store, hooks, queues, Helm and the
// converger. Only one replica runs it at a time (see elect).
func runLeader(ctx context.Context, p process) error {
	queues, err := queue.New(p.cfg.Queue, p.log, queue.WithObserver(queueObserver{p.metrics}))
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(p.restCfg)
	if err != nil {
		return fmt.Errorf("kubernetes client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(p.restCfg)
	if err != nil {
		return fmt.Errorf("dynamic client: %w", err)
	}
	rels := updater.NewKubeReleases(dyn, p.cfg.Store.Namespace, time.Now, updater.WithMasker(p.secrets))
	cfgEvents := status.NewConfigEvents(client, p.cfg.Store.Namespace, cmp.Or(p.cfg.Store.ConfigMap, configstore.DefaultConfigMap), p.log,
		status.WithEventsMasker(p.secrets))
	// The config store passes the drift policy to the Monitor.
	monitor, err := helm.NewMonitor(p.restCfg, p.log)
	if err != nil {
		return err
	}
	listenOperator, operatorChanged := operatorChanges()
	store := configstore.New(client, p.cfg.Store, p.schemas, p.log, configstore.WithListener(maskSecrets(p.secrets, p.schemas)),
		configstore.WithListener(unknownKeysGauge(p.metrics)), configstore.WithListener(cfgEvents.Observe),
		configstore.WithListener(listenOperator), configstore.WithListener(driftPolicy(monitor)))
	rt := &bundleRuntime{runner: p.runner, schemas: p.schemas, store: store, metrics: p.metrics, log: p.log}
	up, hooks, err := startUpdater(ctx, p.cfg, client, rels, rt, operatorChanged, p.hooks, p.leader, p.metrics, p.log)
	if err != nil {
		return nil // ctx is done
	}
	p.metrics.Preset(seriesOf(hooks))
	releases, err := helm.New(p.restCfg, p.cfg.Helm, p.log, helm.WithObserver(p.metrics), helm.WithObjectCache(monitor))
	if err != nil {
		return err
	}
	driftEvents := status.NewDriftEvents(client, dyn, p.log)
	monitor.WatchDrift(releases, driftObserver{metrics: p.metrics, events: driftEvents})
	// A revision pending for longer than any operation of ours may take was
	// left so by someone else: recover it without waiting for a change.
	monitor.WatchPending(p.cfg.Store.Namespace, cmp.Or(p.cfg.Helm.Timeout, helm.DefaultTimeout)+10*time.Second)
	libLog := dlog.NewLogger(dlog.WithLevel(slog.LevelWarn), dlog.WithOutput(os.Stderr))
	engine, err := hook.NewEngine(p.restCfg, p.hookMetrics, p.log, libLog, hook.WithMonitorMetrics(p.metrics.KubeStorage))
	if err != nil {
		return err
	}
	conv := converge.New(hooks, converge.Deps{
		Config: store, Releases: releases, Tracker: monitor, Engine: engine, Runner: p.runner,
		Queues: queues, Observer: p.metrics, Backoff: p.cfg.Queue.Backoff, Log: p.log,
		ModuleParallelism: p.cfg.Converge.ModuleParallelism, KubeVersion: serverVersion(client),
	})
	rt.conv = conv
	statusCfg := p.cfg.Status
	statusCfg.Namespace = p.cfg.Store.Namespace
	writer, err := status.New(statusCfg, client, dyn, conv, p.log, status.WithPhaseObserver(p.metrics), status.WithDrift(driftSummary{monitor}),
		status.WithMasker(p.secrets))
	if err != nil {
		return err
	}
	rt.writer = writer
	p.leader.lead(conv.Ready())
	p.debug.Lead(debug.Sources{Modules: conv, Values: conv, Queues: queues, Charts: releases, Releases: debugReleases{store: rels, up: up}, Drift: monitor})
	defer p.debug.Follow()

	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return store.Start(ctx) })
	g.Go(func() error { return cfgEvents.Start(ctx) })
	g.Go(func() error { return driftEvents.Start(ctx) })
	g.Go(func() error { return writer.Start(ctx) })
	g.Go(func() error { return engine.Start(ctx) })
	g.Go(func() error { return queues.Start(ctx) })
	g.Go(func() error { return monitor.Start(ctx) })
	g.Go(func() error { return conv.Start(ctx, monitor.Events(), engine.Events()) })
	g.Go(func() error { return up.Start(ctx) })
	return g.Wait()
}

func restConfig(kubeconfig string, qps float32, burst int) (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	if kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
	} else {
		cfg, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("kubernetes config: %w", err)
	}
	// Zero (a Config not built by BindFlags) keeps the flags' defaults
	// rather than client-go's much lower ones.
	cfg.QPS, cfg.Burst = cmp.Or(qps, 50), cmp.Or(burst, 100)
	return cfg, nil
}

// loadHooks runs `--config` for every hook of the bundle, a few at a time.
func loadHooks(ctx context.Context, r *hook.Runner, b *module.Bundle) (module.Loaded, error) {
	out := module.Loaded{Modules: b, ModuleHooks: map[string][]*hook.Hook{}}
	var global []hook.Source
	for _, h := range b.GlobalHooks {
		global = append(global, hook.Source{Name: h.Name, Path: h.Path, ValuesKey: "global"})
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(2, runtime.NumCPU()*2))
	g.Go(func() error {
		hooks, err := hook.Load(gctx, r, global)
		if err != nil {
			return err
		}
		mu.Lock()
		out.GlobalHooks = hooks
		mu.Unlock()
		return nil
	})
	for _, m := range b.Modules {
		var sources []hook.Source
		for _, h := range m.Hooks {
			sources = append(sources, hook.Source{Name: h.Name, Path: h.Path, Module: m.Name, ValuesKey: m.ValuesKey})
		}
		g.Go(func() error {
			hooks, err := hook.Load(gctx, r, sources)
			if err != nil {
				return fmt.Errorf("module %s: %w", m.Name, err)
			}
			mu.Lock()
			out.ModuleHooks[m.Name] = hooks
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return module.Loaded{}, fmt.Errorf("load hooks: %w", err)
	}
	return out, nil
}
