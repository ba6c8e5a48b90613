package scancache

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"regexp"
	"runtime/debug"
	"sync"
)

// Build identifies the running binary's build: cache keys hold it, so that
// answers of one build of secure-gates are never taken for another's. It is a
// digest of the build information (Go version, module versions and sums,
// build settings: -ldflags with the release version, the VCS commit). A build
// that does not name its own code — no release version (-X main.version, other
// than "dev") and no clean VCS commit, as the action's Dockerfile and `go test`
// build — adds the digest of its executable; when even that cannot be read,
// a random value (the cache then serves only this process).
var Build = sync.OnceValue(func() string {
	bi, ok := debug.ReadBuildInfo()
	s := "no build info"
	if ok {
		s = bi.String()
	}
	if !ok || !identified(bi) {
		s += "\nexecutable " + exeDigest()
	}
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
})

var releaseVersion = regexp.MustCompile(`-X[= ]main\.version=v[0-9]`)

// identified reports whether the build information names the main module's
// code: a release version set with -ldflags, or a clean VCS commit.
func identified(bi *debug.BuildInfo) bool {
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "-ldflags":
			if releaseVersion.MatchString(s.Value) {
				return true
			}
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	return rev != "" && modified == "false"
}

// exeDigest is the SHA-256 of the running executable, or a random value.
func exeDigest() string {
	h := sha256.New()
	if p, err := os.Executable(); err == nil {
		if f, err := os.Open(p); err == nil {
			defer f.Close()
			if _, err := io.Copy(h, f); err == nil {
				return hex.EncodeToString(h.Sum(nil))
			}
		}
	}
	return "unidentified " + rand.Text()
}
