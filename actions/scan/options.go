package scan

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/gha"
	"github.com/secure-gates/secure-gates/pkg/readfile"
	scanner "github.com/secure-gates/secure-gates/pkg/scan"
	"github.com/secure-gates/secure-gates/pkg/scan/iac"
	"github.com/secure-gates/secure-gates/pkg/scan/license"
	"github.com/secure-gates/secure-gates/pkg/scan/secrets"
	"github.com/secure-gates/secure-gates/pkg/scancache"
	"github.com/secure-gates/secure-gates/pkg/vulndb"
)

// setup is a scan about to run: its options and where it runs.
type setup struct {
	opts    scanner.Options
	resolve func(string) string
	ws      string // the workspace: files there are read through readfile.InTree
	out     string // output-dir, created confined to the workspace
	repo    string // what SARIF locations and annotations are relative to
	ctx     gha.Context
	ev      *gha.Event
	cache   *scancache.Dir // nil: no cache
}

// prepare reads what the inputs name (exceptions, the event, the secrets rules,
// the pull request's changed files) into the scan's options.
func prepare(ctx context.Context, run *gate.Run, in Inputs) (*setup, error) {
	ws, err := run.Workspace()
	if err != nil {
		return nil, err
	}
	resolve, _ := run.Resolver()
	s := &setup{resolve: resolve, ws: ws, ctx: run.Context()}
	root := resolve(cmp.Or(in.Path, "."))
	s.repo = repoRoot(ws, root)
	if s.out, err = run.OutputDir("output-dir", cmp.Or(in.OutputDir, "secure-gates-scan")); err != nil {
		return nil, err
	}
	exSet, err := in.FileInput.Load(ws, time.Now())
	if err != nil {
		return nil, err
	}
	if s.ctx.EventPath != "" {
		if s.ev, err = run.Event(); err != nil {
			return nil, errkind.Input(fmt.Errorf("reading the %s event: %w", s.ctx.EventName, err))
		}
	}
	rng := prRange(s.ctx, s.ev)
	secOpts := secrets.Options{Staged: in.Staged}
	if rng != nil && !in.Staged {
		secOpts.Range = rng
	}
	if err := secretsConfig(ctx, run, in, s, root, &secOpts); err != nil {
		return nil, err
	}
	vex := resolveAll(resolve, in.VEX)
	if err := confined(ws, "vex", vex); err != nil {
		return nil, err
	}
	iacOpts := iac.Options{ExtraPolicies: resolve(in.IaCPolicies), Plan: resolve(in.IaCPlan), HelmValues: in.helmValues}
	if in.IaCChangedOnly {
		if rng != nil {
			if iacOpts.Changed, err = scanner.ChangedFiles(ctx, root, rng.Base, rng.Head); err != nil {
				return nil, err
			}
			run.Infof("iac: checking what the pull request touches (%d changed files)", len(iacOpts.Changed))
		} else {
			run.Infof("iac: iac-changed-only applies to pull requests; checking the whole tree")
		}
	}
	outage := string(in.Policy())
	s.opts = scanner.Options{
		Root: root, Scanners: in.scanners, SeverityCutoff: in.cutoff, OnlyFixed: in.OnlyFixed, OnOutage: outage,
		Secrets: secOpts, Exceptions: exSet, IaC: iacOpts,
		License: license.Options{Allow: in.LicenseAllow, Deny: in.LicenseDeny, Unknown: cmp.Or(in.LicenseUnknown, license.UnknownWarn)},
		Deps: scanner.DepsOptions{DBDir: resolve(in.DBDir), CacheDir: vulndb.CacheDir(resolve(in.DBCache), run.RunnerTemp()), MaxAge: in.MaxDBAge,
			OnOutage: outage, VEX: vex, UpdateURL: in.DBUpdateURL, Timeout: in.Timeout},
		SARIFInputs: resolveAll(resolve, in.SARIFInputs),
	}
	if in.Staged {
		// Pre-commit: only the staged changes, and only for secrets.
		s.opts.Scanners = []string{scanner.Secrets}
	} else if s.cache = openCache(run, in, resolve, root); s.cache != nil {
		s.opts.Cache = s.cache
	}
	return s, nil
}

// DefaultCacheDir is the scan cache's folder under RUNNER_TEMP when cache-dir
// is empty on a runner.
const DefaultCacheDir = "secure-gates-scan-cache"

// openCache opens the scan cache cache-dir names: empty is DefaultCacheDir
// under RUNNER_TEMP on a runner and no cache off one; "none" is no cache. A
// cache that cannot be opened is a warning: the scan runs without it.
func openCache(run *gate.Run, in Inputs, resolve func(string) string, root string) *scancache.Dir {
	dir := resolve(in.CacheDir)
	if in.CacheDir == "" && run.RunnerTemp() != "" {
		dir = filepath.Join(run.RunnerTemp(), DefaultCacheDir)
	}
	if dir == "" || in.CacheDir == "none" {
		return nil
	}
	var secret []byte
	if in.CacheSecret != "" {
		secret = []byte(in.CacheSecret)
	}
	c, err := scancache.Open(dir, scancache.Options{Secret: secret, MaxBytes: in.cacheMaxSize})
	if err != nil {
		run.Annotate(gha.Annotation{Level: gha.LevelWarning, Title: "Scan cache not used", Message: err.Error() + "; scanning without a cache"})
		return nil
	}
	if repoRoot(root, dir) == root {
		run.Annotate(gha.Annotation{Level: gha.LevelWarning, Title: "Scan cache inside the scanned path",
			Message: "cache-dir " + dir + " is inside " + root + ": its files are scanned too; keep it outside (the default is under RUNNER_TEMP)"})
	}
	return c
}

// closeCache trims and closes the scan cache, logs what it did, and returns
// the cache-key output ("" without a cache).
func closeCache(run *gate.Run, s *setup) string {
	if s.cache == nil {
		return ""
	}
	if err := s.cache.Close(); err != nil {
		run.Infof("scan cache: closing %s: %v", s.cache.Path(), err)
	}
	st := s.cache.Stats()
	run.Infof("%s", st)
	return scanner.CacheKey(cmp.Or(run.Getenv("RUNNER_OS"), runtime.GOOS), s.opts, st.Digest)
}

// confined refuses a file of input, read by a library that opens it by path
// (grype reads VEX documents), that lies in the workspace ws and is, or lies
// under, a symbolic link leading out of it. Every other problem is left to
// the reader, which reports it as before.
func confined(ws, input string, paths []string) error {
	for _, p := range paths {
		f, err := readfile.OpenInTree(ws, p)
		if err == nil {
			f.Close()
		} else if errors.Is(err, readfile.ErrEscapes) {
			return errkind.Input(fmt.Errorf("%s %s: %w", input, p, err))
		}
	}
	return nil
}

func resolveAll(resolve func(string) string, ps []string) []string {
	var out []string
	for _, p := range ps {
		out = append(out, resolve(p))
	}
	return out
}

// sourceRef is the commit scanned, when the run names one.
func sourceRef(c gha.Context) *attestation.SourceRef {
	if c.Repository != "" && shaRE(c.SHA) {
		return &attestation.SourceRef{Repository: c.Repository, Commit: c.SHA}
	}
	return nil
}

// invocation is the vuln predicate's record of the run.
func invocation(c gha.Context) attestation.VulnInvocation {
	inv := attestation.VulnInvocation{Parameters: []byte("{}"), EventID: c.RunID}
	if c.ServerURL != "" && c.Repository != "" && c.RunID != "" {
		inv.URI = c.ServerURL + "/" + c.Repository + "/actions/runs/" + c.RunID
		inv.BuilderID = c.ServerURL + "/" + c.WorkflowRef
	}
	return inv
}

// repoRoot is the root SARIF locations and annotations are relative to: the
// workspace when the scan root lies inside it, else the scan root.
func repoRoot(ws, root string) string {
	if rel, err := filepath.Rel(ws, root); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return ws
	}
	return root
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
func secretsConfig(ctx context.Context, run *gate.Run, in Inputs, s *setup, root string, o *secrets.Options) error {
	if in.SecretsConfig != "" {
		// In the workspace, a symbolic link out of it is refused; a FIFO or
		// device is not opened.
		data, err := readfile.InTree(s.ws, s.resolve(in.SecretsConfig), 1<<20)
		if errors.Is(err, readfile.ErrTooLarge) {
			return errkind.Input(fmt.Errorf("secrets-config %s: expected a gitleaks TOML file of at most 1 MiB", in.SecretsConfig))
		}
		if err != nil {
			return errkind.Input(fmt.Errorf("secrets-config %s: %w", in.SecretsConfig, err))
		}
		o.Config, o.ConfigSource = data, "secrets-config input "+in.SecretsConfig
		return nil
	}
	ev, c := s.ev, s.ctx
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
	run.Infof("secrets: the default branch %s is not in the clone; using the embedded gitleaks rules", def)
	return nil
}
