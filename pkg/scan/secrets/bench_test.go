package secrets

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkScanTree profiles the working-tree pass on a large real tree:
// SECRETS_BENCH_TREE, or by default syft v1.54.1's source from the module
// cache (the tree action-test/bench/scan.sh scans). Not run by CI; e.g.
//
//	go test -run '^$' -bench ScanTree -benchtime 1x -cpuprofile /tmp/cpu.out ./pkg/scan/secrets
func BenchmarkScanTree(b *testing.B) {
	tree := os.Getenv("SECRETS_BENCH_TREE")
	if tree == "" {
		out, err := exec.Command("go", "env", "GOMODCACHE").Output()
		if err != nil {
			b.Skip("no SECRETS_BENCH_TREE and no go env GOMODCACHE")
		}
		tree = filepath.Join(strings.TrimSpace(string(out)), "github.com", "anchore", "syft@v1.54.1")
	}
	if _, err := os.Stat(tree); err != nil {
		b.Skipf("benchmark tree: %v", err)
	}
	var bytes int64
	_ = filepath.WalkDir(tree, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				bytes += info.Size()
			}
		}
		return nil
	})
	b.SetBytes(bytes)
	b.ResetTimer()
	for range b.N {
		res, err := Scan(context.Background(), tree, Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(res.Findings)), "findings")
	}
}
