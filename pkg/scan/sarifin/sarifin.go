// Package sarifin ingests SARIF produced by other tools (Semgrep, CodeQL, any
// SARIF 2.1.0 producer) so the scan gate can gate their results like its own and
// re-emit them as runs of their own.
//
// The files are untrusted: each is read through pkg/sarif.Read with a size bound,
// the number of files and results is capped, and nothing in them is executed or
// interpolated. A result's severity comes from its rule's security-severity
// property when present (GitHub's buckets), otherwise from its level: error is
// high, warning medium, note low, none info.
//
// A tool that says it did not run is not a tool that found nothing: a run whose
// invocation reports executionSuccessful false (or omits it, which SARIF 2.1.0
// requires), or that carries an error-level tool execution notification, marks
// its tool as failed (Tool.Failure); the scan gate applies its outage policy.
// A run without invocations says nothing either way and counts as run.
package sarifin

import (
	"context"
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
	gosarif "github.com/owenrumney/go-sarif/v2/sarif"

	"github.com/secure-gates/secure-gates/pkg/bounds"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/readfile"
	"github.com/secure-gates/secure-gates/pkg/sarif"
	"github.com/secure-gates/secure-gates/pkg/textclip"
)

// Defaults for Options.
const (
	DefaultMaxFileBytes = 100 << 20
	DefaultMaxFiles     = 100
	DefaultMaxResults   = 200_000
	// MaxTools bounds the distinct tools of the ingested runs: with the four
	// built-in scanners they fit the code-scan predicate's 64 tools and
	// outages.
	MaxTools = 60
)

// Options configures Ingest.
type Options struct {
	// Root is the repository root: relative patterns and result paths are
	// relative to it.
	Root string
	// MaxFileBytes bounds one SARIF file; zero means DefaultMaxFileBytes.
	MaxFileBytes int64
	// MaxFiles bounds the files matched; zero means DefaultMaxFiles.
	MaxFiles int
	// MaxResults bounds the results over all files; zero means DefaultMaxResults.
	MaxResults int
}

// Tool is one tool found in the ingested files.
type Tool struct {
	Name, Version, InformationURI string
	// Rules counts the rules the tool declared.
	Rules int
	// Failure says why the tool did not run successfully ("" when every run
	// of it succeeded, or did not say): the first failure found, naming the
	// file and run.
	Failure string
}

// Result is what Ingest read.
type Result struct {
	// Findings have Scanner set to the tool's name.
	Findings []finding.Finding
	// Tools are the tools of the ingested runs, by name.
	Tools []Tool
	// Files are the files read, in order.
	Files []string
}

// Ingest reads every SARIF file matching the patterns (doublestar globs,
// relative to Root or absolute); a file under Root is read through
// readfile.OpenInTree (a symbolic link out of Root or a FIFO is an input
// error). A pattern matching no file is an input error:
// a tool that wrote nothing is not a tool that found nothing.
func Ingest(ctx context.Context, patterns []string, o Options) (*Result, error) {
	o.MaxFileBytes = bounds.Or(o.MaxFileBytes, DefaultMaxFileBytes)
	o.MaxFiles = bounds.Or(o.MaxFiles, DefaultMaxFiles)
	o.MaxResults = bounds.Or(o.MaxResults, DefaultMaxResults)
	var files []string
	for _, p := range patterns {
		full := p
		if !filepath.IsAbs(full) {
			full = filepath.Join(o.Root, p)
		}
		m, err := doublestar.FilepathGlob(full, doublestar.WithFilesOnly())
		if err != nil {
			return nil, errkind.Input(fmt.Errorf("sarif-inputs pattern %q: %w", p, err))
		}
		if len(m) == 0 {
			return nil, errkind.Input(fmt.Errorf("sarif-inputs pattern %q matched no file: expected SARIF files written by an earlier step", p))
		}
		files = append(files, m...)
	}
	slices.Sort(files)
	files = slices.Compact(files)
	if len(files) > o.MaxFiles {
		return nil, errkind.Input(fmt.Errorf("sarif-inputs matched %d files, more than the %d accepted", len(files), o.MaxFiles))
	}
	res := &Result{Files: files}
	tools := map[string]*Tool{}
	for _, file := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// Under Root the pull request controls the file: no symbolic link
		// out of Root, no FIFO.
		f, err := readfile.OpenInTree(o.Root, file)
		if err != nil {
			return nil, errkind.Input(fmt.Errorf("reading SARIF input %s: %w", file, err))
		}
		rep, err := sarif.Read(f, o.MaxFileBytes)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("reading SARIF input %s: %w", file, err)
		}
		for i, run := range rep.Runs {
			fs, t := convertRun(run, o.Root)
			if why := runFailure(run); why != "" {
				t.Failure = textclip.Clip(fmt.Sprintf("%s run %d: %s", displayPath(o.Root, file), i, why), maxText)
			}
			if len(res.Findings)+len(fs) > o.MaxResults {
				return nil, errkind.Input(fmt.Errorf("SARIF inputs hold more than %d results", o.MaxResults))
			}
			res.Findings = append(res.Findings, fs...)
			if old, ok := tools[t.Name]; ok {
				old.Rules += t.Rules
				if old.Version == "" {
					old.Version = t.Version
				}
				if old.Failure == "" {
					old.Failure = t.Failure
				}
			} else {
				tools[t.Name] = &t
			}
		}
	}
	if len(tools) > MaxTools {
		return nil, errkind.Input(fmt.Errorf("SARIF inputs name %d tools, more than the %d the code-scan predicate records: merge the runs of one tool, or ingest fewer files", len(tools), MaxTools))
	}
	for _, t := range tools {
		res.Tools = append(res.Tools, *t)
	}
	slices.SortFunc(res.Tools, func(a, b Tool) int { return strings.Compare(a.Name, b.Name) })
	return res, nil
}

// runFailure says why a run's tool did not run successfully, or "".
func runFailure(run *gosarif.Run) string {
	for i, inv := range run.Invocations {
		if inv == nil {
			return fmt.Sprintf("invocations[%d] is null: expected an invocation object with executionSuccessful", i)
		}
		why := ""
		switch {
		case inv.ExecutionSuccessful == nil:
			why = fmt.Sprintf("invocations[%d] has no executionSuccessful (SARIF 2.1.0 requires it): the tool does not say it ran", i)
		case !*inv.ExecutionSuccessful:
			why = fmt.Sprintf("invocations[%d].executionSuccessful is false: the tool did not run successfully", i)
		}
		for j, n := range inv.ToolExecutionNotifications { // all of them: the file is size-bounded
			if n == nil || !strings.EqualFold(strings.TrimSpace(n.Level), "error") {
				continue
			}
			msg := ""
			if n.Message != nil {
				msg = str(n.Message.Text)
				if msg == "" {
					msg = str(n.Message.Markdown)
				}
			}
			msg = textclip.Line(msg, 500)
			if why == "" {
				why = fmt.Sprintf("invocations[%d] reports a tool execution error", i)
			}
			if msg != "" {
				why += fmt.Sprintf(" (toolExecutionNotifications[%d]: %q)", j, msg)
			}
			break
		}
		if why == "" && inv.ProcessStartFailureMessage != nil && strings.TrimSpace(*inv.ProcessStartFailureMessage) != "" {
			why = fmt.Sprintf("invocations[%d]: the tool did not start: %q", i, textclip.Clip(*inv.ProcessStartFailureMessage, 500))
		}
		if why != "" {
			return why
		}
	}
	return ""
}

// displayPath names a SARIF input relative to root when it lies inside it.
func displayPath(root, file string) string {
	if rel, err := filepath.Rel(root, file); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return filepath.ToSlash(rel)
	}
	return file
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func mtext(m *gosarif.MultiformatMessageString) string {
	if m == nil {
		return ""
	}
	if t := str(m.Text); t != "" {
		return t
	}
	return str(m.Markdown)
}

// Bounds on text taken from an untrusted file into findings.
const (
	maxText = 4000
	maxID   = 200
)

func convertRun(run *gosarif.Run, root string) ([]finding.Finding, Tool) {
	d := run.Tool.Driver
	name := textclip.Clip(strings.TrimSpace(d.Name), maxID)
	if name == "" {
		name = "unnamed-tool"
	}
	t := Tool{Name: name, Version: textclip.Clip(str(d.SemanticVersion), maxID), InformationURI: textclip.Clip(str(d.InformationURI), maxText), Rules: len(d.Rules)}
	if t.Version == "" {
		t.Version = textclip.Clip(str(d.Version), maxID)
	}
	rules := map[string]*gosarif.ReportingDescriptor{}
	for _, r := range d.Rules {
		if r != nil {
			rules[r.ID] = r
		}
	}
	var out []finding.Finding
	for i, r := range run.Results {
		if r == nil {
			continue
		}
		id := str(r.RuleID)
		if id == "" && r.Rule != nil {
			id = str(r.Rule.Id)
		}
		if id == "" && r.RuleIndex != nil && int(*r.RuleIndex) < len(d.Rules) && d.Rules[*r.RuleIndex] != nil {
			id = d.Rules[*r.RuleIndex].ID
		}
		if id == "" {
			id = "unknown-rule"
		}
		rule := rules[id]
		f := finding.Finding{Scanner: name, RuleID: textclip.Clip(id, maxID), Message: textclip.Clip(str(r.Message.Text), maxText)}
		if f.Message == "" {
			f.Message = textclip.Clip(str(r.Message.Markdown), maxText)
		}
		level := str(r.Level)
		if rule != nil {
			f.Title = textclip.Clip(mtext(rule.ShortDescription), maxText)
			f.Help = textclip.Clip(mtext(rule.Help), maxText)
			if f.Help == "" {
				f.Help = textclip.Clip(mtext(rule.FullDescription), maxText)
			}
			f.HelpURI = textclip.Clip(str(rule.HelpURI), maxText)
			if level == "" && rule.DefaultConfiguration != nil {
				level = rule.DefaultConfiguration.Level
			}
		}
		if f.Title == "" {
			f.Title = f.RuleID
		}
		if f.Message == "" {
			f.Message = f.Title
		}
		f.Severity = severity(rule, level)
		if len(r.Locations) > 0 && r.Locations[0] != nil && r.Locations[0].PhysicalLocation != nil {
			pl := r.Locations[0].PhysicalLocation
			if pl.ArtifactLocation != nil {
				f.Path = relPath(root, str(pl.ArtifactLocation.URI))
			}
			if pl.Region != nil && pl.Region.StartLine != nil && *pl.Region.StartLine > 0 && f.Path != "" {
				f.StartLine = *pl.Region.StartLine
				if pl.Region.EndLine != nil && *pl.Region.EndLine >= f.StartLine {
					f.EndLine = *pl.Region.EndLine
				}
			}
		}
		if v, ok := r.PartialFingerprints[sarif.FingerprintKey].(string); ok && v != "" {
			f.Fingerprint = sarif.Fingerprint(name, f.RuleID, textclip.Clip(v, maxText))
		} else {
			f.Fingerprint = sarif.Fingerprint(name, f.RuleID, f.Path, f.Message, strconv.Itoa(i))
		}
		out = append(out, f)
	}
	return out, t
}

// severity maps a rule's security-severity, or else the level.
func severity(rule *gosarif.ReportingDescriptor, level string) finding.Severity {
	if rule != nil {
		for _, props := range []map[string]interface{}{rule.Properties, rule.PropertyBag.Properties} {
			if v, ok := props["security-severity"]; ok {
				var score float64
				switch x := v.(type) {
				case string:
					score, _ = strconv.ParseFloat(strings.TrimSpace(x), 64)
				case float64:
					score = x
				}
				if score > 0 && score <= finding.MaxScore {
					return finding.FromScore(score)
				}
			}
		}
	}
	return finding.FromSARIFLevel(level)
}

// relPath turns a result's URI into a slash path relative to root, or "" when it
// does not name a file inside root.
func relPath(root, uri string) string {
	if uri == "" {
		return ""
	}
	if strings.HasPrefix(uri, "file://") {
		u, err := url.Parse(uri)
		if err != nil {
			return ""
		}
		uri = u.Path
	} else if u, err := url.PathUnescape(uri); err == nil {
		uri = u
	}
	if strings.Contains(uri, "://") {
		return ""
	}
	if filepath.IsAbs(uri) {
		rel, err := filepath.Rel(root, uri)
		if err != nil {
			return ""
		}
		uri = rel
	}
	p := path.Clean(filepath.ToSlash(uri))
	if p == "." || p == ".." || strings.HasPrefix(p, "../") || strings.HasPrefix(p, "/") {
		return ""
	}
	return textclip.Clip(p, maxText)
}
