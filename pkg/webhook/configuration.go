package webhook

import (
	"context"
	"fmt"
	"maps"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// WebhookName is the webhook's name in the ValidatingWebhookConfiguration,
// shown by the API server when it refuses an edit ("admission webhook
// \"config.addons.seedops.io\" denied the request: ...").
const WebhookName = "config.addons.seedops.io"

// timeoutSeconds bounds one call of the API server; after it the edit
// passes (failurePolicy Ignore).
const timeoutSeconds = 5

// target is what the configuration registers: the objects to validate and
// how the API server reaches the webhook.
type target struct {
	name      string // of the ValidatingWebhookConfiguration
	namespace string
	objects   []string // ConfigMap and Secret names
	url       string
	service   string
}

// configuration returns the ValidatingWebhookConfiguration for t trusting
// caBundle, with every field the API server would default set, so that an
// unchanged configuration compares equal to the stored one.
func (t target) configuration(caBundle []byte) *admissionregistrationv1.ValidatingWebhookConfiguration {
	fail := admissionregistrationv1.Ignore
	side := admissionregistrationv1.SideEffectClassNone
	match := admissionregistrationv1.Equivalent
	scope := admissionregistrationv1.NamespacedScope
	timeout := int32(timeoutSeconds)
	client := admissionregistrationv1.WebhookClientConfig{CABundle: caBundle}
	if t.url != "" {
		u := t.url
		client.URL = &u
	} else {
		path, port := Path, int32(443)
		client.Service = &admissionregistrationv1.ServiceReference{Namespace: t.namespace, Name: t.service, Path: &path, Port: &port}
	}
	quoted := make([]string, len(t.objects))
	for i, o := range t.objects {
		quoted[i] = "'" + o + "'"
	}
	return &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{
			Name:   t.name,
			Labels: map[string]string{"app.kubernetes.io/name": "addon-operator", "app.kubernetes.io/component": "webhook"},
		},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:         WebhookName,
			ClientConfig: client,
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
				Rule: admissionregistrationv1.Rule{
					APIGroups:   []string{""},
					APIVersions: []string{"v1"},
					Resources:   []string{"configmaps", "secrets"},
					Scope:       &scope,
				},
			}},
			FailurePolicy:     &fail,
			MatchPolicy:       &match,
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": t.namespace}},
			ObjectSelector:    &metav1.LabelSelector{},
			SideEffects:       &side,
			TimeoutSeconds:    &timeout,
			// Evaluated by the API server: other ConfigMaps and Secrets of
			// the namespace (Helm's release records, charts' objects) are
			// not sent to the webhook at all.
			MatchConditions: []admissionregistrationv1.MatchCondition{{
				Name:       "config-objects",
				Expression: "object.metadata.name in [" + strings.Join(quoted, ", ") + "]",
			}},
			AdmissionReviewVersions: []string{"v1"},
		}},
	}
}

// ensureConfiguration creates the ValidatingWebhookConfiguration or brings
// the stored one in line with want; it writes only when they differ. A
// write that loses a race returns the error; the next check tries again.
func ensureConfiguration(ctx context.Context, client kubernetes.Interface, want *admissionregistrationv1.ValidatingWebhookConfiguration) (changed bool, err error) {
	api := client.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	cur, err := api.Get(ctx, want.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		if _, err := api.Create(ctx, want, metav1.CreateOptions{}); err != nil {
			return false, fmt.Errorf("create validatingwebhookconfiguration %s: %w", want.Name, err)
		}
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("read validatingwebhookconfiguration %s: %w", want.Name, err)
	}
	labelsOK := true
	for k, v := range want.Labels {
		if cur.Labels[k] != v {
			labelsOK = false
		}
	}
	if labelsOK && apiequality.Semantic.DeepEqual(cur.Webhooks, want.Webhooks) {
		return false, nil
	}
	next := cur.DeepCopy()
	if next.Labels == nil {
		next.Labels = map[string]string{}
	}
	maps.Copy(next.Labels, want.Labels)
	next.Webhooks = want.Webhooks
	if _, err := api.Update(ctx, next, metav1.UpdateOptions{}); err != nil {
		return false, fmt.Errorf("update validatingwebhookconfiguration %s: %w", want.Name, err)
	}
	return true, nil
}
