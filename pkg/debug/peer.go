package debug

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// HookGroups tells which process groups are hook runs in progress
// (*hook.Runner: every run gets its own group, led by the hook's process).
// It is called concurrently from the accept loop.
type HookGroups interface {
	RunsGroup(pgid int) bool
}

// Peer is the process at the other end of an accepted connection, as the
// kernel reports it (SO_PEERCRED at connect time): nothing of it comes from
// the client.
type Peer struct {
	PID int
	UID int
	// User is the user name of UID, or "" when the system has none.
	User string
}

// String names the peer for audit logs and the approved-by annotation.
func (p Peer) String() string {
	if p.User == "" {
		return fmt.Sprintf("uid %d pid %d", p.UID, p.PID)
	}
	return fmt.Sprintf("%s (uid %d) pid %d", p.User, p.UID, p.PID)
}

// errHookPeer: the peer is a hook or was started by the operator.
var errHookPeer = errors.New("the debug socket does not answer hooks nor any process the operator started")

// maxAncestors bounds the walk up the parent chain (pid_max is 2^22).
const maxAncestors = 4096

// peerRule admits a connection's peer. A peer is refused when
//   - its uid is neither the operator's nor root's (the socket's mode
//     already keeps them out; this holds for a socket bound elsewhere too),
//   - its process group is a hook run's (a hook and whatever it starts
//     without leaving the group, even once the hook exited), or
//   - the operator's process is among its ancestors: hooks and all they
//     start. In the container the operator is PID 1, so a process a hook
//     orphans is re-parented to the operator and stays a descendant.
//
// The operator's own process is admitted; a peer in another pid namespace
// (pid 0) is refused. Whatever cannot be read (the
// peer or one of its parents exits meanwhile) refuses the peer: the CLI
// retries.
type peerRule struct {
	self  int
	hooks HookGroups
	// proc is the procfs root, where parents are read.
	proc string
}

func (r peerRule) admit(conn *net.UnixConn) (Peer, error) {
	cred, err := peerCred(conn)
	if err != nil {
		return Peer{}, err
	}
	p := Peer{PID: int(cred.Pid), UID: int(cred.Uid)}
	if p.PID == r.self {
		return p, nil
	}
	if p.PID == 0 {
		// The kernel reports pid 0 for a peer outside this pid namespace
		// (a sidecar sharing the socket's volume): nothing can be checked.
		return p, errors.New("the peer is in another pid namespace")
	}
	if p.UID != os.Getuid() && p.UID != 0 {
		return p, fmt.Errorf("peer uid %d is not the operator's (%d) nor root", p.UID, os.Getuid())
	}
	if r.hooks != nil {
		pgid, err := unix.Getpgid(p.PID)
		if err != nil {
			return p, fmt.Errorf("process group of pid %d: %w", p.PID, err)
		}
		if r.hooks.RunsGroup(pgid) {
			return p, fmt.Errorf("%w: pid %d is in the process group of a running hook", errHookPeer, p.PID)
		}
	}
	pid := p.PID
	for range maxAncestors {
		ppid, err := r.parent(pid)
		if err != nil {
			return p, fmt.Errorf("parent of pid %d: %w", pid, err)
		}
		if ppid == r.self {
			return p, fmt.Errorf("%w: pid %d descends from the operator (pid %d)", errHookPeer, p.PID, r.self)
		}
		if ppid <= 1 {
			return p, nil
		}
		pid = ppid
	}
	return p, fmt.Errorf("pid %d has more than %d ancestors", p.PID, maxAncestors)
}

func peerCred(conn *net.UnixConn) (*unix.Ucred, error) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("peer credentials: %w", err)
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return nil, fmt.Errorf("peer credentials: %w", err)
	}
	if credErr != nil {
		return nil, fmt.Errorf("peer credentials: %w", credErr)
	}
	return cred, nil
}

// parent reads the parent pid from /proc/<pid>/stat: the fourth field,
// counted after the command name, which is in parentheses and may hold
// spaces and parentheses itself.
func (r peerRule) parent(pid int) (int, error) {
	data, err := os.ReadFile(fmt.Sprintf("%s/%d/stat", r.proc, pid))
	if err != nil {
		return 0, err
	}
	s := string(data)
	end := strings.LastIndexByte(s, ')')
	if end < 0 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat: no command name", pid)
	}
	fields := strings.Fields(s[end+1:])
	if len(fields) < 2 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat: no parent pid", pid)
	}
	return strconv.Atoi(fields[1])
}

// userName is the name of uid, "" when there is none (a container without
// that user in /etc/passwd).
func userName(uid int) string {
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return ""
	}
	return u.Username
}

// guardedListener accepts only the connections peerRule admits. A refused
// peer gets a 403 answer, so the CLI prints why, and a warning is logged.
type guardedListener struct {
	*net.UnixListener
	rule peerRule
	log  *slog.Logger
	// refusing counts the answers to refused peers still being written.
	refusing sync.WaitGroup
}

// peerConn is an admitted connection and who is at its other end.
type peerConn struct {
	*net.UnixConn
	peer Peer
}

// refusedWriteTimeout bounds the answer to a refused peer.
const refusedWriteTimeout = 2 * time.Second

func (l *guardedListener) Accept() (net.Conn, error) {
	for {
		conn, err := l.AcceptUnix()
		if err != nil {
			return nil, err
		}
		peer, err := l.rule.admit(conn)
		if err == nil {
			peer.User = userName(peer.UID)
			return &peerConn{UnixConn: conn, peer: peer}, nil
		}
		l.log.Warn("debug socket refused a peer", "pid", peer.PID, "uid", peer.UID, "error", err)
		l.refusing.Add(1)
		go func() {
			defer l.refusing.Done()
			refuse(conn, err)
		}()
	}
}

// refuse reads the request's header (a client still writing it would see
// a broken pipe rather than the answer), answers 403 with the reason and
// closes conn.
func refuse(conn *net.UnixConn, why error) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(refusedWriteTimeout))
	_, _ = http.ReadRequest(bufio.NewReader(io.LimitReader(conn, 1<<20)))
	body, _ := json.Marshal(ErrorResponse{Code: CodeForbidden, Error: "refused: " + why.Error()})
	_, _ = fmt.Fprintf(conn, "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
	_ = conn.CloseWrite()
}

// peerKey is the context key of the Peer of a request.
type peerKey struct{}

// withPeer is http.Server.ConnContext: it puts the peer of an admitted
// connection in its requests' context.
func withPeer(ctx context.Context, c net.Conn) context.Context {
	if pc, ok := c.(*peerConn); ok {
		return context.WithValue(ctx, peerKey{}, pc.peer)
	}
	return ctx
}

// peerOf is the peer of a request; ok is false outside the socket server.
func peerOf(ctx context.Context) (Peer, bool) {
	p, ok := ctx.Value(peerKey{}).(Peer)
	return p, ok
}
