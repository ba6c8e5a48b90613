package iac

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
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
	// Image is the FROM image with global ARG defaults substituted.
	Image string `json:"image"`
	// Platform is the --platform flag, if any.
	Platform string `json:"platform"`
	// BaseStage is the index of the earlier stage Image names, or -1 when
	// Image is an external image (or scratch).
	BaseStage int `json:"base_stage"`
	// User is the effective USER at the end of the stage (inherited from
	// BaseStage when the stage sets none); empty when never set.
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
	// form split on whitespace (quotes kept together).
	Args []string `json:"args"`
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

// Dockerfile parser bounds: untrusted input stays small.
const (
	maxDockerLine         = 1 << 20
	maxDockerInstructions = 10000
)

var (
	directiveRe = regexp.MustCompile(`^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.*?)\s*$`)
	heredocRe   = regexp.MustCompile(`<<(-?)\s*(["']?)([A-Za-z_][A-Za-z0-9_]*)(["']?)`)
	argRefRe    = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?`)
)

// ParseDockerfile parses a Dockerfile: parser directives (escape), comments,
// line continuations, heredocs, and the instructions policies care about
// (FROM, USER, ADD, ENV, ARG; every other instruction is kept with its args).
// It fails on input that is not a Dockerfile (an instruction before FROM other
// than ARG, FROM without an image, too many instructions).
func ParseDockerfile(data []byte) (*Dockerfile, error) {
	escape := byte('\\')
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), maxDockerLine)
	var lines []string
	for sc.Scan() {
		lines = append(lines, strings.TrimSuffix(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading lines: %w", err)
	}
	// Parser directives: only at the very top, before any other line.
	for _, l := range lines {
		m := directiveRe.FindStringSubmatch(l)
		if m == nil {
			break
		}
		if strings.EqualFold(m[1], "escape") {
			switch m[2] {
			case "`":
				escape = '`'
			case `\`:
				escape = '\\'
			default:
				return nil, fmt.Errorf("line 1: escape directive %q: expected \\ or `", m[2])
			}
		}
	}

	var ins []Instruction
	for i := 0; i < len(lines); i++ {
		trimmed := strings.TrimSpace(lines[i])
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		start := i
		var b strings.Builder
		cur := lines[i]
		for {
			t := strings.TrimRight(cur, " \t")
			if len(t) > 0 && t[len(t)-1] == escape && i+1 < len(lines) {
				b.WriteString(t[:len(t)-1])
				// skip comment and empty lines inside a continuation
				i++
				for i < len(lines) && (strings.HasPrefix(strings.TrimSpace(lines[i]), "#") || strings.TrimSpace(lines[i]) == "") && i+1 < len(lines) {
					i++
				}
				cur = lines[i]
				continue
			}
			if len(t) > 0 && t[len(t)-1] == escape {
				t = t[:len(t)-1]
			}
			b.WriteString(t)
			break
		}
		text := strings.TrimSpace(b.String())
		var cmd, rest string
		if j := strings.IndexAny(text, " \t"); j >= 0 {
			cmd, rest = text[:j], text[j+1:]
		} else {
			cmd, rest = text, ""
		}
		in := Instruction{Cmd: strings.ToUpper(cmd), Line: start + 1, Flags: map[string]string{}}
		// Heredocs (RUN/COPY/ADD <<EOF): skip the bodies.
		if in.Cmd == "RUN" || in.Cmd == "COPY" || in.Cmd == "ADD" {
			for _, m := range heredocRe.FindAllStringSubmatch(rest, -1) {
				dash, delim := m[1] == "-", m[3]
				for i+1 < len(lines) {
					i++
					l := lines[i]
					if dash {
						l = strings.TrimLeft(l, "\t")
					}
					if l == delim {
						break
					}
				}
			}
		}
		in.EndLine = i + 1
		rest = strings.TrimSpace(rest)
		// flags
		for strings.HasPrefix(rest, "--") {
			f, r := rest, ""
			if j := strings.IndexAny(rest, " \t"); j >= 0 {
				f, r = rest[:j], strings.TrimSpace(rest[j+1:])
			}
			k, v, _ := strings.Cut(f[2:], "=")
			in.Flags[strings.ToLower(k)] = v
			rest = r
		}
		in.Value = rest
		if strings.HasPrefix(rest, "[") {
			var arr []string
			if json.Unmarshal([]byte(rest), &arr) == nil {
				in.Args = arr
			}
		}
		if in.Args == nil {
			in.Args = splitWords(rest)
		}
		switch in.Cmd {
		case "ENV":
			in.Vars = parseEnv(rest, in.Line)
		case "ARG":
			for _, w := range in.Args {
				k, v, has := strings.Cut(w, "=")
				in.Vars = append(in.Vars, Var{Name: k, Value: unquote(v), HasValue: has, Line: in.Line})
			}
		}
		ins = append(ins, in)
		if len(ins) > maxDockerInstructions {
			return nil, fmt.Errorf("more than %d instructions", maxDockerInstructions)
		}
	}

	df := &Dockerfile{Args: []Var{}, Stages: []Stage{}}
	globals := map[string]string{}
	names := map[string]int{}
	for _, in := range ins {
		if in.Cmd == "FROM" {
			if len(in.Args) == 0 {
				return nil, fmt.Errorf("line %d: FROM without an image", in.Line)
			}
			st := Stage{Index: len(df.Stages), Line: in.Line, Platform: in.Flags["platform"], BaseStage: -1,
				Instructions: []Instruction{}}
			st.Image = argRefRe.ReplaceAllStringFunc(in.Args[0], func(ref string) string {
				name := argRefRe.FindStringSubmatch(ref)[1]
				if v, ok := globals[name]; ok {
					return v
				}
				return ref
			})
			if len(in.Args) >= 3 && strings.EqualFold(in.Args[1], "AS") {
				st.Name = strings.ToLower(in.Args[2])
			}
			if idx, ok := names[strings.ToLower(st.Image)]; ok {
				st.BaseStage = idx
				st.User, st.UserLine = df.Stages[idx].User, df.Stages[idx].UserLine
			}
			if st.Name != "" {
				names[st.Name] = st.Index
			}
			names[fmt.Sprint(st.Index)] = st.Index
			st.Instructions = append(st.Instructions, in)
			df.Stages = append(df.Stages, st)
			continue
		}
		if len(df.Stages) == 0 {
			if in.Cmd != "ARG" {
				return nil, fmt.Errorf("line %d: %s before the first FROM: expected FROM (or ARG)", in.Line, in.Cmd)
			}
			for _, v := range in.Vars {
				globals[v.Name] = v.Value
				df.Args = append(df.Args, v)
			}
			continue
		}
		st := &df.Stages[len(df.Stages)-1]
		if in.Cmd == "USER" {
			st.User, st.UserLine = strings.TrimSpace(in.Value), in.Line
		}
		st.Instructions = append(st.Instructions, in)
	}
	if len(df.Stages) == 0 {
		return nil, fmt.Errorf("no FROM instruction")
	}
	return df, nil
}

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

// parseEnv parses ENV's two forms: "K=V K2=V2" and the legacy "K V".
func parseEnv(s string, line int) []Var {
	words := splitWords(s)
	if len(words) == 0 {
		return nil
	}
	if !strings.Contains(words[0], "=") {
		_, v, _ := strings.Cut(s, words[0])
		return []Var{{Name: words[0], Value: unquote(strings.TrimSpace(v)), HasValue: true, Line: line}}
	}
	var out []Var
	for _, w := range words {
		k, v, has := strings.Cut(w, "=")
		out = append(out, Var{Name: k, Value: unquote(v), HasValue: has, Line: line})
	}
	return out
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}
