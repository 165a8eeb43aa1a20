package registry

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
)

// Proxy is a TCP proxy on loopback in front of a registry that, while
// faulty, resets (RST) every connection once it has passed more than a
// given number of bytes of a blob download to the client: the client sees
// the layer cut mid-stream. Manifest and tag requests pass. Its methods
// are safe for concurrent use.
type Proxy struct {
	// Host is the proxy's "127.0.0.1:PORT".
	Host string

	target string
	after  int
	ln     net.Listener

	mu     sync.Mutex
	faulty bool
	resets int
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

// StartProxy forwards a loopback port to r, faulty from the start: blob
// downloads are reset after `after` bytes until Heal. It stops when the
// test ends.
func StartProxy(t testing.TB, r *Registry, after int) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Host: ln.Addr().String(), target: r.Host, after: after, ln: ln, faulty: true, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.close)
	return p
}

// Ref is the source reference of a repository through the proxy.
func (p *Proxy) Ref(repo string) string { return "oci://" + p.Host + "/" + repo }

// Heal lets every download through from now on.
func (p *Proxy) Heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faulty = false
}

// Resets is how many blob downloads were cut so far.
func (p *Proxy) Resets() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.resets
}

func (p *Proxy) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		conn, err := p.ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.forward(conn.(*net.TCPConn))
		}()
	}
}

// forward copies both ways. A request for a blob (seen in the client's
// bytes, plain HTTP/1.1) arms the cut: the response is reset after
// p.after bytes while the proxy is faulty.
func (p *Proxy) forward(client *net.TCPConn) {
	defer client.Close()
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer server.Close()
	p.mu.Lock()
	p.conns[client], p.conns[server] = struct{}{}, struct{}{}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.conns, client)
		delete(p.conns, server)
		p.mu.Unlock()
	}()

	var mu sync.Mutex
	blob, sent := false, 0
	done := make(chan struct{}, 2)
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := client.Read(buf)
			if n > 0 {
				if bytes.Contains(buf[:n], []byte("GET /v2/")) {
					mu.Lock()
					blob, sent = bytes.Contains(buf[:n], []byte("/blobs/")), 0
					mu.Unlock()
				}
				if _, werr := server.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		server.Close()
		done <- struct{}{}
	}()
	go func() {
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 4<<10)
		for {
			n, err := server.Read(buf)
			if n > 0 {
				mu.Lock()
				sent += n
				cut := blob && sent > p.after
				mu.Unlock()
				p.mu.Lock()
				cut = cut && p.faulty
				if cut {
					p.resets++
				}
				p.mu.Unlock()
				if cut {
					_ = client.SetLinger(0)
					client.Close()
					return
				}
				if _, werr := client.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				if !errors.Is(err, io.EOF) {
					_ = client.SetLinger(0)
				}
				client.Close()
				return
			}
		}
	}()
	<-done
	<-done
}
