package debug

// WithOperatorPID makes the server take pid for the operator's process
// when it checks a peer's ancestors, so a test can pose as a process the
// operator did not start.
func WithOperatorPID(pid int) Option {
	return func(s *Server) { s.rule.self = pid }
}
