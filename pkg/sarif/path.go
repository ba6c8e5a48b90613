package sarif

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"strings"
)

// RelativeURI turns a file path reported by a scanner into the URI GitHub code
// scanning expects: relative to the repository root, slash-separated and
// percent-encoded ("src/my%20file.go").
//
// p may be relative to the root ("src/a.go", "./src/a.go"), absolute (then root
// must be the absolute repository root and p must be under it), or a file://
// URI (treated like the absolute path it names). A path that leaves the root
// ("../x", "/etc/passwd" with root "/repo") or names the root itself is an
// error.
func RelativeURI(root, p string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("location path is empty: expected a file path relative to the repository root")
	}
	if strings.IndexByte(p, 0) >= 0 {
		return "", fmt.Errorf("location path %q contains a NUL byte", p)
	}
	orig := p
	if strings.HasPrefix(strings.ToLower(p), "file:") {
		u, err := url.Parse(p)
		if err != nil {
			return "", fmt.Errorf("parsing location URI %q: %w", orig, err)
		}
		if u.Host != "" && u.Host != "localhost" {
			return "", fmt.Errorf("location URI %q names host %q: expected a local file:// URI", orig, u.Host)
		}
		if !path.IsAbs(u.Path) {
			return "", fmt.Errorf("location URI %q has no absolute path: expected file:///path", orig)
		}
		p = filepath.FromSlash(u.Path)
	} else if strings.Contains(p, "://") {
		return "", fmt.Errorf("location path %q is a URI: expected a file path (or a file:// URI)", orig)
	}

	var rel string
	if filepath.IsAbs(p) {
		if root == "" {
			return "", fmt.Errorf("location path %q is absolute: set the repository root to make it relative", orig)
		}
		if !filepath.IsAbs(root) {
			return "", fmt.Errorf("repository root %q is not an absolute path", root)
		}
		r, err := filepath.Rel(filepath.Clean(root), filepath.Clean(p))
		if err != nil {
			return "", fmt.Errorf("location path %q is not under the repository root %q: %w", orig, root, err)
		}
		rel = filepath.ToSlash(r)
	} else {
		rel = filepath.ToSlash(p)
	}
	rel = path.Clean(rel)
	switch {
	case rel == ".":
		return "", fmt.Errorf("location path %q is the repository root: expected a file under it", orig)
	case rel == ".." || strings.HasPrefix(rel, "../") || path.IsAbs(rel):
		return "", fmt.Errorf("location path %q leaves the repository root %q", orig, root)
	}
	segs := strings.Split(rel, "/")
	for i, s := range segs {
		// PathEscape leaves ':' alone; escaping it keeps a first segment such as
		// "c:" from reading as a URI scheme.
		segs[i] = strings.ReplaceAll(url.PathEscape(s), ":", "%3A")
	}
	return strings.Join(segs, "/"), nil
}

// FingerprintKey is the partialFingerprints entry GitHub code scanning matches
// results on across analyses ("SARIF support for code scanning": code scanning
// only uses primaryLocationLineHash).
const FingerprintKey = "primaryLocationLineHash"

// Fingerprint hashes the parts that identify a finding into a stable value for
// Result.PartialFingerprints[FingerprintKey]. Choose parts that survive
// unrelated edits: the rule id, the file, and what was found (package and
// version, a hash of the matched secret, the policy's resource address), not
// line numbers. The parts are length-prefixed, so ("ab","c") and ("a","bc")
// differ.
func Fingerprint(parts ...string) string {
	h := sha256.New()
	var n [8]byte
	for _, p := range parts {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
