package scancache

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"debug/elf"
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
// build — adds its executable's Go build ID (or the executable's digest);
// when neither can be read, a random value (the cache then serves only this
// process).
var Build = sync.OnceValue(func() string {
	bi, ok := debug.ReadBuildInfo()
	s := "no build info"
	if ok {
		s = bi.String()
	}
	if !ok || !identified(bi) {
		s += "\nexecutable " + exeID()
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

// exeID identifies the running executable: the Go build ID its ELF notes
// carry (a hash of its inputs and of its content, unless linked with
// -buildid=), else the SHA-256 of the file, else a random value.
func exeID() string {
	p, err := os.Executable()
	if err != nil {
		return "unidentified " + rand.Text()
	}
	if f, err := elf.Open(p); err == nil {
		defer f.Close()
		if sec := f.Section(".note.go.buildid"); sec != nil {
			if data, err := sec.Data(); err == nil && bytes.Count(data, []byte("/")) >= 1 && len(data) > 40 {
				return "go build id " + string(data)
			}
		}
	}
	return exeDigest(p)
}

// exeDigest is the SHA-256 of the executable p, or a random value.
func exeDigest(p string) string {
	if f, err := os.Open(p); err == nil {
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err == nil {
			return hex.EncodeToString(h.Sum(nil))
		}
	}
	return "unidentified " + rand.Text()
}
