package iac

import (
	"context"
	"fmt"
	"math/big"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"

	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/textclip"
)

// Bounds of the static Terraform evaluation (see README.md): a value in the
// evaluation context (a variable default, a local) larger than these is
// treated as unknown, so no expression can multiply it into gigabytes.
const (
	tfMaxValueElems   = 256      // collection elements, deep, in one context value
	tfMaxValueBytes   = 64 << 10 // string bytes, deep, in one context value
	tfMaxResultBytes  = 1 << 20  // string bytes in one evaluated attribute
	tfMaxRefsPerExpr  = 256      // references in one expression
	tfMaxForDepth     = 2        // nested for expressions / %{for} directives in one expression
	tfMaxNesting      = 256      // bracket nesting in a file (the parsers recurse)
	tfMaxInstances    = 64       // for_each instances expanded per resource
	tfMaxResultElems  = 100000   // elements of one evaluated attribute
	tfUnknownKey      = "__unknown__"
	tfUnknownRefsKey  = "refs"
	tfResourcePerMod  = 2000 // resource, data and module blocks per module
	tfModuleSourceKey = "source"
)

// tfTopSchema is the part of the Terraform language the scanner reads.
var tfTopSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
	{Type: "resource", LabelNames: []string{"type", "name"}},
	{Type: "data", LabelNames: []string{"type", "name"}},
	{Type: "module", LabelNames: []string{"name"}},
	{Type: "variable", LabelNames: []string{"name"}},
	{Type: "locals"},
}}

// tfFile is one parsed Terraform file.
type tfFile struct {
	rel  string
	file *hcl.File
}

// tfBlock is one resource, data source or module call.
type tfBlock struct {
	kind   string // resource, data, module
	labels []string
	block  *hcl.Block
	file   string
}

// tfPos is where a value of the policy input is written.
type tfPos struct {
	file string
	line int
}

// tfModule is one directory of .tf files being turned into a policy input.
type tfModule struct {
	dir    string
	files  []tfFile
	src    map[string][]byte // file contents by rel path
	ctx    *hcl.EvalContext
	lines  map[string]tfPos // loc key → position
	blocks []tfBlock
}

func locKey(loc []any) string {
	parts := make([]string, len(loc))
	for i, el := range loc {
		if f, ok := el.(float64); ok && f == float64(int(f)) {
			el = int(f)
		}
		parts[i] = fmt.Sprint(el)
	}
	return strings.Join(parts, "\x00")
}

// resolve maps a loc to the position of its nearest recorded ancestor.
func (m *tfModule) resolve(loc []any) tfPos {
	for n := len(loc); n >= 0; n-- {
		if p, ok := m.lines[locKey(loc[:n])]; ok {
			return p
		}
	}
	return tfPos{}
}

// isTerraformFile reports whether a file name is Terraform configuration.
func isTerraformFile(name string) bool {
	return strings.HasSuffix(name, ".tf") || strings.HasSuffix(name, ".tf.json")
}

// isTFVars reports whether Terraform loads the file's variable values
// automatically in a root module.
func isTFVars(name string) bool {
	return name == "terraform.tfvars" || name == "terraform.tfvars.json" ||
		strings.HasSuffix(name, ".auto.tfvars") || strings.HasSuffix(name, ".auto.tfvars.json")
}

// tooDeep reports whether the bracket nesting of src exceeds the bound (a
// conservative count that ignores quoting: the HCL parsers recurse per level).
func tooDeep(src []byte, limit int) bool {
	depth := 0
	for _, c := range src {
		switch c {
		case '(', '[', '{':
			depth++
			if depth > limit {
				return true
			}
		case ')', ']', '}':
			if depth > 0 {
				depth--
			}
		}
	}
	return false
}

// parseHCLFile parses one .tf/.tf.json/.tfvars file; a syntax error, an over-deep
// file or a parser panic is a finding (false).
func (s *scanner) parseHCLFile(p *hclparse.Parser, f candidate) (file *hcl.File, ok bool, err error) {
	data, ok, err := s.read(f)
	if err != nil || !ok {
		return nil, false, err
	}
	if tooDeep(data, tfMaxNesting) {
		s.parseError(f.rel, finding.High, 0, fmt.Errorf("brackets nested more than %d levels", tfMaxNesting))
		return nil, false, nil
	}
	var diags hcl.Diagnostics
	func() {
		defer func() {
			if r := recover(); r != nil {
				diags = hcl.Diagnostics{{Severity: hcl.DiagError, Summary: fmt.Sprintf("HCL parser failed: %v", r)}}
			}
		}()
		if strings.HasSuffix(f.rel, ".json") {
			file, diags = p.ParseJSON(data, f.rel)
		} else {
			file, diags = p.ParseHCL(data, f.rel)
		}
	}()
	if diags.HasErrors() {
		line := 0
		for _, d := range diags {
			if d.Severity == hcl.DiagError && d.Subject != nil {
				line = d.Subject.Start.Line
				break
			}
		}
		s.parseError(f.rel, finding.High, line, fmt.Errorf("%s", firstError(diags)))
		return nil, false, nil
	}
	return file, true, nil
}

func firstError(diags hcl.Diagnostics) string {
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			if d.Detail != "" {
				return d.Summary + ": " + d.Detail
			}
			return d.Summary
		}
	}
	return diags.Error()
}

// scanTerraform turns every directory of Terraform files into one policy
// input (a module) and evaluates it.
func (s *scanner) scanTerraform(ctx context.Context, files []candidate) error {
	byDir := map[string][]candidate{}
	var dirs []string
	for _, f := range files {
		if f.kind != kindTerraform && f.kind != kindTFVars {
			continue
		}
		d := path.Dir(f.rel)
		if _, ok := byDir[d]; !ok {
			dirs = append(dirs, d)
		}
		byDir[d] = append(byDir[d], f)
	}
	slices.Sort(dirs)
	for _, d := range dirs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !s.touchedDir(d) {
			continue
		}
		if err := s.scanTerraformModule(ctx, d, byDir[d]); err != nil {
			return err
		}
	}
	return nil
}

func (s *scanner) scanTerraformModule(ctx context.Context, dir string, files []candidate) error {
	p := hclparse.NewParser()
	m := &tfModule{dir: dir, lines: map[string]tfPos{}, src: map[string][]byte{}}
	var tfvars []tfFile
	for _, f := range files {
		file, ok, err := s.parseHCLFile(p, f)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if f.kind == kindTFVars {
			tfvars = append(tfvars, tfFile{rel: f.rel, file: file})
		} else {
			m.files = append(m.files, tfFile{rel: f.rel, file: file})
			m.src[f.rel] = file.Bytes
		}
	}
	if len(m.files) == 0 {
		return nil
	}
	var variables, locals []*hcl.Block
	for _, f := range m.files {
		content, _, _ := f.file.Body.PartialContent(tfTopSchema)
		for _, b := range content.Blocks {
			switch b.Type {
			case "variable":
				variables = append(variables, b)
			case "locals":
				locals = append(locals, b)
			default:
				m.blocks = append(m.blocks, tfBlock{kind: b.Type, labels: b.Labels, block: b, file: f.rel})
			}
		}
	}
	if len(m.blocks) > tfResourcePerMod {
		s.parseError(m.files[0].rel, finding.High, 0, fmt.Errorf("module %s declares %d blocks, more than the %d the scanner evaluates", dir, len(m.blocks), tfResourcePerMod))
		return nil
	}
	m.ctx = m.evalContext(variables, locals, tfvars)
	content := m.content()
	if len(content["resources"].([]any)) == 0 && len(content["module_calls"].([]any)) == 0 {
		return nil
	}
	for i, mc := range content["module_calls"].([]any) {
		mc := mc.(map[string]any)
		src, _ := mc["values"].(map[string]any)[tfModuleSourceKey].(string)
		if src != "" && isRemoteModuleSource(src) {
			pos := m.resolve([]any{"module_calls", i, "values", tfModuleSourceKey})
			s.add(finding.Finding{RuleID: RuleTerraformRemote, Severity: finding.Medium, Path: pos.file, StartLine: pos.line,
				Title: "Terraform module from a remote source",
				Message: fmt.Sprintf("module %q uses the remote source %q: modules are never fetched, so what it creates was not checked",
					mc["name"], src)}, dir+"\x00"+fmt.Sprint(mc["name"]))
		}
	}
	input := map[string]any{"type": "terraform", "path": dir, "document": 0, "content": content}
	vs, err := s.eng.eval(ctx, input)
	if err != nil {
		return fmt.Errorf("evaluating the Terraform module %s: %w", dir, err)
	}
	for _, v := range vs {
		var pos tfPos
		if v.Loc != nil {
			pos = m.resolve(v.Loc)
		}
		if pos.file == "" {
			pos.file = m.files[0].rel
		}
		if v.Line > 0 {
			pos.line = v.Line
		}
		v.Line = pos.line
		s.findings = append(s.findings, s.toFinding(v, pos.file, func([]any) int { return 0 }, "terraform:"+dir))
	}
	return nil
}

// isRemoteModuleSource reports whether a module source is fetched by
// terraform init (anything but a local path).
func isRemoteModuleSource(src string) bool {
	return !(strings.HasPrefix(src, "./") || strings.HasPrefix(src, "../") || src == "." || src == "..")
}

// tfFunctions are the Terraform functions evaluated statically: the pure
// ones, without file access, clocks, randomness or unbounded output (range,
// setproduct, file*, templatefile are left out: a call is unknown).
var tfFunctions = func() map[string]function.Function {
	fs := map[string]function.Function{
		"abs": stdlib.AbsoluteFunc, "ceil": stdlib.CeilFunc, "floor": stdlib.FloorFunc, "max": stdlib.MaxFunc, "min": stdlib.MinFunc,
		"parseint": stdlib.ParseIntFunc, "signum": stdlib.SignumFunc, "log": stdlib.LogFunc,
		"chomp": stdlib.ChompFunc, "indent": stdlib.IndentFunc, "join": stdlib.JoinFunc, "lower": stdlib.LowerFunc, "upper": stdlib.UpperFunc,
		"regex": stdlib.RegexFunc, "regexall": stdlib.RegexAllFunc, "replace": stdlib.ReplaceFunc, "split": stdlib.SplitFunc,
		"strrev": stdlib.ReverseFunc, "substr": stdlib.SubstrFunc, "title": stdlib.TitleFunc, "trim": stdlib.TrimFunc,
		"trimprefix": stdlib.TrimPrefixFunc, "trimsuffix": stdlib.TrimSuffixFunc, "trimspace": stdlib.TrimSpaceFunc,
		"coalesce": stdlib.CoalesceFunc, "coalescelist": stdlib.CoalesceListFunc, "compact": stdlib.CompactFunc, "concat": stdlib.ConcatFunc,
		"contains": stdlib.ContainsFunc, "distinct": stdlib.DistinctFunc, "element": stdlib.ElementFunc, "flatten": stdlib.FlattenFunc,
		"index": stdlib.IndexFunc, "keys": stdlib.KeysFunc, "length": stdlib.LengthFunc, "lookup": stdlib.LookupFunc, "merge": stdlib.MergeFunc,
		"reverse": stdlib.ReverseListFunc, "setintersection": stdlib.SetIntersectionFunc, "setsubtract": stdlib.SetSubtractFunc,
		"setunion": stdlib.SetUnionFunc, "slice": stdlib.SliceFunc, "sort": stdlib.SortFunc, "values": stdlib.ValuesFunc, "zipmap": stdlib.ZipmapFunc,
		"chunklist": stdlib.ChunklistFunc, "jsondecode": stdlib.JSONDecodeFunc, "jsonencode": stdlib.JSONEncodeFunc, "csvdecode": stdlib.CSVDecodeFunc,
		"format": stdlib.FormatFunc, "formatlist": stdlib.FormatListFunc,
		"tobool": stdlib.MakeToFunc(cty.Bool), "tonumber": stdlib.MakeToFunc(cty.Number), "tostring": stdlib.MakeToFunc(cty.String),
		"tolist": stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)), "toset": stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
		"tomap": stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)),
		"try":   tryfunc.TryFunc, "can": tryfunc.CanFunc,
	}
	out := map[string]function.Function{}
	for name, f := range fs {
		out[name] = boundedFunc(name, f)
	}
	return out
}()

// boundedFunc wraps a function: format widths and precisions are bounded
// (format("%999999999d") would allocate a gigabyte) and results larger than
// tfMaxResultBytes are an error (the attribute becomes unknown).
func boundedFunc(name string, f function.Function) function.Function {
	return function.New(&function.Spec{
		Params:   f.Params(),
		VarParam: f.VarParam(),
		Type:     func(args []cty.Value) (cty.Type, error) { return f.ReturnTypeForValues(args) },
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			if (name == "format" || name == "formatlist") && len(args) > 0 && args[0].IsKnown() && !args[0].IsNull() && args[0].Type() == cty.String {
				if hugeVerb(args[0].AsString()) {
					return cty.NilVal, fmt.Errorf("format width or precision over 4 digits")
				}
			}
			v, err := f.Call(args)
			if err != nil {
				return v, err
			}
			if elems, bytes := valueSize(v); elems > tfMaxResultElems || bytes > tfMaxResultBytes {
				return cty.NilVal, fmt.Errorf("result too large")
			}
			return v, nil
		},
	})
}

// hugeVerb reports a format verb whose width or precision has more than 4 digits.
func hugeVerb(s string) bool {
	run := 0
	inVerb := false
	for _, c := range s {
		switch {
		case c == '%':
			inVerb, run = !inVerb, 0
		case inVerb && c >= '0' && c <= '9':
			run++
			if run > 4 {
				return true
			}
		case inVerb && (c == '.' || c == '-' || c == '+' || c == '#' || c == ' ' || c == '[' || c == ']' || c == '*'):
			run = 0
		default:
			inVerb, run = false, 0
		}
	}
	return false
}

// valueSize counts the elements and string bytes of a value, deep.
func valueSize(v cty.Value) (elems, bytes int) {
	var walk func(v cty.Value)
	walk = func(v cty.Value) {
		if elems > tfMaxResultElems || bytes > tfMaxResultBytes {
			return
		}
		if !v.IsKnown() || v.IsNull() {
			return
		}
		t := v.Type()
		switch {
		case t == cty.String:
			bytes += len(v.AsString())
		case t.IsListType() || t.IsSetType() || t.IsTupleType() || t.IsMapType() || t.IsObjectType():
			for it := v.ElementIterator(); it.Next(); {
				k, ev := it.Element()
				elems++
				if k.Type() == cty.String {
					bytes += len(k.AsString())
				}
				walk(ev)
			}
		}
	}
	walk(v)
	return
}

// boundedValue replaces a context value over the bounds by an unknown.
func boundedValue(v cty.Value) cty.Value {
	if elems, bytes := valueSize(v); elems > tfMaxValueElems || bytes > tfMaxValueBytes {
		return cty.DynamicVal
	}
	return v
}

// exprTooCostly reports expressions the scanner does not evaluate: too many
// references, or for expressions nested too deep.
func exprTooCostly(e hcl.Expression) bool {
	if len(e.Variables()) > tfMaxRefsPerExpr {
		return true
	}
	se, ok := e.(hclsyntax.Expression)
	if !ok {
		return false
	}
	w := &forDepth{}
	hclsyntax.Walk(se, w)
	return w.max > tfMaxForDepth
}

type forDepth struct{ cur, max int }

func (w *forDepth) Enter(n hclsyntax.Node) hcl.Diagnostics {
	if _, ok := n.(*hclsyntax.ForExpr); ok {
		w.cur++
		w.max = max(w.max, w.cur)
	}
	return nil
}

func (w *forDepth) Exit(n hclsyntax.Node) hcl.Diagnostics {
	if _, ok := n.(*hclsyntax.ForExpr); ok {
		w.cur--
	}
	return nil
}

// eval evaluates an expression; ok is false when it is (wholly or partly)
// unknown because it has errors or is too costly (partial unknowns inside a
// known value are kept).
func (m *tfModule) eval(e hcl.Expression, ctx *hcl.EvalContext) (v cty.Value, ok bool) {
	if exprTooCostly(e) {
		return cty.DynamicVal, false
	}
	defer func() {
		if r := recover(); r != nil {
			v, ok = cty.DynamicVal, false
		}
	}()
	v, diags := e.Value(ctx)
	if diags.HasErrors() {
		return cty.DynamicVal, false
	}
	if elems, bytes := valueSize(v); elems > tfMaxResultElems || bytes > tfMaxResultBytes {
		return cty.DynamicVal, false
	}
	return v, true
}

// evalContext builds var.* (tfvars values, else defaults), local.* (in
// dependency order; cycles and unresolvable locals are unknown), path.* and
// unknowns for every other root a reference names.
func (m *tfModule) evalContext(variables, locals []*hcl.Block, tfvars []tfFile) *hcl.EvalContext {
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{}, Functions: tfFunctions}
	for r := range m.referencedRoots(locals) {
		ctx.Variables[r] = cty.DynamicVal
	}
	ctx.Variables["path"] = cty.ObjectVal(map[string]cty.Value{"module": cty.StringVal(m.dir), "root": cty.DynamicVal, "cwd": cty.DynamicVal})
	ctx.Variables["terraform"] = cty.DynamicVal
	ctx.Variables["var"] = cty.ObjectVal(m.variableValues(variables, tfvars))
	ctx.Variables["local"] = cty.ObjectVal(m.localValues(ctx, locals))
	return ctx
}

// referencedRoots are the root names (var, local, aws_s3_bucket, …) the
// references of the module's blocks and locals name.
func (m *tfModule) referencedRoots(locals []*hcl.Block) map[string]bool {
	roots := map[string]bool{}
	addRoots := func(e hcl.Expression) {
		for _, t := range e.Variables() {
			roots[t.RootName()] = true
		}
	}
	var walkBody func(b hcl.Body)
	walkBody = func(b hcl.Body) {
		if sb, ok := b.(*hclsyntax.Body); ok {
			for _, a := range sb.Attributes {
				addRoots(a.Expr)
			}
			for _, nb := range sb.Blocks {
				walkBody(nb.Body)
			}
			return
		}
		if attrs, diags := b.JustAttributes(); !diags.HasErrors() {
			for _, a := range attrs {
				addRoots(a.Expr)
			}
		}
	}
	for _, b := range m.blocks {
		walkBody(b.block.Body)
	}
	for _, b := range locals {
		walkBody(b.Body)
	}
	return roots
}

// variableValues are the values of var.*: a tfvars value, else the default,
// else unknown.
func (m *tfModule) variableValues(variables []*hcl.Block, tfvars []tfFile) map[string]cty.Value {
	set := map[string]cty.Value{}
	for _, f := range tfvars {
		attrs, _ := f.file.Body.JustAttributes()
		for name, a := range attrs {
			if v, ok := m.eval(a.Expr, nil); ok {
				set[name] = v
			}
		}
	}
	vars := map[string]cty.Value{}
	for _, b := range variables {
		name := b.Labels[0]
		vars[name] = cty.DynamicVal
		if v, ok := set[name]; ok {
			vars[name] = boundedValue(v)
			continue
		}
		attrs, _ := b.Body.JustAttributes()
		if d, ok := attrs["default"]; ok {
			if v, ok := m.eval(d.Expr, nil); ok {
				vars[name] = boundedValue(v)
			}
		}
	}
	return vars
}

// localValues are the values of local.*, evaluated in ctx in dependency
// order (Kahn's algorithm; what a cycle leaves pending is unknown). Each
// local is evaluated with only the locals it references in scope, so the
// cost stays linear in the module's size.
func (m *tfModule) localValues(ctx *hcl.EvalContext, locals []*hcl.Block) map[string]cty.Value {
	attrs := map[string]*hcl.Attribute{}
	for _, b := range locals {
		as, _ := b.Body.JustAttributes()
		for name, a := range as {
			attrs[name] = a
		}
	}
	g := newLocalGraph(attrs)
	done := map[string]cty.Value{}
	var ready []string
	for name := range attrs {
		if g.waiting[name] == 0 {
			ready = append(ready, name)
		}
	}
	sort.Strings(ready)
	for len(ready) > 0 {
		name := ready[0]
		ready = ready[1:]
		scope := map[string]cty.Value{}
		for _, d := range g.deps[name] {
			if v, ok := done[d]; ok {
				scope[d] = v
			} else {
				scope[d] = cty.DynamicVal
			}
		}
		child := ctx.NewChild()
		child.Variables = map[string]cty.Value{"local": cty.ObjectVal(scope)}
		v, _ := m.eval(attrs[name].Expr, child)
		done[name] = boundedValue(v)
		for _, u := range g.users[name] {
			if g.waiting[u]--; g.waiting[u] == 0 {
				ready = append(ready, u)
			}
		}
	}
	all := map[string]cty.Value{}
	for name := range attrs {
		if v, ok := done[name]; ok {
			all[name] = v
		} else {
			all[name] = cty.DynamicVal // in or behind a reference cycle
		}
	}
	return all
}

// localGraph is how locals reference each other: the locals each references
// (deps, declared or not), the declared locals referencing each (users), and
// how many declared locals each still waits for.
type localGraph struct {
	deps, users map[string][]string
	waiting     map[string]int
}

func newLocalGraph(attrs map[string]*hcl.Attribute) localGraph {
	g := localGraph{deps: map[string][]string{}, users: map[string][]string{}, waiting: map[string]int{}}
	for name, a := range attrs {
		seen := map[string]bool{}
		for _, t := range a.Expr.Variables() {
			if t.RootName() != "local" || len(t) < 2 {
				continue
			}
			if ga, ok := t[1].(hcl.TraverseAttr); ok && !seen[ga.Name] {
				seen[ga.Name] = true
				g.deps[name] = append(g.deps[name], ga.Name)
				if _, declared := attrs[ga.Name]; declared {
					g.users[ga.Name] = append(g.users[ga.Name], name)
					g.waiting[name]++
				}
			}
		}
	}
	return g
}

// content builds the policy input of the module.
func (m *tfModule) content() map[string]any {
	resources := []any{}
	calls := []any{}
	for _, b := range m.blocks {
		switch b.kind {
		case "resource", "data":
			for _, inst := range m.instances(b) {
				i := len(resources)
				loc := []any{"resources", i}
				m.lines[locKey(loc)] = tfPos{b.file, b.block.DefRange.Start.Line}
				mode := "managed"
				addr := b.labels[0] + "." + b.labels[1]
				if b.kind == "data" {
					mode, addr = "data", "data."+addr
				}
				r := map[string]any{"address": addr + inst.suffix, "mode": mode, "type": b.labels[0], "name": b.labels[1],
					"file": b.file, "line": b.block.DefRange.Start.Line,
					"values": m.bodyValues(b.block.Body, inst.ctx, append(loc, "values"), b.file, true)}
				if inst.index != nil {
					r["index"] = inst.index
				}
				resources = append(resources, r)
			}
		case "module":
			i := len(calls)
			loc := []any{"module_calls", i}
			m.lines[locKey(loc)] = tfPos{b.file, b.block.DefRange.Start.Line}
			calls = append(calls, map[string]any{"name": b.labels[0], "address": "module." + b.labels[0], "file": b.file,
				"line": b.block.DefRange.Start.Line, "values": m.bodyValues(b.block.Body, m.ctx, append(loc, "values"), b.file, true)})
		}
	}
	return map[string]any{"source": "hcl", "dir": m.dir, "resources": resources, "module_calls": calls}
}

// tfInstance is one evaluated instance of a resource: count and for_each
// bind count.index and each.key/each.value.
type tfInstance struct {
	ctx    *hcl.EvalContext
	suffix string
	index  any
}

// instances expands count and for_each: count = 0 (known) is no instance; a
// known count is one representative instance with count.index unknown; a
// known for_each of at most tfMaxInstances keys is one instance per key with
// each.key and each.value bound; otherwise one instance with them unknown.
func (m *tfModule) instances(b tfBlock) []tfInstance {
	attrs, _ := b.block.Body.JustAttributes()
	if sb, ok := b.block.Body.(*hclsyntax.Body); ok {
		attrs = map[string]*hcl.Attribute{}
		for n, a := range sb.Attributes {
			attrs[n] = a.AsHCLAttribute()
		}
	}
	child := func(vars map[string]cty.Value) *hcl.EvalContext {
		c := m.ctx.NewChild()
		c.Variables = vars
		return c
	}
	if a, ok := attrs["count"]; ok {
		v, known := m.eval(a.Expr, m.ctx)
		if known && v.IsWhollyKnown() && !v.IsNull() && v.Type() == cty.Number {
			if n, _ := v.AsBigFloat().Int64(); n <= 0 {
				return nil
			}
		}
		idx := map[string]any{tfUnknownKey: "count.index"}
		return []tfInstance{{ctx: child(map[string]cty.Value{"count": cty.ObjectVal(map[string]cty.Value{"index": cty.UnknownVal(cty.Number)})}), suffix: "[count.index]", index: idx}}
	}
	if a, ok := attrs["for_each"]; ok {
		v, known := m.eval(a.Expr, m.ctx)
		if known && v.IsWhollyKnown() && !v.IsNull() && v.CanIterateElements() && v.LengthInt() <= tfMaxInstances {
			t := v.Type()
			var out []tfInstance
			for it := v.ElementIterator(); it.Next(); {
				k, ev := it.Element()
				if t.IsSetType() {
					k = ev
				}
				if k.Type() != cty.String {
					break
				}
				key := k.AsString()
				out = append(out, tfInstance{ctx: child(map[string]cty.Value{"each": cty.ObjectVal(map[string]cty.Value{"key": k, "value": ev})}),
					suffix: fmt.Sprintf("[%q]", key), index: key})
			}
			if len(out) == v.LengthInt() {
				return out
			}
		}
		return []tfInstance{{ctx: child(map[string]cty.Value{"each": cty.DynamicVal}), suffix: "[each.key]", index: map[string]any{tfUnknownKey: "each.key"}}}
	}
	return []tfInstance{{ctx: m.ctx}}
}

// metaArgs are the resource arguments that are not the resource's values.
var metaArgs = map[string]bool{"count": true, "for_each": true, "provider": true, "depends_on": true}

// bodyValues converts a block body to the values policies see: attributes
// evaluated (unknowns marked), nested blocks as lists of objects (as in a
// plan's planned_values), dynamic blocks expanded when their for_each is known.
func (m *tfModule) bodyValues(body hcl.Body, ctx *hcl.EvalContext, loc []any, file string, top bool) map[string]any {
	out := map[string]any{}
	sb, ok := body.(*hclsyntax.Body)
	if !ok { // JSON: every property is an attribute; nested blocks are objects
		attrs, _ := body.JustAttributes()
		for name, a := range attrs {
			if top && metaArgs[name] {
				continue
			}
			m.lines[locKey(append(slices.Clone(loc), name))] = tfPos{file, a.Range.Start.Line}
			out[name] = m.attrValue(a.Expr, ctx, file)
		}
		return out
	}
	for name, a := range sb.Attributes {
		if top && metaArgs[name] {
			continue
		}
		m.lines[locKey(append(slices.Clone(loc), name))] = tfPos{file, a.SrcRange.Start.Line}
		out[name] = m.attrValue(a.Expr, ctx, file)
	}
	add := func(typ string, line int, nb *hclsyntax.Body, c *hcl.EvalContext) {
		list, _ := out[typ].([]any)
		bl := append(slices.Clone(loc), typ, len(list))
		m.lines[locKey(bl)] = tfPos{file, line}
		if len(list) == 0 {
			m.lines[locKey(append(slices.Clone(loc), typ))] = tfPos{file, line}
		}
		out[typ] = append(list, m.bodyValues(nb, c, bl, file, false))
	}
	for _, b := range sb.Blocks {
		if b.Type == "dynamic" && len(b.Labels) == 1 {
			m.dynamicBlock(b, ctx, add)
			continue
		}
		add(b.Type, b.TypeRange.Start.Line, b.Body, ctx)
	}
	return out
}

// dynamicBlock expands a dynamic block: one block per element of a known
// for_each (at most tfMaxInstances), else one with the iterator unknown.
func (m *tfModule) dynamicBlock(b *hclsyntax.Block, ctx *hcl.EvalContext, add func(string, int, *hclsyntax.Body, *hcl.EvalContext)) {
	iter := b.Labels[0]
	var content *hclsyntax.Body
	var forEach hcl.Expression
	for _, nb := range b.Body.Blocks {
		if nb.Type == "content" {
			content = nb.Body
		}
	}
	if a, ok := b.Body.Attributes["iterator"]; ok {
		if t, diags := hcl.AbsTraversalForExpr(a.Expr); !diags.HasErrors() && len(t) == 1 {
			iter = t.RootName()
		}
	}
	if a, ok := b.Body.Attributes["for_each"]; ok {
		forEach = a.Expr
	}
	if content == nil {
		return
	}
	bind := func(k, v cty.Value) *hcl.EvalContext {
		c := ctx.NewChild()
		c.Variables = map[string]cty.Value{iter: cty.ObjectVal(map[string]cty.Value{"key": k, "value": v})}
		return c
	}
	if forEach != nil {
		if v, ok := m.eval(forEach, ctx); ok && v.IsWhollyKnown() && !v.IsNull() && v.CanIterateElements() && v.LengthInt() <= tfMaxInstances {
			for it := v.ElementIterator(); it.Next(); {
				k, ev := it.Element()
				if v.Type().IsSetType() {
					k = ev
				}
				add(b.Labels[0], b.TypeRange.Start.Line, content, bind(k, ev))
			}
			return
		}
	}
	add(b.Labels[0], b.TypeRange.Start.Line, content, bind(cty.DynamicVal, cty.DynamicVal))
}

// attrValue evaluates one attribute. jsonencode(...) of a partly unknown
// argument keeps the argument's structure (an object with unknown leaves)
// instead of becoming wholly unknown, so a trust policy whose principal is a
// resource reference can still be checked.
func (m *tfModule) attrValue(e hcl.Expression, ctx *hcl.EvalContext, file string) any {
	rng := e.Range()
	src := ""
	if b := m.src[file]; rng.End.Byte <= len(b) && rng.Start.Byte <= rng.End.Byte {
		src = string(b[rng.Start.Byte:rng.End.Byte])
	}
	src = textclip.Clip(src, 200)
	refs := []any{}
	for _, t := range e.Variables() {
		if a := refAddress(t); a != "" && !slices.Contains(refs, any(a)) {
			refs = append(refs, a)
		}
	}
	marker := func() any { return map[string]any{tfUnknownKey: src, tfUnknownRefsKey: refs} }
	if fc, ok := e.(*hclsyntax.FunctionCallExpr); ok && fc.Name == "jsonencode" && len(fc.Args) == 1 && !fc.ExpandFinal {
		if v, ok := m.eval(fc.Args[0], ctx); ok && !v.IsWhollyKnown() {
			return ctyToAny(v, marker)
		}
	}
	v, _ := m.eval(e, ctx)
	return ctyToAny(v, marker)
}

// refAddress names the resource, data source or module a reference points at.
func refAddress(t hcl.Traversal) string {
	attr := func(i int) string {
		if i < len(t) {
			if a, ok := t[i].(hcl.TraverseAttr); ok {
				return a.Name
			}
		}
		return ""
	}
	switch root := t.RootName(); root {
	case "var", "local", "path", "count", "each", "self", "terraform":
		return ""
	case "data":
		if attr(1) != "" && attr(2) != "" {
			return "data." + attr(1) + "." + attr(2)
		}
	case "module":
		if attr(1) != "" {
			return "module." + attr(1)
		}
	default:
		if attr(1) != "" {
			return root + "." + attr(1)
		}
	}
	return ""
}

// ctyToAny converts a value to what policies see: unknowns become the marker
// object {"__unknown__": <expression>, "refs": [...]}; numbers become int64
// when integral.
func ctyToAny(v cty.Value, marker func() any) any {
	if !v.IsKnown() {
		return marker()
	}
	if v.IsNull() {
		return nil
	}
	t := v.Type()
	switch {
	case t == cty.String:
		return v.AsString()
	case t == cty.Bool:
		return v.True()
	case t == cty.Number:
		bf := v.AsBigFloat()
		if bf.IsInt() {
			if i, acc := bf.Int64(); acc == big.Exact {
				return i
			}
		}
		f, _ := bf.Float64()
		return f
	case t.IsListType() || t.IsSetType() || t.IsTupleType():
		out := []any{}
		for it := v.ElementIterator(); it.Next(); {
			_, ev := it.Element()
			out = append(out, ctyToAny(ev, marker))
		}
		return out
	case t.IsMapType() || t.IsObjectType():
		out := map[string]any{}
		for it := v.ElementIterator(); it.Next(); {
			k, ev := it.Element()
			out[k.AsString()] = ctyToAny(ev, marker)
		}
		return out
	}
	return marker()
}
