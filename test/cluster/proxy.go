package cluster

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"

	"k8s.io/client-go/rest"
)

// Proxy is a TCP proxy on loopback in front of the API server. A client
// that talks to the API through it (ProxyKubeconfig) can be cut off while
// the cluster keeps running and others keep changing it: a network
// partition. Its methods are safe for concurrent use.
type Proxy struct {
	target string
	ln     net.Listener

	mu  sync.Mutex
	cut bool
	// blackhole drops the bytes of every connection, old and new, both ways;
	// dirty marks that streams lost bytes since the last Restore.
	blackhole, dirty bool
	conns            map[net.Conn]struct{}
	wg               sync.WaitGroup
}

// StartProxy listens on a free loopback port and forwards every connection
// to the API server. Close stops it.
func (c *Cluster) StartProxy() (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("proxy listen: %w", err)
	}
	p := &Proxy{target: "127.0.0.1:" + fmt.Sprint(c.apiPort), ln: ln, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Cut closes every open connection and refuses (closes at once) new ones
// until Restore: the client sees the API server vanish mid-stream.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for conn := range p.conns {
		conn.Close()
	}
}

// Blackhole keeps every connection open and accepts new ones, but drops
// all bytes both ways until Restore: the client's requests hang with no
// error, as behind a network that silently loses packets.
func (p *Proxy) Blackhole() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blackhole, p.dirty = true, true
}

// Restore forwards new connections again. Connections that lost bytes to
// a Blackhole are closed.
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut, p.blackhole = false, false
	if p.dirty {
		for conn := range p.conns {
			conn.Close()
		}
		p.dirty = false
	}
}

func (p *Proxy) dropping() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.blackhole
}

// pipe copies from src to dst, dropping what it reads while blackholed.
func (p *Proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.dropping() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Close stops listening, closes every connection and waits for the
// forwarding goroutines.
func (p *Proxy) Close() error {
	err := p.ln.Close()
	p.Cut()
	p.wg.Wait()
	return err
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
			p.forward(conn)
		}()
	}
}

func (p *Proxy) forward(client net.Conn) {
	defer client.Close()
	p.mu.Lock()
	if p.cut {
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer server.Close()
	p.mu.Lock()
	if p.cut {
		p.mu.Unlock()
		return
	}
	p.conns[client] = struct{}{}
	p.conns[server] = struct{}{}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.conns, client)
		delete(p.conns, server)
		p.mu.Unlock()
	}()
	done := make(chan struct{}, 2)
	go func() { p.pipe(server, client); server.Close(); done <- struct{}{} }()
	go func() { p.pipe(client, server); client.Close(); done <- struct{}{} }()
	<-done
	<-done
}

// ProxyKubeconfig writes a kubeconfig at path that reaches the API server
// through p, with the admin's credentials.
func (c *Cluster) ProxyKubeconfig(path string, p *Proxy) error {
	cfg := rest.CopyConfig(c.Config)
	cfg.Host = "https://" + p.Addr()
	if err := writeKubeconfig(path, cfg); err != nil {
		return err
	}
	return os.Chmod(path, 0o600)
}
