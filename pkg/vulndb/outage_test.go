package vulndb

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
)

func TestParseOutagePolicy(t *testing.T) {
	tests := []struct {
		in      string
		want    OutagePolicy
		wantErr bool
	}{
		{"", OutageFail, false},
		{"fail", OutageFail, false},
		{" Continue ", OutageContinue, false},
		{"ignore", "", true},
		{"fail-open", "", true},
	}
	for _, tt := range tests {
		got, err := ParseOutagePolicy(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseOutagePolicy(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil && (errkind.Of(err) != errkind.KindInput || !strings.Contains(err.Error(), "want fail or continue")) {
			t.Errorf("ParseOutagePolicy(%q) error %v: want an input error listing the values", tt.in, err)
		}
	}
}

// TestLoadWithPolicy: a DB too old (an outage) fails the gate with exit 3 under
// fail, and under continue yields an outage record and no DB — so no findings,
// never "0 findings". Bad input is never an outage.
func TestLoadWithPolicy(t *testing.T) {
	_, s := catalogFixture(t)
	now, old := outageNow, staleDB(t)
	tests := []policyCase{
		{"too old, fail", Options{DBDir: old}, OutageFail, errkind.ExitInfra, false, false},
		{"too old, continue", Options{DBDir: old, Scanner: "deps"}, OutageContinue, 0, true, false},
		{"unreachable download, continue", Options{CacheDir: t.TempDir(), UpdateURL: "http://127.0.0.1:1/latest.json", Scanner: "image-vulns"}, OutageContinue, 0, true, false},
		{"missing db-dir is input, even with continue", Options{DBDir: filepath.Join(t.TempDir(), "nope")}, OutageContinue, errkind.ExitInput, false, false},
		{"fresh enough, continue", Options{DBDir: old, MaxAge: 7 * 24 * time.Hour}, OutageContinue, 0, false, true},
		{"unknown policy", Options{DBDir: old}, OutagePolicy("maybe"), errkind.ExitInput, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.Now = func() time.Time { return now }
			db, outage, err := LoadWithPolicy(context.Background(), tt.o, tt.policy)
			if got := errkind.ExitCode(err); got != tt.wantExit {
				t.Fatalf("exit code %d (err %v), want %d", got, err, tt.wantExit)
			}
			if (outage != nil) != tt.wantOutage || (db != nil) != tt.wantDB {
				t.Fatalf("db %v, outage %+v; want db %v, outage %v", db != nil, outage, tt.wantDB, tt.wantOutage)
			}
			if db != nil {
				r, err := db.Match(context.Background(), s, MatchOptions{})
				db.Close()
				if err != nil || len(r.Findings) != 4 {
					t.Errorf("Match after a successful load: %v, %d findings", err, len(r.Findings))
				}
			}
			if outage == nil {
				return
			}
			wantScanner := tt.o.Scanner
			if !outage.At.Equal(now) || outage.Scanner != wantScanner || outage.Policy != OutageContinue || outage.Reason == "" {
				t.Errorf("outage = %+v, want scanner %s at %v under continue with a reason", outage, wantScanner, now)
			}
			rec := outage.Record()
			want := attestation.Outage{Scanner: wantScanner, Reason: outage.Reason, At: now, Policy: attestation.OutageContinue}
			if rec != want {
				t.Errorf("Record() = %+v, want %+v", rec, want)
			}
		})
	}
}

// The outage record goes into a code-scan predicate that validates.
func TestOutageInCodeScanPredicate(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	_, outage, err := LoadWithPolicy(context.Background(), Options{DBDir: testinfra.GrypeDB(t), Now: func() time.Time { return now.Add(1000 * time.Hour) }}, OutageContinue)
	if err != nil || outage == nil {
		t.Fatalf("LoadWithPolicy: %v, %v", outage, err)
	}
	if outage.Scanner != "deps" || !strings.Contains(outage.Reason, "max age") {
		t.Errorf("outage = %+v, want scanner deps (the default) and the age reason", outage)
	}
}
