package sbom

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/pkg/gha"
)

// BenchmarkGateImage runs the gate the way action-test/bench/sbom.sh times it (two
// formats and the vulnerability scan of a registry image with a full-size DB),
// for profiling:
//
//	SECURE_GATES_BENCH_IMAGE=127.0.0.1:PORT/bench/app:v1 SECURE_GATES_BENCH_DB=<tools>/bench-db@… \
//	  go test ./actions/sbom -run '^$' -bench GateImage -benchtime 3x -cpuprofile cpu.out
//
// It is skipped unless both variables are set; speed is measured by the script,
// not asserted here.
func BenchmarkGateImage(b *testing.B) {
	img, db := os.Getenv("SECURE_GATES_BENCH_IMAGE"), os.Getenv("SECURE_GATES_BENCH_DB")
	if img == "" || db == "" {
		b.Skip("set SECURE_GATES_BENCH_IMAGE and SECURE_GATES_BENCH_DB (see action-test/bench/sbom.sh)")
	}
	app := &gate.App{Gates: []gate.Gate{Gate}}
	out := filepath.Join(b.TempDir(), "out")
	for b.Loop() {
		rt := gha.New(gha.Options{})
		code := app.Main(context.Background(), rt, []string{"sbom", "--image", img, "--db-dir", db, "--max-db-age", "1000000h",
			"--output-dir", out, "--upload-sarif", "false", "--severity-cutoff", "critical"})
		if code != 0 && code != 1 {
			b.Fatalf("exit code %d", code)
		}
	}
}
