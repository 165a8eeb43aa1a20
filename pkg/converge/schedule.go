package converge

import (
	"cmp"
	"context"
	"log/slog"
	"slices"

	"github.com/seedops/addon-operator/pkg/module"
)

// runEnabled runs each enabled module of a pass once. A module starts when
// every prerequisite (module.Bundle.Prerequisites) that is enabled in this
// pass has finished its run, whatever the outcome: a failed prerequisite
// is retried on its own (runModule), its dependents are not held back by
// it. At most c.parallelism modules run at once; of those ready to start,
// the first in enable order starts first. Once ctx is cancelled no module
// starts; it returns when every started run has returned, with ctx.Err().
//
// Each module runs in one goroutine, so the lifecycle hooks of one module
// never run concurrently with each other; runs of different modules (and
// their Helm operations, on different releases) may.
func (c *Converger) runEnabled(ctx context.Context, enable []*moduleState, activation module.Activation, log *slog.Logger) error {
	c.mu.Lock()
	b := c.bundle.Modules
	c.mu.Unlock()
	p := newPlan(b, enable)
	done := make(chan int)
	running := 0
	for finished := 0; finished < len(enable); finished++ {
		for running < c.parallelism && ctx.Err() == nil {
			i, ok := p.next()
			if !ok {
				break
			}
			running++
			go func() {
				ms := enable[i]
				c.runModule(ctx, ms, activation, log.With("module", ms.mod.Name))
				done <- i
			}()
		}
		if running == 0 {
			// Cancelled, or nothing can start: the plan has no cycle
			// (module.Load refuses them), so only a cancel gets here.
			break
		}
		p.finish(<-done)
		running--
	}
	for ; running > 0; running-- {
		<-done
	}
	return ctx.Err()
}

// plan is the order of starts of one pass: which modules wait for which.
// Modules are indexes into the pass's enable slice.
type plan struct {
	// waiting counts the unfinished prerequisites of each module.
	waiting []int
	// dependents lists the modules that wait for each module.
	dependents [][]int
	// ready are the modules whose prerequisites have finished and that
	// have not started, in enable order.
	ready []int
}

// newPlan builds the plan of the modules in enable from the bundle's
// prerequisites; prerequisites not in enable (disabled) are not waited for.
func newPlan(b *module.Bundle, enable []*moduleState) *plan {
	index := make(map[string]int, len(enable))
	for i, ms := range enable {
		index[ms.mod.Name] = i
	}
	p := &plan{waiting: make([]int, len(enable)), dependents: make([][]int, len(enable))}
	for i, ms := range enable {
		for _, pre := range b.Prerequisites(ms.mod) {
			if j, ok := index[pre.Name]; ok {
				p.waiting[i]++
				p.dependents[j] = append(p.dependents[j], i)
			}
		}
		if p.waiting[i] == 0 {
			p.ready = append(p.ready, i)
		}
	}
	return p
}

// next takes the first ready module; false when none is ready.
func (p *plan) next() (int, bool) {
	if len(p.ready) == 0 {
		return 0, false
	}
	i := p.ready[0]
	p.ready = p.ready[1:]
	return i, true
}

// finish records that module i finished and readies the modules that
// waited for it last.
func (p *plan) finish(i int) {
	for _, d := range p.dependents[i] {
		if p.waiting[d]--; p.waiting[d] == 0 {
			p.ready = append(p.ready, d)
		}
	}
	slices.SortFunc(p.ready, cmp.Compare[int])
}

// startOrder returns mods (the bundle's modules, in bundle order) in the
// order of starts: every module after its prerequisites, otherwise in
// bundle order. Without module.yaml files that is the bundle order.
func startOrder(b *module.Bundle, mods []*moduleState) []*moduleState {
	p := newPlan(b, mods)
	out := make([]*moduleState, 0, len(mods))
	for i, ok := p.next(); ok; i, ok = p.next() {
		out = append(out, mods[i])
		p.finish(i)
	}
	if len(out) != len(mods) {
		// A cycle, which module.Load refuses: keep every module.
		return mods
	}
	return out
}
