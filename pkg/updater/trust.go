package updater

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/seedops/addon-operator/pkg/bundle"
)

// ErrSourceNotAllowed: a source (the operator section's, or a Release's
// spec.source) is outside --allowed-sources, or a Deployed release comes
// from another source than the configured one. Permanent for the release
// it concerns.
var ErrSourceNotAllowed = errors.New("source not allowed")

// listFlag is a repeatable flag whose values may also be comma-separated.
type listFlag struct{ list *[]string }

func (f listFlag) String() string {
	if f.list == nil {
		return ""
	}
	return strings.Join(*f.list, ",")
}

func (f listFlag) Set(v string) error {
	for item := range strings.SplitSeq(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			*f.list = append(*f.list, item)
		}
	}
	return nil
}

// CheckTrust checks the trust flags: every --verify-key file holds usable
// public keys and no --allowed-sources prefix is empty. The operator calls
// it at start so that a typo fails loudly rather than at the first update.
func (c Config) CheckTrust() error {
	if _, err := c.verifyKeys(); err != nil {
		return err
	}
	for _, p := range c.AllowedSources {
		host := strings.TrimPrefix(p, bundle.OCIScheme)
		if bundle.IsRemote(p) && (host == "" || strings.HasPrefix(host, "/")) || !bundle.IsRemote(p) && !filepath.IsAbs(p) {
			return fmt.Errorf("--allowed-sources %q: want oci://HOST[/PATH] or an absolute directory path", p)
		}
	}
	return nil
}

// verifyKeys reads the --verify-key files anew, so a rotated file (a
// mounted Secret) is used without a restart. None configured: nil.
func (c Config) verifyKeys() ([]bundle.PublicKey, error) {
	var keys []bundle.PublicKey
	for _, f := range c.VerifyKeys {
		k, err := bundle.ReadPublicKeys(f)
		if err != nil {
			return nil, fmt.Errorf("--verify-key: %w", err)
		}
		keys = append(keys, k...)
	}
	return keys, nil
}

// allowSource checks ref against --allowed-sources: allowed when the flag
// is empty, or ref equals a prefix, or continues it at a path boundary
// (the prefix ends with "/" or ref goes on with "/"), so that
// "oci://registry.example.com/addons" allows ".../addons/bundle" but not
// ".../addons-evil".
func (c Config) allowSource(ref string) error {
	if len(c.AllowedSources) == 0 {
		return nil
	}
	for _, p := range c.AllowedSources {
		if ref == p || (strings.HasPrefix(ref, p) && (strings.HasSuffix(p, "/") || ref[len(p)] == '/')) {
			return nil
		}
	}
	return fmt.Errorf("%w: %q is not within --allowed-sources (%s)", ErrSourceNotAllowed, ref, strings.Join(c.AllowedSources, ", "))
}

// checkRestore refuses to restore rel unless it comes from the configured
// source (the operator section's) and that source is allowed. A Release
// object is editable by whoever may write Releases; the flags are not.
func (u *Updater) checkRestore(rel Release, s Settings) error {
	if s.Source == "" {
		return fmt.Errorf("%w: release %s comes from %q but the operator section names no source", ErrSourceNotAllowed, rel.Name, rel.Source)
	}
	if err := u.cfg.allowSource(s.Source); err != nil {
		return fmt.Errorf("operator.source: %w", err)
	}
	if rel.Source != s.Source {
		return fmt.Errorf("%w: release %s comes from %q, the configured source is %q", ErrSourceNotAllowed, rel.Name, rel.Source, s.Source)
	}
	return nil
}
