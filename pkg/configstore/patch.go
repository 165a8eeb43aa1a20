package configstore

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/seedops/addon-operator/pkg/values"
)

// writeBackoff paces the retries of a Patch that lost a race: ten attempts
// within about five seconds.
func writeBackoff() wait.Backoff {
	return wait.Backoff{Duration: 20 * time.Millisecond, Factor: 2, Jitter: 0.5, Steps: 10, Cap: time.Second}
}

// Patch saves a config-values patch (a hook's CONFIG_VALUES_JSON_PATCH_PATH
// output): operation paths start with a section key ("/global/...",
// "/prometheus/grafana/adminPassword", also "from" of move and copy).
//
// It reads the ConfigMap and Secret from the API (not the cache), applies p
// to the merged sections and checks the whole result as a ConfigMap edit
// would be checked; an invalid result, a stored configuration that is itself
// rejected, or an operation that fails returns an error and writes nothing.
// Each section the patch changes is split by Schemas.SecretPaths: the
// x-secret fields go to the Secret, the rest to the ConfigMap (re-serialised,
// so YAML comments of that section are lost; other sections keep their text).
// An x-secret field found in any section of the ConfigMap is moved to the
// Secret. The Secret is written first, then the ConfigMap, each conditional
// on the version read and created when missing; on a conflict the whole
// read-apply-write starts again from a fresh read, so concurrent writers lose
// no update. A patch that changes nothing writes nothing.
//
// When Patch returns nil, Current includes the change and, once the Initial
// event went out, one event reports it (the informer's copy of the write
// later adds none). When Patch fails after the Secret was written, that part
// is in the cluster and arrives later like an admin's edit. Patch blocks for
// the API calls and retries; calls on one Store run one at a time.
func (s *Store) Patch(ctx context.Context, p values.Patch) error {
	if s.cfg.Namespace == "" {
		return ErrNoNamespace
	}
	if len(p) == 0 {
		return nil
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()

	backoff := writeBackoff()
	for {
		res, err := s.patchOnce(ctx, p)
		if err == nil {
			s.saved(res)
			return nil
		}
		if !retryable(err) || backoff.Steps <= 1 {
			return fmt.Errorf("save config patch to configmap %s: %w", s.ref(), err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("save config patch to configmap %s: %w (last attempt: %v)", s.ref(), ctx.Err(), err)
		case <-s.clock.After(backoff.Step()):
		}
	}
}

// retryable errors mean another writer got in between the read and the
// write.
func retryable(err error) bool {
	return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) || apierrors.IsNotFound(err)
}

// patchResult is what one successful read-apply-write did.
type patchResult struct {
	plan  patchPlan
	wrote bool
	rvs   map[string]string
}

func (s *Store) patchOnce(ctx context.Context, p values.Patch) (patchResult, error) {
	secret, err := s.getSecret(ctx)
	if err != nil {
		return patchResult{}, err
	}
	cm, err := s.getConfigMap(ctx)
	if err != nil {
		return patchResult{}, err
	}
	plan, err := planPatch(configMapData(cm), secretData(secret), p, s.schemas)
	if err != nil {
		return patchResult{}, err
	}
	res := patchResult{plan: plan, rvs: map[string]string{}}
	if plan.secretChanged {
		if secret, err = s.writeSecret(ctx, secret, plan.secret); err != nil {
			return patchResult{}, err
		}
		res.wrote = true
	}
	if plan.cmChanged || (cm == nil && res.wrote) {
		if cm, err = s.writeConfigMap(ctx, cm, plan.cm); err != nil {
			return patchResult{}, err
		}
		res.wrote = true
	}
	if secret != nil {
		res.rvs[kindSecret] = secret.ResourceVersion
	}
	if cm != nil {
		res.rvs[kindConfigMap] = cm.ResourceVersion
	}
	return res, nil
}

// saved puts a written patch in force. Called with writeMu held.
func (s *Store) saved(res patchResult) {
	if !res.wrote {
		return
	}
	s.expectEcho(res.rvs)
	for _, key := range res.plan.moved {
		s.log.Warn("secret field moved from configmap to secret", "configmap", s.ref(), "section", key)
	}
	s.log.Info("config patch saved", "configmap", s.ref(), "section", strings.Join(res.plan.changed, ","))
	s.accept(res.plan.snap, true)
}

// patchPlan is the outcome of applying a patch to ConfigMap and Secret data.
type patchPlan struct {
	cm            map[string]string
	secret        map[string][]byte
	cmChanged     bool
	secretChanged bool
	snap          Snapshot
	changed       []string // sections whose content changed
	moved         []string // sections whose x-secret fields left the ConfigMap
}

// planPatch applies p to the configuration stored in cm and secret and
// returns the data to write. It fails when the stored configuration or the
// result is not acceptable, or an operation fails.
func planPatch(cm map[string]string, secret map[string][]byte, p values.Patch, schemas Schemas) (patchPlan, error) {
	for i, op := range p {
		roots := []string{op.Root()}
		if op.Op == "move" || op.Op == "copy" {
			roots = append(roots, values.Operation{Path: op.From}.Root())
		}
		for _, root := range roots {
			if kind, _ := classify(root, schemas); kind != keySection {
				return patchPlan{}, fmt.Errorf("%w: operation %d (%s %s): %w: %q is not a section; want /global/..., /operator/... or /<module values key>/...",
					values.ErrInvalidPatch, i, op.Op, op.Path, ErrUnknownKey, root)
			}
		}
	}
	cur, err := parse(cm, secret, schemas)
	if err != nil {
		return patchPlan{}, fmt.Errorf("stored configuration is rejected, fix it first: %w", err)
	}
	doc := values.Values{}
	for key, section := range cur.snap.sections() {
		doc[key] = map[string]any(section)
	}
	next, err := doc.Apply(p)
	if err != nil {
		return patchPlan{}, err
	}
	nextSections := map[string]values.Values{}
	var errs []error
	for _, key := range sortedKeys(next) {
		m, ok := asMap(next[key])
		if !ok && next[key] != nil {
			errs = append(errs, fmt.Errorf("section %q: %w: want a map of settings, got %s: %w", key, ErrBadSection, values.KindOf(next[key]), values.ErrNotMap))
			continue
		}
		nextSections[key] = m
	}
	if len(errs) > 0 {
		return patchPlan{}, invalid(errs)
	}

	plan := patchPlan{cm: maps.Clone(cm), secret: maps.Clone(secret)}
	if plan.cm == nil {
		plan.cm = map[string]string{}
	}
	if plan.secret == nil {
		plan.secret = map[string][]byte{}
	}
	curSections := cur.snap.sections()
	for _, key := range unionKeys(curSections, nextSections) {
		paths := schemas.SecretPaths(key)
		changed := !values.Equal(curSections[key], nextSections[key])
		misplaced := hasSecret(cur.cmParts[key], paths)
		if !changed && !misplaced {
			continue
		}
		if changed {
			plan.changed = append(plan.changed, key)
		}
		if misplaced {
			plan.moved = append(plan.moved, key)
		}
		plain, secretPart := splitSecret(nextSections[key], paths)
		if misplaced || !values.Equal(plain, cur.cmParts[key]) {
			setOrDelete(plan.cm, key, plain, func(v values.Values) string { return string(v.YAML()) })
		}
		if !values.Equal(secretPart, cur.secretParts[key]) {
			setOrDelete(plan.secret, key, secretPart, values.Values.YAML)
		}
	}
	res, err := parse(plan.cm, plan.secret, schemas)
	if err != nil {
		return patchPlan{}, fmt.Errorf("result of the patch: %w", err)
	}
	plan.snap = res.snap
	plan.cmChanged = !maps.Equal(cm, plan.cm)
	plan.secretChanged = !maps.EqualFunc(secret, plan.secret, func(a, b []byte) bool { return string(a) == string(b) })
	return plan, nil
}

func setOrDelete[T any](data map[string]T, key string, v values.Values, encode func(values.Values) T) {
	if len(v) == 0 {
		delete(data, key)
		return
	}
	data[key] = encode(v)
}
