package gha

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Outputs encodes the exported fields of the struct src (or a pointer to one) that
// carry an `output:"name"` tag, in declaration order, embedded structs flattened:
// a string as it is, a bool as true/false, an int in decimal, and any type with
// the tag option json as its JSON encoding (a nil slice as [], not null). A field
// with the option omitempty is left out when it is the zero value; every other
// tagged field is written, empty or not. Untagged fields are not outputs.
func Outputs(src any) ([]KeyValue, error) {
	v := reflect.ValueOf(src)
	for v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil, fmt.Errorf("encoding outputs: want a struct, got %T", src)
	}
	var out []KeyValue
	for _, f := range outputFields(v) {
		if f.has("omitempty") && f.v.IsZero() {
			continue
		}
		s, err := outputValue(f)
		if err != nil {
			return nil, err
		}
		out = append(out, KeyValue{Name: f.name, Value: s})
	}
	return out, nil
}

func outputValue(f inputField) (string, error) {
	v := f.v
	switch {
	case f.has("json"):
		if v.Kind() == reflect.Slice && v.IsNil() {
			return "[]", nil
		}
		b, err := json.Marshal(v.Interface())
		if err != nil {
			return "", fmt.Errorf("encoding output %q: %w", f.name, err)
		}
		return string(b), nil
	case v.Kind() == reflect.String:
		return v.String(), nil
	case v.Kind() == reflect.Bool:
		return strconv.FormatBool(v.Bool()), nil
	case v.Kind() == reflect.Int:
		return strconv.FormatInt(v.Int(), 10), nil
	}
	return "", fmt.Errorf("encoding output %q: unsupported field type %s (use the json option)", f.name, v.Type())
}

// OutputNames returns the output names a struct type writes through `output`
// tags, its embedded structs' included.
func OutputNames(src any) []string { return fieldNames(src, outputFields) }

// outputFields lists the exported fields of the struct v that write an output.
func outputFields(v reflect.Value) []inputField {
	return slices.DeleteFunc(taggedFields(v, "output"), func(f inputField) bool { return !f.exported })
}

// CheckOutputs compares the output names src writes with the outputs a declares,
// both ways: an output written that action.yml does not declare, or declared and
// never written, is an error naming it.
func CheckOutputs(a *Action, src any) error {
	written := OutputNames(src)
	var declared []string
	for _, o := range a.Outputs {
		declared = append(declared, o.Name)
	}
	var problems []string
	for _, n := range written {
		if !slices.Contains(declared, n) {
			problems = append(problems, fmt.Sprintf("output %q is written but action.yml does not declare it", n))
		}
	}
	for _, n := range declared {
		if !slices.Contains(written, n) {
			problems = append(problems, fmt.Sprintf("action.yml declares output %q, which nothing writes", n))
		}
	}
	for i, n := range written {
		if slices.Contains(written[:i], n) {
			problems = append(problems, fmt.Sprintf("output %q is written by two fields", n))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("outputs of %s: %s", a.Name, strings.Join(problems, "; "))
	}
	return nil
}
