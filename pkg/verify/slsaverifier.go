package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/netretry"
	"github.com/secure-gates/secure-gates/pkg/policy"
	"github.com/secure-gates/secure-gates/pkg/textclip"
)

// SLSAVerifierVersion is the slsa-verifier release the action image carries.
const SLSAVerifierVersion = "v2.7.1"

// SLSAVerifier runs slsa-verifier as its own binary (it cannot be linked beside
// cosign v2.6.5) for provenance made by slsa-github-generator.
type SLSAVerifier struct {
	// Path is the binary (default "slsa-verifier", looked up in PATH).
	Path string
	// Timeout bounds one run (default 3 minutes).
	Timeout time.Duration
	// Env, when not nil, is the environment of the process (default: inherited).
	Env []string
}

// maxVerifierOutput bounds what is kept of slsa-verifier's output.
const maxVerifierOutput = 64 << 10

// Args returns the argument list for verifying image (repo@sha256:…) against
// req: `verify-image IMAGE --source-uri github.com/OWNER/NAME
// [--source-branch B | --source-tag T] [--builder-id ID]`.
func (s *SLSAVerifier) Args(image string, req policy.Requirement) []string {
	args := []string{"verify-image", image, "--source-uri", "github.com/" + req.SourceRepository}
	if req.SourceBranch != "" {
		args = append(args, "--source-branch", req.SourceBranch)
	}
	if req.SourceTag != "" {
		args = append(args, "--source-tag", req.SourceTag)
	}
	if req.BuilderID != "" {
		args = append(args, "--builder-id", req.BuilderID)
	}
	return args
}

// SLSAResult is slsa-verifier's verdict.
type SLSAResult struct {
	// Passed is true when slsa-verifier exited 0 and printed PASSED.
	Passed bool
	// Message is its verdict line (bounded, one line).
	Message string
}

// infraHints are slsa-verifier failure texts that mean a service could not be
// reached rather than a provenance that does not verify.
var infraHints = []string{"connection refused", "no such host", "i/o timeout", "TLS handshake", "context deadline exceeded",
	"status code 5", "500 Internal", "502 Bad Gateway", "503 Service", "504 Gateway", "unable to update TUF", "tuf:", "dial tcp"}

// VerifyImage runs slsa-verifier on image. A verification failure is a
// SLSAResult with Passed false; a missing binary, a timeout or an unreachable
// service is an infrastructure error.
func (s *SLSAVerifier) VerifyImage(ctx context.Context, image string, req policy.Requirement) (SLSAResult, error) {
	path := s.Path
	if path == "" {
		path = "slsa-verifier"
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 3 * time.Minute
	}
	outer := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, s.Args(image, req)...)
	// Killed at the deadline; its output pipes are not waited on for longer.
	cmd.WaitDelay = 2 * time.Second
	if s.Env != nil {
		cmd.Env = s.Env
	}
	var out bytes.Buffer
	w := &capped{buf: &out, max: maxVerifierOutput}
	cmd.Stdout, cmd.Stderr = w, w
	err := cmd.Run()
	text := out.String()
	if err == nil {
		if strings.Contains(text, "PASSED") {
			return SLSAResult{Passed: true, Message: verdictLine(text, "PASSED")}, nil
		}
		return SLSAResult{}, errkind.Infra(fmt.Errorf("slsa-verifier exited 0 without PASSED: %s", oneLineText(text)))
	}
	if ctx.Err() != nil {
		within := fmt.Sprintf("within %s", timeout)
		if outer.Err() != nil {
			within = netretry.Within(outer)
		}
		return SLSAResult{}, errkind.Infra(fmt.Errorf("running slsa-verifier on %s: no verdict %s: %w", image, within, ctx.Err()))
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		if errors.Is(err, exec.ErrNotFound) {
			return SLSAResult{}, errkind.Infra(fmt.Errorf("slsa-verifier %s is not installed (the action image carries it in /usr/local/bin): %w", SLSAVerifierVersion, err))
		}
		return SLSAResult{}, errkind.Infra(fmt.Errorf("running slsa-verifier: %w", err))
	}
	for _, h := range infraHints {
		if strings.Contains(text, h) {
			return SLSAResult{}, errkind.Infra(fmt.Errorf("slsa-verifier could not reach a service: %s", oneLineText(verdictLine(text, "FAILED"))))
		}
	}
	return SLSAResult{Passed: false, Message: verdictLine(text, "FAILED")}, nil
}

func (v *verifier) slsaGitHubGenerator(ctx context.Context, req policy.Requirement, res RequirementResult) RequirementResult {
	sv := v.opts.SLSAVerifier
	if sv == nil {
		sv = &SLSAVerifier{}
	}
	r, err := sv.VerifyImage(ctx, v.ref.String(), req)
	if err != nil {
		v.infraErr = err
		res.Reasons = []string{err.Error()}
		return res
	}
	if r.Passed {
		res.Passed = true
		res.Detail = "slsa-verifier " + SLSAVerifierVersion + ": " + r.Message
		return res
	}
	res.Reasons = []string{"slsa-verifier " + SLSAVerifierVersion + ": " + r.Message}
	return res
}

// verdictLine returns the line holding word (slsa-verifier's PASSED/FAILED
// line), or the last non-empty line.
func verdictLine(text, word string) string {
	lines := strings.Split(strings.TrimSpace(text), "\n")
	for _, l := range lines {
		if strings.Contains(l, word) {
			return oneLineText(l)
		}
	}
	if len(lines) > 0 {
		return oneLineText(lines[len(lines)-1])
	}
	return "(no output)"
}

// oneLineText keeps a tool's output line to one bounded line.
func oneLineText(s string) string { return textclip.Line(s, maxLine) }

type capped struct {
	buf *bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); room > 0 {
		if len(p) > room {
			c.buf.Write(p[:room])
		} else {
			c.buf.Write(p)
		}
	}
	return len(p), nil
}
