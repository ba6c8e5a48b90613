// Package exceptions reads the exceptions (waivers) file of secure-gates and applies
// it to findings.
//
// The file is YAML:
//
//	exceptions:
//	  - id: CVE-2022-32149            # CVE, GHSA, rule id or finding fingerprint
//	    scope: pkg:golang/golang.org/x/text   # optional: a purl (prefix) or a path glob
//	    reason: not reachable, parser only used on trusted input
//	    ticket: SEC-123
//	    approver: alice
//	    expires: 2027-01-31           # required: a date (UTC midnight) or RFC 3339 time
//
// An entry without expires is an input error naming the entry: a waiver that never
// ends is not a waiver. So is an entry that expires more than the lifetime bound
// (Options.MaxLifetime, default DefaultMaxLifetime: 90 days, at most
// MaxLifetimeCap) after the time the file is evaluated: 9999-12-31 is refused,
// and a waiver is renewed, with a fresh review, when it ends. An unexpired entry waives the findings it matches (their
// Waived field records it); an expired entry waives nothing and is returned by Apply
// so the gate reports it. A date without a time expires at 00:00 UTC of that day.
//
// The scanned repository holds the file, so it is untrusted input: it is bounded,
// decoded strictly (unknown fields are errors) and never executed. Protect it with
// CODEOWNERS; signed exception attestations are the deploy gate's stronger form.
//
// The file shapes the scan gate's own verdict only. The predicates record every
// finding it waived, with the entry that waived it, and verify-and-deploy
// counts such findings as present unless a signed exception attestation waives
// them.
//
// A purl scope covers a finding by finding.PURLMatches, the rule the deploy gate
// applies too.
//
// OpenVEX documents are not read here: the vulnerability matcher applies them.
package exceptions

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	"gopkg.in/yaml.v3"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/readfile"
)

// DefaultPath is the exceptions file a repository keeps when none is named.
const DefaultPath = ".secure-gates/exceptions.yaml"

// DefaultMaxBytes bounds the file read by Load.
const DefaultMaxBytes = 1 << 20

// MaxEntries bounds the entries of one file.
const MaxEntries = 10_000

// DefaultMaxLifetime is how far after the evaluation time an entry may expire
// when Options.MaxLifetime is zero; MaxLifetimeCap is the most it may be set
// to. They match the policy's exceptions.max-lifetime default and cap.
const (
	DefaultMaxLifetime = 90 * 24 * time.Hour
	MaxLifetimeCap     = 365 * 24 * time.Hour
)

// Options configures Load and Parse.
type Options struct {
	// MissingOK makes a missing file an empty set. Set it when the path is the
	// default one the user did not name; a file the user named must exist.
	MissingOK bool
	// MaxBytes bounds the file size; zero means DefaultMaxBytes.
	MaxBytes int64
	// MaxLifetime bounds how far after now an entry may expire; zero means
	// DefaultMaxLifetime. More than MaxLifetimeCap is an error.
	MaxLifetime time.Duration
	// Root, when set, is the absolute workspace the file may lie in: a file
	// inside it is read through readfile.InTree, so a symbolic link leaving
	// it is an input error (not a missing file, whatever MissingOK says).
	Root string
}

// Entry is one exception of the file.
type Entry struct {
	// ID is a CVE, GHSA, rule id, license id or finding fingerprint.
	ID string `yaml:"id"`
	// Scope limits the entry: a purl ("pkg:..."; matches that purl and, without
	// a version, every version of it) or a path glob (doublestar syntax,
	// relative to the scan root). Empty matches everywhere.
	Scope    string `yaml:"scope"`
	Reason   string `yaml:"reason"`
	Ticket   string `yaml:"ticket"`
	Approver string `yaml:"approver"`
	// Expires is when the entry stops waiving findings. Required.
	Expires time.Time `yaml:"-"`
	// Index is the entry's 1-based position in the file.
	Index int `yaml:"-"`
}

// Name describes the entry for messages: its position and id.
func (e Entry) Name() string {
	return fmt.Sprintf("entry %d (id %q)", e.Index, e.ID)
}

// Set is a loaded exceptions file, evaluated at one instant.
type Set struct {
	// Source is the file the entries came from ("" for an empty set).
	Source string
	// Entries are the file's entries, in file order.
	Entries []Entry
	now     time.Time
}

// Applied is an unexpired entry and the findings it waived.
type Applied struct {
	Entry Entry
	// Findings is how many findings the entry waived.
	Findings int
}

// Load reads the exceptions file at path, evaluated at now. A missing file is an
// empty set when opts.MissingOK, otherwise an input error. Every problem with the
// file's content is an input error naming the file and the entry.
func Load(path string, now time.Time, opts Options) (*Set, error) {
	max := opts.MaxBytes
	if max <= 0 {
		max = DefaultMaxBytes
	}
	read := readfile.Bounded
	if opts.Root != "" {
		read = func(path string, max int64) ([]byte, error) { return readfile.InTree(opts.Root, path, max) }
	}
	data, err := read(path, max)
	if errors.Is(err, fs.ErrNotExist) {
		if opts.MissingOK {
			return &Set{now: now}, nil
		}
		return nil, errkind.Input(fmt.Errorf("reading exceptions file %s: it does not exist", path))
	}
	if errors.Is(err, readfile.ErrTooLarge) {
		return nil, errkind.Input(fmt.Errorf("reading exceptions file %s: larger than the %d-byte limit", path, max))
	}
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("reading exceptions file %s: %w", path, err))
	}
	s, err := parse(data, now, opts.MaxLifetime)
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("reading exceptions file %s: %w", path, err))
	}
	s.Source = path
	return s, nil
}

type fileEntry struct {
	ID       string    `yaml:"id"`
	Scope    string    `yaml:"scope"`
	Reason   string    `yaml:"reason"`
	Ticket   string    `yaml:"ticket"`
	Approver string    `yaml:"approver"`
	Expires  yaml.Node `yaml:"expires"`
}

type file struct {
	Exceptions []fileEntry `yaml:"exceptions"`
}

// Parse reads the content of an exceptions file (see the package documentation),
// evaluated at now, with the default lifetime bound. An empty document is an
// empty set.
func Parse(data []byte, now time.Time) (*Set, error) {
	return parse(data, now, 0)
}

func parse(data []byte, now time.Time, maxLifetime time.Duration) (*Set, error) {
	switch {
	case maxLifetime == 0:
		maxLifetime = DefaultMaxLifetime
	case maxLifetime < 0 || maxLifetime > MaxLifetimeCap:
		return nil, fmt.Errorf("the exceptions lifetime bound %s is not between 0 and %s", maxLifetime, MaxLifetimeCap)
	}
	latest := now.Add(maxLifetime).UTC()
	s := &Set{now: now}
	if len(bytes.TrimSpace(data)) == 0 {
		return s, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var doc file
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return s, nil
		}
		return nil, fmt.Errorf("expected a YAML mapping with an exceptions: list of {id, scope, reason, ticket, approver, expires}: %w", err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("expected one YAML document, found more")
	}
	if len(doc.Exceptions) > MaxEntries {
		return nil, fmt.Errorf("%d entries: at most %d are accepted", len(doc.Exceptions), MaxEntries)
	}
	for i, fe := range doc.Exceptions {
		e := Entry{ID: strings.TrimSpace(fe.ID), Scope: strings.TrimSpace(fe.Scope), Reason: fe.Reason, Ticket: fe.Ticket, Approver: fe.Approver, Index: i + 1}
		if e.ID == "" {
			return nil, fmt.Errorf("entry %d: id is required (a CVE, GHSA, rule id or finding fingerprint)", e.Index)
		}
		if len(e.ID) > 512 || len(e.Scope) > 1024 {
			return nil, fmt.Errorf("%s: id or scope too long", e.Name())
		}
		if fe.Expires.Kind != 0 && fe.Expires.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("%s: expires must be a date like 2027-01-31 or an RFC 3339 time", e.Name())
		}
		if fe.Expires.Kind == 0 || strings.TrimSpace(fe.Expires.Value) == "" {
			return nil, fmt.Errorf("%s: expires is required (a date like 2027-01-31 or an RFC 3339 time): an exception must end", e.Name())
		}
		t, err := parseTime(fe.Expires.Value)
		if err != nil {
			return nil, fmt.Errorf("%s: expires %q: expected a date like 2027-01-31 or an RFC 3339 time", e.Name(), fe.Expires.Value)
		}
		e.Expires = t
		if t.After(latest) {
			return nil, fmt.Errorf("%s: expires %s is more than %s after %s: a waiver is bounded; set expires on or before %s and renew it with a fresh review when it ends",
				e.Name(), strings.TrimSpace(fe.Expires.Value), days(maxLifetime), now.UTC().Format("2006-01-02"), latest.Format("2006-01-02"))
		}
		if finding.IsPURLScope(e.Scope) {
			if _, err := finding.ParsePURLScope(e.Scope); err != nil {
				return nil, fmt.Errorf("%s: %w", e.Name(), err)
			}
		} else if e.Scope != "" && !doublestar.ValidatePattern(e.Scope) {
			return nil, fmt.Errorf("%s: scope %q is neither a purl (pkg:...) nor a valid path glob", e.Name(), e.Scope)
		}
		s.Entries = append(s.Entries, e)
	}
	return s, nil
}

// days writes a lifetime bound in days when it is whole days.
func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}

func parseTime(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t.UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

// Expired reports whether e no longer waives anything at now.
func (e Entry) Expired(now time.Time) bool {
	return !now.Before(e.Expires)
}

// Matches reports whether e names f (by rule id, alias or fingerprint) within
// its scope. Expiry is not considered.
func (e Entry) Matches(f finding.Finding) bool {
	idOK := e.ID == f.Fingerprint && f.Fingerprint != ""
	for _, id := range f.IDs() {
		if strings.EqualFold(id, e.ID) {
			idOK = true
		}
	}
	if !idOK {
		return false
	}
	if e.Scope == "" {
		return true
	}
	if finding.IsPURLScope(e.Scope) {
		return finding.PURLMatches(e.Scope, f.PURL)
	}
	if f.Path == "" {
		return false
	}
	ok, err := doublestar.Match(e.Scope, path.Clean(f.Path))
	return err == nil && ok
}

// Apply waives the findings an unexpired entry matches (setting Finding.Waived,
// in place) and returns the entries that waived something, with counts, and the
// expired entries, which waive nothing. The first matching entry in file order
// waives a finding. A nil Set waives nothing.
func (s *Set) Apply(fs []finding.Finding) (applied []Applied, expired []Entry) {
	if s == nil {
		return nil, nil
	}
	counts := make([]int, len(s.Entries))
	for i := range fs {
		if fs[i].Waived != nil {
			continue
		}
		for j, e := range s.Entries {
			if e.Expired(s.now) || !e.Matches(fs[i]) {
				continue
			}
			fs[i].Waived = &finding.Waiver{Kind: finding.WaiverExceptionsFile, ID: e.ID, Scope: e.Scope, Reason: e.Reason, Ticket: e.Ticket,
				Approver: e.Approver, Expires: e.Expires, Source: s.Source}
			counts[j]++
			break
		}
	}
	for j, e := range s.Entries {
		if e.Expired(s.now) {
			expired = append(expired, e)
		} else if counts[j] > 0 {
			applied = append(applied, Applied{Entry: e, Findings: counts[j]})
		}
	}
	return applied, expired
}
