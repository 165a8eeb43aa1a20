package operator

import (
	"log/slog"
)

// peerEnv is an environment variable of flant/addon-operator or
// shell-operator that this operator cannot honour with the same meaning,
// and what to use instead.
type peerEnv struct {
	name        string
	replacement string
	// same is the one value that means here what it means to the peer
	// (no warning); empty when there is none.
	same string
}

// unsupportedPeerEnv lists the peer's names with no equivalent here. The
// peer's names that do have one (KUBE_CONFIG, KUBE_CLIENT_QPS, KUBE_CLIENT_BURST,
// DEBUG_UNIX_SOCKET, LOG_TYPE)
// are flag defaults in BindFlags instead.
var unsupportedPeerEnv = []peerEnv{
	// Hooks' kubectl reads the same KUBECONFIG and knows no KUBE_CONTEXT:
	// a context of the operator's only would split hooks and Helm across
	// two clusters.
	{name: "KUBE_CONTEXT", replacement: "a kubeconfig (--kubeconfig, KUBECONFIG) whose current-context is the wanted one"},
	{name: "ADDON_OPERATOR_PROMETHEUS_METRICS_PREFIX", replacement: "nothing: metric names keep the fixed prefix addon_operator_ (relabel in Prometheus to rename)", same: "addon_operator_"},
	{name: "UNNUMBERED_MODULE_ORDER", replacement: "an NNN- prefix on the module's directory: modules without one are ordered 0"},
}

// warnPeerEnv logs one warning for each peer variable that is set but
// means nothing here, so a deployment moved from the peer does not lose a
// setting silently. lookup is os.LookupEnv outside tests.
func warnPeerEnv(log *slog.Logger, lookup func(string) (string, bool)) {
	for _, e := range unsupportedPeerEnv {
		if v, ok := lookup(e.name); ok && (e.same == "" || v != e.same) {
			log.Warn("peer environment variable not supported, ignored", "variable", e.name, "replacement", e.replacement)
		}
	}
}
