package gha

import (
	"bytes"
	"fmt"

	"gopkg.in/yaml.v3"
)

// Action is the part of an action.yml metadata file the runtime and the test
// harness use.
type Action struct {
	Name        string
	Description string
	// Inputs in the order action.yml declares them.
	Inputs  []InputSpec
	Outputs []OutputSpec
	Runs    Runs
}

// InputSpec is one declared input.
type InputSpec struct {
	Name        string
	Description string
	Required    bool
	Default     string
	HasDefault  bool
}

// OutputSpec is one declared output.
type OutputSpec struct {
	Name        string
	Description string
}

// Runs is the runs: section.
type Runs struct {
	Using      string   `yaml:"using"`
	Image      string   `yaml:"image"`
	Args       []string `yaml:"args"`
	Entrypoint string   `yaml:"entrypoint"`
}

// Input returns the declared input called name.
func (a *Action) Input(name string) (InputSpec, bool) {
	for _, in := range a.Inputs {
		if in.Name == name {
			return in, true
		}
	}
	return InputSpec{}, false
}

// ParseAction parses action.yml metadata, keeping the declaration order of inputs
// and outputs.
func ParseAction(data []byte) (*Action, error) {
	var raw struct {
		Name        string    `yaml:"name"`
		Description string    `yaml:"description"`
		Inputs      yaml.Node `yaml:"inputs"`
		Outputs     yaml.Node `yaml:"outputs"`
		Runs        Runs      `yaml:"runs"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("parsing action.yml: %w", err)
	}
	a := &Action{Name: raw.Name, Description: raw.Description, Runs: raw.Runs}
	if raw.Name == "" {
		return nil, fmt.Errorf("parsing action.yml: missing name")
	}
	if err := eachMapping(&raw.Inputs, func(name string, v *yaml.Node) error {
		var in struct {
			Description string    `yaml:"description"`
			Required    bool      `yaml:"required"`
			Default     yaml.Node `yaml:"default"`
		}
		if err := v.Decode(&in); err != nil {
			return fmt.Errorf("input %q: %w", name, err)
		}
		spec := InputSpec{Name: name, Description: in.Description, Required: in.Required}
		if in.Default.Kind != 0 {
			spec.Default, spec.HasDefault = in.Default.Value, true
		}
		a.Inputs = append(a.Inputs, spec)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("parsing action.yml inputs: %w", err)
	}
	if err := eachMapping(&raw.Outputs, func(name string, v *yaml.Node) error {
		var out struct {
			Description string `yaml:"description"`
		}
		if err := v.Decode(&out); err != nil {
			return fmt.Errorf("output %q: %w", name, err)
		}
		a.Outputs = append(a.Outputs, OutputSpec{Name: name, Description: out.Description})
		return nil
	}); err != nil {
		return nil, fmt.Errorf("parsing action.yml outputs: %w", err)
	}
	return a, nil
}

func eachMapping(n *yaml.Node, fn func(string, *yaml.Node) error) error {
	if n.Kind == 0 {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("expected a mapping, got %v at line %d", n.Tag, n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if err := fn(n.Content[i].Value, n.Content[i+1]); err != nil {
			return err
		}
	}
	return nil
}
