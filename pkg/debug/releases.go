package debug

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/seedops/addon-operator/pkg/updater"
)

// Releases reads and approves this operator's Release objects (in the
// operator: *updater.KubeReleases for List, and for Approve the approval
// annotations followed by an immediate check of the updater). List fails
// with an error wrapping updater.ErrNoCRD when the cluster does not serve
// the Release kind. Approve only sets the annotations; the caller picks a
// Pending release from List.
type Releases interface {
	List(ctx context.Context) ([]updater.Release, error)
	Approve(ctx context.Context, name string, a updater.Approval) error
}

// maxReason bounds the --reason recorded in an annotation.
const maxReason = 1024

// errNoReleases is the answer without a Releases source.
var errNoReleases = &apiError{status: http.StatusServiceUnavailable, body: ErrorResponse{
	Code:  CodeNoReleases,
	Error: "release channels are not available in this operator",
}}

// listReleases answers with this operator's releases, oldest first.
func listReleases(r *http.Request, src *Sources) (any, error) {
	rels, err := readReleases(r.Context(), src)
	if err != nil {
		return nil, err
	}
	out := make([]Release, 0, len(rels))
	for _, rel := range rels {
		out = append(out, releaseInfo(rel))
	}
	return out, nil
}

// approveRelease annotates the Pending release of a version as approved,
// by the peer of the connection (its uid, user and pid as the kernel tells
// them, never as the client says) for the optional ?reason=, and writes an
// audit log line. The path's {version} is a version ("v1.2.0", "1.2.0") or
// a Release object's name.
func (s *Server) approveRelease(r *http.Request, src *Sources) (any, error) {
	ctx := r.Context()
	want := r.PathValue("version")
	reason := r.URL.Query().Get("reason")
	if len(reason) > maxReason {
		return nil, &apiError{status: http.StatusBadRequest, body: ErrorResponse{
			Code:  CodeBadRequest,
			Error: fmt.Sprintf("the reason is %d bytes long, at most %d are recorded", len(reason), maxReason),
		}}
	}
	by := "unknown peer"
	if p, ok := peerOf(ctx); ok {
		by = p.String() + " over the debug socket"
	}
	rels, err := readReleases(ctx, src)
	if err != nil {
		return nil, err
	}
	var matches []updater.Release
	for _, rel := range rels {
		if rel.Name == want || sameVersion(rel.Version, want) {
			matches = append(matches, rel)
		}
	}
	if len(matches) == 0 {
		return nil, unknownRelease(want, rels)
	}
	var pending *updater.Release
	for i := range matches {
		// Several digests of one version may be Pending for a moment (the
		// channel was re-pushed); the updater only applies the newest.
		if m := &matches[i]; m.Phase == updater.PhasePending && (pending == nil || m.Created.After(pending.Created)) {
			pending = m
		}
	}
	if pending == nil {
		var states []string
		for _, m := range matches {
			states = append(states, fmt.Sprintf("%s is %s", m.Name, m.Phase))
		}
		return nil, &apiError{status: http.StatusConflict, body: ErrorResponse{
			Code:  CodeNotPending,
			Error: fmt.Sprintf("release %s is not Pending (%s): only a Pending release can be approved", want, strings.Join(states, ", ")),
		}}
	}
	if err := src.Releases.Approve(ctx, pending.Name, updater.Approval{By: by, Reason: reason}); err != nil {
		return nil, err
	}
	s.log.Info("release approved over the debug socket", "release", pending.Name, "approved_by", by, "reason", reason)
	res := ApproveResult{Release: releaseInfo(*pending), AlreadyApproved: pending.Approved, ApprovedBy: by}
	res.Release.Approved = true
	return res, nil
}

// readReleases lists the releases, sorted by creation time then name.
func readReleases(ctx context.Context, src *Sources) ([]updater.Release, error) {
	if src.Releases == nil {
		return nil, errNoReleases
	}
	rels, err := src.Releases.List(ctx)
	if errors.Is(err, updater.ErrNoCRD) {
		return nil, &apiError{status: http.StatusServiceUnavailable, body: ErrorResponse{
			Code:  CodeNoReleases,
			Error: "release channels are not available: " + err.Error(),
		}}
	}
	if err != nil {
		return nil, fmt.Errorf("releases: %w", err)
	}
	slices.SortFunc(rels, func(a, b updater.Release) int {
		return cmp.Or(a.Created.Compare(b.Created), strings.Compare(a.Name, b.Name))
	})
	return rels, nil
}

// sameVersion compares versions with or without the leading "v".
func sameVersion(a, b string) bool {
	return a == b || strings.TrimPrefix(a, "v") == strings.TrimPrefix(b, "v")
}

func unknownRelease(want string, rels []updater.Release) error {
	msg := fmt.Sprintf("no release of version %q belongs to this operator", want)
	if len(rels) == 0 {
		msg += "; it has no releases yet (is a release channel set in the operator section? see docs/releases.md)"
	} else {
		var known []string
		for _, r := range rels {
			known = append(known, fmt.Sprintf("%s (%s)", r.Version, r.Phase))
		}
		msg += "; its releases: " + strings.Join(known, ", ")
	}
	return &apiError{status: http.StatusNotFound, body: ErrorResponse{Code: CodeUnknownRelease, Error: msg}}
}

func runReleaseList(ctx context.Context, c *client, inv invocation) error {
	body, err := c.get(ctx, "/v1/releases", nil)
	if err != nil || inv.format != "table" {
		return printIf(err, inv, body)
	}
	var rels []Release
	if err := json.Unmarshal(body, &rels); err != nil {
		return fmt.Errorf("decode releases: %w", err)
	}
	tab := newTable(inv.stdout, "NAME", "VERSION", "CHANNEL", "PHASE", "AGE", "MESSAGE")
	for _, r := range rels {
		phase := r.Phase
		if r.Approved && r.Phase == string(updater.PhasePending) {
			phase += " (approved)"
		}
		tab.row(r.Name, r.Version, dash(r.Channel), phase, age(inv.now.Sub(r.Created)), oneLine(r.Message))
	}
	return tab.flush()
}

func runReleaseApprove(ctx context.Context, c *client, inv invocation) error {
	var res ApproveResult
	var query url.Values
	if inv.reason != "" {
		query = url.Values{"reason": {inv.reason}}
	}
	if err := c.doJSON(ctx, http.MethodPost, "/v1/releases/"+url.PathEscape(inv.args[0])+"/approve", query, &res); err != nil {
		return err
	}
	r := res.Release
	verb := "approved"
	if res.AlreadyApproved {
		verb = "was already approved"
	}
	fmt.Fprintf(inv.stdout, "release %s (%s) %s\n", r.Name, r.Version, verb)
	if r.Message != "" {
		fmt.Fprintf(inv.stdout, "it was pending: %s\n", oneLine(r.Message))
	}
	if res.ApprovedBy != "" && !res.AlreadyApproved {
		fmt.Fprintf(inv.stdout, "recorded as approved by %s\n", res.ApprovedBy)
	}
	fmt.Fprintln(inv.stdout, "the operator checks its channel now; follow the release with: addon-operator release list")
	return nil
}
