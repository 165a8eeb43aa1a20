package module

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Hook is an executable found in a bundle. Whether it is a valid hook (what
// it prints for --config) is for the hook package to find out.
type Hook struct {
	// Path is the absolute path of the executable.
	Path string
	// Name identifies the hook in logs, metrics and binding contexts:
	// the slash-separated path relative to the modules dir for module hooks
	// ("010-ingress-nginx/hooks/discover.sh"), relative to the global hooks
	// dir for global hooks ("discovery/cluster.sh").
	Name string
	// Module is the name of the hook's module; "" for a global hook.
	Module string
}

// skippedHookDirs are directories under a hooks dir that hold no hooks.
var skippedHookDirs = []string{"lib", "openapi"}

// findHooks returns the executables under root, recursively, named relative
// to base and sorted by name. Directories named lib or openapi and hidden
// files and directories are skipped; so are symbolic links to directories
// (not followed). Files that are not executable are skipped with a warning.
// A missing root has no hooks.
func findHooks(root, base, module string, log *slog.Logger) ([]Hook, error) {
	info, err := os.Stat(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find hooks: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("%w: %s: want a directory of hooks, got a file", ErrInvalidBundle, root)
	}
	var hooks []Hook
	walk := func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("find hooks: %w", err)
		}
		if path == root {
			return nil
		}
		name := d.Name()
		if d.IsDir() {
			if strings.HasPrefix(name, ".") || slices.Contains(skippedHookDirs, name) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(name, ".") {
			return nil
		}
		info, err := os.Stat(path)
		if err != nil {
			log.Warn("hook file skipped: cannot read it", "file", path, "error", err)
			return nil
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		if info.Mode().Perm()&0o111 == 0 {
			log.Warn("hook file skipped: not executable", "file", path)
			return nil
		}
		rel, err := filepath.Rel(base, path)
		if err != nil {
			return fmt.Errorf("find hooks: %w", err)
		}
		hooks = append(hooks, Hook{Path: path, Name: filepath.ToSlash(rel), Module: module})
		return nil
	}
	if err := filepath.WalkDir(root, walk); err != nil {
		return nil, err
	}
	slices.SortFunc(hooks, func(a, b Hook) int { return strings.Compare(a.Name, b.Name) })
	return hooks, nil
}
