package pipeline

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"golang.org/x/mod/modfile"
	"gopkg.in/yaml.v3"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/gitcmd"
	"github.com/secure-gates/secure-gates/pkg/readfile"
)

// maxGoMod bounds the go.mod read.
const maxGoMod = 1 << 20

// service is the repository the chain runs on.
type service struct {
	dir        string // absolute
	module     string // go.mod module path
	name       string // the binary's and the image's last element
	repository string // owner/name, as GITHUB_REPOSITORY
	policy     string // .secure-gates/policy.yaml, "" when absent
	exceptions string // .secure-gates/exceptions.yaml, "" when absent
	overlay    string // deploy/overlays/staging, relative, "" when absent
	imageName  string // the overlay's images[].name
	sha        string // the commit built (git HEAD, or the tree's sha256)
	ref        string // refs/heads/<branch>
	workflow   string // .github/workflows/<x>.yml for GITHUB_WORKFLOW_REF
}

var repoName = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)

func loadService(dir string) (*service, error) {
	if dir == "" {
		dir = DefaultRepo
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("pipeline: repository %s: %w", dir, err))
	}
	st, err := os.Stat(abs)
	if err != nil || !st.IsDir() {
		hint := ""
		if dir == DefaultRepo {
			hint = " (run it from the secure-gates checkout, or name your service: secure-gates pipeline --repo DIR)"
		}
		return nil, errkind.Input(fmt.Errorf("pipeline: repository %s is not a folder%s", dir, hint))
	}
	s := &service{dir: abs}
	data, err := readfile.Bounded(filepath.Join(abs, "go.mod"), maxGoMod)
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("pipeline: %s has no readable go.mod (the pipeline builds Go services): %w", dir, err))
	}
	mf, err := modfile.ParseLax("go.mod", data, nil)
	if err != nil || mf.Module == nil {
		return nil, errkind.Input(fmt.Errorf("pipeline: %s/go.mod: expected a module line: %v", dir, err))
	}
	s.module = mf.Module.Mod.Path
	s.name = pathBase(s.module)
	// owner/name: from a github.com module path, else local/<name>.
	if rest, ok := strings.CutPrefix(s.module, "github.com/"); ok {
		parts := strings.Split(rest, "/")
		if len(parts) >= 2 && repoName.MatchString(parts[0]+"/"+parts[1]) {
			s.repository = parts[0] + "/" + parts[1]
		}
	}
	if s.repository == "" {
		s.repository = "local/" + sanitize(s.name)
	}
	for _, f := range []struct {
		rel string
		dst *string
	}{{".secure-gates/policy.yaml", &s.policy}, {".secure-gates/exceptions.yaml", &s.exceptions}} {
		if _, err := os.Stat(filepath.Join(abs, f.rel)); err == nil {
			*f.dst = filepath.Join(abs, f.rel)
		}
	}
	if k, err := readfile.Bounded(filepath.Join(abs, "deploy", "overlays", "staging", "kustomization.yaml"), 1<<20); err == nil {
		var kz struct {
			Images []struct {
				Name string `yaml:"name"`
			} `yaml:"images"`
		}
		if yaml.Unmarshal(k, &kz) == nil && len(kz.Images) > 0 && kz.Images[0].Name != "" {
			s.overlay, s.imageName = "deploy/overlays/staging", kz.Images[0].Name
		}
	}
	s.workflow = ".github/workflows/secure-gates.yml"
	if wfs, _ := filepath.Glob(filepath.Join(abs, ".github", "workflows", "*.yml")); len(wfs) > 0 {
		sort.Strings(wfs)
		s.workflow = ".github/workflows/" + filepath.Base(wfs[0])
	}
	s.sha, s.ref = gitRevision(abs)
	if s.sha == "" {
		s.ref = "refs/heads/main"
		if s.sha, err = treeDigest(abs); err != nil {
			return nil, errkind.Input(fmt.Errorf("pipeline: reading %s: %w", dir, err))
		}
	}
	return s, nil
}

// gitRevision returns HEAD and its branch when dir is in a git work tree.
func gitRevision(dir string) (sha, ref string) {
	git := func(args ...string) string {
		out, err := gitcmd.Git{Dir: dir}.Output(context.Background(), args...)
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(out))
	}
	sha = git("rev-parse", "--verify", "HEAD")
	if len(sha) != 40 {
		return "", ""
	}
	ref = "refs/heads/main"
	if b := git("symbolic-ref", "--quiet", "HEAD"); strings.HasPrefix(b, "refs/heads/") {
		ref = b
	}
	return sha, ref
}

// treeDigest stands in for a commit outside git: the sha256 of the files' paths
// and contents.
func treeDigest(dir string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(h, "%s\x00%d\x00", filepath.ToSlash(rel), len(data))
		h.Write(data)
		return nil
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%x", h.Sum(nil)), nil
}

func pathBase(module string) string {
	parts := strings.Split(module, "/")
	last := parts[len(parts)-1]
	// A major-version suffix (example.com/x/v2) is not the name.
	if len(parts) > 1 && len(last) > 1 && last[0] == 'v' && strings.Trim(last[1:], "0123456789") == "" {
		last = parts[len(parts)-2]
	}
	return last
}

var unsafeName = regexp.MustCompile(`[^a-z0-9._-]+`)

// sanitize makes s usable as an OCI repository path element.
func sanitize(s string) string {
	s = unsafeName.ReplaceAllString(strings.ToLower(s), "-")
	s = strings.Trim(s, "-._")
	if s == "" {
		return "service"
	}
	return s
}
