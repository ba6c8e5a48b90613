package attestation

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/secure-gates/secure-gates/pkg/errkind"
)

//go:embed schema/*.json
var schemaFS embed.FS

// maxSchemaErrors caps the schema violations one error message lists.
const maxSchemaErrors = 10

// ValidatePredicate checks predicate, the JSON of a statement's predicate,
// against predicateType (a URI or short name from the registry). The predicate
// must be one JSON object, no larger than opts.MaxPayloadBytes, with no
// duplicate keys. Then:
//
//   - code-scan, threat-model, exception, assessment: the type's JSON schema
//     (unknown fields are errors), plus code-scan's scanFinishedOn not before
//     scanStartedOn, threat-model's result "pass" only with every question
//     answered, and assessment's questions 1–20 in order, total the sum of
//     the scores and tier the total's;
//   - dast: the schema, plus scanFinishedOn not before scanStartedOn, counts
//     equal to the alerts counted (when none were omitted), and decision
//     "pass" only without a rules-file FAIL alert or an outage under "fail";
//   - vuln: scanner.uri, and metadata.scanFinishedOn as RFC 3339 and not the
//     zero time (what cosign writes when the scanner gave none);
//   - cyclonedx: bomFormat "CycloneDX" and a specVersion;
//   - spdx: spdxVersion starting "SPDX-" and an SPDXID;
//   - slsaprovenance: buildDefinition.buildType and runDetails.builder.id;
//   - vsa: verifier.id and verificationResult PASSED or FAILED.
//
// Errors name the predicate type and the failing field (a JSON pointer for
// schema violations).
func ValidatePredicate(predicateType string, predicate []byte, opts Options) error {
	uri, err := ResolveType(predicateType)
	if err != nil {
		return fmt.Errorf("validating predicate: %w", err)
	}
	if err := validatePredicate(uri, predicate, opts); err != nil {
		return errkind.Input(err)
	}
	return nil
}

func validatePredicate(uri string, predicate []byte, opts Options) error {
	if err := checkPredicate(uri, predicate, opts); err != nil {
		return fmt.Errorf("validating %s predicate: %w", uri, err)
	}
	return nil
}

// checkPredicate checks the predicate's size, that it is a JSON object, and
// its type's rules.
func checkPredicate(uri string, predicate []byte, opts Options) error {
	if max := opts.maxPayload(); len(predicate) > max {
		return fmt.Errorf("predicate is %d bytes, over the limit of %d", len(predicate), max)
	}
	if err := checkJSONObject(predicate); err != nil {
		return err
	}
	switch uri {
	case PredicateCodeScan:
		return validateCodeScan(predicate)
	case PredicateThreatModel:
		return validateThreatModel(predicate)
	case PredicateException:
		var p Exception
		return validateOwn("exception", predicate, &p)
	case PredicateAssessment:
		return validateAssessment(predicate)
	case PredicateDAST:
		var p DAST
		if err := validateOwn("dast", predicate, &p); err != nil {
			return err
		}
		return checkDAST(&p)
	case PredicateOpenVEX:
		_, err := ParseOpenVEX(predicate)
		return err
	case PredicateVuln:
		return validateVuln(predicate)
	case PredicateCycloneDX:
		return validateCycloneDX(predicate)
	case PredicateSPDX:
		return validateSPDX(predicate)
	case PredicateSLSAProvenance:
		if err := requireString(predicate, "buildDefinition", "buildType"); err != nil {
			return err
		}
		return requireString(predicate, "runDetails", "builder", "id")
	case PredicateVSA:
		return validateVSA(predicate)
	}
	return fmt.Errorf("no validation rules for predicate type %q", truncate(uri))
}

// validateCodeScan checks a code-scan predicate against its schema, that it
// finished after it started, and that notScanned counts the files it lists.
func validateCodeScan(predicate []byte) error {
	var p CodeScan
	if err := validateOwn("code-scan", predicate, &p); err != nil {
		return err
	}
	if p.ScanFinishedOn.Before(p.ScanStartedOn) {
		return errors.New("scanFinishedOn is before scanStartedOn")
	}
	if p.NotScanned != nil && p.NotScanned.Count < len(p.NotScanned.Files) {
		return fmt.Errorf("/notScanned/count: %d is less than the %d files listed", p.NotScanned.Count, len(p.NotScanned.Files))
	}
	return nil
}

// validateThreatModel checks a threat-model predicate against its schema,
// and that a pass answered every question.
func validateThreatModel(predicate []byte) error {
	var p ThreatModel
	if err := validateOwn("threat-model", predicate, &p); err != nil {
		return err
	}
	if p.Result == DecisionPass {
		for i, q := range p.Questions {
			if !q.Answered {
				return fmt.Errorf("/questions/%d: result is pass but question %q is not answered", i, truncate(q.Label))
			}
		}
	}
	return nil
}

// validateAssessment checks an assessment predicate against its schema, the
// questions' order, and that the total and tier follow from the scores.
func validateAssessment(predicate []byte) error {
	var p Assessment
	if err := validateOwn("assessment", predicate, &p); err != nil {
		return err
	}
	sum := 0
	for i, q := range p.Questions {
		if q.ID != i+1 {
			return fmt.Errorf("/questions/%d: id %d, want %d (the 20 questions in order)", i, q.ID, i+1)
		}
		sum += q.Score
	}
	if p.Total != sum {
		return fmt.Errorf("/total: %d, but the scores add up to %d", p.Total, sum)
	}
	if want := AssessmentTier(p.Total); p.Tier != want {
		return fmt.Errorf("/tier: %d, but a total of %d is tier %d", p.Tier, p.Total, want)
	}
	return nil
}

// validateVuln checks a vuln predicate's scanner.uri and its non-zero
// RFC 3339 metadata.scanFinishedOn.
func validateVuln(predicate []byte) error {
	if err := requireString(predicate, "scanner", "uri"); err != nil {
		return err
	}
	finished, err := stringAt(predicate, "metadata", "scanFinishedOn")
	if err != nil {
		return err
	}
	t, err := time.Parse(time.RFC3339, finished)
	if err != nil {
		return fmt.Errorf("metadata.scanFinishedOn %q: want an RFC 3339 time", truncate(finished))
	}
	if t.IsZero() {
		return errors.New("metadata.scanFinishedOn is the zero time: the scanner recorded no finish time")
	}
	return nil
}

// validateCycloneDX checks a CycloneDX BOM's bomFormat and specVersion.
func validateCycloneDX(predicate []byte) error {
	format, err := stringAt(predicate, "bomFormat")
	if err != nil {
		return err
	}
	if format != "CycloneDX" {
		return fmt.Errorf("bomFormat %q: want \"CycloneDX\"", truncate(format))
	}
	return requireString(predicate, "specVersion")
}

// validateSPDX checks an SPDX document's spdxVersion and SPDXID.
func validateSPDX(predicate []byte) error {
	version, err := stringAt(predicate, "spdxVersion")
	if err != nil {
		return err
	}
	if !strings.HasPrefix(version, "SPDX-") {
		return fmt.Errorf("spdxVersion %q: want \"SPDX-<version>\"", truncate(version))
	}
	return requireString(predicate, "SPDXID")
}

// validateVSA checks a VSA's verifier.id and its verificationResult.
func validateVSA(predicate []byte) error {
	if err := requireString(predicate, "verifier", "id"); err != nil {
		return err
	}
	result, err := stringAt(predicate, "verificationResult")
	if err != nil {
		return err
	}
	if result != VerificationPassed && result != VerificationFailed {
		return fmt.Errorf("verificationResult %q: want %q or %q", truncate(result), VerificationPassed, VerificationFailed)
	}
	return nil
}

// validateOwn validates predicate against the schema of an own type, then
// decodes it into dst (which checks digests strictly).
func validateOwn(name string, predicate []byte, dst any) error {
	schemas, err := compiledSchemas()
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(predicate))
	if err != nil {
		return fmt.Errorf("invalid JSON: %w", err)
	}
	if err := schemas[name].Validate(doc); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			return schemaError(ve)
		}
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(predicate))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return fmt.Errorf("decoding: %w", err)
	}
	return nil
}

// schemaError turns a schema validation error into one line per violated
// leaf, "<JSON pointer>: <message>", sorted, at most maxSchemaErrors.
func schemaError(ve *jsonschema.ValidationError) error {
	var msgs []string
	var walk func(u jsonschema.OutputUnit)
	walk = func(u jsonschema.OutputUnit) {
		if len(u.Errors) == 0 && u.Error != nil {
			loc := u.InstanceLocation
			if loc == "" {
				loc = "/"
			}
			msgs = append(msgs, loc+": "+u.Error.String())
		}
		for _, c := range u.Errors {
			walk(c)
		}
	}
	// The detailed form, not the basic one: jsonschema v6.0.3's flattened
	// output replaces the message of a violation reached through $ref with
	// "validation failed".
	walk(*ve.DetailedOutput())
	slices.Sort(msgs)
	msgs = slices.Compact(msgs)
	if len(msgs) == 0 {
		return fmt.Errorf("schema: %s", ve.Error())
	}
	more := ""
	if len(msgs) > maxSchemaErrors {
		more = fmt.Sprintf("; and %d more", len(msgs)-maxSchemaErrors)
		msgs = msgs[:maxSchemaErrors]
	}
	return fmt.Errorf("schema: %s%s", strings.Join(msgs, "; "), more)
}

// compiledSchemas compiles the embedded schemas once.
var compiledSchemas = sync.OnceValues(func() (map[string]*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(noLoader{})
	ids := map[string]string{}
	for _, p := range registry {
		if !p.Own {
			continue
		}
		data, err := schemaFS.ReadFile(p.SchemaFile())
		if err != nil {
			return nil, fmt.Errorf("reading schema %s: %w", p.SchemaFile(), err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("parsing schema %s: %w", p.SchemaFile(), err)
		}
		id := p.URI + "/schema.json"
		if err := c.AddResource(id, doc); err != nil {
			return nil, fmt.Errorf("adding schema %s: %w", p.SchemaFile(), err)
		}
		ids[p.Name] = id
	}
	out := map[string]*jsonschema.Schema{}
	for name, id := range ids {
		s, err := c.Compile(id)
		if err != nil {
			return nil, fmt.Errorf("compiling schema of %s: %w", name, err)
		}
		out[name] = s
	}
	return out, nil
})

// noLoader refuses to load anything: every schema is embedded, and a reference
// outside them must fail rather than reach the file system or network.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("schema %s is not embedded", url)
}

// stringAt returns the string at path (exact key match at each level).
func stringAt(obj []byte, path ...string) (string, error) {
	name := strings.Join(path, ".")
	raw := json.RawMessage(obj)
	for i, key := range path {
		if !isJSONObject(raw) {
			return "", fmt.Errorf("%s: want an object", strings.Join(path[:i], "."))
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(raw, &fields); err != nil {
			return "", fmt.Errorf("%s: %w", name, err)
		}
		v, ok := fields[key]
		if !ok || string(v) == "null" {
			return "", fmt.Errorf("%s is missing", name)
		}
		raw = v
	}
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", fmt.Errorf("%s: want a string", name)
	}
	return s, nil
}

// requireString checks that the string at path is present and not blank.
func requireString(obj []byte, path ...string) error {
	s, err := stringAt(obj, path...)
	if err != nil {
		return err
	}
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("%s is empty", strings.Join(path, "."))
	}
	return nil
}

// checkDAST checks what the dast schema cannot: times in order, counts that
// match the alerts, and no "pass" that its own record contradicts.
func checkDAST(p *DAST) error {
	if !p.ScanStartedOn.IsZero() && !p.ScanFinishedOn.IsZero() && p.ScanFinishedOn.Before(p.ScanStartedOn) {
		return errors.New("scanFinishedOn is before scanStartedOn")
	}
	var sum DASTCounts
	for i, a := range p.Alerts {
		if a.Disposition == DispositionIgnored || a.Disposition == DispositionWaived {
			continue
		}
		if a.Disposition == DispositionFail && p.Decision == DecisionPass {
			return fmt.Errorf("/alerts/%d: decision is pass but alert %q has disposition fail", i, truncate(a.ID))
		}
		switch a.Risk {
		case "critical":
			sum.Critical += a.Count
		case "high":
			sum.High += a.Count
		case "medium":
			sum.Medium += a.Count
		case "low":
			sum.Low += a.Count
		case "informational":
			sum.Informational += a.Count
		}
	}
	if p.AlertsOmitted == 0 && sum != p.Counts {
		return fmt.Errorf("/counts: %+v, but the counted alerts add up to %+v", p.Counts, sum)
	}
	if p.Decision == DecisionPass {
		for i, o := range p.Outages {
			if o.Policy == OutageFail {
				return fmt.Errorf("/outages/%d: decision is pass but the outage policy is fail", i)
			}
		}
	}
	return nil
}
