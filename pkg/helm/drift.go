package helm

import (
	"context"
	"encoding/binary"
	"hash/fnv"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Drift correction back-off: an object corrected more than fightLimit
// times within fightWindow is being written by someone else as fast as we
// correct it; it is only reported for fightPause.
const (
	fightLimit  = 5
	fightWindow = time.Minute
	fightPause  = 5 * time.Minute
)

// driftBusyRetry is how soon an object is checked again when a Helm
// operation held its release.
const driftBusyRetry = time.Second

// DriftObject is an object of a release that differs from the release's
// deployed revision in fields the chart sets.
type DriftObject struct {
	Object ObjectRef
	// Revision is the deployed revision the object was compared with.
	Revision int
	// Paths are the JSON pointers of the differing fields, sorted.
	Paths []string
	// Diff has two lines per path: "- <path>: <live value>" and
	// "+ <path>: <value of the revision>", as JSON; Secret values are
	// replaced by "(secret)".
	Diff string
	// Paused is set when the object is reported instead of corrected
	// because someone else keeps changing it back (the policy is Correct).
	Paused bool
}

// DriftCorrection describes one correction, for Events and metrics.
type DriftCorrection struct {
	Release  string
	Object   ObjectRef
	UID      string
	Revision int
	Paths    []string
}

// DriftObserver hears of drift checks and corrections. It is called from
// the Monitor's drift goroutine and must not block.
type DriftObserver interface {
	// DriftChecked is called for every comparison made in the API server
	// (a server-side apply dry run).
	DriftChecked(release string)
	// DriftCorrected is called after every correction.
	DriftCorrected(c DriftCorrection)
}

// driftItem is an object to check.
type driftItem struct {
	release string
	key     objectKey
	gvr     schema.GroupVersionResource
	// initial: found when its type's watch began, not changed since.
	initial bool
}

// fight counts the recent corrections of one object.
type fight struct {
	at          []time.Time
	pausedUntil time.Time
}

// driftWatch is the Monitor's drift detection: the fingerprints of the
// watched objects, the objects waiting to be checked, the current drift
// reports and the correction counts.
type driftWatch struct {
	client  *Client
	obs     DriftObserver
	changes chan struct{}
	wake    chan struct{}
	// policied is closed by the first SetDriftPolicy; no check is made
	// before it.
	policied  chan struct{}
	setPolicy sync.Once
	// fightLimit is fightLimit but in benchmarks.
	fightLimit int

	mu      sync.Mutex
	policy  DriftPolicy
	seen    map[objectKey]uint64
	queue   []driftItem
	queued  map[objectKey]bool
	reports map[string]map[objectKey]DriftObject
	fights  map[objectKey]*fight
	// checking: a batch taken from queue is being checked.
	checking bool
}

// WatchDrift makes the Monitor check the tracked objects for drift (see
// Drift) and correct them through c, whose per-release lock they share
// with Deploy and Uninstall. obs may be nil. Checks begin with the first
// SetDriftPolicy (changes seen before are checked then). Call it before
// Start.
//
// A check is made when an object's metadata shows a write other than to
// its status (a new generation, labels, annotations or field managers), and
// for the objects found when a type starts being watched. It compares, in
// the API server, the live object with a server-side apply dry run (field
// manager FieldManager) of the object's manifest in the release's deployed
// revision: only the fields the chart sets count, so defaults and fields
// written only by other managers are not drift. A release whose last
// revision is not deployed is not checked; Deploy settles it. The objects
// of a release queued together are checked under one hold of its lock and
// one read of its deployed revision. An object found when its type's watch
// began, not changed since, is compared only when its managedFields do not
// show the operator's own writes owning every field the chart sets (see
// untouched): so a restart costs requests per release and per object
// changed meanwhile, not per object.
func (m *Monitor) WatchDrift(c *Client, obs DriftObserver) {
	m.detector = &driftWatch{
		client:     c,
		obs:        obs,
		changes:    make(chan struct{}, 1),
		wake:       make(chan struct{}, 1),
		policied:   make(chan struct{}),
		fightLimit: fightLimit,
		seen:       map[objectKey]uint64{},
		queued:     map[objectKey]bool{},
		reports:    map[string]map[objectKey]DriftObject{},
		fights:     map[objectKey]*fight{},
	}
}

// SetDriftPolicy replaces the drift policy. Objects reported drifted are
// checked again under it, and a release no longer Ignored has its tracked
// objects checked. Safe to call concurrently; does nothing without
// WatchDrift.
func (m *Monitor) SetDriftPolicy(p DriftPolicy) {
	d := m.detector
	if d == nil {
		return
	}
	d.mu.Lock()
	old := d.policy
	d.policy = p
	var recheck []string
	for release := range d.reports {
		recheck = append(recheck, release)
	}
	d.mu.Unlock()
	d.setPolicy.Do(func() { close(d.policied) })
	m.mu.Lock()
	for release := range m.releases {
		if old.For(release).Mode == DriftIgnore && p.For(release).Mode != DriftIgnore {
			recheck = append(recheck, release)
		}
	}
	m.mu.Unlock()
	slices.Sort(recheck)
	for _, release := range slices.Compact(recheck) {
		m.recheck(release)
	}
}

// Drift returns the objects of release currently reported drifted
// (policy Warn, or corrections paused), sorted; nil without drift. Safe to
// call concurrently.
func (m *Monitor) Drift(release string) []DriftObject {
	d := m.detector
	if d == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []DriftObject
	for _, o := range d.reports[release] {
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b DriftObject) int { return compareObjects(a.Object, b.Object) })
	return out
}

// DriftChanges signals (coalesced) that Drift may answer differently. The
// channel is never closed.
func (m *Monitor) DriftChanges() <-chan struct{} {
	if m.detector == nil {
		return nil
	}
	return m.detector.changes
}

// observed takes an added or updated object of a watched type: a changed
// fingerprint of a tracked object queues a check.
func (m *Monitor) observed(k watchKey, gk schema.GroupKind, obj any, initial bool) {
	d := m.detector
	if d == nil {
		return
	}
	acc, err := meta.Accessor(obj)
	if err != nil {
		return
	}
	key := objectKey{Group: gk.Group, Kind: gk.Kind, Namespace: acc.GetNamespace(), Name: acc.GetName()}
	fp := fingerprint(acc)
	d.mu.Lock()
	last, known := d.seen[key]
	d.seen[key] = fp
	d.mu.Unlock()
	// An object first seen after the watch began was just created, from
	// the manifest.
	if (known && last == fp) || (!known && !initial) {
		return
	}
	release := acc.GetLabels()[ModuleLabel]
	m.mu.Lock()
	tracked := m.keys[release][key]
	m.mu.Unlock()
	if tracked {
		d.enqueue(driftItem{release: release, key: key, gvr: k.gvr, initial: !known})
	}
}

// forgetObject drops what is known of a deleted object.
func (m *Monitor) forgetObject(release string, key objectKey) {
	d := m.detector
	if d == nil {
		return
	}
	d.mu.Lock()
	delete(d.seen, key)
	delete(d.fights, key)
	_, reported := d.reports[release][key]
	delete(d.reports[release], key)
	d.mu.Unlock()
	if reported {
		d.changed()
	}
}

// forgetRelease drops the drift reports of an untracked release.
func (m *Monitor) forgetRelease(release string) {
	d := m.detector
	if d == nil {
		return
	}
	d.mu.Lock()
	_, reported := d.reports[release]
	delete(d.reports, release)
	d.mu.Unlock()
	if reported {
		d.changed()
	}
}

// recheck queues every tracked object of release.
func (m *Monitor) recheck(release string) {
	m.mu.Lock()
	objs := slices.Clone(m.releases[release])
	m.mu.Unlock()
	for _, o := range objs {
		gvk := schema.FromAPIVersionAndKind(o.APIVersion, o.Kind)
		mapping, err := m.api.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			continue
		}
		m.detector.enqueue(driftItem{release: release, key: keyOf(o), gvr: mapping.Resource})
	}
}

// fingerprint hashes what a write other than to the status subresource
// changes in an object's metadata: its generation, labels, annotations and
// the managedFields entries of other subresources than status.
func fingerprint(acc metav1.Object) uint64 {
	h := fnv.New64a()
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], uint64(acc.GetGeneration()))
	h.Write(buf[:])
	writeMap := func(tag string, m map[string]string) {
		h.Write([]byte(tag))
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			h.Write([]byte(k))
			h.Write([]byte{0})
			h.Write([]byte(m[k]))
			h.Write([]byte{0})
		}
	}
	writeMap("labels", acc.GetLabels())
	writeMap("annotations", acc.GetAnnotations())
	h.Write([]byte("managedFields"))
	for _, f := range acc.GetManagedFields() {
		if f.Subresource == "status" {
			continue
		}
		h.Write([]byte(f.Manager))
		h.Write([]byte{0})
		h.Write([]byte(f.Operation))
		h.Write([]byte{0})
		if f.Time != nil {
			h.Write([]byte(f.Time.UTC().Format(time.RFC3339)))
		}
		h.Write([]byte{0})
		if f.FieldsV1 != nil {
			h.Write(f.FieldsV1.Raw)
		}
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// enqueue queues a check of an object; a queued initial check of an
// object seen changed since becomes an ordinary one.
func (d *driftWatch) enqueue(it driftItem) {
	d.mu.Lock()
	switch {
	case !d.queued[it.key]:
		d.queued[it.key] = true
		d.queue = append(d.queue, it)
	case !it.initial:
		for i := range d.queue {
			if d.queue[i].key == it.key {
				d.queue[i].initial = false
			}
		}
	}
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// next takes the first queued object and every other queued object of
// its release, to be checked under one hold of the release's lock and one
// read of its deployed revision; nil when none is queued.
func (d *driftWatch) next() []driftItem {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.checking = len(d.queue) > 0
	if !d.checking {
		return nil
	}
	release := d.queue[0].release
	var batch, rest []driftItem
	for _, it := range d.queue {
		if it.release == release {
			batch = append(batch, it)
			delete(d.queued, it.key)
		} else {
			rest = append(rest, it)
		}
	}
	d.queue = rest
	return batch
}

func (d *driftWatch) changed() {
	select {
	case d.changes <- struct{}{}:
	default:
	}
}

// runDrift checks queued objects, one at a time, until ctx is done.
func (m *Monitor) runDrift(ctx context.Context) {
	d := m.detector
	select {
	case <-ctx.Done():
		return
	case <-d.policied:
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		}
		for ctx.Err() == nil {
			batch := d.next()
			if batch == nil {
				break
			}
			m.checkRelease(ctx, batch)
		}
	}
}

// checkRelease checks objects of one release, under one hold of its lock,
// and corrects, reports or forgets their drift as the policy says.
func (m *Monitor) checkRelease(ctx context.Context, batch []driftItem) {
	d := m.detector
	release := batch[0].release
	d.mu.Lock()
	mp := d.policy.For(release)
	d.mu.Unlock()
	var items []driftItem
	for _, it := range batch {
		if mp.Mode == DriftIgnore || !m.tracks(it) {
			d.report(it.release, it.key, nil)
			continue
		}
		items = append(items, it)
	}
	if len(items) == 0 {
		return
	}
	l, err := d.client.lockForDrift(ctx, release)
	switch {
	case err == errReleaseBusy:
		time.AfterFunc(driftBusyRetry, func() {
			for _, it := range items {
				if ctx.Err() == nil {
					d.enqueue(it)
				}
			}
		})
		return
	case err != nil:
		if ctx.Err() == nil {
			m.log.Warn("drift check failed", "release", release, "error", err)
		}
		return
	}
	defer l.unlock()
	for _, it := range items {
		if ctx.Err() != nil {
			return
		}
		m.checkDrift(ctx, l, it, mp)
	}
}

// checkDrift checks one object of a release whose lock l holds.
func (m *Monitor) checkDrift(ctx context.Context, l *driftLock, it driftItem, mp ModuleDriftPolicy) {
	d := m.detector
	d.mu.Lock()
	paused := false
	if f := d.fights[it.key]; f != nil && time.Now().Before(f.pausedUntil) {
		paused = true
	}
	d.mu.Unlock()
	correct := mp.Mode == DriftCorrect && !paused
	var current metav1.Object
	if it.initial {
		current, _ = m.stored(it.gvr, it.key.Namespace, it.key.Name)
	}
	res, err := l.check(ctx, it, mp, correct, current)
	switch {
	case err != nil:
		if ctx.Err() == nil {
			m.log.Warn("drift check failed", "release", it.release, "kind", it.key.Kind, "namespace", it.key.Namespace, "name", it.key.Name, "error", err)
		}
		return
	case res.skipped:
		return
	}
	if d.obs != nil {
		d.obs.DriftChecked(it.release)
	}
	if len(res.drift.Paths) == 0 {
		d.report(it.release, it.key, nil)
		return
	}
	if !res.corrected {
		if m.tracks(it) { // not untracked meanwhile
			res.drift.Paused = paused
			d.report(it.release, it.key, &res.drift)
		}
		return
	}
	m.log.Info("object of a release drifted, corrected", "release", it.release, "kind", it.key.Kind, "namespace", it.key.Namespace, "name", it.key.Name, "revision", res.drift.Revision, "paths", res.drift.Paths)
	d.report(it.release, it.key, nil)
	if d.obs != nil {
		d.obs.DriftCorrected(DriftCorrection{Release: it.release, Object: res.drift.Object, UID: res.uid, Revision: res.drift.Revision, Paths: res.drift.Paths})
	}
	if d.countCorrection(it.key, time.Now()) {
		m.log.Warn("object of a release keeps changing after corrections: someone else writes it; reporting instead of correcting for a while", "release", it.release, "kind", it.key.Kind, "namespace", it.key.Namespace, "name", it.key.Name, "pause", fightPause.String())
		// Drift reported during the pause is corrected when it ends, also
		// if nobody writes the object again.
		time.AfterFunc(fightPause, func() {
			if ctx.Err() == nil {
				d.enqueue(it)
			}
		})
	}
}

// tracks reports whether the object of it is tracked for its release.
func (m *Monitor) tracks(it driftItem) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.keys[it.release][it.key]
}

// countCorrection records a correction and reports whether it starts a
// pause.
func (d *driftWatch) countCorrection(key objectKey, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	f := d.fights[key]
	if f == nil {
		f = &fight{}
		d.fights[key] = f
	}
	f.at = append(slices.DeleteFunc(f.at, func(t time.Time) bool { return now.Sub(t) > fightWindow }), now)
	if len(f.at) > d.fightLimit {
		f.at, f.pausedUntil = nil, now.Add(fightPause)
		return true
	}
	return false
}

// report sets (o non-nil) or clears the drift report of an object.
func (d *driftWatch) report(release string, key objectKey, o *DriftObject) {
	d.mu.Lock()
	prev, had := d.reports[release][key]
	switch {
	case o == nil && !had:
		d.mu.Unlock()
		return
	case o == nil:
		delete(d.reports[release], key)
		if len(d.reports[release]) == 0 {
			delete(d.reports, release)
		}
	default:
		if had && prev.Diff == o.Diff && prev.Paused == o.Paused && prev.Revision == o.Revision {
			d.mu.Unlock()
			return
		}
		if d.reports[release] == nil {
			d.reports[release] = map[objectKey]DriftObject{}
		}
		d.reports[release][key] = *o
	}
	d.mu.Unlock()
	d.changed()
}
