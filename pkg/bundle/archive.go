package bundle

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// Limits of what Unpack accepts, so that a hostile layer cannot fill the
// disk.
const (
	maxUnpackedBytes = 1 << 30
	maxEntries       = 100_000
)

// epoch is the modification time of every packed entry: the same directory
// always packs to the same bytes, so a re-push of unchanged content keeps
// its layer digest.
var epoch = time.Unix(0, 0)

// Pack writes the bundle directory dir to w as tar+gzip: directories,
// regular files and symbolic links that stay inside dir, with their
// permission bits, in lexical order, with zeroed times and owners. .git
// directories are left out. A symbolic link that points outside dir, or any
// other kind of file (device, socket, pipe), is an error (ErrUnsafePath for
// the link); nothing useful was written then.
func Pack(dir string, w io.Writer) error {
	root, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("bundle dir: %w", err)
	}
	info, err := os.Stat(root)
	if err != nil {
		return fmt.Errorf("bundle dir: %w", err)
	}
	if !info.IsDir() {
		return fmt.Errorf("bundle dir %s: not a directory", dir)
	}
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		return packEntry(tw, root, p, filepath.ToSlash(rel), d)
	})
	if err != nil {
		return fmt.Errorf("pack %s: %w", dir, err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("pack %s: %w", dir, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("pack %s: %w", dir, err)
	}
	return nil
}

func packEntry(tw *tar.Writer, root, p, rel string, d fs.DirEntry) error {
	info, err := d.Info()
	if err != nil {
		return err
	}
	hdr := &tar.Header{Name: rel, Mode: int64(info.Mode().Perm()), ModTime: epoch}
	switch {
	case info.Mode().IsDir():
		hdr.Typeflag, hdr.Name = tar.TypeDir, rel+"/"
		return tw.WriteHeader(hdr)
	case info.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(p)
		if err != nil {
			return err
		}
		if err := checkLink(rel, target); err != nil {
			return err
		}
		if resolved, err := filepath.EvalSymlinks(p); err == nil && !within(root, resolved) {
			return fmt.Errorf("%w: symbolic link %s points outside the bundle", ErrUnsafePath, rel)
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
		return tw.WriteHeader(hdr)
	case info.Mode().IsRegular():
		hdr.Typeflag, hdr.Size = tar.TypeReg, info.Size()
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := io.CopyN(tw, f, info.Size()); err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		return nil
	default:
		return fmt.Errorf("%s: %s files cannot be packed", rel, info.Mode().Type())
	}
}

// Unpack extracts a Pack stream (tar+gzip) into dir, which must exist and
// should be empty. It refuses, with ErrUnsafePath, entries with absolute
// names or names that leave dir, entries written through a symbolic link,
// symbolic links that point outside dir, hard links and special files; and
// streams of more than 1 GiB or 100,000 entries. Permission bits are kept
// (without setuid, setgid and sticky bits); directories stay writable by
// their owner. On error dir may hold part of the stream: the caller removes
// it.
func Unpack(r io.Reader, dir string) error {
	root, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	zr, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("%w: layer is not gzip: %w", ErrNotBundle, err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	var total int64
	var links []string
	for n := 0; ; n++ {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: layer is not a tar archive: %w", ErrNotBundle, err)
		}
		if n >= maxEntries {
			return fmt.Errorf("%w: more than %d entries", ErrUnsafePath, maxEntries)
		}
		name := path.Clean(strings.TrimPrefix(hdr.Name, "./"))
		if name == "." {
			continue
		}
		if !filepath.IsLocal(filepath.FromSlash(name)) {
			return fmt.Errorf("%w: entry %q leaves the bundle directory", ErrUnsafePath, hdr.Name)
		}
		target := filepath.Join(root, filepath.FromSlash(name))
		if err := checkParents(root, target); err != nil {
			return err
		}
		mode := fs.FileMode(hdr.Mode).Perm()
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			if err := os.Chmod(target, mode|0o700); err != nil {
				return err
			}
		case tar.TypeReg:
			total += hdr.Size
			if total > maxUnpackedBytes {
				return fmt.Errorf("%w: more than %d bytes unpacked", ErrUnsafePath, maxUnpackedBytes)
			}
			if err := writeFile(target, tr, hdr.Size, mode); err != nil {
				return fmt.Errorf("unpack %s: %w", name, err)
			}
		case tar.TypeSymlink:
			if err := checkLink(name, hdr.Linkname); err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			if err := os.Symlink(hdr.Linkname, target); err != nil {
				return fmt.Errorf("unpack %s: %w", name, err)
			}
			links = append(links, target)
		case tar.TypeXGlobalHeader:
		default:
			return fmt.Errorf("%w: entry %q: only directories, regular files and symbolic links are allowed", ErrUnsafePath, hdr.Name)
		}
	}
	// Links are checked lexically as they come; a chain of links can still
	// lead out, which only the resolved paths show.
	for _, l := range links {
		resolved, err := filepath.EvalSymlinks(l)
		if err != nil {
			continue // dangling: leads nowhere
		}
		if !within(root, resolved) {
			rel, _ := filepath.Rel(root, l)
			return fmt.Errorf("%w: symbolic link %s points outside the bundle", ErrUnsafePath, rel)
		}
	}
	return nil
}

func writeFile(target string, r io.Reader, size int64, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(f, r, size); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Chmod(target, mode) // whatever the umask
}

// checkParents refuses a target whose parent directories, inside root,
// include a symbolic link: writing through it could leave root.
func checkParents(root, target string) error {
	rel, err := filepath.Rel(root, filepath.Dir(target))
	if err != nil || rel == "." {
		return err
	}
	cur := root
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		cur = filepath.Join(cur, part)
		info, err := os.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			r, _ := filepath.Rel(root, target)
			return fmt.Errorf("%w: entry %q is written through the symbolic link %q", ErrUnsafePath, filepath.ToSlash(r), part)
		}
		if !info.IsDir() {
			return fmt.Errorf("%w: %s is not a directory", ErrUnsafePath, part)
		}
	}
	return nil
}

// checkLink refuses a link at name (slash-separated, relative to the
// bundle root) whose target is absolute or leaves the bundle.
func checkLink(name, target string) error {
	if target == "" || path.IsAbs(target) || filepath.IsAbs(target) {
		return fmt.Errorf("%w: symbolic link %s has an absolute or empty target", ErrUnsafePath, name)
	}
	if !filepath.IsLocal(filepath.FromSlash(path.Join(path.Dir(name), target))) {
		return fmt.Errorf("%w: symbolic link %s points outside the bundle", ErrUnsafePath, name)
	}
	return nil
}

// within reports whether p is root or below it. Both are absolute; root
// is resolved the same way as p.
func within(root, p string) bool {
	if r, err := filepath.EvalSymlinks(root); err == nil {
		root = r
	}
	rel, err := filepath.Rel(root, p)
	return err == nil && (rel == "." || filepath.IsLocal(rel))
}
