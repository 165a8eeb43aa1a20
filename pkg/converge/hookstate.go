package converge

// hookState is how far the start of a set of hooks has come: a module's
// hooks (moduleState.hooksState) or the global ones
// (Converger.globalHooksState). It changes only through the transitions
// below, each called with Converger.mu held:
//
//	stopped --startupDone--> starting --markRunning--> running
//	   ^                                                  |
//	   +------------------------- stop -------------------+
//
// A failure leaves it where it is: the retry resumes from there, so
// onStartup hooks never run twice for one start.
type hookState int

const (
	// hooksStopped: onStartup has not run since the start, the bundle swap
	// or the module's delete; no binding of the hooks is enabled.
	hooksStopped hookState = iota
	// hooksStarting: the onStartup hooks succeeded; the kubernetes and
	// schedule bindings are being enabled and synchronized (or that failed
	// and waits for a retry). Events of the bindings enabled so far run.
	hooksStarting
	// hooksRunning: every binding is enabled and synchronized.
	hooksRunning
)

// startupDone happens when the onStartup hooks succeeded, before the
// bindings are enabled (Synchronization queued on other queues may run
// before enabling returns, and must find the hooks started).
func (s *hookState) startupDone() { *s = hooksStarting }

// markRunning happens when every binding is enabled and synchronized.
func (s *hookState) markRunning() { *s = hooksRunning }

// stop happens when a deleted module's bindings are disabled, and to the
// global hooks when a bundle swap disables them (a swap makes the modules'
// states anew).
func (s *hookState) stop() { *s = hooksStopped }

// started reports whether onStartup ran, so that the bindings may be
// enabled and their events run.
func (s hookState) started() bool { return s != hooksStopped }

// running reports whether every binding is enabled and synchronized.
func (s hookState) running() bool { return s == hooksRunning }
