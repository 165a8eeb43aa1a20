package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/seedops/addon-operator/pkg/values"
)

const testNS = "addons"

// fakeSchemas stands in for a bundle with sections global, operator and
// echo; echo.replicas must be an integer of at least 0; echo.password is
// x-secret.
type fakeSchemas struct{}

func (fakeSchemas) KnownSection(key string) bool {
	return key == "global" || key == values.OperatorKey || key == "echo"
}

func (fakeSchemas) ValidateSection(key string, v values.Values) error {
	if key != "echo" {
		return nil
	}
	if r, ok := v["replicas"]; ok {
		if n, isNum := r.(float64); !isNum || n < 0 || n != float64(int(n)) {
			return errors.New("echo.replicas: want an integer >= 0")
		}
	}
	return nil
}

func (fakeSchemas) SecretPaths(key string) [][]string {
	if key == "echo" {
		return [][]string{{"password"}}
	}
	return nil
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

func configMap(ns, name string, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Data:       data,
	}
}

func secret(ns, name string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Data:       map[string][]byte{},
	}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

// reviewFor is the AdmissionReview the API server sends for an update of
// obj (a *corev1.ConfigMap or *corev1.Secret).
// reviewFor is the review of an update to obj from old (a create when old
// is nil).
func reviewFor(t *testing.T, obj, old runtime.Object) []byte {
	t.Helper()
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	var oldRaw []byte
	if old != nil {
		if oldRaw, err = json.Marshal(old); err != nil {
			t.Fatal(err)
		}
	}
	meta := obj.(metav1.Object)
	req := &admissionv1.AdmissionRequest{
		UID:       types.UID("uid-1"),
		Kind:      metav1.GroupVersionKind{Version: "v1", Kind: obj.GetObjectKind().GroupVersionKind().Kind},
		Namespace: meta.GetNamespace(),
		Name:      meta.GetName(),
		Operation: admissionv1.Update,
		Object:    runtime.RawExtension{Raw: raw},
		OldObject: runtime.RawExtension{Raw: oldRaw},
	}
	body, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request:  req,
	})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// post sends body to url and decodes the AdmissionReview answer.
func post(t *testing.T, client *http.Client, url string, body []byte) *admissionv1.AdmissionResponse {
	t.Helper()
	resp, err := tryPost(client, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// tryPost is post that returns its error.
func tryPost(client *http.Client, url string, body []byte) (*admissionv1.AdmissionResponse, error) {
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	var out admissionv1.AdmissionReview
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, err
	}
	if out.Response == nil {
		return nil, errors.New("no response in the review")
	}
	if out.Response.UID != "uid-1" {
		return nil, fmt.Errorf("response UID = %q, want the request's", out.Response.UID)
	}
	return out.Response, nil
}
