package assess

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/secure-gates/secure-gates/pkg/textclip"
)

// MaxAnswersBytes caps .secure-gates/assessment.yaml.
const MaxAnswersBytes = 64 << 10

// DefaultReassessment is how long a signed-off answer counts: the seed asks for
// the assessment to be re-taken quarterly.
const DefaultReassessment = 90 * 24 * time.Hour

// AnswersFile is the schema of .secure-gates/assessment.yaml: the answers a
// repository signs off for the questions evidence in the tree cannot settle.
//
//	apiVersion: secure-gates/v1
//	kind: Assessment
//	answers:
//	  - question: 13
//	    score: 2
//	    owner: "@acme/platform-security"
//	    date: 2026-11-02
//	    evidence: https://wiki.acme.example/runtime/falco
//	    note: Falco DaemonSet in both production clusters
type AnswersFile struct {
	APIVersion string         `yaml:"apiVersion"`
	Kind       string         `yaml:"kind"`
	Answers    []SignedAnswer `yaml:"answers"`
}

// SignedAnswer is one signed-off answer.
type SignedAnswer struct {
	// Question is the question's id, 1–20; only the attestable ones are accepted.
	Question int `yaml:"question"`
	// Score is 0, 1 or 2.
	Score int `yaml:"score"`
	// Owner is who signed the answer off (a team, a person, an e-mail address).
	Owner string `yaml:"owner"`
	// Date is the day the answer was signed off, YYYY-MM-DD.
	Date string `yaml:"date"`
	// Evidence is an https link to the evidence.
	Evidence string `yaml:"evidence"`
	// Note is an optional one-line summary.
	Note string `yaml:"note,omitempty"`

	// Line is the answer's line in the file.
	Line int `yaml:"-"`
	// On is Date parsed.
	On time.Time `yaml:"-"`
}

// Attestable lists the questions an assessment.yaml answer may score: those
// whose evidence lives outside the repository (runtime, SIEM, incident
// practice, cloud trust policies, onboarding time). The others are scored from
// the repository's evidence only, so a file cannot claim what the tree shows
// is missing.
var Attestable = []int{13, 14, 15, 16, 17, 18, 20}

// ParseAnswers parses and validates an assessment.yaml. It is strict: unknown
// fields, more than one document, a duplicate question, a question that is not
// attestable, a score outside 0–2, an empty owner, a date that is not
// YYYY-MM-DD or is in the future (after now plus a day), or evidence that is not
// an https URL are errors naming the field.
func ParseAnswers(data []byte, now time.Time) (*AnswersFile, error) {
	if len(data) > MaxAnswersBytes {
		return nil, fmt.Errorf("larger than %d bytes", MaxAnswersBytes)
	}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the file is empty")
		}
		return nil, fmt.Errorf("parsing: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("the file holds more than one YAML document")
	}
	dec = yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f AnswersFile
	if err := dec.Decode(&f); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		msg = strings.ReplaceAll(msg, "in type assess.AnswersFile", "at the top level (known: apiVersion, kind, answers)")
		msg = strings.ReplaceAll(msg, "in type assess.SignedAnswer", "in an answer (known: question, score, owner, date, evidence, note)")
		return nil, fmt.Errorf("parsing: %s", msg)
	}
	if f.APIVersion != "secure-gates/v1" || f.Kind != "Assessment" {
		return nil, fmt.Errorf("apiVersion/kind are %q/%q: want secure-gates/v1 and Assessment", f.APIVersion, f.Kind)
	}
	lines := answerLines(&root)
	if len(f.Answers) > len(Rules) {
		return nil, fmt.Errorf("answers: %d entries, at most one per question (%d)", len(f.Answers), len(Rules))
	}
	var errs []error
	seen := map[int]bool{}
	for i := range f.Answers {
		a := &f.Answers[i]
		if i < len(lines) {
			a.Line = lines[i]
		}
		field := fmt.Sprintf("answers[%d] (line %d)", i, a.Line)
		switch {
		case a.Question < 1 || a.Question > len(Rules):
			errs = append(errs, fmt.Errorf("%s: question %d: want 1–%d", field, a.Question, len(Rules)))
		case !slices.Contains(Attestable, a.Question):
			errs = append(errs, fmt.Errorf("%s: question %d is scored from the repository's evidence only; assessment.yaml may answer questions %s", field, a.Question, intList(Attestable)))
		case seen[a.Question]:
			errs = append(errs, fmt.Errorf("%s: question %d is answered twice", field, a.Question))
		}
		seen[a.Question] = true
		if a.Score < 0 || a.Score > 2 {
			errs = append(errs, fmt.Errorf("%s: score %d: want 0, 1 or 2", field, a.Score))
		}
		if err := checkText(a.Owner, 200, true); err != nil {
			errs = append(errs, fmt.Errorf("%s: owner: %w", field, err))
		}
		if err := checkText(a.Note, 500, false); err != nil {
			errs = append(errs, fmt.Errorf("%s: note: %w", field, err))
		}
		on, err := time.Parse(time.DateOnly, a.Date)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: date %q: want YYYY-MM-DD", field, textclip.Clip(a.Date, 40)))
		case on.After(now.Add(24 * time.Hour)):
			errs = append(errs, fmt.Errorf("%s: date %s is in the future", field, a.Date))
		default:
			a.On = on
		}
		if err := checkEvidenceURL(a.Evidence); err != nil {
			errs = append(errs, fmt.Errorf("%s: evidence: %w", field, err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &f, nil
}

// answerLines returns the line of each entry of the answers sequence.
func answerLines(root *yaml.Node) []int {
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "answers" && m.Content[i+1].Kind == yaml.SequenceNode {
			var out []int
			for _, n := range m.Content[i+1].Content {
				out = append(out, n.Line)
			}
			return out
		}
	}
	return nil
}

func checkText(s string, max int, required bool) error {
	if strings.TrimSpace(s) == "" {
		if required {
			return errors.New("required")
		}
		return nil
	}
	if len(s) > max {
		return fmt.Errorf("longer than %d bytes", max)
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return errors.New("holds a control or invalid character")
		}
	}
	return nil
}

func checkEvidenceURL(s string) error {
	if s == "" {
		return errors.New("required: an https link to the evidence")
	}
	if len(s) > 2048 {
		return errors.New("longer than 2048 bytes")
	}
	if err := checkText(s, 2048, true); err != nil {
		return err
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || strings.ContainsAny(s, " <>\"`") {
		return fmt.Errorf("%q is not an https URL", textclip.Clip(s, 80))
	}
	return nil
}

func intList(ids []int) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprint(id)
	}
	return strings.Join(parts, ", ")
}
