package debug

import (
	"strconv"
	"time"

	"github.com/seedops/addon-operator/pkg/hook"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/queue"
	"github.com/seedops/addon-operator/pkg/updater"
)

// The JSON documents of the API. They are also what `-o json` and `-o yaml`
// print, so field names are a contract.

// ModuleStatus is one module's state (GET /v1/modules).
type ModuleStatus struct {
	Name            string `json:"name"`
	Enabled         bool   `json:"enabled"`
	EnabledByConfig bool   `json:"enabledByConfig"`
	// EnabledByScript is the `enabled` script's verdict; absent without a
	// script or when it did not run.
	EnabledByScript *bool  `json:"enabledByScript,omitempty"`
	EnabledReason   string `json:"enabledReason,omitempty"`
	// Phase is Ready, Reconciling, Error or Disabled.
	Phase module.Phase `json:"phase"`
	// Revision is the Helm release revision, absent without a release.
	Revision int        `json:"revision,omitempty"`
	LastRun  *time.Time `json:"lastRun,omitempty"`
	// FailedStep is enabled, hooks, helm or delete after a failure.
	FailedStep string `json:"failedStep,omitempty"`
	Failures   int    `json:"failures,omitempty"`
	Message    string `json:"message,omitempty"`
}

// Queue is one named queue with its tasks in run order (GET /v1/queues).
type Queue struct {
	Name  string `json:"name"`
	Tasks []Task `json:"tasks"`
}

// Task is a queued task. The head of a queue may be running or waiting for
// its retry.
type Task struct {
	ID   uint64 `json:"id"`
	Kind string `json:"kind"`
	// Attrs describe the task: module, hook, binding, ...
	Attrs        map[string]string `json:"attrs,omitempty"`
	AllowFailure bool              `json:"allowFailure,omitempty"`
	// Attempts counts the runs so far, including one in progress.
	Attempts  int        `json:"attempts"`
	LastError string     `json:"lastError,omitempty"`
	Running   bool       `json:"running"`
	RetryAt   *time.Time `json:"retryAt,omitempty"`
	QueuedAt  time.Time  `json:"queuedAt"`
}

// Hook is a global or module hook with its bindings (GET /v1/hooks).
type Hook struct {
	Name string `json:"name"`
	// Module is empty for a global hook.
	Module   string        `json:"module,omitempty"`
	Bindings []HookBinding `json:"bindings"`
}

// HookBinding is one binding of a hook.
type HookBinding struct {
	// Type is onStartup, beforeAll, ..., schedule or kubernetes.
	Type string `json:"type"`
	// Name is a schedule or kubernetes binding's name.
	Name string `json:"name,omitempty"`
	// Order is a lifecycle binding's order number.
	Order *float64 `json:"order,omitempty"`
	// APIVersion and Kind are what a kubernetes binding watches.
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
	// Crontab is a schedule binding's schedule.
	Crontab      string `json:"crontab,omitempty"`
	Queue        string `json:"queue,omitempty"`
	Group        string `json:"group,omitempty"`
	AllowFailure bool   `json:"allowFailure,omitempty"`
}

// RenderResult is a module's chart rendered with its current values
// (GET /v1/modules/{name}/render).
type RenderResult struct {
	Module   string `json:"module"`
	Manifest string `json:"manifest"`
	// Deployed is the release's last revision; set only when a diff was
	// asked for and the release exists.
	Deployed *DeployedRelease `json:"deployed,omitempty"`
	// Diff is the unified diff from the deployed manifest (empty when there
	// is no release) to Manifest; empty when they are equal or no diff was
	// asked for.
	Diff string `json:"diff,omitempty"`
}

// DeployedRelease is the last revision of a module's release.
type DeployedRelease struct {
	Revision int       `json:"revision"`
	Status   string    `json:"status"`
	Updated  time.Time `json:"updated"`
}

// Release is one of this operator's Release objects (GET /v1/releases):
// a bundle version seen on the release channel.
type Release struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	Channel   string `json:"channel"`
	Digest    string `json:"digest"`
	Source    string `json:"source,omitempty"`
	Changelog string `json:"changelog,omitempty"`
	// Phase is Pending, Deployed, Superseded, Failed or RolledBack.
	Phase string `json:"phase"`
	// Message says why a release waits, failed or was rolled back.
	Message  string    `json:"message,omitempty"`
	Approved bool      `json:"approved"`
	Created  time.Time `json:"created"`
	// LastTransition is when Phase last changed.
	LastTransition *time.Time `json:"lastTransition,omitempty"`
}

// ApproveResult answers POST /v1/releases/{version}/approve.
type ApproveResult struct {
	// Release is the approved release as it was before the approval, with
	// Approved set.
	Release Release `json:"release"`
	// AlreadyApproved: the release carried the annotation before.
	AlreadyApproved bool `json:"alreadyApproved"`
	// ApprovedBy is who the server saw at the other end of the socket,
	// as recorded in the release's approved-by annotation.
	ApprovedBy string `json:"approvedBy,omitempty"`
}

// ErrorResponse is the body of every non-200 answer.
type ErrorResponse struct {
	Error string `json:"error"`
	// Code is one of the Code* constants.
	Code string `json:"code"`
	// KnownModules lists the bundle's modules with CodeUnknownModule.
	KnownModules []string `json:"knownModules,omitempty"`
}

// Error codes.
const (
	CodeNotLeader     = "not_leader"
	CodeUnknownModule = "unknown_module"
	CodeNoChart       = "no_chart"
	CodeRenderFailed  = "render_failed"
	CodeInternal      = "internal"
	// CodeNoReleases: the operator has no release channel machinery (no
	// Releases source, or the Release CRD is not installed).
	CodeNoReleases = "releases_unavailable"
	// CodeUnknownRelease: no release of this operator has that version.
	CodeUnknownRelease = "unknown_release"
	// CodeNotPending: the release exists but is not Pending.
	CodeNotPending = "not_pending"
	// CodeForbidden: the caller is a hook, a process the operator started
	// or another user (status 403; see Peer).
	CodeForbidden = "forbidden"
	// CodeBadRequest: a parameter is out of bounds (status 400).
	CodeBadRequest = "bad_request"
)

func moduleStatus(s module.Status) ModuleStatus {
	out := ModuleStatus{
		Name:            s.Module,
		Enabled:         s.Enabled,
		EnabledByConfig: s.EnabledByConfig,
		EnabledByScript: s.EnabledByScript,
		EnabledReason:   s.EnabledReason,
		Phase:           s.Phase,
		Revision:        s.Revision,
		FailedStep:      s.FailedStep,
		Failures:        s.Failures,
		Message:         s.Message,
	}
	if !s.LastRun.IsZero() {
		t := s.LastRun
		out.LastRun = &t
	}
	return out
}

func queueInfo(q queue.QueueInfo) Queue {
	out := Queue{Name: q.Name, Tasks: make([]Task, 0, len(q.Tasks))}
	for _, t := range q.Tasks {
		task := Task{
			ID:           t.ID,
			Kind:         t.Kind,
			AllowFailure: t.AllowFailure,
			Attempts:     t.Attempts,
			Running:      t.Running,
			QueuedAt:     t.QueuedAt,
		}
		if len(t.Attrs) > 0 {
			task.Attrs = make(map[string]string, len(t.Attrs))
			for _, a := range t.Attrs {
				task.Attrs[a.Key] = a.Value.String()
			}
		}
		if t.LastError != nil {
			task.LastError = t.LastError.Error()
		}
		if !t.RetryAt.IsZero() {
			at := t.RetryAt
			task.RetryAt = &at
		}
		out.Tasks = append(out.Tasks, task)
	}
	return out
}

func hookInfo(h *hook.Hook) Hook {
	out := Hook{Name: h.Name, Module: h.Module, Bindings: []HookBinding{}}
	b := h.Bindings
	for _, t := range b.Types() {
		switch t {
		case hook.Schedule:
			for _, s := range b.Schedules {
				out.Bindings = append(out.Bindings, HookBinding{
					Type: string(t), Name: s.BindingName, Crontab: s.ScheduleEntry.Crontab,
					Queue: s.Queue, Group: s.Group, AllowFailure: s.AllowFailure,
				})
			}
		case hook.Kubernetes:
			for _, k := range b.Kubernetes {
				hb := HookBinding{Type: string(t), Name: k.BindingName, Queue: k.Queue, Group: k.Group, AllowFailure: k.AllowFailure}
				if k.Monitor != nil {
					hb.APIVersion, hb.Kind = k.Monitor.ApiVersion, k.Monitor.Kind
				}
				out.Bindings = append(out.Bindings, hb)
			}
		default:
			order := b.Orders[t]
			out.Bindings = append(out.Bindings, HookBinding{Type: string(t), Order: &order})
		}
	}
	return out
}

// String is the binding as a table shows it: "onStartup(10)",
// "kubernetes:pods(Pod, queue=hooks)", "schedule:every-minute(* * * * *)".
func (b HookBinding) String() string {
	var detail string
	switch {
	case b.Order != nil:
		return b.Type + "(" + strconv.FormatFloat(*b.Order, 'f', -1, 64) + ")"
	case b.Crontab != "":
		detail = b.Crontab
	default:
		detail = b.Kind
	}
	if b.Queue != "" && b.Queue != queue.MainQueue {
		detail += ", queue=" + b.Queue
	}
	if b.Group != "" {
		detail += ", group=" + b.Group
	}
	s := b.Type
	if b.Name != "" && b.Name != b.Type {
		s += ":" + b.Name
	}
	return s + "(" + detail + ")"
}

func releaseInfo(r updater.Release) Release {
	out := Release{
		Name: r.Name, Version: r.Version, Channel: r.Channel, Digest: r.Digest, Source: r.Source,
		Changelog: r.Changelog, Phase: string(r.Phase), Message: r.Message, Approved: r.Approved, Created: r.Created,
	}
	if !r.Transition.IsZero() {
		t := r.Transition
		out.LastTransition = &t
	}
	return out
}
