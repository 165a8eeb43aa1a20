package helm

import (
	"fmt"
	"sync"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/kube"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/clock"
)

// capabilitiesTTL is how long discovered capabilities are reused before the
// API server is asked again. ApplyCRDs and an unknown kind refresh them at
// once.
const capabilitiesTTL = time.Minute

// apiView is one cached view of the API server's resources, shared by every
// Helm action of a Client: a memory-cached discovery client, a REST mapper
// that refreshes itself when it meets an unknown kind, and the Capabilities
// charts are rendered with. It implements genericclioptions.RESTClientGetter
// for the Helm SDK. Safe for concurrent use.
type apiView struct {
	rest      *rest.Config
	namespace string
	discovery discovery.CachedDiscoveryInterface
	mapper    *refreshingMapper
	clock     clock.PassiveClock // ages caps

	mu     sync.Mutex
	caps   *chartutil.Capabilities
	capsAt time.Time
	// kube is the Helm kube client shared by actions. It caches the API
	// server's OpenAPI documents that validating manifests needs (fetching
	// and decoding them is most of an upgrade's cost), so it is dropped with
	// the capabilities: after CRDs are applied, an unknown kind, or
	// capabilitiesTTL.
	kube *kube.Client
}

func newAPIView(cfg *rest.Config, namespace string, clk clock.PassiveClock) (*apiView, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("discovery client: %w", err)
	}
	v := &apiView{rest: cfg, namespace: namespace, discovery: memory.NewMemCacheClient(dc), clock: clk}
	v.mapper = &refreshingMapper{
		DeferredDiscoveryRESTMapper: restmapper.NewDeferredDiscoveryRESTMapper(v.discovery),
		onReset:                     v.forgetCapabilities,
	}
	return v, nil
}

// ToRESTConfig returns a copy of the client's REST config.
func (v *apiView) ToRESTConfig() (*rest.Config, error) { return rest.CopyConfig(v.rest), nil }

// ToDiscoveryClient returns the shared cached discovery client.
func (v *apiView) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) {
	return v.discovery, nil
}

// ToRESTMapper returns the shared mapper.
func (v *apiView) ToRESTMapper() (meta.RESTMapper, error) { return v.mapper, nil }

// ToRawKubeConfigLoader gives the release namespace to code that asks a
// kubeconfig for its default namespace; there is no kubeconfig file.
func (v *apiView) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	return clientcmd.NewDefaultClientConfig(*clientcmdapi.NewConfig(), &clientcmd.ConfigOverrides{
		Context: clientcmdapi.Context{Namespace: v.namespace},
	})
}

// refresh drops everything discovered; the next use asks the API server.
func (v *apiView) refresh() { v.mapper.Reset() }

func (v *apiView) forgetCapabilities() {
	v.mu.Lock()
	v.caps = nil
	v.kube = nil
	v.mu.Unlock()
}

// kubeClient returns the shared Helm kube client, made by build when there
// is none.
func (v *apiView) kubeClient(build func() *kube.Client) *kube.Client {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.kube == nil {
		v.kube = build()
	}
	return v.kube
}

// capabilities returns what charts see as .Capabilities: the server's
// version and API versions. The result is shared and must not be modified.
func (v *apiView) capabilities() (*chartutil.Capabilities, error) {
	v.mu.Lock()
	if v.caps != nil && v.clock.Since(v.capsAt) < capabilitiesTTL {
		caps := v.caps
		v.mu.Unlock()
		return caps, nil
	}
	stale := v.caps != nil
	v.mu.Unlock()
	if stale {
		v.refresh()
	}
	version, err := v.discovery.ServerVersion()
	if err != nil {
		return nil, fmt.Errorf("discover server version: %w", err)
	}
	apis, err := action.GetVersionSet(v.discovery)
	if err != nil {
		return nil, fmt.Errorf("discover api versions: %w", err)
	}
	caps := &chartutil.Capabilities{
		KubeVersion: chartutil.KubeVersion{Version: version.GitVersion, Major: version.Major, Minor: version.Minor},
		APIVersions: apis,
		HelmVersion: chartutil.DefaultCapabilities.HelmVersion,
	}
	v.mu.Lock()
	v.caps, v.capsAt = caps, v.clock.Now()
	v.mu.Unlock()
	return caps, nil
}

// namespaced reports whether objects of the kind live in a namespace; known
// is false when the API server does not serve the kind.
func (v *apiView) namespaced(apiVersion, kind string) (namespaced, known bool) {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return false, false
	}
	m, err := v.mapper.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: kind}, gv.Version)
	if err != nil {
		return false, false
	}
	return m.Scope.Name() == meta.RESTScopeNameNamespace, true
}

// refreshingMapper is a discovery-backed REST mapper that, meeting a kind it
// does not know, rediscovers once and asks again: a CRD created since the
// last discovery becomes usable without a restart.
type refreshingMapper struct {
	*restmapper.DeferredDiscoveryRESTMapper
	onReset func()
}

// Reset drops the discovered resources and the capabilities derived from them.
func (m *refreshingMapper) Reset() {
	m.DeferredDiscoveryRESTMapper.Reset()
	m.onReset()
}

// KindFor implements meta.RESTMapper.
func (m *refreshingMapper) KindFor(r schema.GroupVersionResource) (schema.GroupVersionKind, error) {
	gvk, err := m.DeferredDiscoveryRESTMapper.KindFor(r)
	if meta.IsNoMatchError(err) {
		m.Reset()
		gvk, err = m.DeferredDiscoveryRESTMapper.KindFor(r)
	}
	return gvk, err
}

// RESTMapping implements meta.RESTMapper.
func (m *refreshingMapper) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	mapping, err := m.DeferredDiscoveryRESTMapper.RESTMapping(gk, versions...)
	if meta.IsNoMatchError(err) {
		m.Reset()
		mapping, err = m.DeferredDiscoveryRESTMapper.RESTMapping(gk, versions...)
	}
	return mapping, err
}

// RESTMappings implements meta.RESTMapper.
func (m *refreshingMapper) RESTMappings(gk schema.GroupKind, versions ...string) ([]*meta.RESTMapping, error) {
	mappings, err := m.DeferredDiscoveryRESTMapper.RESTMappings(gk, versions...)
	if meta.IsNoMatchError(err) {
		m.Reset()
		mappings, err = m.DeferredDiscoveryRESTMapper.RESTMappings(gk, versions...)
	}
	return mappings, err
}
