package helm_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensions "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seedops/addon-operator/pkg/helm"
)

// A module's CRDs are applied before its chart, so the chart can create
// custom resources of them; Helm itself installs no CRD.
func TestApplyCRDsBeforeChart(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t)
	c := newClient(t, ns)
	dir := moduleDir("050-backup")
	vals := testValues(t, "backup: {schedule: '0 3 * * *', retention: 7}")

	crdFiles, err := filepath.Glob(filepath.Join(dir, "crds", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// Applying twice is fine: the second apply changes nothing.
	for range 2 {
		if err := c.ApplyCRDs(ctx, crdFiles); err != nil {
			t.Fatal(err)
		}
	}
	crds, err := apiextensions.NewForConfig(testCluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"backupschedules.backup.seedops.io", "backupstores.backup.seedops.io"} {
		crd, err := crds.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !isEstablished(crd) {
			t.Errorf("crd %s not established when ApplyCRDs returned", name)
		}
		if crd.Labels[helm.HeritageLabel] != helm.HeritageValue {
			t.Errorf("crd %s labels %v, want %s=%s", name, crd.Labels, helm.HeritageLabel, helm.HeritageValue)
		}
	}

	res, err := c.Deploy(ctx, "backup", dir, vals)
	if err != nil {
		t.Fatal(err)
	}
	schedule := helm.ObjectRef{APIVersion: "backup.seedops.io/v1alpha1", Kind: "BackupSchedule", Namespace: ns, Name: "nightly"}
	store := helm.ObjectRef{APIVersion: "backup.seedops.io/v1alpha1", Kind: "BackupStore", Name: ns + "-default"}
	for _, o := range []helm.ObjectRef{schedule, store} {
		if got := objectLabels(t, ns, o)[helm.ModuleLabel]; got != "backup" {
			t.Errorf("%s: module label %q, want backup", o, got)
		}
	}
	if len(res.Objects) != 2 || res.Objects[0] != schedule || res.Objects[1] != store {
		t.Errorf("objects %v, want %v and the cluster-scoped %v", res.Objects, schedule, store)
	}
	rel, err := c.Status(ctx, "backup")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(rel.Manifest, "CustomResourceDefinition") {
		t.Errorf("release manifest holds a CRD:\n%s", rel.Manifest)
	}
	again, err := c.Deploy(ctx, "backup", dir, vals)
	if err != nil {
		t.Fatal(err)
	}
	if again.Reason != helm.ReasonUnchanged {
		t.Errorf("second deploy: %s, want unchanged", again.Reason)
	}
}

// A file that does not parse or holds a CRD of a removed API version is
// refused with the file's name.
func TestApplyCRDsRefusesBadFiles(t *testing.T) {
	ctx := testContext(t)
	c := newClient(t, newNamespace(t))
	dir := t.TempDir()
	tests := []struct {
		name    string
		content string
	}{
		{"v1beta1 crd", "apiVersion: apiextensions.k8s.io/v1beta1\nkind: CustomResourceDefinition\nmetadata:\n  name: olds.example.com\n"},
		{"broken yaml", "apiVersion: v1\nkind: [\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".yaml")
			if err := os.WriteFile(file, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			err := c.ApplyCRDs(ctx, []string{file})
			if err == nil || !strings.Contains(err.Error(), file) {
				t.Errorf("got %v, want an error naming %s", err, file)
			}
			if errors.Is(err, helm.ErrRender) {
				t.Errorf("got ErrRender for a CRD file")
			}
		})
	}
}

func isEstablished(crd *apiextensionsv1.CustomResourceDefinition) bool {
	for _, c := range crd.Status.Conditions {
		if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
			return true
		}
	}
	return false
}
