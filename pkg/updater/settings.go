package updater

import (
	"crypto/x509"
	_ "embed"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/seedops/addon-operator/pkg/bundle"
	"github.com/seedops/addon-operator/pkg/helm"
	"github.com/seedops/addon-operator/pkg/schema"
	"github.com/seedops/addon-operator/pkg/values"
)

// Mode says how Pending releases are applied.
type Mode string

// Update modes.
const (
	// ModeAuto applies a new release inside the update windows (at once
	// without windows).
	ModeAuto Mode = "Auto"
	// ModeManual applies a release once it is annotated approved.
	ModeManual Mode = "Manual"
)

// minPollInterval bounds how hard a source is polled.
const minPollInterval = time.Second

// Settings are the parsed "operator" section. Zero fields fall back to the
// Updater's Config.
type Settings struct {
	// Channel is the tag to follow; Source the registry repository
	// (oci://…) or layout directory. Updates are off unless both are set.
	Channel string
	Source  string
	Mode    Mode
	// Windows restrict when ModeAuto applies; none means any time.
	Windows        []Window
	AllowDowngrade bool
	PollInterval   time.Duration
	// Retries and Timeout override the rollback flags (Retries nil,
	// Timeout 0: the flags).
	Retries *int
	Timeout time.Duration
	// RegistrySecret names a dockerconfigjson Secret in the operator's
	// namespace; RegistryCA is PEM; RegistryInsecure allows plain HTTP.
	RegistrySecret   string
	RegistryCA       string
	RegistryInsecure bool
	// Drift is the drift policy of the modules' releases.
	Drift helm.DriftPolicy
}

// Enabled reports whether the settings ask for updates at all.
func (s Settings) Enabled() bool { return s.Channel != "" && s.Source != "" }

//go:embed settings.yaml
var settingsSchemaYAML []byte

// settingsSchema is loaded once; the embedded document is part of the
// program, so a failure is a bug.
var settingsSchema = func() *schema.Schema {
	s, err := schema.Load("updater/settings.yaml", settingsSchemaYAML)
	if err != nil {
		panic(err)
	}
	return s
}()

// Validate checks the "operator" section: the built-in schema, then what a
// schema cannot say (durations, a usable source, a CA that parses, windows
// that are not empty). The error joins every problem, each naming the
// field ("operator.update.mode should be one of …").
func Validate(v values.Values) error {
	_, err := ParseSettings(v)
	return err
}

// ParseSettings validates the "operator" section (see Validate) and returns
// it parsed. An empty section gives zero Settings (updates off).
func ParseSettings(v values.Values) (Settings, error) {
	if err := settingsSchema.Validate(values.OperatorKey, v); err != nil {
		return Settings{}, err
	}
	var raw struct {
		ReleaseChannel string `json:"releaseChannel"`
		Source         string `json:"source"`
		Update         struct {
			Mode           Mode   `json:"mode"`
			AllowDowngrade bool   `json:"allowDowngrade"`
			PollInterval   string `json:"pollInterval"`
			Windows        []struct {
				Days []string `json:"days"`
				From string   `json:"from"`
				To   string   `json:"to"`
			} `json:"windows"`
			Rollback struct {
				Retries *int   `json:"retries"`
				Timeout string `json:"timeout"`
			} `json:"rollback"`
		} `json:"update"`
		Registry struct {
			Secret   string `json:"secret"`
			CA       string `json:"ca"`
			Insecure bool   `json:"insecure"`
		} `json:"registry"`
		Drift driftSection `json:"drift"`
	}
	if err := json.Unmarshal(v.JSON(), &raw); err != nil {
		return Settings{}, fmt.Errorf("%s: %w", values.OperatorKey, err)
	}
	s := Settings{
		Channel: raw.ReleaseChannel, Source: raw.Source, Mode: raw.Update.Mode,
		AllowDowngrade: raw.Update.AllowDowngrade, Retries: raw.Update.Rollback.Retries,
		RegistrySecret: raw.Registry.Secret, RegistryCA: raw.Registry.CA, RegistryInsecure: raw.Registry.Insecure,
	}
	if s.Mode == "" {
		s.Mode = ModeAuto
	}
	var errs []error
	if s.Source != "" {
		if err := bundle.CheckRef(s.Source); err != nil {
			errs = append(errs, fmt.Errorf("%s.source: %w", values.OperatorKey, err))
		}
	}
	if raw.Update.PollInterval != "" {
		d, err := time.ParseDuration(raw.Update.PollInterval)
		if err != nil || d < minPollInterval {
			errs = append(errs, fmt.Errorf("%s.update.pollInterval: want a duration such as 1m, at least %s", values.OperatorKey, minPollInterval))
		}
		s.PollInterval = d
	}
	if raw.Update.Rollback.Timeout != "" {
		d, err := time.ParseDuration(raw.Update.Rollback.Timeout)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s.update.rollback.timeout: want a positive duration such as 10m", values.OperatorKey))
		}
		s.Timeout = d
	}
	for i, w := range raw.Update.Windows {
		win, err := parseWindow(w.Days, w.From, w.To)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.update.windows[%d]: %w", values.OperatorKey, i, err))
			continue
		}
		s.Windows = append(s.Windows, win)
	}
	if s.RegistryCA != "" {
		if err := checkPEM([]byte(s.RegistryCA)); err != nil {
			errs = append(errs, fmt.Errorf("%s.registry.ca: %w", values.OperatorKey, err))
		}
	}
	var err error
	if s.Drift, err = raw.Drift.parse(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return Settings{}, errors.Join(errs...)
	}
	return s, nil
}

// driftSection is operator.drift as written.
type driftSection struct {
	Policy  helm.DriftMode `json:"policy"`
	Modules map[string]struct {
		Policy helm.DriftMode `json:"policy"`
		Ignore []struct {
			Kind      string   `json:"kind"`
			Name      string   `json:"name"`
			Namespace string   `json:"namespace"`
			Paths     []string `json:"paths"`
		} `json:"ignore"`
	} `json:"modules"`
}

// parse checks what the schema cannot (the JSON pointers) and converts.
func (d driftSection) parse() (helm.DriftPolicy, error) {
	p := helm.DriftPolicy{Mode: d.Policy}
	var errs []error
	for name, m := range d.Modules {
		if p.Modules == nil {
			p.Modules = map[string]helm.ModuleDriftPolicy{}
		}
		mp := helm.ModuleDriftPolicy{Mode: m.Policy}
		for i, r := range m.Ignore {
			for j, path := range r.Paths {
				if _, err := helm.ParsePointer(path); err != nil {
					errs = append(errs, fmt.Errorf("%s.drift.modules.%s.ignore[%d].paths[%d]: %w", values.OperatorKey, name, i, j, err))
				}
			}
			mp.Ignore = append(mp.Ignore, helm.DriftIgnoreRule{Kind: r.Kind, Name: r.Name, Namespace: r.Namespace, Paths: r.Paths})
		}
		p.Modules[name] = mp
	}
	if len(errs) > 0 {
		return helm.DriftPolicy{}, errors.Join(errs...)
	}
	return p, nil
}

func checkPEM(data []byte) error {
	found := false
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return errors.New("a PEM certificate does not parse")
		}
		found = true
	}
	if !found {
		return errors.New("want PEM CA certificates (-----BEGIN CERTIFICATE-----)")
	}
	return nil
}
