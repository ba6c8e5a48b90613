package iac

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/readfile"
)

// DefaultMaxPlanBytes bounds the iac-plan file.
const DefaultMaxPlanBytes int64 = 128 << 20

// maxPlanResources bounds the resources read from a plan.
const maxPlanResources = 100000

// tfPlan is the part of terraform show -json the scanner reads.
type tfPlan struct {
	FormatVersion string `json:"format_version"`
	PlannedValues *struct {
		RootModule tfPlanModule `json:"root_module"`
	} `json:"planned_values"`
	ResourceChanges []struct {
		Address string `json:"address"`
		Change  struct {
			Actions      []string `json:"actions"`
			AfterUnknown any      `json:"after_unknown"`
		} `json:"change"`
	} `json:"resource_changes"`
}

type tfPlanModule struct {
	Address      string           `json:"address"`
	Resources    []tfPlanResource `json:"resources"`
	ChildModules []tfPlanModule   `json:"child_modules"`
}

type tfPlanResource struct {
	Address string         `json:"address"`
	Mode    string         `json:"mode"`
	Type    string         `json:"type"`
	Name    string         `json:"name"`
	Index   any            `json:"index"`
	Values  map[string]any `json:"values"`
}

// scanPlan evaluates the resources a Terraform plan will create or update:
// planned_values, with what after_unknown marks unknown (known after apply)
// as unknown markers. Findings are on the plan file, at the line of the
// resource's address when the JSON is pretty-printed (else line 1).
func (s *scanner) scanPlan(ctx context.Context, planPath string) error {
	abs, rel := s.planPaths(planPath)
	// Under the scan root the pull request controls the file: a symbolic
	// link out of the root is refused, never followed.
	data, err := readfile.InTree(s.root, abs, DefaultMaxPlanBytes)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return errkind.Input(fmt.Errorf("iac-plan %s: %w (expected the output of terraform show -json plan.out)", planPath, err))
		}
		if errors.Is(err, readfile.ErrEscapes) {
			return errkind.Input(fmt.Errorf("iac-plan %s: %w", planPath, err))
		}
		s.planUnreadable(rel, err.Error())
		return nil
	}
	var plan tfPlan
	if err := json.Unmarshal(data, &plan); err != nil || plan.FormatVersion == "" || plan.PlannedValues == nil {
		why := "no format_version or planned_values: not the output of terraform show -json plan.out"
		if err != nil {
			why = err.Error()
		}
		s.planUnreadable(rel, why)
		return nil
	}
	resources, err := planResources(&plan, rel, addressLines(data))
	if err != nil {
		s.planUnreadable(rel, err.Error())
		return nil
	}
	return s.evalPlan(ctx, rel, resources)
}

// planPaths are the plan's path (planPath, relative to the root unless
// absolute) and its name in findings: inside the root, relative to it;
// outside, its base name (findings must not carry a machine's absolute
// paths).
func (s *scanner) planPaths(planPath string) (abs, rel string) {
	abs = planPath
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(s.root, filepath.FromSlash(planPath))
	}
	rel = filepath.Base(abs)
	if r, err := filepath.Rel(s.root, abs); err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		rel = filepath.ToSlash(r)
	}
	return abs, rel
}

// planUnreadable reports a plan on which no policy could be evaluated.
func (s *scanner) planUnreadable(rel, why string) {
	s.add(finding.Finding{RuleID: RulePlanError, Severity: finding.High, Path: rel, Title: "Terraform plan could not be read",
		Message: fmt.Sprintf("the Terraform plan %s could not be read, so no policy was evaluated on it: %s", rel, why)}, rel)
}

// addressLines maps each address in a pretty-printed plan to the line it
// first appears on (none when the JSON is on one line).
func addressLines(data []byte) map[string]int {
	lines := strings.Split(string(data), "\n")
	lineOfAddr := map[string]int{}
	if len(lines) > 1 {
		for i, l := range lines {
			if j := strings.Index(l, `"address": "`); j >= 0 {
				a := strings.TrimSuffix(strings.TrimSpace(l[j+len(`"address": "`):]), ",")
				a = strings.TrimSuffix(a, `"`)
				if _, seen := lineOfAddr[a]; !seen {
					lineOfAddr[a] = i + 1
				}
			}
		}
	}
	return lineOfAddr
}

// planResources lists the planned resources of every module (at most
// maxPlanResources, modules at most 100 deep) as policy input, with what
// after_unknown marks unknown as unknown markers, at the line of their
// address (else 1).
func planResources(plan *tfPlan, rel string, lineOfAddr map[string]int) ([]any, error) {
	unknown := map[string]any{}
	for _, rc := range plan.ResourceChanges {
		unknown[rc.Address] = rc.Change.AfterUnknown
	}
	resources := []any{}
	var walk func(m tfPlanModule, depth int) error
	walk = func(m tfPlanModule, depth int) error {
		if depth > 100 {
			return errors.New("modules nested more than 100 deep")
		}
		for _, r := range m.Resources {
			if len(resources) >= maxPlanResources {
				return fmt.Errorf("more than %d resources", maxPlanResources)
			}
			vals := r.Values
			if vals == nil {
				vals = map[string]any{}
			}
			markUnknown(vals, unknown[r.Address], r.Address)
			line := lineOfAddr[r.Address]
			if line == 0 {
				line = 1
			}
			res := map[string]any{"address": r.Address, "mode": r.Mode, "type": r.Type, "name": r.Name, "file": rel, "line": line, "values": vals}
			if m.Address != "" {
				res["module"] = m.Address
			}
			if r.Index != nil {
				res["index"] = r.Index
			}
			resources = append(resources, res)
		}
		for _, c := range m.ChildModules {
			if err := walk(c, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(plan.PlannedValues.RootModule, 0); err != nil {
		return nil, err
	}
	return resources, nil
}

// evalPlan evaluates the policies on the plan's resources; a finding on a
// resource is at its line.
func (s *scanner) evalPlan(ctx context.Context, rel string, resources []any) error {
	content := map[string]any{"source": "plan", "dir": "", "resources": resources, "module_calls": []any{}}
	input := map[string]any{"type": "terraform", "path": rel, "document": 0, "content": content}
	vs, err := s.eng.eval(ctx, input)
	if err != nil {
		return fmt.Errorf("evaluating the Terraform plan %s: %w", rel, err)
	}
	for _, v := range vs {
		line := 1
		if len(v.Loc) >= 2 && v.Loc[0] == "resources" {
			if i, ok := locIndex(v.Loc[1]); ok && i >= 0 && i < len(resources) {
				line = resources[i].(map[string]any)["line"].(int)
			}
		}
		if v.Line == 0 {
			v.Line = line
		}
		s.findings = append(s.findings, s.toFinding(v, rel, func([]any) int { return 0 }, "plan:"+rel))
	}
	return nil
}

// markUnknown writes unknown markers into values where after_unknown is true.
func markUnknown(vals any, unk any, addr string) {
	marker := map[string]any{tfUnknownKey: "known after apply", tfUnknownRefsKey: []any{}}
	switch u := unk.(type) {
	case map[string]any:
		m, ok := vals.(map[string]any)
		if !ok {
			return
		}
		for k, uv := range u {
			if b, ok := uv.(bool); ok && b {
				m[k] = marker
				continue
			}
			if cur, ok := m[k]; ok {
				markUnknown(cur, uv, addr)
			}
		}
	case []any:
		l, ok := vals.([]any)
		if !ok {
			return
		}
		for i, uv := range u {
			if i >= len(l) {
				break
			}
			if b, ok := uv.(bool); ok && b {
				l[i] = marker
				continue
			}
			markUnknown(l[i], uv, addr)
		}
	}
}
