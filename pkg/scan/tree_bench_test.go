package scan

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/pkg/scan/license"
)

// BenchmarkRunTree runs the scanners action-test/bench/scan.sh times (secrets,
// deps, license) on a large tree with a full-size DB, for profiling:
//
//	SECURE_GATES_BENCH_TREE=/tmp/tree SECURE_GATES_BENCH_DB=<tools>/bench-db@… \
//	  go test ./pkg/scan -run '^$' -bench RunTree -benchtime 1x -cpuprofile cpu.out
//
// It is skipped unless both variables are set; speed is measured by the script,
// not asserted here.
func BenchmarkRunTree(b *testing.B) {
	tree, db := os.Getenv("SECURE_GATES_BENCH_TREE"), os.Getenv("SECURE_GATES_BENCH_DB")
	if tree == "" || db == "" {
		b.Skip("set SECURE_GATES_BENCH_TREE and SECURE_GATES_BENCH_DB (see action-test/bench/scan.sh)")
	}
	for b.Loop() {
		res, err := Run(context.Background(), Options{
			Root:     tree,
			Scanners: []string{Secrets, Deps, License},
			License:  license.Options{Unknown: license.UnknownWarn},
			Deps:     DepsOptions{DBDir: db, MaxAge: 1_000_000 * time.Hour},
		})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.Packages), "packages")
		b.ReportMetric(float64(len(res.Findings)), "findings")
	}
}
