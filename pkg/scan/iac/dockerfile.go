package iac

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// Dockerfile is the parsed form of a Dockerfile that policies see as
// input.content when input.type is "dockerfile".
type Dockerfile struct {
	// Args are the ARG instructions before the first FROM (global build args).
	Args []Var `json:"args"`
	// Stages are the build stages in order; the last one is the final image.
	Stages []Stage `json:"stages"`
}

// Stage is one FROM and the instructions after it.
type Stage struct {
	Index int `json:"index"`
	// Name is the stage's AS name, lower-cased; empty when unnamed.
	Name string `json:"name"`
	// Image is the FROM image with global ARG defaults substituted as Docker
	// substitutes them (the text as written when that leaves it empty).
	Image string `json:"image"`
	// Platform is the --platform flag, if any.
	Platform string `json:"platform"`
	// BaseStage is the index of the earlier stage Image names, or -1 when
	// Image is an external image (or scratch).
	BaseStage int `json:"base_stage"`
	// User is the effective USER at the end of the stage (inherited from
	// BaseStage when the stage sets none); empty when never set. Variables
	// set by the Dockerfile's ARG and ENV defaults are substituted; a USER
	// that names a variable the Dockerfile does not set is kept as written.
	User string `json:"user"`
	// UserLine is the line of the USER instruction that set User (0 if unset).
	UserLine     int           `json:"user_line"`
	Line         int           `json:"line"`
	Instructions []Instruction `json:"instructions"`
}

// Instruction is one Dockerfile instruction.
type Instruction struct {
	// Cmd is the instruction keyword, upper-cased (FROM, RUN, USER, ...).
	Cmd string `json:"cmd"`
	// Line is the 1-based line where the instruction starts; EndLine where it
	// ends (continuations and heredocs included).
	Line    int `json:"line"`
	EndLine int `json:"end_line"`
	// Flags are the --name=value flags before the arguments.
	Flags map[string]string `json:"flags"`
	// Args are the arguments after the flags: JSON-array form decoded, shell
	// form split on whitespace (quotes kept together). ADD and COPY sources
	// and destination are the words Docker copies from: quotes removed and
	// the Dockerfile's ARG/ENV defaults substituted (a word naming a variable
	// the Dockerfile does not set is kept as written).
	Args []string `json:"args"`
	// JSON tells whether the arguments are in JSON-array (exec) form.
	JSON bool `json:"json"`
	// Value is the argument text after the flags, continuations joined.
	Value string `json:"value"`
	// Vars are the variables an ENV or ARG instruction sets.
	Vars []Var `json:"vars,omitempty"`
}

// Var is a variable set by ENV or ARG. HasValue tells whether a value was
// given; the value itself is kept out of policy input messages by the bundled
// rules (it may be a secret).
type Var struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	HasValue bool   `json:"has_value"`
	Line     int    `json:"line"`
}

// maxDockerInstructions bounds the instructions of one Dockerfile (untrusted
// input stays small; BuildKit's parser already refuses lines over 64 KiB).
const maxDockerInstructions = 10000

// ParseDockerfile parses a Dockerfile with BuildKit's own parser (the one
// docker build uses): parser directives (escape), comments, line
// continuations, heredocs, JSON (exec) and shell forms. Each instruction is
// checked as BuildKit checks it (an unknown instruction, FROM with a bad
// stage name, USER with two arguments fail as docker build fails). Global
// ARG defaults are substituted into FROM images, and the ARG/ENV defaults of
// a stage into its USER and its ADD/COPY sources, with BuildKit's shell
// lexer. It fails on input that is not a Dockerfile (an instruction before
// FROM other than ARG, no FROM, too many instructions); errors start with
// "line N:".
func ParseDockerfile(data []byte) (*Dockerfile, error) {
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		if strings.Contains(err.Error(), "file with no instructions") {
			return nil, errors.New("no FROM instruction")
		}
		what := "parsing"
		if strings.Contains(err.Error(), "escape token") {
			what = "escape directive"
		}
		return nil, locate(fmt.Errorf("%s: %w", what, err), 1)
	}
	nodes := res.AST.Children
	if len(nodes) > maxDockerInstructions {
		return nil, fmt.Errorf("more than %d instructions", maxDockerInstructions)
	}
	b := &dockerBuilder{
		lex:     shell.NewLex(res.EscapeToken),
		df:      &Dockerfile{Args: []Var{}, Stages: []Stage{}},
		globals: newVarSet(nil),
		names:   map[string]int{},
	}
	for _, n := range nodes {
		if err := b.add(n); err != nil {
			return nil, locate(err, n.StartLine)
		}
	}
	if len(b.df.Stages) == 0 {
		return nil, errors.New("no FROM instruction")
	}
	return b.df, nil
}

// locate renders err as "line N: ..." with the line BuildKit attached to it
// (or line when it attached none).
func locate(err error, line int) error {
	var le *parser.LocationError
	if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 && le.Locations[0][0].Start.Line > 0 {
		line = le.Locations[0][0].Start.Line
	}
	if line <= 0 {
		return err
	}
	return fmt.Errorf("line %d: %w", line, err)
}

// dockerBuilder turns BuildKit's AST into a Dockerfile, one node at a time.
type dockerBuilder struct {
	lex     *shell.Lex
	df      *Dockerfile
	globals *varSet
	// env is the current stage's variables (its ARGs and ENVs, inherited
	// from the stage it is built FROM).
	env  *varSet
	envs []*varSet
	// onbuild is each stage's ONBUILD triggers: BuildKit runs them at the
	// start of a stage built FROM that stage.
	onbuild [][]*parser.Node
	names   map[string]int
	// stage is the last stage of df (nil before the first FROM).
	stage *Stage
}

func (b *dockerBuilder) add(n *parser.Node) error {
	if strings.EqualFold(n.Value, "FROM") && n.Next == nil {
		return errors.New("FROM without an image")
	}
	typed, err := instructions.ParseInstruction(n)
	if err != nil {
		var unknown *instructions.UnknownInstructionError
		if errors.As(err, &unknown) {
			return fmt.Errorf("unknown instruction %s: expected a Dockerfile instruction (FROM, RUN, COPY, ...)", strings.ToUpper(n.Value))
		}
		return err
	}
	in := newInstruction(n)
	switch c := typed.(type) {
	case *instructions.Stage:
		return b.from(c, in)
	case *instructions.ArgCommand:
		vars := b.globals
		if b.stage != nil {
			vars = b.env
		}
		for _, kv := range c.Args {
			if b.stage != nil {
				kv.Key = b.expand(kv.Key, vars) // in a stage Docker expands the name too
			}
			v := Var{Name: kv.Key, HasValue: kv.Value != nil, Line: in.Line}
			if kv.Value != nil {
				v.Value = b.expand(*kv.Value, vars)
				vars.set(kv.Key, v.Value)
			} else if g, ok := b.globals.get(kv.Key); ok && b.stage != nil {
				// ARG NAME in a stage takes the global default.
				vars.set(kv.Key, g)
			}
			in.Vars = append(in.Vars, v)
		}
		if b.stage == nil {
			b.df.Args = append(b.df.Args, in.Vars...)
			return nil
		}
	case *instructions.EnvCommand:
		for _, kv := range c.Env {
			kv.Key = b.expand(kv.Key, b.env) // Docker expands the name too
			v := b.expand(kv.Value, b.env)
			in.Vars = append(in.Vars, Var{Name: kv.Key, Value: v, HasValue: true, Line: in.Line})
			b.env.set(kv.Key, v)
		}
	case *instructions.OnbuildCommand:
		if b.stage != nil {
			res, err := parser.Parse(strings.NewReader(c.Expression))
			if err != nil || len(res.AST.Children) != 1 {
				return fmt.Errorf("ONBUILD %s: expected one instruction", c.Expression)
			}
			t := res.AST.Children[0]
			t.StartLine, t.EndLine = n.StartLine, n.EndLine
			b.onbuild[b.stage.Index] = append(b.onbuild[b.stage.Index], t)
		}
	case *instructions.UserCommand:
		if b.stage != nil {
			b.stage.User, b.stage.UserLine = b.expandKnown(c.User, b.env), in.Line
		}
	case *instructions.AddCommand:
		in.Args = b.paths(c.SourcesAndDest)
	case *instructions.CopyCommand:
		in.Args = b.paths(c.SourcesAndDest)
	}
	if b.stage == nil {
		return fmt.Errorf("%s before the first FROM: expected FROM (or ARG)", in.Cmd)
	}
	b.stage.Instructions = append(b.stage.Instructions, in)
	return nil
}

// from starts a stage.
func (b *dockerBuilder) from(c *instructions.Stage, in Instruction) error {
	st := Stage{Index: len(b.df.Stages), Line: in.Line, Name: c.Name, Platform: c.Platform, BaseStage: -1}
	// Docker substitutes global ARGs into the base name, then looks it up
	// among the earlier stages' names (exactly; a number is an image name).
	st.Image = b.expand(c.BaseName, b.globals)
	env := newVarSet(nil)
	if idx, ok := b.names[st.Image]; ok {
		st.BaseStage = idx
		base := b.df.Stages[idx]
		st.User, st.UserLine = base.User, base.UserLine
		env = newVarSet(b.envs[idx])
	}
	if st.Name != "" {
		b.names[st.Name] = st.Index
	}
	b.df.Stages = append(b.df.Stages, st)
	b.envs = append(b.envs, env)
	b.onbuild = append(b.onbuild, nil)
	b.stage, b.env = &b.df.Stages[len(b.df.Stages)-1], env
	b.stage.Instructions = append(b.stage.Instructions, in)
	if st.BaseStage >= 0 {
		// The base stage's ONBUILD triggers run first, as instructions of
		// this stage (at the ONBUILD's line).
		for _, t := range b.onbuild[st.BaseStage] {
			if err := b.add(t); err != nil {
				return err
			}
		}
	}
	return nil
}

// paths returns the sources and destination of ADD/COPY as Docker reads
// them: each word through the shell lexer (quotes removed, known variables
// substituted).
func (b *dockerBuilder) paths(sd instructions.SourcesAndDest) []string {
	out := make([]string, 0, len(sd.SourcePaths)+1)
	for _, p := range append(append([]string{}, sd.SourcePaths...), sd.DestPath) {
		out = append(out, b.expandKnown(p, b.env))
	}
	return out
}

// expand is Docker's substitution of word with vars; the word as written
// when that fails or leaves nothing.
func (b *dockerBuilder) expand(word string, vars *varSet) string {
	r, err := b.lex.ProcessWordWithMatches(word, vars)
	if err != nil || r.Result == "" {
		return word
	}
	return r.Result
}

// expandKnown is expand, but keeps word as written when it names a variable
// the Dockerfile does not set (the base image or the build may set it),
// unless the word gives each such variable a default (${V:-x}, ${V-x}): that
// default is what Docker uses when nothing sets the variable.
func (b *dockerBuilder) expandKnown(word string, vars *varSet) string {
	r, err := b.lex.ProcessWordWithMatches(word, vars)
	if err != nil || r.Result == "" {
		return word
	}
	for name := range r.Unmatched {
		if !strings.Contains(word, "${"+name+":-") && !strings.Contains(word, "${"+name+"-") {
			return word
		}
	}
	return r.Result
}

// newInstruction is the generic view of an AST node: keyword, lines, flags,
// the argument text and the arguments.
func newInstruction(n *parser.Node) Instruction {
	in := Instruction{Cmd: strings.ToUpper(n.Value), Line: n.StartLine, EndLine: n.EndLine,
		Flags: map[string]string{}, JSON: n.Attributes["json"]}
	for _, f := range n.Flags {
		k, v, _ := strings.Cut(strings.TrimPrefix(f, "--"), "=")
		in.Flags[strings.ToLower(k)] = v
	}
	in.Value = argText(n.Original, len(n.Flags))
	if in.JSON {
		in.Args = []string{}
		for a := n.Next; a != nil; a = a.Next {
			in.Args = append(in.Args, a.Value)
		}
	} else {
		in.Args = splitWords(in.Value)
	}
	return in
}

// argText is the text of an instruction line after its keyword and its
// flags.
func argText(original string, flags int) string {
	s := strings.TrimSpace(original)
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return ""
	}
	rest := strings.TrimLeft(s[i:], " \t")
	for ; flags > 0 && strings.HasPrefix(rest, "--"); flags-- {
		j := strings.IndexAny(rest, " \t")
		if j < 0 {
			return ""
		}
		rest = strings.TrimLeft(rest[j:], " \t")
	}
	return strings.TrimSpace(rest)
}

// varSet is the variables a word is expanded with (shell.EnvGetter).
type varSet struct {
	m    map[string]string
	keys []string
}

func newVarSet(from *varSet) *varSet {
	v := &varSet{m: map[string]string{}}
	if from != nil {
		for _, k := range from.keys {
			v.set(k, from.m[k])
		}
	}
	return v
}

func (v *varSet) set(k, val string) {
	if _, ok := v.m[k]; !ok {
		v.keys = append(v.keys, k)
	}
	v.m[k] = val
}

func (v *varSet) get(k string) (string, bool) {
	s, ok := v.m[k]
	return s, ok
}

// Get implements shell.EnvGetter.
func (v *varSet) Get(k string) (string, bool) { return v.get(k) }

// Keys implements shell.EnvGetter.
func (v *varSet) Keys() []string { return v.keys }

// splitWords splits shell-form arguments on whitespace, keeping quoted runs
// together (quotes are kept, as the shell would see them).
func splitWords(s string) []string {
	out := []string{}
	var b strings.Builder
	var quote rune
	in := false
	for _, r := range s {
		switch {
		case quote != 0:
			b.WriteRune(r)
			if r == quote {
				quote = 0
			}
		case r == '"' || r == '\'':
			quote = r
			in = true
			b.WriteRune(r)
		case r == ' ' || r == '\t':
			if in {
				out = append(out, b.String())
				b.Reset()
				in = false
			}
		default:
			in = true
			b.WriteRune(r)
		}
	}
	if in {
		out = append(out, b.String())
	}
	return out
}
