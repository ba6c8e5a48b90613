// Package secrets finds committed credentials with gitleaks (used as a library,
// its default rules embedded) in a working tree, in the commits of a range
// (base..head, the commits of a pull request) and in staged changes (pre-commit).
//
// Three rules keep the scan trustworthy on untrusted pull requests:
//
//   - The secret never leaves this package: a Finding carries the rule, the file,
//     the line and a fingerprint (a hash that also covers the secret, so the
//     same leak keeps its fingerprint across runs), never the matched text or
//     the line holding it. gitleaks' own logger is silenced, since it would log
//     matches at trace level.
//   - The rules come from Options.Config (the caller reads it from an action
//     input or from the default branch with ConfigAt) or the embedded default;
//     never from the scanned tree. A .gitleaks.toml, .gitleaksignore or
//     `gitleaks:allow` comment planted by a pull request changes nothing;
//     findings are waived by fingerprint through the exceptions file instead.
//   - Git runs as a bounded subprocess with arguments, never a shell: revisions
//     are validated, the commit count is capped, and a failing git is an error,
//     never an empty result.
//
// Detection is gitleaks' detector (DetectContext, its decoding passes, allowlists
// and required rules) ported to detector.go, where each rule's regexp runs only
// on the windows of the text where a literal every match must hold occurs
// (derived from the regexp's syntax tree; window.go) and the decoder's regexp
// is a hand-written scanner: the same findings, field for field, as gitleaks'
// own detector (detector_test.go compares the two on every default rule's
// examples), in about a quarter of its CPU time.
//
// Files of the working tree are streamed in chunks of 1 MiB that overlap by at
// least 64 KiB (from a line start), so a secret across a chunk boundary is
// found; files up to 100 MiB are read by default. A file that is not read — over
// the size cap, binary by its content (mostly bytes no text holds in its first
// 8 KiB: not a magic prefix, not an extension), a symlink
// or special file, or a path the rules' global allowlist excludes — is listed in
// Result.NotScanned with the reason: never silently "no findings". An
// unreadable file is an error.
package secrets

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
	_ "unsafe" // go:linkname gitleaksExtendDepth

	"github.com/gitleaks/go-gitdiff/gitdiff"
	"github.com/h2non/filetype"
	"github.com/rs/zerolog"
	"github.com/spf13/viper"
	"github.com/zricethezav/gitleaks/v8/config"
	"github.com/zricethezav/gitleaks/v8/logging"
	"github.com/zricethezav/gitleaks/v8/sources"

	"github.com/secure-gates/secure-gates/pkg/bounds"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/gitcmd"
	"github.com/secure-gates/secure-gates/pkg/sarif"
	"github.com/secure-gates/secure-gates/pkg/scancache"
)

const (
	// ScannerName is the Finding.Scanner of every finding of this package.
	ScannerName = "secrets"
	// ToolName and ToolVersion name the engine (pinned in go.mod).
	ToolName    = "gitleaks"
	ToolVersion = "8.30.1"
	// ToolURI describes the engine.
	ToolURI = "https://github.com/gitleaks/gitleaks"
	// DefaultMaxFileBytes bounds the files of the working tree that are read;
	// larger files are listed in Result.NotScanned.
	DefaultMaxFileBytes = 100 << 20
	// MaxNotScanned bounds the entries of Result.NotScanned kept;
	// Result.NotScannedCount counts them all.
	MaxNotScanned = 1000
	// DefaultMaxCommits bounds the commits of a range.
	DefaultMaxCommits = 5000
	// DefaultConfigFile is the file ConfigAt reads by default.
	DefaultConfigFile = ".gitleaks.toml"
	maxConfigBytes    = 1 << 20
)

// Options configures Scan.
type Options struct {
	// Config is a gitleaks TOML configuration; empty means the embedded
	// default rules. `[extend] path` and `url` are refused: the base config is
	// the embedded default (`useDefault = true`) or nothing.
	Config []byte
	// ConfigSource names where Config came from, for messages and reports.
	ConfigSource string
	// Range, when set, also scans the lines added by the commits in
	// Base..Head (the commits of a pull request).
	Range *Range
	// Staged scans only the changes staged in git (pre-commit use), instead of
	// the working tree.
	Staged bool
	// MaxFileBytes bounds the working-tree files read; larger files are listed
	// in Result.NotScanned. Zero means DefaultMaxFileBytes.
	MaxFileBytes int64
	// MaxCommits bounds the commits of Range; more is an input error. Zero
	// means DefaultMaxCommits.
	MaxCommits int
	// Git is the git binary; empty means "git" from PATH.
	Git string
	// Cache keeps each working-tree file's answer by the SHA-256 of its
	// content, its path and the rules (see pkg/scancache); nil caches
	// nothing. The lines of a commit range or of staged changes are not cached.
	Cache scancache.Store
}

// Range is a commit range: the commits reachable from Head and not from Base.
type Range struct {
	Base, Head string
}

// Result is what Scan found.
type Result struct {
	// Findings are redacted: no secret value, no matched line.
	Findings []finding.Finding
	// Rules are the rules that were enabled, sorted by id; every secret is
	// critical.
	Rules []finding.Rule
	// ConfigSource says which rules ran ("embedded gitleaks default rules" or
	// Options.ConfigSource).
	ConfigSource string
	// Files and Commits count what was scanned.
	Files, Commits int
	// NotScanned are the files (a path ending in "/" is a directory) that were
	// not read, and why, sorted by path; at most MaxNotScanned of them.
	NotScanned []NotScanned
	// NotScannedCount counts every file not read.
	NotScannedCount int
}

// NotScanned is a file the scan did not read.
type NotScanned struct {
	// Path is slash-separated, relative to the scan root (for a change in
	// history, "path (commit abcdef123456)").
	Path   string
	Reason string
}

// Reasons a file is not scanned.
const (
	ReasonAllowlisted = "path allowlisted by the secrets rules"
	ReasonSymlink     = "symlink (not followed)"
	ReasonSpecial     = "not a regular file"
	ReasonBinary      = "binary file"
)

var silence sync.Once

// quiet stops gitleaks' package-level logger: it writes to stderr and logs
// matched secrets at trace level.
func quiet() {
	silence.Do(func() { logging.Logger = zerolog.Nop() })
}

var configMu sync.Mutex // gitleaks' config loading uses package globals

// gitleaksExtendDepth is gitleaks' count of the configs a load has extended
// (config.extendDepth). gitleaks never resets it: once two configs with
// `[extend] useDefault = true` were loaded in a process, every later one loaded
// without the default rules — its own rules only, or none. LoadConfig zeroes it
// before each load.
//
//go:linkname gitleaksExtendDepth github.com/zricethezav/gitleaks/v8/config.extendDepth
var gitleaksExtendDepth int

// LoadConfig parses a gitleaks TOML configuration (empty: the embedded
// default). It refuses `[extend] path` and `[extend] url`.
func LoadConfig(data []byte, source string) (config.Config, error) {
	quiet()
	configMu.Lock()
	defer configMu.Unlock()
	if len(bytes.TrimSpace(data)) == 0 {
		data = []byte(config.DefaultConfig)
		source = "embedded gitleaks default rules"
	}
	gitleaksExtendDepth = 0
	v := viper.New()
	v.SetConfigType("toml")
	if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
		return config.Config{}, errkind.Input(fmt.Errorf("reading gitleaks config %s: expected TOML: %w", source, err))
	}
	var vc config.ViperConfig
	if err := v.Unmarshal(&vc); err != nil {
		return config.Config{}, errkind.Input(fmt.Errorf("reading gitleaks config %s: %w", source, err))
	}
	if vc.Extend.Path != "" || vc.Extend.URL != "" {
		return config.Config{}, errkind.Input(fmt.Errorf("gitleaks config %s: [extend] path and url are not supported (the base is the embedded default: useDefault = true)", source))
	}
	cfg, err := vc.Translate()
	if err != nil {
		return config.Config{}, errkind.Input(fmt.Errorf("reading gitleaks config %s: %w", source, err))
	}
	if len(cfg.Rules) == 0 {
		return config.Config{}, errkind.Input(fmt.Errorf("gitleaks config %s enables no rules", source))
	}
	return cfg, nil
}

// Scan scans root (a directory inside a git work tree for Range and Staged)
// and returns redacted findings.
func Scan(ctx context.Context, root string, opts Options) (*Result, error) {
	quiet()
	source := opts.ConfigSource
	if len(bytes.TrimSpace(opts.Config)) == 0 {
		source = "embedded gitleaks default rules"
	}
	cfg, err := LoadConfig(opts.Config, source)
	if err != nil {
		return nil, err
	}
	if cfg.Allowlists, err = withoutExtensionAllowlists(cfg.Allowlists); err != nil {
		return nil, errkind.Input(fmt.Errorf("gitleaks config %s: %w", source, err))
	}
	root, err = filepath.Abs(root)
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("scanning %s for secrets: %w", root, err))
	}
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		return nil, errkind.Input(fmt.Errorf("scanning %s for secrets: not a directory", root))
	}
	// gitleaks' detector as this package configures it: inline allow comments
	// ignored (they are config from the scanned tree), decoding 5 levels deep,
	// no redaction (with it, every finding's Secret reads "REDACTED", so the
	// fingerprint, which hashes the secret, was the same for every secret of a
	// rule in a file, and a waiver of one waived them all; the value stays in
	// this package: convert hashes it and drops it). detector.go ports it, with
	// the same findings in a fraction of the time.
	det := newDetector(cfg)
	res := &Result{ConfigSource: source}
	s := &scan{root: root, det: det, cfg: &cfg, opts: opts, res: res, cfgDigest: configDigest(opts.Config)}
	for id, r := range cfg.Rules {
		res.Rules = append(res.Rules, finding.Rule{ID: id, Severity: finding.Critical, Description: r.Description})
	}
	slices.SortFunc(res.Rules, func(a, b finding.Rule) int { return strings.Compare(a.ID, b.ID) })

	if opts.Staged {
		if err := s.diff(ctx, []string{"diff", "--cached"}, "the staged changes"); err != nil {
			return nil, err
		}
	} else {
		if err := s.tree(ctx, res); err != nil {
			return nil, err
		}
	}
	if opts.Range != nil && !opts.Staged {
		n, err := s.commits(ctx, *opts.Range)
		if err != nil {
			return nil, err
		}
		res.Commits = n
	}
	res.Findings = s.findings()
	slices.SortFunc(res.NotScanned, func(a, b NotScanned) int { return strings.Compare(a.Path, b.Path) })
	return res, nil
}

// notScanned records a file that was not read.
func (s *scan) notScanned(path, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.res.NotScannedCount++
	if len(s.res.NotScanned) < MaxNotScanned {
		s.res.NotScanned = append(s.res.NotScanned, NotScanned{Path: path, Reason: reason})
	}
}

type scan struct {
	root      string
	det       *detector
	cfg       *config.Config
	opts      Options
	res       *Result
	cfgDigest []byte // of the effective configuration, for cache keys

	mu    sync.Mutex
	tree_ []finding.Finding
	hist  []finding.Finding
}

func (s *scan) add(fs []finding.Finding, history bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if history {
		s.hist = append(s.hist, fs...)
	} else {
		s.tree_ = append(s.tree_, fs...)
	}
}

// findings merges tree and history findings: a leak still in the tree is
// reported once, at its place in the tree.
func (s *scan) findings() []finding.Finding {
	inTree := map[string]bool{}
	for _, f := range s.tree_ {
		inTree[f.RuleID+"\x00"+f.Path+"\x00"+f.Help] = true
	}
	out := slices.Clone(s.tree_)
	seen := map[string]bool{}
	for _, f := range s.hist {
		k := f.RuleID + "\x00" + f.Path + "\x00" + f.Help
		if inTree[k] || seen[f.Fingerprint] {
			continue
		}
		seen[f.Fingerprint] = true
		out = append(out, f)
	}
	for i := range out {
		out[i].Help = help
	}
	finding.Sort(out)
	return out
}

const help = "Treat the credential as compromised: revoke or rotate it first, then remove it from the code " +
	"(and from the history if the repository is public). Load credentials from a secret store or the " +
	"CI's encrypted secrets at run time. If this is a false positive, waive it by fingerprint in the exceptions file."

// convert turns gitleaks findings into redacted findings. The secret's hash is
// kept in Help temporarily (for merging) and replaced before returning.
func convert(rfs []reportFinding, commit string) []finding.Finding {
	var out []finding.Finding
	for _, r := range rfs {
		sum := sha256.Sum256([]byte(r.Secret))
		out = append(out, redact(r, hex.EncodeToString(sum[:]), commit))
	}
	return out
}

// redact is the finding of r, whose secret hashes to secretHash (r.Secret is
// not read).
func redact(r reportFinding, secretHash, commit string) finding.Finding {
	p := filepath.ToSlash(r.File)
	msg := fmt.Sprintf("%s: a secret matching rule %s is in %s line %d.", r.Description, r.RuleID, p, r.StartLine)
	if commit != "" {
		msg = fmt.Sprintf("%s: a secret matching rule %s was added to %s line %d in commit %s.", r.Description, r.RuleID, p, r.StartLine, short(commit))
	}
	return finding.Finding{
		Scanner:     ScannerName,
		RuleID:      r.RuleID,
		Title:       r.Description,
		Message:     msg,
		Severity:    finding.Critical,
		Path:        p,
		StartLine:   r.StartLine,
		EndLine:     r.EndLine,
		Fingerprint: sarif.Fingerprint(ScannerName, r.RuleID, p, commit, secretHash),
		Help:        secretHash,
	}
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// reportFinding is the part of gitleaks' report.Finding this package reads.
type reportFinding struct {
	RuleID, Description, File, Secret string
	StartLine, EndLine                int
}

func (s *scan) detect(ctx context.Context, frag sources.Fragment) []reportFinding {
	var out []reportFinding
	for _, f := range s.det.detect(ctx, frag) {
		out = append(out, reportFinding{RuleID: f.RuleID, Description: f.Description, File: f.File, Secret: f.Secret, StartLine: f.StartLine, EndLine: f.EndLine})
	}
	return out
}

// tree scans the working tree's regular files (not .git, not symlinks).
func (s *scan) tree(ctx context.Context, res *Result) error {
	jobs := make(chan treeFile)
	w := s.workers(ctx, jobs)
	walkErr := filepath.WalkDir(s.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		j, ok, err := s.visit(p, d)
		if err != nil || !ok {
			return err
		}
		res.Files++
		select {
		case jobs <- j:
		case <-ctx.Done():
			return ctx.Err()
		}
		return nil
	})
	close(jobs)
	errs := w()
	if walkErr != nil {
		return errkind.Infra(fmt.Errorf("scanning %s for secrets: %w", s.root, walkErr))
	}
	if len(errs) > 0 {
		return errkind.Infra(fmt.Errorf("scanning %s for secrets: %w", s.root, errors.Join(errs...)))
	}
	return nil
}

// treeFile is a file of the working tree to read.
type treeFile struct {
	abs, rel string
	size     int64
}

// workers starts the goroutines that scan the files sent on jobs; the
// function returned waits for them (jobs closed) and returns their errors (at
// most 10).
func (s *scan) workers(ctx context.Context, jobs <-chan treeFile) func() []error {
	var (
		wg    sync.WaitGroup
		errMu sync.Mutex
		errs  []error
	)
	for range max(runtime.GOMAXPROCS(0), 1) {
		wg.Go(func() {
			for j := range jobs {
				if err := s.file(ctx, j.abs, j.rel, j.size); err != nil {
					errMu.Lock()
					if len(errs) < 10 {
						errs = append(errs, fmt.Errorf("reading %s: %w", j.rel, err))
					}
					errMu.Unlock()
				}
			}
		})
	}
	return func() []error {
		wg.Wait()
		return errs
	}
}

// visit decides what the walk does with p: a file to read (true), or nothing
// (false; a directory that is not read returns filepath.SkipDir), recording
// what is not read and why.
func (s *scan) visit(p string, d fs.DirEntry) (treeFile, bool, error) {
	if p == s.root {
		return treeFile{}, false, nil
	}
	rel, err := filepath.Rel(s.root, p)
	if err != nil {
		return treeFile{}, false, err
	}
	rel = filepath.ToSlash(rel)
	if d.IsDir() {
		if d.Name() == ".git" {
			if filepath.Dir(p) != s.root {
				s.notScanned(rel+"/", "git metadata of a nested repository")
			}
			return treeFile{}, false, filepath.SkipDir // the history is scanned through git
		}
		if s.skipPath(p) {
			s.notScanned(rel+"/", ReasonAllowlisted)
			return treeFile{}, false, filepath.SkipDir
		}
		return treeFile{}, false, nil
	}
	if d.Name() == ".git" {
		return treeFile{}, false, nil // a submodule's gitfile
	}
	if s.skipPath(p) {
		s.notScanned(rel, ReasonAllowlisted) // the detector would drop it anyway: do not read it
		return treeFile{}, false, nil
	}
	switch {
	case d.Type()&fs.ModeSymlink != 0:
		s.notScanned(rel, ReasonSymlink) // a target inside the tree is scanned where it lies
		return treeFile{}, false, nil
	case !d.Type().IsRegular():
		s.notScanned(rel, ReasonSpecial)
		return treeFile{}, false, nil
	}
	info, err := d.Info()
	if err != nil {
		return treeFile{}, false, err
	}
	if info.Size() == 0 {
		return treeFile{}, false, nil
	}
	if maxBytes := s.maxBytes(); info.Size() > maxBytes {
		s.notScanned(rel, fmt.Sprintf("larger than the %d-byte cap (%d bytes)", maxBytes, info.Size()))
		return treeFile{}, false, nil
	}
	return treeFile{abs: p, rel: rel, size: info.Size()}, true, nil
}

// maxBytes is the cap of the files read.
func (s *scan) maxBytes() int64 {
	if s.opts.MaxFileBytes > 0 {
		return s.opts.MaxFileBytes
	}
	return DefaultMaxFileBytes
}

// Chunking of working-tree files: each fragment holds up to chunkBytes of new
// data after the tail of the previous one, which starts at a line start at
// least overlapBytes before the boundary (or exactly there, in a line longer
// than overlapBytes), so a secret up to overlapBytes long across a boundary is
// whole in one fragment.
const (
	chunkBytes   = 1 << 20
	overlapBytes = 64 << 10
)

// file scans one working-tree file in overlapping chunks, or records why it
// was not read. With a cache, the file's answer is looked up by its content
// first, and stored after the scan.
func (s *scan) file(ctx context.Context, abs, rel string, size int64) error {
	f, err := os.Open(abs)
	if err != nil {
		return err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return err
	} else if !st.Mode().IsRegular() {
		s.notScanned(rel, ReasonSpecial) // replaced while the tree was walked
		return nil
	}
	if s.opts.Cache != nil {
		return s.cachedFile(ctx, f, rel, size)
	}
	r, err := s.read(ctx, io.LimitReader(f, s.maxBytes()+1), rel, size) // the file may grow after the walk
	if err != nil {
		return err
	}
	s.record(rel, r)
	return nil
}

// cachedFile answers for f from the cache when an entry holds the answer for
// its path and content, else scans it and stores the answer under the digest
// of the bytes scanned. A file up to one fragment is read once, into memory;
// a larger one is hashed, then scanned from its start while hashed again.
func (s *scan) cachedFile(ctx context.Context, f *os.File, rel string, size int64) error {
	const full = chunkBytes + 2*overlapBytes
	limit := s.maxBytes() + 1
	inMemory := size < full
	var (
		data []byte
		h    = sha256.New()
		err  error
	)
	if inMemory {
		data, err = io.ReadAll(io.LimitReader(f, limit))
		h.Write(data)
	} else {
		var n int64
		if n, err = io.Copy(h, io.LimitReader(f, limit)); err == nil && n == limit {
			s.notScanned(rel, fmt.Sprintf("larger than the %d-byte cap (grew while scanned)", limit-1))
			return nil
		}
	}
	if err != nil {
		return err
	}
	k := s.fileKey(rel, h.Sum(nil))
	if v, ok := s.opts.Cache.Get(CacheNamespace, k); ok {
		if r, ok := s.decodeFile(rel, v); ok {
			s.record(rel, r)
			return nil
		}
	}
	src, readSize := io.Reader(bytes.NewReader(data)), int64(len(data))
	if !inMemory {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		h.Reset()
		src, readSize = io.TeeReader(io.LimitReader(f, limit), h), size
	}
	r, err := s.read(ctx, src, rel, readSize)
	if err != nil {
		return err
	}
	s.record(rel, r)
	if r.noCache {
		return nil
	}
	if !inMemory { // key the bytes scanned, not those hashed before
		if _, err := io.Copy(h, src); err != nil { // the rest of a binary file
			return nil
		}
		k = s.fileKey(rel, h.Sum(nil))
	}
	s.opts.Cache.Put(CacheNamespace, k, encodeFile(r))
	return nil
}

// read scans one file's content from r (bounded by the caller to the cap plus
// one byte) in overlapping chunks; size is its expected size (the first
// buffer's).
func (s *scan) read(ctx context.Context, r io.Reader, rel string, size int64) (fileResult, error) {
	maxBytes := s.maxBytes()
	const full = chunkBytes + 2*overlapBytes
	buf := make([]byte, min(size+1, full)) // one byte more, to see the end of a small file
	var (
		out   fileResult
		keep  int   // bytes carried over from the previous fragment
		line  = 1   // line number of buf[0]
		read  int64 // bytes read so far
		seen  = map[string]bool{}
		first = true
	)
	for {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		n, err := io.ReadFull(r, buf[keep:])
		eof := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
		if err != nil && !eof {
			return out, err
		}
		read += int64(n)
		if read > maxBytes {
			return fileResult{reason: fmt.Sprintf("larger than the %d-byte cap (grew while scanned)", maxBytes), noCache: true}, nil
		}
		data := buf[:keep+n]
		if !eof && len(buf) < full { // the file grew after the walk
			nb := make([]byte, full)
			keep = copy(nb, data)
			buf = nb
			continue
		}
		if first {
			first = false
			if isBinary(data) {
				return fileResult{reason: binaryReason(data)}, nil
			}
		}
		if n > 0 {
			frag := sources.Fragment{Raw: string(data), FilePath: rel, StartLine: line}
			var fs []reportFinding
			for _, rf := range s.detect(ctx, frag) {
				k := fmt.Sprintf("%s\x00%d\x00%s", rf.RuleID, rf.StartLine, rf.Secret)
				if !seen[k] { // found again in the overlap
					seen[k] = true
					fs = append(fs, rf)
				}
			}
			out.findings = append(out.findings, convert(fs, "")...)
		}
		if eof {
			return out, nil
		}
		start := len(data) - overlapBytes
		if i := bytes.LastIndexByte(data[start-overlapBytes:start], '\n'); i >= 0 {
			start = start - overlapBytes + i + 1
		}
		line += bytes.Count(data[:start], []byte{'\n'})
		keep = copy(buf, data[start:])
	}
}

// binaryReason is the not-scanned reason of a binary file starting with data.
func binaryReason(data []byte) string {
	reason := ReasonBinary
	if kind, err := filetype.Match(data); err == nil && kind != filetype.Unknown {
		reason += " (" + kind.MIME.Value + ")"
	}
	return reason
}

// binarySample is how much of a file's start decides whether it is binary.
const binarySample = 8 << 10

// isBinary reports whether data (a file's start) is binary by its content:
// more than 30% of its first 8 KiB are bytes no text holds (control characters
// other than whitespace and escape, or bytes of invalid UTF-8). A magic prefix
// or a few NUL bytes do not make a text file binary, so they cannot hide a
// secret; compressed data, images and executables stay skipped.
func isBinary(data []byte) bool {
	data = data[:min(len(data), binarySample)]
	if len(data) == 0 {
		return false
	}
	bad := 0
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			if !utf8.FullRune(data[i:]) {
				n = len(data) - i // a character cut by the sample's end
				break
			}
			bad++
		case r < 0x20 && r != '\t' && r != '\n' && r != '\r' && r != '\f' && r != '\v' && r != 0x1b, r == 0x7f:
			bad++
		}
		i += max(n, 1)
	}
	return bad*10 > len(data)*3
}

// addedBinary reports whether the lines a change adds to a file are binary by
// their content (isBinary over the first binarySample bytes added).
func addedBinary(f *gitdiff.File) bool {
	var sample []byte
	for _, tf := range f.TextFragments {
		if tf == nil {
			continue
		}
		for _, l := range tf.Lines {
			if l.Op == gitdiff.OpAdd {
				sample = append(sample, l.Line...)
				if len(sample) >= binarySample {
					return isBinary(sample)
				}
			}
		}
	}
	return isBinary(sample)
}

// binaryExtensionPaths are the paths of gitleaks' default global allowlist that
// skip a file by its extension (images, fonts, documents, executables). A name
// does not make a file binary: these are dropped from the allowlists, and such
// a file is read unless its content is binary (isBinary), where it is named as
// not scanned. The other default paths (go.sum, node_modules, lock files) are
// gitleaks' semantics and are kept.
var binaryExtensionPaths = map[string]bool{
	`(?i)\.(?:bmp|gif|jpe?g|png|svg|tiff?)$`:                                    true,
	`(?i)\.(?:eot|[ot]tf|woff2?)$`:                                              true,
	`(?i)\.(?:docx?|xlsx?|pdf|bin|socket|vsidx|v2|suo|wsuo|.dll|pdb|exe|gltf)$`: true,
}

// withoutExtensionAllowlists returns the allowlists without the paths of
// binaryExtensionPaths (in allowlists where any one criterion allows: with
// "AND", a path narrows the allowlist and is kept).
func withoutExtensionAllowlists(als []*config.Allowlist) ([]*config.Allowlist, error) {
	var out []*config.Allowlist
	for _, a := range als {
		if a.MatchCondition == config.AllowlistMatchAnd || !slices.ContainsFunc(a.Paths, func(re *regexp.Regexp) bool { return binaryExtensionPaths[re.String()] }) {
			out = append(out, a)
			continue
		}
		na := &config.Allowlist{
			Description:    a.Description,
			MatchCondition: a.MatchCondition,
			Commits:        a.Commits,
			RegexTarget:    a.RegexTarget,
			Regexes:        a.Regexes,
			StopWords:      a.StopWords,
		}
		for _, re := range a.Paths {
			if !binaryExtensionPaths[re.String()] {
				na.Paths = append(na.Paths, re)
			}
		}
		if len(na.Commits) == 0 && len(na.Paths) == 0 && len(na.Regexes) == 0 && len(na.StopWords) == 0 {
			continue // it held only extension paths
		}
		if err := na.Validate(); err != nil {
			return nil, fmt.Errorf("rebuilding the allowlist %q: %w", a.Description, err)
		}
		out = append(out, na)
	}
	return out, nil
}

// skipPath applies the config's global path allowlists to a path of the tree, as
// gitleaks' own directory source does, so allowlisted trees (node_modules,
// vendor) are not read at all.
func (s *scan) skipPath(abs string) bool {
	rel, err := filepath.Rel(s.root, abs)
	if err != nil {
		return false
	}
	rel = filepath.ToSlash(rel)
	for _, a := range s.cfg.Allowlists {
		if a.PathAllowed(rel) {
			return true
		}
	}
	return false
}

var revPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._/@{}^~-]{0,254}$`)

// checkRev refuses revisions that git could read as options or ranges.
func checkRev(name, rev string) error {
	if !revPattern.MatchString(rev) || strings.Contains(rev, "..") {
		return errkind.Input(fmt.Errorf("%s revision %q: expected a commit SHA or ref name", name, rev))
	}
	return nil
}

// git runs git in the scan root (see pkg/gitcmd) and returns its stdout.
func (s *scan) git(ctx context.Context, args ...string) ([]byte, error) {
	return s.gitRepo().Output(ctx, args...)
}

// gitRepo is how every git process of the scan is built: pkg/gitcmd in the
// scan root.
func (s *scan) gitRepo() gitcmd.Git { return gitcmd.Git{Bin: s.opts.Git, Dir: s.root} }

func (s *scan) commits(ctx context.Context, r Range) (int, error) {
	if err := checkRev("base", r.Base); err != nil {
		return 0, err
	}
	if err := checkRev("head", r.Head); err != nil {
		return 0, err
	}
	var shas [2]string
	for i, rev := range []string{r.Base, r.Head} {
		out, err := s.git(ctx, "rev-parse", "--verify", "--quiet", "--end-of-options", rev+"^{commit}")
		if err != nil {
			return 0, errkind.Input(fmt.Errorf("scanning the commits %s..%s for secrets: commit %s is not in the clone of %s "+
				"(check out with fetch-depth: 0 so the pull request's base and head commits are present)", r.Base, r.Head, rev, s.root))
		}
		shas[i] = strings.TrimSpace(string(out))
	}
	rng := shas[0] + ".." + shas[1]
	out, err := s.git(ctx, "rev-list", "--count", rng)
	if err != nil {
		return 0, errkind.Infra(fmt.Errorf("counting the commits %s: %w", rng, err))
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		return 0, errkind.Infra(fmt.Errorf("counting the commits %s: %q", rng, out))
	}
	maxC := bounds.Or(s.opts.MaxCommits, DefaultMaxCommits)
	if n > maxC {
		return 0, errkind.Input(fmt.Errorf("the range %s has %d commits, more than the %d scanned at most", rng, n, maxC))
	}
	if n == 0 {
		return 0, nil
	}
	// Deletions are left out; type changes are not (gitleaks' own filter,
	// tuxdb, drops them): a symlink turned into a file adds all its lines.
	// A merge commit shows the lines it adds beyond git's own merge of its
	// parents (--diff-merges=remerge, git 2.36 or later): an evil merge or a
	// conflict resolved with new text, not what it brings in from a parent.
	return n, s.diff(ctx, []string{"log", "-p", "--diff-merges=remerge", "--text", "-U0", "--no-color", "--no-ext-diff", "--no-decorate", "--pretty=medium",
		"--full-history", "--diff-filter=uxdb", "--relative", rng, "--"}, "the commits "+rng)
}

// diff runs a git log -p or git diff and scans the added lines.
func (s *scan) diff(ctx context.Context, args []string, what string) error {
	if args[0] == "diff" {
		args = append(args, "--text", "-U0", "--no-color", "--no-ext-diff", "--relative", "--")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := s.gitRepo().Command(ctx, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &gitcmd.CappedWriter{Buf: &stderr, Max: 4096}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return errkind.Infra(fmt.Errorf("scanning %s: %w", what, err))
	}
	if err := cmd.Start(); err != nil {
		return errkind.Infra(fmt.Errorf("scanning %s: starting git: %w", what, err))
	}
	files, err := gitdiff.Parse(&remergeHeaders{r: bufio.NewReaderSize(stdout, 1<<16), start: true})
	if err != nil {
		_ = cmd.Wait()
		return errkind.Infra(fmt.Errorf("scanning %s: %w", what, err))
	}
	for f := range files {
		if f.IsDelete {
			continue
		}
		// --text: git's own binary call (a NUL byte, or a binary or -diff
		// attribute that the change itself can add to .gitattributes) never
		// hides a change; the added lines are judged by content, as files are.
		if f.IsBinary || addedBinary(f) {
			name := f.NewName
			if f.PatchHeader != nil && f.PatchHeader.SHA != "" {
				name += " (commit " + short(f.PatchHeader.SHA) + ")"
			}
			s.notScanned(name, "binary change in "+what)
			continue
		}
		commit := ""
		if f.PatchHeader != nil {
			commit = f.PatchHeader.SHA
		}
		for _, tf := range f.TextFragments {
			if tf == nil {
				continue
			}
			frag := sources.Fragment{CommitSHA: commit, FilePath: f.NewName, Raw: tf.Raw(gitdiff.OpAdd), StartLine: int(tf.NewPosition)}
			s.add(convert(s.detect(ctx, frag), commit), true)
		}
	}
	_, _ = io.Copy(io.Discard, stdout)
	if err := cmd.Wait(); err != nil {
		return errkind.Infra(fmt.Errorf("scanning %s: git failed: %w: %s", what, err, strings.TrimSpace(stderr.String())))
	}
	return nil
}

// remergeHeaders drops the "remerge CONFLICT ..." lines --diff-merges=remerge
// writes into a file's header, which the diff parser does not know (it would
// read the file's name as "b/<name>"). No other line of git log -p starts so:
// diff lines start with "+", "-" or " ", message lines are indented.
type remergeHeaders struct {
	r       *bufio.Reader
	pending []byte
	start   bool // the next byte starts a line
	drop    bool // dropping the rest of a long remerge line
}

func (h *remergeHeaders) Read(p []byte) (int, error) {
	for len(h.pending) == 0 {
		line, err := h.r.ReadSlice('\n')
		if len(line) == 0 && err != nil {
			return 0, err
		}
		if h.start {
			h.drop = bytes.HasPrefix(line, []byte("remerge "))
		}
		h.start = len(line) > 0 && line[len(line)-1] == '\n'
		if !h.drop {
			h.pending = line
		}
		if err != nil && err != bufio.ErrBufferFull && len(h.pending) == 0 {
			return 0, err
		}
	}
	n := copy(p, h.pending)
	h.pending = h.pending[n:]
	return n, nil
}

// ConfigAt reads a gitleaks configuration file from a git revision of the
// repository at repo (for example the default branch's config while a pull
// request is scanned), bounded in size. A file missing at that revision
// returns nil, nil; a revision that does not exist is an input error.
func ConfigAt(ctx context.Context, git, repo, rev, file string) ([]byte, error) {
	if err := checkRev("config", rev); err != nil {
		return nil, err
	}
	if file == "" {
		file = DefaultConfigFile
	}
	if strings.HasPrefix(file, "-") || strings.Contains(file, "..") || filepath.IsAbs(file) {
		return nil, errkind.Input(fmt.Errorf("gitleaks config path %q: expected a path inside the repository", file))
	}
	s := &scan{root: repo, opts: Options{Git: git}}
	if _, err := s.git(ctx, "rev-parse", "--verify", "--quiet", "--end-of-options", rev+"^{commit}"); err != nil {
		return nil, errkind.Input(fmt.Errorf("reading %s from %s: revision not found in %s", file, rev, repo))
	}
	obj := rev + ":" + filepath.ToSlash(file)
	if _, err := s.git(ctx, "cat-file", "-e", obj); err != nil {
		return nil, nil
	}
	cmd := s.gitRepo().Command(ctx, "cat-file", "blob", obj)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, errkind.Infra(err)
	}
	if err := cmd.Start(); err != nil {
		return nil, errkind.Infra(fmt.Errorf("reading %s: %w", obj, err))
	}
	data, rerr := io.ReadAll(io.LimitReader(out, maxConfigBytes+1))
	_, _ = io.Copy(io.Discard, out)
	werr := cmd.Wait()
	if rerr != nil || werr != nil {
		return nil, errkind.Infra(fmt.Errorf("reading %s: %w", obj, errors.Join(rerr, werr)))
	}
	if len(data) > maxConfigBytes {
		return nil, errkind.Input(fmt.Errorf("reading %s: larger than %d bytes", obj, maxConfigBytes))
	}
	return data, nil
}
