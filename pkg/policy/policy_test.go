package policy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/internal/testinfra/golden"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/finding"
)

func TestLoadExample(t *testing.T) {
	dir := keyDir(t)
	p, err := Load("testdata/policy.yaml", Options{BaseDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if p.Mode != ModeEnforce || len(p.Identities) != 2 || len(p.Require) != 4 {
		t.Fatalf("parsed %+v", p)
	}
	if p.Identities[1].PublicKey == nil || len(p.Identities[1].KeyPEM) == 0 {
		t.Error("key identity: PEM not loaded")
	}
	if p.Require[1].PredicateType != attestation.PredicateVuln || p.Require[1].MaxAge.Duration != 24*time.Hour ||
		p.Require[1].Deny.Severity != finding.Critical || !p.Require[1].Deny.FixedOnly {
		t.Errorf("vuln requirement = %+v", p.Require[1])
	}
	if p.BreakGlass.TTL.Duration != 2*time.Hour {
		t.Errorf("ttl = %v", p.BreakGlass.TTL)
	}
	data, _ := os.ReadFile("testdata/policy.yaml")
	if p.Digest != attestation.DigestOf(data) {
		t.Error("digest is not the file's sha256")
	}
	if p.AllowsAudit("production") || !p.AllowsAudit("staging") {
		t.Error("AllowsAudit ignores enforce-environments")
	}
	// The parsed form, as the Kyverno renderer and the report see it.
	got, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "policy.golden.json"), append(got, '\n'))
}

func TestLoadErrors(t *testing.T) {
	dir := keyDir(t)
	base := example(t)
	tests := []struct {
		name      string
		edit      func(string) string
		wantField string
	}{
		{"unknown top-level field", func(s string) string { return s + "colour: blue\n" }, `field colour is unknown at the top level`},
		{"unknown identity field", func(s string) string {
			return strings.Replace(s, "    trigger: push", "    trigger: push\n    branch: main", 1)
		}, `field branch is unknown in an identity`},
		{"unknown type", func(s string) string { return strings.Replace(s, "type: cyclonedx", "type: cyclone", 1) }, `require[0].type`},
		{"unanchored subject-regexp", func(s string) string {
			return strings.Replace(s, `^https://github\.com/acme/widgets/\.github/workflows/release\.yml@refs/heads/main$`, `https://github\.com/acme/`, 1)
		}, "identities[0].subject-regexp: `https://github\\.com/acme/` is not anchored"},
		{"empty subject-regexp", func(s string) string {
			return strings.Replace(s, `^https://github\.com/acme/widgets/\.github/workflows/release\.yml@refs/heads/main$`, `""`, 1)
		}, `identities[0].subject-regexp: is empty`},
		{"alternation leaves a branch unanchored", func(s string) string {
			return strings.Replace(s, `^https://github\.com/acme/widgets/\.github/workflows/release\.yml@refs/heads/main$`, `^https://a$|evil`, 1)
		}, `identities[0].subject-regexp`},
		{"ttl over 24h", func(s string) string { return strings.Replace(s, "ttl: 2h", "ttl: 25h", 1) }, `break-glass.ttl: is 25h0m0s, more than the 24h0m0s allowed`},
		{"ttl missing", func(s string) string { return strings.Replace(s, "  ttl: 2h\n", "", 1) }, `break-glass.ttl: is required`},
		{"bad mode", func(s string) string { return strings.Replace(s, "mode: enforce", "mode: permissive", 1) }, `mode: is "permissive"`},
		{"bad apiVersion", func(s string) string { return strings.Replace(s, "secure-gates/v1", "secure-gates/v2", 1) }, `apiVersion`},
		{"key file missing", func(s string) string { return strings.Replace(s, "key: release.pub", "key: nope.pub", 1) }, `identities[1].key`},
		{"key outside the folder", func(s string) string { return strings.Replace(s, "key: release.pub", "key: ../release.pub", 1) }, `leaves the key folder`},
		{"key and issuer", func(s string) string {
			return strings.Replace(s, "  - key: release.pub", "  - key: release.pub\n    issuer: https://x", 1)
		}, `identities[1]: give either key or issuer/subject`},
		{"deny on the wrong type", func(s string) string {
			return strings.Replace(s, "  - type: code-scan ", "  - type: code-scan\n    deny: {severity: high}\n", 1)
		}, `require[2].deny: applies to vuln (deny: {severity: ...}) and dast (deny: {risk: ...}) only, not code-scan`},
		{"bad severity", func(s string) string { return strings.Replace(s, "severity: critical", "severity: urgent", 1) }, `require[1].deny.severity`},
		{"bad max-age", func(s string) string { return strings.Replace(s, "max-age: 24h", "max-age: soon", 1) }, `"soon" is not a positive duration`},
		{"duplicate key", func(s string) string { return s + "mode: audit\n" }, `already defined`},
		{"no identities", func(s string) string {
			i := strings.Index(s, "identities:")
			j := strings.Index(s, "require:")
			return s[:i] + s[j:]
		}, `identities: at least one identity`},
		{"generator without source", func(s string) string {
			return strings.Replace(s, "    source-repository: acme/widgets\n", "    builder: slsa-github-generator\n", 1)
		}, `require[3].source-repository: is required with builder`},
		{"two documents", func(s string) string { return s + "---\nkind: Policy\n" }, `more than one YAML document`},
		{"empty file", func(string) string { return "" }, `policy is empty`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.edit(base)), Options{BaseDir: dir})
			wantRefusal(t, err, tt.wantField)
		})
	}
}

func TestAllErrorsAtOnce(t *testing.T) {
	dir := keyDir(t)
	s := strings.Replace(example(t), "ttl: 2h", "ttl: 48h", 1)
	s = strings.Replace(s, "type: cyclonedx", "type: sbom", 1)
	_, err := Parse([]byte(s), Options{BaseDir: dir})
	if err == nil || !strings.Contains(err.Error(), "break-glass.ttl") || !strings.Contains(err.Error(), "require[0].type") {
		t.Fatalf("want both errors listed, got %v", err)
	}
}

func TestIsPullRequestTrigger(t *testing.T) {
	for ev, want := range map[string]bool{"pull_request": true, "pull_request_target": true, "push": false, "release": false, "": false} {
		if IsPullRequestTrigger(ev) != want {
			t.Errorf("IsPullRequestTrigger(%q) = %v", ev, !want)
		}
	}
}

func TestOnScannerOutage(t *testing.T) {
	dir := keyDir(t)
	head := "apiVersion: secure-gates/v1\nkind: Policy\nidentities: [{key: release.pub}]\n"
	cases := []struct{ name, body, wantErr string }{
		{"accepted on vuln", "require:\n  - {type: vuln, on-scanner-outage: exception}\nexceptions: {signers: [{key: security.pub}]}\n", ""},
		{"fail is the default spelled out", "require:\n  - {type: code-scan, on-scanner-outage: fail}\n", ""},
		{"needs exception signers", "require:\n  - {type: vuln, on-scanner-outage: exception}\n", "require[0].on-scanner-outage: exception needs exceptions.signers"},
		{"scanner types only", "require:\n  - {type: cyclonedx, on-scanner-outage: exception}\nexceptions: {signers: [{key: security.pub}]}\n", "applies to vuln, code-scan and dast only"},
		{"unknown value", "require:\n  - {type: vuln, on-scanner-outage: continue}\n", `is "continue", want fail (the default) or exception`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse([]byte(head+tc.body), Options{BaseDir: dir})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got := p.Require[0].AcceptsOutageException(); got != strings.Contains(tc.body, "exception}") {
					t.Errorf("AcceptsOutageException = %v", got)
				}
				return
			}
			wantRefusal(t, err, tc.wantErr)
		})
	}
}

// tlog: required is accepted on key and keyless identities; optional cannot
// relax a keyless one, and any other value names the field and the fix.
func TestTlogField(t *testing.T) {
	dir := keyDir(t)
	base := example(t)
	tests := []struct {
		name    string
		edit    func(string) string
		wantErr string
	}{
		{"required on a key", func(s string) string {
			return strings.Replace(s, "  - key: release.pub", "  - key: release.pub\n    tlog: required", 1)
		}, ""},
		{"optional on a key", func(s string) string {
			return strings.Replace(s, "  - key: release.pub", "  - key: release.pub\n    tlog: optional", 1)
		}, ""},
		{"required on a keyless identity", func(s string) string {
			return strings.Replace(s, "    trigger: push", "    trigger: push\n    tlog: required", 1)
		}, ""},
		{"optional on a keyless identity", func(s string) string {
			return strings.Replace(s, "    trigger: push", "    trigger: push\n    tlog: optional", 1)
		}, `identities[0].tlog: optional cannot relax a keyless identity`},
		{"unknown value", func(s string) string {
			return strings.Replace(s, "  - key: release.pub", "  - key: release.pub\n    tlog: yes", 1)
		}, `identities[1].tlog: is "yes", want "required"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.edit(base)), Options{BaseDir: dir})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(tt.name, "required") {
					n := 0
					for _, id := range p.Identities {
						if id.RequiresTlog() {
							n++
						}
					}
					if n != 1 {
						t.Errorf("%d identities require the tlog, want 1", n)
					}
				}
				return
			}
			wantRefusal(t, err, tt.wantErr)
		})
	}
}

// TestExceptionLifetimes: exceptions.max-lifetime defaults to 90 days and is at
// most a year; max-outage-lifetime defaults to 72 hours and is at most 7 days.
func TestExceptionLifetimes(t *testing.T) {
	dir := keyDir(t)
	head := "apiVersion: secure-gates/v1\nkind: Policy\nidentities: [{key: release.pub}]\nrequire: [{type: vuln}]\n"
	cases := []struct {
		name, exceptions, wantErr string
		lifetime, outage          time.Duration
	}{
		{"defaults", "exceptions: {signers: [{key: security.pub}]}\n", "", 90 * 24 * time.Hour, 72 * time.Hour},
		{"days", "exceptions: {signers: [{key: security.pub}], max-lifetime: 30d, max-outage-lifetime: 24h}\n", "", 30 * 24 * time.Hour, 24 * time.Hour},
		{"a year", "exceptions: {signers: [{key: security.pub}], max-lifetime: 8760h}\n", "", 365 * 24 * time.Hour, 72 * time.Hour},
		{"outage bound never exceeds the lifetime", "exceptions: {signers: [{key: security.pub}], max-lifetime: 2d}\n", "", 48 * time.Hour, 48 * time.Hour},
		{"over a year", "exceptions: {signers: [{key: security.pub}], max-lifetime: 3650d}\n", "exceptions.max-lifetime: is 87600h0m0s, more than the 8760h0m0s (365 days) allowed", 0, 0},
		{"outage over 7 days", "exceptions: {signers: [{key: security.pub}], max-outage-lifetime: 30d}\n", "exceptions.max-outage-lifetime: is 720h0m0s, more than the 168h0m0s (7 days) allowed", 0, 0},
		{"outage longer than lifetime", "exceptions: {signers: [{key: security.pub}], max-lifetime: 1d, max-outage-lifetime: 72h}\n", "longer than exceptions.max-lifetime", 0, 0},
		{"not a duration", "exceptions: {signers: [{key: security.pub}], max-lifetime: forever}\n", `"forever" is not a positive duration`, 0, 0},
		{"unknown field names the known ones", "exceptions: {signers: [{key: security.pub}], lifetime: 1d}\n", "known: signers, max-lifetime, max-outage-lifetime", 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Parse([]byte(head+c.exceptions), Options{BaseDir: dir})
			if c.wantErr != "" {
				wantRefusal(t, err, c.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Exceptions.Lifetime(); got != c.lifetime {
				t.Errorf("lifetime %s, want %s", got, c.lifetime)
			}
			if got := p.Exceptions.OutageLifetime(); got != c.outage {
				t.Errorf("outage lifetime %s, want %s", got, c.outage)
			}
		})
	}
}

// AllIdentities lists the release signers, then the exception signers, then
// the break-glass signers, and does not share the policy's slices.
func TestAllIdentities(t *testing.T) {
	t.Parallel()
	p := &Policy{
		Identities: []Identity{{Key: "release.pub"}, {Issuer: "https://token.actions.githubusercontent.com"}},
		Exceptions: &Signers{Signers: []Identity{{Key: "security.pub"}}},
		BreakGlass: &BreakGlass{Signers: []Identity{{Key: "breakglass.pub"}}},
	}
	ids := p.AllIdentities()
	var got []string
	for _, id := range ids {
		got = append(got, id.Key+id.Issuer)
	}
	if want := "release.pub https://token.actions.githubusercontent.com security.pub breakglass.pub"; strings.Join(got, " ") != want {
		t.Errorf("AllIdentities = %q, want %q", got, want)
	}
	ids[0].Key = "changed"
	if p.Identities[0].Key != "release.pub" {
		t.Error("AllIdentities shares the policy's identities")
	}
	if n := len((&Policy{Identities: p.Identities}).AllIdentities()); n != 2 {
		t.Errorf("without exceptions and break-glass: %d identities, want 2", n)
	}
}
