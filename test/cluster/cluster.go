// Package cluster runs a real Kubernetes control plane for tests: etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler and kwok (fake
// kubelets), each a child process on free loopback ports in a temporary
// directory. Binaries come from the repository's bin/ (`make tools`).
//
// One cluster per test package: start it from TestMain with Main, share it
// between the package's tests, and let Main stop it. Every process is started
// in its own process group with a parent-death signal, so none outlives the
// test binary even when it crashes.
package cluster

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Options choose what runs beside etcd and kube-apiserver.
type Options struct {
	// BinDir holds the binaries; empty means <repo>/bin, or $ADDON_OPERATOR_TEST_BIN.
	BinDir string
	// Dir is where data, certificates and logs go; empty means a new temp dir
	// that Close removes.
	Dir string
	// ControllerManager and Scheduler start those components (Deployments
	// get ReplicaSets and Pods get nodes only with both).
	ControllerManager bool
	Scheduler         bool
	// Kwok starts fake kubelets for Nodes annotated kwok.x-k8s.io/node=fake.
	Kwok bool
	// RBAC switches authorization from AlwaysAllow to Node,RBAC; tests then
	// use UserConfig for an unprivileged identity.
	RBAC bool
	// APIServerArgs are extra kube-apiserver flags.
	APIServerArgs []string
}

// Full is a cluster that schedules Pods onto fake nodes and runs them.
var Full = Options{ControllerManager: true, Scheduler: true, Kwok: true}

// Cluster is a running control plane. Its methods are safe for concurrent use.
type Cluster struct {
	// Config authenticates as a cluster admin (system:masters).
	Config *rest.Config
	// Kubeconfig is the path of a kubeconfig file for Config.
	Kubeconfig string
	// Dir holds data, certificates and one log file per component.
	Dir string

	opts       Options
	bin        string
	removeDir  bool
	etcdPort   int
	etcdPeer   int
	apiPort    int
	adminToken string
	userToken  string

	mu    sync.Mutex
	procs map[string]*process
	order []string
}

// Start runs the control plane and returns once the API server answers
// /readyz and the default namespace exists. On error everything started so
// far is stopped.
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	bin, err := binDir(opts.BinDir)
	if err != nil {
		return nil, err
	}
	c := &Cluster{opts: opts, bin: bin, procs: map[string]*process{}}
	c.Dir = opts.Dir
	if c.Dir == "" {
		c.Dir, err = os.MkdirTemp("", "addon-operator-cluster-")
		if err != nil {
			return nil, fmt.Errorf("create cluster dir: %w", err)
		}
		c.removeDir = true
	}
	defer func() {
		if err != nil {
			_ = c.Close()
		}
	}()
	if err := c.prepare(); err != nil {
		return nil, err
	}
	if err := c.StartEtcd(ctx); err != nil {
		return nil, err
	}
	if err := c.StartAPIServer(ctx); err != nil {
		return nil, err
	}
	if err := c.waitDefaultNamespace(ctx); err != nil {
		return nil, err
	}
	for _, comp := range c.optional() {
		if err := c.start(comp.name, comp.args()); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// component is an optional component of the cluster and its arguments.
type component struct {
	name string
	args func() []string
}

// optional lists the optional components the cluster's Options turn on,
// in start order.
func (c *Cluster) optional() []component {
	var comps []component
	if c.opts.ControllerManager {
		comps = append(comps, component{"kube-controller-manager", c.controllerManagerArgs})
	}
	if c.opts.Scheduler {
		comps = append(comps, component{"kube-scheduler", c.schedulerArgs})
	}
	if c.opts.Kwok {
		comps = append(comps, component{"kwok", c.kwokArgs})
	}
	return comps
}

// Main starts a cluster for a test package, stores it in *out, runs the
// tests and stops the cluster. Use it as `os.Exit(cluster.Main(m, opts, &c))`
// in TestMain. With -short or when the binaries are missing it fails loudly
// rather than skipping, so a missing `make tools` is never mistaken for a pass.
func Main(m *testing.M, opts Options, out **Cluster) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	c, err := Start(ctx, opts)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "start test cluster: %v\n", err)
		return 1
	}
	*out = c
	code := m.Run()
	if err := c.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "stop test cluster: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Client returns a new clientset for Config.
func (c *Cluster) Client() kubernetes.Interface {
	return kubernetes.NewForConfigOrDie(c.Config)
}

// UserConfig authenticates as the unprivileged user "tester" (no groups but
// system:authenticated); only meaningful with Options.RBAC.
func (c *Cluster) UserConfig() *rest.Config {
	cfg := rest.CopyConfig(c.Config)
	cfg.BearerToken = c.userToken
	return cfg
}

// Close stops every process in reverse start order (SIGTERM, then SIGKILL
// after 10 s) and removes the temp dir it created. It is safe to call twice.
func (c *Cluster) Close() error {
	c.mu.Lock()
	names := append([]string(nil), c.order...)
	c.mu.Unlock()
	var errs []error
	for i := len(names) - 1; i >= 0; i-- {
		if err := c.stop(names[i]); err != nil {
			errs = append(errs, err)
		}
	}
	if c.removeDir && len(errs) == 0 {
		if err := os.RemoveAll(c.Dir); err != nil {
			errs = append(errs, fmt.Errorf("remove cluster dir: %w", err))
		}
	}
	return errors.Join(errs...)
}

// StartEtcd starts etcd on its ports (the same ones after a restart, so the
// API server reconnects) and waits until it is healthy.
func (c *Cluster) StartEtcd(ctx context.Context) error {
	url := "http://127.0.0.1:" + strconv.Itoa(c.etcdPort)
	args := []string{
		"--data-dir", filepath.Join(c.Dir, "etcd"),
		"--listen-client-urls", url, "--advertise-client-urls", url,
		"--listen-peer-urls", "http://127.0.0.1:" + strconv.Itoa(c.etcdPeer),
		"--initial-advertise-peer-urls", "http://127.0.0.1:" + strconv.Itoa(c.etcdPeer),
		"--initial-cluster", "default=http://127.0.0.1:" + strconv.Itoa(c.etcdPeer),
		"--unsafe-no-fsync", "--log-level", "warn",
	}
	if err := c.start("etcd", args); err != nil {
		return err
	}
	return c.waitHTTP(ctx, "etcd", url+"/health", false)
}

// StopEtcd stops etcd (SIGTERM) and waits for it to exit.
func (c *Cluster) StopEtcd() error { return c.stop("etcd") }

// StartAPIServer starts kube-apiserver on its port and waits for /readyz.
func (c *Cluster) StartAPIServer(ctx context.Context) error {
	if err := c.start("kube-apiserver", c.apiServerArgs()); err != nil {
		return err
	}
	return c.waitHTTP(ctx, "kube-apiserver", c.Config.Host+"/readyz", true)
}

// StopAPIServer stops kube-apiserver and waits for it to exit.
func (c *Cluster) StopAPIServer() error { return c.stop("kube-apiserver") }

// Running reports whether the named component's process is alive.
func (c *Cluster) Running(name string) bool {
	c.mu.Lock()
	p := c.procs[name]
	c.mu.Unlock()
	return p != nil && !p.exited()
}

func (c *Cluster) prepare() error {
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	c.etcdPort, c.etcdPeer, c.apiPort = ports[0], ports[1], ports[2]
	c.adminToken = randomToken()
	c.userToken = randomToken()
	for _, d := range []string{"etcd", "certs", "logs"} {
		if err := os.MkdirAll(filepath.Join(c.Dir, d), 0o700); err != nil {
			return fmt.Errorf("create %s dir: %w", d, err)
		}
	}
	if err := writeServiceAccountKeys(filepath.Join(c.Dir, "certs")); err != nil {
		return err
	}
	tokens := fmt.Sprintf("%s,admin,admin,system:masters\n%s,tester,tester\n", c.adminToken, c.userToken)
	if err := os.WriteFile(filepath.Join(c.Dir, "tokens.csv"), []byte(tokens), 0o600); err != nil {
		return fmt.Errorf("write token file: %w", err)
	}
	c.Config = &rest.Config{
		Host:            "https://127.0.0.1:" + strconv.Itoa(c.apiPort),
		BearerToken:     c.adminToken,
		TLSClientConfig: rest.TLSClientConfig{Insecure: true},
		QPS:             200,
		Burst:           400,
	}
	c.Kubeconfig = filepath.Join(c.Dir, "kubeconfig")
	return writeKubeconfig(c.Kubeconfig, c.Config)
}

func (c *Cluster) apiServerArgs() []string {
	authz := "AlwaysAllow"
	if c.opts.RBAC {
		authz = "Node,RBAC"
	}
	certs := filepath.Join(c.Dir, "certs")
	args := []string{
		"--etcd-servers", "http://127.0.0.1:" + strconv.Itoa(c.etcdPort),
		"--secure-port", strconv.Itoa(c.apiPort), "--bind-address", "127.0.0.1",
		"--advertise-address", "127.0.0.1",
		"--cert-dir", certs,
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--service-account-key-file", filepath.Join(certs, "sa.pub"),
		"--service-account-signing-key-file", filepath.Join(certs, "sa.key"),
		"--authorization-mode", authz,
		"--token-auth-file", filepath.Join(c.Dir, "tokens.csv"),
		"--service-cluster-ip-range", "10.0.0.0/24",
		"--disable-admission-plugins", "ServiceAccount",
		"--allow-privileged=true",
		"--endpoint-reconciler-type", "none",
	}
	return append(args, c.opts.APIServerArgs...)
}

func (c *Cluster) controllerManagerArgs() []string {
	ports, _ := freePorts(1)
	return []string{
		"--kubeconfig", c.Kubeconfig, "--authentication-kubeconfig", c.Kubeconfig,
		"--authorization-kubeconfig", c.Kubeconfig, "--leader-elect=false",
		"--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(ports[0]),
		"--controllers", "*,-serviceaccount-token",
		// kwok posts node status about once a minute, more seldom than the
		// default grace period (50s) allows: Nodes would flap NotReady and
		// their pods stay not ready.
		"--node-monitor-grace-period", "5m",
	}
}

func (c *Cluster) schedulerArgs() []string {
	ports, _ := freePorts(1)
	return []string{
		"--kubeconfig", c.Kubeconfig, "--authentication-kubeconfig", c.Kubeconfig,
		"--authorization-kubeconfig", c.Kubeconfig, "--leader-elect=false",
		"--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(ports[0]),
	}
}

func (c *Cluster) kwokArgs() []string {
	ports, _ := freePorts(1)
	return []string{
		"--kubeconfig", c.Kubeconfig, "--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
		"--cidr=10.0.1.1/24", "--node-ip=10.0.0.1",
		"--server-address", "127.0.0.1:" + strconv.Itoa(ports[0]),
	}
}

func (c *Cluster) waitHTTP(ctx context.Context, name, url string, auth bool) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: insecureTransport()}
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if auth {
			req.Header.Set("Authorization", "Bearer "+c.adminToken)
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		last = err
		if !c.Running(name) {
			return fmt.Errorf("%s exited during start: %s", name, c.logTail(name))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w (last: %v): %s", name, ctx.Err(), last, c.logTail(name))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (c *Cluster) waitDefaultNamespace(ctx context.Context) error {
	cs := c.Client()
	for {
		_, err := cs.CoreV1().Namespaces().Get(ctx, "default", metaGetOptions)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for default namespace: %w (last: %v)", ctx.Err(), err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func randomToken() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func writeServiceAccountKeys(dir string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("generate service account key: %w", err)
	}
	priv := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return fmt.Errorf("marshal service account public key: %w", err)
	}
	pub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	if err := os.WriteFile(filepath.Join(dir, "sa.key"), priv, 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "sa.pub"), pub, 0o600)
}

func writeKubeconfig(path string, cfg *rest.Config) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["local"] = &clientcmdapi.Cluster{Server: cfg.Host, InsecureSkipTLSVerify: true}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: cfg.BearerToken}
	kc.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "admin", Namespace: "default"}
	kc.CurrentContext = "local"
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}

func binDir(dir string) (string, error) {
	if dir == "" {
		dir = os.Getenv("ADDON_OPERATOR_TEST_BIN")
	}
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(root, "bin")
	}
	for _, name := range []string{"etcd", "kube-apiserver"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return "", fmt.Errorf("control plane binary %s missing in %s (run `make tools`): %w", name, dir, err)
		}
	}
	return dir, nil
}

// repoRoot walks up from the working directory to the directory holding the
// repository's top-level go.mod (the one with a test/ folder beside it).
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "test", "cluster")); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("repository root not found above the working directory")
		}
		dir = parent
	}
}
