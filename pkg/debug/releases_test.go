package debug_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/seedops/addon-operator/pkg/debug"
	"github.com/seedops/addon-operator/pkg/updater"
)

func TestReleaseList(t *testing.T) {
	fx := newFixture(t)
	src := fx.sources()
	_, socket := startServer(t, &src)

	t.Run("table, oldest first", func(t *testing.T) {
		out, errOut, code := cli(socket, "release", "list")
		if code != debug.ExitOK {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		want := `NAME                        VERSION  CHANNEL  PHASE       AGE  MESSAGE
addons-v1.0.0-3f2a9c1d7e55  v1.0.0   stable   Superseded  2d   superseded by v1.1.0
addons-v1.1.0-8b1e04c2aa10  v1.1.0   stable   Deployed    90m
addons-v1.2.0-c0ffee001234  v1.2.0   stable   Pending     5m   waiting for approval: annotate with addons.seedops.io/approved=true
`
		if diff := cmp.Diff(want, out); diff != "" {
			t.Errorf("stdout (-want +got):\n%s", diff)
		}
	})

	created := func(r updater.Release) debug.Release {
		tr := r.Transition
		return debug.Release{Name: r.Name, Version: r.Version, Channel: r.Channel, Digest: r.Digest, Phase: string(r.Phase),
			Message: r.Message, Created: r.Created, LastTransition: &tr}
	}
	items := fx.releases.items
	want := []debug.Release{created(items[1]), created(items[2]), created(items[0])}
	formats := map[string]func([]byte, any) error{
		"json": json.Unmarshal,
		"yaml": func(data []byte, v any) error { return yaml.UnmarshalStrict(data, v) },
	}
	for format, unmarshal := range formats {
		t.Run("-o "+format, func(t *testing.T) {
			out, errOut, code := cli(socket, "release", "list", "-o", format)
			if code != debug.ExitOK {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			expect(want)(t, unmarshal, out)
		})
	}
}

func TestReleaseApprove(t *testing.T) {
	now := time.Now()
	// The CLI runs in the test's process: the server records it as the
	// kernel reports it.
	me := selfPeer()
	tests := []struct {
		name string
		// extra releases beside the fixture's
		extra        []updater.Release
		arg          string
		flags        []string
		wantCode     int
		wantApproved []string
		// wantBy is the approval recorded, when checked.
		wantBy     *updater.Approval
		wantStdout string
		wantStderr string
	}{
		{
			name:         "the Pending release of a version",
			arg:          "v1.2.0",
			wantCode:     debug.ExitOK,
			wantApproved: []string{"addons-v1.2.0-c0ffee001234"},
			wantBy:       &updater.Approval{By: me},
			wantStdout: "release addons-v1.2.0-c0ffee001234 (v1.2.0) approved\n" +
				"it was pending: waiting for approval: annotate with addons.seedops.io/approved=true\n" +
				"recorded as approved by " + me + "\n" +
				"the operator checks its channel now; follow the release with: addon-operator release list\n",
		},
		{
			name:         "with a reason",
			arg:          "v1.2.0",
			flags:        []string{"--reason", "CHG-42: planned upgrade"},
			wantCode:     debug.ExitOK,
			wantApproved: []string{"addons-v1.2.0-c0ffee001234"},
			wantBy:       &updater.Approval{By: me, Reason: "CHG-42: planned upgrade"},
		},
		{
			name:       "with a reason too long to record",
			arg:        "v1.2.0",
			flags:      []string{"--reason", strings.Repeat("x", 1025)},
			wantCode:   debug.ExitFailed,
			wantStderr: "error: the reason is 1025 bytes long, at most 1024 are recorded\n",
		},
		{
			name:         "a version without its v",
			arg:          "1.2.0",
			wantCode:     debug.ExitOK,
			wantApproved: []string{"addons-v1.2.0-c0ffee001234"},
		},
		{
			name:         "a Release object's name",
			arg:          "addons-v1.2.0-c0ffee001234",
			wantCode:     debug.ExitOK,
			wantApproved: []string{"addons-v1.2.0-c0ffee001234"},
		},
		{
			name: "the newest of two Pending digests of a version",
			extra: []updater.Release{{Name: "addons-v1.2.0-0123456789ab", Version: "v1.2.0", Channel: "stable", Phase: updater.PhasePending,
				Message: "waiting for approval", Created: now.Add(-time.Minute)}},
			arg:          "v1.2.0",
			wantCode:     debug.ExitOK,
			wantApproved: []string{"addons-v1.2.0-0123456789ab"},
		},
		{
			name: "a release approved before",
			extra: []updater.Release{{Name: "addons-v2.0.0-0123456789ab", Version: "v2.0.0", Channel: "stable", Phase: updater.PhasePending,
				Approved: true, Created: now}},
			arg:          "v2.0.0",
			wantCode:     debug.ExitOK,
			wantApproved: []string{"addons-v2.0.0-0123456789ab"},
			wantStdout: "release addons-v2.0.0-0123456789ab (v2.0.0) was already approved\n" +
				"the operator checks its channel now; follow the release with: addon-operator release list\n",
		},
		{
			name:       "a release that is not Pending",
			arg:        "v1.1.0",
			wantCode:   debug.ExitFailed,
			wantStderr: "error: release v1.1.0 is not Pending (addons-v1.1.0-8b1e04c2aa10 is Deployed): only a Pending release can be approved\n",
		},
		{
			name:       "an unknown version",
			arg:        "v9.0.0",
			wantCode:   debug.ExitFailed,
			wantStderr: "error: no release of version \"v9.0.0\" belongs to this operator; its releases: v1.0.0 (Superseded), v1.1.0 (Deployed), v1.2.0 (Pending)\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t)
			fx.releases.items = append(fx.releases.items, tt.extra...)
			src := fx.sources()
			_, socket := startServer(t, &src)
			out, errOut, code := cli(socket, append([]string{"release", "approve", tt.arg}, tt.flags...)...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.wantCode, errOut)
			}
			if diff := cmp.Diff(tt.wantApproved, fx.releases.approved); diff != "" {
				t.Errorf("approved (-want +got):\n%s", diff)
			}
			if tt.wantBy != nil {
				if diff := cmp.Diff([]updater.Approval{*tt.wantBy}, fx.releases.approvals); diff != "" {
					t.Errorf("approvals (-want +got):\n%s", diff)
				}
			}
			if tt.wantStdout != "" || tt.wantCode != debug.ExitOK {
				if diff := cmp.Diff(tt.wantStdout, out); diff != "" {
					t.Errorf("stdout (-want +got):\n%s", diff)
				}
			}
			if diff := cmp.Diff(tt.wantStderr, errOut); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReleasesUnavailable(t *testing.T) {
	tests := []struct {
		name       string
		change     func(fx *fixture, src *debug.Sources)
		wantStderr string
	}{
		{
			name:       "no release source",
			change:     func(_ *fixture, src *debug.Sources) { src.Releases = nil },
			wantStderr: "error: release channels are not available in this operator\n",
		},
		{
			name: "no Release CRD",
			change: func(fx *fixture, _ *debug.Sources) {
				fx.releases.listErr = fmt.Errorf("list releases: %w (kubectl apply -f deploy/crds/release.yaml): the server could not find the requested resource", updater.ErrNoCRD)
			},
			wantStderr: "error: release channels are not available: list releases: the CRD releases.addons.seedops.io is not installed (kubectl apply -f deploy/crds/release.yaml): the server could not find the requested resource\n",
		},
		{
			name: "the API server refuses",
			change: func(fx *fixture, _ *debug.Sources) {
				fx.releases.listErr = errors.New("releases.addons.seedops.io is forbidden")
			},
			wantStderr: "error: releases: releases.addons.seedops.io is forbidden\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t)
			src := fx.sources()
			tt.change(fx, &src)
			_, socket := startServer(t, &src)
			for _, args := range [][]string{{"release", "list"}, {"release", "approve", "v1.2.0"}} {
				out, errOut, code := cli(socket, args...)
				if code != debug.ExitFailed {
					t.Errorf("%v: exit %d, want %d", args, code, debug.ExitFailed)
				}
				if out != "" {
					t.Errorf("%v: stdout %q, want nothing", args, out)
				}
				if diff := cmp.Diff(tt.wantStderr, errOut); diff != "" {
					t.Errorf("%v: stderr (-want +got):\n%s", args, diff)
				}
			}
			if len(fx.releases.approved) != 0 {
				t.Errorf("approved %v", fx.releases.approved)
			}
		})
	}
}

func TestReleaseApproveFails(t *testing.T) {
	fx := newFixture(t)
	fx.releases.approveErr = errors.New("approve release addons-v1.2.0-c0ffee001234: releases.addons.seedops.io is forbidden")
	src := fx.sources()
	_, socket := startServer(t, &src)
	out, errOut, code := cli(socket, "release", "approve", "v1.2.0")
	if code != debug.ExitFailed || out != "" || !strings.Contains(errOut, "is forbidden") {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and the API error", code, out, errOut, debug.ExitFailed)
	}
}
