package bench

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seedops/addon-operator/pkg/module"
)

// workload is a bundle the operator benchmarks run on, with what a
// namespace needs before the operator starts there and what to clean up
// after it.
type workload struct {
	// name names the sub-benchmark: bundle=<name>.
	name string
	dir  string
	// releases is the number of Helm releases a full converge deploys.
	releases int
	// env is the operator's extra environment in ns.
	env func(ns string) []string
	// prepare runs once per namespace before the first operator starts.
	prepare func(b *testing.B, ns string)
	// cleanup removes what the bundle creates outside ns; it runs after the
	// operator has stopped.
	cleanup func(b *testing.B, ns string)
	// edit is the i-th ConfigMap edit (i ≥ 1): the key and its new value.
	// Consecutive edits differ in what they change. editRelease is the
	// release the edits upgrade.
	edit        func(ns string, i int) (key, value string)
	editRelease string
	// editTarget names the Deployment the edits change, editShows reads the
	// edited field from it, and editWant is that field once the i-th edit
	// is deployed.
	editTarget string
	editShows  func(d *appsv1.Deployment) string
	editWant   func(i int) string
}

// start runs the workload's operator in ns, which prepare has seen.
func (w workload) start(b *testing.B, ns string, env ...string) *operatorRun {
	b.Helper()
	return startOperator(b, w.dir, ns, append(w.env(ns), env...)...)
}

// withDrift returns w whose ConfigMap also sets the drift policy of every
// module (the operator section's drift.policy), and a name (hence a
// namespace) of its own.
func (w workload) withDrift(policy string) workload {
	w.name += "-drift-" + strings.ToLower(policy)
	prepare := w.prepare
	w.prepare = func(b *testing.B, ns string) {
		prepare(b, ns)
		updateConfig(b, testCluster.Client().CoreV1().ConfigMaps(ns), "operator", "drift:\n  policy: "+policy+"\n")
	}
	return w
}

// namespace creates ns for the workload, prepares it and registers the
// cleanup of the bundle's cluster-scoped objects (run before the
// namespace's own deletion).
func (w workload) namespace(b *testing.B, name string) string {
	b.Helper()
	ns := namespace(b, name)
	b.Cleanup(func() { w.cleanup(b, ns) })
	w.prepare(b, ns)
	return ns
}

// shippedBundle is the repository's own bundle (values.yaml, modules/,
// global-hooks/ at the root). Its operator gets its namespace as
// ADDON_OPERATOR_NAMESPACE, as the shipped Deployment sets it, so that the
// hooks confine their watches to it, and a ConfigMap naming the
// IngressClass after the namespace: the one cluster-scoped name that does
// not derive from the namespace by itself. The edits set
// ingressNginx.replicas to 3, 2, 3, … (the default is one replica without
// ingress nodes).
func shippedBundle(b *testing.B) workload {
	b.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		b.Fatal(err)
	}
	bun, err := module.Load(module.DefaultPaths(dir), nil)
	if err != nil {
		b.Fatal(err)
	}
	releases := 0
	for _, m := range bun.Modules {
		if m.Releases && m.EnabledByDefault != nil && *m.EnabledByDefault {
			releases++
		}
	}
	ingress := func(ns, extra string) string { return "ingressClass:\n  name: " + ns + "\n" + extra }
	return workload{
		name:     "shipped",
		dir:      dir,
		releases: releases,
		env:      func(ns string) []string { return []string{"ADDON_OPERATOR_NAMESPACE=" + ns} },
		prepare: func(b *testing.B, ns string) {
			createConfig(b, ns, map[string]string{"ingressNginx": ingress(ns, "")})
		},
		cleanup: func(b *testing.B, ns string) {
			ctx := context.Background()
			cs := testCluster.Client()
			del := func(kind, name string, err error) {
				if err != nil && !apierrors.IsNotFound(err) {
					b.Logf("delete %s %s: %v", kind, name, err)
				}
			}
			del("IngressClass", ns, cs.NetworkingV1().IngressClasses().Delete(ctx, ns, metav1.DeleteOptions{}))
			for _, m := range []string{"ingress-nginx", "prometheus"} {
				del("ClusterRoleBinding", ns+":"+m, cs.RbacV1().ClusterRoleBindings().Delete(ctx, ns+":"+m, metav1.DeleteOptions{}))
				del("ClusterRole", ns+":"+m, cs.RbacV1().ClusterRoles().Delete(ctx, ns+":"+m, metav1.DeleteOptions{}))
			}
		},
		edit: func(ns string, i int) (string, string) {
			return "ingressNginx", ingress(ns, "replicas: "+strconv.Itoa(2+i%2)+"\n")
		},
		editRelease: "ingress-nginx",
		editTarget:  "ingress-nginx-controller",
		editShows: func(d *appsv1.Deployment) string {
			if d.Spec.Replicas == nil {
				return ""
			}
			return strconv.Itoa(int(*d.Spec.Replicas))
		},
		editWant: func(i int) string { return strconv.Itoa(2 + i%2) },
	}
}

// editModule is the synthetic module whose setting the edits change.
const editModule = 25

// syntheticBundle is a generated bundle of DefaultModules modules (see
// WriteBundle). The edits set the setting of module editModule to
// edit-1, edit-2, …, which its Deployment carries as the pod template
// annotation bench/setting.
func syntheticBundle(b *testing.B, opts BundleOptions) workload {
	b.Helper()
	key := ModuleKey(editModule)
	return workload{
		name:     fmt.Sprintf("synthetic-%d", cmp.Or(opts.Modules, DefaultModules)),
		dir:      bundle(b, opts),
		releases: cmp.Or(opts.Modules, DefaultModules),
		env:      func(string) []string { return nil },
		prepare: func(b *testing.B, ns string) {
			createConfig(b, ns, map[string]string{key: "setting: edit-0\n"})
		},
		cleanup:     func(*testing.B, string) {},
		edit:        func(_ string, i int) (string, string) { return key, fmt.Sprintf("setting: edit-%d\n", i) },
		editRelease: ModuleName(editModule),
		editTarget:  ModuleName(editModule),
		editShows:   func(d *appsv1.Deployment) string { return d.Spec.Template.Annotations["bench/setting"] },
		editWant:    func(i int) string { return fmt.Sprintf("edit-%d", i) },
	}
}

// eachWorkload runs f as a sub-benchmark per workload: bundle=shipped
// (what the targets are about) and bundle=synthetic-50 (how the figures
// grow with the number of modules).
func eachWorkload(b *testing.B, f func(b *testing.B, w workload)) {
	for _, wl := range []struct {
		name string
		make func(*testing.B) workload
	}{
		{"shipped", shippedBundle},
		{fmt.Sprintf("synthetic-%d", DefaultModules), func(b *testing.B) workload { return syntheticBundle(b, BundleOptions{}) }},
	} {
		b.Run("bundle="+wl.name, func(b *testing.B) {
			needCluster(b)
			f(b, wl.make(b))
		})
	}
}

// eachScale runs f as a sub-benchmark per workload: bundle=shipped, then
// bundle=synthetic-N for each number of modules in sizes, so that a figure's
// growth with the bundle is visible.
func eachScale(b *testing.B, sizes []int, f func(b *testing.B, w workload)) {
	b.Run("bundle=shipped", func(b *testing.B) {
		needCluster(b)
		f(b, shippedBundle(b))
	})
	for _, n := range sizes {
		b.Run(fmt.Sprintf("bundle=synthetic-%d", n), func(b *testing.B) {
			needCluster(b)
			f(b, syntheticBundle(b, BundleOptions{Modules: n}))
		})
	}
}

// createConfig creates the operator's ConfigMap in ns with data.
func createConfig(b *testing.B, ns string, data map[string]string) {
	b.Helper()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "addon-operator"}, Data: data}
	if _, err := testCluster.Client().CoreV1().ConfigMaps(ns).Create(context.Background(), cm, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
}
