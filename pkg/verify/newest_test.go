package verify

import (
	"strings"
	"testing"
	"time"

	"github.com/sigstore/cosign/v2/pkg/types"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"

	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/oci"
)

// The newest trustworthy evidence decides (issue 13, observation 3): of the
// verified attestations of a required type about the digest, the newest is
// evaluated and older ones are superseded, never inputs.
func TestNewestEvidenceDecides(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	log4shell := match("CVE-2021-44228", "Critical", true)
	// byRelease attaches preds of type typ about the image, in this order,
	// signed by the release key.
	byRelease := func(typ string, preds ...any) func(w *world, ref oci.Ref) {
		return func(w *world, ref oci.Ref) {
			for _, p := range preds {
				w.attest(ref, w.key("release", false), ref.Digest, typ, p)
			}
		}
	}
	tests := []struct {
		name string
		req  string
		// attach attaches the attestations under test.
		attach     func(w *world, ref oci.Ref)
		pass       bool
		fragment   string // in the requirement's reasons (failure) or detail (pass)
		superseded int
	}{
		{"older clean scan, newer scan with a fixable critical: fails", "vuln", byRelease(attestation.PredicateVuln, vulnScan(now.Add(-3*time.Hour)), vulnScan(now.Add(-time.Hour), log4shell)), false, "CVE-2021-44228 (critical in log4j-core)", 1},
		{"the same, the newer attached first: fails", "vuln", byRelease(attestation.PredicateVuln, vulnScan(now.Add(-time.Hour), log4shell), vulnScan(now.Add(-3*time.Hour))), false, "CVE-2021-44228", 1},
		{"older scan with a critical, newer clean scan: passes", "vuln", byRelease(attestation.PredicateVuln, vulnScan(now.Add(-3*time.Hour), log4shell), vulnScan(now.Add(-time.Hour))), true, "1 older superseded", 1},
		{"two scans at the same time, one failing: both evaluated, fails", "vuln", byRelease(attestation.PredicateVuln, vulnScan(now.Add(-time.Hour)), vulnScan(now.Add(-time.Hour), log4shell)), false, "CVE-2021-44228", 0},
		{"older clean scan re-timestamped today, newer failing scan: fails", "vuln", func(w *world, ref oci.Ref) {
			// A fresh RFC 3161 timestamp (anyone can get one over an existing
			// signature) does not make the old scan newer than it says it is.
			w.attest(ref, w.key("release", true), ref.Digest, attestation.PredicateVuln, vulnScan(now.Add(-3*time.Hour)))
			w.attest(ref, w.key("release", false), ref.Digest, attestation.PredicateVuln, vulnScan(now.Add(-time.Hour), log4shell))
		}, false, "CVE-2021-44228", 1},
		{"older clean scan logged today in the transparency log, newer failing scan: fails", "vuln", func(w *world, ref oci.Ref) {
			w.attest(ref, w.key("release", false).logged(now), ref.Digest, attestation.PredicateVuln, vulnScan(now.Add(-3*time.Hour)))
			w.attest(ref, w.key("release", false), ref.Digest, attestation.PredicateVuln, vulnScan(now.Add(-time.Hour), log4shell))
		}, false, "CVE-2021-44228", 1},
		{"newer failing scan by a foreign key is not evidence: passes", "vuln", func(w *world, ref oci.Ref) {
			w.attest(ref, w.key("release", false), ref.Digest, attestation.PredicateVuln, vulnScan(now.Add(-3*time.Hour)))
			w.attest(ref, w.key("other", false), ref.Digest, attestation.PredicateVuln, vulnScan(now.Add(-time.Hour), log4shell))
		}, true, "", 0},
		{"newer failing scan about another digest is not evidence: passes", "vuln", func(w *world, ref oci.Ref) {
			other := w.image("acme/other")
			w.attest(ref, w.key("release", false), ref.Digest, attestation.PredicateVuln, vulnScan(now.Add(-3*time.Hour)))
			w.attest(ref, w.key("release", false), other.Digest, attestation.PredicateVuln, vulnScan(now.Add(-time.Hour), log4shell))
		}, true, "", 0},
		{"newer scan with a critical a signed exception waives: passes", "vuln", func(w *world, ref oci.Ref) {
			byRelease(attestation.PredicateVuln, vulnScan(now.Add(-3*time.Hour)), vulnScan(now.Add(-time.Hour), log4shell))(w, ref)
			w.attest(ref, w.key("security", false), ref.Digest, attestation.PredicateException,
				exceptionPred(now.Add(24*time.Hour), ref.Repository, "CVE-2021-44228"))
		}, true, "1 waived by exceptions", 1},
		{"older code scan passes, newer decided fail: fails", "code-scan", byRelease(attestation.PredicateCodeScan, codeScan("pass", now.Add(-3*time.Hour)), codeScan("fail", now.Add(-time.Hour))), false, `decision is "fail"`, 1},
		{"older code scan passes, newer records a scanner outage: fails", "code-scan", byRelease(attestation.PredicateCodeScan, codeScan("pass", now.Add(-3*time.Hour)), codeScanWithOutage(now.Add(-time.Hour))), false, "scanner outage recorded: deps did not run", 1},
		{"keyless bundles: older clean scan, newer failing one: fails", "vuln", func(w *world, ref oci.Ref) {
			s := w.keyless(certExt{issuer: ghIssuer, subject: ghSubject, trigger: "push", repository: "acme/widgets", ref: "refs/heads/main"})
			w.bundle(ref, s, attestation.PredicateVuln, vulnScan(now.Add(-3*time.Hour)))
			w.bundle(ref, s, attestation.PredicateVuln, vulnScan(now.Add(-time.Hour), log4shell))
		}, false, "CVE-2021-44228", 1},
	}
	pol := strings.Replace(keyPolicy, "identities:\n  - key: release.pub\n", "identities:\n  - key: release.pub\n  - issuer: "+ghIssuer+"\n    subject: "+ghSubject+"\n    trigger: push\n", 1)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			ref, k := w.signedImage()
			w.attestRequired(ref, k, now.Add(-time.Hour), map[string]any{typeOf(tt.req): nil})
			tt.attach(w, ref)
			rep := w.verify(ref, w.policy(pol), now)
			if rep.Verified != tt.pass {
				t.Fatalf("verified = %v, want %v: %v", rep.Verified, tt.pass, rep.Failures())
			}
			r := requirement(t, rep, tt.req)
			if tt.pass {
				if !strings.Contains(r.Detail, tt.fragment) {
					t.Errorf("detail %q does not say %q", r.Detail, tt.fragment)
				}
			} else {
				wantFail(t, rep, tt.req, tt.fragment)
				for _, f := range rep.Failures() {
					if !strings.HasPrefix(f, tt.req+": ") {
						t.Errorf("failure %q, want only %s to fail", f, tt.req)
					}
				}
				if n := len(rep.Failures()); n > 1 && !strings.Contains(tt.name, "outage") {
					t.Errorf("failures = %q, want one", rep.Failures())
				}
				if tt.superseded > 0 {
					wantFail(t, rep, tt.req, "the newest evidence decides")
				}
			}
			var sup []Superseded
			for _, s := range rep.Superseded {
				if s.Requirement == tt.req {
					sup = append(sup, s)
				}
			}
			if len(sup) != tt.superseded {
				t.Fatalf("superseded = %+v, want %d", rep.Superseded, tt.superseded)
			}
			for _, s := range sup {
				if s.SupersededBy == "" || s.SupersededBy == s.Location || !s.Time.Before(s.NewestTime) || s.TimeSource == "" {
					t.Errorf("superseded entry %+v", s)
				}
				for _, in := range rep.Inputs {
					if in.Location == s.Location {
						t.Errorf("superseded %s is an input", s.Location)
					}
				}
				for _, d := range rep.VSA(nil, VSAOptions{}).InputAttestations {
					if d.URI == s.Location {
						t.Errorf("superseded %s is in the VSA's inputAttestations", s.Location)
					}
				}
			}
			if tt.pass {
				n := 0
				for _, in := range rep.Inputs {
					if in.PredicateType == typeOf(tt.req) {
						n++
					}
				}
				if n != 1 {
					t.Errorf("%d inputs of type %s, want the newest only", n, tt.req)
				}
			}
		})
	}
}

// The evidence time of an attestation is the earliest of its trusted signing
// time and its predicate's own time.
func TestEvidenceTime(t *testing.T) {
	t1 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	t2 := t1.Add(time.Hour)
	vuln := func(finished time.Time) []byte {
		return []byte(`{"metadata":{"scanFinishedOn":"` + finished.Format(time.RFC3339) + `"}}`)
	}
	tests := []struct {
		name      string
		pt        string
		pred      string
		trusted   *time.Time
		want      time.Time
		wantSrcIn string
	}{
		{"vuln, no trusted time", attestation.PredicateVuln, string(vuln(t1)), nil, t1, "metadata.scanFinishedOn"},
		{"vuln, later log time", attestation.PredicateVuln, string(vuln(t1)), &t2, t1, "metadata.scanFinishedOn"},
		{"vuln claiming a time after its log time", attestation.PredicateVuln, string(vuln(t2)), &t1, t1, "transparency log"},
		{"code-scan", attestation.PredicateCodeScan, `{"scanFinishedOn":"` + t1.Format(time.RFC3339) + `"}`, nil, t1, "scanFinishedOn"},
		{"provenance finishedOn", attestation.PredicateSLSAProvenance, `{"runDetails":{"metadata":{"startedOn":"` + t1.Format(time.RFC3339) + `","finishedOn":"` + t2.Format(time.RFC3339) + `"}}}`, nil, t2, "finishedOn"},
		{"provenance startedOn only", attestation.PredicateSLSAProvenance, `{"runDetails":{"metadata":{"startedOn":"` + t1.Format(time.RFC3339) + `"}}}`, nil, t1, "startedOn"},
		{"cyclonedx", attestation.PredicateCycloneDX, `{"metadata":{"timestamp":"` + t1.Format(time.RFC3339) + `"}}`, nil, t1, "metadata.timestamp"},
		{"spdx", attestation.PredicateSPDX, `{"creationInfo":{"created":"` + t1.Format(time.RFC3339) + `"}}`, nil, t1, "creationInfo.created"},
		{"threat model", attestation.PredicateThreatModel, `{"checkedOn":"` + t1.Format(time.RFC3339) + `"}`, nil, t1, "checkedOn"},
		{"assessment", attestation.PredicateAssessment, `{"assessedAt":"` + t1.Format(time.RFC3339) + `"}`, nil, t1, "assessedAt"},
		{"vsa", attestation.PredicateVSA, `{"timeVerified":"` + t1.Format(time.RFC3339) + `"}`, nil, t1, "timeVerified"},
		{"no time at all", attestation.PredicateCycloneDX, `{"bomFormat":"CycloneDX"}`, nil, time.Time{}, ""},
		{"unparsable time, trusted time", attestation.PredicateVuln, `{"metadata":{"scanFinishedOn":"yesterday"}}`, &t2, t2, "transparency log"},
		{"unknown type, trusted time only", "https://example.com/custom/v1", `{"at":"` + t1.Format(time.RFC3339) + `"}`, &t2, t2, "transparency log"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			va := &verifiedAtt{statement: &attestation.Statement{PredicateType: tt.pt, Predicate: []byte(tt.pred)},
				signer: &signer{trustedTime: tt.trusted, timeSource: "transparency log"}}
			got, src := evidenceTime(va)
			if !got.Equal(tt.want) || !strings.Contains(src, tt.wantSrcIn) {
				t.Errorf("evidenceTime = %v (%s), want %v (%s)", got, src, tt.want, tt.wantSrcIn)
			}
		})
	}
}

// Untimed attestations cannot be shown older than another: they are evaluated
// beside the newest, never superseded.
func TestNewestKeepsUntimed(t *testing.T) {
	t1 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	mk := func(loc, pred string) verifiedAtt {
		return verifiedAtt{c: candidate{location: loc}, signer: &signer{},
			statement: &attestation.Statement{PredicateType: attestation.PredicateCycloneDX, Predicate: []byte(pred)}}
	}
	list := []verifiedAtt{
		mk("c-old", `{"metadata":{"timestamp":"`+t1.Format(time.RFC3339)+`"}}`),
		mk("b-untimed", `{}`),
		mk("a-new", `{"metadata":{"timestamp":"`+t1.Add(time.Hour).Format(time.RFC3339)+`"}}`),
		mk("d-new-too", `{"metadata":{"timestamp":"`+t1.Add(time.Hour).Format(time.RFC3339)+`"}}`),
	}
	cur, old := newest(list)
	var got []string
	for _, e := range cur {
		got = append(got, e.va.c.location)
	}
	if strings.Join(got, ",") != "a-new,d-new-too,b-untimed" || len(old) != 1 || old[0].va.c.location != "c-old" {
		t.Errorf("current %v, superseded %d", got, len(old))
	}
}

const keylessOnlyPolicy = `apiVersion: secure-gates/v1
kind: Policy
identities:
  - issuer: https://token.actions.githubusercontent.com
    subject: ` + ghSubject + `
    trigger: push
require:
  - type: cyclonedx
`

// Transparency (issue 13, observation 4): a certificate signature counts only
// with a transparency-log entry or an RFC 3161 timestamp verified against the
// trusted root, and its certificate is checked at that time; a key identity
// with tlog: required needs the log entry.
func TestTransparency(t *testing.T) {
	now := time.Now()
	good := certExt{issuer: ghIssuer, subject: ghSubject, trigger: "push", repository: "acme/widgets", ref: "refs/heads/main"}
	keyTlogPolicy := strings.Replace(keylessOnlyPolicy, "  - issuer: https://token.actions.githubusercontent.com\n    subject: "+ghSubject+"\n    trigger: push\n",
		"  - key: release.pub\n    tlog: required\n", 1)
	keyPolicyNoTlog := strings.Replace(keyTlogPolicy, "    tlog: required\n", "", 1)
	otherRekor, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	// untimed is the good keyless signer without an RFC 3161 timestamp;
	// otherLog puts s's log entry in a log the trusted root does not hold.
	untimed := func(w *world) fixtureSigner {
		s := w.keyless(good)
		s.tsa = false
		return s
	}
	otherLog := func(s fixtureSigner) fixtureSigner {
		s.rekor = otherRekor
		return s
	}
	tests := []struct {
		name     string
		policy   string
		signer   func(w *world) fixtureSigner
		bundle   bool
		pass     bool
		fragment string
	}{
		{"keyless, neither log entry nor timestamp, legacy", keylessOnlyPolicy, untimed, false, false, "accepted only with a transparency-log entry or an RFC 3161 timestamp, and this one has neither"},
		{"keyless, neither log entry nor timestamp, bundle", keylessOnlyPolicy, untimed, true, false, "has neither"},
		{"keyless with a log entry, legacy", keylessOnlyPolicy, func(w *world) fixtureSigner { return untimed(w).logged(now) }, false, true, ""},
		{"keyless with a log entry, bundle", keylessOnlyPolicy, func(w *world) fixtureSigner { return untimed(w).logged(now) }, true, true, ""},
		{"keyless with a timestamp, legacy", keylessOnlyPolicy, func(w *world) fixtureSigner { return w.keyless(good) }, false, true, ""},
		{"keyless with a timestamp, bundle", keylessOnlyPolicy, func(w *world) fixtureSigner { return w.keyless(good) }, true, true, ""},
		{"keyless logged after the certificate expired, legacy", keylessOnlyPolicy, func(w *world) fixtureSigner { return untimed(w).logged(now.Add(30 * time.Minute)) }, false, false, "expir"},
		{"keyless logged after the certificate expired, bundle", keylessOnlyPolicy, func(w *world) fixtureSigner { return untimed(w).logged(now.Add(30 * time.Minute)) }, true, false, "does not verify"},
		{"keyless with an entry from a log the root does not hold, legacy", keylessOnlyPolicy, func(w *world) fixtureSigner { return otherLog(untimed(w)).logged(now) }, false, false, "does not verify"},
		{"keyless with an entry from a log the root does not hold, bundle", keylessOnlyPolicy, func(w *world) fixtureSigner { return otherLog(untimed(w)).logged(now) }, true, false, "does not verify"},
		{"keyless with tlog: required and a timestamp only", strings.Replace(keylessOnlyPolicy, "trigger: push\n", "trigger: push\n    tlog: required\n", 1),
			func(w *world) fixtureSigner { return w.keyless(good) }, false, false, "tlog: required"},
		{"key with tlog: required, no log entry, legacy", keyTlogPolicy, func(w *world) fixtureSigner { return w.key("release", false) }, false, false,
			"carries no transparency-log entry, and the identity requires one (tlog: required)"},
		{"key with tlog: required, no log entry, bundle", keyTlogPolicy, func(w *world) fixtureSigner { return w.key("release", false) }, true, false,
			"tlog: required"},
		{"key with tlog: required, a timestamp is not a log entry", keyTlogPolicy, func(w *world) fixtureSigner { return w.key("release", true) }, false, false,
			"tlog: required"},
		{"key with tlog: required and a log entry, legacy", keyTlogPolicy, func(w *world) fixtureSigner { return w.key("release", false).logged(now) }, false, true, ""},
		{"key with tlog: required and a log entry, bundle", keyTlogPolicy, func(w *world) fixtureSigner { return w.key("release", false).logged(now) }, true, true, ""},
		{"key with tlog: required and an entry from another log", keyTlogPolicy, func(w *world) fixtureSigner { return otherLog(w.key("release", false).logged(now)) }, false, false, "does not verify"},
		{"key without tlog: required and no log entry (today's behaviour)", keyPolicyNoTlog, func(w *world) fixtureSigner { return w.key("release", false) }, false, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			ref := w.image("acme/widgets")
			s := tt.signer(w)
			w.signWithSBOM(ref, s, tt.bundle)
			rep := w.verify(ref, w.policy(tt.policy), now)
			if rep.Verified != tt.pass {
				t.Fatalf("verified = %v, want %v: %v", rep.Verified, tt.pass, rep.Failures())
			}
			if tt.pass {
				// A certificate is checked at a trusted time: the log's or the TSA's.
				for _, in := range rep.Inputs {
					switch {
					case s.cert != nil && in.TrustedTime == nil:
						t.Errorf("keyless input %s has no trusted time", in.Location)
					case s.cert != nil && s.tlog != nil && !s.tsa && in.TrustedTime.Unix() != s.tlog.Unix():
						t.Errorf("keyless input %s trusted time %v, want the log's %v", in.Location, in.TrustedTime, s.tlog)
					}
				}
				return
			}
			t.Logf("refused: %v", rep.Failures())
			wantFail(t, rep, RequirementSignature, tt.fragment)
			wantFail(t, rep, "cyclonedx", tt.fragment)
		})
	}
}

// Copies of one statement (both formats, or re-timestamped) are one piece of
// evidence: a copy is never superseded by another copy of itself.
func TestNewestCopiesAreOneEvidence(t *testing.T) {
	t1 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	logged := t1.Add(-time.Minute)
	pred := `{"metadata":{"timestamp":"` + t1.Format(time.RFC3339) + `"}}`
	st := func(p string) *attestation.Statement {
		return &attestation.Statement{PredicateType: attestation.PredicateCycloneDX, Predicate: []byte(p)}
	}
	list := []verifiedAtt{
		{c: candidate{location: "legacy"}, signer: &signer{}, statement: st(pred)},
		{c: candidate{location: "bundle"}, signer: &signer{trustedTime: &logged, timeSource: "transparency log"}, statement: st(" " + pred)},
	}
	cur, old := newest(list)
	if len(cur) != 2 || len(old) != 0 {
		t.Fatalf("current %d, superseded %d; want both copies current", len(cur), len(old))
	}
	for _, e := range cur {
		if !e.at.Equal(logged) {
			t.Errorf("%s at %v, want the earliest copy's %v", e.va.c.location, e.at, logged)
		}
	}
	// Another statement at a later time supersedes both copies.
	later := `{"metadata":{"timestamp":"` + t1.Add(time.Hour).Format(time.RFC3339) + `"}}`
	list = append(list, verifiedAtt{c: candidate{location: "newer"}, signer: &signer{}, statement: st(later)})
	cur, old = newest(list)
	if len(cur) != 1 || cur[0].va.c.location != "newer" || len(old) != 2 {
		t.Errorf("current %d, superseded %d", len(cur), len(old))
	}
}

// A keyless break-glass bundle with neither log entry nor timestamp has no
// trusted signing time: the verifier's own clock (sigstore-go's "CurrentTime")
// used to stand in for one, so its ttl never ran out.
func TestBreakGlassKeylessNeedsTrustedTime(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	now := time.Now()
	ref := w.image("acme/widgets")
	s := w.keyless(certExt{issuer: ghIssuer, subject: ghSubject, trigger: "push", repository: "acme/widgets", ref: "refs/heads/main"})
	s.tsa = false
	w.bundle(ref, s, types.CosignSignPredicateType, nil)
	w.attest(ref, w.key("release", false), ref.Digest, attestation.PredicateCycloneDX, cyclonedx())
	pol := "apiVersion: secure-gates/v1\nkind: Policy\nidentities:\n  - key: release.pub\nrequire:\n  - type: cyclonedx\nbreak-glass:\n  signers:\n    - issuer: " +
		ghIssuer + "\n      subject: " + ghSubject + "\n      trigger: push\n  ttl: 1h\n"
	rep := w.verify(ref, w.policy(pol), now)
	if rep.Verified || rep.BreakGlass {
		t.Fatalf("verified %v, break-glass %v: %s", rep.Verified, rep.BreakGlass, requirement(t, rep, RequirementSignature).Detail)
	}
	wantFail(t, rep, RequirementSignature, "has neither")
}

// Over the attestation cap, the most recently attached are read, so the newest
// scan's finding is reported; and since some attestations were left unread, no
// requirement can pass either (TestUnreadAttestationsFailClosed): old scans
// attached first cannot push the newest one out of view.
func TestCapReadsTheNewest(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	now := time.Now()
	ref, k := w.signedImage()
	for i := 5; i >= 2; i-- {
		w.attest(ref, k, ref.Digest, attestation.PredicateVuln, vulnScan(now.Add(-time.Duration(i)*time.Hour)))
	}
	w.attest(ref, k, ref.Digest, attestation.PredicateVuln, vulnScan(now.Add(-time.Hour), match("CVE-2021-44228", "Critical", true)))
	pol := "apiVersion: secure-gates/v1\nkind: Policy\nidentities:\n  - key: release.pub\nrequire:\n  - type: vuln\n    deny: {severity: critical}\n"
	rep := w.verifyWith(ref, Options{Policy: w.policy(pol), MaxAttestations: 3, Now: func() time.Time { return now }})
	if rep.Verified {
		t.Fatal("verified: the newest scan, attached last, was left unread")
	}
	wantFail(t, rep, "vuln", "CVE-2021-44228")
}

// A timestamp that verifies against no authority of the trusted root (here a
// genuine one over other bytes) refuses its candidate; it used to crash the
// gate inside cosign (an index into an empty list), so anyone able to add a
// layer next to the image could stop every deploy of it.
func TestTimestampOfSomethingElse(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	now := time.Now()
	ref := w.image("acme/widgets")
	bogus := w.key("release", true)
	bogus.tsaOver = []byte("another signature")
	w.sign(ref, bogus)
	w.attest(ref, bogus, ref.Digest, attestation.PredicateCycloneDX, cyclonedx())
	k := w.key("release", false)
	w.sign(ref, k)
	w.attest(ref, k, ref.Digest, attestation.PredicateCycloneDX, cyclonedx())
	pol := "apiVersion: secure-gates/v1\nkind: Policy\nidentities:\n  - key: release.pub\nrequire:\n  - type: cyclonedx\n"
	rep := w.verify(ref, w.policy(pol), now)
	if !rep.Verified {
		t.Fatalf("the well-signed copies do not verify: %v", rep.Failures())
	}
	n := 0
	for _, ig := range rep.Ignored {
		if strings.Contains(ig.Reason, "does not verify") {
			n++
		}
	}
	if n != 2 {
		t.Errorf("ignored = %+v, want the two candidates with the bogus timestamp", rep.Ignored)
	}
	// Keyless, the bogus timestamp is the only trusted time: refused.
	ref = w.image("acme/widgets")
	s := w.keyless(certExt{issuer: ghIssuer, subject: ghSubject, trigger: "push", repository: "acme/widgets", ref: "refs/heads/main"})
	s.tsaOver = []byte("another signature")
	w.sign(ref, s)
	w.attest(ref, s, ref.Digest, attestation.PredicateCycloneDX, cyclonedx())
	if rep := w.verify(ref, w.policy(keylessOnlyPolicy), now); rep.Verified {
		t.Fatal("a keyless signature verified with a timestamp of something else")
	}
}

// An attestation left unread by a size or count cap may be the newest
// evidence: the attest gate signed a 12–16 MiB predicate whose envelope was
// over verify's cap, verify skipped it, and the older clean scan decided. Now
// every requirement fails while something is unread (its type is unknowable
// without reading it), and nothing over the cap is signed.
func TestUnreadAttestationsFailClosed(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	const capBytes = 64 << 10
	bigFailing := func() any {
		p := vulnScan(now.Add(-time.Minute), match("CVE-2021-44228", "Critical", true)).(map[string]any)
		p["padding"] = strings.Repeat("a", 2*capBytes)
		return p
	}
	tests := []struct {
		name   string
		attach func(w *world, ref oci.Ref, k fixtureSigner)
		maxAtt int
		pass   bool
	}{
		{"everything within the caps", func(*world, oci.Ref, fixtureSigner) {}, 0, true},
		{"newer failing scan over the size cap (legacy)", func(w *world, ref oci.Ref, k fixtureSigner) {
			w.attest(ref, k, ref.Digest, attestation.PredicateVuln, bigFailing())
		}, 0, false},
		{"newer failing scan over the size cap (bundle)", func(w *world, ref oci.Ref, k fixtureSigner) {
			w.bundle(ref, k, attestation.PredicateVuln, bigFailing())
		}, 0, false},
		{"over the count cap", func(w *world, ref oci.Ref, k fixtureSigner) {
			w.attest(ref, k, ref.Digest, attestation.PredicateVuln, vulnScan(now.Add(-2*time.Hour)))
		}, 4, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			ref, k := w.release(now)
			tt.attach(w, ref, k)
			rep := w.verifyWith(ref, Options{Policy: w.policy(keyPolicy), TrustedMaterial: w.trust,
				MaxEnvelopeBytes: capBytes, MaxAttestations: tt.maxAtt, Now: func() time.Time { return now }})
			if rep.Verified != tt.pass {
				t.Fatalf("verified = %v, want %v: %v", rep.Verified, tt.pass, rep.Failures())
			}
			if tt.pass {
				return
			}
			// The type of what was not read is unknowable: every requirement fails.
			for _, name := range []string{"cyclonedx", "vuln", "code-scan", "slsaprovenance"} {
				wantFail(t, rep, name, "1 attestation(s) not read (over the cap): the newest evidence cannot be established")
			}
			wantPass(t, rep, RequirementSignature)
		})
	}
}
