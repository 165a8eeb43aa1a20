package updater

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"
)

// Phase is where a release is in its life.
type Phase string

// Release phases.
const (
	// PhasePending: found on the channel, not applied yet (waiting for a
	// window, an approval, or held as a downgrade; see the message).
	PhasePending Phase = "Pending"
	// PhaseDeployed: the release in force.
	PhaseDeployed Phase = "Deployed"
	// PhaseSuperseded: deployed once, or pending, and replaced by a newer
	// release.
	PhaseSuperseded Phase = "Superseded"
	// PhaseFailed: refused before the swap (download, verification or
	// loading failed); the running bundle was not touched.
	PhaseFailed Phase = "Failed"
	// PhaseRolledBack: swapped in, did not converge, swapped back out.
	PhaseRolledBack Phase = "RolledBack"
)

// Label and annotation of Release objects.
const (
	// LabelNamespace holds the namespace of the operator a Release belongs
	// to, so that several operators share the cluster-scoped kind.
	LabelNamespace = "addons.seedops.io/operator-namespace"
	// AnnotationApproved set to "true" approves a Pending release in
	// Manual mode.
	AnnotationApproved = "addons.seedops.io/approved"
	// AnnotationApprovedBy and AnnotationApprovalReason record who approved
	// over the operator's debug socket and why. They are informational: an
	// approval by `kubectl annotate` has neither (the API server's audit
	// log names that user).
	AnnotationApprovedBy     = "addons.seedops.io/approved-by"
	AnnotationApprovalReason = "addons.seedops.io/approval-reason"
)

// ErrNoCRD: the cluster does not serve releases.addons.seedops.io.
var ErrNoCRD = errors.New("the CRD releases.addons.seedops.io is not installed")

// GVR is the Release resource.
var GVR = schema.GroupVersionResource{Group: "addons.seedops.io", Version: "v1alpha1", Resource: "releases"}

// Release is one bundle version seen on a channel.
type Release struct {
	Name      string
	Version   string
	Channel   string
	Digest    string
	Source    string
	Changelog string
	Phase     Phase
	Message   string
	Approved  bool
	// Approval is what AnnotationApprovedBy and AnnotationApprovalReason
	// say, empty when the release was approved otherwise.
	Approval Approval
	// Created is the object's creation time; Transition when Phase last
	// changed.
	Created    time.Time
	Transition time.Time
}

var nameUnsafe = regexp.MustCompile(`[^a-z0-9.-]+`)

// releaseName is "<namespace>-<version>-<first 12 hex digits of the
// digest>": readable, and unique per operator and bundle.
func releaseName(namespace, version, digest string) string {
	_, hex, _ := strings.Cut(digest, ":")
	if len(hex) > 12 {
		hex = hex[:12]
	}
	name := nameUnsafe.ReplaceAllString(strings.ToLower(namespace+"-"+version), "-")
	if len(name) > 200 {
		name = name[:200]
	}
	return strings.Trim(name, ".-") + "-" + hex
}

// KubeReleases keeps Release objects in the cluster. Its methods are safe
// for concurrent use; each is one or a few API calls.
type KubeReleases struct {
	client    dynamic.NamespaceableResourceInterface
	namespace string
	now       func() time.Time
	masker    Masker
}

// Masker hides secret values in text (*mask.Masker). Mask must be safe
// for concurrent use.
type Masker interface {
	Mask(s string) string
}

// ReleasesOption configures a KubeReleases.
type ReleasesOption func(*KubeReleases)

// WithMasker has every status message passed through m before it is
// written: a failed update quotes module errors (hook output, Helm errors)
// that may hold secret values, and Releases are cluster-scoped.
func WithMasker(m Masker) ReleasesOption {
	return func(k *KubeReleases) { k.masker = m }
}

// NewKubeReleases returns the store of the Releases of the operator in
// namespace.
func NewKubeReleases(client dynamic.Interface, namespace string, now func() time.Time, opts ...ReleasesOption) *KubeReleases {
	k := &KubeReleases{client: client.Resource(GVR), namespace: namespace, now: now}
	for _, o := range opts {
		o(k)
	}
	return k
}

func (k *KubeReleases) mask(s string) string {
	if k.masker == nil {
		return s
	}
	return k.masker.Mask(s)
}

// List returns this operator's releases.
func (k *KubeReleases) List(ctx context.Context) ([]Release, error) {
	list, err := k.client.List(ctx, metav1.ListOptions{LabelSelector: LabelNamespace + "=" + k.namespace})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("list releases: %w (kubectl apply -f deploy/crds/release.yaml): %w", ErrNoCRD, err)
		}
		return nil, fmt.Errorf("list releases: %w", err)
	}
	out := make([]Release, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, fromObject(&list.Items[i]))
	}
	return out, nil
}

// Create makes the Release object with r's spec and status. An existing
// object of the same name is left as it is.
func (k *KubeReleases) Create(ctx context.Context, r Release) error {
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": GVR.GroupVersion().String(),
		"kind":       "Release",
		"metadata": map[string]any{
			"name":   r.Name,
			"labels": map[string]any{LabelNamespace: k.namespace},
		},
		"spec": map[string]any{
			"version": r.Version, "channel": r.Channel, "digest": r.Digest,
			"source": r.Source, "changelog": r.Changelog,
		},
	}}
	created, err := k.client.Create(ctx, obj, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create release %s: %w", r.Name, err)
	}
	k.setStatus(created, r.Phase, k.mask(r.Message))
	if _, err := k.client.UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("release %s status: %w", r.Name, err)
	}
	return nil
}

// Approval is who approved a release and why, as recorded on it.
type Approval struct {
	// By names the approver; empty records nothing.
	By string
	// Reason is free text; empty records nothing.
	Reason string
}

// Approve sets the approval annotation on the Release object name, and
// AnnotationApprovedBy and AnnotationApprovalReason from a (a merge patch
// of its metadata, so it never conflicts with status writes; a field of a
// left empty removes an older annotation). It does not check the phase or
// the owner: callers pick the release from List.
func (k *KubeReleases) Approve(ctx context.Context, name string, a Approval) error {
	annotations := map[string]any{AnnotationApproved: "true", AnnotationApprovedBy: nil, AnnotationApprovalReason: nil}
	if a.By != "" {
		annotations[AnnotationApprovedBy] = a.By
	}
	if a.Reason != "" {
		annotations[AnnotationApprovalReason] = a.Reason
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": annotations}})
	if err != nil {
		return fmt.Errorf("approve release %s: %w", name, err)
	}
	if _, err := k.client.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("approve release %s: %w", name, err)
	}
	return nil
}

// SetStatus sets a release's phase and message, retrying on conflicts.
func (k *KubeReleases) SetStatus(ctx context.Context, name string, phase Phase, message string) error {
	message = k.mask(message)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		obj, err := k.client.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		cur := fromObject(obj)
		if cur.Phase == phase && cur.Message == message {
			return nil
		}
		k.setStatus(obj, phase, message)
		_, err = k.client.UpdateStatus(ctx, obj, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("release %s status: %w", name, err)
	}
	return nil
}

func (k *KubeReleases) setStatus(obj *unstructured.Unstructured, phase Phase, message string) {
	status, _, _ := unstructured.NestedMap(obj.Object, "status")
	if status == nil {
		status = map[string]any{}
	}
	if status["phase"] != string(phase) || status["lastTransitionTime"] == nil {
		status["lastTransitionTime"] = k.now().UTC().Format(time.RFC3339)
	}
	status["phase"], status["message"] = string(phase), message
	obj.Object["status"] = status
}

func fromObject(obj *unstructured.Unstructured) Release {
	str := func(fields ...string) string {
		s, _, _ := unstructured.NestedString(obj.Object, fields...)
		return s
	}
	r := Release{
		Name:      obj.GetName(),
		Version:   str("spec", "version"),
		Channel:   str("spec", "channel"),
		Digest:    str("spec", "digest"),
		Source:    str("spec", "source"),
		Changelog: str("spec", "changelog"),
		Phase:     Phase(str("status", "phase")),
		Message:   str("status", "message"),
		Approved:  obj.GetAnnotations()[AnnotationApproved] == "true",
		Approval:  Approval{By: obj.GetAnnotations()[AnnotationApprovedBy], Reason: obj.GetAnnotations()[AnnotationApprovalReason]},
		Created:   obj.GetCreationTimestamp().Time,
	}
	if t, err := time.Parse(time.RFC3339, str("status", "lastTransitionTime")); err == nil {
		r.Transition = t
	}
	if r.Phase == "" {
		r.Phase = PhasePending
	}
	return r
}
