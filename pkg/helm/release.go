package helm

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/releaseutil"
	"sigs.k8s.io/yaml"
)

// ChecksumLabel is the label of a release record (the Secret of a revision)
// that holds the checksum of the manifests the revision applied.
const ChecksumLabel = "addons.seedops.io/checksum"

// Release is one release: its last revision, whatever its status.
type Release struct {
	Name      string
	Namespace string
	// Revision is the last revision's number, starting at 1.
	Revision int
	// Status is Helm's status of the last revision: "deployed", "failed",
	// "pending-install", "pending-upgrade", "pending-rollback",
	// "superseded", "uninstalling" or "uninstalled".
	Status string
	// Checksum is the Rendered.Checksum the revision was applied with; empty
	// for revisions the operator did not make.
	Checksum string
	// Manifest is what the revision applied, Helm hooks excluded.
	Manifest string
	// Objects are the objects of Manifest.
	Objects []ObjectRef
	// Updated is when the revision was applied.
	Updated time.Time
}

// ObjectRef names an object of a release. Namespace is empty for
// cluster-scoped kinds and filled with the release namespace for namespaced
// objects whose manifest sets none.
type ObjectRef struct {
	APIVersion string
	Kind       string
	Namespace  string
	Name       string
}

// String gives "Kind namespace/name" or "Kind name".
func (o ObjectRef) String() string {
	if o.Namespace == "" {
		return o.Kind + " " + o.Name
	}
	return o.Kind + " " + o.Namespace + "/" + o.Name
}

func compareObjects(a, b ObjectRef) int {
	return cmp.Or(
		cmp.Compare(a.APIVersion, b.APIVersion),
		cmp.Compare(a.Kind, b.Kind),
		cmp.Compare(a.Namespace, b.Namespace),
		cmp.Compare(a.Name, b.Name),
	)
}

// toRelease converts a Helm release record.
func (c *Client) toRelease(r *release.Release) (Release, error) {
	objs, err := c.objects(r.Manifest)
	if err != nil {
		return Release{}, fmt.Errorf("release %q revision %d: %w", r.Name, r.Version, err)
	}
	out := Release{
		Name:      r.Name,
		Namespace: r.Namespace,
		Revision:  r.Version,
		Checksum:  r.Labels[ChecksumLabel],
		Manifest:  r.Manifest,
		Objects:   objs,
	}
	if r.Info != nil {
		out.Status = r.Info.Status.String()
		out.Updated = r.Info.LastDeployed.Time
	}
	return out, nil
}

// objectHead is what objects() reads of a manifest document.
type objectHead struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Items []objectHead `json:"items"`
}

// objects lists the objects of a manifest, sorted, with namespaces as the
// API server sees them (see ObjectRef).
func (c *Client) objects(manifest string) ([]ObjectRef, error) {
	var out []ObjectRef
	var add func(h objectHead)
	add = func(h objectHead) {
		if h.Kind == "" {
			return
		}
		if h.Items != nil {
			for _, it := range h.Items {
				add(it)
			}
			return
		}
		ref := ObjectRef{APIVersion: h.APIVersion, Kind: h.Kind, Namespace: h.Metadata.Namespace, Name: h.Metadata.Name}
		namespaced, known := c.api.namespaced(h.APIVersion, h.Kind)
		switch {
		case known && !namespaced:
			ref.Namespace = ""
		case ref.Namespace == "":
			ref.Namespace = c.cfg.Namespace
		}
		out = append(out, ref)
	}
	for _, doc := range releaseutil.SplitManifests(manifest) {
		var h objectHead
		if err := yaml.Unmarshal([]byte(doc), &h); err != nil {
			return nil, fmt.Errorf("parse manifest: %w", err)
		}
		add(h)
	}
	slices.SortFunc(out, compareObjects)
	return slices.CompactFunc(out, func(a, b ObjectRef) bool { return compareObjects(a, b) == 0 }), nil
}
