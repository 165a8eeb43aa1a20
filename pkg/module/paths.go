package module

import "path/filepath"

// Paths says where the parts of a bundle are. Any of them may be missing on
// disk; an empty string means "none".
type Paths struct {
	// ModulesDirs are searched in order for module directories (MODULES_DIR
	// is a colon-separated list). Each may hold a values.yaml of global
	// static values, merged over ValuesFile in this order.
	ModulesDirs []string
	// GlobalHooksDir holds the global hooks, searched recursively, and their
	// schemas in openapi/.
	GlobalHooksDir string
	// ValuesFile is the bundle's values.yaml: the base of the static values.
	ValuesFile string
}

// DefaultPaths is the layout of a bundle rooted at root: root/modules,
// root/global-hooks and root/values.yaml.
func DefaultPaths(root string) Paths {
	return Paths{
		ModulesDirs:    []string{filepath.Join(root, "modules")},
		GlobalHooksDir: filepath.Join(root, "global-hooks"),
		ValuesFile:     filepath.Join(root, "values.yaml"),
	}
}
