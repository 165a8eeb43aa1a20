package converge

import (
	"flag"
	"runtime"
)

// Config holds the converger's settings; Deps.ModuleParallelism takes
// ModuleParallelism.
type Config struct {
	// ModuleParallelism is how many module runs a converge of all modules
	// runs at once, among those no dependency orders (see runEnabled);
	// below 1, the number of CPUs.
	ModuleParallelism int
}

// BindFlags registers the converger's flags with their defaults.
func (c *Config) BindFlags(fs *flag.FlagSet) {
	fs.IntVar(&c.ModuleParallelism, "module-parallelism", runtime.NumCPU(), "module runs at once in a converge of all modules, among those no dependency orders; 1 runs them one after another (default: the number of CPUs)")
}
