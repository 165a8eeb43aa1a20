// Package bundle moves bundles (a directory with values.yaml, modules/ and
// global-hooks/) in and out of registries.
//
// A published bundle is an OCI artifact: an image manifest of artifact type
// ArtifactType with one layer of LayerMediaType, the bundle directory as
// tar+gzip (file modes kept, so hooks stay executable), and the annotations
// AnnotationVersion (a semantic version, "v1.2.0") and AnnotationChangelog.
// A release channel ("stable", "ea", "alpha", "my-feature") is a tag.
//
// A Source is either a registry repository, named "oci://HOST[:PORT]/REPO",
// or an OCI image layout directory on disk (what `bundle push DIR PATH`
// writes), named by its path. Both answer the same calls: Resolve a
// channel, Pull by digest, Push, List.
//
// Everything read is checked before it is used: manifests and layers are
// verified against their digests, an artifact that is not a bundle is
// refused with ErrNotBundle, and Unpack refuses entries that would land
// outside the target directory (ErrUnsafePath).
//
// Bundles are signed in the classic format of `cosign sign --key` (Sign,
// PushOptions.Signer): a manifest tagged SignatureTag(digest) beside the
// bundle. A Source opened with Options.VerifyKeys pulls only bundles with a
// signature by one of the keys (ErrSignature otherwise), checked before
// the layer is read.
//
// It owns the artifact format, its signatures and the registry wire. It
// must not import any other package of the operator (reading a bundle's
// modules is package module's job) and never talks to the Kubernetes API
// server.
package bundle
