// Package helmengine renders Helm charts the way helm.sh/helm/v4/pkg/engine
// does (its render path is copied here, Apache-2.0), offline and bounded:
// lookup returns nothing, getHostByName returns "", and a render stops with
// ErrLimit when it exceeds its deadline, its output budget, its template
// nesting depth or its iteration budget.
//
// Go templates cannot be interrupted from outside, so the bounds are checked
// from inside: every range body and every template body starts with an
// injected call to a guard function, every function call goes through a
// wrapper that checks the deadline and the size of arguments and results,
// every write goes through a counting writer, and the functions that allocate
// from a number (until, seq, repeat, indent, rand*) check it first.
//
// Copied from helm.sh/helm/v4/pkg/engine v4.3.2 (Apache-2.0, LICENSE is
// Helm's): files.go and funcs.go unchanged but for the package name;
// engine.go without Helm's Engine type, its Render methods and the Kubernetes
// client (what remains is unchanged). Ours: guard.go, the Engine that renders
// with the bounds above in place of Helm's (its render, initFunMap,
// includeFun and tplFun follow Helm's, with the bounds added).
package helmengine

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"reflect"
	"sort"
	"strings"
	"sync/atomic"
	ttemplate "text/template"
	"text/template/parse"
	"time"

	ci "helm.sh/helm/v4/pkg/chart"
	"helm.sh/helm/v4/pkg/chart/common"
)

// ErrLimit is wrapped by every error a bound produced.
var ErrLimit = errors.New("render limit exceeded")

// Limits bound one render.
type Limits struct {
	// Timeout bounds the render's wall time.
	Timeout time.Duration
	// MaxOutputBytes bounds the bytes written by all templates (includes and
	// tpl output counted as they are produced).
	MaxOutputBytes int64
	// MaxValueNodes bounds the values a function argument or result may hold.
	MaxValueNodes int
	// MaxSteps bounds the guard calls (range iterations, template
	// executions, function calls) of the whole render.
	MaxSteps int64
	// MaxDepth bounds nested template executions (include, tpl, template).
	MaxDepth int
}

// budget is one render's consumption.
type budget struct {
	ctx    context.Context
	lim    Limits
	out    atomic.Int64
	steps  atomic.Int64
	depth  int
	failed error
}

func (b *budget) fail(err error) error {
	if b.failed == nil {
		b.failed = err
	}
	return b.failed
}

// check is the guard: deadline, steps, and a failure already recorded.
func (b *budget) check() error {
	if b.failed != nil {
		return b.failed
	}
	if err := b.ctx.Err(); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return b.fail(fmt.Errorf("%w: rendering took longer than %s", ErrLimit, b.lim.Timeout))
		}
		return b.fail(err)
	}
	if b.steps.Add(1) > b.lim.MaxSteps {
		return b.fail(fmt.Errorf("%w: more than %d template steps (range iterations, calls)", ErrLimit, b.lim.MaxSteps))
	}
	return nil
}

// writer counts what templates write.
type writer struct {
	b *budget
	w io.Writer
}

func (w writer) Write(p []byte) (int, error) {
	if err := w.b.check(); err != nil {
		return 0, err
	}
	if w.b.out.Add(int64(len(p))) > w.b.lim.MaxOutputBytes {
		return 0, w.b.fail(fmt.Errorf("%w: rendered output over %d bytes", ErrLimit, w.b.lim.MaxOutputBytes))
	}
	return w.w.Write(p)
}

const (
	guardEnter = "secureGatesGuardEnter"
	guardExit  = "secureGatesGuardExit"
	guardTick  = "secureGatesGuardTick"
)

// instrument adds the guard calls to a parsed template set: enter/exit
// around every template body (depth), a tick at the start of every range body.
func instrument(t *ttemplate.Template) {
	for _, tt := range t.Templates() {
		if tt.Tree == nil || tt.Root == nil {
			continue
		}
		root := tt.Root
		if len(root.Nodes) > 0 {
			if a, ok := root.Nodes[0].(*parse.ActionNode); ok && isGuard(a, guardEnter) {
				continue // already instrumented (a tpl clone)
			}
		}
		instrumentList(tt.Tree, root)
		root.Nodes = append([]parse.Node{guardAction(tt.Tree, root.Pos, guardEnter)}, root.Nodes...)
		root.Nodes = append(root.Nodes, guardAction(tt.Tree, root.Pos, guardExit))
	}
}

func isGuard(a *parse.ActionNode, name string) bool {
	if a.Pipe == nil || len(a.Pipe.Cmds) != 1 || len(a.Pipe.Cmds[0].Args) != 1 {
		return false
	}
	id, ok := a.Pipe.Cmds[0].Args[0].(*parse.IdentifierNode)
	return ok && id.Ident == name
}

func guardAction(tr *parse.Tree, pos parse.Pos, name string) *parse.ActionNode {
	id := parse.NewIdentifier(name).SetTree(tr).SetPos(pos)
	cmd := &parse.CommandNode{NodeType: parse.NodeCommand, Pos: pos, Args: []parse.Node{id}}
	pipe := &parse.PipeNode{NodeType: parse.NodePipe, Pos: pos, Cmds: []*parse.CommandNode{cmd}}
	return &parse.ActionNode{NodeType: parse.NodeAction, Pos: pos, Pipe: pipe}
}

// branches returns the bodies of a range, if or with node (its list and its
// else list, either possibly nil); ok is false for any other node.
func branches(n parse.Node) (list, elseList *parse.ListNode, ok bool) {
	switch n := n.(type) {
	case *parse.RangeNode:
		return n.List, n.ElseList, true
	case *parse.IfNode:
		return n.List, n.ElseList, true
	case *parse.WithNode:
		return n.List, n.ElseList, true
	}
	return nil, nil, false
}

func instrumentList(tr *parse.Tree, l *parse.ListNode) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		if list, elseList, ok := branches(n); ok {
			instrumentList(tr, list)
			instrumentList(tr, elseList)
		}
		switch n := n.(type) {
		case *parse.RangeNode:
			n.List.Nodes = append([]parse.Node{guardAction(tr, n.Pos, guardTick)}, n.List.Nodes...)
		case *parse.ListNode:
			instrumentList(tr, n)
		}
	}
}

// Rendered is one rendered template.
type Rendered struct {
	// Text is what helm would render.
	Text string
	// Lines maps each line of Text (Lines[i] for line i+1) to the line of
	// the template that produced it (0 when unknown): the line of the
	// template text, or of the action ({{ ... }}) that wrote it.
	Lines []int
}

// mark is the byte that delimits the line markers written during a render.
const mark = 0x1e

// newlines are the byte offsets of a template source's newlines (Tree's
// ErrorContext counts them from the start for every node: quadratic).
func newlines(src string) []int {
	var nl []int
	for i := 0; i < len(src); i++ {
		if src[i] == '\n' {
			nl = append(nl, i)
		}
	}
	return nl
}

// markLines puts a marker before every node of a file template (not its
// defines): T<line> before text (whose newlines advance the line), A<line>
// before an action (whose output stays on its line).
func markLines(nl []int, l *parse.ListNode) {
	if l == nil {
		return
	}
	out := make([]parse.Node, 0, 2*len(l.Nodes))
	for _, n := range l.Nodes {
		line := 1 + sort.SearchInts(nl, int(n.Position()))
		kind := byte('A')
		if _, text := n.(*parse.TextNode); text {
			kind = 'T'
		}
		if list, elseList, ok := branches(n); ok {
			markLines(nl, list)
			markLines(nl, elseList)
		}
		if line > 0 {
			out = append(out, &parse.TextNode{NodeType: parse.NodeText, Pos: n.Position(), Text: []byte(fmt.Sprintf("%c%c%d%c", mark, kind, line, mark))})
		}
		out = append(out, n)
	}
	l.Nodes = out
}

// demark strips the markers and maps each output line to a template line.
func demark(s string) Rendered {
	var b strings.Builder
	b.Grow(len(s))
	var lines []int
	cur, text, pending := 0, false, true
	for i := 0; i < len(s); {
		if s[i] == mark {
			if j := strings.IndexByte(s[i+1:], mark); j > 0 {
				m := s[i+1 : i+1+j]
				text = m[0] == 'T'
				fmt.Sscan(m[1:], &cur)
				i += j + 2
				continue
			}
		}
		if pending {
			lines = append(lines, cur)
			pending = false
		}
		c := s[i]
		b.WriteByte(c)
		i++
		if c == '\n' {
			if text && cur > 0 {
				cur++
			}
			pending = true
		}
	}
	return Rendered{Text: b.String(), Lines: lines}
}

// stripMarks removes markers from a string a template function returns
// (include, tpl), so functions applied to it see what helm would give them.
func stripMarks(s string) string {
	if strings.IndexByte(s, mark) < 0 {
		return s
	}
	return demark(s).Text
}

// Engine renders charts within Limits. Strict and EnableDNS of helm's engine
// are always off.
type Engine struct {
	Limits Limits
}

// Render renders every template of the chart (and its subcharts) with the
// values (prepared with chartutil's ToRenderValues).
func (e Engine) Render(ctx context.Context, chrt ci.Charter, values common.Values) (map[string]Rendered, error) {
	ctx, cancel := context.WithTimeout(ctx, e.Limits.Timeout)
	defer cancel()
	b := &budget{ctx: ctx, lim: e.Limits}
	out, err := e.render(b, allTemplates(chrt, values))
	if b.failed != nil {
		return nil, b.failed
	}
	return out, err
}

func (e Engine) render(b *budget, tpls map[string]renderable) (rendered map[string]Rendered, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("rendering template failed: %v", r)
		}
	}()
	t := ttemplate.New("gotpl")
	t.Option("missingkey=zero")
	e.initFunMap(b, t)
	keys := sortTemplates(tpls)
	for _, filename := range keys {
		r := tpls[filename]
		if _, err := t.New(filename).Parse(r.tpl); err != nil {
			return nil, cleanupParseError(filename, err)
		}
	}
	for _, filename := range keys {
		if ft := t.Lookup(filename); ft != nil && ft.Tree != nil {
			markLines(newlines(tpls[filename].tpl), ft.Root)
		}
	}
	instrument(t)
	rendered = make(map[string]Rendered, len(keys))
	for _, filename := range keys {
		if strings.HasPrefix(pathBase(filename), "_") {
			continue
		}
		vals := tpls[filename].vals
		vals["Template"] = common.Values{"Name": filename, "BasePath": tpls[filename].basePath}
		var buf strings.Builder
		if err := t.ExecuteTemplate(writer{b, &buf}, filename, vals); err != nil {
			if b.failed != nil {
				return nil, fmt.Errorf("%s: %w", filename, b.failed)
			}
			return nil, reformatExecErrorMsg(filename, err)
		}
		rendered[filename] = demark(strings.ReplaceAll(buf.String(), "<no value>", ""))
	}
	return rendered, nil
}

func pathBase(p string) string {
	if i := strings.LastIndex(p, "/"); i >= 0 {
		return p[i+1:]
	}
	return p
}

func includeFun(b *budget, t *ttemplate.Template, includedNames map[string]int) func(string, any) (string, error) {
	return func(name string, data any) (string, error) {
		var buf strings.Builder
		if v, ok := includedNames[name]; ok {
			if v > recursionMaxNums {
				return "", fmt.Errorf("rendering template has a nested reference name: %s: %w", name, errors.New("unable to execute template"))
			}
			includedNames[name]++
		} else {
			includedNames[name] = 1
		}
		err := t.ExecuteTemplate(writer{b, &buf}, name, data)
		includedNames[name]--
		return stripMarks(buf.String()), err
	}
}

func tplFun(b *budget, parent *ttemplate.Template, includedNames map[string]int) func(string, any) (string, error) {
	return func(tpl string, vals any) (string, error) {
		t, err := parent.Clone()
		if err != nil {
			return "", fmt.Errorf("cannot clone template: %w", err)
		}
		t.Option("missingkey=zero")
		t.Funcs(ttemplate.FuncMap{
			"include": guarded(b, "include", includeFun(b, t, includedNames)),
			"tpl":     guarded(b, "tpl", tplFun(b, t, includedNames)),
		})
		t, err = t.New(parent.Name()).Parse(tpl)
		if err != nil {
			return "", fmt.Errorf("cannot parse template %q: %w", tpl, err)
		}
		instrument(t)
		var buf strings.Builder
		if err := t.Execute(writer{b, &buf}, vals); err != nil {
			return "", fmt.Errorf("error during tpl function execution for %q: %w", tpl, err)
		}
		return stripMarks(strings.ReplaceAll(buf.String(), "<no value>", "")), nil
	}
}

// maxCount bounds the numbers the allocating functions accept.
const maxCount = 100000

func (e Engine) initFunMap(b *budget, t *ttemplate.Template) {
	fm := funcMap()
	includedNames := make(map[string]int)
	fm["include"] = includeFun(b, t, includedNames)
	fm["tpl"] = tplFun(b, t, includedNames)
	fm["required"] = func(warn string, val any) (any, error) {
		if val == nil {
			return val, errors.New(warnWrap(warn))
		} else if s, ok := val.(string); ok && s == "" {
			return val, errors.New(warnWrap(warn))
		}
		return val, nil
	}
	fm["fail"] = func(msg string) (string, error) { return "", errors.New(warnWrap(msg)) }
	fm["lookup"] = func(string, string, string, string) (map[string]any, error) { return map[string]any{}, nil }
	fm["getHostByName"] = func(string) string { return "" }
	// Builtins that build strings go through the wrapper too.
	fm["print"] = fmt.Sprint
	fm["printf"] = fmt.Sprintf
	fm["println"] = fmt.Sprintln
	fm["html"] = template.HTMLEscaper
	fm["js"] = template.JSEscaper
	fm["urlquery"] = template.URLQueryEscaper
	for _, name := range []string{"until", "untilStep", "seq", "repeat", "indent", "nindent", "randAlpha", "randAlphaNum", "randAscii", "randNumeric", "randBytes"} {
		if f, ok := fm[name]; ok {
			fm[name] = countChecked(name, f)
		}
	}
	for name, f := range fm {
		fm[name] = guarded(b, name, f)
	}
	fm[guardTick] = func() (string, error) { return "", b.check() }
	fm[guardEnter] = func() (string, error) {
		b.depth++
		if b.depth > b.lim.MaxDepth {
			return "", b.fail(fmt.Errorf("%w: templates nested more than %d deep (include, tpl, template)", ErrLimit, b.lim.MaxDepth))
		}
		return "", b.check()
	}
	fm[guardExit] = func() string { b.depth--; return "" }
	t.Funcs(fm)
}

// countChecked refuses integer arguments over maxCount (until 1000000000
// would allocate gigabytes before anything could stop it); for untilStep and
// seq, the span divided by the step.
func countChecked(name string, f any) any {
	fv := reflect.ValueOf(f)
	return reflect.MakeFunc(fv.Type(), func(args []reflect.Value) []reflect.Value {
		var ints []int64
		for _, a := range args {
			switch a.Kind() {
			case reflect.Int, reflect.Int64, reflect.Int32:
				ints = append(ints, a.Int())
			case reflect.Interface:
				if a.Elem().IsValid() && a.Elem().CanInt() {
					ints = append(ints, a.Elem().Int())
				} else if a.Elem().IsValid() && a.Elem().Kind() == reflect.String {
					var n int64
					if _, err := fmt.Sscan(a.Elem().String(), &n); err == nil {
						ints = append(ints, n)
					}
				}
			case reflect.Slice:
				for i := 0; i < a.Len(); i++ {
					e := a.Index(i)
					if e.Kind() == reflect.Interface {
						e = e.Elem()
					}
					if e.IsValid() && e.CanInt() {
						ints = append(ints, e.Int())
					}
				}
			}
		}
		span := int64(0)
		switch name {
		case "untilStep", "seq":
			if len(ints) >= 2 {
				step := int64(1)
				if len(ints) >= 3 && ints[2] != 0 {
					step = ints[2]
					if name == "seq" {
						step = ints[1]
					}
				}
				lo, hi := ints[0], ints[len(ints)-1]
				if name == "untilStep" {
					hi = ints[1]
				}
				span = abs(hi-lo) / max(abs(step), 1)
			} else if len(ints) == 1 {
				span = abs(ints[0])
			}
		default:
			for _, n := range ints {
				span = max(span, abs(n))
			}
		}
		if span > maxCount {
			panic(fmt.Errorf("%w: %s with a count over %d", ErrLimit, name, maxCount))
		}
		return call(fv, args)
	}).Interface()
}

// call calls f with the arguments reflect.MakeFunc received.
func call(f reflect.Value, args []reflect.Value) []reflect.Value {
	if f.Type().IsVariadic() {
		return f.CallSlice(args)
	}
	return f.Call(args)
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

var errType = reflect.TypeFor[error]()

// guarded wraps a template function: the guard runs first, arguments and
// string results are measured against the limits.
func guarded(b *budget, name string, f any) any {
	fv := reflect.ValueOf(f)
	ft := fv.Type()
	if ft.Kind() != reflect.Func {
		return f
	}
	hasErr := ft.NumOut() == 2 && ft.Out(1) == errType
	ret := func(err error) []reflect.Value {
		if !hasErr {
			panic(err) // text/template recovers a function's panic into an error
		}
		return []reflect.Value{reflect.Zero(ft.Out(0)), reflect.ValueOf(&err).Elem()}
	}
	return reflect.MakeFunc(ft, func(args []reflect.Value) (results []reflect.Value) {
		if err := b.check(); err != nil {
			return ret(err)
		}
		for _, a := range args {
			if n := size(a, b.lim.MaxValueNodes); n > b.lim.MaxValueNodes {
				return ret(b.fail(fmt.Errorf("%w: an argument of %s holds more than %d values", ErrLimit, name, b.lim.MaxValueNodes)))
			}
		}
		results = call(fv, args)
		if len(results) > 0 {
			if n := size(results[0], b.lim.MaxValueNodes); n > b.lim.MaxValueNodes {
				return ret(b.fail(fmt.Errorf("%w: %s returned more than %d values", ErrLimit, name, b.lim.MaxValueNodes)))
			}
			if s, ok := results[0].Interface().(string); ok && int64(len(s)) > b.lim.MaxOutputBytes {
				return ret(b.fail(fmt.Errorf("%w: %s returned a string over %d bytes", ErrLimit, name, b.lim.MaxOutputBytes)))
			}
		}
		return results
	}).Interface()
}

// size counts the values v holds (a string counts one per 1 KiB), stopping
// past limit (shared references are counted each time, so a structure that
// doubles by self-reference is caught without being walked).
func size(v reflect.Value, limit int) int {
	n := 0
	var walk func(v reflect.Value, depth int)
	walk = func(v reflect.Value, depth int) {
		if n > limit || !v.IsValid() {
			return
		}
		n++
		if depth > 10000 {
			n = limit + 1
			return
		}
		switch v.Kind() {
		case reflect.Interface, reflect.Pointer:
			if !v.IsNil() {
				walk(v.Elem(), depth+1)
			}
		case reflect.String:
			n += v.Len() / 1024
		case reflect.Slice, reflect.Array:
			if v.Type().Elem().Kind() == reflect.Uint8 {
				n += v.Len() / 1024
				return
			}
			for i := 0; i < v.Len() && n <= limit; i++ {
				walk(v.Index(i), depth+1)
			}
		case reflect.Map:
			for it := v.MapRange(); it.Next() && n <= limit; {
				walk(it.Value(), depth+1)
			}
		case reflect.Struct:
			for i := 0; i < v.NumField() && n <= limit; i++ {
				if v.Type().Field(i).IsExported() {
					walk(v.Field(i), depth+1)
				}
			}
		}
	}
	walk(v, 0)
	return n
}
