package bundle_test

import (
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/seedops/addon-operator/pkg/values"
)

// mirror is the private registry the relocation tests move images to.
const mirror = "registry.internal:5000/mirror"

// TestImageRelocation renders every module over its render cases with
// global.imageRegistry set and checks that every container and init
// container of every Pod template pulls from the mirror, keeping the
// repository path and tag of the image it replaces; with the setting empty
// the images are exactly the public ones.
func TestImageRelocation(t *testing.T) {
	cases := renderCases(t)
	for _, m := range modules(t) {
		if m.name == "probe-templates" {
			continue
		}
		for i, c := range cases[m.name] {
			public := podImages(t, mustRender(t, m.name, c.global, c.section))
			if len(public) == 0 {
				t.Errorf("%s case %d: no container images rendered", m.name, i)
			}
			relocated := podImages(t, mustRender(t, m.name, values.Merge(c.global, mustYAML(t, "imageRegistry: "+mirror)), c.section))
			for id, image := range public {
				if strings.HasPrefix(image, mirror+"/") {
					t.Errorf("%s case %d: %s image %q is on the mirror without imageRegistry", m.name, i, id, image)
				}
				if want := mirror + "/" + repositoryPath(image); relocated[id] != want {
					t.Errorf("%s case %d: %s image = %q, want %q", m.name, i, id, relocated[id], want)
				}
			}
			if len(relocated) != len(public) {
				t.Errorf("%s case %d: %d containers with imageRegistry, %d without", m.name, i, len(relocated), len(public))
			}
		}
	}
}

// TestImageRelocationRule checks the rewrite rule of probe-templates.image
// on the reference forms it documents, by rendering it through a module.
func TestImageRelocationRule(t *testing.T) {
	tests := []struct {
		registry, image, want string
	}{
		{"", "quay.io/prometheus/prometheus:v3.5.0", "quay.io/prometheus/prometheus:v3.5.0"},
		{"", "busybox:1.37.0", "busybox:1.37.0"},
		{mirror, "quay.io/prometheus/prometheus:v3.5.0", mirror + "/prometheus/prometheus:v3.5.0"},
		{mirror, "registry.k8s.io/ingress-nginx/controller:v1.12.1", mirror + "/ingress-nginx/controller:v1.12.1"},
		{mirror, "docker.io/library/busybox:1.37.0", mirror + "/library/busybox:1.37.0"},
		{mirror, "grafana/grafana:11.6.0", mirror + "/grafana/grafana:11.6.0"},
		{mirror, "busybox:1.37.0", mirror + "/library/busybox:1.37.0"},
		{mirror, "localhost/tools/x@sha256:0123", mirror + "/tools/x@sha256:0123"},
		{mirror, "localhost:5000/x:1", mirror + "/x:1"},
		{mirror + "/", "quay.io/a/b:1", mirror + "/a/b:1"},
		{"harbor.example.com", "ghcr.io/org/team/tool:2", "harbor.example.com/org/team/tool:2"},
	}
	for _, tt := range tests {
		t.Run(tt.registry+" "+tt.image, func(t *testing.T) {
			got := renderImage(t, tt.registry, tt.image)
			if got != tt.want {
				t.Errorf("image = %q, want %q", got, tt.want)
			}
		})
	}
}

// renderImage renders probe-templates.image for image through the
// ingress-nginx chart, which depends on the library chart.
func renderImage(t *testing.T, registry, image string) string {
	t.Helper()
	ch := loadChart(t, moduleDir(t, "ingress-nginx"))
	ch.Templates = append(ch.Templates, &chart.File{
		Name: "templates/image-probe.yaml",
		Data: []byte(`apiVersion: v1
kind: ConfigMap
metadata:
  name: image-probe
  namespace: ` + releaseNamespace + `
data:
  image: {{ include "probe-templates.image" (list "` + image + `" .Values.global) | quote }}
`),
	})
	vals := moduleValues(t, "ingress-nginx", mustYAML(t, `imageRegistry: "`+registry+`"`), nil)
	objs, err := renderChart(t, ch, "ingress-nginx", vals)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return find[*corev1.ConfigMap](t, objs, "ConfigMap", "image-probe").Data["image"]
}

// podImages maps "<kind>/<name>/<container>" to the image of every
// container and init container of every Pod template in objs.
func podImages(t *testing.T, objs []object) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, o := range objs {
		var spec *corev1.PodSpec
		switch w := o.typed.(type) {
		case *appsv1.Deployment:
			spec = &w.Spec.Template.Spec
		case *appsv1.StatefulSet:
			spec = &w.Spec.Template.Spec
		case *appsv1.DaemonSet:
			spec = &w.Spec.Template.Spec
		case *batchv1.Job:
			spec = &w.Spec.Template.Spec
		case *batchv1.CronJob:
			spec = &w.Spec.JobTemplate.Spec.Template.Spec
		case *corev1.Pod:
			spec = &w.Spec
		}
		if spec == nil {
			continue
		}
		for _, c := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
			out[o.kind()+"/"+o.name()+"/"+c.Name] = c.Image
		}
	}
	return out
}

// repositoryPath is image without its registry, written independently of
// the chart helper: the first segment is a registry when it has a "." or
// ":" or is localhost, and one-segment Docker Hub names live in library/.
func repositoryPath(image string) string {
	first, rest, ok := strings.Cut(image, "/")
	if !ok {
		return "library/" + image
	}
	if strings.ContainsAny(first, ".:") || first == "localhost" {
		return rest
	}
	return image
}
