package actiontest

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/actions"
	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/gha"
	"github.com/secure-gates/secure-gates/pkg/policy"
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
	t.Parallel()
	eachGate(t, func(t *testing.T, g gate.Gate, a *gha.Action) {
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

const (
	rootRefStart = "<!-- actions:start (generated from action.yml by `go test ./action-test -run TestRootReadme -update`) -->"
	rootRefEnd   = "<!-- actions:end -->"
)

// RootReference renders every action's inputs and outputs for the repository
// README: one compact section per action, its defaults and outputs.
func RootReference(gates []gate.Gate) (string, error) {
	var b strings.Builder
	for _, g := range gates {
		a, err := gha.ParseAction(g.ActionYAML)
		if err != nil {
			return "", err
		}
		desc := strings.Join(strings.Fields(a.Description), " ")
		fmt.Fprintf(&b, "\n#### [`%s`](actions/%s/README.md)\n\n%s\n\n", g.Name, g.Name, gha.EscapeMarkdown(desc))
		var ins []string
		for _, in := range a.Inputs {
			s := "`" + in.Name + "`"
			switch {
			case in.Required:
				s += " (required)"
			case in.Default != "":
				s += " = `" + strings.ReplaceAll(in.Default, "|", "\\|") + "`"
			}
			ins = append(ins, s)
		}
		var outs []string
		for _, o := range a.Outputs {
			outs = append(outs, "`"+o.Name+"`")
		}
		fmt.Fprintf(&b, "- inputs: %s\n", strings.Join(ins, ", "))
		if len(outs) > 0 {
			fmt.Fprintf(&b, "- outputs: %s\n", strings.Join(outs, ", "))
		}
	}
	return b.String(), nil
}

// The repository README carries every action's inputs and outputs generated from
// action.yml (so they cannot drift), and its policy reference names every field
// of the policy schema.
func TestRootReadme(t *testing.T) {
	t.Parallel()
	path := filepath.Join(h.Root, "README.md")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	i, j := strings.Index(doc, rootRefStart), strings.Index(doc, rootRefEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the generated reference markers")
	}
	ref, err := RootReference(actions.All())
	if err != nil {
		t.Fatal(err)
	}
	want := doc[:i+len(rootRefStart)] + "\n" + ref + doc[j:]
	if want != doc {
		if !*update {
			t.Errorf("README.md is out of date with the action.yml files; run go test ./action-test -run TestRootReadme -update")
		} else if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	start := strings.Index(doc, "## Policy file reference")
	end := strings.Index(doc[start+1:], "\n## ")
	if start < 0 || end < 0 {
		t.Fatal("README.md has no policy file reference section")
	}
	section := doc[start : start+1+end]
	for _, typ := range []reflect.Type{reflect.TypeFor[policy.Policy](), reflect.TypeFor[policy.Identity](), reflect.TypeFor[policy.Requirement](),
		reflect.TypeFor[policy.Deny](), reflect.TypeFor[policy.Signers](), reflect.TypeFor[policy.BreakGlass]()} {
		for f := range typ.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" {
				continue
			}
			if !strings.Contains(section, "`"+name+"`") && !strings.Contains(section, "`"+name+".") && !strings.Contains(section, "."+name+"`") {
				t.Errorf("the README's policy reference does not document %s.%s (`%s`)", typ.Name(), f.Name, name)
			}
		}
	}
	for _, p := range attestation.PredicateTypes() {
		if !strings.Contains(section, "`"+p.Name+"`") {
			t.Errorf("the README's policy reference does not list the type %s", p.Name)
		}
	}
}
