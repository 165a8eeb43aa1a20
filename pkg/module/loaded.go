package module

import "github.com/seedops/addon-operator/pkg/hook"

// Loaded is a bundle ready to run: its files (Bundle) and the configuration
// of each of its hooks, which running `--config` gave. The converger runs one
// at a time; the updater loads new ones and swaps them in. Like Bundle it is
// never modified once built and is safe for concurrent readers; callers must
// not modify it (its maps and slices are shared, not copied).
type Loaded struct {
	Modules     *Bundle
	GlobalHooks []*hook.Hook
	// ModuleHooks by module name.
	ModuleHooks map[string][]*hook.Hook
}
