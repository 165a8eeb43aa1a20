package bundle

import "errors"

// Sentinel errors; check with errors.Is. Messages say what was found and
// where.
var (
	// ErrNotBundle: the artifact, manifest or layer is not an
	// addon-operator bundle (wrong media or artifact type, no or several
	// layers, a version that is not semver, a layer that is not tar+gzip).
	ErrNotBundle = errors.New("not an addon-operator bundle")
	// ErrDigestMismatch: content read from a source does not match its
	// digest; it was tampered with or corrupted on the way.
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrUnsafePath: an archive entry or link would leave the bundle
	// directory, a link is dangling, the archive holds something that is
	// not a directory, regular file or symbolic link, or it exceeds
	// Unpack's limits.
	ErrUnsafePath = errors.New("unsafe path in bundle")
	// ErrNotFound: the channel (tag) or digest does not exist in the source.
	ErrNotFound = errors.New("not found")
	// ErrInvalidReference: a source, channel, version or digest is malformed.
	ErrInvalidReference = errors.New("invalid reference")
	// ErrSignature: public keys are configured and the bundle has no
	// signature that one of them verifies (unsigned, signed by another key,
	// or a signature naming another digest).
	ErrSignature = errors.New("signature not verified")
)
