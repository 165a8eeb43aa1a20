package updater

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/seedops/addon-operator/pkg/mask"
)

func fakeDynamic() *dynamicfake.FakeDynamicClient {
	return dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{GVR: "ReleaseList"})
}

// KubeReleases keeps each operator's releases apart and round-trips
// spec, status and the approval. (The real API server is exercised by the e2e tests.)
func TestKubeReleases(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	client := fakeDynamic()
	ours := NewKubeReleases(client, "ops", func() time.Time { return now })
	theirs := NewKubeReleases(client, "other", func() time.Time { return now })
	r := Release{Name: "ops-v1.0.0-0123456789ab", Version: "v1.0.0", Channel: "stable", Digest: "sha256:0123456789ab", Source: "oci://r.io/b", Changelog: "first", Phase: PhasePending, Message: "waiting"}
	if err := ours.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := theirs.Create(ctx, Release{Name: "other-v9.0.0-ffff", Version: "v9.0.0", Digest: "sha256:ffff", Phase: PhasePending}); err != nil {
		t.Fatal(err)
	}
	if err := ours.Create(ctx, r); err != nil {
		t.Fatalf("creating an existing release: %v", err)
	}
	if err := ours.SetStatus(ctx, r.Name, PhaseDeployed, ""); err != nil {
		t.Fatal(err)
	}
	if err := ours.Approve(ctx, r.Name, Approval{By: "old", Reason: "first try"}); err != nil {
		t.Fatal(err)
	}
	// A second approval replaces who and why; without a reason, none is left.
	if err := ours.Approve(ctx, r.Name, Approval{By: "ops (uid 1000) pid 42 over the debug socket"}); err != nil {
		t.Fatal(err)
	}
	got, err := ours.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := r
	want.Phase, want.Message, want.Transition, want.Approved = PhaseDeployed, "", now, true
	want.Approval = Approval{By: "ops (uid 1000) pid 42 over the debug socket"}
	if diff := cmp.Diff([]Release{want}, got, cmpopts.IgnoreFields(Release{}, "Created")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestKubeReleasesWithoutCRD(t *testing.T) {
	client := fakeDynamic()
	client.PrependReactor("list", "releases", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewNotFound(GVR.GroupResource(), "")
	})
	_, err := NewKubeReleases(client, "ops", time.Now).List(context.Background())
	if !errors.Is(err, ErrNoCRD) {
		t.Fatalf("List = %v, want ErrNoCRD", err)
	}
}

// A failed update's message quotes module errors: secret values in it are
// masked on the Release.
func TestKubeReleasesMaskMessages(t *testing.T) {
	ctx := context.Background()
	masker := mask.New()
	masker.Update([]string{"s3cr3t-release-v"})
	rels := NewKubeReleases(fakeDynamic(), "ops", time.Now, WithMasker(masker))
	r := Release{Name: "ops-v1.0.0-0123456789ab", Version: "v1.0.0", Digest: "sha256:0123456789ab", Phase: PhasePending, Message: "token s3cr3t-release-v"}
	if err := rels.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	wantMessage := func(want string) {
		t.Helper()
		got, err := rels.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Message != want {
			t.Fatalf("releases %+v: want one with message %q", got, want)
		}
	}
	wantMessage("token ***")
	if err := rels.SetStatus(ctx, r.Name, PhaseFailed, "update modules failed: hook a.sh: s3cr3t-release-v"); err != nil {
		t.Fatal(err)
	}
	wantMessage("update modules failed: hook a.sh: ***")
}
