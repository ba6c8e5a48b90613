package gha

import (
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/sethvargo/go-githubactions"
)

// Level is the severity of an annotation.
type Level string

// Annotation levels, as the runner names the commands.
const (
	LevelError   Level = "error"
	LevelWarning Level = "warning"
	LevelNotice  Level = "notice"
)

// Annotation is a message the runner attaches to a file and line of the pull
// request or to the run.
type Annotation struct {
	Level     Level
	Title     string
	File      string // relative to the repository root
	Line      int
	EndLine   int
	Col       int
	EndColumn int
	Message   string
}

// command renders a workflow command with the toolkit's escaping: data escapes %,
// \r and \n; property values also escape : and ,.
func command(name string, props map[string]string, msg string) string {
	c := githubactions.Command{Name: name, Message: msg, Properties: props}
	return c.String()
}

// FormatAnnotation renders a as a workflow command line (without newline).
// Title, file and message keep their newlines (the command's escaping encodes
// them); their other control characters are written as Go escapes, since the
// runner's log is also read raw in terminals (gh run view --log).
func FormatAnnotation(a Annotation) string {
	a.Title, a.File, a.Message = escapeKeepLines(a.Title), escapeKeepLines(a.File), escapeKeepLines(a.Message)
	props := map[string]string{}
	if a.Title != "" {
		props["title"] = a.Title
	}
	if a.File != "" {
		props["file"] = a.File
		if a.Line > 0 {
			props["line"] = strconv.Itoa(a.Line)
		}
		if a.EndLine > 0 {
			props["endLine"] = strconv.Itoa(a.EndLine)
		}
		if a.Col > 0 {
			props["col"] = strconv.Itoa(a.Col)
		}
		if a.EndColumn > 0 {
			props["endColumn"] = strconv.Itoa(a.EndColumn)
		}
	}
	return command(string(a.level()), props, a.Message)
}

// level is the annotation's level, a warning when it is none of the three.
func (a Annotation) level() Level {
	switch a.Level {
	case LevelError, LevelWarning, LevelNotice:
		return a.Level
	}
	return LevelWarning
}

// Annotate writes an annotation command. Off a runner it writes the annotation
// as a readable line instead: "warning: file:line: title: message".
func (r *Runtime) Annotate(a Annotation) {
	if r.InActions() {
		r.writeLine(FormatAnnotation(a))
		return
	}
	line := string(a.level()) + ": "
	if a.File != "" {
		line += a.File
		if a.Line > 0 {
			line += ":" + strconv.Itoa(a.Line)
		}
		line += ": "
	}
	if a.Title != "" {
		line += a.Title + ": "
	}
	r.writeTerminal(line + a.Message)
}

// AddMask tells the runner to replace s with *** in the log from now on. Each line
// of a multi-line secret is masked too, since the runner masks line by line. The
// secret is also remembered so Redact can scrub it from text the gate writes to
// files. Off a runner (GITHUB_ACTIONS unset) no command is written: nothing would
// act on it, and it would print the secret to the terminal.
func (r *Runtime) AddMask(s string) {
	if strings.TrimSpace(s) == "" {
		return
	}
	r.mu.Lock()
	r.masked = append(r.masked, s)
	r.mu.Unlock()
	if !r.InActions() {
		return
	}
	r.writeLine(command("add-mask", nil, s))
	if strings.ContainsAny(s, "\r\n") {
		for _, line := range strings.FieldsFunc(s, func(c rune) bool { return c == '\n' || c == '\r' }) {
			if strings.TrimSpace(line) != "" {
				r.writeLine(command("add-mask", nil, line))
			}
		}
	}
}

// Redact replaces every masked value in s with ***.
func (r *Runtime) Redact(s string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.masked {
		s = strings.ReplaceAll(s, m, "***")
	}
	return s
}

// Group starts a collapsible group of log lines; close it with the returned func.
// Off a runner the group is a heading line, "== title".
func (r *Runtime) Group(title string) (end func()) {
	if !r.InActions() {
		r.writeTerminal("== " + title)
		return func() {}
	}
	r.writeLine(command("group", nil, escapeKeepLines(title)))
	return func() { r.writeLine(command("endgroup", nil, "")) }
}

// Debugf writes a debug message (shown when step debug logging is on). Off a
// runner it writes nothing unless RUNNER_DEBUG is 1.
func (r *Runtime) Debugf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if !r.InActions() {
		if r.getenv("RUNNER_DEBUG") == "1" {
			r.writeTerminal("debug: " + msg)
		}
		return
	}
	r.writeLine(command("debug", nil, escapeKeepLines(msg)))
}

// Infof writes plain log lines. The format is the project's own, but its
// arguments may name files or images from outside: each line goes through
// SafeLine, on a runner too, so none can start a workflow command. Long
// untrusted text goes through LogUntrusted.
func (r *Runtime) Infof(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	for _, line := range strings.Split(msg, "\n") {
		r.writeLine(SafeLine(line))
	}
}

// LogUntrusted writes text the gate does not control (a PR body, a scanner's
// message) to the log inside stop-commands with a random token, so no line of it is
// processed as a workflow command.
// The stop-commands are written off a runner too (a runner that is not detected
// must still not act on the text), and the text's control characters (but tabs)
// are escaped everywhere, so it cannot drive a terminal either — the runner's
// log is read raw too (gh run view --log).
func (r *Runtime) LogUntrusted(text string) error {
	tok, err := r.randomToken()
	if err != nil {
		return err
	}
	text = strings.ReplaceAll(text, "::"+tok+"::", "")
	r.writeLine("::stop-commands::" + tok)
	for _, line := range strings.Split(strings.ReplaceAll(text, "\r", ""), "\n") {
		r.writeLine(escape(line, true)) // on a runner too: its log is also read raw in terminals
	}
	r.writeLine("::" + tok + "::")
	return nil
}

// writeTerminal writes text for a person at a terminal, line by line, each
// through SafeLine (escape sequences a scanned tree could plant in a message
// are written as Go escapes; no line starts a workflow command).
func (r *Runtime) writeTerminal(text string) {
	for _, line := range strings.Split(text, "\n") {
		r.writeLine(SafeLine(line))
	}
}

func (r *Runtime) writeLine(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, _ = io.WriteString(r.out, s+"\n")
}

func (r *Runtime) randomToken() (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(r.rand, b); err != nil {
		return "", fmt.Errorf("reading random token: %w", err)
	}
	return hex.EncodeToString(b), nil
}
