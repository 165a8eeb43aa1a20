package updater

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"k8s.io/utils/clock"

	"github.com/seedops/addon-operator/pkg/bundle"
	"github.com/seedops/addon-operator/pkg/configstore"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/values"
)

// Config holds the updater's flags; the "operator" section of the
// ConfigMap overrides the ones it also names.
type Config struct {
	// CacheDir holds unpacked releases across restarts.
	CacheDir string
	// PollInterval is how often the channel is checked by default.
	PollInterval time.Duration
	// RollbackRetries and RollbackTimeout: a release is rolled back when a
	// module or global step still fails after this many retries, or has not
	// converged after this long.
	RollbackRetries int
	RollbackTimeout time.Duration
	// RegistrySecret names a kubernetes.io/dockerconfigjson Secret in the
	// operator's namespace; RegistryCAFile a PEM file; RegistryInsecure
	// allows plain HTTP to any registry.
	RegistrySecret   string
	RegistryCAFile   string
	RegistryInsecure bool
	// VerifyKeys are PEM files of public keys. When set, a bundle is
	// downloaded (apply and Restore) only with a signature by one of them;
	// otherwise its release is Failed (bundle.ErrSignature).
	VerifyKeys []string
	// AllowedSources, when set, are the source prefixes the operator
	// section and a restored Release may name (see allowSource).
	AllowedSources []string
}

// BindFlags registers the updater's flags.
func (c *Config) BindFlags(fs *flag.FlagSet) {
	defCache := os.Getenv("ADDON_OPERATOR_RELEASE_CACHE_DIR")
	if defCache == "" {
		defCache = filepath.Join(os.TempDir(), "addon-operator-releases")
	}
	fs.StringVar(&c.CacheDir, "release-cache-dir", defCache, "directory of downloaded releases, kept across restarts (env ADDON_OPERATOR_RELEASE_CACHE_DIR)")
	fs.DurationVar(&c.PollInterval, "update-poll-interval", time.Minute, "how often the release channel is checked (operator section: update.pollInterval)")
	fs.IntVar(&c.RollbackRetries, "update-rollback-retries", 3, "roll a new release back when a module still fails after this many retries (update.rollback.retries)")
	fs.DurationVar(&c.RollbackTimeout, "update-rollback-timeout", 10*time.Minute, "roll a new release back when it has not converged after this long (update.rollback.timeout)")
	fs.StringVar(&c.RegistrySecret, "registry-secret", "", "dockerconfigjson Secret in the operator's namespace with registry logins (registry.secret)")
	fs.StringVar(&c.RegistryCAFile, "registry-ca-file", "", "PEM CA certificates trusted for the registry (registry.ca)")
	fs.BoolVar(&c.RegistryInsecure, "registry-insecure", false, "plain HTTP to any registry; loopback registries use it anyway (registry.insecure)")
	fs.Var(listFlag{&c.VerifyKeys}, "verify-key", "PEM public key file (ECDSA P-256 or Ed25519); repeatable or comma-separated: a bundle signed by any of them is accepted, an unsigned one refused")
	fs.Var(listFlag{&c.AllowedSources}, "allowed-sources", "source prefixes (oci://HOST/PATH or directories) the operator section and restored releases may name; repeatable or comma-separated; empty allows any")
}

// Releases keeps the Release objects (*KubeReleases).
type Releases interface {
	List(ctx context.Context) ([]Release, error)
	Create(ctx context.Context, r Release) error
	SetStatus(ctx context.Context, name string, phase Phase, message string) error
}

// Runtime loads bundles and puts one in force. Load has no side effects
// beyond running hooks' --config; Swap returns once the new bundle's start
// is queued.
type Runtime interface {
	Load(ctx context.Context, dir string) (module.Loaded, error)
	Swap(ctx context.Context, b module.Loaded) error
}

// Convergence tells how the bundle in force is doing (*converge.Converger).
// Subscribe signals (coalesced) every change of GlobalStatus or Statuses
// until cancel is called.
type Convergence interface {
	Ready() <-chan struct{}
	GlobalStatus() module.GlobalStatus
	Statuses() []module.Status
	Subscribe() (changes <-chan struct{}, cancel func())
}

// Health tells how the workloads of the modules in force are doing
// (*status.Writer, the one judge of readiness). HealthChanges signals
// (coalesced) every change of Health until cancel is called.
type Health interface {
	Health() map[string]module.Health
	HealthChanges() (changes <-chan struct{}, cancel func())
}

// ConfigSource is the accepted configuration (*configstore.Store).
type ConfigSource interface {
	Current() configstore.Snapshot
}

// Secrets reads Secrets of the operator's namespace.
type Secrets interface {
	Get(ctx context.Context, name string) (map[string][]byte, error)
}

// Source is where bundles are published (*bundle.Source).
type Source interface {
	Resolve(ctx context.Context, channel string) (bundle.Meta, error)
	Pull(ctx context.Context, digest, dir string) (bundle.Meta, error)
}

// Observer records the updater's metrics (*metrics.Metrics).
type Observer interface {
	ReleaseInfo(version, channel string)
	UpdateChecked(at time.Time)
	UpdateError(stage string)
	PendingReleases(n int)
}

// Stages of update errors, the label of the error metric.
const (
	StageCheck    = "check"
	StageDownload = "download"
	StageLoad     = "load"
	StageConverge = "converge"
	StageRestore  = "restore"
)

// Bounds of one talk with a source: a channel check, a download.
const (
	checkTimeout    = time.Minute
	downloadTimeout = 10 * time.Minute
)

// BuiltinVersion labels the built-in bundle in release_info.
const BuiltinVersion = "built-in"

// Deps are the Updater's collaborators. Open, Clock, ConfigChanges,
// Restoring and Health may be nil (bundle.Open, clock.RealClock, no signal,
// nothing, releases not gated on workloads).
type Deps struct {
	Namespace   string
	Releases    Releases
	Runtime     Runtime
	Convergence Convergence
	Config      ConfigSource
	Secrets     Secrets
	Observer    Observer
	Open        func(ref string, opts bundle.Options) (Source, error)
	// Clock tells the time of the update windows and runs every timer: the
	// poll, the retries' backoff, the rollback timeout.
	Clock clock.WithTicker
	// ConfigChanges is signalled when the accepted operator section may
	// have changed (see configstore.Change.Operator); Start then reads it
	// again without waiting for the poll. Without it, a change is seen at
	// the next poll.
	ConfigChanges <-chan struct{}
	// Restoring is told, after each failed attempt of Restore, why the
	// Deployed release is not restored yet (an ErrNotRestored), and nil
	// once Restore returns a bundle. It is called from Restore's goroutine.
	Restoring func(err error)
	Log       *slog.Logger
	// Health gates a release on the workloads of its modules (see watch).
	Health Health
}

// restoreFailed starts the Deployed release's message while Restore
// retries; Restore clears the message once it succeeds.
const restoreFailed = "restore after a restart failed, retrying with backoff; nothing is converged until it succeeds: "

// ErrNotRestored wraps the reason a Deployed release is not restored yet.
var ErrNotRestored = errors.New("deployed release not restored")

// Updater follows the release channel; see the package documentation.
// Restore, then Start, are called once each, from one goroutine.
type Updater struct {
	cfg   Config
	deps  Deps
	log   *slog.Logger
	cache *Cache
	// kick asks Start for a check now (CheckNow); one pending request is
	// enough.
	kick chan struct{}

	// retryDownload is set by a check whose download failed on the
	// network; Start then checks again after downloadRetry's delay rather
	// than the poll interval. Both belong to Start's goroutine.
	retryDownload bool
	downloadRetry backoff

	mu      sync.Mutex
	running running
	// reported is the last problem logged, so a persisting one is logged
	// once.
	reported string
}

// running is the bundle in force and the release it came from (nil for the
// built-in bundle).
type running struct {
	release *Release
	bundle  module.Loaded
}

func (r running) digest() string {
	if r.release == nil {
		return ""
	}
	return r.release.Digest
}

func (r running) version() string {
	if r.release == nil {
		return ""
	}
	return r.release.Version
}

// New returns an Updater. The --verify-key files are read for every
// download; one that does not read fails the download (CheckTrust reports
// it at start).
func New(cfg Config, deps Deps) *Updater {
	if deps.Open == nil {
		deps.Open = func(ref string, opts bundle.Options) (Source, error) { return bundle.Open(ref, opts) }
	}
	if deps.Clock == nil {
		deps.Clock = clock.RealClock{}
	}
	if deps.Restoring == nil {
		deps.Restoring = func(error) {}
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Minute
	}
	u := &Updater{
		cfg: cfg, deps: deps, log: deps.Log, cache: NewCache(cfg.CacheDir), kick: make(chan struct{}, 1),
		downloadRetry: backoff{min: retryMinBackoff, max: retryMaxBackoff},
	}
	return u
}

// Restore chooses the bundle the operator starts with and fails closed.
// With a Deployed release on record it is that release's bundle, from the
// cache or pulled again by digest from the source it came from, and
// Restore blocks until it has it: it never falls back to builtin, which
// may be older than what is installed. Failed attempts (the releases not
// listed, the source unreachable, the bundle not loading) are retried
// after a delay doubling from 1s to 1m and reported: the error metric
// (stage "restore"), the Deployed release's message, a log line when the
// error is new, and Deps.Restoring. builtin is returned when no release
// is Deployed (none ever was, or an admin deleted it to start on builtin)
// or the cluster has no Release CRD. section reads the ConfigMap's
// "operator" section (registry logins) for each attempt. The error is
// ctx's, once it is done.
func (u *Updater) Restore(ctx context.Context, builtin module.Loaded, section func(context.Context) values.Values) (module.Loaded, error) {
	u.setRunning(running{bundle: builtin})
	retry := backoff{min: retryMinBackoff, max: retryMaxBackoff}
	last := ""
	// reported: an attempt put restoreFailed on the Deployed release.
	reported := false
	for {
		b, deployed, err := u.restore(ctx, builtin, section)
		if err == nil {
			if deployed == nil {
				u.deps.Observer.ReleaseInfo(BuiltinVersion, "")
			} else if reported {
				u.setStatus(ctx, deployed, PhaseDeployed, "")
			}
			u.deps.Restoring(nil)
			return b, nil
		}
		if ctx.Err() != nil {
			return module.Loaded{}, ctx.Err()
		}
		u.deps.Observer.UpdateError(StageRestore)
		err = fmt.Errorf("%w: %w", ErrNotRestored, err)
		if deployed != nil {
			u.setStatus(ctx, deployed, PhaseDeployed, restoreFailed+err.Error())
			reported = true
		}
		if err.Error() != last {
			u.log.Error("deployed release not restored; nothing is converged until it is, retrying", "error", err)
		}
		last = err.Error()
		u.deps.Restoring(err)
		select {
		case <-ctx.Done():
			return module.Loaded{}, ctx.Err()
		case <-u.deps.Clock.After(retry.next()):
		}
	}
}

// restore makes one attempt of Restore. deployed is the release it is
// about, nil when there is none or the releases could not be listed.
func (u *Updater) restore(ctx context.Context, builtin module.Loaded, section func(context.Context) values.Values) (module.Loaded, *Release, error) {
	releases, err := u.deps.Releases.List(ctx)
	if errors.Is(err, ErrNoCRD) {
		u.log.Info("no Release CRD in the cluster: starting on the built-in bundle; updates need deploy/crds/release.yaml")
		return builtin, nil, nil
	}
	if err != nil {
		return module.Loaded{}, nil, fmt.Errorf("list releases: %w", err)
	}
	deployed := Deployed(releases)
	if deployed == nil {
		return builtin, nil, nil
	}
	settings, _ := ParseSettings(section(ctx))
	path, err := u.fetch(ctx, *deployed, settings)
	if err != nil {
		return module.Loaded{}, deployed, err
	}
	b, err := u.deps.Runtime.Load(ctx, path)
	if err != nil {
		_ = u.cache.Remove(deployed.Digest)
		return module.Loaded{}, deployed, fmt.Errorf("release %s (%s): %w", deployed.Name, deployed.Version, err)
	}
	u.setRunning(running{release: deployed, bundle: b})
	u.deps.Observer.ReleaseInfo(deployed.Version, deployed.Channel)
	u.log.Info("starting on the deployed release", "release", deployed.Name, "version", deployed.Version, "digest", deployed.Digest)
	return b, deployed, nil
}

func (u *Updater) setRunning(r running) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.running = r
}

func (u *Updater) current() running {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.running
}

// Start checks the channel at once, then every poll interval, and also
// when Deps.ConfigChanges signals a changed operator section or CheckNow
// is called, until ctx is done; it returns nil then. It begins after the
// first converge of the bundle in force was attempted.
// Problems are reported (log, metric, the running release's message) and
// retried at the next poll; Start never fails because of them.
func (u *Updater) Start(ctx context.Context) error {
	if !u.waitStarted(ctx) {
		return nil
	}
	var l loop
	poll := u.deps.Clock.NewTimer(u.checkSection(ctx, &l))
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-u.deps.ConfigChanges:
			if u.deps.Config.Current().Operator.Checksum() == l.sum {
				continue
			}
		case <-poll.C():
		case <-u.kick:
		}
		poll.Reset(u.checkSection(ctx, &l))
	}
}

// loop is what Start remembers between checks: the settings in force and
// the checksum of the operator section they were read from.
type loop struct {
	settings Settings
	sum      string
}

// checkSection reads the operator section, keeping the last good settings
// when it does not parse, checks the channel, and returns the delay before
// the next check.
func (u *Updater) checkSection(ctx context.Context, l *loop) time.Duration {
	section := u.deps.Config.Current().Operator
	l.sum = section.Checksum()
	if s, err := ParseSettings(section); err == nil {
		l.settings = s
	} else {
		u.report(ctx, StageCheck, fmt.Errorf("operator section: %w", err))
	}
	u.check(ctx, l.settings)
	interval := l.settings.PollInterval
	if interval <= 0 {
		interval = u.cfg.PollInterval
	}
	return u.nextCheck(interval)
}

// nextCheck is the delay before the next check: the poll interval, or
// the download retry's backoff (1s doubling) while shorter after a check
// whose download failed on the network.
func (u *Updater) nextCheck(interval time.Duration) time.Duration {
	if !u.retryDownload {
		u.downloadRetry.reset()
		return interval
	}
	return min(interval, u.downloadRetry.next())
}

// CheckNow asks Start to check the channel and the Release objects at once
// rather than at the next poll, for instance after a release was approved.
// It never blocks; requests made while a check or an apply is running are
// served once it is done, several of them by one check. Safe for concurrent
// use.
func (u *Updater) CheckNow() {
	select {
	case u.kick <- struct{}{}:
	default:
	}
}

// waitStarted waits until the converger has queued the start of the bundle
// in force (its first converge finished, or its global step failed), so
// that a swap never races the start. It reports false when ctx is done
// first.
func (u *Updater) waitStarted(ctx context.Context) bool {
	changes, cancel := u.deps.Convergence.Subscribe()
	defer cancel()
	for {
		if u.deps.Convergence.GlobalStatus().Phase == module.PhaseError {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-u.deps.Convergence.Ready():
			return true
		case <-changes:
		}
	}
}

// check looks at the channel once and applies what the policy allows.
func (u *Updater) check(ctx context.Context, s Settings) {
	u.retryDownload = false
	cur := u.current()
	if !s.Enabled() {
		u.deps.Observer.ReleaseInfo(versionLabel(cur), "")
		u.clearReport(ctx)
		return
	}
	u.deps.Observer.ReleaseInfo(versionLabel(cur), s.Channel)
	if err := u.cfg.allowSource(s.Source); err != nil {
		u.report(ctx, StageCheck, fmt.Errorf("operator.source: %w", err))
		return
	}
	src, err := u.openSource(ctx, s, s.Source)
	if err != nil {
		u.report(ctx, StageCheck, err)
		return
	}
	rctx, cancel := context.WithTimeout(ctx, checkTimeout)
	meta, err := src.Resolve(rctx, s.Channel)
	cancel()
	if err != nil {
		u.report(ctx, StageCheck, err)
		return
	}
	releases, err := u.deps.Releases.List(ctx)
	if err != nil {
		u.report(ctx, StageCheck, err)
		return
	}
	u.deps.Observer.UpdateChecked(u.deps.Clock.Now())
	// releases is the one listing of this check: setStatus keeps its
	// entries current, and a created release is appended.
	defer func() { u.deps.Observer.PendingReleases(countPending(releases)) }()

	var cand *Release
	for i := range releases {
		r := &releases[i]
		switch {
		case r.Digest == meta.Digest:
			cand = r
		case r.Phase == PhasePending:
			u.setStatus(ctx, r, PhaseSuperseded, fmt.Sprintf("not applied: channel %s moved to %s", s.Channel, meta.Version))
		}
	}
	if meta.Digest == cur.digest() {
		if cand != nil && cand.Phase != PhaseDeployed {
			u.setStatus(ctx, cand, PhaseDeployed, "")
		}
		u.clearReport(ctx)
		return
	}
	if cand != nil && (cand.Phase == PhaseFailed || cand.Phase == PhaseRolledBack) {
		u.note(ctx, fmt.Sprintf("channel %s points to %s, which was %s; waiting for a new release on the channel", s.Channel, meta.Version, cand.Phase))
		return
	}
	if cand == nil {
		r := Release{
			Name: releaseName(u.deps.Namespace, meta.Version, meta.Digest), Version: meta.Version, Channel: s.Channel,
			Digest: meta.Digest, Source: s.Source, Changelog: meta.Changelog, Phase: PhasePending,
		}
		if err := u.deps.Releases.Create(ctx, r); err != nil {
			u.report(ctx, StageCheck, err)
			return
		}
		u.log.Info("new release on the channel", "release", r.Name, "version", r.Version, "channel", s.Channel, "digest", r.Digest)
		releases = append(releases, r)
		cand = &releases[len(releases)-1]
	}
	u.clearReport(ctx)
	d := decide(s, cur.version(), *cand, u.deps.Clock.Now())
	if !d.apply {
		u.setStatus(ctx, cand, PhasePending, d.reason)
		return
	}
	u.apply(ctx, s, src, cand, releases)
}

func versionLabel(r running) string {
	if r.release == nil {
		return BuiltinVersion
	}
	return r.release.Version
}

// apply downloads, loads, swaps in and watches rel, one of releases (the
// check's listing, whose entries it keeps current); see the package
// documentation for the outcomes.
func (u *Updater) apply(ctx context.Context, s Settings, src Source, rel *Release, releases []Release) {
	log := u.log.With("release", rel.Name, "version", rel.Version)
	prev := u.current()
	log.Info("applying release", "digest", rel.Digest, "running", versionLabel(prev))
	u.setStatus(ctx, rel, PhasePending, "downloading")
	path, err := u.cache.Fill(rel.Digest, func(dir string) error {
		dctx, cancel := context.WithTimeout(ctx, downloadTimeout)
		defer cancel()
		_, err := src.Pull(dctx, rel.Digest, dir)
		return err
	})
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		if permanent(err) {
			u.deps.Observer.UpdateError(StageDownload)
			log.Error("release refused", "error", err)
			u.setStatus(ctx, rel, PhaseFailed, "download: "+err.Error())
			return
		}
		u.report(ctx, StageDownload, err)
		u.setStatus(ctx, rel, PhasePending, "download failed, retrying with backoff: "+err.Error())
		u.retryDownload = true
		return
	}
	b, err := u.deps.Runtime.Load(ctx, path)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		_ = u.cache.Remove(rel.Digest)
		u.deps.Observer.UpdateError(StageLoad)
		log.Error("release refused: the bundle does not load; the running bundle stays", "error", err)
		u.setStatus(ctx, rel, PhaseFailed, "invalid bundle: "+err.Error())
		return
	}
	u.setStatus(ctx, rel, PhasePending, "converging")
	if err := u.deps.Runtime.Swap(ctx, b); err != nil {
		return // ctx is done
	}
	applied := *rel
	applied.Phase = PhaseDeployed
	u.setRunning(running{release: &applied, bundle: b})
	retries, timeout := u.cfg.RollbackRetries, u.cfg.RollbackTimeout
	if s.Retries != nil {
		retries = *s.Retries
	}
	if s.Timeout > 0 {
		timeout = s.Timeout
	}
	err = u.watch(ctx, retries, timeout, func(msg string) { u.setStatus(ctx, rel, PhasePending, msg) })
	if ctx.Err() != nil {
		return // the release stays Pending; a restart comes back on the previous one
	}
	if err != nil {
		u.deps.Observer.UpdateError(StageConverge)
		log.Error("release did not converge, rolling back", "error", err, "to", versionLabel(prev))
		if err := u.deps.Runtime.Swap(ctx, prev.bundle); err != nil {
			return
		}
		u.setRunning(prev)
		u.deps.Observer.ReleaseInfo(versionLabel(prev), s.Channel)
		u.setStatus(ctx, rel, PhaseRolledBack, "rolled back to "+versionLabel(prev)+": "+err.Error())
		_ = u.cache.Remove(rel.Digest)
		return
	}
	u.setStatus(ctx, rel, PhaseDeployed, "")
	deployed := *rel
	u.setRunning(running{release: &deployed, bundle: b})
	for i := range releases {
		if r := &releases[i]; r.Phase == PhaseDeployed && r.Digest != rel.Digest {
			u.setStatus(ctx, r, PhaseSuperseded, "superseded by "+rel.Version)
		}
	}
	u.deps.Observer.ReleaseInfo(rel.Version, s.Channel)
	if err := u.cache.Prune(rel.Digest, prev.digest()); err != nil {
		log.Warn("release cache not pruned", "error", err)
	}
	log.Info("release deployed")
}

// permanent reports whether a download error is about the content, which
// will not get better by retrying the same digest: the whole content was
// received and does not match its digest, or it is not a (safe) bundle.
// Anything else (the network, the registry's answers, a digest not found,
// which a registry restored from a backup may fix) is retried.
func permanent(err error) bool {
	return errors.Is(err, bundle.ErrDigestMismatch) || errors.Is(err, bundle.ErrNotBundle) ||
		errors.Is(err, bundle.ErrUnsafePath) || errors.Is(err, bundle.ErrSignature) ||
		errors.Is(err, ErrSourceNotAllowed)
}

// openSource opens ref with the registry settings (the section's, else the
// flags') and the --verify-key keys, which only the flags set.
func (u *Updater) openSource(ctx context.Context, s Settings, ref string) (Source, error) {
	keys, err := u.cfg.verifyKeys()
	if err != nil {
		return nil, err
	}
	opts := bundle.Options{Insecure: s.RegistryInsecure || u.cfg.RegistryInsecure, VerifyKeys: keys}
	switch {
	case s.RegistryCA != "":
		opts.CAPEM = []byte(s.RegistryCA)
	case u.cfg.RegistryCAFile != "":
		data, err := os.ReadFile(u.cfg.RegistryCAFile)
		if err != nil {
			return nil, fmt.Errorf("registry CA: %w", err)
		}
		opts.CAPEM = data
	}
	secret := s.RegistrySecret
	if secret == "" {
		secret = u.cfg.RegistrySecret
	}
	if secret != "" && bundle.IsRemote(ref) {
		data, err := u.deps.Secrets.Get(ctx, secret)
		if err != nil {
			return nil, fmt.Errorf("registry secret %s: %w", secret, err)
		}
		raw, ok := data[".dockerconfigjson"]
		if !ok {
			return nil, fmt.Errorf("registry secret %s: no .dockerconfigjson key (want a kubernetes.io/dockerconfigjson Secret)", secret)
		}
		creds, err := bundle.ParseDockerConfig(raw)
		if err != nil {
			return nil, fmt.Errorf("registry secret %s: %w", secret, err)
		}
		opts.Credentials = creds
	}
	return u.deps.Open(ref, opts)
}

// report records a problem: the error metric, a log line when it is new,
// and the message of the running release.
func (u *Updater) report(ctx context.Context, stage string, err error) {
	u.deps.Observer.UpdateError(stage)
	if u.setMessage(ctx, fmt.Sprintf("update %s failed: %v", stage, err)) {
		u.log.Error("update failed; the running bundle stays", "stage", stage, "error", err)
	} else {
		u.log.Debug("update still failing", "stage", stage, "error", err)
	}
}

// note puts a message that is not an error on the running release.
func (u *Updater) note(ctx context.Context, msg string) {
	if u.setMessage(ctx, msg) {
		u.log.Info("update held", "reason", msg)
	}
}

// clearReport clears the running release's message after a good check.
func (u *Updater) clearReport(ctx context.Context) {
	if u.setMessage(ctx, "") {
		u.log.Info("update check ok again")
	}
}

// setMessage puts msg on the running release and remembers it, so that a
// persisting problem is logged once; it reports whether msg differs from
// the last one.
func (u *Updater) setMessage(ctx context.Context, msg string) bool {
	u.mu.Lock()
	fresh := msg != u.reported
	u.reported = msg
	cur := u.running
	u.mu.Unlock()
	if cur.release != nil {
		u.setStatus(ctx, cur.release, PhaseDeployed, msg)
	}
	return fresh
}

// setStatus writes a release's phase and message, when they change, and
// remembers them in r.
func (u *Updater) setStatus(ctx context.Context, r *Release, phase Phase, msg string) {
	if r.Phase == phase && r.Message == msg {
		return
	}
	if err := u.deps.Releases.SetStatus(ctx, r.Name, phase, msg); err != nil {
		if ctx.Err() == nil {
			u.log.Warn("release status not saved", "release", r.Name, "error", err)
		}
		return
	}
	r.Phase, r.Message = phase, msg
}

func countPending(releases []Release) int {
	n := 0
	for _, r := range releases {
		if r.Phase == PhasePending {
			n++
		}
	}
	return n
}
