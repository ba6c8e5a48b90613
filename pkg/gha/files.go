package gha

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// outputName is what the runner accepts as an output or environment name.
var outputName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// maxValueBytes bounds one output value; the runner's own limit for all outputs of a
// job is 1 MiB.
const maxValueBytes = 1 << 20

// SetOutput sets a step output. It writes name<<DELIM, value, DELIM to the file
// named by GITHUB_OUTPUT, with a random delimiter, and refuses a value containing
// the delimiter: a value an attacker controls (a PR body) cannot end the heredoc
// early and define outputs of its own. Without GITHUB_OUTPUT (a local run) the
// output is kept and returned by LocalOutputs.
func (r *Runtime) SetOutput(name, value string) error {
	return r.fileCommand("GITHUB_OUTPUT", name, value, &r.localOutputs)
}

// SetEnv sets an environment variable for the job's later steps through
// GITHUB_ENV, with the same random-delimiter rule as SetOutput.
func (r *Runtime) SetEnv(name, value string) error {
	if strings.EqualFold(name, "NODE_OPTIONS") || strings.HasPrefix(strings.ToUpper(name), "GITHUB_") {
		return fmt.Errorf("setting environment variable %q: refused, the runner reserves it", name)
	}
	return r.fileCommand("GITHUB_ENV", name, value, &r.localEnv)
}

func (r *Runtime) fileCommand(fileVar, name, value string, local *[]KeyValue) error {
	if !outputName.MatchString(name) {
		return fmt.Errorf("writing %s: name %q must match %s", fileVar, name, outputName)
	}
	if len(value) > maxValueBytes {
		return fmt.Errorf("writing %s %q: value of %d bytes exceeds the %d-byte limit", fileVar, name, len(value), maxValueBytes)
	}
	path := r.getenv(fileVar)
	if path == "" {
		r.mu.Lock()
		*local = append(*local, KeyValue{Name: name, Value: value})
		r.mu.Unlock()
		return nil
	}
	tok, err := r.randomToken()
	if err != nil {
		return fmt.Errorf("writing %s %q: %w", fileVar, name, err)
	}
	delim := "ghadelimiter_" + tok
	if strings.Contains(value, delim) || strings.Contains(name, delim) {
		return fmt.Errorf("writing %s %q: value contains the heredoc delimiter", fileVar, name)
	}
	entry := name + "<<" + delim + "\n" + value + "\n" + delim + "\n"
	r.mu.Lock()
	defer r.mu.Unlock()
	return appendFile(path, entry)
}

// appendFile appends data in one write, so a value is never half-written next to
// another step's.
func appendFile(path, data string) (err error) {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("opening %s: %w", path, err)
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	if _, err := f.WriteString(data); err != nil {
		return fmt.Errorf("appending to %s: %w", path, err)
	}
	return nil
}

// ParseFileCommands reads a GITHUB_OUTPUT or GITHUB_ENV file the way the runner
// does: name=value lines and name<<DELIM heredocs. Test harnesses use it.
func ParseFileCommands(data string) (map[string]string, error) {
	out := map[string]string{}
	lines := strings.Split(strings.ReplaceAll(data, "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if line == "" {
			continue
		}
		eq := strings.Index(line, "=")
		hd := strings.Index(line, "<<")
		if hd >= 0 && (eq < 0 || hd < eq) {
			name, delim := line[:hd], line[hd+2:]
			if name == "" || delim == "" {
				return nil, fmt.Errorf("line %d: malformed heredoc %q", i+1, line)
			}
			var val []string
			closed := false
			for i++; i < len(lines); i++ {
				if lines[i] == delim {
					closed = true
					break
				}
				val = append(val, lines[i])
			}
			if !closed {
				return nil, fmt.Errorf("line %d: heredoc for %q is not closed by %q", i+1, name, delim)
			}
			out[name] = strings.Join(val, "\n")
			continue
		}
		if eq <= 0 {
			return nil, fmt.Errorf("line %d: expected name=value or name<<DELIMITER", i+1)
		}
		out[line[:eq]] = line[eq+1:]
	}
	return out, nil
}
