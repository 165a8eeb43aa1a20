package hook

import (
	"bytes"
	"debug/buildinfo"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	sdkhook "github.com/deckhouse/module-sdk/pkg/hook"
)

// sdkModule is the module path of deckhouse/module-sdk: a Go binary built
// with it is a batch hook.
const sdkModule = "github.com/deckhouse/module-sdk"

// Batch marks a hook that is one entry of a batch binary: a Go program
// built with deckhouse/module-sdk that serves several hooks, prints their
// configurations for `hook config` and runs one for `hook run <ID>`.
type Batch struct {
	// ID is the entry's index in the binary's `hook config` output.
	ID int
	// Readiness marks the module's readiness probe, run as `hook ready`.
	Readiness bool
}

// args are the arguments of a run of the entry.
func (b *Batch) args() []string {
	if b.Readiness {
		return []string{"hook", "ready"}
	}
	return []string{"hook", "run", strconv.Itoa(b.ID)}
}

// IsBatch reports whether the executable at path is a batch binary: a Go
// program whose build information lists deckhouse/module-sdk as its main
// module or a dependency. It reads the file and runs nothing, so a script
// or another program is never started with arguments it does not know.
func IsBatch(path string) bool {
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return false
	}
	if info.Main.Path == sdkModule {
		return true
	}
	for _, d := range info.Deps {
		if d.Path == sdkModule {
			return true
		}
	}
	return false
}

// ParseBatchConfig parses the output of `<bin> hook config`: module-sdk's
// BatchHookConfig object (version "v1", hooks, an optional readiness
// hook), or the older form, a bare JSON array of hook configs. Errors wrap
// ErrInvalidConfig and say what was expected.
func ParseBatchConfig(data []byte) (sdkhook.BatchHookConfig, error) {
	data = bytes.TrimSpace(data)
	var cfg sdkhook.BatchHookConfig
	switch {
	case len(data) == 0:
		return cfg, fmt.Errorf("%w: `hook config` printed nothing, want module-sdk's batch hook config JSON", ErrInvalidConfig)
	case data[0] == '[':
		cfg.Version = sdkhook.BatchHookConfigV1
		if err := strictJSON(data, &cfg.Hooks); err != nil {
			return cfg, fmt.Errorf("%w: `hook config`: want a JSON array of module-sdk hook configs: %v", ErrInvalidConfig, err)
		}
	default:
		if err := strictJSON(data, &cfg); err != nil {
			return cfg, fmt.Errorf("%w: `hook config`: want module-sdk's batch hook config JSON ({\"version\":\"v1\",\"hooks\":[…]}) or an array of hook configs: %v", ErrInvalidConfig, err)
		}
		if cfg.Version != sdkhook.BatchHookConfigV1 {
			return cfg, fmt.Errorf("%w: `hook config`: version is %q, want %q", ErrInvalidConfig, cfg.Version, sdkhook.BatchHookConfigV1)
		}
	}
	if len(cfg.Hooks) == 0 && cfg.Readiness == nil {
		return cfg, fmt.Errorf("%w: `hook config`: no hooks in the batch", ErrInvalidConfig)
	}
	return cfg, nil
}

// strictJSON decodes one JSON value into v, refusing unknown fields and
// trailing data.
func strictJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value")
	}
	return nil
}

// ReadinessQueue is the queue of readiness probes that name none: a probe
// runs every few seconds and must not hold up the main queue.
const ReadinessQueue = "readiness"

// batchBindings converts one entry of a batch config to Bindings through
// the shell-operator config form, so that it is checked as any hook's
// `--config` is. A readiness probe's schedules allow failure (the probe
// reports, a failed run is not retried) and run on ReadinessQueue unless
// they name a queue.
func batchBindings(c sdkhook.HookConfig, global, readiness bool) (Bindings, error) {
	raw, err := shellConfig(c, readiness)
	if err != nil {
		return Bindings{}, err
	}
	return ParseConfig(raw, global)
}

// shellConfig writes a module-sdk hook config as a shell-operator v1
// config (JSON). The fields differ in two places: executeHookOnEvent is a
// bool in module-sdk (false: no events, only snapshots) and an event list
// in shell-operator, and executionMinInterval a number of nanoseconds
// rather than a duration string. allowFailure of the hook applies to each
// of its kubernetes and schedule bindings that does not set its own.
func shellConfig(c sdkhook.HookConfig, readiness bool) ([]byte, error) {
	out := map[string]any{"configVersion": "v1"}
	for key, order := range map[Binding]*uint{OnStartup: c.OnStartup, BeforeHelm: c.OnBeforeHelm, AfterHelm: c.OnAfterHelm, AfterDeleteHelm: c.OnAfterDeleteHelm} {
		if order != nil {
			out[string(key)] = *order
		}
	}
	allowFailure := c.AllowFailure != nil && *c.AllowFailure
	var schedules []map[string]any
	for _, s := range c.Schedule {
		m := map[string]any{"crontab": s.Crontab}
		if s.Name != "" {
			m["name"] = s.Name
		}
		switch {
		case s.Queue != "":
			m["queue"] = s.Queue
		case readiness:
			m["queue"] = ReadinessQueue
		}
		if allowFailure || readiness {
			m["allowFailure"] = true
		}
		schedules = append(schedules, m)
	}
	if len(schedules) > 0 {
		out[string(Schedule)] = schedules
	}
	var kube []map[string]any
	for _, k := range c.Kubernetes {
		m, err := asMap(k)
		if err != nil {
			return nil, err
		}
		if v, ok := m["executeHookOnEvent"].(bool); ok {
			if v {
				delete(m, "executeHookOnEvent")
			} else {
				m["executeHookOnEvent"] = []string{}
			}
		}
		if _, ok := m["allowFailure"]; !ok && allowFailure {
			m["allowFailure"] = true
		}
		kube = append(kube, m)
	}
	if len(kube) > 0 {
		out[string(Kubernetes)] = kube
	}
	if s := c.Settings; s != nil && (s.ExecutionMinInterval > 0 || s.ExecutionBurst > 0) {
		settings := map[string]any{}
		if s.ExecutionMinInterval > 0 {
			settings["executionMinInterval"] = s.ExecutionMinInterval.String()
		}
		if s.ExecutionBurst > 0 {
			settings["executionBurst"] = s.ExecutionBurst
		}
		out["settings"] = settings
	}
	data, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	return data, nil
}

func asMap(v any) (map[string]any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	return m, nil
}

// batchEntryName names an entry as flant/addon-operator does: the binary's
// hook name, the entry's metadata name and its index
// ("010-demo/hooks/batch:set-replicas:0"); the readiness probe is
// "<binary>:readiness".
func batchEntryName(file string, c sdkhook.HookConfig, id int) string {
	return file + ":" + c.Metadata.Name + ":" + strconv.Itoa(id)
}

// sdkError returns the message of module-sdk's JSON error
// ({"message":"…","code":…}), which a batch binary prints on stderr as its
// last line when a hook fails; ok is false when the last line of stderr is
// not one.
func sdkError(stderr string) (string, bool) {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if !strings.HasPrefix(last, "{") {
		return "", false
	}
	var e sdkhook.Error
	if err := strictJSON([]byte(last), &e); err != nil || e.Message == "" {
		return "", false
	}
	return e.Message, true
}
