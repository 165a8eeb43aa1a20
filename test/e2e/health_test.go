package e2e

import (
	"context"
	"regexp"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seedops/addon-operator/pkg/module/moduletest"
	"github.com/seedops/addon-operator/pkg/updater"
)

// unreadyDeployment never becomes ready: no node has the label its pods
// ask for.
const unreadyDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: demo-web
spec:
  replicas: 1
  selector:
    matchLabels: {app: demo-web}
  template:
    metadata:
      labels: {app: demo-web}
    spec:
      nodeSelector: {health-e2e: nowhere}
      containers:
        - name: web
          image: registry.example/web:1.0
`

// demoWithUnreadyWorkload is demoModule plus unreadyDeployment, with the
// chart's ready timeout cut to 3s.
func demoWithUnreadyWorkload(version string) []moduletest.File {
	files := demoModule(version, "")
	for i, f := range files {
		if f.Path == "modules/010-demo/Chart.yaml" {
			files[i] = moduletest.Text(f.Path, "apiVersion: v2\nname: demo\nversion: 0.1.0\nannotations:\n  addons.seedops.io/workload-ready-timeout: 3s\n")
		}
	}
	return append(files, moduletest.Text("modules/010-demo/templates/deployment.yaml", unreadyDeployment))
}

// A bundle released on a channel whose Deployment never becomes ready is
// rolled back, and the Release says which workload was not ready and why.
func TestUpdaterRollsBackUnreadyWorkloads(t *testing.T) {
	u := newUpdaterEnv(t)
	u.push("v1.0.0", "stable", demoModule("v1", "")...)
	u.setOperator(u.operatorSection("stable", ""))
	u.start()
	u.waitRelease("v1.0.0", updater.PhaseDeployed, "", 30*time.Second)
	u.waitDemo("v1", 10*time.Second)

	u.push("v2.0.0", "stable", demoWithUnreadyWorkload("v2")...)
	r := u.waitRelease("v2.0.0", updater.PhaseRolledBack, "rolled back to v1.0.0", 60*time.Second)
	want := regexp.MustCompile(`^rolled back to v1\.0\.0: module demo: Deployment ` + u.ns +
		`/demo-web not ready after 3s: 0/1 ready; pod demo-web-[a-z0-9-]+: Unschedulable: `)
	t.Logf("v2.0.0: %s", r.Message)
	if !want.MatchString(r.Message) {
		t.Errorf("RolledBack message %q does not match %s", r.Message, want)
	}
	u.waitDemo("v1", 20*time.Second)
	if got := u.releases()["v1.0.0"].Phase; got != updater.PhaseDeployed {
		t.Errorf("v1 is %s after the rollback", got)
	}
	u.eventually(20*time.Second, func() string {
		_, err := u.client.AppsV1().Deployments(u.ns).Get(context.Background(), "demo-web", metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			return "the rolled back release's Deployment demo-web is still there"
		}
		return ""
	})
	u.stays("v1", 3*time.Second) // the rolled back digest is not tried again
}
