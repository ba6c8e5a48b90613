package vulndb

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/scancache"
)

// matchNS is the match cache's namespace in a scancache.Store, and
// matchFormat the version of its entries and key: a change of either (or of
// what Match does with the same inputs) changes matchFormat.
const (
	matchNS     = "match"
	matchFormat = "vulndb-match/v1"
)

// maxVEXBytes bounds a VEX document read for the match cache's key; a larger
// one makes the match uncacheable (grype still reads it).
const maxVEXBytes = 32 << 20

// matchesRun counts the matchings that ran grype (tests tell a cached report
// from a matched one by it).
var matchesRun atomic.Int64

// cachedReport is a match cache entry: what Match derives from the DB, the
// packages and the VEX documents. The DB's info and the scan times are the
// run's own.
type cachedReport struct {
	Format     string             `json:"format"`
	Doc        json.RawMessage    `json:"doc"`
	Findings   []finding.Finding  `json:"findings"`
	Suppressed []finding.Finding  `json:"suppressed"`
	MatchFP    []string           `json:"matchFp"`
	IgnoredFP  []string           `json:"ignoredFp"`
	Scores     map[string]float64 `json:"scores"`
	Packages   int                `json:"packages"`
}

// matchKey is the cache key of matching the packages identified by id (the
// SHA-256 of their syft JSON, or "catalog:" and a Catalog's digest) against
// db with o: the DB build (the digest its checksum validation checked, with
// the info grype's document records), grype, the packages, the VEX documents by path and
// content, and what makes finding paths (o.Root, the working directory). It
// is not cacheable without a cache, a known DB digest, or readable VEX
// documents.
func (db *DB) matchKey(id []byte, o MatchOptions) (scancache.Key, bool) {
	if o.Cache == nil || db.id == "" {
		return scancache.Key{}, false
	}
	wd, err := os.Getwd()
	if err != nil {
		return scancache.Key{}, false
	}
	root := o.Root
	if root != "" {
		if root, err = filepath.Abs(root); err != nil {
			return scancache.Key{}, false
		}
	}
	// scancache.Build: a new build of secure-gates never reuses an older
	// build's matches.
	parts := [][]byte{[]byte(matchFormat), []byte(grypeVersion()), []byte(scancache.Build()), []byte(strconv.FormatBool(plainGrype)),
		[]byte(db.id), []byte(db.info.SchemaVersion), []byte(db.info.Built.UTC().Format(time.RFC3339Nano)),
		[]byte(db.info.Source), []byte(db.info.URL), []byte(wd), []byte(root), []byte(o.Scanner), id}
	for _, p := range o.VEX {
		d, ok := fileDigest(p, maxVEXBytes)
		if !ok {
			return scancache.Key{}, false
		}
		parts = append(parts, []byte(p), d)
	}
	return scancache.KeyOf(parts...), true
}

// fileDigest is the SHA-256 of the file p, false when it cannot be read or
// holds more than limit bytes.
func fileDigest(p string, limit int64) ([]byte, bool) {
	f, err := os.Open(p)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(f, limit+1))
	if err != nil || n > limit {
		return nil, false
	}
	return h.Sum(nil), true
}

// fromCache is the report cached under k, with this DB's info and the scan
// times of this run; false when there is none or the entry does not decode
// into a consistent report (a cache is untrusted: a bad entry is a miss).
func (db *DB) fromCache(c scancache.Store, k scancache.Key, started time.Time) (*Report, bool) {
	v, ok := c.Get(matchNS, k)
	if !ok {
		return nil, false
	}
	var e cachedReport
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || e.Format != matchFormat || !e.consistent() {
		return nil, false
	}
	r := &Report{Findings: e.Findings, Suppressed: e.Suppressed, Matches: e.Doc, DB: db.info, Packages: e.Packages,
		Started: started, docJSON: e.Doc, scores: e.Scores, matchFP: e.MatchFP, ignoredFP: e.IgnoredFP}
	if r.scores == nil {
		r.scores = map[string]float64{}
	}
	r.Finished = db.now().UTC()
	if r.Finished.Before(r.Started) {
		r.Finished = r.Started
	}
	return r, true
}

// consistent checks the entry's parts against each other: grype's document
// is a JSON object whose matches and ignored matches are as many as the
// fingerprints recorded for them, every match is a finding and every
// suppressed finding an ignored match.
func (e *cachedReport) consistent() bool {
	var top struct {
		Matches []json.RawMessage `json:"matches"`
		Ignored []json.RawMessage `json:"ignoredMatches"`
	}
	if json.Unmarshal(e.Doc, &top) != nil || e.Packages < 0 {
		return false
	}
	return len(top.Matches) == len(e.MatchFP) && len(e.Findings) == len(e.MatchFP) &&
		len(top.Ignored) == len(e.IgnoredFP) && len(e.Suppressed) <= len(e.IgnoredFP)
}

// toCache stores r under k. r is as Match made it: no exceptions applied yet.
func (db *DB) toCache(c scancache.Store, k scancache.Key, r *Report) {
	v, err := json.Marshal(cachedReport{Format: matchFormat, Doc: r.docJSON, Findings: r.Findings, Suppressed: r.Suppressed,
		MatchFP: r.matchFP, IgnoredFP: r.ignoredFP, Scores: r.scores, Packages: r.Packages})
	if err != nil {
		return
	}
	c.Put(matchNS, k, v)
}
