package helm

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"

	"helm.sh/helm/v3/pkg/storage/driver"
)

// existenceChecks bounds the concurrent GETs of one absent call.
const existenceChecks = 8

// objectCache knows objects that exist without asking the API server
// (*Monitor, see WithObjectCache).
type objectCache interface {
	// holds reports whether the object name of resource gvr in namespace
	// ("" for a cluster-scoped resource) is known to exist; false says
	// nothing.
	holds(gvr schema.GroupVersionResource, namespace, name string) bool
}

// Missing returns the objects of the release's last revision that do not
// exist in the cluster (a kind the API server no longer serves counts as
// missing). It gives ErrNotFound for an unknown release.
func (c *Client) Missing(ctx context.Context, name string) ([]ObjectRef, error) {
	last, err := c.store().Last(name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, fmt.Errorf("release %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("release %q: %w", name, err)
	}
	objs, err := c.objects(last.Manifest)
	if err != nil {
		return nil, fmt.Errorf("release %q: %w", name, err)
	}
	missing, err := c.absent(ctx, name, objs)
	if err != nil {
		return nil, fmt.Errorf("release %q: %w", name, err)
	}
	return missing, nil
}

// absent returns the objects of objs, the release's, that do not exist,
// in objs' order; an object that lost its ModuleLabel counts as absent
// too: the watches select by that label, so neither the missing-objects
// check nor drift detection would see it again, and an upgrade puts the
// label back. It reads metadata only, a few objects at a time, of the
// objects the cache does not hold.
func (c *Client) absent(ctx context.Context, release string, objs []ObjectRef) ([]ObjectRef, error) {
	found := make([]bool, len(objs))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(existenceChecks)
	for i, o := range objs {
		g.Go(func() error {
			ok, err := c.exists(ctx, release, o)
			found[i] = ok
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var missing []ObjectRef
	for i, o := range objs {
		if !found[i] {
			missing = append(missing, o)
		}
	}
	return missing, nil
}

func (c *Client) exists(ctx context.Context, release string, o ObjectRef) (bool, error) {
	gv, err := schema.ParseGroupVersion(o.APIVersion)
	if err != nil {
		return false, fmt.Errorf("check %s: %w", o, err)
	}
	m, err := c.api.mapper.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: o.Kind}, gv.Version)
	if meta.IsNoMatchError(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check %s: %w", o, err)
	}
	var ri metadata.ResourceInterface = c.meta.Resource(m.Resource)
	namespace := ""
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		namespace = o.Namespace
		ri = c.meta.Resource(m.Resource).Namespace(o.Namespace)
	}
	if c.cache != nil && c.cache.holds(m.Resource, namespace, o.Name) {
		return true, nil
	}
	obj, err := ri.Get(ctx, o.Name, metav1.GetOptions{})
	switch {
	case err == nil:
		return obj.GetLabels()[ModuleLabel] == release, nil
	case apierrors.IsNotFound(err):
		return false, nil
	default:
		return false, fmt.Errorf("check %s: %w", o, err)
	}
}
