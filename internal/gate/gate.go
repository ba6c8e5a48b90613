// Package gate is the frame every gate runs in. A gate is a declaration plus one
// function (Define): the frame collects its inputs from INPUT_* variables or
// --flags through one code path (gha.CollectInputs), decodes them into the gate's
// typed Inputs (option sets from pkg/ embedded), masks the secret ones, bounds
// the run by its timeout, validates every input before any work, calls the
// function with a Run (log, workspace, event, GitHub client), writes the summary,
// annotations and typed Outputs it returns (checked against action.yml by
// Gate.Check), and turns its error into the documented exit code (App.Main).
package gate

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/gha"
	"github.com/secure-gates/secure-gates/pkg/netretry"
)

// Gate is one subcommand of the secure-gates binary, backed by an action. Make
// one with Define.
type Gate struct {
	// Name is the subcommand and the action's folder under actions/.
	Name string
	// ActionYAML is the gate's action.yml, embedded by its package.
	ActionYAML []byte
	// Positional names the input a lone positional argument fills ("" for none).
	Positional string
	// Run does the gate's work. raw holds every input declared in action.yml.
	Run func(ctx context.Context, rt *gha.Runtime, raw gha.RawInputs) error
	// Inputs is the zero value of the struct the gate decodes its inputs into
	// (gha.Decode tags). Check compares its tags with action.yml.
	Inputs any
	// Outputs is the zero value of the struct the gate returns its outputs in
	// (gha.Outputs tags). Check compares its tags with action.yml.
	Outputs any
}

// Command is a subcommand that is not an action (e.g. a helper like `policy`).
type Command struct {
	Name    string
	Summary string
	Run     func(ctx context.Context, rt *gha.Runtime, args []string) error
}

// App is the binary: its gates, other commands and version.
type App struct {
	Gates    []Gate
	Commands []Command
	Version  string
	// Stderr receives usage text and errors of a local run.
	Stderr io.Writer
}

// Main runs the subcommand named by args[0] and returns the exit code:
// 0 pass, 1 gate failed by policy, 2 usage or input error, 3 infrastructure error.
func (app *App) Main(ctx context.Context, rt *gha.Runtime, args []string) int {
	stderr := app.Stderr
	if stderr == nil {
		stderr = io.Discard
	}
	if len(args) == 0 {
		app.usage(stderr)
		return errkind.ExitInput
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "--help":
		if len(rest) > 0 {
			if g, ok := app.gate(rest[0]); ok {
				return app.gateHelp(rt.Stdout(), g)
			}
		}
		app.usage(rt.Stdout())
		return errkind.ExitPass
	case "version", "--version":
		fmt.Fprintf(rt.Stdout(), "secure-gates %s\n", app.Version)
		return errkind.ExitPass
	}
	for _, c := range app.Commands {
		if c.Name == name {
			return app.finish(rt, stderr, name, c.Run(ctx, rt, rest))
		}
	}
	g, ok := app.gate(name)
	if !ok {
		fmt.Fprintf(stderr, "secure-gates: unknown command %q\n\n", name)
		app.usage(stderr)
		return errkind.ExitInput
	}
	a, err := gha.ParseAction(g.ActionYAML)
	if err != nil {
		return app.finish(rt, stderr, name, fmt.Errorf("reading the %s action's metadata: %w", name, err))
	}
	raw, err := rt.CollectInputs(a, rest, g.Positional)
	if errors.Is(err, flag.ErrHelp) {
		return app.gateHelp(rt.Stdout(), g)
	}
	if err != nil {
		return app.finish(rt, stderr, name, errkind.Input(err))
	}
	err = g.Run(ctx, rt, raw)
	if !rt.InActions() {
		for _, kv := range rt.LocalOutputs() {
			for _, line := range strings.Split(kv.Name+": "+kv.Value, "\n") {
				fmt.Fprintln(rt.Stdout(), gha.SafeLine(line))
			}
		}
	}
	return app.finish(rt, stderr, name, err)
}

func (app *App) gate(name string) (Gate, bool) {
	i := slices.IndexFunc(app.Gates, func(g Gate) bool { return g.Name == name })
	if i < 0 {
		return Gate{}, false
	}
	return app.Gates[i], true
}

// finish reports err the way the run's context expects: an error annotation on a
// runner, a plain line on a laptop; and returns the exit code.
func (app *App) finish(rt *gha.Runtime, stderr io.Writer, name string, err error) int {
	code := errkind.ExitCode(err)
	if err == nil {
		return code
	}
	msg := rt.Redact(err.Error())
	title := fmt.Sprintf("secure-gates %s: %s", name, exitTitle(code))
	if rt.InActions() {
		rt.Annotate(gha.Annotation{Level: gha.LevelError, Title: title, Message: msg})
	} else {
		// The message may quote inputs (file names, SARIF, registry answers).
		for _, line := range strings.Split(title+": "+msg, "\n") {
			fmt.Fprintln(stderr, gha.SafeLine(line))
		}
	}
	return code
}

func exitTitle(code int) string {
	switch code {
	case errkind.ExitPolicy:
		return "failed by policy"
	case errkind.ExitInput:
		return "input error"
	default:
		return "infrastructure error"
	}
}

func (app *App) usage(w io.Writer) {
	fmt.Fprintf(w, "secure-gates %s: the five-gate secure delivery pipeline\n\n", app.Version)
	fmt.Fprintln(w, "Usage: secure-gates <command> [--input-name value ...]")
	fmt.Fprintln(w, "\nGates (each is also a GitHub Action under actions/<gate>):")
	for _, g := range app.Gates {
		desc := ""
		if a, err := gha.ParseAction(g.ActionYAML); err == nil {
			desc = a.Description
		}
		fmt.Fprintf(w, "  %-18s %s\n", g.Name, firstLine(desc))
	}
	fmt.Fprintln(w, "\nOther commands:")
	for _, c := range app.Commands {
		fmt.Fprintf(w, "  %-18s %s\n", c.Name, c.Summary)
	}
	fmt.Fprintf(w, "  %-18s %s\n  %-18s %s\n", "version", "print the version", "help [gate]", "this text, or a gate's inputs")
	fmt.Fprintln(w, "\nInputs come from --<input-name> flags, or from INPUT_<NAME> variables when run as an action.")
	fmt.Fprintln(w, "Exit codes: 0 pass, 1 failed by policy, 2 usage or input error, 3 infrastructure error.")
}

func (app *App) gateHelp(w io.Writer, g Gate) int {
	a, err := gha.ParseAction(g.ActionYAML)
	if err != nil {
		fmt.Fprintf(w, "reading %s's action.yml: %v\n", g.Name, err)
		return errkind.ExitInfra
	}
	fmt.Fprintf(w, "secure-gates %s: %s\n\n", g.Name, firstLine(a.Description))
	if g.Positional != "" {
		fmt.Fprintf(w, "Usage: secure-gates %s [flags] [%s]\n\nInputs:\n", g.Name, g.Positional)
	} else {
		fmt.Fprintf(w, "Usage: secure-gates %s [flags]\n\nInputs:\n", g.Name)
	}
	for _, in := range a.Inputs {
		def := ""
		if in.HasDefault && in.Default != "" {
			def = fmt.Sprintf(" (default %q)", in.Default)
		}
		if in.Required {
			def += " (required)"
		}
		fmt.Fprintf(w, "  --%s%s\n      %s\n", in.Name, def, strings.Join(strings.Fields(in.Description), " "))
	}
	if len(a.Outputs) > 0 {
		fmt.Fprintln(w, "\nOutputs:")
		for _, o := range a.Outputs {
			fmt.Fprintf(w, "  %s: %s\n", o.Name, strings.Join(strings.Fields(o.Description), " "))
		}
	}
	return errkind.ExitPass
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// WithTimeout bounds a gate's run by its timeout input: every network call the
// gate makes ends by then, and one cut by it says "no answer within the <d>
// timeout" (pkg/netretry). A timeout of zero or less, or over MaxTimeout, is
// an input error: a gate that talks to the network never waits without bound.
func WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc, error) {
	if err := CheckTimeout(d); err != nil {
		return ctx, func() {}, err
	}
	ctx, cancel := netretry.WithTimeout(ctx, d)
	return ctx, cancel, nil
}

// MaxTimeout bounds every timeout input: GitHub ends a job after 6 hours, so a
// longer timeout would never apply and hides a typo (999999h).
const MaxTimeout = 6 * time.Hour

// CheckTimeout refuses a timeout input of zero or less, or over MaxTimeout
// (exit 2).
func CheckTimeout(d time.Duration) error {
	return CheckDuration("timeout", d, false)
}

// CheckDuration refuses a duration input named name over MaxTimeout, or below
// zero, or zero unless zeroOK (exit 2).
func CheckDuration(name string, d time.Duration, zeroOK bool) error {
	switch {
	case d < 0 || (d == 0 && !zeroOK):
		return errkind.Input(fmt.Errorf("%s is %s: give a positive Go duration such as 10m or 90s", name, d))
	case d > MaxTimeout:
		return errkind.Input(fmt.Errorf("%s is %s, over the %s bound (GitHub's job limit): give at most 6h", name, d, MaxTimeout))
	}
	return nil
}
