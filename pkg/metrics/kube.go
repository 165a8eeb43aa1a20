package metrics

import (
	metricsstorage "github.com/deckhouse/deckhouse/pkg/metrics-storage"
	sometrics "github.com/flant/shell-operator/pkg/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// monitorLabels are the labels of a kubernetes binding's monitor, as the
// peer sets them: module is "" for a global hook, kind is the watched kind.
var monitorLabels = []string{"module", "hook", "binding", "queue", "kind"}

// monitorBuckets are the peer's buckets for the monitors' timings (jq
// filters and event handling usually take well under a second).
var monitorBuckets = []float64{0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10}

// kubeCollectors are what shell-operator's kubernetes monitors measure.
type kubeCollectors struct {
	snapshotObjects *prometheus.GaugeVec
	jqSeconds       *prometheus.HistogramVec
	eventSeconds    *prometheus.HistogramVec
	watchErrors     *prometheus.CounterVec
	monitorMissing  *prometheus.CounterVec
	informerDead    *prometheus.CounterVec
}

func newKubeCollectors() kubeCollectors {
	return kubeCollectors{
		snapshotObjects: gauge("kube_snapshot_objects", "Objects in the snapshot of a kubernetes binding (module is empty for a global hook).", monitorLabels),
		jqSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: prefix + "kube_jq_filter_duration_seconds", Help: "Time of a kubernetes binding's jqFilter on one object.", Buckets: monitorBuckets,
		}, monitorLabels),
		eventSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: prefix + "kube_event_duration_seconds", Help: "Time a kubernetes binding's monitor took to handle one watch event.", Buckets: monitorBuckets,
		}, monitorLabels),
		watchErrors:    counter("kubernetes_client_watch_errors_total", "Watches of kubernetes bindings that ended, by error_type (expired, eof, unexpected-eof, fail); each is restarted.", []string{"error_type"}),
		monitorMissing: counter("binding_monitor_missing_total", "Snapshot reads of a kubernetes binding that had no monitor (the hook got an empty snapshot).", []string{"binding"}),
		informerDead:   counter("factory_informer_dead_total", "Informers of kubernetes bindings found stopped and recreated.", []string{"gvr", "namespace"}),
	}
}

func (k kubeCollectors) collectors() []prometheus.Collector {
	return []prometheus.Collector{k.snapshotObjects, k.jqSeconds, k.eventSeconds, k.watchErrors, k.monitorMissing, k.informerDead}
}

// forget removes the monitor series that match l (a module or a global
// hook the bundle no longer has).
func (k kubeCollectors) forget(l prometheus.Labels) {
	k.snapshotObjects.DeletePartialMatch(l)
	k.jqSeconds.DeletePartialMatch(l)
	k.eventSeconds.DeletePartialMatch(l)
}

// KubeStorage returns the metric storage to hand shell-operator's kube
// events manager: the measurements of its monitors, informers and binding
// controllers go to this package's collectors, under the peer's names and
// labels; any other measurement goes to rest. The monitors' labels are
// read from their MetricLabels (module, hook, binding, queue, kind; a
// missing one is empty). Safe for concurrent use.
func (m *Metrics) KubeStorage(rest metricsstorage.Storage) metricsstorage.Storage {
	return kubeStorage{Storage: rest, k: m.kube}
}

// kubeStorage overrides the three methods the library reports through;
// the library's metric names are compared with its own variables, so the
// prefix it was or was not given does not matter.
type kubeStorage struct {
	metricsstorage.Storage
	k kubeCollectors
}

func (s kubeStorage) GaugeSet(name string, v float64, labels map[string]string) {
	if name == sometrics.KubeSnapshotObjects {
		s.k.snapshotObjects.WithLabelValues(labelValues(monitorLabels, labels)...).Set(v)
		return
	}
	s.Storage.GaugeSet(name, v, labels)
}

func (s kubeStorage) HistogramObserve(name string, v float64, labels map[string]string, buckets []float64) {
	switch name {
	case sometrics.KubeJqFilterDurationSeconds:
		s.k.jqSeconds.WithLabelValues(labelValues(monitorLabels, labels)...).Observe(v)
	case sometrics.KubeEventDurationSeconds:
		s.k.eventSeconds.WithLabelValues(labelValues(monitorLabels, labels)...).Observe(v)
	default:
		s.Storage.HistogramObserve(name, v, labels, buckets)
	}
}

func (s kubeStorage) CounterAdd(name string, v float64, labels map[string]string) {
	switch name {
	case sometrics.KubernetesClientWatchErrorsTotal:
		s.k.watchErrors.WithLabelValues(labels["error_type"]).Add(v)
	case sometrics.BindingMonitorMissingTotal:
		s.k.monitorMissing.WithLabelValues(labels["binding"]).Add(v)
	case sometrics.FactoryInformerDeadTotal:
		s.k.informerDead.WithLabelValues(labels["gvr"], labels["namespace"]).Add(v)
	default:
		s.Storage.CounterAdd(name, v, labels)
	}
}

// labelValues picks the values of names from labels, "" for a missing one.
func labelValues(names []string, labels map[string]string) []string {
	values := make([]string, len(names))
	for i, n := range names {
		values[i] = labels[n]
	}
	return values
}
