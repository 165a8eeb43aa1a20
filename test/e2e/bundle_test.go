package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/releaseutil"
	"helm.sh/helm/v3/pkg/storage/driver"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/seedops/addon-operator/test/cluster"
)

// shippedBundle is the built-in bundle: the repository root.
const shippedBundle = "../.."

// The shipped bundle's objects the tests look at.
const (
	ingressDeployment = "ingress-nginx-controller"
	secretsName       = "addon-operator-secrets"
)

// bundleWait is how long "within seconds" may take.
const bundleWait = 20 * time.Second

// newBundleEnv prepares an operator on the shipped bundle with short retry
// backoffs, in the namespace newEnv derives from the test's name. The
// operator gets its namespace both as --namespace and as
// ADDON_OPERATOR_NAMESPACE in its environment, as a Deployment setting it
// from the downward API would; its hooks inherit the variable and confine
// their watches to the namespace. The flag alone is covered by
// TestShippedBundleOperatorsInTwoNamespacesStayApart.
func newBundleEnv(t *testing.T) *env {
	t.Helper()
	e := bundleEnv(t, "")
	t.Setenv("ADDON_OPERATOR_NAMESPACE", e.ns)
	return e
}

// bundleEnv prepares an operator on the shipped bundle in the namespace
// newEnv derives from the test's name, plus "-"+suffix when suffix is set.
// The IngressClass is the one cluster-scoped object of the bundle whose
// name is not derived from the namespace (it is the name Ingresses refer
// to), so each env names it after its namespace: two operators both
// claiming "nginx" would fail each other's ingress-nginx release. When the
// test ends (after the operator has stopped) the env's cluster-scoped
// objects and its namespace are deleted.
func bundleEnv(t *testing.T, suffix string) *env {
	t.Helper()
	e := newEnv(t, shippedBundle, "--queue-min-backoff", "1s", "--queue-max-backoff", "4s")
	if suffix != "" {
		e.ns += "-" + suffix
		_, err := e.client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e.ns}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	e.setConfig(map[string]string{"ingressNginx": ingressConfig(e, "")})
	t.Cleanup(func() {
		ctx := context.Background()
		_ = e.client.NetworkingV1().IngressClasses().Delete(ctx, e.ns, metav1.DeleteOptions{})
		for _, m := range []string{"ingress-nginx", "prometheus"} {
			_ = e.client.RbacV1().ClusterRoleBindings().Delete(ctx, e.ns+":"+m, metav1.DeleteOptions{})
			_ = e.client.RbacV1().ClusterRoles().Delete(ctx, e.ns+":"+m, metav1.DeleteOptions{})
		}
		if err := e.client.CoreV1().Namespaces().Delete(ctx, e.ns, metav1.DeleteOptions{}); err != nil {
			t.Errorf("delete namespace %s: %v", e.ns, err)
		}
	})
	return e
}

// ingressConfig is the env's ingressNginx ConfigMap section with extra
// YAML lines appended.
func ingressConfig(e *env, extra string) string {
	return "ingressClass:\n  name: " + e.ns + "\n" + extra
}

// addNode creates a fake node and deletes it when the test ends.
func addNode(t *testing.T, n cluster.Node) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := testCluster.AddNode(ctx, n); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := testCluster.DeleteNode(context.Background(), n.Name); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete node %s: %v", n.Name, err)
		}
	})
}

// nodeNames lists the cluster's Nodes matching a label selector.
func nodeNames(t *testing.T, selector string) []string {
	t.Helper()
	list, err := testCluster.Client().CoreV1().Nodes().List(context.Background(), metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range list.Items {
		out = append(out, n.Name)
	}
	return out
}

func (e *env) deployment(name string) *appsv1.Deployment {
	d, err := e.client.AppsV1().Deployments(e.ns).Get(context.Background(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

func (e *env) statefulSet(name string) *appsv1.StatefulSet {
	s, err := e.client.AppsV1().StatefulSets(e.ns).Get(context.Background(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) service(name string) *corev1.Service {
	s, err := e.client.CoreV1().Services(e.ns).Get(context.Background(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) secret(name string) *corev1.Secret {
	s, err := e.client.CoreV1().Secrets(e.ns).Get(context.Background(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// ingressRollout reports "" when the ingress controller Deployment asks for
// want replicas, has the dedicated=ingress nodeSelector and toleration
// exactly when dedicated is set, has finished rolling out, and runs want
// Ready Pods, each on an existing Node of onNodes (any existing Node when
// onNodes is empty).
func (e *env) ingressRollout(want int32, dedicated bool, onNodes ...string) string {
	d := e.deployment(ingressDeployment)
	if d == nil {
		return "the ingress Deployment does not exist"
	}
	spec := d.Spec.Template.Spec
	if d.Spec.Replicas == nil || *d.Spec.Replicas != want {
		return fmt.Sprintf("ingress replicas = %v, want %d", ptrString(d.Spec.Replicas), want)
	}
	hasToleration := slices.ContainsFunc(spec.Tolerations, func(t corev1.Toleration) bool {
		return t.Key == "dedicated" && t.Value == "ingress" && (t.Operator == corev1.TolerationOpEqual || t.Operator == "")
	})
	if dedicated {
		if spec.NodeSelector["dedicated"] != "ingress" {
			return fmt.Sprintf("ingress nodeSelector = %v, want dedicated: ingress", spec.NodeSelector)
		}
		if !hasToleration {
			return fmt.Sprintf("ingress tolerations = %v, want dedicated=ingress", spec.Tolerations)
		}
	} else {
		if len(spec.NodeSelector) != 0 || len(spec.Tolerations) != 0 {
			return fmt.Sprintf("ingress nodeSelector %v and tolerations %v, want none without ingress nodes", spec.NodeSelector, spec.Tolerations)
		}
	}
	st := d.Status
	if st.ObservedGeneration < d.Generation || st.Replicas != want || st.UpdatedReplicas != want || st.ReadyReplicas != want {
		return fmt.Sprintf("ingress rollout not done: generation %d observed %d, replicas %d updated %d ready %d, want %d",
			d.Generation, st.ObservedGeneration, st.Replicas, st.UpdatedReplicas, st.ReadyReplicas, want)
	}
	sel := metav1.FormatLabelSelector(d.Spec.Selector)
	pods, err := e.client.CoreV1().Pods(e.ns).List(context.Background(), metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		e.t.Fatal(err)
	}
	var running []string
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		ready := slices.ContainsFunc(p.Status.Conditions, func(c corev1.PodCondition) bool {
			return c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue
		})
		if !ready {
			return fmt.Sprintf("ingress Pod %s on %q is not Ready", p.Name, p.Spec.NodeName)
		}
		if len(onNodes) > 0 && !slices.Contains(onNodes, p.Spec.NodeName) {
			return fmt.Sprintf("ingress Pod %s runs on %q, want one of %v", p.Name, p.Spec.NodeName, onNodes)
		}
		if _, err := e.client.CoreV1().Nodes().Get(context.Background(), p.Spec.NodeName, metav1.GetOptions{}); err != nil {
			return fmt.Sprintf("ingress Pod %s runs on %q, which does not exist", p.Name, p.Spec.NodeName)
		}
		running = append(running, p.Name)
	}
	if int32(len(running)) != want {
		return fmt.Sprintf("%d ingress Pods %v, want %d", len(running), running, want)
	}
	return ""
}

func ptrString[T any](p *T) string {
	if p == nil {
		return "<nil>"
	}
	return fmt.Sprint(*p)
}

// 0 → 2 → 1 → 0 Nodes labelled dedicated=ingress: the controller's
// replicas, nodeSelector and tolerations follow, and its Pods are Ready on
// those Nodes.
func TestShippedBundleIngressFollowsIngressNodes(t *testing.T) {
	if n := nodeNames(t, "dedicated=ingress"); len(n) != 0 {
		t.Fatalf("nodes labelled dedicated=ingress exist before the test: %v", n)
	}
	e := newBundleEnv(t)
	plain, a, b := e.ns+"-plain", e.ns+"-ingress-a", e.ns+"-ingress-b"
	addNode(t, cluster.Node{Name: plain})
	e.start()

	t.Run("no ingress nodes: one replica anywhere", func(t *testing.T) {
		e.eventually(bundleWait, func() string { return e.ingressRollout(1, false) })
	})

	outer := t
	t.Run("two ingress nodes: two replicas on them", func(t *testing.T) {
		ingress := map[string]string{"dedicated": "ingress"}
		addNode(outer, cluster.Node{Name: a, Labels: ingress})
		addNode(outer, cluster.Node{Name: b, Labels: ingress})
		e.eventually(bundleWait, func() string { return e.ingressRollout(2, true, a, b) })
	})

	t.Run("one ingress node: one replica", func(t *testing.T) {
		// The Node leaves the ingress set by losing its label; it keeps
		// running, so the remaining Pod may be on either Node (the
		// nodeSelector is IgnoredDuringExecution).
		n, err := e.client.CoreV1().Nodes().Get(context.Background(), b, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		delete(n.Labels, "dedicated")
		if _, err := e.client.CoreV1().Nodes().Update(context.Background(), n, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		e.eventually(bundleWait, func() string { return e.ingressRollout(1, true, a, b) })
	})

	t.Run("ingress node deleted: one replica anywhere again", func(t *testing.T) {
		if err := testCluster.DeleteNode(context.Background(), a); err != nil {
			t.Fatal(err)
		}
		e.eventually(bundleWait, func() string { return e.ingressRollout(1, false) })
	})
}

// awsAnnotations are the Service annotations the ingress module sets for a
// LoadBalancer on aws.
var awsAnnotations = map[string]string{
	"service.beta.kubernetes.io/aws-load-balancer-type":                              "nlb",
	"service.beta.kubernetes.io/aws-load-balancer-backend-protocol":                  "tcp",
	"service.beta.kubernetes.io/aws-load-balancer-cross-zone-load-balancing-enabled": "true",
}

// ingressServiceIs reports "" when the ingress Service has the type and,
// for a LoadBalancer, the aws annotations (none of them otherwise), and the
// release is deployed.
func (e *env) ingressServiceIs(want corev1.ServiceType) string {
	if rev, status := e.revision("ingress-nginx"); status != "deployed" {
		return fmt.Sprintf("ingress-nginx release revision %d is %q", rev, status)
	}
	s := e.service(ingressDeployment)
	if s == nil {
		return "the ingress Service does not exist"
	}
	if s.Spec.Type != want {
		return fmt.Sprintf("ingress Service type %s, want %s", s.Spec.Type, want)
	}
	for k, v := range awsAnnotations {
		got, ok := s.Annotations[k]
		if want == corev1.ServiceTypeLoadBalancer && got != v {
			return fmt.Sprintf("ingress Service annotation %s = %q, want %q (annotations %v)", k, got, v, s.Annotations)
		}
		if want != corev1.ServiceTypeLoadBalancer && ok {
			return fmt.Sprintf("%s ingress Service still has the aws annotation %s", want, k)
		}
	}
	return ""
}

// Nodes with an aws:// providerID make the ingress Service a LoadBalancer
// with aws annotations; without any providerID it is a NodePort.
func TestShippedBundleIngressServiceFollowsCloudProvider(t *testing.T) {
	list, err := testCluster.Client().CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range list.Items {
		if n.Spec.ProviderID != "" {
			t.Fatalf("node %s with providerID %q exists before the test; discovery would count it", n.Name, n.Spec.ProviderID)
		}
	}
	e := newBundleEnv(t)
	e.start()

	t.Run("no providerID: NodePort", func(t *testing.T) {
		e.eventually(bundleWait, func() string { return e.ingressServiceIs(corev1.ServiceTypeNodePort) })
	})

	var aws []string
	outer := t
	t.Run("aws nodes: LoadBalancer with aws annotations", func(t *testing.T) {
		for i, zone := range []string{"eu-central-1a", "eu-central-1b"} {
			name := fmt.Sprintf("%s-aws-%d", e.ns, i)
			addNode(outer, cluster.Node{Name: name, ProviderID: fmt.Sprintf("aws:///%s/i-%012d", zone, i)})
			aws = append(aws, name)
		}
		e.eventually(bundleWait, func() string { return e.ingressServiceIs(corev1.ServiceTypeLoadBalancer) })
		// Rendered with the discovered provider, the manifests still pass
		// the API server's strict validation.
		dryRunReleases(t, e)
	})

	t.Run("aws nodes gone: NodePort again", func(t *testing.T) {
		for _, n := range aws {
			if err := testCluster.DeleteNode(context.Background(), n); err != nil && !apierrors.IsNotFound(err) {
				t.Fatal(err)
			}
		}
		e.eventually(bundleWait, func() string { return e.ingressServiceIs(corev1.ServiceTypeNodePort) })
	})
}

// claimStorageClass reports "" when the Prometheus StatefulSet's data
// volume claim template asks for the StorageClass want ("" = none set) and
// the release is deployed.
func (e *env) claimStorageClass(want string) string {
	s := e.statefulSet("prometheus")
	if s == nil {
		return "the prometheus StatefulSet does not exist"
	}
	for _, c := range s.Spec.VolumeClaimTemplates {
		if c.Name != "data" {
			continue
		}
		if got := ptrString(c.Spec.StorageClassName); (want == "" && c.Spec.StorageClassName != nil) || (want != "" && got != want) {
			return fmt.Sprintf("prometheus volume claim template storageClassName = %s, want %q", got, want)
		}
		if rev, status := e.revision("prometheus"); status != "deployed" {
			return fmt.Sprintf("prometheus release revision %d is %q", rev, status)
		}
		return ""
	}
	return "the prometheus StatefulSet has no volume claim template named data"
}

// A default StorageClass that appears is used by the Prometheus volume
// claim template unless the ConfigMap names a StorageClass.
func TestShippedBundlePrometheusStorageClass(t *testing.T) {
	ctx := context.Background()
	classes, err := testCluster.Client().StorageV1().StorageClasses().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range classes.Items {
		if c.Annotations["storageclass.kubernetes.io/is-default-class"] == "true" {
			t.Fatalf("default StorageClass %s exists before the test", c.Name)
		}
	}
	e := newBundleEnv(t)
	e.start()
	def, explicit := e.ns+"-default", e.ns+"-explicit"
	outer := t

	t.Run("no default StorageClass: none set", func(t *testing.T) {
		e.eventually(bundleWait, func() string { return e.claimStorageClass("") })
	})

	t.Run("a default StorageClass appears: used", func(t *testing.T) {
		sc := &storagev1.StorageClass{
			ObjectMeta:  metav1.ObjectMeta{Name: def, Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}},
			Provisioner: "example.com/e2e",
		}
		if _, err := testCluster.Client().StorageV1().StorageClasses().Create(ctx, sc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		outer.Cleanup(func() {
			_ = testCluster.Client().StorageV1().StorageClasses().Delete(context.Background(), def, metav1.DeleteOptions{})
		})
		e.eventually(bundleWait, func() string { return e.claimStorageClass(def) })
	})

	t.Run("set explicitly: the explicit one wins over the default", func(t *testing.T) {
		e.setConfig(map[string]string{"prometheus": "storage:\n  storageClass: " + explicit + "\n"})
		e.eventually(bundleWait, func() string { return e.claimStorageClass(explicit) })
		dryRunReleases(t, e)
	})

	t.Run("explicit setting removed: the default again", func(t *testing.T) {
		e.setConfig(map[string]string{"prometheus": ""})
		e.eventually(bundleWait, func() string { return e.claimStorageClass(def) })
	})
}

// grafanaPassword returns prometheus.grafana.adminPassword from the
// Secret addon-operator-secrets ("" when absent).
func (e *env) grafanaPassword() string {
	s := e.secret(secretsName)
	if s == nil {
		return ""
	}
	var sec struct {
		Grafana struct {
			AdminPassword string `json:"adminPassword"`
		} `json:"grafana"`
	}
	if err := yaml.Unmarshal(s.Data["prometheus"], &sec); err != nil {
		e.t.Fatalf("Secret %s key prometheus is not YAML: %v", secretsName, err)
	}
	return sec.Grafana.AdminPassword
}

// grafanaSees reports "" when the Secret Grafana reads holds password.
func (e *env) grafanaSees(password string) string {
	s := e.secret("grafana-admin")
	if s == nil {
		return "the grafana-admin Secret does not exist"
	}
	if string(s.Data["admin-password"]) != password {
		return "the grafana-admin Secret does not hold the password from " + secretsName
	}
	return ""
}

// editSecret changes the Secret addon-operator-secrets.
func (e *env) editSecret(edit func(*corev1.Secret)) {
	e.t.Helper()
	for range 10 {
		s := e.secret(secretsName)
		if s == nil {
			e.t.Fatalf("Secret %s does not exist", secretsName)
		}
		edit(s)
		_, err := e.client.CoreV1().Secrets(e.ns).Update(context.Background(), s, metav1.UpdateOptions{})
		if err == nil {
			return
		}
		if !apierrors.IsConflict(err) {
			e.t.Fatal(err)
		}
	}
	e.t.Fatalf("could not update Secret %s", secretsName)
}

var passwordPattern = regexp.MustCompile(`^[A-Za-z0-9]{32}$`)

// The Grafana admin password is generated once, kept in the Secret only,
// survives restarts and unrelated edits, never reaches the ConfigMap or
// the log, and is generated anew when deleted from the Secret.
func TestShippedBundleGrafanaPassword(t *testing.T) {
	e := newBundleEnv(t)
	e.start()
	var logs []string // logs of the operator processes stopped so far
	allLogs := func() string { return strings.Join(append(slices.Clone(logs), e.op.Logs()), "\n") }

	var first string
	e.eventually(bundleWait, func() string {
		if first = e.grafanaPassword(); first == "" {
			return "no prometheus.grafana.adminPassword in Secret " + secretsName
		}
		return e.grafanaSees(first)
	})
	if !passwordPattern.MatchString(first) {
		t.Errorf("the generated password has %d characters or other than letters and digits", len(first))
	}
	notLeaked := func(t *testing.T, passwords ...string) {
		t.Helper()
		for k, v := range e.configMapData(e.ns, "addon-operator") {
			for _, p := range passwords {
				if strings.Contains(v, p) || strings.Contains(k, p) {
					t.Errorf("the ConfigMap key %s holds a Grafana password", k)
				}
			}
		}
		for _, p := range passwords {
			if strings.Contains(allLogs(), p) {
				t.Errorf("the operator log holds a Grafana password:\n%s", grep(allLogs(), p))
			}
		}
	}
	notLeaked(t, first)

	t.Run("masked in the CLI", func(t *testing.T) {
		for _, args := range [][]string{
			{"module", "values", "prometheus"}, {"module", "config", "prometheus"},
			{"module", "values", "prometheus", "-o", "json"}, {"module", "render", "prometheus"},
		} {
			if out := cliOK(t, e.op.DebugSocket, args...); strings.Contains(out, first) {
				t.Errorf("addon-operator %s shows the Grafana password", strings.Join(args, " "))
			}
		}
		if out := cliOK(t, e.op.DebugSocket, "module", "config", "prometheus", "--show-secrets"); !strings.Contains(out, first) {
			t.Errorf("addon-operator module config prometheus --show-secrets does not show the password:\n%s", out)
		}
	})

	t.Run("unchanged after unrelated ConfigMap edits", func(t *testing.T) {
		e.setConfig(map[string]string{
			"prometheus":   "retention:\n  time: 7d\n",
			"ingressNginx": ingressConfig(e, "config:\n  proxy-body-size: 64m\n"),
		})
		e.eventually(bundleWait, func() string {
			s := e.statefulSet("prometheus")
			if s == nil || !slices.Contains(s.Spec.Template.Spec.Containers[0].Args, "--storage.tsdb.retention.time=7d") {
				return "the retention edit did not reach the StatefulSet"
			}
			if e.configMapData(e.ns, "ingress-nginx-controller")["proxy-body-size"] != "64m" {
				return "the ingress edit did not reach the controller ConfigMap"
			}
			return ""
		})
		if got := e.grafanaPassword(); got != first {
			t.Errorf("the password changed after unrelated edits")
		}
		if msg := e.grafanaSees(first); msg != "" {
			t.Error(msg)
		}
		notLeaked(t, first)
	})

	t.Run("unchanged after three restarts", func(t *testing.T) {
		for i := range 3 {
			// The revision to keep is the one of an idle operator: work of
			// the edits above may still be in flight.
			e.waitIdle()
			rev, _ := e.revision("prometheus")
			e.op.Stop(t)
			logs = append(logs, e.op.Logs())
			e.start()
			e.op.WaitLog(t, "modules converged", bundleWait)
			e.waitIdle()
			if got := e.grafanaPassword(); got != first {
				t.Fatalf("restart %d: the password changed", i+1)
			}
			if msg := e.grafanaSees(first); msg != "" {
				t.Errorf("restart %d: %s", i+1, msg)
			}
			if got, status := e.revision("prometheus"); got != rev || status != "deployed" {
				t.Errorf("restart %d: prometheus release revision %d %s, want %d deployed (nothing changed); manifest change:\n%s",
					i+1, got, status, rev, e.manifestChange("prometheus", rev, got))
			}
		}
		notLeaked(t, first)
	})

	var second string
	t.Run("field deleted from the Secret: a new one", func(t *testing.T) {
		e.editSecret(func(s *corev1.Secret) {
			var sec map[string]any
			if err := yaml.Unmarshal(s.Data["prometheus"], &sec); err != nil {
				t.Fatal(err)
			}
			g, _ := sec["grafana"].(map[string]any)
			delete(g, "adminPassword")
			out, err := yaml.Marshal(sec)
			if err != nil {
				t.Fatal(err)
			}
			s.Data["prometheus"] = out
		})
		e.eventually(bundleWait, func() string {
			second = e.grafanaPassword()
			if second == "" || second == first {
				return "no new password in the Secret after the field was deleted"
			}
			return e.grafanaSees(second)
		})
		notLeaked(t, first, second)
	})

	t.Run("key deleted from the Secret: a new one", func(t *testing.T) {
		if second == "" {
			t.Skip("needs the previous step")
		}
		e.editSecret(func(s *corev1.Secret) { delete(s.Data, "prometheus") })
		var third string
		e.eventually(bundleWait, func() string {
			third = e.grafanaPassword()
			if third == "" || third == second || third == first {
				return "no new password in the Secret after its key was deleted"
			}
			return e.grafanaSees(third)
		})
		notLeaked(t, first, second, third)
	})
}

// prometheusObjects are objects of the prometheus release; a name
// starting with ":" is cluster-scoped and prefixed with the namespace.
var prometheusObjects = []struct {
	resource schema.GroupVersionResource
	name     string
}{
	{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}, "prometheus"},
	{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, "grafana"},
	{schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "cronjobs"}, "prometheus-tsdb-maintenance"},
	{schema.GroupVersionResource{Version: "v1", Resource: "services"}, "prometheus"},
	{schema.GroupVersionResource{Version: "v1", Resource: "services"}, "prometheus-headless"},
	{schema.GroupVersionResource{Version: "v1", Resource: "services"}, "grafana"},
	{schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, "prometheus-config"},
	{schema.GroupVersionResource{Version: "v1", Resource: "secrets"}, "grafana-admin"},
	{schema.GroupVersionResource{Version: "v1", Resource: "secrets"}, "prometheus-basic-auth"},
	{schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}, "prometheus"},
	{schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}, ":prometheus"},
}

// prometheusInstalled reports "" when the prometheus release and all its
// objects exist (installed) or none do (!installed).
func (e *env) prometheusInstalled(installed bool) string {
	rev, status := e.revision("prometheus")
	if installed && status != "deployed" {
		return fmt.Sprintf("prometheus release revision %d is %q, want deployed", rev, status)
	}
	if !installed && rev != 0 {
		return fmt.Sprintf("prometheus release revision %d %s still exists", rev, status)
	}
	dyn := dynamic.NewForConfigOrDie(testCluster.Config)
	for _, o := range prometheusObjects {
		var err error
		if cluster, ok := strings.CutPrefix(o.name, ":"); ok {
			_, err = dyn.Resource(o.resource).Get(context.Background(), e.ns+":"+cluster, metav1.GetOptions{})
		} else {
			_, err = dyn.Resource(o.resource).Namespace(e.ns).Get(context.Background(), o.name, metav1.GetOptions{})
		}
		switch {
		case err != nil && !apierrors.IsNotFound(err):
			e.t.Fatal(err)
		case installed && err != nil:
			return fmt.Sprintf("%s %s is missing", o.resource.Resource, o.name)
		case !installed && err == nil:
			return fmt.Sprintf("%s %s still exists", o.resource.Resource, o.name)
		}
	}
	return ""
}

// prometheusEnabled "false" removes the module's release and objects;
// "true" brings them back, with the same Grafana password. The ingress
// module is left alone.
func TestShippedBundlePrometheusEnableDisable(t *testing.T) {
	e := newBundleEnv(t)
	e.start()
	e.eventually(bundleWait, func() string { return e.prometheusInstalled(true) })
	password := e.grafanaPassword()
	ingressRev, _ := e.revision("ingress-nginx")

	t.Run("false: release and objects removed", func(t *testing.T) {
		e.setConfig(map[string]string{"prometheusEnabled": "false"})
		e.eventually(bundleWait, func() string { return e.prometheusInstalled(false) })
		if rev, status := e.revision("ingress-nginx"); rev != ingressRev || status != "deployed" {
			t.Errorf("ingress-nginx release revision %d %s, want %d deployed", rev, status, ingressRev)
		}
	})

	t.Run("true: release and objects back", func(t *testing.T) {
		e.setConfig(map[string]string{"prometheusEnabled": "true"})
		e.eventually(bundleWait, func() string {
			if msg := e.prometheusInstalled(true); msg != "" {
				return msg
			}
			return e.grafanaSees(password)
		})
		if got := e.grafanaPassword(); got != password {
			t.Errorf("the Grafana password changed across disable and enable")
		}
	})
}

// releasedModules lists the bundle's modules that have a Helm release: a
// templates/ folder and a chart that is not a library.
func releasedModules(t *testing.T) []string {
	t.Helper()
	dirs, err := os.ReadDir(filepath.Join(shippedBundle, "modules"))
	if err != nil {
		t.Fatal(err)
	}
	prefix := regexp.MustCompile(`^[0-9]+-`)
	var out []string
	for _, d := range dirs {
		if !d.IsDir() || !prefix.MatchString(d.Name()) {
			continue
		}
		dir := filepath.Join(shippedBundle, "modules", d.Name())
		if _, err := os.Stat(filepath.Join(dir, "templates")); err != nil {
			continue
		}
		if data, err := os.ReadFile(filepath.Join(dir, "Chart.yaml")); err == nil {
			var c struct{ Type string }
			if err := yaml.Unmarshal(data, &c); err != nil {
				t.Fatalf("%s/Chart.yaml: %v", dir, err)
			}
			if c.Type == "library" {
				continue
			}
		}
		out = append(out, prefix.ReplaceAllString(d.Name(), ""))
	}
	if len(out) == 0 {
		t.Fatal("the bundle has no module with a release")
	}
	return out
}

// dryRunReleases sends every object of the deployed release of every
// module with a chart to the API server as a server-side apply dry-run with
// strict field validation (`kubectl apply --server-side --dry-run=server
// --validate=strict`): the manifests are the ones the operator rendered
// with the values it really uses (discovery, hook values, config).
//
// test/bundle's TestServerSideDryRun does the same for manifests rendered
// with hand-written value sets on a bare API server; this checks the
// operator's own renderings in a running cluster.
func dryRunReleases(t *testing.T, e *env) {
	t.Helper()
	e.waitIdle()
	ctx := context.Background()
	dyn := dynamic.NewForConfigOrDie(testCluster.Config)
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(e.client.Discovery()))
	store := driver.NewSecrets(e.client.CoreV1().Secrets(e.ns))
	force := true
	for _, m := range releasedModules(t) {
		rels, err := store.Query(map[string]string{"name": m, "owner": "helm", "status": "deployed"})
		if err != nil || len(rels) != 1 {
			t.Errorf("module %s: want one deployed release, got %d (%v)", m, len(rels), err)
			continue
		}
		n := 0
		for _, doc := range releaseutil.SplitManifests(rels[0].Manifest) {
			var obj map[string]any
			if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
				t.Errorf("module %s: a manifest is not YAML: %v", m, err)
				continue
			}
			if obj == nil {
				continue
			}
			u := &unstructured.Unstructured{Object: obj}
			gvk := u.GroupVersionKind()
			mapping, err := mapper.RESTMapping(schema.GroupKind{Group: gvk.Group, Kind: gvk.Kind}, gvk.Version)
			if err != nil {
				t.Errorf("module %s: %s %s: %v", m, gvk.Kind, u.GetName(), err)
				continue
			}
			var client dynamic.ResourceInterface = dyn.Resource(mapping.Resource)
			if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
				client = dyn.Resource(mapping.Resource).Namespace(u.GetNamespace())
			}
			data, err := json.Marshal(obj)
			if err != nil {
				t.Fatal(err)
			}
			_, err = client.Patch(ctx, u.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{
				DryRun: []string{metav1.DryRunAll}, FieldManager: "e2e-dry-run", Force: &force, FieldValidation: "Strict",
			})
			if err != nil {
				t.Errorf("module %s: %s %s refused by the API server: %v", m, gvk.Kind, u.GetName(), err)
			}
			n++
		}
		if n == 0 {
			t.Errorf("module %s: the release has no objects", m)
		}
	}
}

// Every module's manifests, as the operator rendered them for this
// cluster, pass a strict server-side dry-run.
func TestShippedBundleManifestsPassServerDryRun(t *testing.T) {
	e := newBundleEnv(t)
	e.start()
	dryRunReleases(t, e)
}

// badSettings are invalid module settings, each with what the rejection
// in the log must name: the field path and the schema's expectation.
var badSettings = []struct {
	name, key, section string
	want               []string
}{
	{"wrong type", "prometheus", "replicas: two\n", []string{"prometheus.replicas", "integer"}},
	{"unknown field", "ingressNginx", "replicaz: 2\n", []string{"ingressNginx.replicaz", "not allowed"}},
	{"negative size", "prometheus", "storage:\n  size: -5Gi\n", []string{"prometheus.storage.size", "should match"}},
	{"negative replicas", "ingressNginx", "replicas: -1\n", []string{"ingressNginx.replicas", "greater than or equal to 1"}},
}

// moduleState is what a rejected edit must not change.
type moduleState struct {
	ingressRev, prometheusRev        int
	ingressGeneration, stsGeneration int64
	ingressReplicas                  int32
	stsStorage                       string
}

func (e *env) moduleState() moduleState {
	var s moduleState
	s.ingressRev, _ = e.revision("ingress-nginx")
	s.prometheusRev, _ = e.revision("prometheus")
	if d := e.deployment(ingressDeployment); d != nil {
		s.ingressGeneration, s.ingressReplicas = d.Generation, *d.Spec.Replicas
	}
	if st := e.statefulSet("prometheus"); st != nil {
		s.stsGeneration = st.Generation
		for _, c := range st.Spec.VolumeClaimTemplates {
			s.stsStorage = c.Spec.Resources.Requests.Storage().String()
		}
	}
	return s
}

// Invalid settings in a module's section are refused, naming the field
// and the schema's expectation in the log, and the modules keep their last
// good release and objects; the next valid edit is applied.
func TestShippedBundleBadSettingsRefused(t *testing.T) {
	e := newBundleEnv(t)
	e.start()
	e.eventually(bundleWait, func() string { return e.prometheusInstalled(true) })
	e.waitIdle()
	good := e.configMapData(e.ns, "addon-operator")
	before := e.moduleState()

	for _, bad := range badSettings {
		t.Run(bad.name, func(t *testing.T) {
			section := bad.section
			if bad.key == "ingressNginx" {
				section = ingressConfig(e, section)
			}
			rejections := strings.Count(e.op.Logs(), "configuration rejected")
			accepted := strings.Count(e.op.Logs(), "config accepted")
			e.setConfig(map[string]string{bad.key: section})
			var line string
			e.eventually(bundleWait, func() string {
				lines := strings.Split(grep(e.op.Logs(), "configuration rejected"), "\n")
				if len(lines) <= rejections || lines[len(lines)-1] == "" {
					return "the bad edit was not rejected"
				}
				line = lines[len(lines)-1]
				return ""
			})
			for _, w := range bad.want {
				if !strings.Contains(line, w) {
					t.Errorf("the rejection does not mention %q:\n%s", w, line)
				}
			}
			// Whatever the edit could have started is done once the
			// operator is idle.
			e.waitIdle()
			if got := e.moduleState(); got != before {
				t.Errorf("a rejected edit changed the modules: %+v, want %+v", got, before)
			}
			// Putting the last good section back changes nothing either.
			e.setConfig(map[string]string{bad.key: good[bad.key]})
			e.eventually(bundleWait, func() string {
				if strings.Count(e.op.Logs(), "config accepted") <= accepted {
					return "the restored section was not accepted"
				}
				return ""
			})
			e.waitIdle()
			if got := e.moduleState(); got != before {
				t.Errorf("restoring the last good section changed the modules: %+v, want %+v", got, before)
			}
		})
	}

	t.Run("a valid edit afterwards is applied", func(t *testing.T) {
		e.setConfig(map[string]string{"ingressNginx": ingressConfig(e, "replicas: 3\n")})
		e.eventually(bundleWait, func() string {
			d := e.deployment(ingressDeployment)
			if d == nil || *d.Spec.Replicas != 3 {
				return "ingress replicas did not become 3"
			}
			if rev, status := e.revision("ingress-nginx"); rev != before.ingressRev+1 || status != "deployed" {
				return fmt.Sprintf("ingress-nginx release revision %d %s, want %d deployed", rev, status, before.ingressRev+1)
			}
			return ""
		})
	})
}

// manifestChange describes how a release's manifest changed between two
// revisions: the lines only in the older one (-) and only in the newer (+).
func (e *env) manifestChange(release string, from, to int) string {
	store := driver.NewSecrets(e.client.CoreV1().Secrets(e.ns))
	manifest := func(rev int) []string {
		r, err := store.Get(fmt.Sprintf("sh.helm.release.v1.%s.v%d", release, rev))
		if err != nil {
			return []string{fmt.Sprintf("(revision %d: %v)", rev, err)}
		}
		return strings.Split(r.Manifest, "\n")
	}
	old, cur := manifest(from), manifest(to)
	var out []string
	for _, l := range old {
		if !slices.Contains(cur, l) {
			out = append(out, "- "+l)
		}
	}
	for _, l := range cur {
		if !slices.Contains(old, l) {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}

// waitIdle waits until the operator has logged nothing for a second (it
// logs every task at debug level), so that work queued by the last change
// (a hook's config patch re-running its module, for example) is done.
func (e *env) waitIdle() {
	e.t.Helper()
	deadline := time.Now().Add(bundleWait)
	size, since := len(e.op.Logs()), time.Now()
	for time.Since(since) < time.Second {
		if time.Now().After(deadline) {
			e.t.Fatalf("the operator kept logging for %s:\n%s", bundleWait, e.op.Tail(20))
		}
		time.Sleep(100 * time.Millisecond)
		if n := len(e.op.Logs()); n != size {
			size, since = n, time.Now()
		}
	}
}

// Two operators in two namespaces run the shipped bundle side by side
// (each module's cluster-scoped objects carry the namespace for this): the
// hooks of one must not act on the other's objects. The prometheus hooks
// confine their watches to $ADDON_OPERATOR_NAMESPACE, so the operator must
// give its hooks that variable also when its namespace comes from the
// --namespace flag, as in these tests and `make dev`.
func TestShippedBundleOperatorsInTwoNamespacesStayApart(t *testing.T) {
	t.Setenv("ADDON_OPERATOR_NAMESPACE", "")
	a := bundleEnv(t, "a")
	b := bundleEnv(t, "b")
	fast := a.ns + "-fast"
	a.setConfig(map[string]string{"prometheus": "storage:\n  storageClass: " + fast + "\n"})
	a.start()
	a.eventually(bundleWait, func() string { return a.claimStorageClass(fast) })
	a.waitIdle()
	stsA := a.statefulSet("prometheus").UID

	b.start()
	b.eventually(bundleWait, func() string { return b.prometheusInstalled(true) })
	b.waitIdle()
	a.waitIdle()
	if s := a.statefulSet("prometheus"); s == nil || s.UID != stsA {
		t.Errorf("operator b's start deleted operator a's prometheus StatefulSet:\n%s", grep(b.op.Logs(), "StatefulSet"))
	}

	for _, e := range []*env{a, b} {
		rev, _ := e.revision("prometheus")
		e.op.Stop(t)
		e.start()
		e.op.WaitLog(t, "modules converged", bundleWait)
		e.waitIdle()
		if got, status := e.revision("prometheus"); got != rev || status != "deployed" {
			t.Errorf("%s: prometheus release revision %d %s after a restart, want %d deployed; manifest change:\n%s",
				e.ns, got, status, rev, e.manifestChange("prometheus", rev, got))
		}
	}
}

// A Grafana password and basic-auth line whose digest starts with 16
// decimal digits (about one generated password in a thousand: the line's
// salt is random): checksum/admin: 2186731585473675.
const (
	numericDigestPassword = "E2eNumericChecksum2026"
	numericDigestHtpasswd = "admin:$6$s0001223$0WYQs9SlVjtBT4hEUa40mB7hjBIX1BcJIojItvSfNkybCew1DWZahHtaDiGY5qhAHpJ2Xda.uP28i/M3BR1vN."
	numericDigest         = "2186731585473675"
)

// The prometheus module deploys whatever the Grafana password and its
// basic-auth line are. The Grafana pod template carries a checksum of the
// basic-auth line; when that checksum happens to be all digits it must
// still be a string annotation. The Secrets are set up as a previous
// release with this password would have left them: the password in
// addon-operator-secrets, the line (which the password hook keeps while it
// matches) in prometheus-basic-auth.
func TestShippedBundlePrometheusWithNumericLookingChecksum(t *testing.T) {
	e := newBundleEnv(t)
	ctx := context.Background()
	secrets := []*corev1.Secret{
		{
			ObjectMeta: metav1.ObjectMeta{Name: secretsName, Namespace: e.ns},
			Data:       map[string][]byte{"prometheus": []byte("grafana:\n  adminPassword: " + numericDigestPassword + "\n")},
		},
		{
			ObjectMeta: metav1.ObjectMeta{
				Name: "prometheus-basic-auth", Namespace: e.ns,
				Labels: map[string]string{
					"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/part-of": "addon-operator",
					"app.kubernetes.io/managed-by": "Helm",
				},
				Annotations: map[string]string{"meta.helm.sh/release-name": "prometheus", "meta.helm.sh/release-namespace": e.ns},
			},
			Data: map[string][]byte{"auth": []byte(numericDigestHtpasswd)},
		},
	}
	for _, s := range secrets {
		if _, err := e.client.CoreV1().Secrets(e.ns).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	e.start()
	e.eventually(bundleWait, func() string {
		if msg := e.prometheusInstalled(true); msg != "" {
			return msg
		}
		d := e.deployment("grafana")
		if got := d.Spec.Template.Annotations["checksum/admin"]; got != numericDigest {
			return fmt.Sprintf("grafana pod annotation checksum/admin = %q, want %q", got, numericDigest)
		}
		return e.grafanaSees(numericDigestPassword)
	})
}
