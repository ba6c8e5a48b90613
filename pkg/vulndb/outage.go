package vulndb

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// OutagePolicy decides what a gate does when the vulnerability DB cannot be
// obtained or is too old: the on-scanner-outage input of scan and sbom.
type OutagePolicy string

// The outage policies. Their values are attestation.OutageFail and
// attestation.OutageContinue.
const (
	// OutageFail stops the gate with the infrastructure error (exit 3).
	OutageFail OutagePolicy = attestation.OutageFail
	// OutageContinue goes on without dependency results, records an Outage and
	// says so; it never reports "0 findings" for a scanner that did not run.
	OutageContinue OutagePolicy = attestation.OutageContinue
)

// ParseOutagePolicy parses "fail" or "continue" (case-insensitive, surrounding
// space ignored); empty means OutageFail, the fail-closed default. Anything else
// is an errkind.Input error.
func ParseOutagePolicy(s string) (OutagePolicy, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", string(OutageFail):
		return OutageFail, nil
	case string(OutageContinue):
		return OutageContinue, nil
	}
	return "", errkind.Input(fmt.Errorf("on-scanner-outage %q: want fail or continue", s))
}

// Outage records a scanner that could not run because its DB was unavailable.
type Outage struct {
	// Scanner is the scanner that did not run (Options.Scanner, "deps" by default).
	Scanner string
	// Reason is the error that stopped it.
	Reason string
	// At is when it was detected (Options.Now).
	At time.Time
	// Policy is the policy that let the gate continue.
	Policy OutagePolicy
}

// Record converts the outage into the code-scan predicate's outage record.
func (o Outage) Record() attestation.Outage {
	return attestation.Outage{Scanner: o.Scanner, Reason: o.Reason, At: o.At.UTC(), Policy: string(o.Policy)}
}

// LoadWithPolicy is Load under an outage policy. Bad input (a db-dir that does
// not exist or is not a DB) is always an error: it is the caller's mistake, not
// an outage. Any other failure is an outage: with OutageFail it is returned as
// the (errkind.Infra) error; with OutageContinue the result is (nil, outage,
// nil) and the caller goes on WITHOUT dependency results and says so.
func LoadWithPolicy(ctx context.Context, o Options, p OutagePolicy) (*DB, *Outage, error) {
	if p != OutageFail && p != OutageContinue {
		return nil, nil, errkind.Input(fmt.Errorf("outage policy %q: want fail or continue", p))
	}
	db, err := Load(ctx, o)
	if err == nil {
		return db, nil, nil
	}
	if errkind.Of(err) == errkind.KindInput || p == OutageFail {
		return nil, nil, err
	}
	o = o.withDefaults()
	return nil, &Outage{Scanner: o.Scanner, Reason: err.Error(), At: o.Now().UTC(), Policy: p}, nil
}
