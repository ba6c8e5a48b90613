package scancache

import (
	"runtime/debug"
	"strings"
	"sync"
)

// Build names the running binary's build: its main module's version and, for
// a build from a git checkout, the commit (and whether it had local changes).
// Cache keys hold it, so that answers of one build of secure-gates are not
// taken for another's.
var Build = sync.OnceValue(func() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	parts := []string{bi.Main.Path + "@" + bi.Main.Version}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" || s.Key == "vcs.modified" {
			parts = append(parts, s.Key+"="+s.Value)
		}
	}
	return strings.Join(parts, " ")
})
