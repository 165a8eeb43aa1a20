package debug

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/seedops/addon-operator/pkg/updater"
)

// Exit codes of RunCLI.
const (
	// ExitOK: the command printed its answer.
	ExitOK = 0
	// ExitFailed: the operator answered with an error (unknown module or
	// release, not the leader, a chart that does not render, a release
	// that is not Pending).
	ExitFailed = 1
	// ExitUsage: bad usage, or no operator answered on the socket.
	ExitUsage = 2
)

// command is one CLI command; new commands are new entries of commands().
type command struct {
	group, name string
	// args names the positional arguments, all required.
	args    []string
	summary string
	// formats are the -o values, the default first; nil means no -o.
	formats []string
	// secrets, diff and reason say whether --show-secrets, --diff and
	// --reason apply.
	secrets, diff, reason bool
	run                   func(ctx context.Context, c *client, inv invocation) error
}

// invocation is a parsed command line.
type invocation struct {
	args           []string
	format         string
	showSecrets    bool
	diff           bool
	reason         string
	now            time.Time
	stdout, stderr io.Writer
}

var (
	tableFormats = []string{"table", "json", "yaml"}
	valueFormats = []string{"yaml", "json"}
)

func commands() []command {
	nameArg := []string{"NAME"}
	return []command{
		{group: "module", name: "list", summary: "modules with enabled, phase, Helm revision, last run and last error", formats: tableFormats, run: runModuleList},
		{group: "module", name: "values", args: nameArg, summary: "the effective values {global, <valuesKey>} the module's hooks and chart see", formats: valueFormats, secrets: true, run: runValues(moduleValuesPath("values"))},
		{group: "module", name: "config", args: nameArg, summary: "the config values {global, <valuesKey>} from the ConfigMap and its Secret", formats: valueFormats, secrets: true, run: runValues(moduleValuesPath("config"))},
		{group: "module", name: "drift", args: nameArg, summary: "objects of the release changed away from its deployed revision and left so (policy Warn)", formats: []string{"diff", "json", "yaml"}, run: runDrift},
		{group: "module", name: "render", args: nameArg, summary: "the manifests Helm would apply with the current values, without applying them", secrets: true, diff: true, run: runRender},
		{group: "global", name: "values", summary: "the effective global values", formats: valueFormats, secrets: true, run: runValues(fixedPath("/v1/global/values"))},
		{group: "global", name: "config", summary: "the global config values from the ConfigMap and its Secret", formats: valueFormats, secrets: true, run: runValues(fixedPath("/v1/global/config"))},
		{group: "queue", name: "list", summary: "queues with their tasks: kind, module, hook, binding, attempts, state, last error", formats: tableFormats, run: runQueueList},
		{group: "hook", name: "list", summary: "global and module hooks with their bindings", formats: tableFormats, run: runHookList},
		{group: "release", name: "list", summary: "the release channel's releases of this operator: version, channel, phase, age, message", formats: tableFormats, run: runReleaseList},
		{group: "release", name: "approve", args: []string{"VERSION"}, summary: "approve the Pending release of VERSION (Manual update mode); the operator applies it at once and records who approved", reason: true, run: runReleaseApprove},
	}
}

// IsCommand reports whether arg (the first command-line argument) names a
// CLI command group ("module", "global", "queue", "hook", "release"), which RunCLI
// handles, rather than the start of the operator's own flags.
func IsCommand(arg string) bool {
	return slices.ContainsFunc(commands(), func(c command) bool { return c.group == arg })
}

// RunCLI runs a CLI command against the operator's debug socket and returns
// the process exit code (ExitOK, ExitFailed, ExitUsage). args start with the
// command group: {"module", "values", "echo", "-o", "json"}. Flags may come
// before or after the positional arguments; every command takes
// --debug-socket (default DefaultSocket). The answer goes to stdout; errors
// and usage to stderr, in one line when the operator is not reachable.
func RunCLI(args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 || !IsCommand(args[0]) {
		writeUsage(stderr, cmds, "")
		return ExitUsage
	}
	group := args[0]
	if len(args) < 2 {
		fmt.Fprintf(stderr, "error: %q needs a command\n\n", group)
		writeUsage(stderr, cmds, group)
		return ExitUsage
	}
	switch args[1] {
	case "-h", "-help", "--help", "help":
		writeUsage(stdout, cmds, group)
		return ExitOK
	}
	i := slices.IndexFunc(cmds, func(c command) bool { return c.group == group && c.name == args[1] })
	if i < 0 {
		fmt.Fprintf(stderr, "error: unknown command %q\n\n", group+" "+args[1])
		writeUsage(stderr, cmds, group)
		return ExitUsage
	}
	cmd := cmds[i]
	inv := invocation{now: time.Now(), stdout: stdout, stderr: stderr}
	socket, code, ok := parseCommand(cmd, args[2:], &inv)
	if !ok {
		return code
	}
	err := cmd.run(context.Background(), newClient(socket), inv)
	var (
		ue *unreachableError
		re *remoteError
	)
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, ue.Error())
		return ExitUsage
	case errors.As(err, &re):
		fmt.Fprintln(stderr, "error: "+oneLine(re.Error()))
		return ExitFailed
	default:
		fmt.Fprintln(stderr, "error: "+oneLine(err.Error()))
		return ExitFailed
	}
}

// parseCommand parses the flags and arguments of cmd into inv and returns
// the socket. When ok is false the caller exits with code (usage or help
// already printed).
func parseCommand(cmd command, args []string, inv *invocation) (socket string, code int, ok bool) {
	fs := flag.NewFlagSet("addon-operator "+cmd.group+" "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(inv.stderr)
	var cfg Config
	cfg.BindFlags(fs)
	if cmd.formats != nil {
		help := "output format: " + strings.Join(cmd.formats, ", ")
		fs.StringVar(&inv.format, "o", cmd.formats[0], help)
		fs.StringVar(&inv.format, "output", cmd.formats[0], help)
	}
	if cmd.secrets {
		fs.BoolVar(&inv.showSecrets, "show-secrets", false, "show x-secret values instead of "+Mask)
	}
	if cmd.diff {
		fs.BoolVar(&inv.diff, "diff", false, "print a unified diff against the deployed release's manifest instead of the manifest")
	}
	if cmd.reason {
		fs.StringVar(&inv.reason, "reason", "", "why, recorded on the release with who approved (the operator's audit log and the "+updater.AnnotationApprovalReason+" annotation)")
	}
	fs.Usage = func() { writeCommandUsage(fs.Output(), cmd, fs) }

	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return "", ExitOK, false
	}
	if err != nil {
		return "", ExitUsage, false
	}
	usageErr := func(format string, a ...any) (string, int, bool) {
		fmt.Fprintf(inv.stderr, "error: "+format+"\n\n", a...)
		fs.Usage()
		return "", ExitUsage, false
	}
	switch {
	case len(pos) < len(cmd.args):
		return usageErr("%s %s needs %s", cmd.group, cmd.name, strings.Join(cmd.args[len(pos):], " "))
	case len(pos) > len(cmd.args):
		return usageErr("unexpected argument %q", pos[len(cmd.args)])
	case cmd.formats != nil && !slices.Contains(cmd.formats, inv.format):
		return usageErr("output format %q: want %s", inv.format, strings.Join(cmd.formats, ", "))
	case cfg.Socket == "":
		return usageErr("--debug-socket is empty")
	}
	inv.args = pos
	return cfg.Socket, ExitOK, true
}

// parseInterspersed parses flags wherever they are among the arguments
// ("module values echo -o json") and returns the positional arguments.
// Everything after "--" is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func writeUsage(w io.Writer, cmds []command, group string) {
	fmt.Fprintf(w, "Usage: addon-operator COMMAND [flags]\n\nCommands that inspect the running operator, or approve its releases, through its debug socket:\n")
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	for _, c := range cmds {
		if group == "" || c.group == group {
			fmt.Fprintf(tw, "  %s\t%s\n", commandLine(c), c.summary)
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "\nEvery command takes --debug-socket PATH (env %s, default %s).\n", SocketEnv, DefaultSocket())
	fmt.Fprintf(w, "Run \"addon-operator COMMAND -h\" for a command's flags. Without a command, addon-operator runs the operator.\n")
}

func writeCommandUsage(w io.Writer, cmd command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: addon-operator %s [flags]\n\n%s.\n\nFlags:\n", commandLine(cmd), upperFirst(cmd.summary))
	fs.PrintDefaults()
}

func commandLine(c command) string {
	s := c.group + " " + c.name
	if len(c.args) > 0 {
		s += " " + strings.Join(c.args, " ")
	}
	if c.formats != nil {
		s += " [-o " + strings.Join(c.formats, "|") + "]"
	}
	if c.diff {
		s += " [--diff]"
	}
	if c.secrets {
		s += " [--show-secrets]"
	}
	return s
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// oneLine folds whitespace runs (newlines, tabs) into single spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// secretsQuery asks for secrets when the caller did.
func secretsQuery(inv invocation) url.Values {
	q := url.Values{}
	if inv.showSecrets {
		q.Set(paramShowSecrets, "true")
	}
	return q
}
