package vulndb

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// TestPendingMatch: a DB loaded in the background matches like one loaded in
// the foreground; an outage under continue is an outage record and no report;
// under fail, and for bad input, it is the error.
func TestPendingMatch(t *testing.T) {
	root, s := catalogFixture(t)
	now, old := outageNow, staleDB(t)
	clock := func() time.Time { return now }
	tests := []policyCase{
		{"fresh", Options{DBDir: testinfra.GrypeDB(t)}, OutageFail, 0, false, true},
		{"too old, fail", Options{DBDir: old, Now: clock}, OutageFail, errkind.ExitInfra, false, false},
		{"too old, continue", Options{DBDir: old, Now: clock, Scanner: "image"}, OutageContinue, 0, true, false},
		{"missing db-dir is input, even with continue", Options{DBDir: filepath.Join(t.TempDir(), "nope")}, OutageContinue, errkind.ExitInput, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pd := Start(context.Background(), tt.o, tt.policy)
			defer pd.Discard()
			rep, outage, err := pd.Match(context.Background(), s, MatchOptions{Root: root})
			if got := errkind.ExitCode(err); got != tt.wantExit {
				t.Fatalf("exit code %d (err %v), want %d", got, err, tt.wantExit)
			}
			if (outage != nil) != tt.wantOutage || (rep != nil) != tt.wantDB {
				t.Fatalf("report %v, outage %+v; want report %v, outage %v", rep != nil, outage, tt.wantDB, tt.wantOutage)
			}
			if outage != nil && (outage.Scanner != "image" || outage.Policy != OutageContinue || !outage.At.Equal(now) || outage.Reason == "") {
				t.Errorf("outage = %+v", outage)
			}
			if rep == nil {
				return
			}
			if got := summarize(rep.Findings); !reflect.DeepEqual(got, wantFindings) {
				t.Errorf("findings:\n got  %+v\n want %+v", got, wantFindings)
			}
			if rep.DB.Source != SourceDBDir || rep.DB.SchemaVersion == "" {
				t.Errorf("report DB = %+v", rep.DB)
			}
			// Match closed the DB and handed it over: nothing is left to take.
			if db, _, err := pd.Wait(); db != nil || errkind.Of(err) != errkind.KindInfra {
				t.Errorf("Wait after Match = %v, %v; want no DB and an infrastructure error", db, err)
			}
		})
	}
}

// TestPendingWaitDiscard: Wait hands the DB over once; Discard closes a DB
// nobody took, and is harmless after Wait.
func TestPendingWaitDiscard(t *testing.T) {
	pd := Start(context.Background(), Options{DBDir: testinfra.GrypeDB(t)}, OutageFail)
	db, outage, err := pd.Wait()
	if err != nil || outage != nil || db == nil {
		t.Fatalf("Wait = %v, %v, %v", db, outage, err)
	}
	pd.Discard()
	if db.vp == nil {
		t.Error("Discard closed a DB that Wait had handed over")
	}
	db.Close()

	pd = Start(context.Background(), Options{DBDir: testinfra.GrypeDB(t)}, OutageFail)
	pd.Discard()
	if db, _, err := pd.Wait(); db != nil || err == nil {
		t.Errorf("Wait after Discard = %v, %v; want no DB and an error", db, err)
	}
	if pd.db == nil || pd.db.vp != nil {
		t.Error("Discard did not close the DB it loaded")
	}
}

// TestPredicateJSON: the file attest signs is the validated vuln predicate of
// the report's own DB, with a final newline.
func TestPredicateJSON(t *testing.T) {
	_, s := catalogFixture(t)
	db := loadFixed(t)
	rep, err := db.Match(context.Background(), s, MatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data, err := rep.PredicateJSON(attestation.VulnInvocation{})
	if err != nil {
		t.Fatal(err)
	}
	if data[len(data)-1] != '\n' {
		t.Error("no final newline")
	}
	if err := attestation.ValidatePredicate(attestation.PredicateVuln, data, attestation.Options{}); err != nil {
		t.Errorf("does not validate: %v", err)
	}
	var p attestation.VulnScan
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	if p.Scanner.DB.Version != db.Info().DBVersion() || p.Scanner.DB.URI != db.Info().DBURI() || string(p.Invocation.Parameters) != "{}" {
		t.Errorf("scanner %+v, invocation %+v", p.Scanner.DB, p.Invocation)
	}
	var nilReport *Report
	if _, err := nilReport.PredicateJSON(attestation.VulnInvocation{}); errkind.Of(err) != errkind.KindInfra {
		t.Errorf("nil report: %v, want an infrastructure error", err)
	}
}
