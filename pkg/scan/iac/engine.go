package iac

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/finding"
)

//go:embed policies/*.rego
var bundledFS embed.FS

// bundledRoot is the package namespace of the bundled policies; user policies
// may not declare packages inside it (they could otherwise redefine bundled
// rules).
const bundledRoot = "data.secure_gates"

// maxUserPolicyBytes bounds one user .rego file.
const maxUserPolicyBytes = 1 << 20

// ruleMeta is a rule's metadata as policies declare it in their `rules` object.
type ruleMeta struct {
	Severity    string `json:"severity"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Remediation string `json:"remediation"`
	HelpURI     string `json:"help_uri"`
}

// policyPackage is one Rego package that defines deny.
type policyPackage struct {
	path  string // data.x.y
	user  bool
	query rego.PreparedEvalQuery
	rules map[string]ruleMeta
}

// engine is a compiled policy set.
type engine struct {
	packages []policyPackage
}

// violation is one element of a deny set.
type violation struct {
	ID       string `json:"id"`
	Msg      string `json:"msg"`
	Loc      []any  `json:"loc"`
	Line     int    `json:"line"`
	Severity string `json:"severity"`
	// Match is text the finding's line should contain: the line is moved
	// from the resolved one to the first line at or after it containing
	// Match (a line inside a multi-line script).
	Match string `json:"match"`
}

var (
	bundledOnce    sync.Once
	bundledModules map[string]*ast.Module
	bundledErr     error
)

func bundledPolicyModules() (map[string]*ast.Module, error) {
	bundledOnce.Do(func() {
		bundledModules = map[string]*ast.Module{}
		entries, err := fs.Glob(bundledFS, "policies/*.rego")
		if err != nil {
			bundledErr = err
			return
		}
		for _, name := range entries {
			src, err := bundledFS.ReadFile(name)
			if err != nil {
				bundledErr = err
				return
			}
			m, err := ast.ParseModuleWithOpts("bundled/"+name, string(src), ast.ParserOptions{RegoVersion: ast.RegoV1})
			if err != nil {
				bundledErr = fmt.Errorf("parsing bundled policy %s: %w", name, err)
				return
			}
			bundledModules["bundled/"+name] = m
		}
	})
	return bundledModules, bundledErr
}

// loadUserPolicies parses every .rego file under dir (recursively; files
// ending in _test.rego are skipped).
func loadUserPolicies(dir string) (map[string]*ast.Module, error) {
	mods := map[string]*ast.Module{}
	info, err := os.Stat(dir)
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("iac-policies %q: %w", dir, err))
	}
	if !info.IsDir() {
		return nil, errkind.Input(fmt.Errorf("iac-policies %q: expected a directory of .rego files", dir))
	}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(d.Name(), ".rego") || strings.HasSuffix(d.Name(), "_test.rego") || !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Size() > maxUserPolicyBytes {
			return errkind.Input(fmt.Errorf("policy %s: %d bytes, more than the %d allowed", path, fi.Size(), maxUserPolicyBytes))
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		m, err := ast.ParseModuleWithOpts(path, string(src), ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			return errkind.Input(fmt.Errorf("parsing policy %s (Rego v1 syntax expected): %w", path, err))
		}
		if p := m.Package.Path.String(); p == bundledRoot || strings.HasPrefix(p, bundledRoot+".") {
			return errkind.Input(fmt.Errorf("policy %s: package %s is inside the bundled namespace %s; use another package (for example package custom.%s)",
				path, strings.TrimPrefix(p, "data."), strings.TrimPrefix(bundledRoot, "data."), strings.TrimSuffix(d.Name(), ".rego")))
		}
		mods[path] = m
		return nil
	})
	if err != nil {
		if errkind.Of(err) == errkind.KindUnknown {
			err = errkind.Input(err)
		}
		return nil, fmt.Errorf("loading iac-policies from %s: %w", dir, err)
	}
	if len(mods) == 0 {
		return nil, errkind.Input(fmt.Errorf("iac-policies %q: no .rego files found", dir))
	}
	return mods, nil
}

// newEngine compiles the bundled policies and the user ones in extraDir.
func newEngine(ctx context.Context, extraDir string) (*engine, error) {
	bundled, err := bundledPolicyModules()
	if err != nil {
		return nil, errkind.Infra(err)
	}
	mods := map[string]*ast.Module{}
	for k, m := range bundled {
		mods[k] = m.Copy()
	}
	userFiles := map[string]bool{}
	if extraDir != "" {
		user, err := loadUserPolicies(extraDir)
		if err != nil {
			return nil, err
		}
		for k, m := range user {
			mods[k] = m
			userFiles[k] = true
		}
	}
	compiler := ast.NewCompiler()
	compiler.Compile(mods)
	if compiler.Failed() {
		err := fmt.Errorf("compiling IaC policies: %w", compiler.Errors)
		if len(userFiles) > 0 {
			return nil, errkind.Input(err)
		}
		return nil, errkind.Infra(err)
	}
	// Packages that define deny, in a stable order.
	pkgs := map[string]bool{}
	for file, m := range compiler.Modules {
		for _, r := range m.Rules {
			if r.Head.Name.String() == "deny" || (len(r.Head.Reference) > 0 && r.Head.Reference[0].Value.String() == "deny") {
				p := m.Package.Path.String()
				pkgs[p] = pkgs[p] || userFiles[file]
			}
		}
	}
	paths := make([]string, 0, len(pkgs))
	for p := range pkgs {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	e := &engine{}
	for _, p := range paths {
		q, err := rego.New(rego.Compiler(compiler), rego.Query(p+".deny")).PrepareForEval(ctx)
		if err != nil {
			return nil, errkind.Infra(fmt.Errorf("preparing %s.deny: %w", p, err))
		}
		pp := policyPackage{path: p, user: pkgs[p], query: q, rules: map[string]ruleMeta{}}
		rs, err := rego.New(rego.Compiler(compiler), rego.Query(p+".rules")).Eval(ctx)
		if err != nil {
			return nil, kindFor(pp.user, fmt.Errorf("evaluating %s.rules: %w", p, err))
		}
		if len(rs) == 1 && len(rs[0].Expressions) == 1 {
			if err := roundTrip(rs[0].Expressions[0].Value, &pp.rules); err != nil {
				return nil, kindFor(pp.user, fmt.Errorf("%s.rules: expected an object of rule id → {severity, title, description, remediation}: %w", p, err))
			}
		}
		for id, m := range pp.rules {
			if m.Severity != "" {
				if _, err := finding.ParseSeverity(m.Severity); err != nil {
					return nil, kindFor(pp.user, fmt.Errorf("%s.rules[%q].severity: %w", p, id, err))
				}
			}
		}
		e.packages = append(e.packages, pp)
	}
	return e, nil
}

func kindFor(user bool, err error) error {
	if user {
		return errkind.Input(err)
	}
	return errkind.Infra(err)
}

func roundTrip(in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// evaluated is one violation with the metadata of the rule it names.
type evaluated struct {
	violation
	meta ruleMeta
	pkg  string
}

// eval runs every package's deny over one input document.
func (e *engine) eval(ctx context.Context, input map[string]any) ([]evaluated, error) {
	val, err := ast.InterfaceToValue(input)
	if err != nil {
		return nil, errkind.Infra(fmt.Errorf("converting input: %w", err))
	}
	var out []evaluated
	for _, p := range e.packages {
		rs, err := p.query.Eval(ctx, rego.EvalParsedInput(val))
		if err != nil {
			return nil, kindFor(p.user, fmt.Errorf("evaluating %s.deny: %w", p.path, err))
		}
		for _, r := range rs {
			for _, ex := range r.Expressions {
				var vs []violation
				if err := roundTrip(ex.Value, &vs); err != nil {
					return nil, kindFor(p.user, fmt.Errorf("%s.deny: expected a set of objects {id, msg, loc?, line?, severity?}: %w", p.path, err))
				}
				for _, v := range vs {
					if v.ID == "" || v.Msg == "" {
						return nil, kindFor(p.user, fmt.Errorf("%s.deny: element without id or msg: %+v", p.path, v))
					}
					if v.Severity != "" {
						if _, err := finding.ParseSeverity(v.Severity); err != nil {
							return nil, kindFor(p.user, fmt.Errorf("%s.deny[%q].severity: %w", p.path, v.ID, err))
						}
					}
					out = append(out, evaluated{violation: v, meta: p.rules[v.ID], pkg: p.path})
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b evaluated) int {
		return strings.Compare(a.ID+"\x00"+a.Msg, b.ID+"\x00"+b.Msg)
	})
	return out, nil
}
