// Package debug lets an admin with access to the operator's pod look inside
// the running operator: module states, effective and config values, what
// Helm would apply, queues and hooks.
//
// The operator side is a Server: an HTTP/JSON API on a unix socket (mode
// 0600, in a directory of its own: whoever can open the socket may see
// secrets and approve releases). Hooks run as the operator's user, so the
// server also checks each connection's peer credentials (SO_PEERCRED) and
// answers 403 to a hook's process group and to any descendant of the
// operator's process (see peerRule); approvals record the peer the kernel
// reports, never what the client says. The client side is
// RunCLI: the `module`, `global`, `queue`, `hook` and `release`
// subcommands of the addon-operator binary, which talk to that socket.
//
// Only the leader has a converger, queues, a Helm client and the updater.
// Until Lead is called (and after Follow) the server answers every data
// request with "this replica is not the leader", so a follower in an HA
// deployment and an operator that is still starting give a clear answer
// rather than a hang.
//
// Values under an x-secret path of the section's schemas (config-values and
// values) are replaced by "***" unless the caller asks for them; rendered
// manifests and diffs have every occurrence of those values, their base64
// encodings and the data of Secret objects replaced the same way.
//
// API (JSON; GET unless noted; ?show-secrets=true reveals secrets):
//
//	/v1/modules                       []ModuleStatus
//	/v1/modules/{name}/values         {global: …, <valuesKey>: …}
//	/v1/modules/{name}/config         {global: …, <valuesKey>: …}
//	/v1/modules/{name}/render         RenderResult (?diff=true adds Diff)
//	/v1/global/values, /v1/global/config   {global: …}
//	/v1/queues                        []Queue
//	/v1/hooks                         []Hook
//	/v1/releases                      []Release
//	POST /v1/releases/{version}/approve    ApproveResult (?reason=…)
//
// Errors are ErrorResponse with status 403 (a refused peer), 400 (a reason
// too long), 404 (unknown module or release), 409
// (a release that is not Pending), 503 (not the leader, or no release
// channels), 422 (the module cannot be rendered) or 500.
//
// Extending: an endpoint that needs the leader's parts is a field of
// Sources and a route in handlers.go; its command is an entry of the
// command table in cli.go.
//
// It owns the socket API and the CLI. It must not import operator or status
// and never talks to the API server itself: it reads through Sources, and
// approving a release goes through the updater.
package debug
