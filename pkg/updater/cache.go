package updater

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"
)

// tmpPrefix starts the directories a Fill is writing.
const tmpPrefix = ".tmp-"

// Cache holds unpacked bundles on disk, one directory per digest
// (<dir>/sha256-<hex>). A directory is complete once it exists: bundles
// are written to a temporary directory and renamed into place. Methods are
// safe for concurrent use by one process; two Fills of the same digest
// both succeed with one of the copies.
type Cache struct {
	dir string
}

// NewCache returns the cache rooted at dir (created on first Fill).
func NewCache(dir string) *Cache { return &Cache{dir: dir} }

// Path is where the bundle with digest d is, or would be. It fails for a
// malformed digest, so a Release edited by hand cannot point elsewhere.
func (c *Cache) Path(d string) (string, error) {
	dg, err := digest.Parse(d)
	if err != nil {
		return "", fmt.Errorf("digest %q: %w", d, err)
	}
	return filepath.Join(c.dir, dg.Algorithm().String()+"-"+dg.Encoded()), nil
}

// Has reports whether the bundle with digest d is in the cache.
func (c *Cache) Has(d string) bool {
	p, err := c.Path(d)
	if err != nil {
		return false
	}
	info, err := os.Stat(p)
	return err == nil && info.IsDir()
}

// Fill returns the path of the bundle with digest d, calling fill with an
// empty temporary directory to write it when it is not cached yet. When
// fill fails, nothing stays behind.
func (c *Cache) Fill(d string, fill func(dir string) error) (string, error) {
	p, err := c.Path(d)
	if err != nil {
		return "", err
	}
	if c.Has(d) {
		return p, nil
	}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return "", fmt.Errorf("release cache: %w", err)
	}
	tmp, err := os.MkdirTemp(c.dir, tmpPrefix)
	if err != nil {
		return "", fmt.Errorf("release cache: %w", err)
	}
	defer os.RemoveAll(tmp) // a no-op after the rename
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", fmt.Errorf("release cache: %w", err)
	}
	if err := fill(tmp); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, p); err != nil {
		if c.Has(d) {
			return p, nil
		}
		return "", fmt.Errorf("release cache: %w", err)
	}
	return p, nil
}

// Remove deletes the bundle with digest d from the cache.
func (c *Cache) Remove(d string) error {
	p, err := c.Path(d)
	if err != nil {
		return err
	}
	return os.RemoveAll(p)
}

// Prune deletes every cached bundle whose digest is not in keep, and the
// leftovers of interrupted Fills.
func (c *Cache) Prune(keep ...string) error {
	entries, err := os.ReadDir(c.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("release cache: %w", err)
	}
	kept := map[string]bool{}
	for _, d := range keep {
		if p, err := c.Path(d); err == nil {
			kept[filepath.Base(p)] = true
		}
	}
	var errs []error
	for _, e := range entries {
		if kept[e.Name()] || (!strings.HasPrefix(e.Name(), tmpPrefix) && !strings.Contains(e.Name(), "-")) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(c.dir, e.Name())); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
