package bundle_test

import (
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
)

func ingressNodes(t *testing.T, names ...string) string {
	t.Helper()
	list := "[]"
	if len(names) > 0 {
		list = "[" + names[0]
		for _, n := range names[1:] {
			list += ", " + n
		}
		list += "]"
	}
	return "discovery: {ingressNodes: {names: " + list + ", count: " + strconv.Itoa(len(names)) + "}}"
}

func TestIngressNginxFollowsIngressNodes(t *testing.T) {
	dedicated := map[string]string{"dedicated": "ingress"}
	toleration := []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "ingress"}}
	tests := []struct {
		name             string
		nodes            []string
		config           string
		wantReplicas     int32
		wantNodeSelector map[string]string
		wantTolerations  []corev1.Toleration
	}{
		{name: "no ingress nodes", wantReplicas: 1},
		{name: "one ingress node", nodes: []string{"ingress-a"}, wantReplicas: 1, wantNodeSelector: dedicated, wantTolerations: toleration},
		{name: "two ingress nodes", nodes: []string{"ingress-a", "ingress-b"}, wantReplicas: 2, wantNodeSelector: dedicated, wantTolerations: toleration},
		{name: "replicas set in config", nodes: []string{"ingress-a", "ingress-b"}, config: `replicas: 3`, wantReplicas: 3, wantNodeSelector: dedicated, wantTolerations: toleration},
		{name: "replicas set, no ingress nodes", config: `replicas: 2`, wantReplicas: 2},
		{
			name: "placement set in config", nodes: []string{"ingress-a"},
			config:           `{nodeSelector: {role: edge}, tolerations: [{key: role, operator: Exists, effect: NoSchedule}]}`,
			wantReplicas:     1,
			wantNodeSelector: map[string]string{"role": "edge"},
			wantTolerations:  []corev1.Toleration{{Key: "role", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			config := "{}"
			if tt.config != "" {
				config = tt.config
			}
			objs := mustRender(t, "ingress-nginx", mustYAML(t, ingressNodes(t, tt.nodes...)), mustYAML(t, config))
			d := find[*appsv1.Deployment](t, objs, "Deployment", "ingress-nginx-controller")
			if d.Spec.Replicas == nil || *d.Spec.Replicas != tt.wantReplicas {
				t.Errorf("replicas = %v, want %d", d.Spec.Replicas, tt.wantReplicas)
			}
			spec := d.Spec.Template.Spec
			if diff := cmp.Diff(tt.wantNodeSelector, spec.NodeSelector); diff != "" {
				t.Errorf("nodeSelector (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantTolerations, spec.Tolerations); diff != "" {
				t.Errorf("tolerations (-want +got):\n%s", diff)
			}
			pdb := find[*policyv1.PodDisruptionBudget](t, objs, "PodDisruptionBudget", "ingress-nginx-controller")
			if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 {
				t.Errorf("PDB maxUnavailable = %v, want 1", pdb.Spec.MaxUnavailable)
			}
			if diff := cmp.Diff(d.Spec.Selector.MatchLabels, pdb.Spec.Selector.MatchLabels); diff != "" {
				t.Errorf("PDB selects other Pods than the Deployment (-deployment +pdb):\n%s", diff)
			}
		})
	}
}

func TestIngressNginxServiceType(t *testing.T) {
	tests := []struct {
		provider        string
		config          string
		wantType        corev1.ServiceType
		wantAnnotations map[string]string
	}{
		{provider: "aws", wantType: corev1.ServiceTypeLoadBalancer, wantAnnotations: map[string]string{
			"service.beta.kubernetes.io/aws-load-balancer-type":                              "nlb",
			"service.beta.kubernetes.io/aws-load-balancer-backend-protocol":                  "tcp",
			"service.beta.kubernetes.io/aws-load-balancer-cross-zone-load-balancing-enabled": "true",
		}},
		{provider: "gcp", wantType: corev1.ServiceTypeLoadBalancer, wantAnnotations: map[string]string{
			"cloud.google.com/l4-rbs": "enabled",
		}},
		{provider: "azure", wantType: corev1.ServiceTypeLoadBalancer, wantAnnotations: map[string]string{
			"service.beta.kubernetes.io/azure-load-balancer-health-probe-request-path": "/healthz",
		}},
		{provider: "openstack", wantType: corev1.ServiceTypeNodePort},
		{provider: "none", wantType: corev1.ServiceTypeNodePort},
		{provider: "aws", config: `service: {internal: true}`, wantType: corev1.ServiceTypeLoadBalancer, wantAnnotations: map[string]string{
			"service.beta.kubernetes.io/aws-load-balancer-type":                              "nlb",
			"service.beta.kubernetes.io/aws-load-balancer-backend-protocol":                  "tcp",
			"service.beta.kubernetes.io/aws-load-balancer-cross-zone-load-balancing-enabled": "true",
			"service.beta.kubernetes.io/aws-load-balancer-internal":                          "true",
		}},
		{provider: "gcp", config: `service: {internal: true}`, wantType: corev1.ServiceTypeLoadBalancer, wantAnnotations: map[string]string{
			"networking.gke.io/load-balancer-type": "Internal",
		}},
		{provider: "aws", config: `service: {type: NodePort}`, wantType: corev1.ServiceTypeNodePort},
		{provider: "aws", config: `service: {type: ClusterIP}`, wantType: corev1.ServiceTypeClusterIP},
		{provider: "none", config: `service: {type: LoadBalancer}`, wantType: corev1.ServiceTypeLoadBalancer},
		{provider: "gcp", config: `service: {annotations: {cloud.google.com/l4-rbs: disabled, example.com/team: web}}`, wantType: corev1.ServiceTypeLoadBalancer, wantAnnotations: map[string]string{
			"cloud.google.com/l4-rbs": "disabled",
			"example.com/team":        "web",
		}},
	}
	for _, tt := range tests {
		name := tt.provider
		if tt.config != "" {
			name += " " + tt.config
		}
		t.Run(name, func(t *testing.T) {
			config := "{}"
			if tt.config != "" {
				config = tt.config
			}
			objs := mustRender(t, "ingress-nginx", mustYAML(t, `discovery: {cloudProvider: `+tt.provider+`}`), mustYAML(t, config))
			svc := find[*corev1.Service](t, objs, "Service", "ingress-nginx-controller")
			if svc.Spec.Type != tt.wantType {
				t.Errorf("type = %s, want %s", svc.Spec.Type, tt.wantType)
			}
			if diff := cmp.Diff(tt.wantAnnotations, svc.Annotations); diff != "" {
				t.Errorf("annotations (-want +got):\n%s", diff)
			}
			wantPolicy := corev1.ServiceExternalTrafficPolicy("Cluster")
			if tt.wantType == corev1.ServiceTypeClusterIP {
				wantPolicy = ""
			}
			if svc.Spec.ExternalTrafficPolicy != wantPolicy {
				t.Errorf("externalTrafficPolicy = %q, want %q", svc.Spec.ExternalTrafficPolicy, wantPolicy)
			}
		})
	}
}

func TestIngressNginxServiceNodePorts(t *testing.T) {
	objs := mustRender(t, "ingress-nginx", nil, mustYAML(t, `service: {type: NodePort, externalTrafficPolicy: Local, nodePorts: {http: 30080, https: 30443}}`))
	svc := find[*corev1.Service](t, objs, "Service", "ingress-nginx-controller")
	got := map[string]int32{}
	for _, p := range svc.Spec.Ports {
		got[p.Name] = p.NodePort
	}
	if diff := cmp.Diff(map[string]int32{"http": 30080, "https": 30443}, got); diff != "" {
		t.Errorf("node ports (-want +got):\n%s", diff)
	}
	if svc.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal {
		t.Errorf("externalTrafficPolicy = %q, want Local", svc.Spec.ExternalTrafficPolicy)
	}
}

func TestIngressNginxIngressClass(t *testing.T) {
	tests := []struct {
		config      string
		wantName    string
		wantDefault string
		wantArgs    []string
	}{
		{`{}`, "nginx", "false", []string{"--ingress-class=nginx", "--controller-class=k8s.io/ingress-nginx", "--watch-ingress-without-class=false"}},
		{`ingressClass: {name: public, default: true, controllerValue: example.com/public-nginx}`, "public", "true",
			[]string{"--ingress-class=public", "--controller-class=example.com/public-nginx", "--watch-ingress-without-class=true"}},
	}
	for _, tt := range tests {
		t.Run(tt.config, func(t *testing.T) {
			objs := mustRender(t, "ingress-nginx", nil, mustYAML(t, tt.config))
			class := find[*networkingv1.IngressClass](t, objs, "IngressClass", tt.wantName)
			if got := class.Annotations["ingressclass.kubernetes.io/is-default-class"]; got != tt.wantDefault {
				t.Errorf("is-default-class = %q, want %q", got, tt.wantDefault)
			}
			d := find[*appsv1.Deployment](t, objs, "Deployment", "ingress-nginx-controller")
			args := d.Spec.Template.Spec.Containers[0].Args
			for _, want := range tt.wantArgs {
				if !contains(args, want) {
					t.Errorf("controller args %v lack %s", args, want)
				}
			}
			if want := "--controller-class=" + class.Spec.Controller; !contains(args, want) {
				t.Errorf("IngressClass controller %q does not match the controller's args", class.Spec.Controller)
			}
		})
	}
}

func TestIngressNginxConfigAndResources(t *testing.T) {
	objs := mustRender(t, "ingress-nginx", nil, mustYAML(t, `
config: {proxy-body-size: 64m, use-forwarded-headers: "true"}
resources: {requests: {cpu: 250m, memory: 256Mi}, limits: {memory: 1Gi}}
`))
	cm := find[*corev1.ConfigMap](t, objs, "ConfigMap", "ingress-nginx-controller")
	if diff := cmp.Diff(map[string]string{"proxy-body-size": "64m", "use-forwarded-headers": "true"}, cm.Data); diff != "" {
		t.Errorf("ConfigMap data (-want +got):\n%s", diff)
	}
	c := find[*appsv1.Deployment](t, objs, "Deployment", "ingress-nginx-controller").Spec.Template.Spec.Containers[0]
	if got := c.Resources.Requests.Cpu().String(); got != "250m" {
		t.Errorf("cpu request = %s, want 250m", got)
	}
	if got := c.Resources.Limits.Memory().String(); got != "1Gi" {
		t.Errorf("memory limit = %s, want 1Gi", got)
	}
	if !contains(c.Args, "--configmap=$(POD_NAMESPACE)/ingress-nginx-controller") {
		t.Errorf("controller does not read its ConfigMap: %v", c.Args)
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
