package assess

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/internal/testinfra/golden"
	"github.com/secure-gates/secure-gates/pkg/attestation"
)

var testNow = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func evalDir(t *testing.T, dir string, opts Options) *Report {
	t.Helper()
	tr, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	return eval(t, tr, opts)
}

func evalMap(t *testing.T, files map[string]string, opts Options) *Report {
	t.Helper()
	m := MapTree{}
	for k, v := range files {
		m[k] = []byte(v)
	}
	return eval(t, m, opts)
}

// eval evaluates tree at testNow unless opts sets another time.
func eval(t *testing.T, tree Tree, opts Options) *Report {
	t.Helper()
	if opts.Now.IsZero() {
		opts.Now = testNow
	}
	r, err := Evaluate(context.Background(), tree, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The example service (examples/) scores what its contents show: the paved
// road on pull requests and pushes, the enforce policy with SLA, kustomize
// overlays that are non-root and read-only, an enforcing Kyverno policy; no
// SAST tool feeds the scan gate, no pre-commit hook, no dependency bot, no
// runtime, incident or trust-policy evidence, and no assessment.yaml.
func TestExampleScores(t *testing.T) {
	t.Parallel()
	r := evalDir(t, "../../examples", Options{Repository: "acme/widgets"})
	want := map[int]struct {
		score int
		fact  Fact
	}{
		1:  {0, ""},                     // the scan gate ingests SARIF, but no SAST tool produces any
		2:  {1, FactSecretsInCI},        // secrets scanned in CI by the paved road; no pre-commit hook
		3:  {2, FactSCAWithSLA},         // scan (deps) on pull_request + vuln deny critical fixed-only, max-age 24h
		4:  {2, FactSBOMSigned},         // sbom job + sign-attest job (cyclonedx, spdx) on push
		5:  {2, FactImageScanGate},      // sbom job scans the image; policy denies at verify-and-deploy
		6:  {2, FactNonRootReadOnly},    // both overlays render a non-root, read-only Deployment
		7:  {2, FactIaCOnPR},            // scan (iac) on pull_request
		8:  {2, FactEphemeralAll},       // the paved road's jobs run on ubuntu-latest
		9:  {2, FactNoStaticCredsOIDC},  // no cloud key; id-token: write for keyless signing
		10: {2, FactSignedVerified},     // sign on push, verify-and-deploy
		11: {2, FactProvenanceVerified}, // attest provenance: true, policy requires slsaprovenance
		12: {2, FactAdmissionEnforce},   // kyverno/clusterpolicy.yaml validationFailureAction: Enforce
		13: {0, ""},                     // no Falco
		14: {0, ""},                     // no alerting rules or runbooks
		15: {0, ""},                     // no postmortems
		16: {1, FactEvidencePartial},    // attestations on push, no scheduled re-scan
		17: {0, ""},                     // no game-day records
		18: {0, ""},                     // no cloud trust policy kept in the repository
		19: {0, ""},                     // no Dependabot/Renovate (gomod, docker, github-actions found)
		20: {2, FactPavedRoad},          // calls the paved-road reusable workflow
	}
	if len(r.Questions) != 20 {
		t.Fatalf("%d questions, want 20", len(r.Questions))
	}
	total := 0
	for _, q := range r.Questions {
		w := want[q.ID]
		total += w.score
		if q.Score != w.score || q.Fact != string(w.fact) {
			t.Errorf("question %d: score %d (%s), want %d (%s); evidence %q", q.ID, q.Score, q.Fact, w.score, w.fact, q.Evidence)
		}
		if q.Score < 2 && q.NextStep == "" {
			t.Errorf("question %d scores %d without a next step", q.ID, q.Score)
		}
		if q.Score == 2 && q.NextStep != "" {
			t.Errorf("question %d scores 2 with a next step", q.ID)
		}
		if len(q.Evidence) == 0 {
			t.Errorf("question %d has no evidence", q.ID)
		}
	}
	if r.Total != total || r.Total != 24 || r.Tier != 2 {
		t.Errorf("total %d tier %d, want 24 and tier 2", r.Total, r.Tier)
	}
	if len(r.Notes) != 0 {
		t.Errorf("notes on the example: %q", r.Notes)
	}
	golden.Check(t, filepath.Join("testdata", "example.md"), []byte(r.Markdown()))
}

// A bare repository (git init, nothing else) scores 0 on every question, each
// with the smallest next step.
func TestBareRepository(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if out, err := exec.Command("git", "init", "-q", dir).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v: %s", err, out)
	}
	r := evalDir(t, dir, Options{})
	if r.Total != 0 || r.Tier != 0 || len(r.Questions) != 20 {
		t.Fatalf("total %d tier %d questions %d, want 0, 0, 20", r.Total, r.Tier, len(r.Questions))
	}
	for i, q := range r.Questions {
		if q.ID != i+1 || q.Score != 0 {
			t.Errorf("question %d: id %d score %d", i+1, q.ID, q.Score)
		}
		if q.NextStep == "" || q.NextStep != Rules[i].StepTo1 {
			t.Errorf("question %d: next step %q, want %q", q.ID, q.NextStep, Rules[i].StepTo1)
		}
		if len(q.Evidence) == 0 || q.Evidence[0] == "" {
			t.Errorf("question %d: no reason given", q.ID)
		}
	}
}

// The tiers are seed 002's: 0–10, 11–20, 21–30, 31–38, 39–40.
func TestTier(t *testing.T) {
	t.Parallel()
	for total, want := range map[int]int{0: 0, 10: 0, 11: 1, 20: 1, 21: 2, 30: 2, 31: 3, 38: 3, 39: 4, 40: 4} {
		if got := attestation.AssessmentTier(total); got != want {
			t.Errorf("AssessmentTier(%d) = %d, want %d", total, got, want)
		}
	}
	if len(Rules) != 20 {
		t.Fatalf("%d rules", len(Rules))
	}
	for i, r := range Rules {
		if r.ID != i+1 || r.Question == "" || len(r.Two) == 0 || len(r.One) == 0 || r.StepTo1 == "" || r.StepTo2 == "" {
			t.Errorf("rule %d is incomplete: %+v", i+1, r)
		}
	}
}

// Every rule is documented in the assess action's README: its question, its
// facts and its steps, so the table users read is the one that scores.
func TestReadmeDocumentsRules(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../actions/assess/README.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	for _, r := range Rules {
		if !strings.Contains(doc, r.Question) {
			t.Errorf("README lacks question %d %q", r.ID, r.Question)
		}
		for _, f := range append(append([]Fact{}, r.Two...), r.One...) {
			if !strings.Contains(doc, "`"+string(f)+"`") {
				t.Errorf("README lacks fact %s of question %d", f, r.ID)
			}
		}
	}
}

func scoreOf(r *Report, id int) Question { return r.Questions[id-1] }

// wf wraps jobs into a workflow file triggered on pull_request and push.
func wf(jobs string) string {
	return "on:\n  pull_request:\n  push:\n    branches: [main]\njobs:\n" + jobs
}

// The workflow rules, on small repositories built for each.
func TestWorkflowRules(t *testing.T) {
	t.Parallel()
	sastJob := "  sast:\n    name: CodeQL analyze\n    runs-on: ubuntu-latest\n    steps:\n      - uses: github/codeql-action/init@v3\n      - uses: github/codeql-action/analyze@v3\n"
	cases := []struct {
		name  string
		files map[string]string
		prot  *Protection
		id    int
		score int
		want  string // in the evidence
	}{
		{"sast not required", map[string]string{".github/workflows/ci.yml": wf(sastJob)},
			&Protection{Branch: "main", RequiredChecks: []string{"build"}}, 1, 1, "not required on main"},
		{"sast required by check name", map[string]string{".github/workflows/ci.yml": wf(sastJob)},
			&Protection{Branch: "main", RequiredChecks: []string{"CodeQL analyze"}}, 1, 2, `requires the check "CodeQL analyze"`},
		{"sast required by code scanning rule", map[string]string{".github/workflows/ci.yml": wf(sastJob)},
			&Protection{Branch: "main", CodeScanningRequired: true}, 1, 2, "requires code scanning results"},
		{"sast protection unknown", map[string]string{".github/workflows/ci.yml": wf(sastJob)}, nil, 1, 1, "required checks not read"},
		{"sast only on push", map[string]string{".github/workflows/ci.yml": "on: push\njobs:\n" + sastJob}, nil, 1, 0, "not on pull_request"},
		{"semgrep in run", map[string]string{".github/workflows/ci.yml": wf("  s:\n    runs-on: ubuntu-latest\n    steps:\n      - run: semgrep ci --sarif > s.sarif\n")}, nil, 1, 1, "semgrep ci"},
		{"self-hosted", map[string]string{".github/workflows/ci.yml": wf("  a:\n    runs-on: [self-hosted, linux]\n    steps:\n      - run: make\n")}, nil, 8, 0, "self-hosted"},
		{"self-hosted mixed", map[string]string{".github/workflows/ci.yml": wf("  a:\n    runs-on: [self-hosted, linux]\n    steps:\n      - run: make\n  b:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: make\n")}, nil, 8, 1, "job a runs-on self-hosted"},
		{"self-hosted ephemeral", map[string]string{".github/workflows/ci.yml": wf("  a:\n    runs-on: [self-hosted, ephemeral]\n    steps:\n      - run: make\n")}, nil, 8, 2, "every job (1)"},
		{"static aws key", map[string]string{".github/workflows/ci.yml": wf("  d:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: aws-actions/configure-aws-credentials@v4\n        with:\n          aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}\n          aws-secret-access-key: ${{ secrets.AWS_SECRET_ACCESS_KEY }}\n")}, nil, 9, 0, "long-lived cloud credentials"},
		{"static key in env", map[string]string{".github/workflows/ci.yml": wf("  d:\n    runs-on: ubuntu-latest\n    env:\n      GOOGLE_CREDENTIALS: ${{ secrets.GCP_SA_KEY }}\n    steps:\n      - run: terraform apply\n")}, nil, 9, 0, "GOOGLE_CREDENTIALS"},
		{"oidc role", map[string]string{".github/workflows/ci.yml": wf("  d:\n    runs-on: ubuntu-latest\n    permissions:\n      id-token: write\n    steps:\n      - uses: aws-actions/configure-aws-credentials@v4\n        with:\n          role-to-assume: arn:aws:iam::123456789012:role/deploy\n          aws-region: us-east-1\n")}, nil, 9, 2, "role-to-assume"},
		{"no oidc no keys", map[string]string{".github/workflows/ci.yml": wf("  d:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make\n")}, nil, 9, 1, "no OIDC"},
		{"gates by hand", map[string]string{".github/workflows/ci.yml": wf("  s:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: secure-gates/secure-gates/actions/scan@0000000000000000000000000000000000000000\n")}, nil, 20, 1, "secure-gates scan"},
		{"another host's paved road does not count", map[string]string{".github/workflows/ci.yml": wf("  s:\n    uses: evil/secure-gates/.github/workflows/secure-gates.yml@v1\n")}, nil, 20, 0, "no workflow uses secure-gates"},
		{"own paved road host", map[string]string{".github/workflows/ci.yml": wf("  s:\n    uses: acme/secure-gates/.github/workflows/secure-gates-slsa3.yml@v1\n")}, nil, 20, 2, "paved road acme/secure-gates"},
		{"local reusable workflow expanded", map[string]string{
			".github/workflows/ci.yml":    wf("  call:\n    uses: ./.github/workflows/iac.yml\n"),
			".github/workflows/iac.yml":   "on: workflow_call\njobs:\n  checkov:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: bridgecrewio/checkov-action@v12\n",
			".github/workflows/loop.yml":  "on: workflow_call\njobs:\n  again:\n    uses: ./.github/workflows/loop.yml\n",
			".github/workflows/loop2.yml": wf("  l:\n    uses: ./.github/workflows/loop.yml\n"),
		}, nil, 7, 2, "bridgecrewio/checkov-action on pull_request, push"},
		{"iac on push only", map[string]string{".github/workflows/ci.yml": "on: push\njobs:\n  c:\n    runs-on: ubuntu-latest\n    steps:\n      - run: checkov -d .\n"}, nil, 7, 1, "does not run on pull_request"},
		{"sbom unsigned", map[string]string{".github/workflows/ci.yml": wf("  b:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: anchore/sbom-action@v0\n")}, nil, 4, 1, "not attested"},
		{"sbom attested with cosign", map[string]string{".github/workflows/ci.yml": wf("  b:\n    runs-on: ubuntu-latest\n    steps:\n      - run: syft scan img -o cyclonedx-json > s.json\n      - run: cosign attest --yes --predicate s.json --type cyclonedx img@sha256:x\n")}, nil, 4, 2, "cosign attest"},
		{"signed not verified", map[string]string{".github/workflows/ci.yml": wf("  b:\n    runs-on: ubuntu-latest\n    steps:\n      - run: cosign sign --yes img@sha256:x\n")}, nil, 10, 1, "no verification"},
		{"trivy image gate", map[string]string{".github/workflows/ci.yml": wf("  b:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: aquasecurity/trivy-action@0.28.0\n        with:\n          image-ref: img\n          exit-code: \"1\"\n")}, nil, 5, 2, "exit-code 1"},
		{"trivy image report only", map[string]string{".github/workflows/ci.yml": wf("  b:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: aquasecurity/trivy-action@0.28.0\n        with:\n          image-ref: img\n")}, nil, 5, 1, "does not gate"},
		{"scheduled rescan and attest", map[string]string{
			".github/workflows/rescan.yml": "on:\n  schedule:\n    - cron: '0 3 * * *'\njobs:\n  r:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: secure-gates/secure-gates/actions/sbom@0000000000000000000000000000000000000000\n",
			".github/workflows/ci.yml":     wf("  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: secure-gates/secure-gates/actions/attest@0000000000000000000000000000000000000000\n"),
		}, nil, 16, 2, "on schedule"},
		{"unparsable workflow", map[string]string{".github/workflows/ci.yml": "on: [\n"}, nil, 1, 0, "no parsable workflow"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := evalMap(t, c.files, Options{Protection: c.prot, PavedRoad: []string{"secure-gates/secure-gates", "acme/secure-gates"}})
			q := scoreOf(r, c.id)
			if q.Score != c.score || !strings.Contains(strings.Join(q.Evidence, "\n"), c.want) {
				t.Errorf("question %d: score %d, want %d; evidence %q, want it to mention %q", c.id, q.Score, c.score, q.Evidence, c.want)
			}
		})
	}
}

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      securityContext: {runAsNonRoot: %s}
      containers:
        - name: web
          image: web
          securityContext: {readOnlyRootFilesystem: %s}
`

// The repository rules: manifests, Dockerfiles, hooks, bots, trust policies,
// folders.
func TestRepositoryRules(t *testing.T) {
	t.Parallel()
	dep := func(nonRoot, ro string) string {
		return strings.Replace(strings.Replace(deployment, "%s", nonRoot, 1), "%s", ro, 1)
	}
	cases := []struct {
		name  string
		files map[string]string
		id    int
		score int
		want  string
	}{
		{"workload root", map[string]string{"k8s/app.yaml": dep("false", "true")}, 6, 0, "may run as root"},
		{"workload writable", map[string]string{"k8s/app.yaml": dep("true", "false")}, 6, 1, "writable root filesystem"},
		{"workload hardened", map[string]string{"k8s/app.yaml": dep("true", "true")}, 6, 2, "k8s/app.yaml:1: Deployment web"},
		{"dockerfile user only", map[string]string{"Dockerfile": "FROM golang AS b\nUSER root\nFROM scratch\nUSER 65532\n"}, 6, 1, "Dockerfile:4: final stage USER 65532"},
		{"dockerfile root", map[string]string{"Dockerfile": "FROM scratch\nUSER 65532\nFROM alpine\n"}, 6, 0, "no USER"},
		{"kustomization with remote base not built", map[string]string{
			"deploy/kustomization.yaml": "resources:\n  - https://github.com/evil/repo//base?ref=main\n", "deploy/app.yaml": dep("true", "true")}, 6, 0, "no workload manifests"},
		{"precommit gitleaks", map[string]string{".pre-commit-config.yaml": "repos:\n  - repo: https://github.com/gitleaks/gitleaks\n    rev: v8.30.1\n    hooks:\n      - id: gitleaks\n"}, 2, 2, ".pre-commit-config.yaml:5: pre-commit hook gitleaks"},
		{"precommit other hooks", map[string]string{".pre-commit-config.yaml": "repos:\n  - repo: x\n    rev: v1\n    hooks:\n      - id: trailing-whitespace\n"}, 2, 0, "no secrets hook"},
		{"dependabot partial", map[string]string{"go.mod": "module x\n", "package.json": "{}", ".github/dependabot.yml": "version: 2\nupdates:\n  - package-ecosystem: gomod\n    directory: /\n    schedule: {interval: weekly}\n"}, 19, 1, "not covered: npm (package.json)"},
		{"dependabot all", map[string]string{"go.mod": "module x\n", ".github/dependabot.yml": "version: 2\nupdates:\n  - package-ecosystem: gomod\n    directory: /\n    schedule: {interval: weekly}\n"}, 19, 2, "dependabot gomod"},
		{"renovate", map[string]string{"go.mod": "module x\n", "Dockerfile": "FROM scratch\n", "renovate.json": `{"extends": ["config:recommended"]}`}, 19, 2, "Renovate configuration (every manager)"},
		{"kyverno audit", map[string]string{"policies/p.yaml": "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: p}\nspec:\n  validationFailureAction: Audit\n  rules: []\n"}, 12, 1, "ClusterPolicy p: Audit"},
		{"gatekeeper deny", map[string]string{"policies/c.yaml": "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sRequiredLabels\nmetadata: {name: c}\nspec: {}\n"}, 12, 2, "enforcementAction deny"},
		{"trust scoped", map[string]string{"iam/trust.json": `{"Statement":[{"Condition":{"StringEquals":{"token.actions.githubusercontent.com:sub":"repo:acme/widgets:ref:refs/heads/main"}}}]}`}, 18, 2, "iam/trust.json:1: sub repo:acme/widgets:ref:refs/heads/main"},
		{"trust any ref", map[string]string{"iam/trust.json": `{"Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:acme/widgets:*"}}}`}, 18, 1, "allows any ref"},
		{"trust wildcard owner", map[string]string{"infra/oidc.tf": "condition {\n  test = \"StringLike\"\n  variable = \"token.actions.githubusercontent.com:sub\"\n  values = [\"repo:acme/*\"]\n}\n"}, 18, 0, "does not pin a repository"},
		{"falco deployed", map[string]string{"deploy/falco.yaml": "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: falco}\nspec:\n  template:\n    spec:\n      containers:\n        - name: falco\n          image: docker.io/falcosecurity/falco:0.39.0\n"}, 13, 2, "Falco"},
		{"alerts with runbooks", map[string]string{"mon/rules.yaml": "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: r}\nspec:\n  groups:\n    - name: g\n      rules:\n        - alert: Down\n          expr: up == 0\n          annotations: {runbook_url: https://runbooks.example/down}\n"}, 14, 2, "alert Down"},
		{"postmortems", map[string]string{"postmortems/2026-10-01-outage.md": "# outage\n"}, 15, 1, "postmortems/: 1 documents"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := evalMap(t, c.files, Options{})
			q := scoreOf(r, c.id)
			if q.Score != c.score || !strings.Contains(strings.Join(q.Evidence, "\n"), c.want) {
				t.Errorf("question %d: score %d, want %d; evidence %q, want it to mention %q (notes %q)", c.id, q.Score, c.score, q.Evidence, c.want, r.Notes)
			}
		})
	}
}

// TestThirdPartyAction checks the capabilities read from known actions'
// inputs: a scanner gates only when its inputs make findings fail the step,
// and a cloud login counts as OIDC only without a long-lived key.
func TestThirdPartyAction(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		action string
		with   map[string]string
		want   []capability
	}{
		{"trivy image gating", "aquasecurity/trivy-action", map[string]string{"image-ref": "x", "exit-code": "1"}, []capability{capImageScan, capImageScanGate}},
		{"trivy image exit-code 0", "aquasecurity/trivy-action", map[string]string{"scan-type": "image", "exit-code": "0"}, []capability{capImageScan}},
		{"trivy config", "aquasecurity/trivy-action", map[string]string{"scan-type": "config", "exit-code": "1"}, []capability{capIaC}},
		{"trivy fs gating", "aquasecurity/trivy-action", map[string]string{"exit-code": "2"}, []capability{capSCA, capSCAGate}},
		{"trivy fs", "aquasecurity/trivy-action", nil, []capability{capSCA}},
		{"grype image", "anchore/scan-action", map[string]string{"image": "x"}, []capability{capImageScan, capImageScanGate}},
		{"grype dir no fail", "anchore/scan-action", map[string]string{"fail-build": "false"}, []capability{capSCA}},
		{"aws role", "aws-actions/configure-aws-credentials", map[string]string{"role-to-assume": "r"}, []capability{capOIDCCloud}},
		{"aws role and key", "aws-actions/configure-aws-credentials", map[string]string{"role-to-assume": "r", "aws-secret-access-key": "k"}, nil},
		{"azure federated", "azure/login", map[string]string{"client-id": "c"}, []capability{capOIDCCloud}},
		{"azure creds", "azure/login", map[string]string{"client-id": "c", "creds": "x"}, nil},
		{"gcp wif", "google-github-actions/auth", map[string]string{"workload_identity_provider": "p"}, []capability{capOIDCCloud}},
		{"buildx sbom", "docker/build-push-action", map[string]string{"sbom": "True"}, []capability{capSBOM}},
		{"unknown", "actions/checkout", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []capability
			thirdPartyAction(tc.action, tc.with, func(c capability, _ string) { got = append(got, c) })
			if !slices.Equal(got, tc.want) {
				t.Errorf("thirdPartyAction(%s, %v) = %v, want %v", tc.action, tc.with, got, tc.want)
			}
		})
	}
}

// TestSecureGatesScan checks the scan gate's capabilities by its scanners
// input (default: all) and severity-cutoff (none: no gate).
func TestSecureGatesScan(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		with map[string]string
		want []capability
	}{
		{"defaults", nil, []capability{capSecrets, capSCA, capSCAGate, capIaC}},
		{"sarif inputs", map[string]string{"sarif-inputs": "a.sarif"}, []capability{capSecrets, capSCA, capSCAGate, capIaC, capSAST}},
		{"deps without cutoff", map[string]string{"scanners": "deps", "severity-cutoff": "none"}, []capability{capSCA}},
		{"secrets only", map[string]string{"scanners": "secrets"}, []capability{capSecrets}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []capability
			secureGatesScan("secure-gates scan", tc.with, func(c capability, _ string) { got = append(got, c) })
			if !slices.Equal(got, tc.want) {
				t.Errorf("secureGatesScan(%v) = %v, want %v", tc.with, got, tc.want)
			}
		})
	}
}
