package secrets_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/secure-gates/secure-gates/pkg/scan/secrets"
)

func ExampleScan() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	// A made-up key in the shape of an AWS access key id, built so that no
	// credential-shaped string sits in this source file.
	key := "AKIA" + "QYLPMN5HHHFPZAM2"
	_ = os.WriteFile(filepath.Join(dir, "app.env"), []byte("AWS_ACCESS_KEY_ID="+key+"\n"), 0o644)

	res, err := secrets.Scan(context.Background(), dir, secrets.Options{})
	if err != nil {
		panic(err)
	}
	for _, f := range res.Findings {
		fmt.Println(f.RuleID, f.Path, f.StartLine, f.Severity)
	}
	// Output: aws-access-token app.env 1 critical
}
