package kpi_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/kpi"
	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/policy"
	"github.com/secure-gates/secure-gates/pkg/signing"
	"github.com/secure-gates/secure-gates/pkg/verify"
	"github.com/secure-gates/secure-gates/pkg/vulndb"
)

// The advisories of the test DB (testinfra.GrypeDB) and when they were published.
const (
	log4j  = "GHSA-jfh8-c2jp-5v3q" // critical, published 2021-12-10
	lodash = "GHSA-35jh-r3h4-6jhm" // high, published 2021-02-15
	xtext  = "GHSA-69ch-w2m2-3vjp" // high, published 2022-10-11
)

var published = map[string]time.Time{
	log4j:  day("2021-12-10"),
	lodash: day("2021-02-15"),
	xtext:  day("2022-10-11"),
}

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// Components of the fixture's SBOMs.
var (
	lodashVuln = component("lodash", "", "4.17.20", "pkg:npm/lodash@4.17.20")
	lodashOK   = component("lodash", "", "4.17.21", "pkg:npm/lodash@4.17.21")
	log4jVuln  = component("log4j-core", "org.apache.logging.log4j", "2.14.1", "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1")
	log4jOK    = component("log4j-core", "org.apache.logging.log4j", "2.17.1", "pkg:maven/org.apache.logging.log4j/log4j-core@2.17.1")
	xtextVuln  = component("golang.org/x/text", "", "v0.3.7", "pkg:golang/golang.org/x/text@v0.3.7")
)

func component(n, group, version, purl string) map[string]any {
	c := map[string]any{"type": "library", "bom-ref": purl, "name": n, "version": version, "purl": purl}
	if group != "" {
		c["group"] = group
	}
	return c
}

type world struct {
	t    *testing.T
	host string
	dir  string
	keys map[string]string
}

func newWorld(t *testing.T) *world {
	reg := testinfra.StartRegistry(t)
	w := &world{t: t, host: reg.Host, dir: t.TempDir(), keys: map[string]string{}}
	for _, n := range []string{"release", "other"} {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, _ := x509.MarshalPKCS8PrivateKey(k)
		w.keys[n] = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
		pub, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
		if err := os.WriteFile(filepath.Join(w.dir, n+".pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func (w *world) push(repo, tag string) oci.Ref {
	w.t.Helper()
	d := testinfra.PushRandomImage(w.t, w.host+"/"+repo+":"+tag)
	return oci.Ref{Repository: w.host + "/" + repo, Digest: d}
}

func (w *world) attest(ref oci.Ref, key, typ string, pred any) {
	w.t.Helper()
	data, err := json.Marshal(pred)
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := signing.Attest(context.Background(), ref, []signing.Predicate{{Type: typ, Data: data}}, signing.Options{Key: w.keys[key], Format: signing.FormatBoth}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) sign(ref oci.Ref) {
	w.t.Helper()
	if _, err := signing.Sign(context.Background(), ref, signing.Options{Key: w.keys["release"], Format: signing.FormatBoth}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) sbom(ref oci.Ref, key string, created time.Time, comps ...map[string]any) {
	w.t.Helper()
	w.attest(ref, key, "cyclonedx", map[string]any{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
		"metadata": map[string]any{"timestamp": created.Format(time.RFC3339)}, "components": comps})
}

// scan attests a vuln scan finished at finished recording ids (grype's shape).
func (w *world) scan(ref oci.Ref, key string, finished time.Time, ids ...string) {
	w.t.Helper()
	sev := map[string]string{log4j: "Critical", lodash: "High", xtext: "High"}
	matches := []any{}
	for _, id := range ids {
		matches = append(matches, map[string]any{"vulnerability": map[string]any{"id": id, "severity": sev[id], "fix": map[string]any{"state": "fixed", "versions": []string{"9"}}},
			"artifact": map[string]any{"name": "pkg"}})
	}
	w.attest(ref, key, "vuln", map[string]any{
		"invocation": map[string]any{"parameters": nil, "uri": "", "event_id": "", "builder.id": ""},
		"scanner": map[string]any{"uri": "pkg:golang/github.com/anchore/grype@v0.120.1", "version": "0.120.1",
			"db": map[string]any{"uri": "grype-db", "version": "6"}, "result": map[string]any{"matches": matches}},
		"metadata": map[string]any{"scanStartedOn": finished.Add(-time.Minute).Format(time.RFC3339), "scanFinishedOn": finished.Format(time.RFC3339)},
	})
}

func (w *world) vsa(ref oci.Ref, verified time.Time) {
	w.t.Helper()
	w.vsaBy(ref, "release", verified)
}

func (w *world) vsaBy(ref oci.Ref, key string, verified time.Time) {
	w.t.Helper()
	w.attest(ref, key, "vsa", attestation.VSA{Verifier: attestation.VSAVerifier{ID: verify.DefaultVerifierID}, TimeVerified: verified,
		ResourceURI: ref.String(), Policy: attestation.ResourceDescriptor{URI: "policy.yaml"}, VerificationResult: attestation.VerificationPassed,
		VerifiedLevels: []string{"SLSA_BUILD_LEVEL_2"}, SLSAVersion: "1.0"})
}

const testPolicy = `apiVersion: secure-gates/v1
kind: Policy
identities:
  - key: release.pub
require:
  - type: cyclonedx
  - type: vuln
    deny: {severity: critical}
`

// history builds the fixture and returns the running images and the
// verification options.
func history(t *testing.T) (w *world, running []kpi.Running, refs map[string]oci.Ref, opts kpi.Options) {
	w = newWorld(t)
	refs = map[string]oci.Ref{}
	// acme/widgets, release 1: the release scan on 2021-06-01 records nothing,
	// though lodash's advisory was published months before (missed); deployed
	// an hour later.
	a1 := w.push("acme/widgets", "1")
	w.sign(a1)
	w.sbom(a1, "release", at("2021-06-01T00:00:00Z"), lodashVuln, log4jVuln)
	w.scan(a1, "release", at("2021-06-01T00:00:00Z"))
	w.vsa(a1, at("2021-06-01T01:00:00Z"))
	// The rescan of 2021-12-12 records log4j (published 2021-12-10) and lodash.
	w.scan(a1, "release", at("2021-12-12T00:00:00Z"), log4j, lodash)
	// A "clean" scan signed by a key the policy does not name changes nothing.
	w.scan(a1, "other", at("2021-12-13T06:00:00Z"))
	// Release 2 fixes both: scanned clean 2021-12-13, deployed 2021-12-14.
	a2 := w.push("acme/widgets", "2")
	w.sign(a2)
	w.sbom(a2, "release", at("2021-12-13T00:00:00Z"), lodashOK, log4jOK)
	w.scan(a2, "release", at("2021-12-13T00:00:00Z"))
	w.vsa(a2, at("2021-12-14T00:00:00Z"))
	// acme/gadgets: released 2023-01-01 with x/text (high, published
	// 2022-10-11), which the release scan recorded: below the policy's deny
	// threshold (critical), it went through.
	b1 := w.push("acme/gadgets", "1")
	w.sign(b1)
	w.sbom(b1, "release", at("2023-01-01T00:00:00Z"), xtextVuln)
	w.scan(b1, "release", at("2023-01-01T00:00:00Z"), xtext)
	w.vsa(b1, at("2023-01-01T01:00:00Z"))
	// A "fixed" gadgets release that does not run, found through the
	// registry's cosign tags, whose SBOM and deploy are signed by a key the
	// policy does not name: it remediates nothing.
	b2 := w.push("acme/gadgets", "2")
	w.sbom(b2, "other", at("2023-02-01T00:00:00Z"))
	w.scan(b2, "other", at("2023-02-01T00:00:00Z"))
	w.vsaBy(b2, "other", at("2023-02-02T00:00:00Z"))
	// acme/tools: not signed by the policy's key at all.
	d1 := w.push("acme/tools", "1")
	w.sbom(d1, "other", at("2023-02-01T00:00:00Z"), xtextVuln)
	w.scan(d1, "other", at("2023-02-01T00:00:00Z"))
	w.push("acme/widgets", "v2")
	refs = map[string]oci.Ref{"a1": a1, "a2": a2, "b1": b1, "b2": b2, "d1": d1}

	list := fmt.Sprintf("# what runs\n%s production\n%s production\n%s/acme/widgets:v2 production\n%s production\n%s staging\n\n%s staging\n",
		a2, a2, w.host, d1, b1, a1)
	running, err := kpi.ParseImages([]byte(list), "images.txt")
	if err != nil {
		t.Fatal(err)
	}
	pp := filepath.Join(w.dir, "policy.yaml")
	if err := os.WriteFile(pp, []byte(testPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Load(pp, policy.Options{BaseDir: w.dir})
	if err != nil {
		t.Fatal(err)
	}
	db, err := vulndb.Load(context.Background(), vulndb.Options{DBDir: testinfra.GrypeDB(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	now := at("2024-01-01T00:00:00Z")
	opts = kpi.Options{Verify: verify.Options{Policy: pol}, DB: db, From: at("2021-01-01T00:00:00Z"), Now: func() time.Time { return now }}
	return w, running, refs, opts
}

func seconds(d time.Duration) *float64 {
	s := d.Seconds()
	return &s
}

func eq(a, b *float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func show(p *float64) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprint(*p)
}

func TestComputeFromAttestations(t *testing.T) {
	_, running, refs, opts := history(t)
	rep, err := kpi.Compute(context.Background(), running, opts)
	if err != nil {
		t.Fatal(err)
	}

	// Coverage: production runs a2 (verified), widgets:v2 by tag, d1 (nothing
	// the policy's key signed); staging b1 (verified) and a1, whose newest
	// scan (the rescan) records a critical.
	want := map[string][2]int{"production": {1, 3}, "staging": {1, 2}}
	if rep.Coverage == nil || *rep.Coverage != 2.0/5 {
		t.Errorf("coverage %s, want 2/5", show(rep.Coverage))
	}
	if len(rep.CoverageBy) != 2 {
		t.Fatalf("coverage by environment %+v", rep.CoverageBy)
	}
	for _, c := range rep.CoverageBy {
		w := want[c.Environment]
		if c.Covered != w[0] || c.Running != w[1] || *c.Ratio != float64(w[0])/float64(w[1]) {
			t.Errorf("%s: %d/%d (%s), want %d/%d", c.Environment, c.Covered, c.Running, show(c.Ratio), w[0], w[1])
		}
	}
	covered := map[string]bool{}
	for _, img := range rep.Images {
		covered[img.Ref] = img.Covered
		if img.Covered != (img.Reason == "verified") {
			t.Errorf("%s: covered %v, reason %q", img.Ref, img.Covered, img.Reason)
		}
		if img.Covered && len(img.Attestations) == 0 {
			t.Errorf("%s is covered but names no attestation", img.Ref)
		}
	}
	for k, wantCovered := range map[string]bool{"a2": true, "b1": true, "a1": false, "d1": false} {
		if got, ok := covered[refs[k].String()]; !ok || got != wantCovered {
			t.Errorf("%s covered = %v (listed %v), want %v", k, got, ok, wantCovered)
		}
	}
	for _, img := range rep.Images {
		if strings.HasSuffix(img.Ref, ":v2") && (img.Covered || img.Digest != "" || !strings.Contains(img.Reason, "by tag")) {
			t.Errorf("the image by tag: %+v", img)
		}
	}
	if len(rep.Images) != 5 {
		t.Errorf("%d images, want 5 (a2 is listed twice in production)", len(rep.Images))
	}

	// Escapes: present now are lodash and log4j in a1, x/text in b1 (a2 has
	// none; d1 has no verified SBOM). lodash (published 2021-02-15) was
	// published before a1's release scan (2021-06-01) and is absent from it;
	// x/text (2022-10-11) before b1's (2023-01-01), which recorded it below
	// the deny threshold; log4j was published after a1's release scan.
	if rep.FindingsPresent != 3 || rep.Escapes != 2 || rep.EscapesBySev["high"] != 2 || rep.EscapesBySev["critical"] != 0 {
		t.Errorf("present %d, escapes %d %v; want 3, 2 (2 high)", rep.FindingsPresent, rep.Escapes, rep.EscapesBySev)
	}
	if rep.EscapeRate == nil || *rep.EscapeRate != 2.0/3 {
		t.Errorf("escape rate %s, want 2/3", show(rep.EscapeRate))
	}
	escaped := map[string]string{}
	for _, p := range rep.EscapeDetail {
		if p.Escape {
			escaped[p.Digest+" "+p.ID] = p.Why
		}
		if p.SBOM == "" || p.ReleaseScan == "" {
			t.Errorf("finding %+v does not name its SBOM and release scan attestations", p)
		}
	}
	for k, why := range map[string]string{refs["a1"].String() + " " + lodash: kpi.EscapeMissed, refs["b1"].String() + " " + xtext: kpi.EscapeNotDenied} {
		if escaped[k] != why {
			t.Errorf("%s: escape %q, want %q (all: %v)", k, escaped[k], why, escaped)
		}
	}
	if len(rep.NotAssessed) != 1 || rep.NotAssessed[0].Ref != refs["d1"].String() {
		t.Errorf("not assessed %+v, want d1", rep.NotAssessed)
	}

	// MTTD: the rescan (2021-12-12) is the first attested scan recording log4j
	// and lodash in a1: 2 days and 300 days after publication; b1's release
	// scan (2023-01-01) recorded x/text 82 days after it. Nearest rank of 3
	// samples: the median is the 2nd (82 days), p90 the 3rd (300 days).
	rescan := at("2021-12-12T00:00:00Z")
	ttdLog4j, ttdLodash := rescan.Sub(published[log4j]), rescan.Sub(published[lodash])
	ttdXtext := at("2023-01-01T00:00:00Z").Sub(published[xtext])
	if ttdLog4j != 48*time.Hour || ttdLodash != 300*24*time.Hour || ttdXtext != 82*24*time.Hour {
		t.Fatalf("fixture arithmetic: %v %v %v", ttdLog4j, ttdLodash, ttdXtext)
	}
	if !eq(rep.MTTD, seconds(ttdXtext)) || !eq(rep.MTTDP90, seconds(ttdLodash)) {
		t.Errorf("MTTD %s p90 %s, want %v and %v", show(rep.MTTD), show(rep.MTTDP90), ttdXtext.Seconds(), ttdLodash.Seconds())
	}
	// MTTR: a2, without either finding of a1, was deployed (VSA) 2021-12-14;
	// x/text in b1 is not remediated (no other gadgets release).
	ttr := at("2021-12-14T00:00:00Z").Sub(rescan)
	if !eq(rep.MTTR, seconds(ttr)) || !eq(rep.MTTRP90, seconds(ttr)) {
		t.Errorf("MTTR %s p90 %s, want %v", show(rep.MTTR), show(rep.MTTRP90), ttr.Seconds())
	}
	if len(rep.Detections) != 3 {
		t.Fatalf("detections %+v, want log4j and lodash in a1, x/text in b1", rep.Detections)
	}
	for _, d := range rep.Detections {
		if d.DetectedBy == "" || !d.InWindow {
			t.Errorf("detection %+v", d)
		}
		switch d.Digest {
		case refs["a1"].String():
			if d.RemediatedDigest != refs["a2"].String() || d.RemediatedBy == "" {
				t.Errorf("a1 detection %+v, want remediated by a2's VSA", d)
			}
		case refs["b1"].String():
			if d.ID != xtext || d.Remediated != nil || d.TTRSeconds != nil {
				t.Errorf("b1 detection %+v, want x/text, open", d)
			}
		default:
			t.Errorf("detection on %s", d.Digest)
		}
	}

	// b2 was read (history) and counts for nothing.
	var sawB2 bool
	for _, c := range rep.DigestsConsulted {
		if c.Ref == refs["b2"].String() {
			sawB2 = true
			if c.Running || c.Verified || len(c.Evidence) != 0 {
				t.Errorf("b2 consulted as %+v, want not running, nothing verified", c)
			}
		}
	}
	if !sawB2 {
		t.Errorf("the earlier gadgets digest was not read from the registry's tags: %+v", rep.DigestsConsulted)
	}

	// The JSON contract.
	data, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	json.Unmarshal(data, &doc)
	for _, k := range []string{"coverage", "images", "escapes", "mttd", "mttr"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	img := doc["images"].([]any)[0].(map[string]any)
	for _, k := range []string{"ref", "digest", "covered", "reason"} {
		if _, ok := img[k]; !ok {
			t.Errorf("JSON image lacks %q", k)
		}
	}

	// Prometheus: the text parser reads every family.
	parser := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(kpi.Prometheus(rep)))
	if err != nil {
		t.Fatalf("Prometheus output does not parse: %v\n%s", err, kpi.Prometheus(rep))
	}
	for _, n := range []string{"secure_gates_pipeline_coverage_ratio", "secure_gates_gate_escapes", "secure_gates_gate_escape_ratio", "secure_gates_mttd_seconds", "secure_gates_mttr_seconds"} {
		if fams[n] == nil {
			t.Errorf("no %s", n)
		}
	}
	for _, m := range fams["secure_gates_pipeline_coverage_ratio"].Metric {
		if m.Label[0].GetValue() == "staging" && m.Gauge.GetValue() != 0.5 {
			t.Errorf("staging coverage metric %v", m.Gauge.GetValue())
		}
	}
	if s := fams["secure_gates_mttd_seconds"].Metric[0].Summary; s.GetSampleCount() != 3 || s.Quantile[0].GetValue() != ttdXtext.Seconds() {
		t.Errorf("mttd summary %v", s)
	}

	md := kpi.Markdown(rep)
	for _, want := range []string{"Pipeline coverage | 40.0%", "2 (2 high)", "66.7%", "82d 0h, 300d 0h", lodash} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	page, err := kpi.HTML(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script", "http://", "src=", "@import"} {
		if strings.Contains(strings.ReplaceAll(string(page), `xmlns="http://www.w3.org/2000/svg"`, ""), bad) {
			t.Errorf("the HTML page is not self-contained: it has %q", bad)
		}
	}
	if out := os.Getenv("KPI_TEST_OUT"); out != "" {
		os.WriteFile(filepath.Join(out, "kpi.html"), page, 0o644)
		os.WriteFile(filepath.Join(out, "kpi.json"), data, 0o644)
		os.WriteFile(filepath.Join(out, "kpi.md"), []byte(md), 0o644)
		os.WriteFile(filepath.Join(out, "kpi.prom"), []byte(kpi.Prometheus(rep)), 0o644)
		os.WriteFile(filepath.Join(out, "coverage.svg"), []byte(kpi.CoverageSVG(rep)), 0o644)
		os.WriteFile(filepath.Join(out, "escapes.svg"), []byte(kpi.EscapesSVG(rep)), 0o644)
		os.WriteFile(filepath.Join(out, "timeline.svg"), []byte(kpi.TimelineSVG(rep)), 0o644)
	}

	// A window after every detection: no MTTD or MTTR (null, NaN), the
	// detections still listed, outside it.
	opts.From = at("2023-06-01T00:00:00Z")
	later, err := kpi.Compute(context.Background(), running, opts)
	if err != nil {
		t.Fatal(err)
	}
	if later.MTTD != nil || later.MTTR != nil || later.MTTDP90 != nil || len(later.Detections) != 3 || later.Detections[0].InWindow {
		t.Errorf("window from 2023-06-01: MTTD %s MTTR %s, detections %+v", show(later.MTTD), show(later.MTTR), later.Detections)
	}
	data, _ = json.Marshal(later)
	if !strings.Contains(string(data), `"mttd":null`) || !strings.Contains(string(data), `"mttr":null`) {
		t.Errorf("no data is not null in the JSON: %s", data)
	}
	if _, err := parser.TextToMetricFamilies(strings.NewReader(kpi.Prometheus(later))); err != nil {
		t.Errorf("Prometheus output without data does not parse: %v", err)
	}
	if *later.Coverage != *rep.Coverage || later.Escapes != rep.Escapes {
		t.Errorf("the window changed coverage or escapes")
	}
}
