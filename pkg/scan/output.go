package scan

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/secure-gates/secure-gates/pkg/atomicfile"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/sarif"
	"github.com/secure-gates/secure-gates/pkg/scan/secrets"
	"github.com/secure-gates/secure-gates/pkg/textclip"
)

func absDir(dir string) (string, error) {
	if dir == "" {
		dir = "."
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", errkind.Input(fmt.Errorf("scan path %s: %w", dir, err))
	}
	st, err := os.Stat(abs)
	if err != nil || !st.IsDir() {
		return "", errkind.Input(fmt.Errorf("scan path %s: expected a directory", dir))
	}
	return abs, nil
}

// File names WriteFiles uses inside the output directory.
const (
	SARIFFile    = "scan.sarif"
	CodeScanFile = "code-scan.json"
	VulnFile     = "vuln.json"
)

var slugRE = regexp.MustCompile(`[^a-z0-9._-]+`)

func slug(s string) string {
	s = strings.Trim(slugRE.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if s == "" {
		return "tool"
	}
	return s
}

// RunCategory is the code scanning category of a scanner's run under prefix.
func RunCategory(prefix string, sr ScannerRun) string {
	name := sr.Name
	if sr.Ingested {
		name = "sarif/" + slug(sr.Name)
	}
	if prefix == "" {
		return name
	}
	return strings.TrimSuffix(prefix, "/") + "/" + name
}

// SARIFRuns turns the result into one SARIF run per scanner that ran (also when
// it found nothing, so code scanning closes fixed alerts) and per ingested
// tool. Waived findings are suppressed with the exception's justification.
//
// Locations are absolute paths under Root; the SARIF writer makes them relative
// to the repository root it is given.
func (r *Result) SARIFRuns(categoryPrefix string) []sarif.Run {
	var runs []sarif.Run
	for _, sr := range r.Scanners {
		if sr.Skipped != "" && sr.Findings == 0 {
			continue // a failed tool's partial results are still reported
		}
		run := sarif.Run{Tool: toolFor(sr), Category: RunCategory(categoryPrefix, sr)}
		rules := map[string]*sarif.Rule{}
		for _, f := range r.Findings {
			if f.Scanner != sr.Name {
				continue
			}
			rule, ok := rules[f.RuleID]
			if !ok {
				rule = &sarif.Rule{ID: f.RuleID, Name: f.RuleID, ShortDescription: oneLine(cmp.Or(f.Title, f.RuleID)),
					HelpText: cmp.Or(f.Help, cmp.Or(f.Title, f.RuleID)), HelpURI: f.HelpURI, Tags: []string{"security", scannerTag(sr)}}
				rules[f.RuleID] = rule
			}
			if s := f.Severity.Score(); s > rule.SecuritySeverity {
				rule.SecuritySeverity = s
				rule.DefaultLevel = sarif.Level(f.Severity.SARIFLevel())
			}
			res := sarif.Result{RuleID: f.RuleID, Level: sarif.Level(f.Severity.SARIFLevel()), Message: cmp.Or(f.Message, f.Title),
				PartialFingerprints: map[string]string{sarif.FingerprintKey: f.Fingerprint}}
			if f.Path != "" {
				res.Locations = []sarif.Location{{Path: filepath.Join(r.Root, filepath.FromSlash(f.Path)), StartLine: f.StartLine, EndLine: endLine(f)}}
			}
			props := map[string]any{"severity": string(f.Severity)}
			if f.PURL != "" {
				props["purl"] = f.PURL
			}
			if f.Package != "" {
				props["package"], props["version"] = f.Package, f.Version
			}
			if len(f.FixedIn) > 0 {
				props["fixedIn"] = strings.Join(f.FixedIn, ", ")
			}
			res.Properties = props
			if w := f.Waived; w != nil {
				res.Suppression = &sarif.Suppression{Kind: "external", Status: "accepted", Justification: Justification(w)}
			}
			run.Results = append(run.Results, res)
		}
		for _, id := range slices.Sorted(maps.Keys(rules)) {
			run.Rules = append(run.Rules, *rules[id])
		}
		runs = append(runs, run)
	}
	return runs
}

func endLine(f finding.Finding) int {
	if f.StartLine == 0 || f.EndLine < f.StartLine {
		return 0
	}
	return f.EndLine
}

// Justification describes a waiver for SARIF and summaries.
func Justification(w *finding.Waiver) string {
	s := "Waived by exception " + w.ID
	if w.Ticket != "" {
		s += " (" + w.Ticket + ")"
	}
	if w.Reason != "" {
		s += ": " + w.Reason
	}
	if w.Expires.IsZero() {
		return s + "; no expiry"
	}
	return s + "; expires " + w.Expires.Format("2006-01-02")
}

func scannerTag(sr ScannerRun) string {
	if sr.Ingested {
		return "external"
	}
	return sr.Name
}

func toolFor(sr ScannerRun) sarif.Tool {
	switch sr.Name {
	case Secrets:
		return sarif.Tool{Name: secrets.ToolName, Version: sr.Version, InformationURI: secrets.ToolURI}
	case Deps:
		return sarif.Tool{Name: DepsTool, Version: DepsVersion, InformationURI: "https://github.com/anchore/grype"}
	case IaC:
		return sarif.Tool{Name: IaCTool, Version: IaCVersion, InformationURI: "https://github.com/secure-gates/secure-gates"}
	case License:
		return sarif.Tool{Name: LicenseTool, Version: LicenseVersion, InformationURI: "https://github.com/secure-gates/secure-gates"}
	}
	return sarif.Tool{Name: sr.Tool, Version: sr.Version}
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return textclip.Clip(s, 1000)
}

// WriteOptions configures WriteFiles.
type WriteOptions struct {
	// Category is the code scanning category prefix of the runs.
	Category string
	// Source is the repository and commit scanned, when known.
	Source *attestation.SourceRef
	// RepoRoot is the repository root SARIF locations are relative to; empty
	// means the scan root.
	RepoRoot string
	// Invocation says what ran the scan, for the vuln predicate.
	Invocation attestation.VulnInvocation
}

// Files are the paths WriteFiles wrote.
type Files struct {
	// SARIF is the SARIF file holding every run.
	SARIF string
	// SARIFDigest is its sha256.
	SARIFDigest attestation.Digest
	// CodeScan is the code-scan predicate.
	CodeScan string
	// Vuln is the vuln predicate, "" when the dependency scanner did not run.
	Vuln string
}

// WriteFiles writes the SARIF file, the code-scan predicate and (when the
// dependency scanner ran) the vuln predicate into dir, each atomically.
func (r *Result) WriteFiles(dir string, o WriteOptions) (*Files, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, errkind.Input(fmt.Errorf("creating the output folder %s: %w", dir, err))
	}
	files := &Files{SARIF: filepath.Join(dir, SARIFFile), CodeScan: filepath.Join(dir, CodeScanFile)}
	runs := r.SARIFRuns(o.Category)
	rep, err := sarif.Build(runs, sarif.Options{Root: cmp.Or(o.RepoRoot, r.Root)})
	if err != nil {
		return nil, fmt.Errorf("building the SARIF file: %w", err)
	}
	data, err := sarif.Marshal(rep)
	if err != nil {
		return nil, errkind.Infra(fmt.Errorf("encoding the SARIF file: %w", err))
	}
	if err := writeAtomic(files.SARIF, data); err != nil {
		return nil, err
	}
	files.SARIFDigest = attestation.DigestOf(data)
	pred := r.CodeScanPredicate(files.SARIFDigest, SARIFFile, o.Source)
	pj, err := json.MarshalIndent(pred, "", "  ")
	if err != nil {
		return nil, errkind.Infra(fmt.Errorf("encoding the code-scan predicate: %w", err))
	}
	if err := attestation.ValidatePredicate(attestation.PredicateCodeScan, pj, attestation.Options{}); err != nil {
		return nil, errkind.Infra(fmt.Errorf("the code-scan predicate does not validate: %w", err))
	}
	if err := writeAtomic(files.CodeScan, append(pj, '\n')); err != nil {
		return nil, err
	}
	if r.deps != nil {
		vj, err := r.deps.predicate(o.Invocation)
		if err != nil {
			return nil, err
		}
		files.Vuln = filepath.Join(dir, VulnFile)
		if err := writeAtomic(files.Vuln, vj); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// MaxRuleIDs bounds the rule ids listed in the code-scan predicate.
const MaxRuleIDs = 1000

// CodeScanPredicate builds the code-scan predicate of the result.
func (r *Result) CodeScanPredicate(sarifDigest attestation.Digest, sarifURI string, source *attestation.SourceRef) attestation.CodeScan {
	p := attestation.CodeScan{
		Decision:       r.Decision,
		ScanStartedOn:  r.StartedOn,
		ScanFinishedOn: r.FinishedOn,
		SARIF:          attestation.SARIFRef{Digest: sarifDigest, URI: sarifURI},
		Outages:        r.Outages,
		Source:         source,
		Tools:          []attestation.Tool{}, // empty, not null, when every scanner had an outage
	}
	if r.NotScannedCount > 0 && len(r.NotScanned) > 0 {
		ns := &attestation.NotScanned{Count: max(r.NotScannedCount, len(r.NotScanned))}
		for i, f := range r.NotScanned {
			if i == attestation.MaxNotScannedFiles {
				break
			}
			ns.Files = append(ns.Files, attestation.NotScannedFile{Path: clipPath(f.Path), Scanner: f.Scanner, Reason: f.Reason})
		}
		p.NotScanned = ns
	}
	var ids []string
	for _, sr := range r.Scanners {
		if sr.Skipped != "" {
			continue
		}
		t := toolFor(sr)
		p.Tools = append(p.Tools, attestation.Tool{Name: t.Name, Version: cmp.Or(t.Version, "unknown")})
		ids = append(ids, sr.Rules...)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	p.Rules.Count = len(ids)
	if len(ids) <= MaxRuleIDs {
		p.Rules.IDs = ids
	}
	c := r.Counts()
	p.Counts = attestation.SeverityCounts{Critical: c[finding.Critical], High: c[finding.High], Medium: c[finding.Medium],
		Low: c[finding.Low], Info: c[finding.Info], Unknown: c[finding.Unknown]}
	for _, a := range r.Applied {
		p.ExceptionsApplied = append(p.ExceptionsApplied, attestation.AppliedException{
			ID: predText(a.Entry.ID), Scope: predText(a.Entry.Scope), Reason: cmp.Or(predText(a.Entry.Reason), "none given"),
			Ticket: cmp.Or(predText(a.Entry.Ticket), "none given"), Expires: a.Entry.Expires, FindingsWaived: a.Findings})
	}
	p.Waived = r.waivedRecord()
	return p
}

// waivedRecord lists the findings the repository's exceptions file and VEX
// documents waived, for the code-scan predicate's waived field (nil when none
// was waived).
func (r *Result) waivedRecord() *attestation.WaivedFindings {
	var w *attestation.WaivedFindings
	for _, f := range r.Findings {
		if f.Waived == nil {
			continue
		}
		if w == nil {
			w = &attestation.WaivedFindings{SeverityCutoff: string(r.Cutoff), OnlyFixed: r.OnlyFixed, Findings: []attestation.WaivedFinding{}}
		}
		switch f.Severity {
		case finding.Critical:
			w.Counts.Critical++
		case finding.High:
			w.Counts.High++
		case finding.Medium:
			w.Counts.Medium++
		case finding.Low:
			w.Counts.Low++
		case finding.Info:
			w.Counts.Info++
		default:
			w.Counts.Unknown++
		}
		if len(w.Findings) == attestation.MaxWaivedFindings {
			continue // r.Findings is most severe first: the ones left out are the least severe
		}
		kind := f.Waived.Kind
		if kind != finding.WaiverVEX {
			kind = finding.WaiverExceptionsFile
		}
		sev := f.Severity
		if sev.Rank() == 0 && sev != finding.Info {
			sev = finding.Unknown
		}
		wf := attestation.WaivedFinding{Scanner: cmp.Or(predText(f.Scanner), "unknown"), RuleID: cmp.Or(predText(f.RuleID), "unknown"), Severity: string(sev),
			Fingerprint: predText(f.Fingerprint), Path: predText(f.Path), StartLine: max(f.StartLine, 0), PURL: predText(f.PURL),
			Fixable: f.Fixable(),
			Waiver: attestation.ScanWaiver{Kind: kind, ID: cmp.Or(predText(f.Waived.ID), "unknown"), Source: predText(f.Waived.Source),
				Reason: predText(f.Waived.Reason), Ticket: predText(f.Waived.Ticket), Approver: predText(f.Waived.Approver),
				Scope: predText(f.Waived.Scope), Expires: f.Waived.Expires}}
		for _, a := range f.Aliases {
			if a = predText(a); a != "" && len(wf.Aliases) < 64 {
				wf.Aliases = append(wf.Aliases, a)
			}
		}
		w.Findings = append(w.Findings, wf)
	}
	return w
}

// predText makes text from the scanned tree (an exceptions file, a VEX
// document) fit the predicate schema's text: trimmed, at most 4,096 bytes of
// valid UTF-8, and "" when blank (so an optional field is left out).
func predText(s string) string {
	return textclip.Clip(strings.TrimSpace(s), 4096)
}

// clipPath bounds a file name for the predicate (4,096 characters).
func clipPath(p string) string {
	p = strings.ToValidUTF8(p, "\uFFFD")
	if r := []rune(p); len(r) > 4000 {
		return string(r[:4000]) + "…"
	}
	return p
}

func writeAtomic(path string, data []byte) error {
	return errkind.Infra(atomicfile.Write(path, data))
}
