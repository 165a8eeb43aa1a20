// Package helm deploys modules' charts as Helm v3 releases, in process,
// through the Helm SDK.
//
// A Client renders, installs, upgrades and uninstalls releases in one
// namespace (release records are Secrets there, Helm's "secret" driver). The
// release name is the module name. Deploy renders the chart first and applies
// it only when both what it was rendered from (chart files, values, release,
// cluster version) and the rendered manifests differ from the ones recorded
// on the release (checksum labels on the release record), when the last
// revision is not deployed, or when an object of the release is missing from
// the cluster. A chart with random output is thus applied only when its
// inputs change. The objects are looked up in a Monitor's watches when the
// Client has one (WithObjectCache), so that checking many unchanged
// releases costs requests per kind, not per object; objects the watches do
// not hold are read from the API server.
// A release left pending by a killed operator is marked failed and upgraded.
//
// Every object a release applies is labelled with ModuleLabel and
// HeritageLabel by a post-renderer, so a Monitor can watch exactly those
// objects and report releases whose objects were deleted, and correct (or
// report) objects changed away from the release's deployed revision: drift,
// compared in the API server by a server-side apply dry run.
//
// Client methods are safe for concurrent use; calls for the same release are
// serialized, calls for different releases run in parallel.
//
// It owns Helm releases and their records. It must not import module or
// converge: callers pass the chart directory and the values; what a failed
// deploy means for the module is theirs.
package helm
