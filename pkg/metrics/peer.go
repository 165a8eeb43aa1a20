package metrics

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/seedops/addon-operator/pkg/module"
)

// alias is a counter or gauge vector that every scrape shows twice: under
// its own name and under the name flant/addon-operator's code emits for the
// same fact. Both come from the one vector, so they never disagree and
// nothing is counted twice; deleting a series of the vector removes it
// under both names.
type alias struct {
	src    prometheus.Collector
	peer   *prometheus.Desc
	labels []string // the vector's label names, in the order peer takes them
}

// withPeerName registers src's series under the peer's name too. labels
// are src's label names; name has no prefix.
func withPeerName(src prometheus.Collector, name, help string, labels []string) *alias {
	return &alias{
		src:    src,
		peer:   prometheus.NewDesc(prefix+name, help, labels, nil),
		labels: labels,
	}
}

// Describe implements prometheus.Collector.
func (a *alias) Describe(ch chan<- *prometheus.Desc) {
	a.src.Describe(ch)
	ch <- a.peer
}

// Collect implements prometheus.Collector: every series of src, then the
// same series under the peer's name.
func (a *alias) Collect(ch chan<- prometheus.Metric) {
	series := make(chan prometheus.Metric)
	go func() {
		a.src.Collect(series)
		close(series)
	}()
	for s := range series {
		ch <- s
		ch <- a.rename(s)
	}
}

// rename copies s under the peer's name. A series it cannot read becomes
// an invalid metric, which fails the scrape loudly rather than hiding it.
func (a *alias) rename(s prometheus.Metric) prometheus.Metric {
	var m dto.Metric
	if err := s.Write(&m); err != nil {
		return prometheus.NewInvalidMetric(a.peer, fmt.Errorf("read series for the peer's name: %w", err))
	}
	byName := make(map[string]string, len(m.GetLabel()))
	for _, l := range m.GetLabel() {
		byName[l.GetName()] = l.GetValue()
	}
	values := make([]string, len(a.labels))
	for i, l := range a.labels {
		values[i] = byName[l]
	}
	switch {
	case m.GetCounter() != nil:
		return prometheus.MustNewConstMetric(a.peer, prometheus.CounterValue, m.GetCounter().GetValue(), values...)
	case m.GetGauge() != nil:
		return prometheus.MustNewConstMetric(a.peer, prometheus.GaugeValue, m.GetGauge().GetValue(), values...)
	}
	return prometheus.NewInvalidMetric(a.peer, fmt.Errorf("series of %s is not a counter or a gauge", a.peer))
}

// moduleInfo shows module_phase as the peer's mm_module_info: 1 per
// module, with enabled "false" for a Disabled module and "true" for the
// other phases. It reads the phase gauge at scrape time, so it has no
// state of its own and follows the phases (and their leader-only rule).
type moduleInfo struct {
	phase *prometheus.GaugeVec
	desc  *prometheus.Desc
}

func newModuleInfo(phase *prometheus.GaugeVec) *moduleInfo {
	return &moduleInfo{
		phase: phase,
		desc: prometheus.NewDesc(prefix+"mm_module_info",
			"1 per module with a Module object: enabled is false when its phase is Disabled (flant/addon-operator's name, from module_phase).",
			[]string{"moduleName", "enabled"}, nil),
	}
}

// Describe implements prometheus.Collector; module_phase is registered on
// its own.
func (i *moduleInfo) Describe(ch chan<- *prometheus.Desc) { ch <- i.desc }

// Collect implements prometheus.Collector.
func (i *moduleInfo) Collect(ch chan<- prometheus.Metric) {
	series := make(chan prometheus.Metric)
	go func() {
		i.phase.Collect(series)
		close(series)
	}()
	for s := range series {
		var m dto.Metric
		if err := s.Write(&m); err != nil || m.GetGauge().GetValue() != 1 {
			continue
		}
		var name, phase string
		for _, l := range m.GetLabel() {
			switch l.GetName() {
			case "module":
				name = l.GetValue()
			case "phase":
				phase = l.GetValue()
			}
		}
		enabled := "true"
		if module.Phase(phase) == module.PhaseDisabled {
			enabled = "false"
		}
		ch <- prometheus.MustNewConstMetric(i.desc, prometheus.GaugeValue, 1, name, enabled)
	}
}
