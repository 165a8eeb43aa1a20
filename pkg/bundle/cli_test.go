package bundle_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/seedops/addon-operator/pkg/bundle"
	"github.com/seedops/addon-operator/test/registry"
)

func TestCommand(t *testing.T) {
	ctx := context.Background()
	reg := registry.Start(t, registry.Options{Users: map[string]string{"ci": "pw"}})
	cfg := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(cfg, reg.DockerConfig("ci", "pw"), 0o600); err != nil {
		t.Fatal(err)
	}
	ref := reg.Ref("addons/bundle")
	src := testBundle(t, "v1")
	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := bundle.Command(ctx, args, &out, &errOut)
		return code, out.String(), errOut.String()
	}

	code, out, stderr := run("push", src, ref, "--version", "v1.2.0", "--channel", "stable,ea", "--changelog", "fixes", "--registry-config", cfg)
	if code != 0 {
		t.Fatalf("push: exit %d: %s", code, stderr)
	}
	digest := regexp.MustCompile(`sha256:[0-9a-f]{64}`).FindString(out)
	if digest == "" || !strings.Contains(out, "v1.2.0") {
		t.Fatalf("push printed %q", out)
	}

	code, out, stderr = run("ls", ref, "--registry-config", cfg)
	if code != 0 {
		t.Fatalf("ls: exit %d: %s", code, stderr)
	}
	if !regexp.MustCompile(`(?m)^ea\s+v1\.2\.0\s+`+digest+`$`).MatchString(out) || !strings.Contains(out, "stable") {
		t.Errorf("ls printed:\n%s", out)
	}

	byChannel := filepath.Join(t.TempDir(), "by-channel")
	if code, _, stderr := run("pull", ref, "--channel", "stable", byChannel, "--registry-config", cfg); code != 0 {
		t.Fatalf("pull --channel: exit %d: %s", code, stderr)
	}
	byDigest := filepath.Join(t.TempDir(), "by-digest")
	if code, _, stderr := run("pull", "--registry-config", cfg, "--digest", digest, ref, byDigest); code != 0 {
		t.Fatalf("pull --digest: exit %d: %s", code, stderr)
	}
	for _, dir := range []string{byChannel, byDigest} {
		if diff := cmp.Diff(tree(t, src), tree(t, dir)); diff != "" {
			t.Errorf("%s (-pushed +pulled):\n%s", dir, diff)
		}
	}

	tests := []struct {
		name string
		args []string
		code int
	}{
		{"no subcommand", nil, 2},
		{"unknown subcommand", []string{"publish"}, 2},
		{"push without version", []string{"push", src, ref}, 2},
		{"push with a bad version", []string{"push", src, ref, "--version", "latest", "--registry-config", cfg}, 1},
		{"pull with channel and digest", []string{"pull", ref, "--channel", "stable", "--digest", digest, t.TempDir()}, 2},
		{"without login", []string{"ls", ref}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, _, stderr := run(tt.args...); code != tt.code {
				t.Errorf("exit %d, want %d: %s", code, tt.code, stderr)
			}
		})
	}
}
