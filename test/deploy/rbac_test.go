package deploy

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
)

// access is one request of the operator's ServiceAccount.
type access struct {
	verb, group, resource, subresource, namespace, name string
	// path is a non-resource URL; resource fields are ignored when set.
	path string
}

func (a access) String() string {
	if a.path != "" {
		return a.verb + " " + a.path
	}
	s := a.verb + " " + a.resource
	if a.group != "" {
		s += "." + a.group
	}
	if a.subresource != "" {
		s += "/" + a.subresource
	}
	if a.name != "" {
		s += " " + a.name
	}
	if a.namespace != "" {
		s += " in " + a.namespace
	} else {
		s += " (cluster)"
	}
	return s
}

// allowed asks the API server whether the operator's ServiceAccount may do a.
func allowed(ctx context.Context, a access) (bool, error) {
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: saUser, Groups: saGroups}}
	if a.path != "" {
		sar.Spec.NonResourceAttributes = &authorizationv1.NonResourceAttributes{Path: a.path, Verb: a.verb}
	} else {
		sar.Spec.ResourceAttributes = &authorizationv1.ResourceAttributes{
			Verb: a.verb, Group: a.group, Resource: a.resource, Subresource: a.subresource,
			Namespace: a.namespace, Name: a.name,
		}
	}
	out, err := testCluster.Client().AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	return out.Status.Allowed, nil
}

// waitAllowed waits until the authorizer answers a with want (RBAC objects
// reach the authorizer through a watch, a moment after they are written).
func waitAllowed(ctx context.Context, a access, want bool) error {
	return poll(ctx, func() error {
		got, err := allowed(ctx, a)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("%s: allowed = %v, want %v", a, got, want)
		}
		return nil
	})
}

// What the operator needs for itself, the shipped bundle's hooks and charts.
var operatorNeeds = []access{
	// Module and Release objects, with their status subresources.
	{verb: "create", group: "addons.seedops.io", resource: "modules"},
	{verb: "list", group: "addons.seedops.io", resource: "modules"},
	{verb: "delete", group: "addons.seedops.io", resource: "modules", name: "prometheus"},
	{verb: "patch", group: "addons.seedops.io", resource: "modules", subresource: "status", name: "prometheus"},
	{verb: "update", group: "addons.seedops.io", resource: "modules", subresource: "status", name: "prometheus"},
	{verb: "create", group: "addons.seedops.io", resource: "releases"},
	{verb: "watch", group: "addons.seedops.io", resource: "releases"},
	{verb: "update", group: "addons.seedops.io", resource: "releases", subresource: "status", name: "v1.2.3"},
	// Its namespace: config, x-secret values, Helm release records, Events,
	// leader election.
	{verb: "watch", resource: "configmaps", namespace: namespace},
	{verb: "create", resource: "configmaps", namespace: namespace},
	{verb: "list", resource: "secrets", namespace: namespace},
	{verb: "watch", resource: "secrets", namespace: namespace},
	{verb: "create", resource: "secrets", namespace: namespace},
	{verb: "update", resource: "secrets", namespace: namespace, name: "addon-operator-secrets"},
	{verb: "delete", resource: "secrets", namespace: namespace, name: "sh.helm.release.v1.prometheus.v1"},
	{verb: "create", group: "events.k8s.io", resource: "events", namespace: namespace},
	{verb: "create", resource: "events", namespace: namespace},
	{verb: "create", group: "coordination.k8s.io", resource: "leases", namespace: namespace},
	{verb: "get", group: "coordination.k8s.io", resource: "leases", namespace: namespace, name: "addon-operator-leader"},
	{verb: "update", group: "coordination.k8s.io", resource: "leases", namespace: namespace, name: "addon-operator-leader"},
	// What global hooks watch and read.
	{verb: "list", resource: "nodes"},
	{verb: "watch", resource: "nodes"},
	{verb: "watch", group: "storage.k8s.io", resource: "storageclasses"},
	{verb: "get", resource: "namespaces", name: "kube-system"},
	{verb: "get", path: "/version"},
	// What charts install, in the operator's namespace (the release
	// namespace of the shipped modules).
	{verb: "create", group: "apps", resource: "deployments", namespace: namespace},
	{verb: "patch", group: "apps", resource: "statefulsets", namespace: namespace, name: "prometheus"},
	{verb: "delete", group: "apps", resource: "statefulsets", namespace: namespace, name: "prometheus"},
	{verb: "create", group: "batch", resource: "cronjobs", namespace: namespace},
	{verb: "create", resource: "services", namespace: namespace},
	{verb: "create", resource: "serviceaccounts", namespace: namespace},
	{verb: "create", resource: "configmaps", namespace: namespace},
	{verb: "delete", resource: "persistentvolumeclaims", namespace: namespace, name: "data-prometheus-0"},
	{verb: "create", group: "policy", resource: "poddisruptionbudgets", namespace: namespace},
	{verb: "update", group: "networking.k8s.io", resource: "ingresses", namespace: namespace, name: "prometheus"},
	{verb: "create", group: "rbac.authorization.k8s.io", resource: "roles", namespace: namespace},
	{verb: "escalate", group: "rbac.authorization.k8s.io", resource: "roles", namespace: namespace},
	{verb: "bind", group: "rbac.authorization.k8s.io", resource: "roles", namespace: namespace, name: "ingress-nginx"},
	{verb: "create", group: "rbac.authorization.k8s.io", resource: "rolebindings", namespace: namespace},
	{verb: "patch", group: "rbac.authorization.k8s.io", resource: "rolebindings", namespace: namespace, name: "ingress-nginx"},
	// Cluster-scoped objects of the charts.
	{verb: "create", group: "networking.k8s.io", resource: "ingressclasses"},
	{verb: "create", group: "rbac.authorization.k8s.io", resource: "clusterroles"},
	{verb: "escalate", group: "rbac.authorization.k8s.io", resource: "clusterroles"},
	{verb: "bind", group: "rbac.authorization.k8s.io", resource: "clusterroles", name: "addon-operator:ingress-nginx"},
	{verb: "bind", group: "rbac.authorization.k8s.io", resource: "clusterroles", name: "addon-operator:prometheus"},
	{verb: "patch", group: "rbac.authorization.k8s.io", resource: "clusterroles", name: "addon-operator:prometheus"},
	{verb: "delete", group: "rbac.authorization.k8s.io", resource: "clusterroles", name: "addon-operator:ingress-nginx"},
	{verb: "create", group: "rbac.authorization.k8s.io", resource: "clusterrolebindings"},
	{verb: "patch", group: "rbac.authorization.k8s.io", resource: "clusterrolebindings", name: "addon-operator:prometheus"},
	{verb: "watch", group: "rbac.authorization.k8s.io", resource: "clusterroles"},
	// Workload readiness watches workloads in all namespaces and lists the
	// Pods of a late one; Helm follows Pods.
	{verb: "watch", group: "apps", resource: "deployments"},
	{verb: "watch", group: "apps", resource: "daemonsets"},
	{verb: "watch", group: "batch", resource: "jobs"},
	{verb: "list", resource: "pods", namespace: "some-module"},
	// DriftCorrected Events on corrected objects and, in "default", on
	// Module objects.
	{verb: "create", group: "events.k8s.io", resource: "events", namespace: "some-module"},
	{verb: "create", group: "events.k8s.io", resource: "events", namespace: "default"},
}

// What only cluster-admin (or another grant) may do.
var operatorMustNot = []access{
	{verb: "delete", resource: "nodes", name: "node-a"},
	{verb: "update", resource: "nodes", name: "node-a"},
	{verb: "patch", resource: "nodes", subresource: "status", name: "node-a"},
	{verb: "get", resource: "secrets", namespace: "kube-system", name: "bootstrap-token-abcdef"},
	{verb: "list", resource: "secrets", namespace: "kube-system"},
	{verb: "list", resource: "secrets"},
	{verb: "create", resource: "secrets", namespace: "some-module"},
	{verb: "create", resource: "serviceaccounts", subresource: "token", namespace: "kube-system", name: "default"},
	{verb: "get", group: "coordination.k8s.io", resource: "leases", namespace: "kube-system", name: "kube-scheduler"},
	{verb: "update", group: "coordination.k8s.io", resource: "leases", namespace: namespace, name: "ingress-nginx-leader"},
	{verb: "create", resource: "events", namespace: "kube-system"},
	{verb: "create", resource: "namespaces"},
	{verb: "delete", resource: "namespaces", name: "kube-system"},
	{verb: "delete", group: "apiextensions.k8s.io", resource: "customresourcedefinitions", name: "modules.addons.seedops.io"},
	{verb: "create", resource: "pods", namespace: "some-module"},
	{verb: "create", resource: "pods", namespace: "kube-system"},
	// Writes outside the operator's namespace (kube-system included).
	{verb: "create", group: "apps", resource: "deployments", namespace: "kube-system"},
	{verb: "create", group: "apps", resource: "daemonsets", namespace: "some-module"},
	{verb: "patch", group: "apps", resource: "deployments", namespace: "kube-system", name: "coredns"},
	{verb: "create", resource: "configmaps", namespace: "kube-system"},
	{verb: "update", resource: "configmaps", namespace: "kube-system", name: "kube-proxy"},
	{verb: "create", resource: "serviceaccounts", namespace: "some-module"},
	{verb: "create", group: "batch", resource: "jobs", namespace: "kube-system"},
	{verb: "create", group: "rbac.authorization.k8s.io", resource: "roles", namespace: "kube-system"},
	{verb: "create", group: "rbac.authorization.k8s.io", resource: "rolebindings", namespace: "kube-system"},
	// Binding, changing or deleting any role but the charts'.
	{verb: "bind", group: "rbac.authorization.k8s.io", resource: "clusterroles", name: "cluster-admin"},
	{verb: "bind", group: "rbac.authorization.k8s.io", resource: "clusterroles", name: "admin"},
	{verb: "bind", group: "rbac.authorization.k8s.io", resource: "clusterroles", name: "addon-operator"},
	{verb: "bind", group: "rbac.authorization.k8s.io", resource: "roles", namespace: namespace, name: "addon-operator"},
	{verb: "update", group: "rbac.authorization.k8s.io", resource: "clusterroles", name: "addon-operator"},
	{verb: "patch", group: "rbac.authorization.k8s.io", resource: "clusterroles", name: "system:node"},
	{verb: "delete", group: "rbac.authorization.k8s.io", resource: "clusterrolebindings", name: "cluster-admin"},
	{verb: "update", group: "rbac.authorization.k8s.io", resource: "rolebindings", namespace: namespace, name: "addon-operator"},
	{verb: "escalate", group: "rbac.authorization.k8s.io", resource: "roles", namespace: "kube-system"},
	// CRDs: the shipped bundle has none; writing one could hijack any kind.
	{verb: "create", group: "apiextensions.k8s.io", resource: "customresourcedefinitions"},
	{verb: "patch", group: "apiextensions.k8s.io", resource: "customresourcedefinitions", name: "widgets.example.com"},
	{verb: "create", resource: "pods", subresource: "exec", namespace: namespace, name: "addon-operator-0"},
	{verb: "impersonate", resource: "users", name: "admin"},
	{verb: "update", group: "certificates.k8s.io", resource: "certificatesigningrequests", subresource: "approval", name: "csr-1"},
	{verb: "create", group: "admissionregistration.k8s.io", resource: "validatingwebhookconfigurations"},
	{verb: "get", path: "/metrics"},
}

// The ServiceAccount may do what the operator and the shipped bundle need,
// and nothing that only cluster-admin may do.
func TestServiceAccountRights(t *testing.T) {
	deployBase(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The deny checks mean something only once the bindings are in force.
	if err := waitAllowed(ctx, operatorNeeds[0], true); err != nil {
		t.Fatal(err)
	}
	if err := waitAllowed(ctx, access{verb: "create", resource: "secrets", namespace: namespace}, true); err != nil {
		t.Fatal(err)
	}
	for _, a := range operatorNeeds {
		got, err := allowed(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		if !got {
			t.Errorf("%s: denied, the operator needs it", a)
		}
	}
	for _, a := range operatorMustNot {
		got, err := allowed(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		if got {
			t.Errorf("%s: allowed, only cluster-admin should be", a)
		}
	}
}

// impersonated returns clients acting as the operator's ServiceAccount.
func impersonated(t *testing.T) (kubernetes.Interface, dynamic.Interface) {
	t.Helper()
	cfg := rest.CopyConfig(testCluster.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: saUser, Groups: saGroups}
	return kubernetes.NewForConfigOrDie(cfg), dynamic.NewForConfigOrDie(cfg)
}

// Real requests as the ServiceAccount: what Helm does for the shipped
// charts (a Deployment in another namespace, Prometheus' and
// ingress-nginx' cluster RBAC), status of a Module object, the leader
// Lease; and refusals for Secrets elsewhere and Nodes.
func TestServiceAccountRequests(t *testing.T) {
	deployBase(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin := testCluster.Client()
	cs, dyn := impersonated(t)
	if err := waitAllowed(ctx, operatorNeeds[0], true); err != nil {
		t.Fatal(err)
	}

	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "some-module"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	labels := map[string]string{"app": "web"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx"}}},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments(namespace).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Errorf("create a Deployment in %s: %v", namespace, err)
	}
	if err := cs.AppsV1().Deployments(namespace).Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Errorf("delete a Deployment in %s: %v", namespace, err)
	}

	// The charts' ClusterRoles grant what the operator does not hold itself
	// (Secrets cluster-wide, /metrics): escalate and bind (by name) make them
	// possible. The operator of an earlier test may have left the real ones.
	removeClusterRBAC(ctx, t, "addon-operator:ingress-nginx")
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "addon-operator:ingress-nginx"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"secrets", "endpoints", "nodes"}, Verbs: []string{"list", "watch"}},
			{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
			{NonResourceURLs: []string{"/metrics", "/metrics/cadvisor"}, Verbs: []string{"get"}},
		},
	}
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Errorf("create a chart's ClusterRole: %v", err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "addon-operator:ingress-nginx"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "ingress-nginx", Namespace: namespace}},
	}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Errorf("bind a chart's ClusterRole: %v", err)
	}
	_ = cs.RbacV1().ClusterRoleBindings().Delete(ctx, binding.Name, metav1.DeleteOptions{})
	_ = cs.RbacV1().ClusterRoles().Delete(ctx, role.Name, metav1.DeleteOptions{})

	// A Module object and its status.
	err := poll(ctx, func() error {
		crd, err := admin.Discovery().ServerResourcesForGroupVersion("addons.seedops.io/v1alpha1")
		if err != nil {
			return err
		}
		for _, r := range crd.APIResources {
			if r.Name == "modules" {
				return nil
			}
		}
		return fmt.Errorf("modules.addons.seedops.io not served yet")
	})
	if err != nil {
		t.Fatal(err)
	}
	mod := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "addons.seedops.io/v1alpha1", "kind": "Module",
		"metadata": map[string]any{"name": "test-module", "labels": map[string]any{"addons.seedops.io/operator-namespace": namespace}},
	}}
	if _, err := dyn.Resource(moduleGVR).Create(ctx, mod, metav1.CreateOptions{}); err != nil {
		t.Errorf("create a Module: %v", err)
	}
	patch := jsonOf(t, map[string]any{"status": map[string]any{"enabled": true, "phase": "Ready"}})
	if _, err := dyn.Resource(moduleGVR).Patch(ctx, "test-module", types.MergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
		t.Errorf("patch a Module's status: %v", err)
	}
	got, err := dyn.Resource(moduleGVR).Get(ctx, "test-module", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if phase, _, _ := unstructured.NestedString(got.Object, "status", "phase"); phase != "Ready" {
		t.Errorf("module status phase = %q after the patch, want Ready", phase)
	}
	if err := dyn.Resource(moduleGVR).Delete(ctx, "test-module", metav1.DeleteOptions{}); err != nil {
		t.Errorf("delete a Module: %v", err)
	}

	// The leader Lease.
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "addon-operator-leader", Namespace: namespace},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: ptr.To("addon-operator-0")},
	}
	// AlreadyExists: an operator of an earlier test holds it.
	if _, err := cs.CoordinationV1().Leases(namespace).Create(ctx, lease, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Errorf("create the leader Lease: %v", err)
	}
	l, err := cs.CoordinationV1().Leases(namespace).Get(ctx, lease.Name, metav1.GetOptions{})
	if err != nil {
		t.Errorf("get the leader Lease: %v", err)
	} else {
		l.Spec.HolderIdentity = ptr.To("addon-operator-1")
		if _, err := cs.CoordinationV1().Leases(namespace).Update(ctx, l, metav1.UpdateOptions{}); err != nil {
			t.Errorf("update the leader Lease: %v", err)
		}
	}
	_ = admin.CoordinationV1().Leases(namespace).Delete(ctx, lease.Name, metav1.DeleteOptions{})

	// Reads the hooks need.
	if _, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("list Nodes: %v", err)
	}
	if _, err := cs.StorageV1().StorageClasses().List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("list StorageClasses: %v", err)
	}
	if _, err := cs.Discovery().ServerVersion(); err != nil {
		t.Errorf("read /version: %v", err)
	}
	if _, err := cs.CoreV1().Secrets(namespace).List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("list Secrets in %s: %v", namespace, err)
	}

	// Refusals.
	forbidden := []struct {
		what string
		do   func() error
	}{
		{"list Secrets in kube-system", func() error {
			_, err := cs.CoreV1().Secrets("kube-system").List(ctx, metav1.ListOptions{})
			return err
		}},
		{"list Secrets in all namespaces", func() error {
			_, err := cs.CoreV1().Secrets("").List(ctx, metav1.ListOptions{})
			return err
		}},
		{"delete a Node", func() error {
			return cs.CoreV1().Nodes().Delete(ctx, "node-a", metav1.DeleteOptions{})
		}},
		{"create a Namespace", func() error {
			_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "not-allowed"}}, metav1.CreateOptions{})
			return err
		}},
		{"create a Deployment in kube-system", func() error {
			d := dep.DeepCopy()
			_, err := cs.AppsV1().Deployments("kube-system").Create(ctx, d, metav1.CreateOptions{})
			return err
		}},
		{"create a Deployment in another module's namespace", func() error {
			_, err := cs.AppsV1().Deployments("some-module").Create(ctx, dep.DeepCopy(), metav1.CreateOptions{})
			return err
		}},
		{"create a Pod in kube-system", func() error {
			_, err := cs.CoreV1().Pods("kube-system").Create(ctx, &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "not-allowed"}, Spec: dep.Spec.Template.Spec,
			}, metav1.CreateOptions{})
			return err
		}},
		{"bind cluster-admin to itself", func() error {
			_, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: "not-allowed"},
				RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cluster-admin"},
				Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: serviceAccount, Namespace: namespace}},
			}, metav1.CreateOptions{})
			return err
		}},
		{"give its own ClusterRole every right", func() error {
			r, err := cs.RbacV1().ClusterRoles().Get(ctx, "addon-operator", metav1.GetOptions{})
			if err != nil {
				return err
			}
			r.Rules = append(r.Rules, rbacv1.PolicyRule{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}})
			_, err = cs.RbacV1().ClusterRoles().Update(ctx, r, metav1.UpdateOptions{})
			return err
		}},
	}
	for _, f := range forbidden {
		if err := f.do(); !apierrors.IsForbidden(err) {
			t.Errorf("%s: err = %v, want Forbidden", f.what, err)
		}
	}
}

// An overlay of deploy/ with the component components/cluster-admin
// (testdata/cluster-admin, as docs/operations.md shows it) adds one ClusterRoleBinding to cluster-admin,
// which gives the ServiceAccount every right.
func TestClusterAdminComponent(t *testing.T) {
	base := deployBase(t)
	overlay := renderPath(t, filepath.Join("testdata", "cluster-admin"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	names := func(objs []*unstructured.Unstructured) map[string]bool {
		out := map[string]bool{}
		for _, o := range objs {
			out[o.GetKind()+"/"+o.GetName()] = true
		}
		return out
	}
	inBase := names(base)
	var added []string
	for name := range names(overlay) {
		if !inBase[name] {
			added = append(added, name)
		}
	}
	slices.Sort(added)
	if diff := cmp.Diff([]string{"ClusterRoleBinding/addon-operator-cluster-admin"}, added); diff != "" {
		t.Fatalf("objects the overlay adds to deploy/ (-want +got):\n%s", diff)
	}
	var crb rbacv1.ClusterRoleBinding
	if err := fromUnstructured(find(t, overlay, "ClusterRoleBinding", "addon-operator-cluster-admin"), &crb); err != nil {
		t.Fatal(err)
	}
	wantSubjects := []rbacv1.Subject{{Kind: "ServiceAccount", Name: serviceAccount, Namespace: namespace}}
	if crb.RoleRef.Name != "cluster-admin" || !cmp.Equal(crb.Subjects, wantSubjects) {
		t.Fatalf("binding: roleRef %s, subjects %v; want cluster-admin for %v", crb.RoleRef.Name, crb.Subjects, wantSubjects)
	}

	data, err := encode(overlay)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runKubectl(data, "apply", "-f", "-"); err != nil {
		t.Fatal(err)
	}
	deleteNode := access{verb: "delete", resource: "nodes", name: "node-a"}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := testCluster.Client().RbacV1().ClusterRoleBindings().Delete(ctx, crb.Name, metav1.DeleteOptions{}); err != nil {
			t.Error(err)
		}
		// Back to least privilege for the other tests.
		if err := waitAllowed(ctx, deleteNode, false); err != nil {
			t.Error(err)
		}
	})
	if err := waitAllowed(ctx, deleteNode, true); err != nil {
		t.Fatalf("with the cluster-admin component: %v", err)
	}
	for _, a := range operatorMustNot {
		got, err := allowed(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		if !got {
			t.Errorf("%s: denied with the cluster-admin component", a)
		}
	}
}

// applyWebhookRBAC applies the ClusterRole and ClusterRoleBinding of the
// webhook component (testdata/webhook) and removes them when the test ends.
func applyWebhookRBAC(t *testing.T) {
	t.Helper()
	var objs []*unstructured.Unstructured
	for _, o := range renderPath(t, filepath.Join("testdata", "webhook")) {
		if o.GetName() == "addon-operator-webhook" && (o.GetKind() == "ClusterRole" || o.GetKind() == "ClusterRoleBinding") {
			objs = append(objs, o)
		}
	}
	if len(objs) != 2 {
		t.Fatalf("the webhook component renders %d RBAC objects named addon-operator-webhook, want 2", len(objs))
	}
	data, err := encode(objs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runKubectl(data, "apply", "-f", "-"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		admin := testCluster.Client()
		_ = admin.RbacV1().ClusterRoleBindings().Delete(ctx, "addon-operator-webhook", metav1.DeleteOptions{})
		_ = admin.RbacV1().ClusterRoles().Delete(ctx, "addon-operator-webhook", metav1.DeleteOptions{})
	})
}

// The webhook component turns --webhook on, opens port 9443 behind the
// Service addon-operator-webhook (443), and lets the operator register its
// own ValidatingWebhookConfiguration and no other.
func TestWebhookComponent(t *testing.T) {
	deployBase(t)
	objs := renderPath(t, filepath.Join("testdata", "webhook"))
	var dep appsv1.Deployment
	if err := fromUnstructured(find(t, objs, "Deployment", "addon-operator"), &dep); err != nil {
		t.Fatal(err)
	}
	c := dep.Spec.Template.Spec.Containers[0]
	if diff := cmp.Diff([]string{"--ha", "--hook-memory-limit=512Mi", "--webhook"}, c.Args); diff != "" {
		t.Errorf("container args (-want +got):\n%s", diff)
	}
	var ports []string
	for _, p := range c.Ports {
		ports = append(ports, fmt.Sprintf("%s:%d", p.Name, p.ContainerPort))
	}
	if diff := cmp.Diff([]string{"http-metrics:9650", "webhook:9443"}, ports); diff != "" {
		t.Errorf("container ports (-want +got):\n%s", diff)
	}
	var svc corev1.Service
	if err := fromUnstructured(find(t, objs, "Service", "addon-operator-webhook"), &svc); err != nil {
		t.Fatal(err)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 443 || svc.Spec.Ports[0].TargetPort.String() != "webhook" {
		t.Errorf("service addon-operator-webhook ports %v, want 443 to the container port webhook", svc.Spec.Ports)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	applyWebhookRBAC(t)
	own := access{verb: "update", group: "admissionregistration.k8s.io", resource: "validatingwebhookconfigurations", name: "addon-operator-" + namespace}
	if err := waitAllowed(ctx, own, true); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		a    access
		want bool
	}{
		{access{verb: "create", group: "admissionregistration.k8s.io", resource: "validatingwebhookconfigurations"}, true},
		{access{verb: "get", group: "admissionregistration.k8s.io", resource: "validatingwebhookconfigurations", name: "addon-operator-" + namespace}, true},
		{access{verb: "update", group: "admissionregistration.k8s.io", resource: "validatingwebhookconfigurations", name: "some-other-webhook"}, false},
		{access{verb: "delete", group: "admissionregistration.k8s.io", resource: "validatingwebhookconfigurations", name: "addon-operator-" + namespace}, false},
		{access{verb: "create", group: "admissionregistration.k8s.io", resource: "mutatingwebhookconfigurations"}, false},
	} {
		got, err := allowed(ctx, tt.a)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("%s with the webhook component: allowed = %v, want %v", tt.a, got, tt.want)
		}
	}
}

// escalate cannot be limited to role names, so the admission policy
// deploy/rbac-policy.yaml caps what a role written by the operator may grant:
// a compromised operator cannot write a wildcard, a write outside the charts'
// few, a proxy or an aggregation rule into a chart's role, nor bind a chart's
// role to itself or to an account elsewhere.
func TestOperatorRolesAreCapped(t *testing.T) {
	deployBase(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cs, _ := impersonated(t)
	if err := waitAllowed(ctx, operatorNeeds[0], true); err != nil {
		t.Fatal(err)
	}
	const name = "addon-operator:ingress-nginx"
	admin := testCluster.Client()
	removeClusterRBAC(ctx, t, name)
	t.Cleanup(func() { removeClusterRBAC(context.Background(), t, name) })
	createRole := func(rules ...rbacv1.PolicyRule) func() error {
		return func() error {
			r := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}
			_, err := cs.RbacV1().ClusterRoles().Create(ctx, r, metav1.CreateOptions{})
			if err == nil {
				_ = admin.RbacV1().ClusterRoles().Delete(ctx, name, metav1.DeleteOptions{})
			}
			return err
		}
	}
	createBinding := func(subject rbacv1.Subject) func() error {
		return func() error {
			b := &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: name},
				RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: name},
				Subjects:   []rbacv1.Subject{subject},
			}
			_, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, b, metav1.CreateOptions{})
			if err == nil {
				_ = admin.RbacV1().ClusterRoleBindings().Delete(ctx, name, metav1.DeleteOptions{})
			}
			return err
		}
	}
	everything := createRole(rbacv1.PolicyRule{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}})
	// The policy reaches the admission chain a moment after it is applied.
	err := poll(ctx, func() error {
		if err := everything(); !apierrors.IsInvalid(err) && !apierrors.IsForbidden(err) {
			return fmt.Errorf("a ClusterRole granting everything: err = %v, want refused", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	refused := []struct {
		what string
		do   func() error
	}{
		{"a role granting every verb on Secrets", createRole(rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"*"}})},
		{"a role creating Pods", createRole(rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"create"}})},
		{"a role reading every resource", createRole(rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"*"}, Verbs: []string{"get"}})},
		{"a role reading through the kubelet proxy", createRole(rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"nodes/proxy"}, Verbs: []string{"get"}})},
		{"a role binding other roles", createRole(rbacv1.PolicyRule{APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{"clusterroles"}, Verbs: []string{"bind", "escalate"}})},
		{"a role updating any Lease", createRole(rbacv1.PolicyRule{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"update"}})},
		{"a role impersonating", createRole(rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"users"}, Verbs: []string{"impersonate"}})},
		{"an aggregated role", func() error {
			r := &rbacv1.ClusterRole{
				ObjectMeta:      metav1.ObjectMeta{Name: name},
				AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"x": "y"}}}},
			}
			_, err := cs.RbacV1().ClusterRoles().Create(ctx, r, metav1.CreateOptions{})
			return err
		}},
		{"a chart's role bound to the operator itself", createBinding(rbacv1.Subject{Kind: "ServiceAccount", Name: serviceAccount, Namespace: namespace})},
		{"a chart's role bound to an account in kube-system", createBinding(rbacv1.Subject{Kind: "ServiceAccount", Name: "default", Namespace: "kube-system"})},
		{"a chart's role bound to a group", createBinding(rbacv1.Subject{Kind: "Group", APIGroup: "rbac.authorization.k8s.io", Name: "system:authenticated"})},
	}
	for _, r := range refused {
		err := r.do()
		if !apierrors.IsInvalid(err) && !apierrors.IsForbidden(err) {
			t.Errorf("%s: err = %v, want refused", r.what, err)
		}
	}

	// What the shipped charts need still passes: their ClusterRole rules and
	// a binding to a ServiceAccount of the operator's namespace.
	chart := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"configmaps", "endpoints", "nodes", "pods", "secrets", "namespaces"}, Verbs: []string{"list", "watch"}},
		{APIGroups: []string{""}, Resources: []string{"nodes", "nodes/metrics"}, Verbs: []string{"get"}},
		{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
		{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"ingresses/status"}, Verbs: []string{"update"}},
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, ResourceNames: []string{"ingress-nginx-leader"}, Verbs: []string{"get", "update"}},
		{NonResourceURLs: []string{"/metrics", "/metrics/cadvisor"}, Verbs: []string{"get"}},
	}
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: chart}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create the rules of a shipped chart: %v", err)
	}
	if err := createBinding(rbacv1.Subject{Kind: "ServiceAccount", Name: "ingress-nginx", Namespace: namespace})(); err != nil {
		t.Errorf("bind a chart's role to its ServiceAccount: %v", err)
	}
}

// removeClusterRBAC deletes, as the cluster admin, the ClusterRole and
// ClusterRoleBinding called name if they exist.
func removeClusterRBAC(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	admin := testCluster.Client()
	if err := admin.RbacV1().ClusterRoleBindings().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	if err := admin.RbacV1().ClusterRoles().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
}
