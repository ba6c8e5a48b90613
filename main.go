// Command secure-gates is the one binary behind every secure-gates action:
// `secure-gates <gate> [--input value ...]`. It only dispatches; the gates live in
// actions/<gate> and the logic in pkg/.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/secure-gates/secure-gates/actions"
	"github.com/secure-gates/secure-gates/internal/evidencecmd"
	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/internal/pipeline"
	"github.com/secure-gates/secure-gates/internal/policycmd"
	"github.com/secure-gates/secure-gates/internal/release"
	"github.com/secure-gates/secure-gates/pkg/gha"
)

// version is set at release time with -ldflags "-X main.version=v1.2.3".
var version = ""

// App is the binary's command table; tests use it to find every gate.
func App() *gate.App {
	gates := actions.All()
	v := buildVersion()
	return &gate.App{
		Gates:    gates,
		Commands: []gate.Command{pipeline.Command(gates), policycmd.Command, release.Command, evidencecmd.Command(v)},
		Version:  v,
		Stderr:   os.Stderr,
	}
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// gcPercent is the garbage collector's target when GOGC is not set: a gate is
// one short-lived process that catalogs, matches and writes documents in a few
// seconds, where Go's default (100) spends about a tenth of its CPU collecting.
// 200 trades that for a larger heap (on the sbom benchmark image, about 0.86 GB
// peak instead of 0.75 GB); GOGC in the environment still decides.
const gcPercent = 200

func main() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := App().Main(ctx, gha.FromOS(), os.Args[1:])
	stop()
	os.Exit(code)
}
