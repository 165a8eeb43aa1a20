// Package updater keeps the operator on the newest bundle of its release
// channel, safely.
//
// Admins choose, in the ConfigMap's reserved "operator" section (Settings),
// a source (a registry repository or an OCI layout directory, see package
// bundle) and a release channel (a tag). The Updater, run by the leader
// only, polls the channel; a new digest becomes a Release object
// (releases.addons.seedops.io, cluster-scoped, labelled with the operator's
// namespace) in phase Pending. A Pending release is applied when the mode
// is Auto and now is inside an update window (or no windows are set), or,
// in Manual mode, once it is annotated addons.seedops.io/approved=true.
// A channel whose newest version is older than the one running is held
// unless update.allowDowngrade is set.
//
// Applying a release: download and verify it, unpack it into the cache
// directory (<cache>/<algorithm>-<hex>, written to a temporary directory
// and renamed, so a crash never leaves half a bundle), load it (module
// layout and hook configurations; an invalid bundle marks the release
// Failed and the running bundle is untouched), swap it in without a
// restart, and watch the converge. When every enabled module and the
// global steps are Ready, and every enabled module's workloads are ready
// (Deps.Health, judged by package status for the module's current Helm
// revision; a module whose chart opts out is not gated), the release is
// Deployed and the one before it Superseded. When a module or a global
// step still fails after the rollback retries, a workload of a module
// timed out or failed, or the rollback timeout passes first, the previous
// bundle is swapped back and the release marked RolledBack with the
// module and its error (or the workload and why it is not ready); that
// digest is not tried again (a new digest on the channel is). The updater
// does not judge readiness itself.
//
// A download that fails on the network (reset, timeout, a body cut short,
// a 5xx answer, a digest the registry does not have) leaves the release
// Pending and is retried with a backoff from 1s doubling up to the poll
// interval; only a verified digest mismatch or content that is not a
// (safe) bundle fails it.
//
// Trust comes from flags only (Config.VerifyKeys, Config.AllowedSources):
// with keys, every download checks the bundle's signature before unpacking
// and an unsigned or wrongly signed release is Failed; a section source
// outside the allowed prefixes is refused before the channel is read; and
// Restore uses a Deployed release only when it comes from the configured,
// allowed source.
//
// The Release objects are the record of what is deployed: at start the
// operator comes back on the Deployed release, from the cache or pulled
// again by digest (Restore). It fails closed: while that release cannot be
// had, Restore retries with backoff and the operator runs nothing (no
// converge, hooks or Helm), rather than the built-in bundle, which may be
// older than what is installed. The built-in bundle is used only when no
// release is Deployed. With the source unreachable later on, the running
// bundle stays and the error is reported.
//
// It owns the Release objects and the bundle cache. It must not import
// helm, hook or operator: it never runs hooks or Helm itself and swaps
// bundles only through converge.
package updater
