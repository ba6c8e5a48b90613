package testinfra

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ScanFixture is the scan gate's fixture repository: a real git repository built
// at test time with planted secrets (one added and removed again in history), a
// vulnerable Go module and npm package, a GPL-3.0 dependency, and IaC files that
// break the bundled policies.
type ScanFixture struct {
	// Dir is the work tree (and repository) root.
	Dir string
	// Base is the first commit (no secrets); Head the last. Base..Head are the
	// commits of a pull request.
	Base, Head string
	// AWSKey and GitHubToken are planted in config/settings.env (still in the tree).
	AWSKey, GitHubToken string
	// HistoryToken was added to deploy/old-token.txt and removed again.
	HistoryToken string
}

// Secrets lists every planted secret value.
func (f *ScanFixture) Secrets() []string {
	return []string{f.AWSKey, f.GitHubToken, f.HistoryToken}
}

// fake builds a value that matches a gitleaks rule from a seed. The values exist
// only at test time, so no credential-shaped string is committed to this repository.
func fakeAWSKey(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return "AK" + "IA" + base32.StdEncoding.EncodeToString(sum[:])[:16]
}

func fakeGitHubToken(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	h := hex.EncodeToString(sum[:])
	// Mix upper case in so the value looks like a real token's alphabet.
	return "gh" + "p_" + strings.ToUpper(h[:10]) + h[10:36]
}

// ScanFixtureFiles are the fixture's files that hold no secret, by path.
var ScanFixtureFiles = map[string]string{
	"README.md": "# widgets\n\nA service used as the scan gate's fixture.\n",
	"go.mod":    "module example.com/widgets\n\ngo 1.21\n\nrequire golang.org/x/text v0.3.7\n",
	"main.go":   "package main\n\nimport \"golang.org/x/text/language\"\n\nfunc main() { _ = language.English }\n",
	"package.json": `{
  "name": "widgets-ui",
  "version": "1.0.0",
  "license": "MIT",
  "dependencies": {
    "lodash": "4.17.20",
    "gpl-widget": "1.0.0"
  }
}
`,
	"package-lock.json": `{
  "name": "widgets-ui",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {
      "name": "widgets-ui",
      "version": "1.0.0",
      "license": "MIT",
      "dependencies": {
        "gpl-widget": "1.0.0",
        "lodash": "4.17.20"
      }
    },
    "node_modules/gpl-widget": {
      "version": "1.0.0",
      "resolved": "https://registry.npmjs.org/gpl-widget/-/gpl-widget-1.0.0.tgz",
      "integrity": "sha512-2mRd3ZPNxlqQCWqyqL2QEYZO7r7ufXAgpxKz6U1BcQDyChiHJ6VJl4r2rQvYl6p1QeJ2eEzKLDYXrKyBbUQ0NQ==",
      "license": "GPL-3.0-only"
    },
    "node_modules/lodash": {
      "version": "4.17.20",
      "resolved": "https://registry.npmjs.org/lodash/-/lodash-4.17.20.tgz",
      "integrity": "sha512-PlhdFcillOINfeV7Ni6oF1TAEayyZBoZ8bcshTHqOYJYlrqzRK5hagpagky5o4HfCzzd1TRkXPMFq6cKk9rGmA==",
      "license": "MIT"
    }
  }
}
`,
	"k8s/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: widgets
spec:
  replicas: 1
  selector:
    matchLabels: {app: widgets}
  template:
    metadata:
      labels: {app: widgets}
    spec:
      containers:
        - name: app
          image: nginx:1.25
          securityContext:
            privileged: true
`,
	"Dockerfile": "FROM node:latest\nWORKDIR /app\nCOPY . .\nRUN npm ci\nCMD [\"node\", \"server.js\"]\n",
	".github/workflows/pr.yml": `name: pr
on: pull_request_target
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - run: echo "Building ${{ github.event.pull_request.title }}"
`,
}

// plantedConfig is what an attacker's pull request adds to switch the secrets
// rules off from inside the scanned tree.
const plantedConfig = `title = "allow everything"
[extend]
useDefault = true
[[allowlists]]
description = "everything"
paths = ['''.*''']
regexes = ['''.*''']
`

// GitCommand is git, run in the fixture's repository with the fixture's
// author, committer and dates and no system or user configuration.
func (f *ScanFixture) GitCommand(args ...string) *exec.Cmd {
	cmd := exec.Command("git", append([]string{"-C", f.Dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Fixture", "GIT_AUTHOR_EMAIL=fixture@example.com",
		"GIT_COMMITTER_NAME=Fixture", "GIT_COMMITTER_EMAIL=fixture@example.com",
		"GIT_AUTHOR_DATE=2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE=2026-01-01T00:00:00Z", "GIT_CONFIG_NOSYSTEM=1", "HOME="+f.Dir)
	return cmd
}

// Git runs GitCommand and returns its output, trimmed; it fails t if git fails.
func (f *ScanFixture) Git(t testing.TB, args ...string) string {
	t.Helper()
	out, err := f.GitCommand(args...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// NewScanFixture builds the fixture repository in a temporary folder:
//
//	commit 1 (Base): the files of ScanFixtureFiles
//	commit 2: config/settings.env (AWS key, GitHub token marked gitleaks:allow)
//	          and deploy/old-token.txt (another token)
//	commit 3 (Head): deploy/old-token.txt removed; a .gitleaks.toml and
//	          .gitleaksignore that allowlist everything added
//
// It needs git on PATH.
func NewScanFixture(t testing.TB) *ScanFixture {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("the scan fixture needs git: apt-get install -y git")
	}
	dir := t.TempDir()
	f := &ScanFixture{
		Dir:          dir,
		AWSKey:       fakeAWSKey("secure-gates fixture aws " + t.Name()),
		GitHubToken:  fakeGitHubToken("secure-gates fixture github " + t.Name()),
		HistoryToken: fakeGitHubToken("secure-gates fixture history " + t.Name()),
	}
	run := func(args ...string) string {
		t.Helper()
		return f.Git(t, args...)
	}
	write := func(p, content string) {
		t.Helper()
		WriteFile(t, filepath.Join(dir, filepath.FromSlash(p)), content, 0o644)
	}
	run("init", "-q", "-b", "main")
	WriteTree(t, dir, ScanFixtureFiles)
	run("add", "-A")
	run("commit", "-q", "-m", "initial")
	f.Base = run("rev-parse", "HEAD")

	write("config/settings.env", "# service settings\nREGION=eu-west-1\nAWS_ACCESS_KEY_ID="+f.AWSKey+"\n"+
		"GITHUB_TOKEN="+f.GitHubToken+" # gitleaks:allow\n")
	write("deploy/old-token.txt", "token: "+f.HistoryToken+"\n")
	run("add", "-A")
	run("commit", "-q", "-m", "add settings")

	run("rm", "-q", "deploy/old-token.txt")
	write(".gitleaks.toml", plantedConfig)
	write(".gitleaksignore", "config/settings.env:aws-access-token:3\nconfig/settings.env:github-pat:4\n")
	run("add", "-A")
	run("commit", "-q", "-m", "remove old token, tune scanner")
	f.Head = run("rev-parse", "HEAD")
	return f
}
