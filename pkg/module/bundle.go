package module

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/seedops/addon-operator/pkg/schema"
	"github.com/seedops/addon-operator/pkg/values"
)

// Bundle is a loaded bundle. It is never modified after Load and is safe for
// concurrent readers; callers must not modify it (its maps and slices are
// shared, not copied).
type Bundle struct {
	// Values are the static values of the bundle: values.yaml with each
	// modules dir's values.yaml merged over it, as one top-level tree
	// (global, <camelName>, <camelName>Enabled keys).
	Values values.Values
	// GlobalHooks are the executables under the global hooks dir, sorted
	// by name.
	GlobalHooks []Hook
	// GlobalSchema holds the global hooks dir's openapi/ schemas, for the
	// "global" section.
	GlobalSchema schema.Set
	// Modules are sorted by Order, then Name.
	Modules []*Module

	byName map[string]*Module
	byKey  map[string]*Module
}

// Module returns the module named name ("ingress-nginx"), or nil. Safe on a
// nil Bundle.
func (b *Bundle) Module(name string) *Module {
	if b == nil {
		return nil
	}
	return b.byName[name]
}

// ModuleByValuesKey returns the module whose values key is key
// ("ingressNginx"), or nil. Safe on a nil Bundle.
func (b *Bundle) ModuleByValuesKey(key string) *Module {
	if b == nil {
		return nil
	}
	return b.byKey[key]
}

// reservedKeys are top-level values and ConfigMap keys that are not modules.
var reservedKeys = []string{values.GlobalKey, values.OperatorKey}

// Load reads the bundle at p. It only reads files. Warnings (skipped
// directories, hooks that are not executable) go to log; a nil log
// discards them. Errors about the bundle's content wrap ErrInvalidBundle and
// name the file; see the package documentation for what is refused.
func Load(p Paths, log *slog.Logger) (*Bundle, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	globals, err := readGlobalValues(p)
	if err != nil {
		return nil, err
	}
	b := &Bundle{byName: map[string]*Module{}, byKey: map[string]*Module{}}
	layers := make([]values.Values, len(globals))
	for i, g := range globals {
		layers[i] = g.values
	}
	b.Values = values.Merge(layers...)

	if p.GlobalHooksDir != "" {
		dir, err := filepath.Abs(p.GlobalHooksDir)
		if err != nil {
			return nil, fmt.Errorf("global hooks dir: %w", err)
		}
		if b.GlobalHooks, err = findHooks(dir, dir, "", log); err != nil {
			return nil, err
		}
		if b.GlobalSchema, err = schema.LoadDir(dir); err != nil {
			return nil, fmt.Errorf("%w: global hooks: %w", ErrInvalidBundle, err)
		}
	}

	dirs, err := findModuleDirs(p.ModulesDirs, log)
	if err != nil {
		return nil, err
	}
	for _, d := range dirs {
		m, err := loadModule(d, globals, log)
		if err != nil {
			return nil, err
		}
		b.Modules = append(b.Modules, m)
		b.byName[m.Name] = m
		b.byKey[m.ValuesKey] = m
	}
	slices.SortFunc(b.Modules, func(x, y *Module) int {
		return cmp.Or(cmp.Compare(x.Order, y.Order), strings.Compare(x.Name, y.Name))
	})
	if err := b.checkRequirements(); err != nil {
		return nil, err
	}
	return b, nil
}

// valuesFile is a parsed bundle values file.
type valuesFile struct {
	file   string
	values values.Values
}

// readGlobalValues reads the bundle's values.yaml and each modules dir's
// values.yaml, lowest precedence first, skipping missing files.
func readGlobalValues(p Paths) ([]valuesFile, error) {
	files := []string{p.ValuesFile}
	for _, dir := range p.ModulesDirs {
		if dir != "" {
			files = append(files, filepath.Join(dir, "values.yaml"))
		}
	}
	var out []valuesFile
	for _, f := range files {
		if f == "" {
			continue
		}
		v, err := readValuesFile(f)
		if err != nil {
			return nil, err
		}
		if v == nil {
			continue
		}
		if g, ok := v[values.GlobalKey]; ok && g != nil {
			if _, isMap := g.(map[string]any); !isMap {
				return nil, fmt.Errorf("%w: %s: %s must be a map of global values, got %s", ErrInvalidBundle, f, values.GlobalKey, values.KindOf(g))
			}
		}
		out = append(out, valuesFile{file: f, values: v})
	}
	return out, nil
}

// findModuleDirs lists the module directories of all modules dirs and
// refuses names and keys that collide.
func findModuleDirs(modulesDirs []string, log *slog.Logger) ([]moduleDir, error) {
	var out []moduleDir
	seen := map[string]moduleDir{} // module names, values keys and enable keys
	for _, md := range modulesDirs {
		if md == "" {
			continue
		}
		abs, err := filepath.Abs(md)
		if err != nil {
			return nil, fmt.Errorf("modules dir: %w", err)
		}
		entries, err := os.ReadDir(abs)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read modules dir: %w", err)
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") || !isDir(abs, e) {
				continue
			}
			order, name, err := values.ModuleDir(e.Name())
			if err != nil {
				log.Warn("directory skipped: not a module directory (want NNN-name, lower-case letters, digits and dashes)", "file", filepath.Join(abs, e.Name()))
				continue
			}
			d := moduleDir{modulesDir: abs, dirName: e.Name(), order: order, name: name}
			if err := claim(seen, d); err != nil {
				return nil, err
			}
			out = append(out, d)
		}
	}
	return out, nil
}

// claim records d's name, values key and enable key in seen, refusing any
// that another module or a reserved key already has.
func claim(seen map[string]moduleDir, d moduleDir) error {
	key := values.ValuesKey(d.name)
	if slices.Contains(reservedKeys, key) {
		return fmt.Errorf("%w: %s: module name %q is reserved (its values key %q is a top-level key of its own); rename the directory", ErrInvalidBundle, d.path(), d.name, key)
	}
	claims := []struct{ id, what string }{
		{"name:" + d.name, fmt.Sprintf("the module name %q", d.name)},
		{"key:" + key, fmt.Sprintf("the values key %q", key)},
		{"key:" + values.EnabledKey(d.name), fmt.Sprintf("the values key %q", values.EnabledKey(d.name))},
	}
	for _, c := range claims {
		if prev, ok := seen[c.id]; ok {
			return fmt.Errorf("%w: %s and %s both make %s; rename one of them", ErrInvalidBundle, prev.path(), d.path(), c.what)
		}
	}
	for _, c := range claims {
		seen[c.id] = d
	}
	return nil
}

// isDir reports whether entry is a directory or a symbolic link to one.
func isDir(parent string, e fs.DirEntry) bool {
	if e.IsDir() {
		return true
	}
	if e.Type()&fs.ModeSymlink == 0 {
		return false
	}
	info, err := os.Stat(filepath.Join(parent, e.Name()))
	return err == nil && info.IsDir()
}
