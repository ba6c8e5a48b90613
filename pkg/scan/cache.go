package scan

import (
	"fmt"
	"strings"

	"github.com/secure-gates/secure-gates/pkg/scan/secrets"
	"github.com/secure-gates/secure-gates/pkg/scancache"
)

// CacheKey is the actions/cache key under which a scan cache is saved after a
// scan with o: "secure-gates-scan-<runnerOS>-<rules>-<content>", where rules
// digests what the answers depend on besides the files (the build, the
// scanners, the secrets rules) and content is the digest of the cache's
// entries (scancache.Stats.Digest). A run that added no entry gives the key
// of the cache it restored, so an unchanged tree saves no new cache.
func CacheKey(runnerOS string, o Options, content string) string {
	rules := scancache.KeyOf([]byte(scancache.Build()), []byte(strings.Join(o.Scanners, ",")), secrets.CacheRules(o.Secrets.Config))
	os := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, runnerOS)
	return fmt.Sprintf("secure-gates-scan-%s-%s-%.16s", os, rules.String()[:12], content)
}
