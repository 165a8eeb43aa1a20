package module

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
	"go.yaml.in/yaml/v3"
)

// DefinitionFile is the module definition file beside Chart.yaml, as in
// Deckhouse modules (flant/addon-operator has none).
const DefinitionFile = "module.yaml"

// ValuesMode is how a module's chart sees its values.
type ValuesMode string

const (
	// ValuesWrapped (the default, the flant contract): templates read
	// .Values.<valuesKey> and .Values.global.
	ValuesWrapped ValuesMode = "wrapped"
	// ValuesUnwrapped: templates read the module's effective values at the
	// top level of .Values (plus .Values.global), as an upstream chart
	// expects.
	ValuesUnwrapped ValuesMode = "unwrapped"
)

// Definition is a module's module.yaml. A module with one is scheduled by
// its requirements only (see Bundle.Prerequisites).
type Definition struct {
	// Weight orders the module when its directory has no NNN- prefix; nil
	// when not set.
	Weight      *int
	Description string
	Tags        []string
	// Values is how the chart sees the module's values; ValuesWrapped when
	// not set.
	Values       ValuesMode
	Requirements Requirements
}

// Requirements are what a module needs to be enabled.
type Requirements struct {
	// Kubernetes is the constraint on the cluster's version ("" for none);
	// KubernetesAllows checks it.
	Kubernetes string
	// Modules are the names of the modules this one needs, sorted, each with
	// its version constraint on the needed module's Chart.yaml version (""
	// for any version). They must be enabled for this one to be.
	Modules map[string]string

	kubernetes *semver.Constraints
}

// KubernetesAllows reports whether the cluster version (as the API server
// reports it: "v1.34.4", "v1.30.2-eks-1234") meets the Kubernetes
// requirement, and when not, why. Pre-release and build suffixes of
// managed clusters are dropped before comparing, so "v1.30.2-eks-1234"
// satisfies ">= 1.30".
func (r Requirements) KubernetesAllows(version string) (bool, string) {
	if r.kubernetes == nil {
		return true, ""
	}
	v, err := semver.NewVersion(version)
	if err != nil {
		return false, fmt.Sprintf("requirements.kubernetes %q: cannot read the cluster version %q: %v", r.Kubernetes, version, err)
	}
	core, _ := semver.NewVersion(fmt.Sprintf("%d.%d.%d", v.Major(), v.Minor(), v.Patch()))
	if !r.kubernetes.Check(core) {
		return false, fmt.Sprintf("requirements.kubernetes %q is not met by the cluster's version %s", r.Kubernetes, version)
	}
	return true, ""
}

// ModuleNames returns the names of the required modules, sorted.
func (r Requirements) ModuleNames() []string {
	names := make([]string, 0, len(r.Modules))
	for n := range r.Modules {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// definitionFile is module.yaml as written. Fields of Deckhouse's
// module.yaml that this operator does not use are accepted and ignored so
// that those files load unchanged; anything else is refused.
type definitionFile struct {
	Name         string            `yaml:"name"`
	Weight       *int              `yaml:"weight"`
	Description  string            `yaml:"description"`
	Tags         []string          `yaml:"tags"`
	Values       string            `yaml:"values"`
	Requirements *requirementsFile `yaml:"requirements"`

	// Deckhouse's, informational here.
	Stage        string            `yaml:"stage"`
	Namespace    string            `yaml:"namespace"`
	Subsystems   []string          `yaml:"subsystems"`
	Critical     bool              `yaml:"critical"`
	Descriptions map[string]string `yaml:"descriptions"`
}

type requirementsFile struct {
	Kubernetes string            `yaml:"kubernetes"`
	Modules    map[string]string `yaml:"modules"`
}

// readDefinition reads module.yaml in m.Dir; nil without one. It checks
// what can be checked without the other modules; Bundle.checkRequirements
// does the rest.
func readDefinition(m *Module) (*Definition, error) {
	file := filepath.Join(m.Dir, DefinitionFile)
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read module definition: %w", err)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidBundle, file, fmt.Sprintf(format, args...))
	}
	var f definitionFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, bad("want a module definition (weight, description, tags, values, requirements): %v", err)
	}
	if f.Name != "" && f.Name != m.Name {
		return nil, bad("name %q differs from the module's name %q (its directory); remove the field or rename one of them", f.Name, m.Name)
	}
	d := &Definition{Weight: f.Weight, Description: f.Description, Tags: f.Tags, Values: ValuesWrapped}
	if d.Weight != nil && *d.Weight < 0 {
		return nil, bad("weight %d: want a number ≥ 0", *d.Weight)
	}
	switch ValuesMode(f.Values) {
	case "", ValuesWrapped:
	case ValuesUnwrapped:
		d.Values = ValuesUnwrapped
	default:
		return nil, bad("values %q: want %q or %q", f.Values, ValuesWrapped, ValuesUnwrapped)
	}
	if f.Requirements == nil {
		return d, nil
	}
	req := f.Requirements
	if req.Kubernetes != "" {
		c, err := semver.NewConstraint(req.Kubernetes)
		if err != nil {
			return nil, bad("requirements.kubernetes %q: want a semver constraint such as \">= 1.29\": %v", req.Kubernetes, err)
		}
		d.Requirements.Kubernetes, d.Requirements.kubernetes = req.Kubernetes, c
	}
	d.Requirements.Modules = map[string]string{}
	for name, constraint := range req.Modules {
		if name == m.Name {
			return nil, bad("requirements.modules.%s: a module cannot require itself", name)
		}
		if constraint = strings.TrimSpace(constraint); constraint != "" {
			if _, err := semver.NewConstraint(constraint); err != nil {
				return nil, bad("requirements.modules.%s %q: want a semver constraint on its Chart.yaml version such as \">= 1.2\", or \"\" for any: %v", name, constraint, err)
			}
		}
		d.Requirements.Modules[name] = constraint
	}
	return d, nil
}

// checkRequirements checks the module requirements against the bundle:
// every required module exists, its Chart.yaml version meets the
// constraint (both are fixed in a bundle, so a mismatch is the bundle's
// error, not the cluster's), and the order of starts has no cycle.
func (b *Bundle) checkRequirements() error {
	for _, m := range b.Modules {
		if m.Definition == nil {
			continue
		}
		file := filepath.Join(m.Dir, DefinitionFile)
		for _, name := range m.Definition.Requirements.ModuleNames() {
			dep := b.byName[name]
			if dep == nil {
				return fmt.Errorf("%w: %s: requirements.modules.%s: no module %q in the bundle", ErrInvalidBundle, file, name, name)
			}
			constraint := m.Definition.Requirements.Modules[name]
			if constraint == "" {
				continue
			}
			c, _ := semver.NewConstraint(constraint) // checked by readDefinition
			v, err := semver.NewVersion(dep.Version)
			if err != nil {
				return fmt.Errorf("%w: %s: requirements.modules.%s %q: module %s has no semver version in its Chart.yaml (got %q)", ErrInvalidBundle, file, name, constraint, name, dep.Version)
			}
			if !c.Check(v) {
				return fmt.Errorf("%w: %s: requirements.modules.%s %q: module %s is version %s", ErrInvalidBundle, file, name, constraint, name, dep.Version)
			}
		}
	}
	if cycle := b.findCycle(); cycle != nil {
		return fmt.Errorf("%w: modules wait for each other in a cycle: %s", ErrInvalidBundle, strings.Join(cycle, "; "))
	}
	return nil
}

// Prerequisites returns the modules that must have converged before m
// starts, in bundle order:
//   - a module with a module.yaml waits for the modules its
//     requirements.modules names, and only for them;
//   - a module without one waits for every module of a lower Order, as
//     before module.yaml existed (modules of one Order run together).
func (b *Bundle) Prerequisites(m *Module) []*Module {
	var out []*Module
	for _, other := range b.Modules {
		if m.Definition != nil {
			if _, ok := m.Definition.Requirements.Modules[other.Name]; ok {
				out = append(out, other)
			}
		} else if other.Order < m.Order {
			out = append(out, other)
		}
	}
	return out
}

// findCycle returns a cycle of Prerequisites as module names, the first
// repeated at the end, with why each waits ("a requires b", "b follows a");
// nil when there is none.
func (b *Bundle) findCycle() []string {
	const (
		unseen = iota
		onPath
		done
	)
	state := map[*Module]int{}
	var path []*Module
	var found []*Module
	var visit func(m *Module) bool
	visit = func(m *Module) bool {
		state[m] = onPath
		path = append(path, m)
		for _, p := range b.Prerequisites(m) {
			switch state[p] {
			case onPath:
				found = append(slices.Clone(path[slices.Index(path, p):]), p)
				return true
			case unseen:
				if visit(p) {
					return true
				}
			}
		}
		path = path[:len(path)-1]
		state[m] = done
		return false
	}
	for _, m := range b.Modules {
		if state[m] == unseen && visit(m) {
			break
		}
	}
	if found == nil {
		return nil
	}
	var out []string
	for i := 0; i+1 < len(found); i++ {
		waiter, waitsFor := found[i], found[i+1]
		why := "requires"
		if waiter.Definition == nil {
			why = "has no module.yaml, so it waits for every module of a lower order, such as"
		}
		out = append(out, fmt.Sprintf("%s %s %s", waiter.Name, why, waitsFor.Name))
	}
	return out
}
