package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/seedops/addon-operator/pkg/configstore"
)

// maxReviewBytes bounds a request body: an AdmissionReview carries the new
// and the old object, each at most 1 MiB of data (base64 for Secrets).
const maxReviewBytes = 8 << 20

// handler answers AdmissionReviews (v1) for the config ConfigMap and
// Secret. An edit of one is checked together with the other as stored;
// other objects are allowed untouched. Safe for concurrent use.
type handler struct {
	client    kubernetes.Interface
	namespace string
	configMap string
	secret    string
	schemas   configstore.Schemas
	log       *slog.Logger
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "want POST", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxReviewBytes+1))
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	if len(body) > maxReviewBytes {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &review); err != nil || review.Request == nil {
		http.Error(w, "want an admission.k8s.io/v1 AdmissionReview with a request", http.StatusBadRequest)
		return
	}
	resp := h.review(r.Context(), review.Request)
	resp.UID = review.Request.UID
	out := admissionv1.AdmissionReview{TypeMeta: review.TypeMeta, Response: resp}
	if out.APIVersion == "" {
		out.APIVersion, out.Kind = admissionv1.SchemeGroupVersion.String(), "AdmissionReview"
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// review decides on one request: an edit is refused when it adds a
// problem (see configstore.Findings.Added) to the configuration as it was
// before the edit, the other object as stored; problems that were there
// before, and keys of no known module, come back as warnings.
func (h *handler) review(ctx context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	if req.Namespace != h.namespace || req.Kind.Group != "" || req.Kind.Version != "v1" {
		return allowed()
	}
	var before, after configstore.Findings
	switch {
	case req.Kind.Kind == "ConfigMap" && req.Name == h.configMap:
		cm, err := configMapData(req.Object.Raw)
		if err != nil {
			return allowed(fmt.Sprintf("not validated by the addon-operator: the configmap does not decode: %v", err))
		}
		oldCM, err := configMapData(req.OldObject.Raw)
		if err != nil {
			return allowed(fmt.Sprintf("not validated by the addon-operator: the old configmap does not decode: %v", err))
		}
		secret, err := h.readSecret(ctx)
		if err != nil {
			return h.unchecked(err)
		}
		after = configstore.Check(cm, secret, h.schemas)
		if oldCM != nil {
			before = configstore.Check(oldCM, secret, h.schemas)
		}
	case req.Kind.Kind == "Secret" && req.Name == h.secret:
		secret, err := secretData(req.Object.Raw)
		if err != nil {
			return allowed(fmt.Sprintf("not validated by the addon-operator: the secret does not decode: %v", err))
		}
		oldSecret, err := secretData(req.OldObject.Raw)
		if err != nil {
			return allowed(fmt.Sprintf("not validated by the addon-operator: the old secret does not decode: %v", err))
		}
		cm, err := h.readConfigMap(ctx)
		if err != nil {
			return h.unchecked(err)
		}
		after = configstore.Check(cm, secret, h.schemas)
		if oldSecret != nil {
			before = configstore.Check(cm, oldSecret, h.schemas)
		}
	default:
		return allowed()
	}
	if added := after.Added(before); len(added) > 0 {
		msg := "invalid config: " + added[0]
		if len(added) > 1 {
			msg = fmt.Sprintf("invalid config, %d new problems:\n%s", len(added), strings.Join(added, "\n"))
		}
		h.log.Info("configuration refused by the webhook", "configmap", h.configMap, "error", msg)
		return &admissionv1.AdmissionResponse{
			Allowed: false,
			Result: &metav1.Status{
				Status:  metav1.StatusFailure,
				Reason:  metav1.StatusReasonForbidden,
				Code:    http.StatusForbidden,
				Message: msg,
			},
		}
	}
	warnings := slices.Clone(after.Warnings)
	for _, p := range after.Problems {
		warnings = append(warnings, "still invalid, the operator keeps its last accepted config: "+p)
	}
	return allowed(warnings...)
}

// unchecked allows an edit that could not be checked.
func (h *handler) unchecked(err error) *admissionv1.AdmissionResponse {
	h.log.Warn("configuration not validated by the webhook", "configmap", h.configMap, "error", err)
	return allowed(fmt.Sprintf("not validated by the addon-operator: %v; the operator checks the configuration when it loads it", err))
}

// configMapData decodes a ConfigMap's data; nil for no object.
func configMapData(raw []byte) (map[string]string, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var obj corev1.ConfigMap
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, err
	}
	if obj.Data == nil {
		return map[string]string{}, nil
	}
	return obj.Data, nil
}

// secretData decodes a Secret's data with its stringData on top; nil for
// no object.
func secretData(raw []byte) (map[string][]byte, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var obj corev1.Secret
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, err
	}
	data := maps.Clone(obj.Data)
	if data == nil {
		data = map[string][]byte{}
	}
	for k, v := range obj.StringData {
		data[k] = []byte(v)
	}
	return data, nil
}

func allowed(warnings ...string) *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{Allowed: true, Warnings: warnings}
}

// readSecret returns the stored Secret's data, nil when there is none.
func (h *handler) readSecret(ctx context.Context) (map[string][]byte, error) {
	s, err := h.client.CoreV1().Secrets(h.namespace).Get(ctx, h.secret, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read secret %s: %w", h.secret, err)
	}
	return s.Data, nil
}

// readConfigMap returns the stored ConfigMap's data, nil when there is
// none.
func (h *handler) readConfigMap(ctx context.Context) (map[string]string, error) {
	c, err := h.client.CoreV1().ConfigMaps(h.namespace).Get(ctx, h.configMap, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read configmap %s: %w", h.configMap, err)
	}
	return c.Data, nil
}
