package hook

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/clock"

	"github.com/seedops/addon-operator/pkg/values"
)

// Sentinel errors of a hook run.
var (
	// ErrFailed: the hook exited non-zero.
	ErrFailed = errors.New("hook failed")
	// ErrTimeout: the hook ran longer than its timeout and was killed.
	ErrTimeout = errors.New("hook timed out")
	// ErrBadOutput: a result file the hook wrote is unusable; nothing of the
	// run is applied.
	ErrBadOutput = errors.New("hook wrote an invalid result file")
)

// Config holds the runner's settings.
type Config struct {
	// Timeout bounds one hook run (and `--config`); the process group is
	// killed when it expires.
	Timeout time.Duration
	// TmpDir holds the per-run files (binding context, values, patches).
	TmpDir string
	// LogLimit caps the hook output bytes logged per run; the rest is
	// drained and dropped with one warning.
	LogLimit int
	// Env adds KEY=value variables to every hook's environment (after the
	// ones passed from the operator's own, so it wins), for example
	// KUBECONFIG for kubectl in hooks when the operator runs outside the
	// cluster.
	Env []string
	// PassEnv names variables of the operator's environment that hooks get
	// besides the fixed set (see passedEnv); any other variable of the
	// operator, such as a secret added to its Deployment, is not passed.
	PassEnv []string
	// FileLimit caps, in bytes, each file the operator reads from a hook
	// run (values, config values and Kubernetes patches, metrics, the
	// enabled script's result and reason) and the `--config` output it
	// keeps. A larger one fails the run naming the file and the limit; at
	// most FileLimit+1 bytes of it are read.
	FileLimit int64
	// MemoryLimit, when positive, caps the data memory (RLIMIT_DATA: heap
	// and private writable mappings, not reserved address space) of each
	// hook process in bytes; an allocation beyond it fails in the hook,
	// which then usually exits non-zero. The limit is set right after the
	// process starts and is inherited by the processes it starts from then
	// on; it bounds each process, not their sum.
	MemoryLimit int64
}

// BindFlags registers the runner's flags with their defaults.
func (c *Config) BindFlags(fs *flag.FlagSet) {
	fs.DurationVar(&c.Timeout, "hook-timeout", 10*time.Minute, "kill a hook that runs longer than this")
	fs.StringVar(&c.TmpDir, "tmp-dir", cmp.Or(os.Getenv("ADDON_OPERATOR_TMP_DIR"), filepath.Join(os.TempDir(), "addon-operator")), "directory for hook input and output files (env ADDON_OPERATOR_TMP_DIR)")
	fs.IntVar(&c.LogLimit, "hook-log-limit", 1<<20, "bytes of hook stdout/stderr logged per run; the rest is dropped")
	fs.Var((*byteSize)(&c.MemoryLimit), "hook-memory-limit", "data memory limit of each hook process, e.g. 512Mi or 1Gi (RLIMIT_DATA); 0 means no limit")
	c.FileLimit = DefaultFileLimit
	fs.Var((*byteSize)(&c.FileLimit), "hook-file-limit", "largest result file (patches, metrics, enabled result) or --config output read from a hook, e.g. 16Mi; a larger one fails the run")
	fs.Var(envNames{&c.PassEnv}, "hook-env", "names of the operator's environment variables passed to hooks besides the fixed set (PATH, HOME, …); repeatable or comma-separated")
}

// DefaultFileLimit is the default of Config.FileLimit (--hook-file-limit):
// far above what a hook writes (a values patch of a few KiB), far below
// what would threaten the operator's memory.
const DefaultFileLimit = 16 << 20

// byteSize is a flag value in bytes written as a Kubernetes quantity
// ("512Mi", "1G", "1048576").
type byteSize int64

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }

func (b *byteSize) Set(s string) error {
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return fmt.Errorf("want a size such as 512Mi or 1Gi: %w", err)
	}
	v, ok := q.AsInt64()
	if !ok || v < 0 {
		return fmt.Errorf("size %q out of range", s)
	}
	*b = byteSize(v)
	return nil
}

// sizeString writes n bytes as a flag would take them ("16Mi").
func sizeString(n int64) string {
	return resource.NewQuantity(n, resource.BinarySI).String()
}

// Runner executes hook processes. It is safe for concurrent use; each run
// has its own files.
type Runner struct {
	cfg   Config
	log   *slog.Logger
	clock clock.Clock
	env   []string // every hook's environment before the run's own variables

	mu      sync.Mutex
	running map[int]struct{} // process groups of the runs in progress
}

// termGrace is how long a hook whose run is cancelled has between SIGTERM
// and SIGKILL.
const termGrace = 5 * time.Second

// RunnerOption configures a Runner.
type RunnerOption func(*Runner)

// WithClock replaces the real clock (k8s.io/utils/clock.RealClock), which
// times the grace between SIGTERM and SIGKILL of a cancelled run. The run
// timeout is a ctx deadline and stays on real time. A nil c keeps the real
// clock.
func WithClock(c clock.Clock) RunnerOption {
	return func(r *Runner) {
		if c != nil {
			r.clock = c
		}
	}
}

// NewRunner returns a Runner; zero Config fields get their flag defaults.
func NewRunner(cfg Config, log *slog.Logger, opts ...RunnerOption) *Runner {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Minute
	}
	if cfg.TmpDir == "" {
		cfg.TmpDir = filepath.Join(os.TempDir(), "addon-operator")
	}
	if cfg.LogLimit <= 0 {
		cfg.LogLimit = 1 << 20
	}
	if cfg.FileLimit <= 0 {
		cfg.FileLimit = DefaultFileLimit
	}
	// Reads take FileLimit+1 bytes to tell a file over the limit.
	cfg.FileLimit = min(cfg.FileLimit, math.MaxInt64-1)
	r := &Runner{cfg: cfg, log: log, clock: clock.RealClock{}, env: hookEnv(os.Environ(), cfg.PassEnv, cfg.Env), running: map[int]struct{}{}}
	for _, o := range opts {
		o(r)
	}
	return r
}

// KillAll sends SIGKILL to the process group of every hook run in
// progress, without waiting, and returns how many groups it signalled.
// The runs end as killed (ErrFailed, or the ctx error when their ctx is
// done). It is safe to call concurrently with runs; a run that starts
// after it returns is not affected. The operator calls it before it exits
// on a lost lease, as hook processes would otherwise outlive it.
func (r *Runner) KillAll() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	for pgid := range r.running {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
	return len(r.running)
}

// RunsGroup reports whether pgid is the process group of a hook run in
// progress: each run's process leads a group of its own, which its
// children join unless they leave it. The debug socket refuses such peers.
// It is safe for concurrent use.
func (r *Runner) RunsGroup(pgid int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.running[pgid]
	return ok
}

// track records a started process group until the returned func is called.
func (r *Runner) track(pgid int) (untrack func()) {
	r.mu.Lock()
	r.running[pgid] = struct{}{}
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		delete(r.running, pgid)
		r.mu.Unlock()
	}
}

// Input is what a hook run reads.
type Input struct {
	// Binding is the binding (or group) name, for logs.
	Binding string
	// Contexts is the binding context list as JSON (see ContextsJSON).
	Contexts []byte
	// Values and ConfigValues are the full trees ({global: …, <key>: …})
	// the hook reads from VALUES_PATH and CONFIG_VALUES_PATH.
	Values       values.Values
	ConfigValues values.Values
}

// Config runs `path --config` and returns its stdout.
func (r *Runner) Config(ctx context.Context, name, path string) ([]byte, error) {
	var stdout bytes.Buffer
	_, err := r.exec(ctx, name, "--config", path, []string{"--config"}, nil, &stdout)
	if err != nil {
		return nil, err
	}
	return stdout.Bytes(), nil
}

// BatchConfig runs `path hook config` of a batch binary of module ("" for
// global hooks) and returns its stdout.
func (r *Runner) BatchConfig(ctx context.Context, name, path, module string) ([]byte, error) {
	var stdout bytes.Buffer
	_, err := r.exec(ctx, name, "hook config", path, []string{"hook", "config"}, []string{"MODULE_NAME=" + module}, &stdout)
	if err != nil {
		return nil, err
	}
	return stdout.Bytes(), nil
}

// Run executes the hook once with the hook protocol's files and returns what
// it asked for. A non-zero exit wraps ErrFailed (with the tail of stderr),
// an expired timeout ErrTimeout, an unusable result file ErrBadOutput naming
// the file. Result files are parsed only after a successful exit; on any
// error nothing is returned to apply. Output.Usage is set whenever the
// process was waited for, failed or not (a timeout included).
func (r *Runner) Run(ctx context.Context, h *Hook, in Input) (Output, error) {
	files, err := newRunFiles(r.cfg.TmpDir)
	if err != nil {
		return Output{}, err
	}
	defer files.remove()
	if err := files.writeInputs(in); err != nil {
		return Output{}, err
	}
	args, env := []string(nil), files.env()
	if h.Batch != nil {
		// module-sdk reads the module's name from MODULE_NAME (its
		// readiness probe looks the module up by it).
		args, env = h.Batch.args(), append(env, "MODULE_NAME="+h.Module)
	}
	usage, err := r.exec(ctx, h.Name, in.Binding, h.Path, args, env, nil)
	if err != nil {
		return Output{Usage: usage}, err
	}
	out, err := files.readOutputs(h, r.cfg.FileLimit)
	out.Usage = usage
	return out, err
}

// exec runs one process in the executable's directory with its own process
// group, logs its output line by line, and kills the group on timeout or
// ctx cancellation. With stdout non-nil, stdout is captured instead of logged.
// It returns the process's resource usage once it was waited for (nil if it
// did not start or its limits could not be set), also with an error.
func (r *Runner) exec(ctx context.Context, name, binding, path string, args, env []string, stdout *bytes.Buffer) (*Usage, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()

	cmd := exec.Command(path, args...)
	cmd.Dir = filepath.Dir(path)
	cmd.Env = slices.Concat(r.env, env)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	log := r.log.With("hook", name, "binding", binding)
	out := newLogWriter(log, "stdout", r.cfg.LogLimit)
	errOut := newLogWriter(log, "stderr", r.cfg.LogLimit)
	var captured *limitedBuffer
	if stdout != nil {
		captured = &limitedBuffer{buf: stdout, limit: r.cfg.FileLimit}
		cmd.Stdout = captured
	} else {
		cmd.Stdout = out
	}
	cmd.Stderr = errOut
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	defer r.track(cmd.Process.Pid)()
	if err := r.bound(cmd.Process.Pid); err != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		out.Close()
		errOut.Close()
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case err = <-done:
		case <-r.clock.After(termGrace):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			err = <-done
		}
		// Children that kept the pipes open are gone with the group.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	out.Close()
	errOut.Close()
	usage := usageOf(cmd.ProcessState)
	if ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return usage, fmt.Errorf("%w after %s", ErrTimeout, r.cfg.Timeout)
		}
		return usage, ctx.Err()
	}
	if err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			tail := strings.TrimSpace(errOut.Tail())
			if msg, ok := sdkError(tail); ok {
				return usage, fmt.Errorf("%w: exit code %d: %s", ErrFailed, exitErr.ExitCode(), msg)
			}
			if tail != "" {
				return usage, fmt.Errorf("%w: exit code %d: %s", ErrFailed, exitErr.ExitCode(), tail)
			}
			return usage, fmt.Errorf("%w: exit code %d", ErrFailed, exitErr.ExitCode())
		}
		return usage, fmt.Errorf("run %s: %w", path, err)
	}
	if captured != nil && captured.over {
		return usage, fmt.Errorf("%w: %s %s printed more than %s bytes (--hook-file-limit)", ErrInvalidConfig, path, strings.Join(args, " "), sizeString(r.cfg.FileLimit))
	}
	if stdout != nil && stdout.Len() == 0 {
		return usage, fmt.Errorf("%w: %s %s printed nothing", ErrInvalidConfig, path, strings.Join(args, " "))
	}
	return usage, nil
}

// bound applies the memory limit to a started hook process and makes it
// the OOM killer's first choice, ahead of the operator (a failure to raise
// oom_score_adj is ignored: it is only a preference).
func (r *Runner) bound(pid int) error {
	_ = os.WriteFile(fmt.Sprintf("/proc/%d/oom_score_adj", pid), []byte("1000"), 0)
	if r.cfg.MemoryLimit <= 0 {
		return nil
	}
	lim := &unix.Rlimit{Cur: uint64(r.cfg.MemoryLimit), Max: uint64(r.cfg.MemoryLimit)}
	if err := unix.Prlimit(pid, unix.RLIMIT_DATA, lim, nil); err != nil {
		return fmt.Errorf("set memory limit %d bytes: %w", r.cfg.MemoryLimit, err)
	}
	return nil
}

// limitedBuffer keeps at most limit bytes, drops the rest and records
// that it did.
type limitedBuffer struct {
	buf   *bytes.Buffer
	limit int64
	over  bool
}

// Write never fails: the rest of the output is drained so that the
// process is not blocked on a full pipe.
func (b *limitedBuffer) Write(p []byte) (int, error) {
	keep := p
	if room := b.limit - int64(b.buf.Len()); int64(len(p)) > room {
		b.over = true
		keep = p[:max(room, 0)]
	}
	b.buf.Write(keep)
	return len(p), nil
}
