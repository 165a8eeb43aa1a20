// Command addon-operator keeps a cluster's add-on modules installed,
// configured and up to date. See README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/seedops/addon-operator/pkg/bundle"
	"github.com/seedops/addon-operator/pkg/debug"
	"github.com/seedops/addon-operator/pkg/operator"
	"github.com/seedops/addon-operator/pkg/shacrypt"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// run maps the command line to the operator (or to `bundle push|pull|ls`,
// or to a debug CLI command: module, global, queue, hook, release)
// and its outcome to an exit code: 0 after a clean stop, 1 on failure, 2 on
// bad usage.
func run(args []string) int {
	if len(args) > 0 && args[0] == "bundle" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return bundle.Command(ctx, args[1:], os.Stdout, os.Stderr)
	}
	if len(args) > 0 && debug.IsCommand(args[0]) {
		return debug.RunCLI(args, os.Stdout, os.Stderr)
	}
	// Hidden: a helper for the shipped hooks (they find this binary through
	// ADDON_OPERATOR_BIN), not a command users type.
	if len(args) > 0 && args[0] == shacrypt.CommandName {
		return shacrypt.Command(args[1:], os.Stdin, os.Stdout, os.Stderr)
	}
	if len(args) > 0 && args[0] == "start" {
		args = args[1:]
	}
	fs := flag.NewFlagSet("addon-operator", flag.ContinueOnError)
	var cfg operator.Config
	cfg.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "addon-operator: unknown command or argument %q (commands: start, bundle, module, global, queue, hook, release)\n", fs.Arg(0))
		return 2
	}
	log, err := operator.NewLogger(os.Stderr, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		fmt.Fprintln(os.Stderr, "addon-operator:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := operator.Run(ctx, cfg, log); err != nil {
		log.Error("operator stopped", "error", err)
		return 1
	}
	return 0
}
