package bundle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
)

// Resolve returns what the channel's tag points to now. Errors: ErrNotFound
// for an unknown channel, ErrNotBundle when the tag points to something
// else, ErrDigestMismatch for a manifest that does not match its digest;
// anything else is a transport problem worth retrying.
func (s *Source) Resolve(ctx context.Context, channel string) (Meta, error) {
	if err := CheckChannel(channel); err != nil {
		return Meta{}, err
	}
	t, err := s.readTarget(ctx)
	if err != nil {
		return Meta{}, err
	}
	desc, err := t.Resolve(ctx, channel)
	if errors.Is(err, errdef.ErrNotFound) {
		return Meta{}, fmt.Errorf("%w: channel %q: no such tag in %s", ErrNotFound, channel, s.ref)
	}
	if err != nil {
		return Meta{}, fmt.Errorf("resolve channel %q in %s: %w", channel, s.ref, err)
	}
	meta, err := readManifest(ctx, t, desc)
	if err != nil {
		return Meta{}, fmt.Errorf("channel %q in %s: %w", channel, s.ref, err)
	}
	return meta, nil
}

// Pull downloads the bundle with manifest digest dgst and unpacks it into
// dir, which must exist and be empty. With Options.VerifyKeys the
// signature is checked first (ErrSignature), before anything of the bundle
// is read. The manifest and the layer are verified against their digests
// (ErrDigestMismatch, only once the whole content was received); the layer
// is checked by Unpack. An error with none of the package's sentinels is a
// transport problem (connection reset, timeout, a body cut short, a 5xx
// answer) worth retrying. On error dir may hold part of the bundle: the
// caller removes it.
func (s *Source) Pull(ctx context.Context, dgst string, dir string) (Meta, error) {
	d, err := digest.Parse(dgst)
	if err != nil {
		return Meta{}, fmt.Errorf("%w: digest %q: %w", ErrInvalidReference, dgst, err)
	}
	t, err := s.readTarget(ctx)
	if err != nil {
		return Meta{}, err
	}
	desc, err := t.Resolve(ctx, d.String())
	if errors.Is(err, errdef.ErrNotFound) {
		return Meta{}, fmt.Errorf("%w: %s in %s", ErrNotFound, d, s.ref)
	}
	if err != nil {
		return Meta{}, fmt.Errorf("resolve %s in %s: %w", d, s.ref, err)
	}
	if desc.Digest != d {
		return Meta{}, fmt.Errorf("%w: %s answered %s for %s", ErrDigestMismatch, s.ref, desc.Digest, d)
	}
	if len(s.keys) > 0 {
		if err := verifySignature(ctx, t, s.ref, d, s.keys); err != nil {
			return Meta{}, err
		}
	}
	meta, err := readManifest(ctx, t, desc)
	if err != nil {
		return Meta{}, err
	}
	if err := fetchLayer(ctx, t, meta.layer, dir); err != nil {
		return Meta{}, fmt.Errorf("bundle %s from %s: %w", d, s.ref, err)
	}
	return meta, nil
}

// fetchLayer streams the layer through digest verification into Unpack.
// ErrDigestMismatch means the whole layer was received and its digest (or
// size) differs; a stream cut short (reset, timeout, unexpected EOF) is
// a transport error, without a sentinel. Either wins over the unpack
// error it may have caused.
func fetchLayer(ctx context.Context, t target, layer ocispec.Descriptor, dir string) error {
	rc, err := t.Fetch(ctx, layer)
	if err != nil {
		return fmt.Errorf("fetch layer %s: %w", layer.Digest, err)
	}
	defer rc.Close()
	vr := content.NewVerifyReader(rc, layer)
	unpackErr := Unpack(vr, dir)
	_, _ = io.Copy(io.Discard, vr)
	if err := vr.Verify(); err != nil {
		if errors.Is(err, content.ErrMismatchedDigest) || errors.Is(err, content.ErrTrailingData) {
			return fmt.Errorf("%w: layer %s: %w", ErrDigestMismatch, layer.Digest, err)
		}
		return fmt.Errorf("fetch layer %s: %w", layer.Digest, err)
	}
	return unpackErr
}

// PushOptions describe a bundle to publish.
type PushOptions struct {
	// Version is a semantic version ("v1.2.0"); required.
	Version string
	// Channels are the tags to point at the bundle; none publishes the
	// bundle by digest only.
	Channels  []string
	Changelog string
	// Created stamps the manifest; zero means now.
	Created time.Time
	// Signer, when set, signs the bundle (see Sign) before any channel
	// tag points to it.
	Signer *Signer
}

// Push packs the bundle directory dir and publishes it: the layer (skipped
// when the source has it), the manifest, then each channel tag. It
// returns what Resolve will answer for those channels.
func (s *Source) Push(ctx context.Context, dir string, opts PushOptions) (Meta, error) {
	if _, err := ParseVersion(opts.Version); err != nil {
		return Meta{}, err
	}
	for _, ch := range opts.Channels {
		if err := CheckChannel(ch); err != nil {
			return Meta{}, err
		}
	}
	layer, file, err := packToTemp(dir)
	if err != nil {
		return Meta{}, err
	}
	defer os.Remove(file.Name())
	defer file.Close()

	t, err := s.writeTarget(ctx)
	if err != nil {
		return Meta{}, err
	}
	exists, err := t.Exists(ctx, layer)
	if err != nil {
		return Meta{}, fmt.Errorf("push to %s: %w", s.ref, err)
	}
	if !exists {
		if err := t.Push(ctx, layer, file); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
			return Meta{}, fmt.Errorf("push layer to %s: %w", s.ref, err)
		}
	}
	created := opts.Created
	if created.IsZero() {
		created = time.Now()
	}
	annotations := map[string]string{
		AnnotationVersion:         opts.Version,
		ocispec.AnnotationCreated: created.UTC().Format(time.RFC3339),
	}
	if opts.Changelog != "" {
		annotations[AnnotationChangelog] = opts.Changelog
	}
	manifest, err := oras.PackManifest(ctx, t, oras.PackManifestVersion1_1, ArtifactType, oras.PackManifestOptions{
		Layers:              []ocispec.Descriptor{layer},
		ManifestAnnotations: annotations,
	})
	if err != nil {
		return Meta{}, fmt.Errorf("push manifest to %s: %w", s.ref, err)
	}
	if opts.Signer != nil {
		if err := s.sign(ctx, t, manifest.Digest, *opts.Signer); err != nil {
			return Meta{}, err
		}
	}
	for _, ch := range opts.Channels {
		if err := t.Tag(ctx, manifest, ch); err != nil {
			return Meta{}, fmt.Errorf("tag %s in %s: %w", ch, s.ref, err)
		}
	}
	return Meta{Digest: manifest.Digest.String(), Version: opts.Version, Changelog: opts.Changelog, Created: created.UTC().Truncate(time.Second), layer: layer}, nil
}

// packToTemp packs dir into a temporary file, rewound, and describes it.
func packToTemp(dir string) (ocispec.Descriptor, *os.File, error) {
	f, err := os.CreateTemp("", "addon-bundle-*.tar.gz")
	if err != nil {
		return ocispec.Descriptor{}, nil, err
	}
	fail := func(err error) (ocispec.Descriptor, *os.File, error) {
		f.Close()
		os.Remove(f.Name())
		return ocispec.Descriptor{}, nil, err
	}
	digester := digest.Canonical.Digester()
	if err := Pack(dir, io.MultiWriter(f, digester.Hash())); err != nil {
		return fail(err)
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return fail(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fail(err)
	}
	return ocispec.Descriptor{MediaType: LayerMediaType, Digest: digester.Digest(), Size: size}, f, nil
}

// Channel is one tag of a source and what it points to.
type Channel struct {
	Name string
	Meta Meta
	// Err is set when the tag does not point to a bundle.
	Err error
}

// List returns every tag of the source but the signature tags
// (SignatureTag), sorted, with what each points to.
func (s *Source) List(ctx context.Context) ([]Channel, error) {
	t, err := s.readTarget(ctx)
	if err != nil {
		return nil, err
	}
	var tags []string
	err = t.Tags(ctx, "", func(page []string) error {
		tags = append(tags, page...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list tags of %s: %w", s.ref, err)
	}
	slices.Sort(tags)
	out := make([]Channel, 0, len(tags))
	for _, tag := range tags {
		if signatureTagPattern.MatchString(tag) {
			continue
		}
		ch := Channel{Name: tag}
		desc, err := t.Resolve(ctx, tag)
		if err == nil {
			ch.Meta, err = readManifest(ctx, t, desc)
		}
		ch.Err = err
		out = append(out, ch)
	}
	return out, nil
}
