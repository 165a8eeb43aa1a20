package e2e

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apiextensions "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seedops/addon-operator/pkg/module/moduletest"
	"github.com/seedops/addon-operator/test/cluster"
)

// The upstream-style chart in testdata/upstream/cert-manager, run as the
// unwrapped module cert-manager-unwrapped (a name no other test uses: the
// Module objects are cluster-wide).
const (
	unwrappedModule = "cert-manager-unwrapped"
	unwrappedKey    = "certManagerUnwrapped"
	unwrappedCRD    = "certificates.cert-manager-like.e2e.example"
)

// unwrappedBundle is a bundle whose only module is the chart of
// testdata/upstream/cert-manager as it is, beside its module.yaml.
func unwrappedBundle(t *testing.T) string {
	t.Helper()
	src := filepath.Join("testdata", "upstream", "cert-manager")
	files := []moduletest.File{moduletest.Text("values.yaml", unwrappedKey+"Enabled: true\n")}
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		files = append(files, moduletest.Text(filepath.Join("modules", "060-"+unwrappedModule, rel), string(data)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return moduletest.Bundle(t, files...)
}

// An upstream chart runs unchanged as a module with `values: unwrapped`:
// it installs with its settings at the top level of .Values, an edit of
// the module's camelCase ConfigMap key rolls it out, an edit that breaks
// its values.schema.json is rejected by key while the release keeps
// running, and disabling the module removes the release but keeps the CRD
// annotated helm.sh/resource-policy: keep.
func TestUnwrappedUpstreamChartLifecycle(t *testing.T) {
	addNode(t, cluster.Node{Name: "e2e-unwrapped-1"})
	crds := apiextensions.NewForConfigOrDie(testCluster.Config).ApiextensionsV1().CustomResourceDefinitions()
	t.Cleanup(func() { _ = crds.Delete(context.Background(), unwrappedCRD, metav1.DeleteOptions{}) })
	e := newEnv(t, unwrappedBundle(t))
	e.setConfig(map[string]string{unwrappedKey: "crds:\n  enabled: true\n"})
	e.start()

	rollout := func(want int32) func() string {
		return func() string {
			d := e.deployment(unwrappedModule)
			if d == nil {
				return "the controller Deployment does not exist"
			}
			if c := d.Spec.Template.Spec.Containers[0].Name; c != "cert-manager-controller" {
				return fmt.Sprintf("controller container %q, want cert-manager-controller", c)
			}
			st := d.Status
			if *d.Spec.Replicas != want || st.ObservedGeneration < d.Generation || st.UpdatedReplicas != want || st.ReadyReplicas != want {
				return fmt.Sprintf("controller replicas %d, updated %d, ready %d; want %d", *d.Spec.Replicas, st.UpdatedReplicas, st.ReadyReplicas, want)
			}
			if e.deployment(unwrappedModule+"-cainjector") == nil {
				return "the cainjector Deployment does not exist"
			}
			return ""
		}
	}
	e.eventually(bundleWait, rollout(1))
	if _, err := crds.Get(context.Background(), unwrappedCRD, metav1.GetOptions{}); err != nil {
		t.Fatalf("CRD rendered behind crds.enabled: %v", err)
	}

	e.setConfig(map[string]string{unwrappedKey: "crds:\n  enabled: true\nreplicaCount: 2\n"})
	e.eventually(bundleWait, rollout(2))
	rev, _ := e.revision(unwrappedModule)

	e.setConfig(map[string]string{unwrappedKey: "crds:\n  enabled: true\nreplicaCount: two\n"})
	e.op.WaitLog(t, "configuration rejected", 10*time.Second)
	if line := grep(e.op.Logs(), "configuration rejected"); !strings.Contains(line, unwrappedKey+".replicaCount must be of type integer") {
		t.Errorf("the rejection does not name %s.replicaCount:\n%s", unwrappedKey, line)
	}
	time.Sleep(time.Second)
	if got, status := e.revision(unwrappedModule); got != rev || status != "deployed" {
		t.Errorf("after a rejected edit: revision %d %s, want %d deployed", got, status, rev)
	}
	if msg := rollout(2)(); msg != "" {
		t.Errorf("after a rejected edit: %s", msg)
	}

	// The rejected edit is still in the ConfigMap: undo it with the switch.
	e.setConfig(map[string]string{unwrappedKey: "crds:\n  enabled: true\nreplicaCount: 2\n", unwrappedKey + "Enabled": "false"})
	e.eventually(bundleWait, func() string {
		if rev, status := e.revision(unwrappedModule); rev != 0 {
			return fmt.Sprintf("release revision %d %s after disabling, want none", rev, status)
		}
		if e.deployment(unwrappedModule) != nil || e.deployment(unwrappedModule+"-cainjector") != nil {
			return "the Deployments remain after disabling"
		}
		return ""
	})
	if _, err := crds.Get(context.Background(), unwrappedCRD, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		t.Errorf("disabling the module deleted the CRD annotated helm.sh/resource-policy: keep")
	} else if err != nil {
		t.Error(err)
	}
}
