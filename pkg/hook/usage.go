package hook

import (
	"os"
	"syscall"
	"time"
)

// Usage is the resource usage of a hook run, as the kernel reports it when
// the run's process is waited for (wait4). It covers that process and every
// descendant that was waited for, by it or by a descendant itself waited
// for: the commands of a pipeline, $(…) substitutions, the kubectl and jq a
// hook calls. A process left running in the background and reaped by
// someone else, or killed with the process group without being waited for
// (a timeout, a cancelled run), is not counted.
type Usage struct {
	// User and System are the CPU time spent in user and kernel mode,
	// summed over the processes covered.
	User, System time.Duration
	// MaxRSS is the largest resident set size, in bytes, of any one of
	// the processes covered (not their sum).
	MaxRSS int64
}

// usageOf reads the usage of a waited-for process; nil when ps is nil or
// carries no rusage.
func usageOf(ps *os.ProcessState) *Usage {
	if ps == nil {
		return nil
	}
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil {
		return nil
	}
	return &Usage{
		User:   time.Duration(ru.Utime.Nano()),
		System: time.Duration(ru.Stime.Nano()),
		// Linux reports ru_maxrss in KiB.
		MaxRSS: ru.Maxrss * 1024,
	}
}
