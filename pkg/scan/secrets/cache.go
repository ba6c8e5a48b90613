package secrets

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/zricethezav/gitleaks/v8/config"

	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/scancache"
)

// CacheNamespace is the scancache namespace of the per-file answers.
const CacheNamespace = "secrets"

// cacheRevision names the detector's behaviour in the cache key: bump it with
// any change of detector.go, window.go, the decoder, convert or isBinary that
// can change a file's findings or its not-scanned reason. (The key also holds
// the binary's build, scancache.Build, which covers released versions.)
const cacheRevision = "secrets-cache-1"

// maxCachedFindings bounds the findings of one entry read back.
const maxCachedFindings = 100000

// fileResult is what scanning one working-tree file gave: its redacted
// findings (Help holding the secret's hash, see convert) or why it was not
// read. An answer that depends on more than the file's bytes (it grew while
// read) is not cached.
type fileResult struct {
	findings []finding.Finding
	reason   string
	noCache  bool
}

// cachedEntry is a fileResult as stored: the finding fields that are not
// derived from the rule and the path.
type cachedEntry struct {
	Findings []cachedFinding `json:"f"`
	Reason   string          `json:"r,omitempty"`
}

type cachedFinding struct {
	Rule       string `json:"id"`
	Start      int    `json:"s"`
	End        int    `json:"e"`
	SecretHash string `json:"h"`
}

// configDigest is the digest of the effective gitleaks configuration (the
// embedded default when data is blank).
func configDigest(data []byte) []byte {
	if len(bytes.TrimSpace(data)) == 0 {
		data = []byte(config.DefaultConfig)
	}
	sum := sha256.Sum256(data)
	return sum[:]
}

// fileKey is the cache key of one file's answer: everything it depends on —
// the engine, the configuration, the file's path (path rules and allowlists
// read it) and the SHA-256 of its content.
func (s *scan) fileKey(rel string, sum []byte) scancache.Key {
	return scancache.KeyOf([]byte(cacheRevision), []byte(ToolVersion), []byte(scancache.Build()), s.cfgDigest, []byte(rel), sum)
}

// encodeFile is the entry of a fileResult.
func encodeFile(r fileResult) []byte {
	e := cachedEntry{Reason: r.reason, Findings: []cachedFinding{}}
	for _, f := range r.findings {
		e.Findings = append(e.Findings, cachedFinding{Rule: f.RuleID, Start: f.StartLine, End: f.EndLine, SecretHash: f.Help})
	}
	b, _ := json.Marshal(e) // strings and ints: cannot fail
	return b
}

// decodeFile parses an entry defensively: anything unexpected (unknown
// fields, a rule not enabled, impossible lines, a malformed hash or reason)
// is a miss, and the file is scanned.
func (s *scan) decodeFile(rel string, b []byte) (fileResult, bool) {
	var e cachedEntry
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || dec.More() || len(e.Findings) > maxCachedFindings {
		return fileResult{}, false
	}
	if e.Reason != "" && (len(e.Findings) > 0 || !validReason(e.Reason)) {
		return fileResult{}, false
	}
	out := fileResult{reason: e.Reason}
	for _, c := range e.Findings {
		r, ok := s.cfg.Rules[c.Rule]
		if !ok || c.Start < 1 || c.End < c.Start || !isHex64(c.SecretHash) {
			return fileResult{}, false
		}
		out.findings = append(out.findings, redact(reportFinding{RuleID: c.Rule, Description: r.Description, File: rel, StartLine: c.Start, EndLine: c.End}, c.SecretHash, ""))
	}
	return out, true
}

// validReason accepts the reasons a file's content gives: binary, with the
// kind filetype names.
func validReason(r string) bool {
	if r == ReasonBinary {
		return true
	}
	kind, ok := strings.CutPrefix(r, ReasonBinary+" (")
	kind, ok2 := strings.CutSuffix(kind, ")")
	return ok && ok2 && len(kind) > 0 && len(kind) <= 100 && utf8.ValidString(kind) &&
		!strings.ContainsFunc(kind, func(c rune) bool { return c < 0x20 || c == 0x7f })
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// record adds a file's answer to the scan.
func (s *scan) record(rel string, r fileResult) {
	if r.reason != "" {
		s.notScanned(rel, r.reason)
	}
	if len(r.findings) > 0 {
		s.add(r.findings, false)
	}
}

// CacheRules is the digest of what the cached answers depend on besides the
// files: the detector, gitleaks' version, the binary's build and the
// effective configuration (config as Options.Config).
func CacheRules(config []byte) []byte {
	k := scancache.KeyOf([]byte(cacheRevision), []byte(ToolVersion), []byte(scancache.Build()), configDigest(config))
	return k[:]
}
