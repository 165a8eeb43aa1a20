// Package status publishes what the operator knows about its modules where
// cluster admins look: one cluster-scoped Module object per module of the
// bundle (`kubectl get modules`, CRD in deploy/crds/module.yaml), and
// Kubernetes Events on the ConfigMap when an edit of it is rejected.
//
// The Writer turns the converger's module statuses into Module objects and
// adds result control: a module is Ready only when its last run succeeded
// and every Deployment, StatefulSet, DaemonSet and Job of its Helm release
// is rolled out and ready. It watches those kinds (informers restricted to
// objects carrying helm.ModuleLabel), so at idle it holds watches open and
// lists Module objects once per resync period; nothing else is polled.
// A module's chart may set its own ready timeout or opt out of the gate
// (module.Readiness), and a workload annotated
// module.AnnotationIgnoreReadiness does not count. Writer.Health publishes
// the same judgement, per module and for the Helm revision it was made
// for, to the updater, which gates releases on it.
//
// ConfigEvents records a Warning Event on the ConfigMap for each rejected
// configuration, once per distinct consecutive rejection. DriftEvents records
// a DriftCorrected Event on each object the operator corrected and on its
// Module; a Writer made WithDrift shows drift left in place (InSync).
//
// It owns the Module objects and those Events. It only reports: it must not
// write the ConfigMap, Helm releases or module state, and must not import
// updater or operator.
package status
