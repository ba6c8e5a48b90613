package sarif

// Level is a SARIF result level.
type Level string

// The SARIF levels. GitHub shows error, warning and note; none marks a result
// that is not a problem.
const (
	LevelError   Level = "error"
	LevelWarning Level = "warning"
	LevelNote    Level = "note"
	LevelNone    Level = "none"
)

// valid reports whether l is a SARIF level or empty (unset).
func (l Level) valid() bool {
	switch l {
	case "", LevelError, LevelWarning, LevelNote, LevelNone:
		return true
	}
	return false
}

// Tool names the program that produced a run.
type Tool struct {
	// Name is the tool's name (tool.driver.name). Required. GitHub groups
	// analyses by this name and the run's category.
	Name string
	// Version is the tool's version (tool.driver.version; also
	// tool.driver.semanticVersion when it is a semantic version).
	Version string
	// InformationURI is an absolute URI describing the tool.
	InformationURI string
}

// Run is the findings of one tool for one analysis category.
type Run struct {
	// Tool is the tool that produced the findings.
	Tool Tool
	// Category distinguishes analyses of the same tool for the same commit
	// (for example "secrets" or "deps/go"). It is emitted as
	// runAutomationDetails.id "<category>/". Empty means no category.
	Category string
	// Rules describes every rule a result refers to. Rule ids are unique.
	Rules []Rule
	// Results are the findings.
	Results []Result
}

// Rule describes a check a tool performs (a SARIF reportingDescriptor).
type Rule struct {
	// ID is the stable rule identifier results refer to (CVE/GHSA id, gitleaks
	// rule id, policy id...). Required.
	ID string
	// Name is a short human-readable name.
	Name string
	// ShortDescription is one sentence GitHub shows at the top of an alert.
	ShortDescription string
	// FullDescription is the detailed description.
	FullDescription string
	// HelpText is the plain-text help (help.text).
	HelpText string
	// HelpMarkdown is the Markdown help GitHub renders (help.markdown). When
	// only Markdown is given it is also used as help.text, which SARIF requires.
	HelpMarkdown string
	// HelpURI is an absolute URI with more information.
	HelpURI string
	// SecuritySeverity is the score in (0, 10] GitHub turns into
	// critical/high/medium/low (properties."security-severity", emitted with one
	// decimal, rounded down so the bucket never rises). 0 means no security
	// severity. Setting it adds the "security" tag GitHub requires for the
	// score to be used.
	SecuritySeverity float64
	// Tags are emitted sorted and de-duplicated as properties.tags.
	Tags []string
	// DefaultLevel is the level of results that do not set one
	// (defaultConfiguration.level).
	DefaultLevel Level
	// Properties are extra rule properties. The keys "tags" and
	// "security-severity" are reserved.
	Properties map[string]any
}

// Result is one finding.
type Result struct {
	// RuleID is the id of a Rule of the same run. Required.
	RuleID string
	// Level is the result's level; empty means the rule's DefaultLevel.
	Level Level
	// Message says what was found. Required.
	Message string
	// Locations are where it was found; the first is the primary location.
	// GitHub drops results that have no location.
	Locations []Location
	// PartialFingerprints identify the result across runs. GitHub matches on
	// the FingerprintKey entry; when that entry is missing the writer fills it
	// from the rule id, primary location path, message and the result's
	// occurrence among identical ones (see Fingerprint).
	PartialFingerprints map[string]string
	// Suppression marks a waived finding. GitHub shows suppressed results as
	// dismissed alerts.
	Suppression *Suppression
	// Properties are extra result properties.
	Properties map[string]any
}

// Location is a region of a file in the repository.
type Location struct {
	// Path is the file: relative to the repository root ("src/a.go" or
	// "./src/a.go"), absolute under Options.Root, or a file:// URI under it.
	// It is emitted as a URI relative to the root; a path that leaves the root
	// is an error.
	Path string
	// StartLine is the 1-based first line; 0 means the whole file (then the
	// other fields must be 0 too).
	StartLine int
	// StartColumn is the 1-based first column; 0 means unset.
	StartColumn int
	// EndLine is the 1-based last line; 0 means StartLine.
	EndLine int
	// EndColumn is the 1-based column after the region's last character; 0
	// means unset.
	EndColumn int
}

// Suppression records that a finding is waived.
type Suppression struct {
	// Kind is "external" (the default: the waiver lives outside the code, for
	// example a signed exception) or "inSource".
	Kind string
	// Status is "accepted" (the default), "underReview" or "rejected".
	Status string
	// Justification says why, for example the exception's reason and ticket.
	Justification string
}
