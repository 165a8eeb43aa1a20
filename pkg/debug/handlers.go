package debug

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/seedops/addon-operator/pkg/helm"
	"github.com/seedops/addon-operator/pkg/mask"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/values"
)

// Query parameters.
const (
	paramShowSecrets = "show-secrets"
	paramDiff        = "diff"
)

// routes registers the API.
func (s *Server) routes() {
	s.mux.Handle("GET /v1/modules", s.serve(listModules))
	s.mux.Handle("GET /v1/modules/{name}/values", s.serve(s.moduleValues(false)))
	s.mux.Handle("GET /v1/modules/{name}/config", s.serve(s.moduleValues(true)))
	s.mux.Handle("GET /v1/modules/{name}/render", s.serve(s.render))
	s.mux.Handle("GET /v1/modules/{name}/drift", s.serve(moduleDrift))
	s.mux.Handle("GET /v1/global/values", s.serve(s.globalValues(false)))
	s.mux.Handle("GET /v1/global/config", s.serve(s.globalValues(true)))
	s.mux.Handle("GET /v1/queues", s.serve(listQueues))
	s.mux.Handle("GET /v1/hooks", s.serve(listHooks))
	s.mux.Handle("GET /v1/releases", s.serve(listReleases))
	s.mux.Handle("POST /v1/releases/{version}/approve", s.serve(s.approveRelease))
}

// listModules answers with the modules' states. Messages carry hook
// output and Helm errors, so known secret values in them are masked.
func listModules(_ *http.Request, src *Sources) (any, error) {
	statuses := src.Modules.Statuses()
	mk := knownSecrets(src)
	out := make([]ModuleStatus, 0, len(statuses))
	for _, st := range statuses {
		ms := moduleStatus(st)
		ms.Message, ms.EnabledReason = mk.Mask(ms.Message), mk.Mask(ms.EnabledReason)
		out = append(out, ms)
	}
	return out, nil
}

// listQueues answers with the queues, known secret values masked in the
// tasks' errors.
func listQueues(_ *http.Request, src *Sources) (any, error) {
	snap := src.Queues.Snapshot()
	mk := knownSecrets(src)
	out := make([]Queue, 0, len(snap))
	for _, q := range snap {
		qi := queueInfo(q)
		for i := range qi.Tasks {
			qi.Tasks[i].LastError = mk.Mask(qi.Tasks[i].LastError)
		}
		out = append(out, qi)
	}
	return out, nil
}

// knownSecrets masks the secret values of the global section and of every
// module, effective and config values alike.
func knownSecrets(src *Sources) *mask.Masker {
	b := src.Modules.Bundle()
	paths := secretPaths(b, nil)
	vals, cfgVals := src.Values.GlobalValues()
	secrets := append(secretStrings(vals, paths), secretStrings(cfgVals, paths)...)
	if b != nil {
		for _, m := range b.Modules {
			vals, cfgVals, err := src.Values.ModuleValues(m.Name)
			if err != nil {
				continue
			}
			paths := secretPaths(b, m)
			secrets = append(secrets, secretStrings(vals, paths)...)
			secrets = append(secrets, secretStrings(cfgVals, paths)...)
		}
	}
	return newMasker(secrets)
}

func listHooks(_ *http.Request, src *Sources) (any, error) {
	hooks := src.Modules.Hooks()
	out := make([]Hook, 0, len(hooks))
	for _, h := range hooks {
		out = append(out, hookInfo(h))
	}
	return out, nil
}

// moduleValues answers with a module's effective values, or its config
// values when config is set, secrets masked unless asked for.
func (s *Server) moduleValues(config bool) endpoint {
	return func(r *http.Request, src *Sources) (any, error) {
		name := r.PathValue("name")
		b := src.Modules.Bundle()
		m, err := findModule(b, name)
		if err != nil {
			return nil, err
		}
		vals, cfgVals, err := src.Values.ModuleValues(name)
		if errors.Is(err, module.ErrUnknownModule) {
			return nil, unknownModule(b, name)
		}
		if err != nil {
			return nil, fmt.Errorf("module %q values: %w", name, err)
		}
		if config {
			vals = cfgVals
		}
		show := s.showSecrets(r, name)
		return maskSections(vals, secretPaths(b, m), show)
	}
}

// globalValues answers with the global values or config values.
func (s *Server) globalValues(config bool) endpoint {
	return func(r *http.Request, src *Sources) (any, error) {
		vals, cfgVals := src.Values.GlobalValues()
		if config {
			vals = cfgVals
		}
		show := s.showSecrets(r, "")
		return maskSections(vals, secretPaths(src.Modules.Bundle(), nil), show)
	}
}

// render renders the module's chart with its current values and, with
// ?diff=true, diffs it against the release's last revision.
func (s *Server) render(r *http.Request, src *Sources) (any, error) {
	ctx := r.Context()
	name := r.PathValue("name")
	b := src.Modules.Bundle()
	m, err := findModule(b, name)
	if err != nil {
		return nil, err
	}
	if !m.Releases {
		return nil, &apiError{status: http.StatusUnprocessableEntity, body: ErrorResponse{
			Code:  CodeNoChart,
			Error: fmt.Sprintf("module %q installs no Helm release (it has no templates/ directory and no dependencies other than libraries, or its chart is a library chart): there is nothing to render", name),
		}}
	}
	vals, _, err := src.Values.ModuleValues(name)
	if errors.Is(err, module.ErrUnknownModule) {
		return nil, unknownModule(b, name)
	}
	if err != nil {
		return nil, fmt.Errorf("module %q values: %w", name, err)
	}
	show := s.showSecrets(r, name)
	paths := secretPaths(b, m)
	secrets := secretStrings(vals, paths)

	rendered, err := src.Charts.Render(ctx, name, m.Dir, vals)
	if err != nil {
		msg := err.Error()
		if !show {
			msg = newMasker(secrets).Mask(msg)
		}
		if errors.Is(err, helm.ErrRender) {
			return nil, &apiError{status: http.StatusUnprocessableEntity, body: ErrorResponse{Code: CodeRenderFailed, Error: msg}}
		}
		return nil, &apiError{status: http.StatusInternalServerError, body: ErrorResponse{Code: CodeInternal, Error: msg}}
	}
	secrets = append(secrets, manifestSecrets(rendered.Manifest)...)
	res := RenderResult{Module: name, Manifest: rendered.Manifest}

	if r.URL.Query().Get(paramDiff) == "true" {
		from, fromName := "", name+" (no release)"
		rel, err := src.Charts.Status(ctx, name)
		switch {
		case errors.Is(err, helm.ErrNotFound):
		case err != nil:
			return nil, fmt.Errorf("module %q release: %w", name, err)
		default:
			res.Deployed = &DeployedRelease{Revision: rel.Revision, Status: rel.Status, Updated: rel.Updated}
			fromName = fmt.Sprintf("%s revision %d (%s)", name, rel.Revision, rel.Status)
			// An uninstalled release has left nothing in the cluster.
			if rel.Status != "uninstalled" {
				from = rel.Manifest
			}
			secrets = append(secrets, manifestSecrets(rel.Manifest)...)
		}
		res.Diff = unifiedDiff(fromName, name+" (rendered)", from, rendered.Manifest)
	}
	if !show {
		mk := newMasker(secrets)
		res.Manifest = mk.Mask(res.Manifest)
		res.Diff = mk.Mask(res.Diff)
	}
	return res, nil
}

// showSecrets reports whether the request asks for secrets, and records
// that it did.
func (s *Server) showSecrets(r *http.Request, moduleName string) bool {
	if r.URL.Query().Get(paramShowSecrets) != "true" {
		return false
	}
	if moduleName == "" {
		s.log.Info("secrets shown over the debug socket")
	} else {
		s.log.Info("secrets shown over the debug socket", "module", moduleName)
	}
	return true
}

// findModule returns the bundle's module named name, or the unknown-module
// answer.
func findModule(b *module.Bundle, name string) (*module.Module, error) {
	if m := b.Module(name); m != nil {
		return m, nil
	}
	return nil, unknownModule(b, name)
}

func unknownModule(b *module.Bundle, name string) error {
	var known []string
	var hint string
	if b != nil {
		for _, m := range b.Modules {
			known = append(known, m.Name)
			if m.ValuesKey == name {
				hint = fmt.Sprintf(" (%q is the values key of module %q; commands take the module name)", name, m.Name)
			}
		}
	}
	msg := fmt.Sprintf("module %q is not in the bundle%s; known modules: %s", name, hint, strings.Join(known, ", "))
	if len(known) == 0 {
		msg = fmt.Sprintf("module %q is not in the bundle, which has no modules", name)
	}
	return &apiError{status: http.StatusNotFound, body: ErrorResponse{Code: CodeUnknownModule, Error: msg, KnownModules: known}}
}

// secretPaths lists the x-secret paths of the global section and, with m,
// of m's section: those of the config-values and of the values schema.
func secretPaths(b *module.Bundle, m *module.Module) map[string][][]string {
	out := map[string][][]string{}
	if b != nil {
		out[values.GlobalKey] = append(b.GlobalSchema.Config.SecretPaths(), b.GlobalSchema.Values.SecretPaths()...)
	}
	if m != nil {
		out[m.ValuesKey] = append(m.Schema.Config.SecretPaths(), m.Schema.Values.SecretPaths()...)
	}
	return out
}
