package bundle_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/seedops/addon-operator/pkg/bundle"
	"github.com/seedops/addon-operator/pkg/module/moduletest"
)

func testBundle(t *testing.T, version string) string {
	t.Helper()
	dir := moduletest.Bundle(t,
		moduletest.Text("values.yaml", "global: {}\n"),
		moduletest.Text("modules/010-demo/Chart.yaml", "apiVersion: v2\nname: demo\nversion: 0.1.0\n"),
		moduletest.Text("modules/010-demo/values.yaml", "demo:\n  version: "+version+"\n"),
		moduletest.Text("modules/010-demo/templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: demo}\ndata: {version: {{ .Values.demo.version | quote }}}\n"),
		moduletest.Script("modules/010-demo/hooks/noop.sh", "#!/bin/sh\necho '{\"configVersion\":\"v1\",\"onStartup\":1}'\n"),
		moduletest.Script("global-hooks/lib/common.sh", "# library\n"),
	)
	if err := os.Symlink("../global-hooks/lib/common.sh", filepath.Join(dir, "global-hooks", "common.sh")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// tree describes a directory: path → mode and content (or link target).
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out[rel] = "link -> " + target
		case info.IsDir():
			out[rel] = "dir"
		default:
			data, _ := os.ReadFile(p)
			out[rel] = info.Mode().Perm().String() + " " + string(data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPackUnpackRoundTrip(t *testing.T) {
	src := testBundle(t, "v1")
	var a, b bytes.Buffer
	if err := bundle.Pack(src, &a); err != nil {
		t.Fatal(err)
	}
	if err := bundle.Pack(src, &b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("packing the same directory twice gave different bytes")
	}
	dst := t.TempDir()
	if err := bundle.Unpack(&a, dst); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tree(t, src), tree(t, dst)); diff != "" {
		t.Errorf("unpacked tree differs (-packed +unpacked):\n%s", diff)
	}
}

func TestPackRefusesLinksOutside(t *testing.T) {
	src := testBundle(t, "v1")
	if err := os.Symlink("/etc/passwd", filepath.Join(src, "modules", "passwd")); err != nil {
		t.Fatal(err)
	}
	err := bundle.Pack(src, &bytes.Buffer{})
	if !errors.Is(err, bundle.ErrUnsafePath) {
		t.Fatalf("Pack = %v, want ErrUnsafePath", err)
	}
}

// TestPackRefusesDanglingLinks: Unpack would refuse the bundle, so Pack
// does not publish it.
func TestPackRefusesDanglingLinks(t *testing.T) {
	src := testBundle(t, "v1")
	if err := os.Symlink("missing.sh", filepath.Join(src, "global-hooks", "dangling.sh")); err != nil {
		t.Fatal(err)
	}
	err := bundle.Pack(src, &bytes.Buffer{})
	if !errors.Is(err, bundle.ErrUnsafePath) {
		t.Fatalf("Pack = %v, want ErrUnsafePath", err)
	}
}

// TestPackRefusesTooDeepNames: Unpack would refuse the bundle, so Pack
// does not publish it.
func TestPackRefusesTooDeepNames(t *testing.T) {
	src := testBundle(t, "v1")
	if err := os.MkdirAll(filepath.Join(src, strings.Repeat("d/", 64)), 0o755); err != nil {
		t.Fatal(err)
	}
	err := bundle.Pack(src, &bytes.Buffer{})
	if !errors.Is(err, bundle.ErrUnsafePath) {
		t.Fatalf("Pack = %v, want ErrUnsafePath", err)
	}
}

type entry struct {
	name     string
	typ      byte
	body     string
	linkname string
	mode     int64 // 0o644 when zero
}

func archive(t *testing.T, entries ...entry) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: e.mode, Size: int64(len(e.body)), Linkname: e.linkname}
		if hdr.Mode == 0 {
			hdr.Mode = 0o644
		}
		if e.typ != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

func TestUnpackRefusesEscapes(t *testing.T) {
	tests := []struct {
		name    string
		entries []entry
		want    error
	}{
		{"dot-dot name", []entry{{name: "../evil", typ: tar.TypeReg, body: "x"}}, bundle.ErrUnsafePath},
		{"dot-dot inside the name", []entry{{name: "modules/../../evil", typ: tar.TypeReg, body: "x"}}, bundle.ErrUnsafePath},
		{"absolute name", []entry{{name: "/tmp/evil", typ: tar.TypeReg, body: "x"}}, bundle.ErrUnsafePath},
		{"absolute link", []entry{{name: "l", typ: tar.TypeSymlink, linkname: "/etc"}}, bundle.ErrUnsafePath},
		{"link leaving the directory", []entry{{name: "modules/l", typ: tar.TypeSymlink, linkname: "../../etc"}}, bundle.ErrUnsafePath},
		{"file through a link", []entry{
			{name: "a", typ: tar.TypeDir},
			{name: "l", typ: tar.TypeSymlink, linkname: "a"},
			{name: "l/file", typ: tar.TypeReg, body: "x"},
		}, bundle.ErrUnsafePath},
		{"chain of links leading out", []entry{
			{name: "d/up", typ: tar.TypeSymlink, linkname: ".."},
			{name: "e", typ: tar.TypeSymlink, linkname: "d/up/.."},
		}, bundle.ErrUnsafePath},
		{"hard link", []entry{{name: "f", typ: tar.TypeReg, body: "x"}, {name: "h", typ: tar.TypeLink, linkname: "f"}}, bundle.ErrUnsafePath},
		{"device", []entry{{name: "dev", typ: tar.TypeChar}}, bundle.ErrUnsafePath},
		{"duplicate file", []entry{{name: "f", typ: tar.TypeReg, body: "x"}, {name: "f", typ: tar.TypeReg, body: "y"}}, fs.ErrExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dst := filepath.Join(parent, "bundle")
			if err := os.Mkdir(dst, 0o755); err != nil {
				t.Fatal(err)
			}
			err := bundle.Unpack(archive(t, tt.entries...), dst)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Unpack = %v, want %v", err, tt.want)
			}
			if _, err := os.Lstat(filepath.Join(parent, "evil")); err == nil {
				t.Error("a file was written outside the target directory")
			}
		})
	}
}

func TestUnpackRefusesNonArchives(t *testing.T) {
	for name, data := range map[string][]byte{
		"not gzip":         []byte("plain text"),
		"gzip but not tar": gzipped(t, "plain text that is not a tar archive, long enough to fill a header block"),
	} {
		t.Run(name, func(t *testing.T) {
			err := bundle.Unpack(bytes.NewReader(data), t.TempDir())
			if !errors.Is(err, bundle.ErrNotBundle) {
				t.Fatalf("Unpack = %v, want ErrNotBundle", err)
			}
		})
	}
}

func gzipped(t *testing.T, s string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(bytes.Repeat([]byte(s), 20)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestUnpackLeavesOutsideAlone: hostile archives are refused, and nothing
// beside the target directory (its parent's mode, a sibling directory) has
// changed by then.
func TestUnpackLeavesOutsideAlone(t *testing.T) {
	tests := []struct {
		name    string
		entries []entry
	}{
		{"directory through a chain of links to the parent", []entry{
			{name: "a", typ: tar.TypeSymlink, linkname: "."},
			{name: "b", typ: tar.TypeSymlink, linkname: "a/.."},
			{name: "b/", typ: tar.TypeDir, mode: 0o777},
		}},
		{"file through a chain of links to a sibling", []entry{
			{name: "a", typ: tar.TypeSymlink, linkname: "."},
			{name: "b", typ: tar.TypeSymlink, linkname: "a/../sentinel"},
			{name: "b/file", typ: tar.TypeReg, body: "x"},
		}},
		{"directory entry on a link to the bundle root", []entry{
			{name: "a", typ: tar.TypeSymlink, linkname: "."},
			{name: "a/", typ: tar.TypeDir, mode: 0o777},
		}},
		{"dangling link", []entry{{name: "modules/l", typ: tar.TypeSymlink, linkname: "missing"}}},
		{"link to a dangling link", []entry{
			{name: "l", typ: tar.TypeSymlink, linkname: "m"},
			{name: "m", typ: tar.TypeSymlink, linkname: "gone"},
		}},
		{"link loop", []entry{
			{name: "l", typ: tar.TypeSymlink, linkname: "m"},
			{name: "m", typ: tar.TypeSymlink, linkname: "l"},
		}},
		{"fifo", []entry{{name: "p", typ: tar.TypeFifo}}},
		{"block device", []entry{{name: "b", typ: tar.TypeBlock}}},
		{"hard link to a file outside", []entry{{name: "h", typ: tar.TypeLink, linkname: "../sentinel/file"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent, dst := sandbox(t)
			before := outside(t, parent)
			err := bundle.Unpack(archive(t, tt.entries...), dst)
			if !errors.Is(err, bundle.ErrUnsafePath) {
				t.Errorf("Unpack = %v, want ErrUnsafePath", err)
			}
			if diff := cmp.Diff(before, outside(t, parent)); diff != "" {
				t.Errorf("Unpack changed what is outside the target (-before +after):\n%s", diff)
			}
		})
	}
}

// sandbox makes parent/bundle (the target, empty) beside
// parent/sentinel/file.
func sandbox(t testing.TB) (parent, dst string) {
	t.Helper()
	parent = t.TempDir()
	dst = filepath.Join(parent, "bundle")
	if err := os.Mkdir(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(parent, "sentinel"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(parent, "sentinel", "file"), []byte("sentinel"), 0o644); err != nil {
		t.Fatal(err)
	}
	return parent, dst
}

// outside describes parent without its bundle directory's content: path →
// mode and content (or link target), parent itself as ".".
func outside(t testing.TB, parent string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(parent, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(parent, p)
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		desc := info.Mode().String()
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			desc += " -> " + target
		case info.Mode().IsRegular():
			data, _ := os.ReadFile(p)
			desc += " " + string(data)
		}
		out[rel] = desc
		if rel == "bundle" {
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestUnpackLimits(t *testing.T) {
	files := func(n, size int) []entry {
		var out []entry
		for i := range n {
			out = append(out, entry{name: fmt.Sprintf("f%03d", i), typ: tar.TypeReg, body: strings.Repeat("x", size)})
		}
		return out
	}
	longDirs := func(n int) []entry {
		var out []entry
		for i := range n {
			out = append(out, entry{name: fmt.Sprintf("%03d/%s", i, strings.Repeat(strings.Repeat("d", 200)+"/", 10)), typ: tar.TypeDir})
		}
		return out
	}
	tests := []struct {
		name    string
		entries []entry
		wantErr bool
	}{
		{"content at the limit", files(2, 500), false},
		{"content over the limit", files(3, 400), true},
		{"entries at the limit", files(10, 1), false},
		{"entries over the limit", files(11, 1), true},
		{"stream over the limit in headers alone", longDirs(8), true},
		{"a name 64 directories deep", []entry{{name: strings.Repeat("a/", 64) + "f", typ: tar.TypeReg}}, true},
		{"a name 63 directories deep", []entry{{name: strings.Repeat("a/", 63) + "f", typ: tar.TypeReg}}, false},
		{"a name longer than 4096 bytes", []entry{{name: strings.Repeat("a", 4097), typ: tar.TypeReg}}, true},
		{"a link target longer than 4096 bytes", []entry{{name: "l", typ: tar.TypeSymlink, linkname: strings.Repeat("a", 4097)}}, true},
		{"a link target 64 directories deep", []entry{{name: "l", typ: tar.TypeSymlink, linkname: strings.Repeat("./", 64)}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := bundle.UnpackWithLimits(archive(t, tt.entries...), t.TempDir(), 1000, 16<<10, 10)
			if tt.wantErr && !errors.Is(err, bundle.ErrUnsafePath) {
				t.Fatalf("Unpack = %v, want ErrUnsafePath", err)
			}
			if !tt.wantErr && err != nil {
				t.Fatalf("Unpack = %v, want no error", err)
			}
		})
	}
}

// TestUnpackRefusesAbsurdSizes: a header announcing a terabyte is refused
// before anything of it is written.
func TestUnpackRefusesAbsurdSizes(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: "huge", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1 << 40}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Flush(); err == nil {
		t.Fatal("tar writer accepted a short entry")
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	if err := bundle.Unpack(&buf, dst); !errors.Is(err, bundle.ErrUnsafePath) {
		t.Fatalf("Unpack = %v, want ErrUnsafePath", err)
	}
	if _, err := os.Lstat(filepath.Join(dst, "huge")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the huge entry was created: %v", err)
	}
}

// FuzzUnpack: whatever the layer holds, Unpack either fails or leaves
// only directories, regular files and links resolving inside the target;
// and in both cases nothing beside the target (the parent's mode, a
// sibling directory) has changed. The input is a tar stream, gzipped here
// so that mutations reach the tar reader, or a gzip stream passed as it is
// (the bombs of the seed corpus, testdata/fuzz/FuzzUnpack, whose file
// names say what each holds). Smaller limits keep each run cheap. Each run
// touches the disk (a few milliseconds), so minimizing an input of a few
// KiB can take the whole -fuzztime on a busy machine; -fuzzminimizetime=1x
// keeps the workers fuzzing (about 500 runs a second on two cores).
func FuzzUnpack(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		layer := data
		if !bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
			layer = gzipBytes(t, data)
		}
		parent, dst := sandbox(t)
		before := outside(t, parent)
		err := bundle.UnpackWithLimits(bytes.NewReader(layer), dst, 1<<20, 4<<20, 256)
		if diff := cmp.Diff(before, outside(t, parent)); diff != "" {
			t.Fatalf("Unpack (error %v) changed what is outside the target (-before +after):\n%s", err, diff)
		}
		if err == nil {
			checkUnpacked(t, dst)
		}
	})
}

// checkUnpacked fails unless dst holds only directories (writable by
// their owner), regular files without setuid, setgid or sticky bits, and
// symbolic links that resolve inside dst.
func checkUnpacked(t *testing.T, dst string) {
	t.Helper()
	root, err := os.OpenRoot(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	err = filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dst {
			return err
		}
		rel, _ := filepath.Rel(dst, p)
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		mode := info.Mode()
		switch {
		case mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != 0:
			t.Errorf("%s has mode %s", rel, mode)
		case mode&fs.ModeSymlink != 0:
			if _, err := root.Stat(rel); err != nil {
				t.Errorf("link %s does not resolve inside the target: %v", rel, err)
			}
		case mode.IsDir():
			if mode.Perm()&0o700 != 0o700 {
				t.Errorf("directory %s has mode %s", rel, mode)
			}
		case !mode.IsRegular():
			t.Errorf("%s is a %s", rel, mode.Type())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func gzipBytes(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
