package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"

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

// review decides on one request.
func (h *handler) review(ctx context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	if req.Namespace != h.namespace || req.Kind.Group != "" || req.Kind.Version != "v1" {
		return allowed()
	}
	var cm map[string]string
	var secret map[string][]byte
	var err error
	switch {
	case req.Kind.Kind == "ConfigMap" && req.Name == h.configMap:
		var obj corev1.ConfigMap
		if err := json.Unmarshal(req.Object.Raw, &obj); err != nil {
			return allowed(fmt.Sprintf("not validated by the addon-operator: the configmap does not decode: %v", err))
		}
		cm = obj.Data
		secret, err = h.readSecret(ctx)
	case req.Kind.Kind == "Secret" && req.Name == h.secret:
		var obj corev1.Secret
		if err := json.Unmarshal(req.Object.Raw, &obj); err != nil {
			return allowed(fmt.Sprintf("not validated by the addon-operator: the secret does not decode: %v", err))
		}
		secret = maps.Clone(obj.Data)
		for k, v := range obj.StringData {
			if secret == nil {
				secret = map[string][]byte{}
			}
			secret[k] = []byte(v)
		}
		cm, err = h.readConfigMap(ctx)
	default:
		return allowed()
	}
	if err != nil {
		h.log.Warn("configuration not validated by the webhook", "configmap", h.configMap, "error", err)
		return allowed(fmt.Sprintf("not validated by the addon-operator: %v; the operator checks the configuration when it loads it", err))
	}
	if err := configstore.Validate(cm, secret, h.schemas); err != nil {
		h.log.Info("configuration refused by the webhook", "configmap", h.configMap, "error", err)
		return &admissionv1.AdmissionResponse{
			Allowed: false,
			Result: &metav1.Status{
				Status:  metav1.StatusFailure,
				Reason:  metav1.StatusReasonForbidden,
				Code:    http.StatusForbidden,
				Message: err.Error(),
			},
		}
	}
	return allowed()
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
