package vulndb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/anchore/syft/syft/sbom"

	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// Pending is a vulnerability DB loading in the background under an outage
// policy: a gate starts it before it catalogs, so that obtaining and validating
// the DB (download, checksum, age) overlaps the catalog, then matches the catalog
// with Match. It is the one DB load and outage decision of the scan and sbom
// gates.
type Pending struct {
	done chan struct{}
	o    Options // with defaults: the outage record of a deferred open
	p    OutagePolicy

	mu     sync.Mutex
	taken  bool
	db     *DB
	outage *Outage
	err    error
}

// Start begins LoadWithPolicy(ctx, o, p) in the background and returns at once;
// the load ends with ctx. Every Start is followed by Match, Wait or Discard.
func Start(ctx context.Context, o Options, p OutagePolicy) *Pending {
	pd := &Pending{done: make(chan struct{}), o: o.withDefaults(), p: p}
	go func() {
		defer close(pd.done)
		pd.db, pd.outage, pd.err = LoadWithPolicy(ctx, o, p)
	}()
	return pd
}

// Wait returns LoadWithPolicy's results once the load is done: the DB, which the
// caller then closes, or the outage to record (OutageContinue), or the error. Only
// the first of Wait, Match and Discard gets the DB; a later Wait or Match is an
// errkind.Infra error.
func (pd *Pending) Wait() (*DB, *Outage, error) {
	<-pd.done
	pd.mu.Lock()
	defer pd.mu.Unlock()
	if pd.taken {
		return nil, nil, errkind.Infra(errors.New("vulnerability DB: the loaded DB was already handed over"))
	}
	pd.taken = true
	return pd.db, pd.outage, pd.err
}

// Discard waits for the load and closes the DB it loaded, unless Wait or Match
// had it already. It may be deferred right after Start.
func (pd *Pending) Discard() {
	<-pd.done
	pd.mu.Lock()
	defer pd.mu.Unlock()
	if !pd.taken {
		pd.taken = true
		_ = pd.db.Close()
	}
}

// Match waits for the DB, matches s against it (DB.Match) and closes it. Under
// OutageContinue, a DB that could not be obtained gives the outage to record and
// no report — never an empty report; under OutageFail it is the error. A DB
// loaded with Options.DeferOpen that cannot be opened when the match needs it
// is the same outage as if Load had failed to open it.
func (pd *Pending) Match(ctx context.Context, s *sbom.SBOM, o MatchOptions) (*Report, *Outage, error) {
	return pd.match(func(db *DB) (*Report, error) { return db.Match(ctx, s, o) })
}

// MatchCatalog is Match with DB.MatchCatalog: a report taken from
// MatchOptions.Cache decodes neither the catalog nor opens the DB.
func (pd *Pending) MatchCatalog(ctx context.Context, c Catalog, o MatchOptions) (*Report, *Outage, error) {
	return pd.match(func(db *DB) (*Report, error) { return db.MatchCatalog(ctx, c, o) })
}

// match waits for the DB, runs m on it and closes it, turning a deferred
// open's failure into the outage policy's answer.
func (pd *Pending) match(m func(*DB) (*Report, error)) (*Report, *Outage, error) {
	db, outage, err := pd.Wait()
	if err != nil || outage != nil {
		return nil, outage, err
	}
	defer db.Close()
	rep, err := m(db)
	var oe *openError
	if errors.As(err, &oe) && pd.p == OutageContinue {
		return nil, &Outage{Scanner: pd.o.Scanner, Reason: oe.err.Error(), At: pd.o.Now().UTC(), Policy: pd.p}, nil
	}
	if errors.As(err, &oe) {
		return nil, nil, oe.err
	}
	if err != nil {
		return nil, nil, err
	}
	return rep, nil, nil
}

// PredicateJSON is the vuln predicate of the report (VulnPredicate with the DB
// the report was matched against), indented, validated against the predicate's
// schema and ending in a newline: the file a gate writes for attest. Every error
// is errkind.Infra.
func (r *Report) PredicateJSON(invocation attestation.VulnInvocation) ([]byte, error) {
	if r == nil {
		return nil, errkind.Infra(errors.New("vuln predicate: no scan report"))
	}
	p, err := r.VulnPredicate(r.DB, invocation)
	if err != nil {
		return nil, errkind.Infra(fmt.Errorf("building the vuln predicate: %w", err))
	}
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, errkind.Infra(fmt.Errorf("encoding the vuln predicate: %w", err))
	}
	if err := attestation.ValidatePredicate(attestation.PredicateVuln, data, attestation.Options{}); err != nil {
		return nil, errkind.Infra(fmt.Errorf("the vuln predicate does not validate: %w", err))
	}
	return append(data, '\n'), nil
}
