package bundle

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
)

const usage = `usage:
  addon-operator bundle push DIR SOURCE --version v1.2.0 [--channel stable[,ea]] [--changelog TEXT] [--sign-key FILE]
  addon-operator bundle sign SOURCE --digest sha256:… --key FILE
  addon-operator bundle pull SOURCE (--channel NAME | --digest sha256:…) DIR [--verify-key FILE[,FILE]]
  addon-operator bundle ls SOURCE

SOURCE is oci://HOST[:PORT]/REPO (a registry) or a directory (an OCI image layout).
Registry flags: --registry-config FILE (docker config.json / .dockerconfigjson),
--ca-file FILE (PEM), --insecure (plain HTTP to any host; loopback hosts use it anyway).
Keys are PEM: a private key (PKCS#8 or SEC 1, ECDSA P-256 or Ed25519; a cosign key
is decrypted with $COSIGN_PASSWORD) signs; public keys verify.
`

// Command runs `addon-operator bundle SUBCOMMAND ...` (push, sign, pull, ls) and
// returns the exit code: 0 on success, 1 on failure, 2 on bad usage. Flags
// may come before or after the positional arguments.
func Command(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var c cliCommand
	fs := flag.NewFlagSet("addon-operator bundle "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	fs.StringVar(&c.registryConfig, "registry-config", "", "docker config.json (or .dockerconfigjson) with registry logins")
	fs.StringVar(&c.caFile, "ca-file", "", "PEM CA certificates trusted for the registry")
	fs.BoolVar(&c.insecure, "insecure", false, "plain HTTP to the registry, whatever its host")
	var run func(context.Context) error
	switch args[0] {
	case "push":
		fs.StringVar(&c.version, "version", "", "semantic version of the bundle (required)")
		fs.StringVar(&c.channel, "channel", "", "channels (tags) to publish to, comma-separated")
		fs.StringVar(&c.changelog, "changelog", "", "changelog text")
		fs.StringVar(&c.key, "sign-key", "", "PEM private key to sign the bundle with (cosign format)")
		run = c.push
	case "sign":
		fs.StringVar(&c.digest, "digest", "", "digest of the bundle to sign (sha256:…, required)")
		fs.StringVar(&c.key, "key", "", "PEM private key (required)")
		run = c.sign
	case "pull":
		fs.StringVar(&c.channel, "channel", "", "channel to pull")
		fs.StringVar(&c.digest, "digest", "", "digest to pull (sha256:…)")
		fs.StringVar(&c.verifyKeys, "verify-key", "", "PEM public keys, comma-separated: refuse a bundle none of them signed")
		run = c.pull
	case "ls":
		run = c.list
	default:
		fmt.Fprintf(stderr, "addon-operator bundle: unknown subcommand %q\n%s", args[0], usage)
		return 2
	}
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return 2
	}
	c.args, c.out = pos, stdout
	if err := run(ctx); err != nil {
		fmt.Fprintf(stderr, "addon-operator bundle %s: %v\n", args[0], err)
		if errors.Is(err, errUsage) {
			fmt.Fprint(stderr, usage)
			return 2
		}
		return 1
	}
	return 0
}

var errUsage = errors.New("bad usage")

// parseInterleaved parses flags that may follow positional arguments.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

type cliCommand struct {
	registryConfig, caFile string
	insecure               bool
	version, channel       string
	changelog, digest      string
	key, verifyKeys        string
	args                   []string
	out                    io.Writer
}

func (c *cliCommand) open(ref string) (*Source, error) {
	var opts Options
	opts.Insecure = c.insecure
	if c.registryConfig != "" {
		data, err := os.ReadFile(c.registryConfig)
		if err != nil {
			return nil, err
		}
		if opts.Credentials, err = ParseDockerConfig(data); err != nil {
			return nil, err
		}
	}
	if c.caFile != "" {
		data, err := os.ReadFile(c.caFile)
		if err != nil {
			return nil, err
		}
		opts.CAPEM = data
	}
	for f := range strings.SplitSeq(c.verifyKeys, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		keys, err := ReadPublicKeys(f)
		if err != nil {
			return nil, err
		}
		opts.VerifyKeys = append(opts.VerifyKeys, keys...)
	}
	return Open(ref, opts)
}

// signer reads the private key file; an encrypted key takes its password
// from $COSIGN_PASSWORD, as cosign does.
func (c *cliCommand) signer() (*Signer, error) {
	data, err := os.ReadFile(c.key)
	if err != nil {
		return nil, err
	}
	password := func() ([]byte, error) {
		p, ok := os.LookupEnv("COSIGN_PASSWORD")
		if !ok {
			return nil, errors.New("the key is encrypted: set COSIGN_PASSWORD")
		}
		return []byte(p), nil
	}
	s, err := ParsePrivateKey(data, password)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.key, err)
	}
	return &s, nil
}

func (c *cliCommand) sign(ctx context.Context) error {
	if len(c.args) != 1 || c.digest == "" || c.key == "" {
		return fmt.Errorf("%w: sign takes SOURCE, --digest and --key", errUsage)
	}
	signer, err := c.signer()
	if err != nil {
		return err
	}
	src, err := c.open(c.args[0])
	if err != nil {
		return err
	}
	if err := src.Sign(ctx, c.digest, *signer); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "signed %s in %s\n", c.digest, src)
	return nil
}

func (c *cliCommand) push(ctx context.Context) error {
	if len(c.args) != 2 || c.version == "" {
		return fmt.Errorf("%w: push takes DIR SOURCE and --version", errUsage)
	}
	src, err := c.open(c.args[1])
	if err != nil {
		return err
	}
	var channels []string
	for ch := range strings.SplitSeq(c.channel, ",") {
		if ch = strings.TrimSpace(ch); ch != "" {
			channels = append(channels, ch)
		}
	}
	opts := PushOptions{Version: c.version, Channels: channels, Changelog: c.changelog}
	if c.key != "" {
		if opts.Signer, err = c.signer(); err != nil {
			return err
		}
	}
	meta, err := src.Push(ctx, c.args[0], opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "pushed %s %s to %s", meta.Version, meta.Digest, src)
	if opts.Signer != nil {
		fmt.Fprint(c.out, " (signed)")
	}
	if len(channels) > 0 {
		fmt.Fprintf(c.out, " (channels: %s)", strings.Join(channels, ", "))
	}
	fmt.Fprintln(c.out)
	return nil
}

func (c *cliCommand) pull(ctx context.Context) error {
	if len(c.args) != 2 || (c.channel == "") == (c.digest == "") {
		return fmt.Errorf("%w: pull takes SOURCE DIR and one of --channel or --digest", errUsage)
	}
	src, err := c.open(c.args[0])
	if err != nil {
		return err
	}
	dgst := c.digest
	if c.channel != "" {
		meta, err := src.Resolve(ctx, c.channel)
		if err != nil {
			return err
		}
		dgst = meta.Digest
	}
	dir := c.args[1]
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s exists and is not empty", dir)
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, ".bundle-pull-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	meta, err := src.Pull(ctx, dgst, tmp)
	if err != nil {
		return err
	}
	_ = os.Remove(dir) // an empty directory is replaced
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "pulled %s %s into %s\n", meta.Version, meta.Digest, dir)
	return nil
}

func (c *cliCommand) list(ctx context.Context) error {
	if len(c.args) != 1 {
		return fmt.Errorf("%w: ls takes SOURCE", errUsage)
	}
	src, err := c.open(c.args[0])
	if err != nil {
		return err
	}
	channels, err := src.List(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "CHANNEL\tVERSION\tDIGEST")
	for _, ch := range channels {
		if ch.Err != nil {
			fmt.Fprintf(w, "%s\t-\t(%v)\n", ch.Name, ch.Err)
			continue
		}
		fmt.Fprintf(w, "%s\t%s\t%s\n", ch.Name, ch.Meta.Version, ch.Meta.Digest)
	}
	return w.Flush()
}
