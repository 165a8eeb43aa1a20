// Package webhook is the validating admission webhook for the operator's
// ConfigMap and its Secret (--webhook): the API server asks it before it
// stores an edit, and an edit that adds a problem the operator would
// reject at load is refused at `kubectl apply` time, naming the new
// problems with the same messages (key, YAML line, field path). Problems
// already stored, and keys of no known module, are returned as warnings.
//
// Every replica serves it over HTTPS (not only the leader), so it stays
// available in HA. The replicas share one self-signed CA and serving
// certificate in a Secret (default addon-operator-webhook-tls) that any of
// them creates when it is missing and renews before it expires; each
// replica reloads it without a restart. The operator also owns the
// ValidatingWebhookConfiguration and keeps its caBundle in line with the
// Secret. failurePolicy is Ignore: when no replica answers, edits pass and
// the operator's own check at load still applies.
//
// It owns the admission endpoint, its TLS Secret and the
// ValidatingWebhookConfiguration. It only answers admission reviews: it
// never writes the ConfigMap or its Secret, and must not import converge or
// updater.
package webhook
