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
// disk or keep the operator decompressing: file content, the uncompressed
// tar stream (headers and padding included), entries.
const (
	maxUnpackedBytes = 1 << 30
	maxStreamBytes   = 2 << 30
	maxEntries       = 100_000
)

// Limits of one entry's name (and link target), so that checking and
// resolving it stays cheap: a tar name can be a megabyte of "a/a/a/…".
const (
	maxNameBytes = 4096
	maxNameDepth = 64
)

// epoch is the modification time of every packed entry: the same directory
// always packs to the same bytes, so a re-push of unchanged content keeps
// its layer digest.
var epoch = time.Unix(0, 0)

// Pack writes the bundle directory dir to w as tar+gzip: directories,
// regular files and symbolic links that stay inside dir, with their
// permission bits, in lexical order, with zeroed times and owners. .git
// directories are left out. A symbolic link that points outside dir or to
// nothing, a name Unpack would find too long or too deep, or any other kind
// of file (device, socket, pipe), is an error (ErrUnsafePath for the link
// and the name); nothing useful was written then.
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
	entryName := rel
	if info.Mode().IsDir() {
		entryName += "/"
	}
	if err := checkNameLimits(entryName, ""); err != nil {
		return err
	}
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
		if err := checkNameLimits(rel, target); err != nil {
			return err
		}
		resolved, err := filepath.EvalSymlinks(p)
		if err != nil {
			return fmt.Errorf("%w: symbolic link %s is dangling: %w", ErrUnsafePath, rel, err)
		}
		if !within(root, resolved) {
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
// should be empty. Every file operation goes through an os.Root at dir, so
// nothing outside dir is created, changed or followed, whatever the
// archive holds. It refuses, with ErrUnsafePath, entries with absolute
// names or names that leave dir, entries written through a symbolic link
// (a directory entry on an existing link included), symbolic links that
// are dangling or resolve outside dir once the whole stream is unpacked
// (chains of links included), hard links and special files; and, also with
// ErrUnsafePath, streams of more than 1 GiB of file content, 2 GiB
// uncompressed or 100,000 entries, and names or link targets longer than
// 4096 bytes or more than 64 directories deep. Permission bits are kept
// (without setuid, setgid and sticky bits); directories stay writable by
// their owner. On error dir may hold part of the stream: the caller
// removes it.
func Unpack(r io.Reader, dir string) error {
	return unpack(r, dir, limits{content: maxUnpackedBytes, stream: maxStreamBytes, entries: maxEntries})
}

// limits bound what unpack accepts: bytes of file content, bytes of the
// uncompressed tar stream (headers and padding included) and entries.
type limits struct {
	content, stream int64
	entries         int
}

func unpack(r io.Reader, dir string, lim limits) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("bundle dir: %w", err)
	}
	defer root.Close()
	zr, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("%w: layer is not gzip: %w", ErrNotBundle, err)
	}
	defer zr.Close()
	stream := &cappedReader{r: zr, limit: lim.stream, left: lim.stream}
	tr := tar.NewReader(stream)
	u := unpacker{root: root, lim: lim, dirs: map[string]bool{}}
	for n := 0; ; n++ {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if stream.exceeded() {
			return stream.err()
		}
		if err != nil {
			return fmt.Errorf("%w: layer is not a tar archive: %w", ErrNotBundle, err)
		}
		if n >= lim.entries {
			return fmt.Errorf("%w: more than %d entries", ErrUnsafePath, lim.entries)
		}
		if err := u.entry(hdr, tr); err != nil {
			if stream.exceeded() {
				return stream.err()
			}
			return err
		}
	}
	return u.checkLinks()
}

// unpacker writes the entries of one archive below root.
type unpacker struct {
	root  *os.Root
	lim   limits
	total int64           // file content written so far
	links []string        // symbolic links made, slash-separated names
	dirs  map[string]bool // directories seen to be real ones (they stay so: nothing is ever replaced)
}

func (u *unpacker) entry(hdr *tar.Header, r io.Reader) error {
	name := path.Clean(strings.TrimPrefix(hdr.Name, "./"))
	if name == "." {
		return nil
	}
	if !filepath.IsLocal(filepath.FromSlash(name)) {
		return fmt.Errorf("%w: entry %q leaves the bundle directory", ErrUnsafePath, hdr.Name)
	}
	if err := checkNameLimits(hdr.Name, hdr.Linkname); err != nil {
		return err
	}
	mode := fs.FileMode(hdr.Mode).Perm()
	switch hdr.Typeflag {
	case tar.TypeDir:
		return u.dir(name, mode)
	case tar.TypeReg:
		return u.file(name, r, hdr.Size, mode)
	case tar.TypeSymlink:
		return u.symlink(name, hdr.Linkname)
	case tar.TypeXGlobalHeader:
		return nil
	default:
		return fmt.Errorf("%w: entry %q: only directories, regular files and symbolic links are allowed", ErrUnsafePath, hdr.Name)
	}
}

// dir makes the directory name, and its parents, with mode. A link or
// file already at name is refused: chmod would follow the link.
func (u *unpacker) dir(name string, mode fs.FileMode) error {
	if err := u.checkParents(name); err != nil {
		return err
	}
	info, err := u.root.Lstat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := u.root.MkdirAll(name, 0o755); err != nil {
			return fmt.Errorf("unpack %s: %w", name, err)
		}
	case err != nil:
		return fmt.Errorf("unpack %s: %w", name, err)
	case info.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%w: directory entry %q is a symbolic link already", ErrUnsafePath, name)
	case !info.IsDir():
		return fmt.Errorf("%w: directory entry %q is a file already", ErrUnsafePath, name)
	}
	if err := u.root.Chmod(name, mode|0o700); err != nil {
		return fmt.Errorf("unpack %s: %w", name, err)
	}
	return nil
}

// file writes the regular file name (new: O_EXCL refuses anything already
// there, a link included) with size bytes from r.
func (u *unpacker) file(name string, r io.Reader, size int64, mode fs.FileMode) error {
	if size < 0 || size > u.lim.content-u.total {
		return fmt.Errorf("%w: more than %d bytes unpacked (entry %q is %d bytes)", ErrUnsafePath, u.lim.content, name, size)
	}
	u.total += size
	if err := u.mkdirParents(name); err != nil {
		return err
	}
	f, err := u.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("unpack %s: %w", name, err)
	}
	if _, err := io.CopyN(f, r, size); err != nil {
		f.Close()
		return fmt.Errorf("unpack %s: %w", name, err)
	}
	if err := f.Chmod(mode); err != nil { // whatever the umask
		f.Close()
		return fmt.Errorf("unpack %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("unpack %s: %w", name, err)
	}
	return nil
}

// symlink makes the link name -> target. Its target is checked as text
// here and resolved by checkLinks at the end, when what it points to may
// have been unpacked.
func (u *unpacker) symlink(name, target string) error {
	if err := checkLink(name, target); err != nil {
		return err
	}
	if err := u.mkdirParents(name); err != nil {
		return err
	}
	if err := u.root.Symlink(target, name); err != nil {
		return fmt.Errorf("unpack %s: %w", name, err)
	}
	u.links = append(u.links, name)
	return nil
}

// mkdirParents makes the missing parent directories of name, after
// checking that none of the existing ones is a link.
func (u *unpacker) mkdirParents(name string) error {
	if err := u.checkParents(name); err != nil {
		return err
	}
	parent := path.Dir(name)
	if parent == "." {
		return nil
	}
	if err := u.root.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("unpack %s: %w", name, err)
	}
	return nil
}

// checkParents refuses name when one of its existing parent directories
// is a symbolic link or not a directory: writing through it would go
// elsewhere than the archive says (os.Root keeps it inside root, but a
// bundle must unpack to what it lists).
func (u *unpacker) checkParents(name string) error {
	parts := strings.Split(name, "/")
	for i := 1; i < len(parts); i++ {
		parent := strings.Join(parts[:i], "/")
		if u.dirs[parent] {
			continue
		}
		info, err := u.root.Lstat(parent)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("unpack %s: %w", name, err)
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%w: entry %q is written through the symbolic link %q", ErrUnsafePath, name, parent)
		}
		if !info.IsDir() {
			return fmt.Errorf("%w: entry %q is below %q, which is not a directory", ErrUnsafePath, name, parent)
		}
		u.dirs[parent] = true
	}
	return nil
}

// checkLinks resolves every link made, through root: a dangling link, a
// loop, or one that leads outside root (os.Root refuses to follow it) is
// refused. Links are checked once the whole stream is unpacked, because a
// link may come before what it points to.
func (u *unpacker) checkLinks() error {
	for _, l := range u.links {
		if _, err := u.root.Stat(l); err != nil {
			return fmt.Errorf("%w: symbolic link %s is dangling or points outside the bundle: %w", ErrUnsafePath, l, err)
		}
	}
	return nil
}

// cappedReader reads at most limit bytes from r; past that it fails with
// the limit error, so that a small compressed layer cannot make Unpack
// read without end.
type cappedReader struct {
	r     io.Reader
	limit int64
	left  int64 // -1 once a read past the limit was tried
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		c.left = -1
		return 0, c.err()
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

func (c *cappedReader) exceeded() bool { return c.left < 0 }

func (c *cappedReader) err() error {
	return fmt.Errorf("%w: more than %d bytes uncompressed", ErrUnsafePath, c.limit)
}

// checkNameLimits refuses an entry whose name or link target is longer
// than maxNameBytes or more than maxNameDepth directories deep.
func checkNameLimits(name, linkname string) error {
	for _, p := range []string{name, linkname} {
		if len(p) > maxNameBytes || strings.Count(p, "/") >= maxNameDepth {
			return fmt.Errorf("%w: entry %.64q: name or link target longer than %d bytes or deeper than %d directories", ErrUnsafePath, name, maxNameBytes, maxNameDepth)
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
