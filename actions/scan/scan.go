// Package scanaction is the scan action: gates 1 and 2 at the source. It maps the
// action's inputs to pkg/scan, and the result to outputs, the SARIF upload, a step
// summary, annotations on the pull request's changed lines, or — on a laptop — a
// readable table.
package scanaction

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/exceptions"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/gha"
	"github.com/secure-gates/secure-gates/pkg/sarif"
	"github.com/secure-gates/secure-gates/pkg/scan"
	"github.com/secure-gates/secure-gates/pkg/scan/iac"
	"github.com/secure-gates/secure-gates/pkg/scan/license"
	"github.com/secure-gates/secure-gates/pkg/scan/secrets"
	"github.com/secure-gates/secure-gates/pkg/vulndb"
)

//go:embed action.yml
var actionYAML []byte

// Gate is the scan subcommand.
var Gate = gate.Gate{Name: "scan", ActionYAML: actionYAML, Positional: "path", Run: run, Inputs: Inputs{}}

// Inputs are the action's inputs; the tags are the names in action.yml.
type Inputs struct {
	Path            string        `input:"path"`
	Scanners        []string      `input:"scanners"`
	SeverityCutoff  string        `input:"severity-cutoff"`
	OnlyFixed       bool          `input:"only-fixed"`
	DBDir           string        `input:"db-dir"`
	DBCache         string        `input:"db-cache"`
	DBUpdateURL     string        `input:"db-update-url"`
	MaxDBAge        time.Duration `input:"max-db-age"`
	OnScannerOutage string        `input:"on-scanner-outage"`
	LicenseAllow    []string      `input:"license-allow"`
	LicenseDeny     []string      `input:"license-deny"`
	LicenseUnknown  string        `input:"license-unknown"`
	IaCPolicies     string        `input:"iac-policies"`
	IaCPlan         string        `input:"iac-plan"`
	HelmValues      []string      `input:"helm-values,lines"`
	IaCChangedOnly  bool          `input:"iac-changed-only"`
	SARIFInputs     []string      `input:"sarif-inputs"`
	Exceptions      string        `input:"exceptions"`
	VEX             []string      `input:"vex"`
	SecretsConfig   string        `input:"secrets-config"`
	Staged          bool          `input:"staged"`
	OutputDir       string        `input:"output-dir"`
	UploadSARIF     bool          `input:"upload-sarif"`
	Category        string        `input:"category"`
	Token           string        `input:"token"`
	Timeout         time.Duration `input:"timeout"`
}

// MaxAnnotations bounds the annotations of one run (the runner shows 10 of each
// level per step and 50 per job).
const MaxAnnotations = 10

// TopFindings is how many findings the summary table lists.
const TopFindings = 20

func run(ctx context.Context, rt *gha.Runtime, raw gha.RawInputs) error {
	var in Inputs
	if err := gha.Decode(raw, &in); err != nil {
		return errkind.Input(err)
	}
	token := in.Token
	if strings.HasPrefix(token, "${{") {
		token = ""
	}
	if token != "" {
		rt.AddMask(token)
	}
	c := rt.Context()
	ws := c.Workspace
	if ws == "" || !rt.InActions() {
		var err error
		if ws, err = os.Getwd(); err != nil {
			return errkind.Infra(err)
		}
	}
	ws, _ = filepath.Abs(ws)
	resolve := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(ws, p)
	}
	root := resolve(or(in.Path, "."))
	cutoff, err := finding.ParseCutoff(in.SeverityCutoff)
	if err != nil {
		return errkind.Input(err)
	}
	scanners, err := scan.ParseScanners(in.Scanners)
	if err != nil {
		return err
	}
	outage, err := vulndb.ParseOutagePolicy(in.OnScannerOutage)
	if err != nil {
		return err
	}
	if err := gate.CheckTimeout(in.Timeout); err != nil {
		return err
	}
	switch in.LicenseUnknown {
	case "", license.UnknownWarn, "fail", "ignore":
	default:
		return errkind.Input(fmt.Errorf("license-unknown %q: expected warn, fail or ignore", in.LicenseUnknown))
	}
	now := time.Now()
	exPath := or(in.Exceptions, exceptions.DefaultPath)
	exSet, err := exceptions.Load(resolve(exPath), now, exceptions.Options{MissingOK: exPath == exceptions.DefaultPath})
	if err != nil {
		return err
	}
	var ev *gha.Event
	if c.EventPath != "" {
		if ev, err = rt.Event(); err != nil {
			return errkind.Input(fmt.Errorf("reading the %s event: %w", c.EventName, err))
		}
	}
	secOpts := secrets.Options{Staged: in.Staged}
	if rng := prRange(c, ev); rng != nil && !in.Staged {
		secOpts.Range = rng
	}
	if err := secretsConfig(ctx, rt, in, resolve, root, c, ev, &secOpts); err != nil {
		return err
	}

	iacOpts := iac.Options{ExtraPolicies: resolve(in.IaCPolicies), Plan: resolve(in.IaCPlan)}
	if iacOpts.HelmValues, err = iac.ParseHelmValues(in.HelmValues); err != nil {
		return err
	}
	if in.IaCChangedOnly {
		if rng := prRange(c, ev); rng != nil {
			changed, err := scan.ChangedFiles(ctx, root, rng.Base, rng.Head)
			if err != nil {
				return err
			}
			iacOpts.Changed = changed
			rt.Infof("iac: checking what the pull request touches (%d changed files)", len(changed))
		} else {
			rt.Infof("iac: iac-changed-only applies to pull requests; checking the whole tree")
		}
	}

	opts := scan.Options{
		Root:           root,
		Scanners:       scanners,
		SeverityCutoff: cutoff,
		OnlyFixed:      in.OnlyFixed,
		OnOutage:       string(outage),
		Secrets:        secOpts,
		Exceptions:     exSet,
		License:        license.Options{Allow: in.LicenseAllow, Deny: in.LicenseDeny, Unknown: or(in.LicenseUnknown, license.UnknownWarn)},
		IaC:            iacOpts,
		Deps: scan.DepsOptions{DBDir: resolve(in.DBDir), CacheDir: DBCache(rt, resolve(in.DBCache)), MaxAge: in.MaxDBAge,
			OnOutage: string(outage), VEX: resolveAll(resolve, in.VEX), UpdateURL: in.DBUpdateURL, Timeout: in.Timeout},
	}
	for _, p := range in.SARIFInputs {
		opts.SARIFInputs = append(opts.SARIFInputs, resolve(p))
	}
	if in.Staged {
		// Pre-commit: only the staged changes, and only for secrets.
		opts.Scanners = []string{scan.Secrets}
	}
	rt.Infof("secure-gates scan: %s with %s", root, strings.Join(opts.Scanners, ", "))
	res, err := scan.Run(ctx, opts)
	if err != nil {
		return err
	}
	var source *attestation.SourceRef
	if c.Repository != "" && shaRE(c.SHA) {
		source = &attestation.SourceRef{Repository: c.Repository, Commit: c.SHA}
	}
	inv := attestation.VulnInvocation{Parameters: []byte("{}"), EventID: c.RunID}
	if c.ServerURL != "" && c.Repository != "" && c.RunID != "" {
		inv.URI = c.ServerURL + "/" + c.Repository + "/actions/runs/" + c.RunID
		inv.BuilderID = c.ServerURL + "/" + c.WorkflowRef
	}
	files, err := res.WriteFiles(resolve(or(in.OutputDir, "secure-gates-scan")), scan.WriteOptions{Category: in.Category, Source: source,
		RepoRoot: repoRoot(ws, root), Invocation: inv})
	if err != nil {
		return err
	}
	counts := res.Counts()
	for _, o := range []gha.KeyValue{
		{Name: "verdict", Value: string(res.Decision)},
		{Name: "sarif", Value: files.SARIF},
		{Name: "code-scan-predicate", Value: files.CodeScan},
		{Name: "vuln-predicate", Value: files.Vuln},
		{Name: "critical", Value: strconv.Itoa(counts[finding.Critical])},
		{Name: "high", Value: strconv.Itoa(counts[finding.High])},
		{Name: "medium", Value: strconv.Itoa(counts[finding.Medium])},
		{Name: "low", Value: strconv.Itoa(counts[finding.Low])},
		{Name: "secrets", Value: strconv.Itoa(res.Secrets())},
	} {
		if err := rt.SetOutput(o.Name, o.Value); err != nil {
			return errkind.Infra(err)
		}
	}
	var uploadErr error
	if rt.InActions() {
		if err := rt.WriteSummary(Summary(res, files)); err != nil {
			return errkind.Infra(err)
		}
		annotate(ctx, rt, res, secOpts.Range, repoRoot(ws, root))
		if in.UploadSARIF && !in.Staged {
			uploadErr = upload(ctx, rt, res, in, token, c, ev, repoRoot(ws, root))
		}
	} else {
		if err := Table(rt.Stdout(), res); err != nil {
			return errkind.Infra(err)
		}
	}
	if res.Decision == attestation.DecisionFail {
		where := "the table above"
		if rt.InActions() {
			where = "the step summary"
		}
		return errkind.Policy(fmt.Errorf("%d finding(s) fail the gate (severity %s or above%s); see %s and %s",
			len(res.Failing), res.Cutoff, onlyFixedNote(res.OnlyFixed && res.Ran(scan.Deps)), where, files.SARIF))
	}
	return uploadErr
}

func onlyFixedNote(b bool) string {
	if b {
		return ", dependencies only when a fix exists"
	}
	return ""
}

func resolveAll(resolve func(string) string, ps []string) []string {
	var out []string
	for _, p := range ps {
		out = append(out, resolve(p))
	}
	return out
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func shaRE(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// repoRoot is the root SARIF locations and annotations are relative to: the
// workspace when the scan root lies inside it, else the scan root.
func repoRoot(ws, root string) string {
	if rel, err := filepath.Rel(ws, root); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return ws
	}
	return root
}

// DBCache is where grype's DB is downloaded when neither db-dir nor db-cache is
// given: the runner's temp folder on Actions, the user's cache folder locally.
// The sbom action shares it, so both gates find the same download.
func DBCache(rt *gha.Runtime, dir string) string {
	if dir != "" {
		return dir
	}
	if t := rt.Getenv("RUNNER_TEMP"); t != "" && rt.InActions() {
		return filepath.Join(t, "secure-gates-grype-db")
	}
	if c, err := os.UserCacheDir(); err == nil {
		return filepath.Join(c, "secure-gates", "grype-db")
	}
	return filepath.Join(os.TempDir(), "secure-gates-grype-db")
}

// prRange is the commit range of a pull request or merge group event.
func prRange(c gha.Context, ev *gha.Event) *secrets.Range {
	if ev == nil {
		return nil
	}
	switch c.EventName {
	case "pull_request", "pull_request_target":
		if ev.PullRequest != nil && shaRE(ev.PullRequest.Base.SHA) && shaRE(ev.PullRequest.Head.SHA) {
			return &secrets.Range{Base: ev.PullRequest.Base.SHA, Head: ev.PullRequest.Head.SHA}
		}
	case "merge_group":
		if ev.MergeGroup != nil && shaRE(ev.MergeGroup.BaseSHA) && shaRE(ev.MergeGroup.HeadSHA) {
			return &secrets.Range{Base: ev.MergeGroup.BaseSHA, Head: ev.MergeGroup.HeadSHA}
		}
	}
	return nil
}

// secretsConfig picks the gitleaks rules: the secrets-config input, else the
// default branch's .gitleaks.toml read from git (never from the scanned work
// tree, which a pull request controls), else the embedded defaults.
func secretsConfig(ctx context.Context, rt *gha.Runtime, in Inputs, resolve func(string) string, root string, c gha.Context, ev *gha.Event, o *secrets.Options) error {
	if in.SecretsConfig != "" {
		p := resolve(in.SecretsConfig)
		f, err := os.Open(p)
		if err != nil {
			return errkind.Input(fmt.Errorf("secrets-config %s: %w", in.SecretsConfig, err))
		}
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, 1<<20+1))
		if err != nil || len(data) > 1<<20 {
			return errkind.Input(fmt.Errorf("secrets-config %s: expected a gitleaks TOML file of at most 1 MiB", in.SecretsConfig))
		}
		o.Config, o.ConfigSource = data, "secrets-config input "+in.SecretsConfig
		return nil
	}
	if ev == nil || ev.Repository.DefaultBranch == "" {
		return nil
	}
	def := ev.Repository.DefaultBranch
	var revs []string
	if ev.PullRequest != nil && ev.PullRequest.Base.Ref == def && shaRE(ev.PullRequest.Base.SHA) {
		revs = append(revs, ev.PullRequest.Base.SHA)
	}
	if c.EventName == "push" && c.Ref == "refs/heads/"+def && shaRE(c.SHA) {
		revs = append(revs, c.SHA)
	}
	revs = append(revs, "refs/remotes/origin/"+def)
	for _, rev := range revs {
		data, err := secrets.ConfigAt(ctx, "", root, rev, secrets.DefaultConfigFile)
		if err != nil {
			continue // not in this clone
		}
		if data != nil {
			o.Config, o.ConfigSource = data, fmt.Sprintf("%s of the default branch (%s)", secrets.DefaultConfigFile, def)
		}
		return nil
	}
	rt.Infof("secrets: the default branch %s is not in the clone; using the embedded gitleaks rules", def)
	return nil
}

// upload sends the SARIF to code scanning, split to GitHub's limits.
func upload(ctx context.Context, rt *gha.Runtime, res *scan.Result, in Inputs, token string, c gha.Context, ev *gha.Event, repo string) error {
	if token == "" {
		return errkind.Input(errors.New("upload-sarif needs the token input (security-events: write)"))
	}
	ctx, cancel, err := gate.WithTimeout(ctx, in.Timeout)
	if err != nil {
		return err
	}
	defer cancel()
	docs, err := sarif.Pack(res.SARIFRuns(in.Category), sarif.Options{Root: repo})
	if err != nil {
		return fmt.Errorf("packing the SARIF for upload: %w", err)
	}
	client := github.NewClient(rt.HTTPClient()).WithAuthToken(token)
	api, err := url.Parse(strings.TrimSuffix(or(c.APIURL, "https://api.github.com"), "/") + "/")
	if err != nil {
		return errkind.Input(fmt.Errorf("parsing GITHUB_API_URL: %w", err))
	}
	client.BaseURL = api
	fork := ev != nil && ev.PullRequest != nil && ev.PullRequest.Head.Repo.FullName != "" && ev.PullRequest.Head.Repo.FullName != c.Repository
	for i, d := range docs {
		id, err := sarif.Upload(ctx, client, sarif.UploadRequest{Owner: c.Owner(), Repo: c.Name(), CommitSHA: c.SHA, Ref: c.Ref,
			CheckoutURI: "file://" + repo, ToolName: "secure-gates", StartedAt: res.StartedOn, SARIF: d.JSON})
		if err != nil {
			if fork && errkind.Of(err) == errkind.KindInput {
				rt.Annotate(gha.Annotation{Level: gha.LevelWarning, Title: "SARIF upload skipped",
					Message: "A pull request from a fork gets a read-only token: the findings are in the summary and the SARIF file."})
				return nil
			}
			return fmt.Errorf("uploading SARIF document %d of %d: %w", i+1, len(docs), err)
		}
		st, err := sarif.Wait(ctx, client, c.Owner(), c.Name(), id, sarif.WaitOptions{})
		if err != nil {
			return fmt.Errorf("waiting for code scanning to process SARIF document %d: %w", i+1, err)
		}
		rt.Infof("code scanning: SARIF document %d of %d %s (%s)", i+1, len(docs), st.Status, id)
	}
	return nil
}
