package debug

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/seedops/addon-operator/pkg/helm"
)

// DriftReader reports the drift left in place in a module's release
// (*helm.Monitor): objects changed away from the deployed revision that
// the drift policy (Warn) or a correction pause leaves as they are.
type DriftReader interface {
	Drift(release string) []helm.DriftObject
}

// CodeNoDrift: the operator does not check for drift.
const CodeNoDrift = "drift_unavailable"

// ModuleDrift is the drift of a module's release (GET
// /v1/modules/{name}/drift). Objects is empty when the release is in sync
// with its deployed revision, or its drift is being corrected.
type ModuleDrift struct {
	Module  string          `json:"module"`
	Objects []DriftedObject `json:"objects"`
}

// DriftedObject is one object that differs from the deployed revision.
type DriftedObject struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
	// Revision is the deployed revision it was compared with.
	Revision int `json:"revision"`
	// Paths are the JSON pointers of the fields that differ.
	Paths []string `json:"paths"`
	// Diff has a "- path: live value" and a "+ path: revision's value"
	// line per path; Secret values are not shown.
	Diff string `json:"diff"`
	// Paused: the policy is Correct, but someone else keeps changing the
	// object back, so corrections are paused for a while.
	Paused bool `json:"paused,omitempty"`
}

// moduleDrift answers with the drift of a module's release, known secret
// values masked.
func moduleDrift(r *http.Request, src *Sources) (any, error) {
	name := r.PathValue("name")
	if _, err := findModule(src.Modules.Bundle(), name); err != nil {
		return nil, err
	}
	if src.Drift == nil {
		return nil, &apiError{status: http.StatusServiceUnavailable, body: ErrorResponse{
			Code: CodeNoDrift, Error: "this operator does not check its releases for drift",
		}}
	}
	out := ModuleDrift{Module: name, Objects: []DriftedObject{}}
	// Values of a chart-set field may be config values marked x-secret.
	mk := knownSecrets(src)
	for _, d := range src.Drift.Drift(name) {
		out.Objects = append(out.Objects, DriftedObject{
			APIVersion: d.Object.APIVersion, Kind: d.Object.Kind, Namespace: d.Object.Namespace, Name: d.Object.Name,
			Revision: d.Revision, Paths: d.Paths, Diff: mk.Mask(d.Diff), Paused: d.Paused,
		})
	}
	return out, nil
}

// runDrift prints the drift of a module's release: per object a header and
// its diff, live values (-) against the deployed revision's (+).
func runDrift(ctx context.Context, c *client, inv invocation) error {
	body, err := c.get(ctx, moduleValuesPath("drift")(inv.args), nil)
	if err != nil || inv.format != "diff" {
		return printIf(err, inv, body)
	}
	var res ModuleDrift
	if err := json.Unmarshal(body, &res); err != nil {
		return fmt.Errorf("decode drift: %w", err)
	}
	if len(res.Objects) == 0 {
		fmt.Fprintf(inv.stderr, "no drift: the objects of release %s match its deployed revision\n", res.Module)
		return nil
	}
	for _, o := range res.Objects {
		ref := helm.ObjectRef{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name}
		note := ""
		if o.Paused {
			note = " (corrections paused: someone else keeps changing it)"
		}
		if _, err := fmt.Fprintf(inv.stdout, "--- %s (live)\n+++ %s (revision %d)%s\n", ref, ref, o.Revision, note); err != nil {
			return err
		}
		if _, err := io.WriteString(inv.stdout, withNewline(o.Diff)); err != nil {
			return err
		}
	}
	return nil
}
