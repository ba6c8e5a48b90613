package attestation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// Statement types this package reads. It writes only [StatementTypeV1].
const (
	// StatementTypeV1 is the `_type` of an in-toto Statement v1.
	StatementTypeV1 = "https://in-toto.io/Statement/v1"
	// StatementTypeV01 is the legacy `_type` that cosign v2.6.5 `attest` still
	// writes; [ParseStatement] accepts it so cosign's attestations can be read.
	StatementTypeV01 = "https://in-toto.io/Statement/v0.1"
)

// Limits on a statement. The subject limits are sigstore-go's, so a statement
// this package accepts is one sigstore-go verifies too.
const (
	// MaxSubjects is the most subjects a statement may have.
	MaxSubjects = 1024
	// MaxDigestsPerSubject is the most digests one subject may have.
	MaxDigestsPerSubject = 32
	// DefaultMaxPayloadBytes is the default cap on a statement's size (the
	// decoded DSSE payload), and on a predicate's.
	DefaultMaxPayloadBytes = 16 << 20
	// DefaultMaxSignatures is the default cap on signatures in one envelope.
	DefaultMaxSignatures = 8
	// DefaultMaxEnvelopeBytes is the default cap verify-and-deploy puts on one
	// attached envelope or bundle layer; what is larger is not read.
	DefaultMaxEnvelopeBytes = 16 << 20
	// EnvelopeOverheadBytes bounds what a DSSE envelope or Sigstore bundle adds
	// to its base64-encoded statement: signatures, certificate chain,
	// transparency-log entry and timestamps.
	EnvelopeOverheadBytes = 256 << 10
	// MaxSignableStatementBytes is the largest statement whose signed envelope
	// (the statement in base64, 4/3 larger, plus EnvelopeOverheadBytes) stays
	// within DefaultMaxEnvelopeBytes: the attest gate signs nothing larger, so
	// what it writes verify-and-deploy reads.
	MaxSignableStatementBytes = (DefaultMaxEnvelopeBytes - EnvelopeOverheadBytes) / 4 * 3
)

// Options bounds what the parsers accept. The zero value means the defaults.
type Options struct {
	// MaxPayloadBytes caps a statement (the decoded DSSE payload) and a
	// predicate passed to ValidatePredicate. Zero or negative means
	// DefaultMaxPayloadBytes. An envelope may be larger than this by its
	// base64 expansion and signatures.
	MaxPayloadBytes int
	// MaxSignatures caps the signatures in one envelope. Zero or negative means
	// DefaultMaxSignatures.
	MaxSignatures int
}

func (o Options) maxPayload() int {
	if o.MaxPayloadBytes <= 0 {
		return DefaultMaxPayloadBytes
	}
	return o.MaxPayloadBytes
}

func (o Options) maxSignatures() int {
	if o.MaxSignatures <= 0 {
		return DefaultMaxSignatures
	}
	return o.MaxSignatures
}

// Subject is an artifact a statement is about: a name (for an image, its
// repository) and its digests by algorithm, e.g. {"sha256": "<64 hex>"}.
// Matching is by digest only; the name is informational.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// Statement is an in-toto Statement: the predicate of type PredicateType holds
// for every subject.
type Statement struct {
	// Type is StatementTypeV1, or StatementTypeV01 for a parsed legacy statement.
	Type          string          `json:"_type"`
	Subject       []Subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate,omitempty"`
}

// NewStatement builds an in-toto Statement v1 about subjects. predicateType is a
// URI (see [ResolveType] for short names); predicate is a json.RawMessage, a
// []byte of JSON, or a value that json.Marshal turns into a JSON object. Every
// subject needs a name and a sha256 digest (see the package rules). When
// predicateType is in the registry, the predicate must pass [ValidatePredicate]
// (without its size cap: readers apply theirs).
func NewStatement(subjects []Subject, predicateType string, predicate any) (*Statement, error) {
	st, err := newStatement(subjects, predicateType, predicate)
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("building in-toto statement: %w", err))
	}
	return st, nil
}

func newStatement(subjects []Subject, predicateType string, predicate any) (*Statement, error) {
	var raw []byte
	switch p := predicate.(type) {
	case nil:
		return nil, errors.New("predicate is nil, want a JSON object")
	case json.RawMessage:
		raw = p
	case []byte:
		raw = p
	default:
		b, err := json.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("marshalling predicate: %w", err)
		}
		raw = b
	}
	if err := checkJSONObject(raw); err != nil {
		return nil, fmt.Errorf("predicate: %w", err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, fmt.Errorf("predicate: %w", err)
	}
	st := &Statement{
		Type:          StatementTypeV1,
		PredicateType: predicateType,
		Predicate:     compact.Bytes(),
	}
	for i, s := range subjects {
		if s.Name == "" {
			return nil, fmt.Errorf("subject %d: name is empty, want the artifact's name (for an image, its repository)", i)
		}
		st.Subject = append(st.Subject, Subject{Name: s.Name, Digest: maps.Clone(s.Digest)})
	}
	if err := st.validate(); err != nil {
		return nil, err
	}
	if _, ok := lookupURI(predicateType); ok {
		// Our own data: no size cap here (a large SBOM is legitimate); readers
		// apply theirs.
		if err := validatePredicate(predicateType, st.Predicate, Options{MaxPayloadBytes: len(st.Predicate)}); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// Marshal checks s against the statement rules and returns its JSON encoding.
func (s *Statement) Marshal() ([]byte, error) {
	if err := s.validate(); err != nil {
		return nil, errkind.Input(fmt.Errorf("marshalling in-toto statement: %w", err))
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("marshalling in-toto statement: %w", err)
	}
	return b, nil
}

// HasSubjectDigest reports whether some subject of s has digest, given as
// "sha256:<64 hex>". A digest that does not parse (a tag, say) matches nothing.
func (s *Statement) HasSubjectDigest(digest string) bool {
	d, err := ParseDigest(digest)
	if err != nil {
		return false
	}
	for _, sub := range s.Subject {
		if sub.Digest[digestAlgorithm] == d.Hex() {
			return true
		}
	}
	return false
}

// validate applies the statement rules to a statement held in memory.
func (s *Statement) validate() error {
	if err := checkStatementType(s.Type); err != nil {
		return err
	}
	if err := checkSubjectCount(len(s.Subject)); err != nil {
		return err
	}
	for i, sub := range s.Subject {
		if err := checkDigestSet(sub.Digest); err != nil {
			return fmt.Errorf("subject %d (%q): %w", i, truncate(sub.Name), err)
		}
	}
	if err := checkTypeURI(s.PredicateType); err != nil {
		return fmt.Errorf("predicateType: %w", err)
	}
	if len(s.Predicate) > 0 && !isJSONObject(s.Predicate) {
		return errors.New("predicate: want a JSON object")
	}
	return nil
}

// ParseStatement parses an untrusted in-toto statement (v1 or legacy v0.1) and
// applies every rule in the package documentation. It does not look at the
// predicate beyond requiring a JSON object; see [ValidatePredicate].
func ParseStatement(data []byte, opts Options) (*Statement, error) {
	st, err := parseStatement(data, opts)
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("parsing in-toto statement: %w", err))
	}
	return st, nil
}

var statementFields = []string{"_type", "subject", "predicateType", "predicate"}

func parseStatement(data []byte, opts Options) (*Statement, error) {
	if max := opts.maxPayload(); len(data) > max {
		return nil, fmt.Errorf("statement is %d bytes, over the limit of %d", len(data), max)
	}
	if err := checkJSONObject(data); err != nil {
		return nil, err
	}
	top, err := exactFields(data, statementFields)
	if err != nil {
		return nil, fmt.Errorf("top level: %w", err)
	}

	// Here the JSON shape is checked; st.validate then applies the rules a
	// statement built in memory must meet too.
	st := &Statement{}
	if err := decodeString(top, "_type", &st.Type); err != nil {
		return nil, err
	}
	if err := checkStatementType(st.Type); err != nil {
		return nil, err
	}

	subjects, err := decodeArray(top, "subject", "an array of subjects")
	if err != nil {
		return nil, err
	}
	if err := checkSubjectCount(len(subjects)); err != nil {
		return nil, err
	}
	st.Subject = make([]Subject, 0, len(subjects))
	for i, raw := range subjects {
		sub, err := parseSubject(raw)
		if err != nil {
			return nil, fmt.Errorf("subject %d: %w", i, err)
		}
		st.Subject = append(st.Subject, sub)
	}

	if err := decodeString(top, "predicateType", &st.PredicateType); err != nil {
		return nil, err
	}

	if p, ok := top["predicate"]; ok && string(p) != "null" {
		if !isJSONObject(p) {
			if len(p) > 0 && p[0] == '"' {
				return nil, errors.New("predicate is a JSON string, want a JSON object (cosign writes a string for --type spdx; use --type spdxjson or the URI)")
			}
			return nil, errors.New("predicate: want a JSON object")
		}
		st.Predicate = p
	}
	if err := st.validate(); err != nil {
		return nil, err
	}
	return st, nil
}

func parseSubject(raw json.RawMessage) (Subject, error) {
	if !isJSONObject(raw) {
		return Subject{}, errors.New("want a JSON object with name and digest")
	}
	// Fields are matched exactly (encoding/json would match "Digest" to digest);
	// other ResourceDescriptor fields of v1 (uri, annotations, …) are ignored.
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return Subject{}, fmt.Errorf("invalid JSON: %w", err)
	}
	var sub Subject
	if _, ok := fields["name"]; ok {
		if err := decodeString(fields, "name", &sub.Name); err != nil {
			return Subject{}, err
		}
	}
	d, ok := fields["digest"]
	if !ok {
		return Subject{}, errors.New("digest is missing")
	}
	if !isJSONObject(d) {
		return Subject{}, errors.New("digest: want an object of algorithm to hex value")
	}
	if err := json.Unmarshal(d, &sub.Digest); err != nil {
		return Subject{}, errors.New("digest: every value must be a string")
	}
	return sub, nil
}

// hexDigestLengths are the algorithms whose values must be lowercase hex of a
// fixed length. Other algorithm names are allowed (in-toto's digest set is
// open) but can never satisfy the sha256 requirement.
var hexDigestLengths = map[string][]int{
	"sha256":     {64},
	"sha512":     {128},
	"sha384":     {96},
	"sha224":     {56},
	"sha512_224": {56},
	"sha512_256": {64},
	"sha3_224":   {56},
	"sha3_256":   {64},
	"sha3_384":   {96},
	"sha3_512":   {128},
	"sha1":       {40},
	"md5":        {32},
	"gitCommit":  {40, 64},
	"gitTree":    {40, 64},
	"gitBlob":    {40, 64},
}

func checkStatementType(t string) error {
	if t != StatementTypeV1 && t != StatementTypeV01 {
		return fmt.Errorf("_type %q: want %q (or legacy %q)", truncate(t), StatementTypeV1, StatementTypeV01)
	}
	return nil
}

func checkSubjectCount(n int) error {
	switch {
	case n == 0:
		return errors.New("subject is empty, want at least one subject")
	case n > MaxSubjects:
		return fmt.Errorf("%d subjects, over the limit of %d", n, MaxSubjects)
	}
	return nil
}

func checkDigestSet(digests map[string]string) error {
	if len(digests) == 0 {
		return errors.New("digest is empty, want a sha256 digest")
	}
	if len(digests) > MaxDigestsPerSubject {
		return fmt.Errorf("%d digests, over the limit of %d", len(digests), MaxDigestsPerSubject)
	}
	if _, ok := digests[digestAlgorithm]; !ok {
		return errors.New("no sha256 digest")
	}
	for _, alg := range slices.Sorted(maps.Keys(digests)) {
		value := digests[alg]
		lengths, known := hexDigestLengths[alg]
		if !known {
			if alg == "" || len(alg) > 64 || value == "" || len(value) > 1024 {
				return fmt.Errorf("digest %q: want a non-empty algorithm name and value", truncate(alg))
			}
			continue
		}
		var err error
		for _, n := range lengths {
			if err = checkHex(value, n); err == nil {
				break
			}
		}
		if err != nil {
			return fmt.Errorf("%s digest %q: %w", alg, truncate(value), err)
		}
	}
	return nil
}

func checkTypeURI(s string) error {
	if s == "" {
		return errors.New("empty, want a URI")
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || strings.ContainsAny(s, " \t\r\n") || len(s) > 2048 {
		return fmt.Errorf("%q is not an absolute URI (use ResolveType for short names)", truncate(s))
	}
	return nil
}

// decodeString reads the string field key of obj into dst; a missing field or
// one that is not a string is an error naming the field.
func decodeString(obj map[string]json.RawMessage, key string, dst *string) error {
	raw, ok := obj[key]
	if !ok {
		return fmt.Errorf("%s is missing", key)
	}
	if len(raw) == 0 || raw[0] != '"' {
		return fmt.Errorf("%s: want a string", key)
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	return nil
}

// decodeArray reads obj[key], which must be a JSON array (not null); want
// describes it in the error.
func decodeArray(obj map[string]json.RawMessage, key, want string) ([]json.RawMessage, error) {
	raw, ok := obj[key]
	if !ok {
		return nil, fmt.Errorf("%s is missing", key)
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil || elems == nil {
		return nil, fmt.Errorf("%s: want %s", key, want)
	}
	return elems, nil
}

// isJSONObject reports whether raw, already known to be valid JSON, is an object.
func isJSONObject(raw []byte) bool {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	return len(raw) > 0 && raw[0] == '{'
}
