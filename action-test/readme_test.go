package actiontest

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/actions"
	"github.com/secure-gates/secure-gates/pkg/gha"
)

var update = flag.Bool("update", false, "rewrite the generated reference sections of the actions' READMEs")

const (
	refStart = "<!-- reference:start (generated from action.yml by `go test ./action-test -run TestActionReadmes -update`) -->"
	refEnd   = "<!-- reference:end -->"
)

// Reference renders an action's inputs and outputs as markdown tables.
func Reference(a *gha.Action) string {
	var b strings.Builder
	cell := func(s string) string { return gha.EscapeCell(strings.Join(strings.Fields(s), " ")) }
	b.WriteString("### Inputs\n\n| input | default | description |\n| --- | --- | --- |\n")
	for _, in := range a.Inputs {
		def := "`" + in.Default + "`"
		if in.Default == "" {
			def = ""
		}
		if in.Required {
			def = "required"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", in.Name, strings.ReplaceAll(def, "|", "\\|"), cell(in.Description))
	}
	b.WriteString("\n### Outputs\n\n| output | description |\n| --- | --- |\n")
	for _, o := range a.Outputs {
		fmt.Fprintf(&b, "| `%s` | %s |\n", o.Name, cell(o.Description))
	}
	return b.String()
}

// Every implemented action's README carries its inputs and outputs generated from
// action.yml, so the reference cannot drift from the metadata.
func TestActionReadmes(t *testing.T) {
	for _, g := range actions.All() {
		if g.Inputs == nil {
			continue
		}
		t.Run(g.Name, func(t *testing.T) {
			a, err := gha.ParseAction(g.ActionYAML)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(h.Root, "actions", g.Name, "README.md")
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("every implemented action needs a README: %v", err)
			}
			doc := string(data)
			i, j := strings.Index(doc, refStart), strings.Index(doc, refEnd)
			if i < 0 || j < i {
				t.Fatalf("%s lacks the generated reference markers", path)
			}
			want := doc[:i+len(refStart)] + "\n" + Reference(a) + doc[j:]
			if want == doc {
				return
			}
			if *update {
				if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			t.Errorf("%s is out of date with action.yml; run go test ./action-test -run TestActionReadmes -update", path)
		})
	}
}
