package helm

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/releaseutil"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// errReleaseBusy: a Helm operation holds the release; check later.
var errReleaseBusy = errors.New("a helm operation holds the release")

// maxDiffValue bounds one value in a DriftObject's Diff.
const maxDiffValue = 200

// driftResult is the outcome of one drift check.
type driftResult struct {
	// skipped: nothing to compare with (no deployed revision, the object
	// is not in it or not in the cluster).
	skipped   bool
	drift     DriftObject
	corrected bool
	uid       string
}

// deployedManifest is the parsed manifest of one deployed revision.
type deployedManifest struct {
	revision int
	// uid is the revision record's: a release uninstalled and installed
	// again starts its revisions at 1 again.
	uid     string
	objects map[objectKey]map[string]any
}

// driftLock is a release's lock, held for drift checks, and the release's
// deployed revision read under it.
type driftLock struct {
	c        *Client
	manifest *deployedManifest // nil: no deployed revision, nothing to check
	unlock   func()
}

// lockForDrift takes the release's lock and reads its deployed revision,
// once for all the objects checked under it; errReleaseBusy when a Helm
// operation holds the lock. The caller calls unlock.
func (c *Client) lockForDrift(ctx context.Context, release string) (*driftLock, error) {
	unlock, ok := c.locks.tryLock(release)
	if !ok {
		return nil, errReleaseBusy
	}
	manifest, err := c.deployedManifest(ctx, release)
	if err != nil {
		unlock()
		return nil, err
	}
	return &driftLock{c: c, manifest: manifest, unlock: unlock}, nil
}

// check compares an object with its manifest in the deployed revision,
// through a server-side apply dry run, and applies the manifest when
// correct is set and they differ. An initial check (it.initial) of an
// object whose field managers (current, from the watch; nil when unknown)
// show that only the operator wrote the fields the manifest sets is
// skipped without a request, or after reading the live object when fields
// recorded without children must hold the manifest's values (see
// untouched).
func (l *driftLock) check(ctx context.Context, it driftItem, mp ModuleDriftPolicy, correct bool, current metav1.Object) (driftResult, error) {
	c := l.c
	if l.manifest == nil {
		return driftResult{skipped: true}, nil
	}
	want, ok := l.manifest.objects[it.key]
	if !ok {
		return driftResult{skipped: true}, nil
	}
	ignores := mp.ignoredPaths(ObjectRef{Kind: it.key.Kind, Namespace: it.key.Namespace, Name: it.key.Name})
	var verify []fieldPath
	if it.initial && current != nil && len(ignores) == 0 {
		ok, paths := untouched(want, current.GetManagedFields())
		if ok && len(paths) == 0 {
			return driftResult{skipped: true}, nil
		}
		if ok {
			verify = paths
		}
	}
	res := c.dyn.Resource(it.gvr)
	get := func() (*unstructured.Unstructured, error) {
		if it.key.Namespace == "" {
			return res.Get(ctx, it.key.Name, metav1.GetOptions{})
		}
		return res.Namespace(it.key.Namespace).Get(ctx, it.key.Name, metav1.GetOptions{})
	}
	apply := func(cfg *unstructured.Unstructured, dryRun bool) (*unstructured.Unstructured, error) {
		opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
		if dryRun {
			opts.DryRun = []string{metav1.DryRunAll}
		}
		if it.key.Namespace == "" {
			return res.Apply(ctx, it.key.Name, cfg, opts)
		}
		return res.Namespace(it.key.Namespace).Apply(ctx, it.key.Name, cfg, opts)
	}
	// The dry run merges the manifest into the object as it is then; a
	// write between the read and the dry run (a controller's) would show
	// as a difference. The dry run's result carries the resourceVersion it
	// was made on: read again until they match, a few times at most.
	var live, dry, cfg *unstructured.Unstructured
	for attempt := 1; ; attempt++ {
		var err error
		live, err = get()
		if apierrors.IsNotFound(err) {
			return driftResult{skipped: true}, nil
		}
		if err != nil {
			return driftResult{}, fmt.Errorf("read live object: %w", err)
		}
		if verify != nil && sameAt(want, live.Object, verify) {
			return driftResult{skipped: true}, nil
		}
		cfg = &unstructured.Unstructured{Object: deepCopyMap(want)}
		if it.key.Namespace != "" {
			cfg.SetNamespace(it.key.Namespace)
		}
		for _, tokens := range ignores {
			keepLive(cfg.Object, live.Object, tokens)
		}
		if dry, err = apply(cfg, true); err != nil {
			return driftResult{}, fmt.Errorf("server-side apply dry run: %w", err)
		}
		if dry.GetResourceVersion() == live.GetResourceVersion() || attempt == driftReads {
			break
		}
	}
	ref := ObjectRef{APIVersion: live.GetAPIVersion(), Kind: it.key.Kind, Namespace: it.key.Namespace, Name: it.key.Name}
	out := driftResult{uid: string(live.GetUID())}
	out.drift = DriftObject{Object: ref, Revision: l.manifest.revision}
	a, b := comparable(live.Object), comparable(dry.Object)
	var paths [][]string
	diffPaths(a, b, nil, &paths)
	if len(paths) == 0 {
		return out, nil
	}
	out.drift.Paths, out.drift.Diff = describeDiff(a, b, paths, it.key.Group == "" && it.key.Kind == "Secret")
	if !correct {
		return out, nil
	}
	if _, err := apply(cfg, false); err != nil {
		return driftResult{}, fmt.Errorf("server-side apply: %w", err)
	}
	out.corrected = true
	return out, nil
}

// driftReads is how many times a check reads an object that keeps changing
// between its read and its dry run before it compares them anyway.
const driftReads = 3

// deployedManifest returns the objects of the release's latest revision
// when it is deployed; nil otherwise (no release, an operation under way
// or failed). It reads the manifest only of a revision it has not parsed
// before.
func (c *Client) deployedManifest(ctx context.Context, name string) (*deployedManifest, error) {
	c.driftMu.Lock()
	cached := c.driftDocs[name]
	c.driftMu.Unlock()
	latest, status, uid, err := c.latestRevision(ctx, name, cached)
	if err != nil {
		return nil, err
	}
	if latest == 0 || status != release.StatusDeployed.String() {
		return nil, nil
	}
	if cached != nil && cached.uid == uid {
		return cached, nil
	}
	rel, err := c.store().Get(name, latest)
	if err != nil {
		return nil, fmt.Errorf("read release %q revision %d: %w", name, latest, err)
	}
	m := &deployedManifest{revision: latest, uid: uid, objects: map[objectKey]map[string]any{}}
	for _, doc := range releaseutil.SplitManifests(rel.Manifest) {
		obj, err := decodeDocument(doc)
		if err != nil {
			return nil, fmt.Errorf("release %q revision %d: parse manifest: %w", name, latest, err)
		}
		c.addManifestObject(m, obj)
	}
	c.driftMu.Lock()
	if c.driftDocs == nil {
		c.driftDocs = map[string]*deployedManifest{}
	}
	c.driftDocs[name] = m
	c.driftMu.Unlock()
	return m, nil
}

// decodeDocument decodes a YAML manifest document; numbers stay exact
// (json.Number), not float64.
func decodeDocument(doc string) (map[string]any, error) {
	data, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		return nil, err
	}
	var obj map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil {
		return nil, err
	}
	return obj, nil
}

// revisionRecords are Helm's release records (Secrets, "secret" driver).
var revisionRecords = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}

// recordName is the name of a revision's record in Helm's secret driver.
func recordName(release string, revision int) string {
	return "sh.helm.release.v1." + release + ".v" + strconv.Itoa(revision)
}

// latestRevision gives the number, status and record UID of the release's
// latest revision (0 without one), from consistent reads. With a parsed
// revision at hand, reading its record and finding no next one is enough;
// otherwise it lists the release's records, which costs the API server a
// wait for its watch cache to be fresh (about 100 ms).
func (c *Client) latestRevision(ctx context.Context, name string, known *deployedManifest) (revision int, status, uid string, err error) {
	records := c.meta.Resource(revisionRecords).Namespace(c.cfg.Namespace)
	if known != nil {
		_, err := records.Get(ctx, recordName(name, known.revision+1), metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return 0, "", "", fmt.Errorf("read revision %d of release %q: %w", known.revision+1, name, err)
		}
		if err != nil {
			cur, err := records.Get(ctx, recordName(name, known.revision), metav1.GetOptions{})
			if err == nil {
				return known.revision, cur.Labels["status"], string(cur.UID), nil
			}
			if !apierrors.IsNotFound(err) {
				return 0, "", "", fmt.Errorf("read revision %d of release %q: %w", known.revision, name, err)
			}
		}
	}
	list, err := records.List(ctx, metav1.ListOptions{LabelSelector: "owner=helm,name=" + name})
	if err != nil {
		return 0, "", "", fmt.Errorf("list revisions of release %q: %w", name, err)
	}
	for _, s := range list.Items {
		v, err := strconv.Atoi(s.Labels["version"])
		if err == nil && v > revision {
			revision, status, uid = v, s.Labels["status"], string(s.UID)
		}
	}
	return revision, status, uid, nil
}

// addManifestObject adds an object (the items of a list kind) of a
// manifest under its key, with the namespace the API server gives it.
func (c *Client) addManifestObject(m *deployedManifest, obj map[string]any) {
	u := unstructured.Unstructured{Object: obj}
	if u.GetKind() == "" {
		return
	}
	if items, ok := obj["items"].([]any); ok && strings.HasSuffix(u.GetKind(), "List") {
		for _, it := range items {
			if o, ok := it.(map[string]any); ok {
				c.addManifestObject(m, o)
			}
		}
		return
	}
	gv, _ := schema.ParseGroupVersion(u.GetAPIVersion())
	ns := u.GetNamespace()
	namespaced, known := c.api.namespaced(u.GetAPIVersion(), u.GetKind())
	switch {
	case known && !namespaced:
		ns = ""
	case ns == "":
		ns = c.cfg.Namespace
	}
	m.objects[objectKey{Group: gv.Group, Kind: u.GetKind(), Namespace: ns, Name: u.GetName()}] = obj
}

// comparable is an object without the fields an apply changes without
// changing what the object is: its field managers, resource version,
// generation and status.
func comparable(obj map[string]any) map[string]any {
	out := make(map[string]any, len(obj))
	for k, v := range obj {
		if k != "status" {
			out[k] = v
		}
	}
	if md, ok := obj["metadata"].(map[string]any); ok {
		m := make(map[string]any, len(md))
		for k, v := range md {
			switch k {
			case "managedFields", "resourceVersion", "generation":
			default:
				m[k] = v
			}
		}
		out["metadata"] = m
	}
	return out
}

// diffPaths appends the paths where a and b differ: the deepest map key
// that differs, or a whole list whose length differs.
func diffPaths(a, b any, at []string, out *[][]string) {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		keys := make([]string, 0, len(am)+len(bm))
		for k := range am {
			keys = append(keys, k)
		}
		for k := range bm {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range slices.Compact(keys) {
			diffPaths(am[k], bm[k], append(slices.Clip(at), k), out)
		}
		return
	}
	al, aok := a.([]any)
	bl, bok := b.([]any)
	if aok && bok && len(al) == len(bl) {
		for i := range al {
			diffPaths(al[i], bl[i], append(slices.Clip(at), strconv.Itoa(i)), out)
		}
		return
	}
	if !reflect.DeepEqual(a, b) {
		*out = append(*out, at)
	}
}

// describeDiff gives the pointers of paths, sorted, and the diff lines of
// a DriftObject (live is a, the revision's b).
func describeDiff(a, b map[string]any, paths [][]string, secret bool) ([]string, string) {
	type line struct{ path, from, to string }
	lines := make([]line, 0, len(paths))
	for _, p := range paths {
		from, to := diffValue(a, p, secret), diffValue(b, p, secret)
		lines = append(lines, line{pointer(p), from, to})
	}
	slices.SortFunc(lines, func(x, y line) int { return cmp.Compare(x.path, y.path) })
	var ptrs []string
	var sb strings.Builder
	for _, l := range lines {
		ptrs = append(ptrs, l.path)
		fmt.Fprintf(&sb, "- %s: %s\n+ %s: %s\n", l.path, l.from, l.path, l.to)
	}
	return ptrs, sb.String()
}

func diffValue(doc map[string]any, p []string, secret bool) string {
	v, err := lookup(doc, p)
	switch {
	case err != nil:
		return "(absent)"
	case secret && len(p) > 0 && (p[0] == "data" || p[0] == "stringData"):
		return "(secret)"
	}
	data, err := json.Marshal(v)
	if err != nil {
		return "(unprintable)"
	}
	s := string(data)
	if len(s) > maxDiffValue {
		s = s[:maxDiffValue] + "…"
	}
	return s
}

// deepCopyMap copies a manifest object, so that ignore rules do not change
// the cached manifest.
func deepCopyMap(m map[string]any) map[string]any {
	return (&unstructured.Unstructured{Object: m}).DeepCopy().Object
}
