package helm

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The post-renderer labels every object and keeps everything else as the
// API server would read it.
func TestModuleLabeler(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{
			name: "labels added beside the chart's, numbers and comments kept",
			in: `---
# Source: web/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
    heritage: Helm
spec:
  replicas: 1000000
  progressDeadlineSeconds: 600
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        args: ["--ratio=0.5", "on"]
`,
			want: `---
# Source: web/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  labels:
    addons.seedops.io/module: web
    app: web
    heritage: addon-operator
  name: web
spec:
  progressDeadlineSeconds: 600
  replicas: 1000000
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - args:
        - --ratio=0.5
        - "on"
        name: web
`,
		},
		{
			name: "object without labels, several documents",
			in: `---
# Source: web/templates/a.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: a
data:
  enabled: "true"
---
# Source: web/templates/b.yaml
apiVersion: v1
kind: ServiceAccount
metadata: {name: b}
`,
			want: `---
# Source: web/templates/a.yaml
apiVersion: v1
data:
  enabled: "true"
kind: ConfigMap
metadata:
  labels:
    addons.seedops.io/module: web
    heritage: addon-operator
  name: a
---
# Source: web/templates/b.yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  labels:
    addons.seedops.io/module: web
    heritage: addon-operator
  name: b
`,
		},
		{
			name: "items of a list",
			in: `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: a}
`,
			want: `---
apiVersion: v1
items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    labels:
      addons.seedops.io/module: web
      heritage: addon-operator
    name: a
kind: List
metadata:
  labels:
    addons.seedops.io/module: web
    heritage: addon-operator
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := moduleLabeler{module: "web"}.Run(bytes.NewBufferString(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, out.String()); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
}

func TestModuleLabelerNamesTheBrokenTemplate(t *testing.T) {
	in := "---\n# Source: web/templates/bad.yaml\napiVersion: v1\nkind: [\n"
	_, err := moduleLabeler{module: "web"}.Run(bytes.NewBufferString(in))
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("web/templates/bad.yaml")) {
		t.Errorf("got %v, want an error naming web/templates/bad.yaml", err)
	}
}
