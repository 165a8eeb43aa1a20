package moduletest

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// File is one file of a bundle fixture.
type File struct {
	// Path is slash-separated and relative to the bundle root
	// ("modules/010-ingress-nginx/hooks/discover.sh").
	Path    string
	Content string
	// Mode is the file's permission bits; 0 means 0o644.
	Mode fs.FileMode
}

// Text is a regular, non-executable file (0o644).
func Text(path, content string) File {
	return File{Path: path, Content: content, Mode: 0o644}
}

// Script is an executable file (0o755).
func Script(path, content string) File {
	return File{Path: path, Content: content, Mode: 0o755}
}

// Hook is an executable shell script that does nothing.
func Hook(path string) File {
	return Script(path, "#!/bin/sh\nexit 0\n")
}

// Write creates every file under root, with its parent directories and
// exactly its mode (whatever the umask). It fails the test on error.
func Write(t testing.TB, root string, files ...File) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f.Path))
		mode := f.Mode
		if mode == 0 {
			mode = 0o644
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatalf("moduletest: %v", err)
		}
		if err := os.WriteFile(p, []byte(f.Content), mode); err != nil {
			t.Fatalf("moduletest: %v", err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatalf("moduletest: %v", err)
		}
	}
}

// Bundle writes files into a new temporary directory, removed when the test
// ends, and returns its path.
func Bundle(t testing.TB, files ...File) string {
	t.Helper()
	root := t.TempDir()
	Write(t, root, files...)
	return root
}
