package verify

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/types"

	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/oci"
)

func requirement(t *testing.T, rep *Report, name string) RequirementResult {
	t.Helper()
	for _, r := range rep.Requirements {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no requirement %q in %+v", name, rep.Requirements)
	return RequirementResult{}
}

func wantFail(t *testing.T, rep *Report, name string, fragments ...string) {
	t.Helper()
	r := requirement(t, rep, name)
	if r.Passed {
		t.Errorf("%s passed (%s); want a failure naming %q", name, r.Detail, fragments)
		return
	}
	all := strings.Join(r.Reasons, "\n")
	for _, f := range fragments {
		if !strings.Contains(all, f) {
			t.Errorf("%s: reasons do not name %q:\n%s", name, f, all)
		}
	}
}

func wantPass(t *testing.T, rep *Report, names ...string) {
	t.Helper()
	for _, n := range names {
		if r := requirement(t, rep, n); !r.Passed {
			t.Errorf("%s failed: %s", n, strings.Join(r.Reasons, "; "))
		}
	}
}

func TestFullyAttestedPasses(t *testing.T) {
	w := newWorld(t)
	now := time.Now()
	ref, _ := w.release(now)
	rep := w.verify(ref, w.policy(keyPolicy), now)
	if !rep.Verified || rep.Err() != nil {
		t.Fatalf("not verified: %v", rep.Failures())
	}
	wantPass(t, rep, RequirementSignature, "cyclonedx", "vuln", "code-scan", "slsaprovenance")
	if len(rep.Inputs) != 5 {
		t.Errorf("inputs = %d, want the signature and 4 attestations", len(rep.Inputs))
	}
	if rep.BreakGlass || len(rep.ExceptionsUsed) != 0 {
		t.Errorf("break-glass %v, exceptions %v", rep.BreakGlass, rep.ExceptionsUsed)
	}
	if rep.Policy.Digest == "" || rep.Digest != ref.Digest {
		t.Errorf("report names policy %+v and digest %s", rep.Policy, rep.Digest)
	}
}

func TestEveryCauseListedAtOnce(t *testing.T) {
	w := newWorld(t)
	now := time.Now()
	ref := w.image("acme/widgets")
	other := w.image("acme/other")
	// Unsigned image; cyclonedx signed by a key the policy does not allow; the
	// code scan is about another digest; the vuln scan is stale and has an
	// unwaived critical; no provenance at all.
	w.attest(ref, w.key("other", false), ref.Digest, attestation.PredicateCycloneDX, cyclonedx())
	w.attest(ref, w.key("release", false), other.Digest, attestation.PredicateCodeScan, codeScan("pass", now))
	w.attest(ref, w.key("release", false), ref.Digest, attestation.PredicateVuln,
		vulnScan(now.Add(-30*time.Hour), match("CVE-2021-44228", "Critical", true), match("CVE-2000-0001", "Low", true)))
	rep := w.verify(ref, w.policy(keyPolicy), now)
	if rep.Verified {
		t.Fatal("verified")
	}
	wantFail(t, rep, RequirementSignature, "image is not signed")
	wantFail(t, rep, "cyclonedx", "does not verify with an allowed identity", "key release.pub")
	wantFail(t, rep, "code-scan", "subject is another digest", other.Digest)
	wantFail(t, rep, "vuln", "older than max-age 24h", "CVE-2021-44228 (critical in log4j-core)")
	wantFail(t, rep, "slsaprovenance", "missing")
	if strings.Contains(strings.Join(requirement(t, rep, "vuln").Reasons, " "), "CVE-2000-0001") {
		t.Error("a low finding is reported against a critical cutoff")
	}
	err := rep.Err()
	if errkind.ExitCode(err) != errkind.ExitPolicy {
		t.Fatalf("Err() exit %d", errkind.ExitCode(err))
	}
	for _, n := range []string{"signature:", "cyclonedx:", "code-scan:", "vuln:", "slsaprovenance:"} {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("error does not list %s: %v", n, err)
		}
	}
	if len(rep.Ignored) < 2 {
		t.Errorf("ignored = %+v, want the foreign cyclonedx and the other-digest code scan", rep.Ignored)
	}
}

func TestSignatureRefusals(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name string
		sign func(w *world, ref oci.Ref)
		want string
	}{
		{"signed by another key", func(w *world, ref oci.Ref) { w.sign(ref, w.key("other", false)) }, "does not verify with an allowed identity"},
		{"signature copied from another digest", func(w *world, ref oci.Ref) {
			o := w.image("acme/widgets-copy")
			w.sign(o, w.key("release", false))
			// Copy o's signature manifest under ref's .sig tag.
			copySignature(t, w, o, ref)
		}, "does not verify with an allowed identity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			ref := w.image("acme/widgets")
			tt.sign(w, ref)
			w.attestAll(ref, w.key("release", false), now)
			rep := w.verify(ref, w.policy(keyPolicy), now)
			if rep.Verified {
				t.Fatal("verified")
			}
			wantFail(t, rep, RequirementSignature, tt.want)
			wantPass(t, rep, "cyclonedx", "vuln", "code-scan", "slsaprovenance")
		})
	}
}

func TestConditions(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name     string
		attest   func(w *world, ref oci.Ref)
		req      string
		fragment string
	}{
		{"scan finished in the future", func(w *world, ref oci.Ref) {
			w.attest(ref, w.key("release", false), ref.Digest, attestation.PredicateVuln, vulnScan(now.Add(time.Hour)))
		}, "vuln", "is in the future"},
		{"code scan decided fail", func(w *world, ref oci.Ref) {
			w.attest(ref, w.key("release", false), ref.Digest, attestation.PredicateCodeScan, codeScan("fail", now))
		}, "code-scan", `decision is "fail"`},
		{"provenance from another repository", func(w *world, ref oci.Ref) {
			w.attest(ref, w.key("release", false), ref.Digest, attestation.PredicateSLSAProvenance, provenance("evil/widgets"))
		}, "slsaprovenance", "want acme/widgets"},
		{"vuln result in an unknown shape", func(w *world, ref oci.Ref) {
			p := vulnScan(now).(map[string]any)
			p["scanner"].(map[string]any)["result"] = map[string]any{"vulns": []any{}}
			w.attest(ref, w.key("release", false), ref.Digest, attestation.PredicateVuln, p)
		}, "vuln", "neither grype JSON"},
		{"unfixed critical passes fixed-only but a fixed one fails", func(w *world, ref oci.Ref) {
			w.attest(ref, w.key("release", false), ref.Digest, attestation.PredicateVuln,
				vulnScan(now, match("CVE-2023-0001", "Critical", false), match("CVE-2023-0002", "Critical", true)))
		}, "vuln", "1 unwaived finding(s) at or above critical with a fix: CVE-2023-0002"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			ref, k := w.signedImage()
			w.attestRequired(ref, k, now, map[string]any{typeOf(tt.req): nil})
			tt.attest(w, ref)
			rep := w.verify(ref, w.policy(keyPolicy), now)
			if rep.Verified {
				t.Fatal("verified")
			}
			wantFail(t, rep, tt.req, tt.fragment)
			if n := len(rep.Failures()); n != 1 {
				t.Errorf("failures = %v, want only %s", rep.Failures(), tt.req)
			}
		})
	}
}

func typeOf(short string) string {
	uri, _ := attestation.ResolveType(short)
	return uri
}

func TestExceptions(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name       string
		exception  func(w *world, ref oci.Ref)
		pass       bool
		fragment   string
		refusedWhy string
	}{
		{"signed, unexpired, in scope: waives", func(w *world, ref oci.Ref) {
			w.attest(ref, w.key("security", false), ref.Digest, attestation.PredicateException, exceptionPred(now.Add(24*time.Hour), ref.Repository, "CVE-2021-44228"))
		}, true, "", ""},
		{"purl scope naming the package: waives", func(w *world, ref oci.Ref) {
			w.attest(ref, w.key("security", false), ref.Digest, attestation.PredicateException,
				exceptionPred(now.Add(24*time.Hour), "pkg:maven/org.apache.logging.log4j/log4j-core", "CVE-2021-44228"))
		}, true, "", ""},
		{"expired", func(w *world, ref oci.Ref) {
			w.attest(ref, w.key("security", false), ref.Digest, attestation.PredicateException, exceptionPred(now.Add(-time.Hour), "", "CVE-2021-44228"))
		}, false, "not waived: exception", "expired at"},
		{"signed by a signer the policy does not allow", func(w *world, ref oci.Ref) {
			w.attest(ref, w.key("release", false), ref.Digest, attestation.PredicateException, exceptionPred(now.Add(time.Hour), "", "CVE-2021-44228"))
		}, false, "not waived: exception", "signed by no allowed exception signer"},
		{"out of scope", func(w *world, ref oci.Ref) {
			w.attest(ref, w.key("security", false), ref.Digest, attestation.PredicateException, exceptionPred(now.Add(time.Hour), "registry.example/acme/other", "CVE-2021-44228"))
		}, false, "CVE-2021-44228", "does not cover"},
		{"for another finding", func(w *world, ref oci.Ref) {
			w.attest(ref, w.key("security", false), ref.Digest, attestation.PredicateException, exceptionPred(now.Add(time.Hour), "", "CVE-1999-0001"))
		}, false, "CVE-2021-44228 (critical in log4j-core)", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			ref, k := w.signedImage()
			w.attestRequired(ref, k, now, map[string]any{attestation.PredicateVuln: vulnScan(now, match("CVE-2021-44228", "Critical", true))})
			tt.exception(w, ref)
			rep := w.verify(ref, w.policy(keyPolicy), now)
			if rep.Verified != tt.pass {
				t.Fatalf("verified = %v, want %v: %v", rep.Verified, tt.pass, rep.Failures())
			}
			if tt.pass {
				if len(rep.ExceptionsUsed) != 1 || rep.ExceptionsUsed[0].FindingsWaived != 1 || rep.ExceptionsUsed[0].Ticket != "SEC-42" {
					t.Errorf("exceptions used = %+v", rep.ExceptionsUsed)
				}
				return
			}
			wantFail(t, rep, "vuln", tt.fragment)
			if tt.refusedWhy != "" {
				found := false
				for _, r := range rep.ExceptionsRefused {
					found = found || strings.Contains(r.Reason, tt.refusedWhy)
				}
				if !found {
					t.Errorf("exceptions refused = %+v, want one saying %q", rep.ExceptionsRefused, tt.refusedWhy)
				}
			}
			if len(rep.ExceptionsUsed) != 0 {
				t.Errorf("exceptions used = %+v", rep.ExceptionsUsed)
			}
		})
	}
}

func TestBreakGlass(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name     string
		tsa      bool
		at       time.Time
		pass     bool
		fragment string
	}{
		{"within ttl of its timestamp", true, now.Add(time.Hour), true, ""},
		{"after its ttl", true, now.Add(3 * time.Hour), false, "expired"},
		{"without a trusted time", false, now, false, "no trusted signing time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			ref := w.image("acme/widgets")
			w.sign(ref, w.key("breakglass", tt.tsa))
			w.attestAll(ref, w.key("release", false), tt.at)
			rep := w.verify(ref, w.policy(keyPolicy), tt.at)
			if rep.Verified != tt.pass || rep.BreakGlass != tt.pass {
				t.Fatalf("verified %v break-glass %v, want %v: %v", rep.Verified, rep.BreakGlass, tt.pass, rep.Failures())
			}
			if tt.pass {
				if d := requirement(t, rep, RequirementSignature).Detail; !strings.HasPrefix(d, "BREAK-GLASS") {
					t.Errorf("detail %q does not say BREAK-GLASS", d)
				}
				return
			}
			wantFail(t, rep, RequirementSignature, tt.fragment)
		})
	}
}

func TestBundleFormat(t *testing.T) {
	w := newWorld(t)
	now := time.Now()
	ref := w.image("acme/widgets")
	k := w.key("release", false)
	w.bundle(ref, k, types.CosignSignPredicateType, nil)
	w.bundle(ref, k, attestation.PredicateCycloneDX, cyclonedx())
	w.bundle(ref, k, attestation.PredicateVuln, vulnScan(now))
	w.bundle(ref, w.key("other", false), attestation.PredicateCodeScan, codeScan("pass", now))
	w.attest(ref, k, ref.Digest, attestation.PredicateSLSAProvenance, provenance("acme/widgets")) // mixed formats
	rep := w.verify(ref, w.policy(keyPolicy), now)
	wantPass(t, rep, RequirementSignature, "cyclonedx", "vuln", "slsaprovenance")
	wantFail(t, rep, "code-scan", "does not verify with an allowed identity")
	if rep.Verified {
		t.Error("verified with a foreign code-scan bundle")
	}
	formats := map[string]int{}
	for _, in := range rep.Inputs {
		formats[in.Format]++
	}
	if formats[FormatBundle] != 3 || formats[FormatLegacy] != 1 {
		t.Errorf("inputs by format = %v", formats)
	}
}

const keylessPolicy = `apiVersion: secure-gates/v1
kind: Policy
identities:
  - issuer: https://token.actions.githubusercontent.com
    subject-regexp: ^https://github\.com/acme/widgets/\.github/workflows/release\.yml@refs/heads/main$
    repository: acme/widgets
    ref: refs/heads/main
require:
  - type: cyclonedx
`

func TestKeyless(t *testing.T) {
	good := certExt{issuer: ghIssuer, subject: ghSubject, trigger: "push", repository: "acme/widgets", ref: "refs/heads/main"}
	tests := []struct {
		name     string
		ext      func(e certExt) certExt
		bundle   bool
		pass     bool
		fragment string
	}{
		{"right identity, legacy", func(e certExt) certExt { return e }, false, true, ""},
		{"right identity, bundle", func(e certExt) certExt { return e }, true, true, ""},
		{"another repository", func(e certExt) certExt {
			e.subject, e.repository = "https://github.com/evil/widgets/.github/workflows/release.yml@refs/heads/main", "evil/widgets"
			return e
		}, false, false, "subject"},
		{"another branch", func(e certExt) certExt {
			e.subject, e.ref = "https://github.com/acme/widgets/.github/workflows/release.yml@refs/heads/dev", "refs/heads/dev"
			return e
		}, true, false, "does not verify"},
		{"repository extension differs", func(e certExt) certExt { e.repository = "evil/widgets"; return e }, false, false, "does not verify"},
		{"wrong issuer", func(e certExt) certExt { e.issuer = "https://accounts.example.com"; return e }, false, false, "issuer"},
		{"pull_request trigger not listed", func(e certExt) certExt { e.trigger = "pull_request"; return e }, false, false, "pull_request workflow run"},
		{"pull_request_target trigger, bundle", func(e certExt) certExt { e.trigger = "pull_request_target"; return e }, true, false, "pull_request_target workflow run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			now := time.Now()
			ref := w.image("acme/widgets")
			s := w.keyless(tt.ext(good))
			w.signWithSBOM(ref, s, tt.bundle)
			// Verified after the certificate expired: only the timestamp keeps it valid.
			rep := w.verify(ref, w.policy(keylessPolicy), now.Add(time.Hour))
			if rep.Verified != tt.pass {
				t.Fatalf("verified = %v, want %v: %v", rep.Verified, tt.pass, rep.Failures())
			}
			if !tt.pass {
				wantFail(t, rep, RequirementSignature, tt.fragment)
				wantFail(t, rep, "cyclonedx", "does not verify with an allowed identity")
			} else if rep.Inputs[0].TrustedTime == nil {
				t.Error("keyless signature has no trusted time")
			}
		})
	}
}

func TestRegistryFailureIsInfra(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	w := newWorld(t)
	ref := oci.Ref{Repository: u.Host + "/acme/widgets", Digest: "sha256:" + strings.Repeat("1", 64)}
	_, err := Verify(context.Background(), ref, Options{Policy: w.policy(keyPolicy), Registry: oci.Options{Retries: 2, Backoff: time.Millisecond}})
	if err == nil || errkind.Of(err) != errkind.KindInfra {
		t.Fatalf("err = %v (kind %v), want an infrastructure error", err, errkind.Of(err))
	}
	if calls < 3 {
		t.Errorf("registry called %d times, want the retries", calls)
	}
	if strings.Contains(err.Error(), "not signed") {
		t.Errorf("an outage reads as not signed: %v", err)
	}
}

func TestCaps(t *testing.T) {
	w := newWorld(t)
	now := time.Now()
	ref := w.image("acme/widgets")
	for i := 0; i < 3; i++ {
		w.attest(ref, w.key("other", false), ref.Digest, attestation.PredicateCycloneDX, cyclonedx())
	}
	w.sign(ref, w.key("release", false))
	w.attestAll(ref, w.key("release", false), now)
	p := w.policy(keyPolicy)
	rep := w.verifyWith(ref, Options{Policy: p, MaxAttestations: 3, Now: func() time.Time { return now }})
	if rep.Verified {
		t.Fatal("verified although the allowed attestations are beyond the cap")
	}
	capped := 0
	for _, ig := range rep.Ignored {
		if strings.Contains(ig.Reason, "(cap)") {
			capped++
		}
	}
	if capped != 4 {
		t.Errorf("%d attestations reported over the cap, want 4: %+v", capped, rep.Ignored)
	}
}

func TestOptionsErrors(t *testing.T) {
	_, err := Verify(context.Background(), oci.Ref{Repository: "x/y", Digest: "sha256:" + strings.Repeat("1", 64)}, Options{})
	if errkind.Of(err) != errkind.KindInput {
		t.Errorf("no policy: %v", err)
	}
	var target interface{ Error() string }
	if !errors.As(err, &target) {
		t.Error("not an error")
	}
}

// copySignature puts the legacy signature manifest of from under to's .sig tag,
// as an attacker replaying a valid signature of another image would.
func copySignature(t *testing.T, w *world, from, to oci.Ref) {
	t.Helper()
	fd, _ := from.Name()
	td, _ := to.Name()
	ft, err := ociremote.SignatureTag(fd)
	if err != nil {
		t.Fatal(err)
	}
	tt, err := ociremote.SignatureTag(td)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ft)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tt, img); err != nil {
		t.Fatal(err)
	}
}

func TestSizeCap(t *testing.T) {
	w := newWorld(t)
	now := time.Now()
	ref, _ := w.release(now)
	rep := w.verifyWith(ref, Options{Policy: w.policy(keyPolicy), MaxEnvelopeBytes: 200, Now: func() time.Time { return now }})
	if rep.Verified {
		t.Fatal("verified although every envelope is over the size cap")
	}
	wantFail(t, rep, "cyclonedx", "missing")
	over := 0
	for _, ig := range rep.Ignored {
		if strings.Contains(ig.Reason, "over the 200-byte cap") {
			over++
		}
	}
	if over < 4 {
		t.Errorf("%d items reported over the size cap: %+v", over, rep.Ignored)
	}
}

// A pull_request trigger passes only when an identity names it.
func TestPullRequestTriggerListedExplicitly(t *testing.T) {
	w := newWorld(t)
	ref := w.image("acme/widgets")
	s := w.keyless(certExt{issuer: ghIssuer, subject: ghSubject, trigger: "pull_request", repository: "acme/widgets", ref: "refs/heads/main"})
	w.sign(ref, s)
	w.attest(ref, s, ref.Digest, attestation.PredicateCycloneDX, cyclonedx())
	pol := strings.Replace(keylessPolicy, "    ref: refs/heads/main\n", "    ref: refs/heads/main\n    trigger: pull_request\n", 1)
	rep := w.verify(ref, w.policy(pol), time.Now())
	if !rep.Verified {
		t.Fatalf("not verified: %v", rep.Failures())
	}
	// The same identity pinned to push refuses it.
	pol = strings.Replace(pol, "trigger: pull_request", "trigger: push", 1)
	if rep := w.verify(ref, w.policy(pol), time.Now()); rep.Verified {
		t.Fatal("a pull_request certificate passed a push-only identity")
	}
}
