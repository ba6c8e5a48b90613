package vulndb

import (
	"errors"
	"fmt"
	"time"

	v6 "github.com/anchore/grype/grype/db/v6"

	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// Published returns when the advisory named id (a GHSA, CVE or distribution
// id, as a finding's RuleID or one of its Aliases names it) was first
// published, as the DB records it: the earliest published date of the DB's
// records of that name, from any provider. ok is false when no record of
// that name carries a date.
func (db *DB) Published(id string) (at time.Time, ok bool, err error) {
	if db == nil {
		return time.Time{}, false, errkind.Infra(errors.New("vulnerability DB: not loaded (or closed)"))
	}
	if err := db.ensureOpen(); err != nil {
		return time.Time{}, false, err
	}
	if db.rdr == nil {
		return time.Time{}, false, errkind.Infra(errors.New("vulnerability DB: not loaded (or closed)"))
	}
	hs, err := db.rdr.GetVulnerabilities(&v6.VulnerabilitySpecifier{Name: id}, &v6.GetVulnerabilityOptions{})
	if err != nil {
		return time.Time{}, false, errkind.Infra(fmt.Errorf("vulnerability DB: reading advisory %s: %w", id, err))
	}
	for _, h := range hs {
		if h.PublishedDate == nil || h.PublishedDate.IsZero() {
			continue
		}
		if !ok || h.PublishedDate.Before(at) {
			at, ok = h.PublishedDate.UTC(), true
		}
	}
	return at, ok, nil
}
