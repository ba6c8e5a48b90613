package gha

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// InputEnvName is the variable the runner sets for an input: INPUT_ + the name
// upper-cased with spaces turned into underscores (dashes are kept).
func InputEnvName(name string) string {
	return "INPUT_" + strings.ToUpper(strings.ReplaceAll(name, " ", "_"))
}

// RawInputs are an action's input values as strings, before decoding.
type RawInputs map[string]string

// CollectInputs gathers the raw values of a's inputs for one run, through one code
// path for both ways a gate is started: as an action, from INPUT_* variables; by
// hand, from --<input-name> flags in args. A flag wins over a variable; an input
// given neither way takes its action.yml default. positional names the input that
// a single positional argument fills (e.g. scan's path), or is empty.
//
// An unknown flag, a second positional argument, or a required input left empty is
// an error naming the input.
func (r *Runtime) CollectInputs(a *Action, args []string, positional string) (RawInputs, error) {
	fs := flag.NewFlagSet(a.Name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	flags := map[string]*string{}
	for _, in := range a.Inputs {
		flags[in.Name] = fs.String(in.Name, "", in.Description)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, flag.ErrHelp
		}
		return nil, fmt.Errorf("parsing flags: %w", err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch rest := fs.Args(); {
	case len(rest) > 1 || (len(rest) == 1 && positional == ""):
		return nil, fmt.Errorf("unexpected argument %q: inputs are given as --<input-name> value", rest[len(rest)-1])
	case len(rest) == 1:
		if set[positional] {
			return nil, fmt.Errorf("input %q given both as --%s and as an argument", positional, positional)
		}
		*flags[positional] = rest[0]
		set[positional] = true
	}
	raw := RawInputs{}
	for _, in := range a.Inputs {
		v, ok := "", false
		if set[in.Name] {
			v, ok = *flags[in.Name], true
		} else if env := r.getenv(InputEnvName(in.Name)); env != "" {
			v, ok = env, true
		}
		if !ok || strings.TrimSpace(v) == "" {
			v = in.Default
		}
		if in.Required && strings.TrimSpace(v) == "" {
			return nil, fmt.Errorf("input %q is required (set it in the step's with: or pass --%s)", in.Name, in.Name)
		}
		raw[in.Name] = v
	}
	return raw, nil
}

// Decode fills the exported fields of the struct dst points to from raw, by their
// `input:"name"` tags. Fields of embedded structs (option sets shared by several
// gates, e.g. signing.Inputs) are read as if they were the outer struct's own.
// Supported field types: string, bool (true/false in any of the YAML 1.2 core
// spellings the toolkit accepts), int, time.Duration, and []string (one item per
// line or comma, blanks dropped; with the tag option `input:"name,lines"` one
// item per line only, for values that may hold commas). The options secret and
// pem mark values to mask (see Secrets) and do not change decoding. Every tag
// must name an input in raw, and every input in raw must have a field: a test
// keeps action.yml and the gate's reader equal, and this keeps them equal at run
// time too.
func Decode(raw RawInputs, dst any) error {
	v := reflect.ValueOf(dst)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("decoding inputs: destination must be a pointer to a struct, got %T", dst)
	}
	seen := map[string]bool{}
	for _, f := range inputFields(v.Elem()) {
		s, ok := raw[f.name]
		if !ok {
			return fmt.Errorf("decoding inputs: field %s reads input %q, which action.yml does not declare", f.field, f.name)
		}
		if seen[f.name] {
			return fmt.Errorf("decoding inputs: field %s reads input %q, which another field reads too", f.field, f.name)
		}
		seen[f.name] = true
		if err := setField(f.v, f.name, f.opts, strings.TrimSpace(s)); err != nil {
			return err
		}
	}
	var dead []string
	for name := range raw {
		if !seen[name] {
			dead = append(dead, name)
		}
	}
	if len(dead) > 0 {
		slices.Sort(dead)
		return fmt.Errorf("decoding inputs: action.yml declares %s, which nothing reads", strings.Join(dead, ", "))
	}
	return nil
}

// inputField is one tagged field of an inputs (or outputs) struct, embedded
// ones flattened.
type inputField struct {
	name, field string
	opts        []string
	v           reflect.Value
	exported    bool
}

func (f inputField) has(opt string) bool { return slices.Contains(f.opts, opt) }

// taggedFields lists the fields of the struct v tagged key (input or output),
// descending into untagged embedded structs (by value) in declaration order.
func taggedFields(v reflect.Value, key string) []inputField {
	var out []inputField
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag := sf.Tag.Get(key)
		if sf.Anonymous && tag == "" && sf.Type.Kind() == reflect.Struct {
			out = append(out, taggedFields(v.Field(i), key)...)
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			continue
		}
		f := inputField{name: name, field: t.Name() + "." + sf.Name, v: v.Field(i), exported: sf.IsExported()}
		if opts != "" {
			f.opts = strings.Split(opts, ",")
		}
		out = append(out, f)
	}
	return out
}

// inputFields lists the fields of the struct v that read an input.
func inputFields(v reflect.Value) []inputField { return taggedFields(v, "input") }

// fieldNames returns the names of the fields of dst's struct type (dst a
// struct or a pointer to one) that fields lists.
func fieldNames(dst any, fields func(reflect.Value) []inputField) []string {
	t := reflect.TypeOf(dst)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var names []string
	for _, f := range fields(reflect.New(t).Elem()) {
		names = append(names, f.name)
	}
	return names
}

// InputNames returns the input names a struct type reads through `input` tags,
// its embedded structs' included.
func InputNames(dst any) []string { return fieldNames(dst, inputFields) }

// Secrets returns the raw values that must be masked before anything else runs,
// by the tag options of dst's fields (a struct or a pointer to one): secret masks
// the whole value (AddMask masks each of its lines too); pem masks each line of a
// value holding PEM content (armour lines excepted) and nothing when the value is
// a path or a KMS URI, which are not secret.
func Secrets(raw RawInputs, dst any) []string {
	t := reflect.TypeOf(dst)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []string
	for _, f := range inputFields(reflect.New(t).Elem()) {
		s := raw[f.name]
		switch {
		case strings.TrimSpace(s) == "":
		case f.has("secret"):
			out = append(out, s)
		case f.has("pem") && strings.Contains(s, "-----BEGIN"):
			for _, l := range strings.Split(s, "\n") {
				if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "-----") {
					out = append(out, l)
				}
			}
		}
	}
	return out
}

// IsExpression reports whether s is a workflow expression (${{ … }}): the runner
// evaluates every expression in with: and in action.yml defaults, so one that
// reaches a gate was never evaluated (a local run taking the default).
func IsExpression(s string) bool {
	return strings.HasPrefix(strings.TrimSpace(s), "${{")
}

// DropUnevaluated empties every input of raw whose action.yml default is an
// expression (e.g. token: ${{ github.token }}) and whose value is still an
// unevaluated expression: off a runner nothing evaluates it, and the literal text
// is no value (a token "${{ github.token }}" would be sent as a credential).
func DropUnevaluated(a *Action, raw RawInputs) {
	for _, in := range a.Inputs {
		if IsExpression(in.Default) && IsExpression(raw[in.Name]) {
			raw[in.Name] = ""
		}
	}
}

var durationType = reflect.TypeOf(time.Duration(0))

func setField(f reflect.Value, name string, opts []string, s string) error {
	switch {
	case f.Type() == durationType:
		if s == "" {
			f.SetInt(0)
			return nil
		}
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return fmt.Errorf("input %q: %q is not a duration (expected e.g. 30s, 24h)", name, s)
		}
		f.SetInt(int64(d))
	case f.Kind() == reflect.String:
		f.SetString(s)
	case f.Kind() == reflect.Bool:
		b, err := ParseBool(s)
		if err != nil {
			return fmt.Errorf("input %q: %w", name, err)
		}
		f.SetBool(b)
	case f.Kind() == reflect.Int:
		if s == "" {
			f.SetInt(0)
			return nil
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("input %q: %q is not an integer", name, s)
		}
		f.SetInt(int64(n))
	case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String:
		if slices.Contains(opts, "lines") {
			f.Set(reflect.ValueOf(SplitLines(s)))
		} else {
			f.Set(reflect.ValueOf(SplitList(s)))
		}
	default:
		return fmt.Errorf("decoding inputs: input %q has unsupported field type %s", name, f.Type())
	}
	return nil
}

// ParseBool accepts the spellings of the YAML 1.2 core schema, as the Actions
// toolkit's getBooleanInput does: true, True, TRUE, false, False, FALSE. An empty
// value is false.
func ParseBool(s string) (bool, error) {
	switch s {
	case "true", "True", "TRUE":
		return true, nil
	case "false", "False", "FALSE", "":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean (expected true or false)", s)
}

// SplitList splits a list input: one item per line or per comma, trimmed, blanks
// dropped.
func SplitList(s string) []string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		for _, item := range strings.Split(line, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
	}
	return out
}

// SplitLines splits a multi-line input: one item per line, trimmed, blanks
// dropped.
func SplitLines(s string) []string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}
