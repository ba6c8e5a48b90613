// Package evidencecmd is the `secure-gates evidence` command: SOC 2 evidence
// bundles of released images (pkg/evidence) and their offline re-verification.
package evidencecmd

import (
	"bufio"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/evidence"
	"github.com/secure-gates/secure-gates/pkg/gha"
	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/policy"
	"github.com/secure-gates/secure-gates/pkg/readfile"
	"github.com/secure-gates/secure-gates/pkg/verify"
)

// Command is the `evidence` subcommand of the secure-gates binary; version is
// recorded in the bundles it writes.
func Command(version string) gate.Command {
	return gate.Command{
		Name:    "evidence",
		Summary: "write a SOC 2 evidence bundle of a verified release (evidence --image REF@DIGEST --policy FILE --out DIR|FILE.tar.gz), or re-verify one offline (evidence verify BUNDLE)",
		Run: func(ctx context.Context, rt *gha.Runtime, args []string) error {
			return run(ctx, rt, args, version)
		},
	}
}

const usage = `Usage: secure-gates evidence --image REPO@sha256:… [--image …] --policy FILE --out DIR|FILE.tar.gz
       secure-gates evidence --images FILE [--from TIME] [--to TIME] --policy FILE --out DIR
       secure-gates evidence verify [--policy FILE] [--trusted-root FILE] [--environment ENV] BUNDLE

evidence verifies each image's chain exactly as verify-and-deploy does and, when it
verifies, writes its evidence bundle: every signature and attestation as read from the
registry (DSSE envelopes, Sigstore bundles, certificates, Rekor entries, RFC 3161
timestamps), the policy at its digest with its keys, the trusted root, the verification
report and VSA, the SBOMs, the exceptions used (ticket, approver, expiry), and
index.json mapping SOC 2 criteria to the files with their sha256. An image that does not
verify gets no bundle (exit 1). A tag is refused: name releases by digest.

With several images (--image repeated, or --images: one REPO@sha256:… per line, # for
comments) the output is a folder: one <repo>@sha256-<hex>.tar.gz per verified image in
the audit period (--from/--to, RFC 3339 or YYYY-MM-DD, on the release time: the earliest
trusted signing time, else the signed scanFinishedOn) and sample.json listing every image
with its status. Any image that does not verify makes the exit code 1.

evidence verify re-verifies a bundle offline against the policy and trust root it holds,
at its recorded verification time, and fails when any file is altered, removed or added.
Pin the trust with --policy / --trusted-root (they must equal the bundle's copies),
and the environment with --environment: a bundle of a deploy into the environment a
dast requirement runs in (staging) does not evidence the promotion beyond it.

Flags:
`

// maxListBytes bounds --images and the pinned files.
const maxListBytes = 4 << 20

// bundleFlags are the flags of `evidence` (writing bundles).
type bundleFlags struct {
	images                                  gate.ListFlag
	imagesFile, policyPath, baseDir         *string
	trustedRoot, out, from, to, environment *string
}

func newBundleFlags(w io.Writer) (*flag.FlagSet, *bundleFlags) {
	fs := flag.NewFlagSet("evidence", flag.ContinueOnError)
	fs.SetOutput(w)
	f := &bundleFlags{}
	fs.Var(&f.images, "image", "image to bundle, REPO@sha256:… (repeatable)")
	f.imagesFile = fs.String("images", "", "file listing images, one REPO@sha256:… per line")
	f.policyPath = fs.String("policy", ".secure-gates/policy.yaml", "verify-and-deploy policy file")
	f.baseDir = fs.String("base-dir", "", "folder key paths in the policy are relative to (default the working directory)")
	f.trustedRoot = fs.String("trusted-root", "", "Sigstore trusted_root.json (default: none for key-only policies, the public-good instance through TUF for keyless ones)")
	f.out = fs.String("out", "", "bundle folder, or FILE.tar.gz (one image); a folder for a sample")
	f.from = fs.String("from", "", "start of the audit period (RFC 3339 or YYYY-MM-DD, inclusive)")
	f.environment = fs.String("environment", "", "environment the release was deployed to, as verify-and-deploy's environment input (a dast requirement does not apply in the environment its DAST runs in)")
	f.to = fs.String("to", "", "end of the audit period (RFC 3339 or YYYY-MM-DD, exclusive; a date includes its whole day)")
	fs.Usage = func() { fmt.Fprint(w, usage); fs.PrintDefaults() }
	return fs, f
}

func run(ctx context.Context, rt *gha.Runtime, args []string, version string) error {
	if len(args) > 0 && args[0] == "verify" {
		return verifyCmd(ctx, rt, args[1:])
	}
	fs, f := newBundleFlags(rt.Stdout())
	if help, err := gate.ParseFlags(fs, args, " (images are given with --image or --images)"); help || err != nil {
		return err
	}
	if *f.out == "" {
		return errkind.Input(errors.New("evidence: --out is required (a folder, or FILE.tar.gz)"))
	}
	refs, err := f.refs()
	if err != nil {
		return err
	}
	period, err := parsePeriod(*f.from, *f.to)
	if err != nil {
		return err
	}
	sample := len(refs) > 1 || period.set() || *f.imagesFile != ""
	if sample && evidence.IsArchive(*f.out) {
		return errkind.Input(fmt.Errorf("evidence: --out %s: a sample (several images or --from/--to) is written to a folder", *f.out))
	}
	o, err := f.options(ctx, version)
	if err != nil {
		return err
	}
	if !sample {
		return writeBundle(ctx, rt, refs[0], o, *f.out)
	}
	return writeSample(ctx, rt, refs, period, o, *f.out)
}

// refs are the images of --image and --images, by digest.
func (f *bundleFlags) refs() ([]oci.Ref, error) {
	images := f.images
	if *f.imagesFile != "" {
		list, err := readList(*f.imagesFile)
		if err != nil {
			return nil, err
		}
		images = append(images, list...)
	}
	if len(images) == 0 {
		return nil, errkind.Input(errors.New("evidence: no image: give --image REPO@sha256:… or --images FILE"))
	}
	var refs []oci.Ref
	for _, s := range images {
		r, err := oci.ParseDigestRef(s)
		if err != nil {
			return nil, errkind.Input(fmt.Errorf("evidence: %w (evidence is about a release digest; resolve the tag once, e.g. crane digest, and pass repo@sha256:…)", err))
		}
		refs = append(refs, r)
	}
	return refs, nil
}

// options reads the policy and the trusted root the bundles record.
func (f *bundleFlags) options(ctx context.Context, version string) (evidence.Options, error) {
	polBytes, err := readBounded("--policy", *f.policyPath, policy.MaxPolicyBytes)
	if err != nil {
		return evidence.Options{}, err
	}
	base := cmp.Or(*f.baseDir, ".")
	pol, err := policy.Parse(polBytes, policy.Options{BaseDir: base})
	if err != nil {
		return evidence.Options{}, errkind.Input(fmt.Errorf("policy %s: %w", *f.policyPath, err))
	}
	trust, err := trustedRootBytes(ctx, *f.trustedRoot, pol)
	if err != nil {
		return evidence.Options{}, err
	}
	return evidence.Options{Policy: polBytes, PolicySource: *f.policyPath, BaseDir: base, TrustedRoot: trust,
		Registry: oci.Options{UserAgent: "secure-gates"}, Version: version, Environment: *f.environment}, nil
}

// writeBundle writes the evidence bundle of one image to out.
func writeBundle(ctx context.Context, rt *gha.Runtime, ref oci.Ref, o evidence.Options, out string) error {
	b, rep, err := evidence.Collect(ctx, ref, o)
	if err != nil {
		if rep != nil && !rep.Verified {
			return fmt.Errorf("no evidence bundle written: %w", err)
		}
		return err
	}
	if err := evidence.Write(out, b.Files, b.Report.VerifiedAt); err != nil {
		return err
	}
	fmt.Fprintf(rt.Stdout(), "wrote %s: evidence of %s (%d files, verified at %s)\n", out, ref, len(b.Files), b.Report.VerifiedAt.Format(time.RFC3339))
	return nil
}

// writeSample writes the folder out: the bundle of every image verified and
// released in the period, and sample.json listing every image. An image that
// does not verify is a policy failure, after the folder is written.
func writeSample(ctx context.Context, rt *gha.Runtime, refs []oci.Ref, period period, o evidence.Options, out string) error {
	files := map[string][]byte{}
	s := Sample{From: period.from, To: period.to}
	failed, bundled := 0, 0
	for _, r := range refs {
		e, err := sampleEntry(ctx, r, period, o, files)
		if err != nil {
			return err // input or infrastructure: no sample rather than a wrong one
		}
		switch e.Status {
		case "not verified":
			failed++
		case "bundled":
			bundled++
		}
		s.Images = append(s.Images, e)
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	files["sample.json"] = append(data, '\n')
	if err := evidence.Write(out, files, time.Now()); err != nil {
		return err
	}
	fmt.Fprintf(rt.Stdout(), "wrote %s: %d bundle(s) of %d image(s); sample.json lists each\n", out, bundled, len(s.Images))
	if failed > 0 {
		return errkind.Policy(fmt.Errorf("%d image(s) of the sample do not verify and have no bundle (sample.json says why)", failed))
	}
	return nil
}

// sampleEntry verifies one image of a sample and, when it was released in
// the period, adds its bundle to files. The error is for input and
// infrastructure failures, not for an image that does not verify.
func sampleEntry(ctx context.Context, r oci.Ref, period period, o evidence.Options, files map[string][]byte) (SampleEntry, error) {
	e := SampleEntry{Image: r.String()}
	b, rep, err := evidence.Collect(ctx, r, o)
	switch {
	case err != nil && rep != nil && !rep.Verified:
		e.Status, e.Reason = "not verified", strings.Join(rep.Failures(), "; ")
		return e, nil
	case err != nil:
		return SampleEntry{}, err
	}
	t, src := evidence.ReleaseTime(b)
	e.ReleaseTime, e.ReleaseTimeSource = t, src
	switch {
	case t.IsZero() && period.set():
		e.Status, e.Reason = "not placed", "no trusted signing time and no signed scan time: cannot place it in the period"
	case !period.contains(t):
		e.Status = "outside the period"
	default:
		e.Status = "bundled"
		e.Bundle = bundleName(r)
		if files[e.Bundle], err = evidence.Archive(b.Files, b.Report.VerifiedAt); err != nil {
			return SampleEntry{}, err
		}
		e.SHA256 = sha256Hex(files[e.Bundle])
	}
	return e, nil
}

// Sample is sample.json: the audit period and every image asked for.
type Sample struct {
	From   *time.Time    `json:"from,omitempty"`
	To     *time.Time    `json:"to,omitempty"`
	Images []SampleEntry `json:"images"`
}

// SampleEntry is one image of a sample: bundled, outside the period, not
// placed (no release time) or not verified (no bundle, with why).
type SampleEntry struct {
	Image             string    `json:"image"`
	Status            string    `json:"status"`
	Reason            string    `json:"reason,omitempty"`
	ReleaseTime       time.Time `json:"releaseTime,omitzero"`
	ReleaseTimeSource string    `json:"releaseTimeSource,omitempty"`
	Bundle            string    `json:"bundle,omitempty"`
	SHA256            string    `json:"sha256,omitempty"`
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func bundleName(r oci.Ref) string {
	repo := strings.NewReplacer("/", "_", ":", "_").Replace(r.Repository)
	return repo + "@" + strings.Replace(r.Digest, ":", "-", 1) + ".tar.gz"
}

type period struct{ from, to *time.Time }

func (p period) set() bool { return p.from != nil || p.to != nil }

func (p period) contains(t time.Time) bool {
	if p.from != nil && t.Before(*p.from) {
		return false
	}
	if p.to != nil && !t.Before(*p.to) {
		return false
	}
	return true
}

func parsePeriod(from, to string) (period, error) {
	var p period
	parse := func(flagName, s string, end bool) (*time.Time, error) {
		if s == "" {
			return nil, nil
		}
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return &t, nil
		}
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return nil, errkind.Input(fmt.Errorf("evidence: %s %q: want RFC 3339 (2026-01-31T00:00:00Z) or a date (2026-01-31)", flagName, s))
		}
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return &t, nil
	}
	var err error
	if p.from, err = parse("--from", from, false); err != nil {
		return p, err
	}
	if p.to, err = parse("--to", to, true); err != nil {
		return p, err
	}
	if p.from != nil && p.to != nil && !p.from.Before(*p.to) {
		return p, errkind.Input(fmt.Errorf("evidence: --from %s is not before --to %s", from, to))
	}
	return p, nil
}

func readList(path string) ([]string, error) {
	data, err := readBounded("--images", path, maxListBytes)
	if err != nil {
		return nil, err
	}
	var out []string
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		return nil, errkind.Input(fmt.Errorf("--images %s: %w", path, err))
	}
	return out, nil
}

// readBounded reads a file a flag names, through readfile.Bounded (a regular
// file of at most max bytes); every failure is an input error naming the flag.
func readBounded(flagName, path string, max int64) ([]byte, error) {
	data, err := readfile.Bounded(path, max)
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("%s %s: %w", flagName, path, err))
	}
	return data, nil
}

// trustedRootBytes is the trusted root to record: the file given, nothing
// for a key-only policy, or the public-good instance's through TUF.
func trustedRootBytes(ctx context.Context, path string, pol *policy.Policy) ([]byte, error) {
	if path != "" {
		b, err := readBounded("--trusted-root", path, maxListBytes)
		if err != nil {
			return nil, err
		}
		if _, err := root.NewTrustedRootFromJSON(b); err != nil {
			return nil, errkind.Input(fmt.Errorf("--trusted-root %s: %w", path, err))
		}
		return b, nil
	}
	if !verify.NeedsKeyless(pol) {
		return nil, nil
	}
	tr, err := verify.PublicGoodTrustedRoot(ctx, "--trusted-root")
	if err != nil {
		return nil, err
	}
	b, err := tr.MarshalJSON()
	if err != nil {
		return nil, errkind.Infra(fmt.Errorf("recording the public-good trusted root: %w", err))
	}
	return b, nil
}

func verifyCmd(ctx context.Context, rt *gha.Runtime, args []string) error {
	fs := flag.NewFlagSet("evidence verify", flag.ContinueOnError)
	fs.SetOutput(rt.Stdout())
	policyPath := fs.String("policy", "", "the policy the bundle must hold (byte for byte)")
	trustedRoot := fs.String("trusted-root", "", "the trusted root the bundle must hold (byte for byte)")
	environment := fs.String("environment", "", "the environment the bundle must have been verified for (a bundle of a deploy to the environment a dast requirement runs in does not evidence the promotion beyond it)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	fs.Usage = func() { fmt.Fprint(rt.Stdout(), usage); fs.PrintDefaults() }
	if help, err := gate.ParseFlagArgs(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errkind.Input(errors.New("evidence verify: want one bundle (a folder or .tar.gz): evidence verify [flags] BUNDLE"))
	}
	o := evidence.CheckOptions{ExpectEnvironment: *environment}
	var err error
	if *policyPath != "" {
		if o.ExpectPolicy, err = readBounded("--policy", *policyPath, policy.MaxPolicyBytes); err != nil {
			return err
		}
	}
	if *trustedRoot != "" {
		if o.ExpectTrustedRoot, err = readBounded("--trusted-root", *trustedRoot, maxListBytes); err != nil {
			return err
		}
	}
	bundle := filepath.Clean(fs.Arg(0))
	files, err := evidence.Read(bundle)
	if err != nil {
		return err
	}
	res, err := evidence.Check(ctx, files, o)
	if err != nil {
		return err
	}
	if *asJSON {
		data, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(rt.Stdout(), "%s\n", data)
		return nil
	}
	fmt.Fprintf(rt.Stdout(), "%s: evidence of %s verifies (re-verified offline at %s; %d files, %d inputs)\n",
		bundle, res.Image, res.VerifiedAt.Format(time.RFC3339), res.Files, res.Inputs)
	if res.Environment != "" {
		fmt.Fprintf(rt.Stdout(), "  verified for a deploy to environment %+q\n", res.Environment)
	}
	if len(res.NotRequired) > 0 {
		fmt.Fprintf(rt.Stdout(), "  not required there, so not evidenced: %s\n", strings.Join(res.NotRequired, ", "))
	}
	fmt.Fprintf(rt.Stdout(), "  policy sha256 %s\n", res.PolicySHA256)
	for _, t := range res.TrustRoot {
		fmt.Fprintf(rt.Stdout(), "  trust %s sha256 %s\n", t.Path, t.SHA256)
	}
	if *policyPath == "" && *trustedRoot == "" {
		fmt.Fprintln(rt.Stdout(), "  (trust not pinned: compare these fingerprints with your published policy and keys, or pass --policy / --trusted-root)")
	}
	return nil
}
