package gate

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"time"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/gha"
)

// Spec declares a gate: what Define needs besides the gate's function.
type Spec struct {
	// Name is the subcommand and the action's folder under actions/.
	Name string
	// ActionYAML is the gate's action.yml, embedded by its package.
	ActionYAML []byte
	// Positional names the input a lone positional argument fills ("" for none).
	Positional string
}

// Func is a gate's work: decoded, validated inputs in, outputs out. It calls
// pkg/ and returns; the frame writes the outputs, the summary and the
// annotations the outputs carry (see Summarizer and Annotator).
type Func[I, O any] func(ctx context.Context, run *Run, in I) (O, error)

// Validator is implemented by an Inputs struct whose values, or combinations of
// values, can be wrong. Validate runs after decoding and before the gate's
// function: every input error is found before any work or side effect. An error
// it returns without a kind is an input error (exit 2). An Inputs that embeds
// option sets with their own Validate calls them.
type Validator interface {
	Validate() error
}

// Summarizer is implemented by an Outputs struct that carries a step summary:
// Summary renders it from the data the function returned ("" for none).
type Summarizer interface {
	Summary() string
}

// Annotator is implemented by an Outputs struct that carries annotations.
type Annotator interface {
	Annotations() []gha.Annotation
}

// Timeout is the timeout input shared by the gates that talk to the network.
// Embedded in a gate's Inputs, it bounds the whole run: the frame refuses a
// timeout of zero or less, or over MaxTimeout (exit 2), and gives the function a
// context that ends by then.
type Timeout struct {
	Timeout time.Duration `input:"timeout"`
}

// RunTimeout is the bound of the run.
func (t Timeout) RunTimeout() time.Duration { return t.Timeout }

type bounded interface{ RunTimeout() time.Duration }

// Define makes a gate of a declaration and one function. I is the struct the
// inputs decode into (gha.Decode tags; option sets from pkg/ embedded); O is the
// struct of outputs (gha.Outputs tags). At each run the frame, in this order:
// empties inputs still holding an unevaluated ${{ … }} default; masks the values
// of fields tagged secret or pem; decodes; bounds the run by an embedded
// Timeout; calls Validate; and only then calls fn. Whatever fn returns — unless
// it fails with the zero O — is reported: the summary, the annotations, then
// the outputs. fn's error decides the exit code.
func Define[I, O any](spec Spec, fn Func[I, O]) Gate {
	var zeroIn I
	var zeroOut O
	return Gate{
		Name: spec.Name, ActionYAML: spec.ActionYAML, Positional: spec.Positional,
		Inputs: zeroIn, Outputs: zeroOut,
		Run: func(ctx context.Context, rt *gha.Runtime, raw gha.RawInputs) error {
			return runGate(ctx, rt, spec, raw, fn)
		},
	}
}

func runGate[I, O any](ctx context.Context, rt *gha.Runtime, spec Spec, raw gha.RawInputs, fn Func[I, O]) error {
	a, err := gha.ParseAction(spec.ActionYAML)
	if err != nil {
		return errkind.Infra(fmt.Errorf("reading the %s action's metadata: %w", spec.Name, err))
	}
	raw = maps.Clone(raw) // the frame edits its copy, not the caller's
	gha.DropUnevaluated(a, raw)
	var in I
	for _, s := range gha.Secrets(raw, &in) {
		rt.AddMask(s)
	}
	if err := gha.Decode(raw, &in); err != nil {
		return errkind.Input(err)
	}
	if b, ok := any(in).(bounded); ok {
		var cancel context.CancelFunc
		if ctx, cancel, err = WithTimeout(ctx, b.RunTimeout()); err != nil {
			return err
		}
		defer cancel()
	}
	if v, ok := any(&in).(Validator); ok {
		if err := v.Validate(); err != nil {
			if errkind.Of(err) == errkind.KindUnknown {
				err = errkind.Input(err)
			}
			return err
		}
	}
	out, err := fn(ctx, &Run{rt: rt}, in)
	empty := reflect.ValueOf(&out).Elem().IsZero()
	pageRun(ctx, rt, spec.Name, any(in), any(&out), empty, err) // page.go: deciding gates page on-call
	if err != nil && empty {
		return err
	}
	if werr := Report(rt, out); werr != nil {
		return werr
	}
	return err
}

// Report writes what a gate's Outputs value out carries, as Define does after
// the gate's function: the summary (Summarizer), the annotations (Annotator),
// then the outputs. A command that runs a gate's check outside Define (e.g.
// `secure-gates policy check`) reports through it too.
func Report(rt *gha.Runtime, out any) error {
	if s, ok := out.(Summarizer); ok {
		if md := s.Summary(); md != "" {
			if err := rt.WriteSummary(md); err != nil {
				return errkind.Infra(err)
			}
		}
	}
	if a, ok := out.(Annotator); ok {
		for _, an := range a.Annotations() {
			rt.Annotate(an)
		}
	}
	kvs, err := gha.Outputs(out)
	if err != nil {
		return errkind.Infra(err)
	}
	for _, kv := range kvs {
		if err := rt.SetOutput(kv.Name, kv.Value); err != nil {
			return errkind.Infra(err)
		}
	}
	return nil
}

// Check compares the gate's Go declaration with its action.yml, both ways: the
// inputs its Inputs struct reads (CheckInputs), and the outputs its Outputs
// struct writes.
func (g Gate) Check() error {
	a, err := gha.ParseAction(g.ActionYAML)
	if err != nil {
		return err
	}
	if err := g.checkInputs(a); err != nil {
		return err
	}
	if g.Outputs == nil {
		return fmt.Errorf("outputs of %s: the gate is not made with gate.Define", g.Name)
	}
	return gha.CheckOutputs(a, g.Outputs)
}

// CheckInputs compares the inputs the gate's Inputs struct reads with those its
// action.yml declares: no undeclared input, no dead input.
func (g Gate) CheckInputs() error {
	a, err := gha.ParseAction(g.ActionYAML)
	if err != nil {
		return err
	}
	return g.checkInputs(a)
}

func (g Gate) checkInputs(a *gha.Action) error {
	var declared []string
	for _, in := range a.Inputs {
		declared = append(declared, in.Name)
	}
	read := gha.InputNames(g.Inputs)
	slices.Sort(declared)
	slices.Sort(read)
	if !slices.Equal(declared, read) {
		return fmt.Errorf("inputs of %s: action.yml declares %v, the Go reader reads %v", g.Name, declared, read)
	}
	return nil
}
