package debug

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"sigs.k8s.io/yaml"
)

func moduleValuesPath(what string) func(args []string) string {
	return func(args []string) string { return "/v1/modules/" + url.PathEscape(args[0]) + "/" + what }
}

func fixedPath(p string) func([]string) string {
	return func([]string) string { return p }
}

// runValues prints a values document.
func runValues(path func(args []string) string) func(context.Context, *client, invocation) error {
	return func(ctx context.Context, c *client, inv invocation) error {
		body, err := c.get(ctx, path(inv.args), secretsQuery(inv))
		if err != nil {
			return err
		}
		return printDocument(inv.stdout, body, inv.format)
	}
}

func runModuleList(ctx context.Context, c *client, inv invocation) error {
	body, err := c.get(ctx, "/v1/modules", nil)
	if err != nil || inv.format != "table" {
		return printIf(err, inv, body)
	}
	var mods []ModuleStatus
	if err := json.Unmarshal(body, &mods); err != nil {
		return fmt.Errorf("decode modules: %w", err)
	}
	tab := newTable(inv.stdout, "NAME", "ENABLED", "PHASE", "REVISION", "LAST RUN", "MESSAGE")
	for _, m := range mods {
		rev, last := "-", "-"
		if m.Revision > 0 {
			rev = strconv.Itoa(m.Revision)
		}
		if m.LastRun != nil {
			last = age(inv.now.Sub(*m.LastRun)) + " ago"
		}
		tab.row(m.Name, strconv.FormatBool(m.Enabled), string(m.Phase), rev, last, oneLine(m.Message))
	}
	return tab.flush()
}

func runQueueList(ctx context.Context, c *client, inv invocation) error {
	body, err := c.get(ctx, "/v1/queues", nil)
	if err != nil || inv.format != "table" {
		return printIf(err, inv, body)
	}
	var queues []Queue
	if err := json.Unmarshal(body, &queues); err != nil {
		return fmt.Errorf("decode queues: %w", err)
	}
	tab := newTable(inv.stdout, "QUEUE", "ID", "KIND", "MODULE", "HOOK", "BINDING", "ATTEMPTS", "STATE", "LAST ERROR")
	for _, q := range queues {
		if len(q.Tasks) == 0 {
			tab.row(q.Name, "-", "-", "-", "-", "-", "-", "empty", "")
		}
		for _, t := range q.Tasks {
			state := "waiting"
			switch {
			case t.Running:
				state = "running"
			case t.RetryAt != nil:
				state = "retry in " + age(t.RetryAt.Sub(inv.now))
			}
			tab.row(q.Name, strconv.FormatUint(t.ID, 10), t.Kind, dash(t.Attrs["module"]), dash(t.Attrs["hook"]), dash(t.Attrs["binding"]),
				strconv.Itoa(t.Attempts), state, oneLine(t.LastError))
		}
	}
	return tab.flush()
}

func runHookList(ctx context.Context, c *client, inv invocation) error {
	body, err := c.get(ctx, "/v1/hooks", nil)
	if err != nil || inv.format != "table" {
		return printIf(err, inv, body)
	}
	var hooks []Hook
	if err := json.Unmarshal(body, &hooks); err != nil {
		return fmt.Errorf("decode hooks: %w", err)
	}
	tab := newTable(inv.stdout, "HOOK", "MODULE", "BINDINGS")
	for _, h := range hooks {
		module := h.Module
		if module == "" {
			module = "(global)"
		}
		bindings := make([]string, 0, len(h.Bindings))
		for _, b := range h.Bindings {
			bindings = append(bindings, b.String())
		}
		tab.row(h.Name, module, strings.Join(bindings, ", "))
	}
	return tab.flush()
}

func runRender(ctx context.Context, c *client, inv invocation) error {
	q := secretsQuery(inv)
	if inv.diff {
		q.Set(paramDiff, "true")
	}
	var res RenderResult
	if err := c.doJSON(ctx, http.MethodGet, moduleValuesPath("render")(inv.args), q, &res); err != nil {
		return err
	}
	if !inv.diff {
		_, err := io.WriteString(inv.stdout, withNewline(res.Manifest))
		return err
	}
	if res.Diff == "" {
		against := "no release exists and the chart renders nothing"
		if res.Deployed != nil {
			against = fmt.Sprintf("the rendered manifest equals revision %d of the release", res.Deployed.Revision)
		}
		fmt.Fprintf(inv.stderr, "no changes: %s\n", against)
		return nil
	}
	_, err := io.WriteString(inv.stdout, res.Diff)
	return err
}

// printIf prints body as a document unless err.
func printIf(err error, inv invocation, body []byte) error {
	if err != nil {
		return err
	}
	return printDocument(inv.stdout, body, inv.format)
}

// printDocument prints a JSON answer as indented JSON or as YAML.
func printDocument(w io.Writer, body []byte, format string) error {
	var out []byte
	switch format {
	case "json":
		var b bytes.Buffer
		if err := json.Indent(&b, bytes.TrimSpace(body), "", "  "); err != nil {
			return fmt.Errorf("decode answer: %w", err)
		}
		out = append(b.Bytes(), '\n')
	default:
		y, err := yaml.JSONToYAML(body)
		if err != nil {
			return fmt.Errorf("decode answer: %w", err)
		}
		out = y
	}
	_, err := w.Write(out)
	return err
}

// table writes aligned columns without trailing blanks.
type table struct {
	out io.Writer
	buf bytes.Buffer
	tw  *tabwriter.Writer
}

func newTable(out io.Writer, header ...string) *table {
	t := &table{out: out}
	t.tw = tabwriter.NewWriter(&t.buf, 0, 0, 2, ' ', 0)
	t.row(header...)
	return t
}

func (t *table) row(cells ...string) {
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

func (t *table) flush() error {
	if err := t.tw.Flush(); err != nil {
		return err
	}
	var b strings.Builder
	for line := range strings.Lines(t.buf.String()) {
		b.WriteString(strings.TrimRight(line, " \n"))
		b.WriteByte('\n')
	}
	_, err := io.WriteString(t.out, b.String())
	return err
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func withNewline(s string) string {
	if s == "" || strings.HasSuffix(s, "\n") {
		return s
	}
	return s + "\n"
}

// age formats a duration the way kubectl shows ages: 45s, 5m, 3h, 2d.
func age(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < 2*time.Minute:
		return strconv.Itoa(int(d/time.Second)) + "s"
	case d < 2*time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	default:
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	}
}
