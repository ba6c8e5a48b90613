package vulndb_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/anchore/syft/syft"

	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/vulndb"
)

// A gate loads the DB under its outage policy, matches the SBOM it already
// cataloged, and gates on the findings.
func Example() {
	ctx := context.Background()
	policy, _ := vulndb.ParseOutagePolicy("continue")
	db, outage, err := vulndb.LoadWithPolicy(ctx, vulndb.Options{CacheDir: filepath.Join(os.TempDir(), "vulndb-example-cache"), UpdateURL: "http://127.0.0.1:1/latest.json"}, policy)
	if err != nil {
		fmt.Println("fail:", err)
		return
	}
	if outage != nil {
		// No DB: the dependency scanner did not run, and the gate says so.
		fmt.Println("outage:", outage.Scanner, outage.Policy)
		return
	}
	defer db.Close()
	src, _ := syft.GetSource(ctx, ".", syft.DefaultGetSourceConfig())
	s, _ := syft.CreateSBOM(ctx, src, syft.DefaultCreateSBOMConfig())
	r, _ := db.Match(ctx, s, vulndb.MatchOptions{Root: "."})
	fmt.Println(len(finding.Gate(r.Findings, finding.High, true)), "findings fail the gate")
	// Output: outage: deps continue
}
