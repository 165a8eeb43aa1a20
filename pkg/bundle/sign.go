package bundle

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
)

// The classic cosign signature format (`cosign sign --key`): beside the
// bundle, in the same repository or layout, an image manifest tagged
// SignatureTag(digest) whose layers are "simple signing" payloads naming
// the bundle's manifest digest, each with its signature in the annotation
// AnnotationSignature.
const (
	// SignatureMediaType is the media type of a signature layer.
	SignatureMediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	// AnnotationSignature holds the base64 signature of the layer's bytes.
	AnnotationSignature = "dev.cosignproject.cosign/signature"
	// signatureType is the payload's critical.type.
	signatureType = "cosign container image signature"
)

// Bounds of what signature verification reads.
const (
	maxSignaturePayload = 64 << 10
	maxSignatureLayers  = 64
)

// SignatureTag is the tag of the signatures of the manifest with digest d:
// "sha256-<hex>.sig".
func SignatureTag(d digest.Digest) string {
	return d.Algorithm().String() + "-" + d.Encoded() + ".sig"
}

// signatureTagPattern matches what SignatureTag returns.
var signatureTagPattern = regexp.MustCompile(`^sha256-[0-9a-f]{64}\.sig$`)

// simpleSigning is the payload that is signed.
type simpleSigning struct {
	Critical struct {
		Identity struct {
			DockerReference string `json:"docker-reference"`
		} `json:"identity"`
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type string `json:"type"`
	} `json:"critical"`
	Optional map[string]any `json:"optional"`
}

// PublicKey is a key bundle signatures are verified with. The zero value
// verifies nothing.
type PublicKey struct {
	// Name says where the key came from (a file name), for messages.
	Name     string
	verifier signature.Verifier
}

// ParsePublicKeys reads every "PUBLIC KEY" PEM block of data: ECDSA P-256
// (signatures over SHA-256) or Ed25519, as `cosign generate-key-pair` and
// `openssl pkey -pubout` write them. name labels the keys in messages.
// Data without such a block, or with a key of another kind, is an error.
func ParsePublicKeys(name string, data []byte) ([]PublicKey, error) {
	var out []PublicKey
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != string(cryptoutils.PublicKeyPEMType) {
			continue
		}
		pub, err := cryptoutils.UnmarshalPEMToPublicKey(pem.EncodeToMemory(block))
		if err != nil {
			return nil, fmt.Errorf("public key %s: %w", name, err)
		}
		if err := checkKeyKind(pub); err != nil {
			return nil, fmt.Errorf("public key %s: %w", name, err)
		}
		v, err := signature.LoadVerifier(pub, crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("public key %s: %w", name, err)
		}
		out = append(out, PublicKey{Name: name, verifier: v})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("public key %s: no PEM block \"PUBLIC KEY\" found; want an ECDSA P-256 or Ed25519 public key in PEM", name)
	}
	return out, nil
}

// ReadPublicKeys reads the public keys of a PEM file (see ParsePublicKeys).
func ReadPublicKeys(path string) ([]PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	return ParsePublicKeys(path, data)
}

func checkKeyKind(k crypto.PublicKey) error {
	switch k := k.(type) {
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return nil
		}
		return fmt.Errorf("ECDSA key on curve %s: want P-256", k.Curve.Params().Name)
	case ed25519.PublicKey:
		return nil
	}
	return fmt.Errorf("a %T: want an ECDSA P-256 or Ed25519 key", k)
}

// Signer signs bundles. The zero value is unusable; see ParsePrivateKey.
type Signer struct {
	signer signature.Signer
}

// ParsePrivateKey reads a PEM private key: PKCS#8 ("PRIVATE KEY") or SEC 1
// ("EC PRIVATE KEY"), ECDSA P-256 or Ed25519, or a key written by `cosign
// generate-key-pair` ("ENCRYPTED SIGSTORE PRIVATE KEY" or "ENCRYPTED COSIGN
// PRIVATE KEY"), decrypted with password. password is called only for an
// encrypted key; nil then is an error. Messages never hold key material.
func ParsePrivateKey(data []byte, password func() ([]byte, error)) (Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil || !strings.HasSuffix(block.Type, "PRIVATE KEY") {
		return Signer{}, errors.New("private key: no PEM block found; want a PKCS#8 ECDSA P-256 or Ed25519 private key in PEM")
	}
	encrypted := strings.HasPrefix(block.Type, "ENCRYPTED")
	if encrypted && password == nil {
		return Signer{}, fmt.Errorf("private key: a %q block needs a password", block.Type)
	}
	var pf cryptoutils.PassFunc
	if encrypted {
		pf = func(bool) ([]byte, error) {
			p, err := password()
			if err == nil && len(p) == 0 {
				err = errors.New("empty password")
			}
			return p, err
		}
	}
	key, err := cryptoutils.UnmarshalPEMToPrivateKey(pem.EncodeToMemory(block), pf)
	if err != nil {
		return Signer{}, fmt.Errorf("private key (PEM block %q): %w", block.Type, err)
	}
	pub, ok := key.(crypto.Signer)
	if !ok {
		return Signer{}, fmt.Errorf("private key: a %T cannot sign", key)
	}
	if err := checkKeyKind(pub.Public()); err != nil {
		return Signer{}, fmt.Errorf("private key: %w", err)
	}
	s, err := signature.LoadSigner(key, crypto.SHA256)
	if err != nil {
		return Signer{}, fmt.Errorf("private key: %w", err)
	}
	return Signer{signer: s}, nil
}

// verifier verifies what s signs.
func (s Signer) verifier() (signature.Verifier, error) {
	pub, err := s.signer.PublicKey()
	if err != nil {
		return nil, err
	}
	return signature.LoadVerifier(pub, crypto.SHA256)
}

// signedBy reports whether layer l carries a signature of payload by v.
func signedBy(l ocispec.Descriptor, payload []byte, v signature.Verifier) bool {
	sig, err := base64.StdEncoding.DecodeString(l.Annotations[AnnotationSignature])
	return err == nil && v.VerifySignature(bytes.NewReader(sig), bytes.NewReader(payload)) == nil
}

// signaturePayload is the simple-signing JSON for the manifest d of the
// repository named ref.
func signaturePayload(ref string, d digest.Digest) ([]byte, error) {
	var p simpleSigning
	p.Critical.Identity.DockerReference = strings.TrimPrefix(ref, OCIScheme)
	p.Critical.Image.DockerManifestDigest = d.String()
	p.Critical.Type = signatureType
	return json.Marshal(p)
}

// Sign signs the bundle with manifest digest dgst and publishes the
// signature under SignatureTag(dgst), keeping the signatures already there
// (another key's, during a key rotation). Signing twice with the same key
// keeps one signature per payload and key. Errors: ErrInvalidReference,
// ErrNotFound for an unknown digest, ErrNotBundle when dgst is not a bundle.
func (s *Source) Sign(ctx context.Context, dgst string, signer Signer) error {
	if signer.signer == nil {
		return errors.New("sign: no private key")
	}
	d, err := digest.Parse(dgst)
	if err != nil {
		return fmt.Errorf("%w: digest %q: %w", ErrInvalidReference, dgst, err)
	}
	t, err := s.writeTarget(ctx)
	if err != nil {
		return err
	}
	desc, err := t.Resolve(ctx, d.String())
	if errors.Is(err, errdef.ErrNotFound) {
		return fmt.Errorf("%w: %s in %s", ErrNotFound, d, s.ref)
	}
	if err != nil {
		return fmt.Errorf("resolve %s in %s: %w", d, s.ref, err)
	}
	if _, err := readManifest(ctx, t, desc); err != nil {
		return fmt.Errorf("sign %s in %s: %w", d, s.ref, err)
	}
	return s.sign(ctx, t, d, signer)
}

// sign publishes a signature of d, known to be a bundle in t.
func (s *Source) sign(ctx context.Context, t oras.Target, d digest.Digest, signer Signer) error {
	if signer.signer == nil {
		return errors.New("sign: no private key")
	}
	payload, err := signaturePayload(s.ref, d)
	if err != nil {
		return err
	}
	sig, err := signer.signer.SignMessage(bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("sign %s: %w", d, err)
	}
	layer := content.NewDescriptorFromBytes(SignatureMediaType, payload)
	layer.Annotations = map[string]string{AnnotationSignature: base64.StdEncoding.EncodeToString(sig)}
	layers := []ocispec.Descriptor{layer}
	own, err := signer.verifier()
	if err != nil {
		return err
	}
	for _, old := range existingSignatures(ctx, t, d) {
		if old.Digest == layer.Digest && signedBy(old, payload, own) {
			continue // this key's earlier signature of the same payload
		}
		layers = append(layers, old)
	}
	if err := pushBlob(ctx, t, layer, payload); err != nil {
		return fmt.Errorf("push signature to %s: %w", s.ref, err)
	}
	config, err := signatureConfig(layers)
	if err != nil {
		return err
	}
	configDesc := content.NewDescriptorFromBytes(ocispec.MediaTypeImageConfig, config)
	if err := pushBlob(ctx, t, configDesc, config); err != nil {
		return fmt.Errorf("push signature to %s: %w", s.ref, err)
	}
	manifest, err := oras.PackManifest(ctx, t, oras.PackManifestVersion1_1, "", oras.PackManifestOptions{
		Layers: layers, ConfigDescriptor: &configDesc,
	})
	if err != nil {
		return fmt.Errorf("push signature manifest to %s: %w", s.ref, err)
	}
	if err := t.Tag(ctx, manifest, SignatureTag(d)); err != nil {
		return fmt.Errorf("tag %s in %s: %w", SignatureTag(d), s.ref, err)
	}
	return nil
}

func pushBlob(ctx context.Context, t oras.Target, desc ocispec.Descriptor, data []byte) error {
	exists, err := t.Exists(ctx, desc)
	if err != nil || exists {
		return err
	}
	if err := t.Push(ctx, desc, bytes.NewReader(data)); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
		return err
	}
	return nil
}

// signatureConfig is the image configuration cosign writes beside its
// signature layers: their digests as the root filesystem.
func signatureConfig(layers []ocispec.Descriptor) ([]byte, error) {
	img := ocispec.Image{RootFS: ocispec.RootFS{Type: "layers"}}
	for _, l := range layers {
		img.RootFS.DiffIDs = append(img.RootFS.DiffIDs, l.Digest)
	}
	return json.Marshal(img)
}

// existingSignatures returns the signature layers already published for d;
// none when there are none or they cannot be read (they are replaced then).
func existingSignatures(ctx context.Context, t oras.ReadOnlyTarget, d digest.Digest) []ocispec.Descriptor {
	m, err := readSignatureManifest(ctx, t, d)
	if err != nil {
		return nil
	}
	var out []ocispec.Descriptor
	for _, l := range m.Layers {
		if l.MediaType == SignatureMediaType && l.Annotations[AnnotationSignature] != "" {
			out = append(out, l)
		}
	}
	return out
}

func readSignatureManifest(ctx context.Context, t oras.ReadOnlyTarget, d digest.Digest) (ocispec.Manifest, error) {
	tag := SignatureTag(d)
	desc, err := t.Resolve(ctx, tag)
	if err != nil {
		return ocispec.Manifest{}, err
	}
	if desc.Size > maxManifestBytes {
		return ocispec.Manifest{}, fmt.Errorf("signature manifest %s is %d bytes", tag, desc.Size)
	}
	data, err := content.FetchAll(ctx, t, desc)
	if err != nil {
		return ocispec.Manifest{}, err
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return ocispec.Manifest{}, fmt.Errorf("signature manifest %s is not JSON: %w", tag, err)
	}
	return m, nil
}

// verifySignature checks that one signature published for d, by one of
// keys, signs a payload naming d. Every failure wraps ErrSignature and
// says what was found; a transport problem is returned as it is.
func verifySignature(ctx context.Context, t oras.ReadOnlyTarget, ref string, d digest.Digest, keys []PublicKey) error {
	tag := SignatureTag(d)
	m, err := readSignatureManifest(ctx, t, d)
	if errors.Is(err, errdef.ErrNotFound) {
		return fmt.Errorf("%w: bundle %s in %s is not signed (no tag %s)", ErrSignature, d, ref, tag)
	}
	if errors.Is(err, content.ErrMismatchedDigest) || errors.Is(err, content.ErrTrailingData) {
		return fmt.Errorf("%w: signature manifest %s in %s: %w", ErrSignature, tag, ref, err)
	}
	if err != nil {
		return fmt.Errorf("read signature %s in %s: %w", tag, ref, err)
	}
	var reasons []string
	checked := 0
	for _, l := range m.Layers {
		if l.MediaType != SignatureMediaType {
			continue
		}
		if checked == maxSignatureLayers {
			reasons = append(reasons, fmt.Sprintf("more than %d signatures, the rest not checked", maxSignatureLayers))
			break
		}
		checked++
		ok, reason, err := checkSignatureLayer(ctx, t, l, d, keys)
		if err != nil {
			return fmt.Errorf("read signature %s in %s: %w", tag, ref, err)
		}
		if ok {
			return nil
		}
		reasons = append(reasons, reason)
	}
	if checked == 0 {
		return fmt.Errorf("%w: bundle %s in %s: tag %s holds no layer of type %s", ErrSignature, d, ref, tag, SignatureMediaType)
	}
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.Name
	}
	return fmt.Errorf("%w: bundle %s in %s: no valid signature by the trusted keys (%s): %s",
		ErrSignature, d, ref, strings.Join(names, ", "), strings.Join(reasons, "; "))
}

// checkSignatureLayer reports whether layer l holds a signature by one of
// keys over a payload naming d, and why not. err is a transport problem.
func checkSignatureLayer(ctx context.Context, t oras.ReadOnlyTarget, l ocispec.Descriptor, d digest.Digest, keys []PublicKey) (bool, string, error) {
	sig, err := base64.StdEncoding.DecodeString(l.Annotations[AnnotationSignature])
	if err != nil || len(sig) == 0 {
		return false, fmt.Sprintf("layer %s: annotation %s is missing or not base64", l.Digest, AnnotationSignature), nil
	}
	if l.Size > maxSignaturePayload || l.Size < 0 {
		return false, fmt.Sprintf("layer %s: payload of %d bytes", l.Digest, l.Size), nil
	}
	payload, err := content.FetchAll(ctx, t, l)
	if errors.Is(err, content.ErrMismatchedDigest) || errors.Is(err, content.ErrTrailingData) || errors.Is(err, errdef.ErrNotFound) {
		return false, fmt.Sprintf("layer %s: %v", l.Digest, err), nil
	}
	if err != nil {
		return false, "", err
	}
	signed := false
	for _, k := range keys {
		if k.verifier != nil && signedBy(l, payload, k.verifier) {
			signed = true
			break
		}
	}
	if !signed {
		return false, fmt.Sprintf("layer %s: signature does not verify with any trusted key", l.Digest), nil
	}
	var p simpleSigning
	if err := json.Unmarshal(payload, &p); err != nil {
		return false, fmt.Sprintf("layer %s: payload is not simple-signing JSON", l.Digest), nil
	}
	if p.Critical.Type != signatureType {
		return false, fmt.Sprintf("layer %s: payload type %q, want %q", l.Digest, p.Critical.Type, signatureType), nil
	}
	if p.Critical.Image.DockerManifestDigest != d.String() {
		return false, fmt.Sprintf("layer %s: payload signs %s, not this bundle", l.Digest, p.Critical.Image.DockerManifestDigest), nil
	}
	return true, "", nil
}
