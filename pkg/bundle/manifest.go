package bundle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
)

// Media types and annotations of a published bundle.
const (
	// ArtifactType is the manifest's artifactType.
	ArtifactType = "application/vnd.seedops.addon-operator.bundle.v1"
	// LayerMediaType is the media type of its one layer, the bundle
	// directory as tar+gzip.
	LayerMediaType = "application/vnd.seedops.addon-operator.bundle.layer.v1.tar+gzip"
	// AnnotationVersion holds the semantic version ("v1.2.0").
	AnnotationVersion = ocispec.AnnotationVersion
	// AnnotationChangelog holds free text for admins.
	AnnotationChangelog = "io.seedops.addon-operator.changelog"
)

// Largest manifest and layer accepted.
const (
	maxManifestBytes = 4 << 20
	maxLayerBytes    = 512 << 20
)

// Meta describes a published bundle.
type Meta struct {
	// Digest is the manifest's digest ("sha256:…"): the bundle's identity.
	Digest string
	// Version is the semantic version as published ("v1.2.0").
	Version   string
	Changelog string
	// Created is the manifest's creation annotation, zero when absent.
	Created time.Time
	layer   ocispec.Descriptor
}

// ParseVersion parses a bundle version: MAJOR.MINOR.PATCH with an optional
// "v" prefix, pre-release and build metadata.
func ParseVersion(v string) (*semver.Version, error) {
	sv, err := semver.StrictNewVersion(strings.TrimPrefix(v, "v"))
	if err != nil {
		return nil, fmt.Errorf("%w: version %q: want a semantic version such as v1.2.0", ErrInvalidReference, v)
	}
	return sv, nil
}

// readManifest fetches the manifest desc names, verifies its digest and
// checks that it is a bundle.
func readManifest(ctx context.Context, t content.Fetcher, desc ocispec.Descriptor) (Meta, error) {
	if desc.Size > maxManifestBytes {
		return Meta{}, fmt.Errorf("%w: manifest %s is %d bytes", ErrNotBundle, desc.Digest, desc.Size)
	}
	data, err := content.FetchAll(ctx, t, desc)
	if err != nil {
		if errors.Is(err, content.ErrMismatchedDigest) || errors.Is(err, content.ErrTrailingData) {
			return Meta{}, fmt.Errorf("%w: manifest %s: %w", ErrDigestMismatch, desc.Digest, err)
		}
		if errors.Is(err, errdef.ErrNotFound) {
			return Meta{}, fmt.Errorf("%w: manifest %s", ErrNotFound, desc.Digest)
		}
		return Meta{}, fmt.Errorf("fetch manifest %s: %w", desc.Digest, err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return Meta{}, fmt.Errorf("%w: manifest %s is not JSON: %w", ErrNotBundle, desc.Digest, err)
	}
	mediaType := m.MediaType
	if mediaType == "" {
		mediaType = desc.MediaType
	}
	if mediaType != ocispec.MediaTypeImageManifest {
		return Meta{}, fmt.Errorf("%w: %s has media type %q, want an OCI image manifest", ErrNotBundle, desc.Digest, mediaType)
	}
	if m.ArtifactType != ArtifactType && m.Config.MediaType != ArtifactType {
		kind := m.ArtifactType
		if kind == "" {
			kind = m.Config.MediaType
		}
		return Meta{}, fmt.Errorf("%w: %s is an artifact of type %q, want %q", ErrNotBundle, desc.Digest, kind, ArtifactType)
	}
	if len(m.Layers) != 1 || m.Layers[0].MediaType != LayerMediaType {
		return Meta{}, fmt.Errorf("%w: %s: want exactly one layer of type %q", ErrNotBundle, desc.Digest, LayerMediaType)
	}
	if m.Layers[0].Size > maxLayerBytes || m.Layers[0].Size < 0 {
		return Meta{}, fmt.Errorf("%w: %s: layer of %d bytes (at most %d)", ErrNotBundle, desc.Digest, m.Layers[0].Size, maxLayerBytes)
	}
	version := m.Annotations[AnnotationVersion]
	if _, err := ParseVersion(version); err != nil {
		return Meta{}, fmt.Errorf("%w: %s: annotation %s: %w", ErrNotBundle, desc.Digest, AnnotationVersion, err)
	}
	meta := Meta{Digest: desc.Digest.String(), Version: version, Changelog: m.Annotations[AnnotationChangelog], layer: m.Layers[0]}
	if c, err := time.Parse(time.RFC3339, m.Annotations[ocispec.AnnotationCreated]); err == nil {
		meta.Created = c
	}
	return meta, nil
}
