package catalog_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/secure-gates/secure-gates/pkg/catalog"
)

// Catalog a directory with a Python requirements file, within limits.
func ExampleDirectory() {
	dir, _ := os.MkdirTemp("", "example-")
	defer os.RemoveAll(dir)
	_ = os.WriteFile(filepath.Join(dir, "requirements.txt"), []byte("flask==2.0.0\nrequests==2.31.0\n"), 0o644)

	res, err := catalog.Directory(context.Background(), dir, catalog.Options{MaxFiles: 1000, Name: "example"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.SBOM.Source.Name, res.Packages)
	for _, p := range res.SBOM.Artifacts.Packages.Sorted() {
		fmt.Println(p.Type, p.Name, p.Version)
	}
	// Output:
	// example 2
	// python flask 2.0.0
	// python requests 2.31.0
}
