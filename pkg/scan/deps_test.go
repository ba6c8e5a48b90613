package scan

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/scan/license"
)

func TestDepsFindingsAndPredicates(t *testing.T) {
	fx := testinfra.NewScanFixture(t)
	db := testinfra.GrypeDB(t)
	res, err := Run(context.Background(), Options{
		Root:      fx.Dir,
		Scanners:  []string{Deps, License},
		OnlyFixed: true,
		Deps:      DepsOptions{DBDir: db},
		License:   license.Options{Deny: []string{"GPL-3.0-only"}, Unknown: license.UnknownWarn},
	})
	if err != nil {
		t.Fatal(err)
	}
	goldenLines(t, "deps-findings.golden", lines(res.Findings))
	if !res.Ran(Deps) || !strings.Contains(res.DB(), "grype DB v6") {
		t.Errorf("deps did not run: %+v %s", res.Scanners, res.DB())
	}
	var cves []string
	for _, f := range res.Findings {
		if f.Scanner == Deps {
			cves = append(cves, f.IDs()...)
			if f.Path == "" || f.PURL == "" || len(f.FixedIn) == 0 {
				t.Errorf("deps finding lacks path, purl or fix: %+v", f)
			}
		}
	}
	for _, want := range []string{"CVE-2022-32149", "CVE-2021-23337"} {
		if !strings.Contains(strings.Join(cves, " "), want) {
			t.Errorf("no %s among %v", want, cves)
		}
	}
	dir := t.TempDir()
	files, err := res.WriteFiles(dir, WriteOptions{Category: "sg", Invocation: attestation.VulnInvocation{URI: "https://github.com/acme/widgets/actions/runs/1", EventID: "1"}})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(files.Vuln)
	if err != nil {
		t.Fatal(err)
	}
	if err := attestation.ValidatePredicate(attestation.PredicateVuln, raw, attestation.Options{}); err != nil {
		t.Fatal(err)
	}
	var vp attestation.VulnScan
	readJSON(t, files.Vuln, &vp)
	if vp.Scanner.URI == "" || !strings.HasPrefix(vp.Scanner.DB.Version, "v6") || vp.Metadata.ScanFinishedOn.IsZero() {
		t.Errorf("vuln predicate = %+v", vp.Scanner)
	}
	var cs attestation.CodeScan
	readJSON(t, files.CodeScan, &cs)
	if cs.Counts.High == 0 || len(cs.Outages) != 0 {
		t.Errorf("code-scan predicate %+v", cs)
	}
}

func TestDepsOutagePolicy(t *testing.T) {
	fx := testinfra.NewScanFixture(t)
	stale := testinfra.GrypeDBBuiltAt(t, time.Now().Add(-200*time.Hour))
	base := Options{Root: fx.Dir, Scanners: []string{Deps, License}, Deps: DepsOptions{DBDir: stale, MaxAge: 120 * time.Hour}}

	failOpts := base
	failOpts.Deps.OnOutage = attestation.OutageFail
	_, err := Run(context.Background(), failOpts)
	if err == nil || errkind.Of(err) != errkind.KindInfra || errkind.ExitCode(err) != 3 {
		t.Fatalf("outage with fail: %v (%v), want an infra error", err, errkind.Of(err))
	}

	contOpts := base
	contOpts.Deps.OnOutage = attestation.OutageContinue
	res, err := Run(context.Background(), contOpts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Ran(Deps) || len(res.Outages) != 1 || res.Outages[0].Scanner != Deps || res.Outages[0].Policy != attestation.OutageContinue || res.Outages[0].Reason == "" {
		t.Fatalf("outage not recorded: %+v %+v", res.Scanners, res.Outages)
	}
	for _, f := range res.Findings {
		if f.Scanner == Deps {
			t.Errorf("deps finding without a DB: %+v", f)
		}
	}
	if !res.Ran(License) {
		t.Error("license check did not run")
	}
	files, err := res.WriteFiles(t.TempDir(), WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var cs attestation.CodeScan
	readJSON(t, files.CodeScan, &cs)
	if len(cs.Outages) != 1 || cs.Outages[0].Policy != attestation.OutageContinue {
		t.Errorf("predicate outages = %+v", cs.Outages)
	}
	for _, tool := range cs.Tools {
		if tool.Name == DepsTool {
			t.Errorf("grype listed as a tool that ran: %+v", cs.Tools)
		}
	}
	if files.Vuln != "" {
		t.Errorf("vuln predicate written for a scan that did not run")
	}
	_ = finding.High
}
