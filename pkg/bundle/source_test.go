package bundle_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content/oci"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/seedops/addon-operator/pkg/bundle"
	"github.com/seedops/addon-operator/test/registry"
)

// place is a source under test and how to reach its insides.
type place struct {
	ref    string
	opts   bundle.Options
	target func(t *testing.T) oras.Target
	blob   func(d string) string
}

func layoutPlace(t *testing.T) place {
	dir := filepath.Join(t.TempDir(), "layout")
	return place{
		ref: dir,
		target: func(t *testing.T) oras.Target {
			s, err := oci.New(dir)
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		blob: func(d string) string {
			algo, hex, _ := strings.Cut(d, ":")
			return filepath.Join(dir, "blobs", algo, hex)
		},
	}
}

func registryPlace(t *testing.T) place {
	reg := registry.Start(t, registry.Options{})
	return place{
		ref: reg.Ref("addons/bundle"),
		target: func(t *testing.T) oras.Target {
			repo, err := remote.NewRepository(reg.Host + "/addons/bundle")
			if err != nil {
				t.Fatal(err)
			}
			repo.PlainHTTP = true
			return repo
		},
		blob: reg.BlobPath,
	}
}

// TestSource runs the same contract on an OCI layout directory and on a
// real registry.
func TestSource(t *testing.T) {
	for name, mk := range map[string]func(*testing.T) place{"layout": layoutPlace, "registry": registryPlace} {
		t.Run(name, func(t *testing.T) {
			testSource(t, mk(t))
		})
	}
}

func testSource(t *testing.T, p place) {
	ctx := context.Background()
	src, err := bundle.Open(p.ref, p.opts)
	if err != nil {
		t.Fatal(err)
	}
	v1, v2 := testBundle(t, "v1"), testBundle(t, "v2")
	m1, err := src.Push(ctx, v1, bundle.PushOptions{Version: "v1.0.0", Channels: []string{"stable"}, Changelog: "first"})
	if err != nil {
		t.Fatal(err)
	}
	m2, err := src.Push(ctx, v2, bundle.PushOptions{Version: "v2.0.0", Channels: []string{"ea", "alpha"}})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("resolve follows the channel tags", func(t *testing.T) {
		for ch, want := range map[string]bundle.Meta{"stable": m1, "ea": m2, "alpha": m2} {
			got, err := src.Resolve(ctx, ch)
			if err != nil {
				t.Fatal(err)
			}
			if got.Digest != want.Digest || got.Version != want.Version || got.Changelog != want.Changelog {
				t.Errorf("Resolve(%s) = %s %s %q, want %s %s %q", ch, got.Version, got.Digest, got.Changelog, want.Version, want.Digest, want.Changelog)
			}
		}
	})

	t.Run("pull by digest gives the pushed tree with file modes", func(t *testing.T) {
		dir := t.TempDir()
		meta, err := src.Pull(ctx, m1.Digest, dir)
		if err != nil {
			t.Fatal(err)
		}
		if meta.Version != "v1.0.0" {
			t.Errorf("version = %s", meta.Version)
		}
		if diff := cmp.Diff(tree(t, v1), tree(t, dir)); diff != "" {
			t.Errorf("(-pushed +pulled):\n%s", diff)
		}
	})

	t.Run("a channel moves with a new push", func(t *testing.T) {
		m3, err := src.Push(ctx, v2, bundle.PushOptions{Version: "v2.0.1", Channels: []string{"alpha"}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := src.Resolve(ctx, "alpha")
		if err != nil || got.Digest != m3.Digest || got.Version != "v2.0.1" {
			t.Errorf("Resolve(alpha) = %v %v, want %s", got, err, m3.Digest)
		}
	})

	t.Run("list shows every channel", func(t *testing.T) {
		channels, err := src.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range channels {
			got = append(got, c.Name+" "+c.Meta.Version)
		}
		if diff := cmp.Diff([]string{"alpha v2.0.1", "ea v2.0.0", "stable v1.0.0"}, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})

	t.Run("an unknown channel is not found", func(t *testing.T) {
		_, err := src.Resolve(ctx, "nope")
		if !errors.Is(err, bundle.ErrNotFound) {
			t.Fatalf("Resolve = %v, want ErrNotFound", err)
		}
	})

	t.Run("an unknown digest is not found", func(t *testing.T) {
		_, err := src.Pull(ctx, digest.FromString("nothing").String(), t.TempDir())
		if !errors.Is(err, bundle.ErrNotFound) {
			t.Fatalf("Pull = %v, want ErrNotFound", err)
		}
	})

	t.Run("an artifact that is not a bundle is refused", func(t *testing.T) {
		target := p.target(t)
		data := []byte("some other artifact")
		layer := ocispec.Descriptor{MediaType: "application/vnd.example.thing", Digest: digest.FromBytes(data), Size: int64(len(data))}
		if err := target.Push(ctx, layer, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		desc, err := oras.PackManifest(ctx, target, oras.PackManifestVersion1_1, "application/vnd.example.other", oras.PackManifestOptions{Layers: []ocispec.Descriptor{layer}})
		if err != nil {
			t.Fatal(err)
		}
		if err := target.Tag(ctx, desc, "other"); err != nil {
			t.Fatal(err)
		}
		if _, err := src.Resolve(ctx, "other"); !errors.Is(err, bundle.ErrNotBundle) {
			t.Errorf("Resolve = %v, want ErrNotBundle", err)
		}
		if _, err := src.Pull(ctx, desc.Digest.String(), t.TempDir()); !errors.Is(err, bundle.ErrNotBundle) {
			t.Errorf("Pull = %v, want ErrNotBundle", err)
		}
	})

	t.Run("a tampered layer is refused", func(t *testing.T) {
		dir := testBundle(t, "tampered")
		meta, err := src.Push(ctx, dir, bundle.PushOptions{Version: "v9.0.0", Channels: []string{"tampered"}})
		if err != nil {
			t.Fatal(err)
		}
		layer := layerDigest(t, p, meta.Digest)
		path := p.blob(layer)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		data[len(data)/2] ^= 0xff
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		out := t.TempDir()
		_, err = src.Pull(ctx, meta.Digest, out)
		if !errors.Is(err, bundle.ErrDigestMismatch) {
			t.Fatalf("Pull = %v, want ErrDigestMismatch", err)
		}
	})
}

// layerDigest reads the layer digest of a bundle manifest straight from
// the store.
func layerDigest(t *testing.T, p place, manifest string) string {
	t.Helper()
	data, err := os.ReadFile(p.blob(manifest))
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, []byte(bundle.LayerMediaType))
	j := bytes.Index(data[i:], []byte("sha256:"))
	return string(data[i+j : i+j+71])
}

func TestRegistryLogin(t *testing.T) {
	ctx := context.Background()
	reg := registry.Start(t, registry.Options{Users: map[string]string{"pusher": "s3cret"}})
	creds, err := bundle.ParseDockerConfig(reg.DockerConfig("pusher", "s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	withLogin, err := bundle.Open(reg.Ref("addons/bundle"), bundle.Options{Credentials: creds})
	if err != nil {
		t.Fatal(err)
	}
	meta, err := withLogin.Push(ctx, testBundle(t, "v1"), bundle.PushOptions{Version: "v1.0.0", Channels: []string{"stable"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := withLogin.Resolve(ctx, "stable"); err != nil || got.Digest != meta.Digest {
		t.Fatalf("Resolve with login = %v %v", got.Digest, err)
	}
	anonymous, err := bundle.Open(reg.Ref("addons/bundle"), bundle.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = anonymous.Resolve(ctx, "stable")
	if err == nil || errors.Is(err, bundle.ErrNotFound) {
		t.Fatalf("Resolve without login = %v, want an authentication error", err)
	}
}

func TestRegistryTLS(t *testing.T) {
	ctx := context.Background()
	reg := registry.Start(t, registry.Options{TLS: true})
	withCA, err := bundle.Open(reg.Ref("addons/bundle"), bundle.Options{CAPEM: reg.CAPEM})
	if err != nil {
		t.Fatal(err)
	}
	meta, err := withCA.Push(ctx, testBundle(t, "v1"), bundle.PushOptions{Version: "v1.0.0", Channels: []string{"stable"}})
	if err != nil {
		t.Fatalf("push over TLS with the CA: %v", err)
	}
	if got, err := withCA.Resolve(ctx, "stable"); err != nil || got.Digest != meta.Digest {
		t.Fatalf("Resolve over TLS = %v %v", got.Digest, err)
	}
	withoutCA, err := bundle.Open(reg.Ref("addons/bundle"), bundle.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := withoutCA.Resolve(ctx, "stable"); err == nil {
		t.Fatal("Resolve without the CA succeeded against a TLS registry")
	}
	if _, err := bundle.Open(reg.Ref("addons/bundle"), bundle.Options{CAPEM: []byte("not PEM")}); err == nil {
		t.Error("Open accepted a CA that is not PEM")
	}
}
