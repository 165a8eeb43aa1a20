package helm

import (
	"errors"
	"maps"
	"strconv"
	"strings"
	"sync"

	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
)

// releaseRecords is Helm's secrets driver for one operation on one release,
// made while the client holds the release's lock. The SDK reads a release's
// history several times in one install or upgrade (the last revision, the
// name's availability, the deployed revision, the history before pruning
// it), and the secrets driver lists the release's records from the API
// server for each read, decoding every one of them each time. Here the
// first read lists them once and later reads of the release's records are
// answered from that list and from what the operation itself wrote since:
// nothing else writes the operator's releases while it holds the lock.
// Reads and writes of other releases, and reads of one record by its key
// (no install, upgrade or uninstall makes them), go to the API server as
// before.
type releaseRecords struct {
	*driver.Secrets
	name string

	mu     sync.Mutex
	loaded bool
	recs   map[string]*release.Release // by key, with the labels of their Secrets
}

func newReleaseRecords(d *driver.Secrets, name string) *releaseRecords {
	return &releaseRecords{Secrets: d, name: name}
}

// recordLabels are the labels Helm queries a release's records by, set on
// every record's Secret by the secrets driver.
var recordLabels = map[string]bool{"name": true, "owner": true, "status": true, "version": true}

// Query answers a query of this release's records by the labels the
// secrets driver sets; other queries go to the API server.
func (r *releaseRecords) Query(labels map[string]string) ([]*release.Release, error) {
	if labels["name"] != r.name {
		return r.Secrets.Query(labels)
	}
	for k := range labels {
		if !recordLabels[k] {
			return r.Secrets.Query(labels)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.load(); err != nil {
		return nil, err
	}
	var out []*release.Release
	for _, rec := range r.recs {
		match := true
		for k, v := range labels {
			if rec.Labels[k] != v {
				match = false
				break
			}
		}
		if match {
			out = append(out, copyRecord(rec))
		}
	}
	if len(out) == 0 {
		return nil, driver.ErrReleaseNotFound
	}
	return out, nil
}

// load lists the release's records once.
func (r *releaseRecords) load() error {
	if r.loaded {
		return nil
	}
	list, err := r.Secrets.Query(map[string]string{"name": r.name, "owner": "helm"})
	if err != nil && !errors.Is(err, driver.ErrReleaseNotFound) {
		return err
	}
	r.recs = map[string]*release.Release{}
	for _, rec := range list {
		r.recs[recordName(rec.Name, rec.Version)] = rec
	}
	r.loaded = true
	return nil
}

// ours reports whether key names a record of this release.
func (r *releaseRecords) ours(key string) bool {
	v, ok := strings.CutPrefix(key, strings.TrimSuffix(recordName(r.name, 0), "0"))
	if !ok {
		return false
	}
	_, err := strconv.Atoi(v)
	return err == nil
}

// Create writes the record and remembers it.
func (r *releaseRecords) Create(key string, rls *release.Release) error {
	if err := r.Secrets.Create(key, rls); err != nil {
		return err
	}
	r.remember(key, rls)
	return nil
}

// Update writes the record and remembers it.
func (r *releaseRecords) Update(key string, rls *release.Release) error {
	if err := r.Secrets.Update(key, rls); err != nil {
		return err
	}
	r.remember(key, rls)
	return nil
}

// Delete deletes the record and forgets it.
func (r *releaseRecords) Delete(key string) (*release.Release, error) {
	rls, err := r.Secrets.Delete(key)
	r.mu.Lock()
	if r.loaded && err == nil {
		delete(r.recs, key)
	}
	r.mu.Unlock()
	return rls, err
}

// remember keeps a copy of a record just written, labelled as the secrets
// driver labels its Secret. Before the first read nothing is kept: that
// read lists what was written.
func (r *releaseRecords) remember(key string, rls *release.Release) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.loaded || !r.ours(key) {
		return
	}
	rec := copyRecord(rls)
	rec.Labels = maps.Clone(rls.Labels)
	if rec.Labels == nil {
		rec.Labels = map[string]string{}
	}
	rec.Labels["name"] = rls.Name
	rec.Labels["owner"] = "helm"
	rec.Labels["status"] = rls.Info.Status.String()
	rec.Labels["version"] = strconv.Itoa(rls.Version)
	r.recs[key] = rec
}

// copyRecord copies what the SDK changes on a release it read before
// writing it back (its info and labels), so that a change not written is
// not seen by the next read.
func copyRecord(rls *release.Release) *release.Release {
	out := *rls
	if rls.Info != nil {
		info := *rls.Info
		out.Info = &info
	}
	out.Labels = maps.Clone(rls.Labels)
	return &out
}
