package verify

import (
	"strings"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/pkg/policy"
)

// A signature by a policy identity counts at once, even when the identity is
// also a break-glass signer; one by a break-glass signer only counts within
// the ttl of a trusted signing time that is not in the future.
func TestAcceptSigner(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ci := policy.Identity{Issuer: "https://token.actions.githubusercontent.com", Subject: "ci"}
	both := policy.Identity{Key: "both.pub"}
	bg := policy.Identity{Issuer: "https://accounts.google.com", Subject: "oncall@example.com"}
	other := policy.Identity{Key: "other.pub"}
	p := &policy.Policy{
		Identities: []policy.Identity{ci, both},
		BreakGlass: &policy.BreakGlass{Signers: []policy.Identity{both, bg}, TTL: policy.Duration{Duration: 4 * time.Hour}},
	}
	v := &verifier{opts: Options{Policy: p}, now: now}
	at := func(d time.Duration) *time.Time { tt := now.Add(d); return &tt }
	for _, tt := range []struct {
		name       string
		id         policy.Identity
		trusted    *time.Time
		breakGlass bool
		refused    string // "" when accepted
	}{
		{name: "identity, no trusted time", id: ci},
		{name: "identity that is also break-glass, no trusted time", id: both},
		{name: "not break-glass (verified elsewhere)", id: other},
		{name: "break-glass without trusted time", id: bg, refused: "has no trusted signing time"},
		{name: "break-glass within ttl", id: bg, trusted: at(-time.Hour), breakGlass: true},
		{name: "break-glass at ttl", id: bg, trusted: at(-4 * time.Hour), breakGlass: true},
		{name: "break-glass past ttl", id: bg, trusted: at(-4*time.Hour - time.Second), refused: "expired"},
		{name: "break-glass within clock skew", id: bg, trusted: at(MaxClockSkew), breakGlass: true},
		{name: "break-glass in the future", id: bg, trusted: at(MaxClockSkew + time.Second), refused: "in the future"},
	} {
		in := Input{Signer: tt.id.String()}
		g, why := v.acceptSigner(in, &signer{identity: tt.id, trustedTime: tt.trusted, timeSource: "rekor"})
		switch {
		case tt.refused != "":
			if why == "" || !strings.Contains(why, tt.refused) {
				t.Errorf("%s: refusal %q, want one containing %q", tt.name, why, tt.refused)
			}
		case why != "":
			t.Errorf("%s: refused (%s), want accepted", tt.name, why)
		case g.breakGlass != tt.breakGlass || g.in != in:
			t.Errorf("%s: accepted as %+v, want break-glass %v", tt.name, g, tt.breakGlass)
		case g.breakGlass && !strings.HasPrefix(g.why, "BREAK-GLASS: signed by "+bg.String()):
			t.Errorf("%s: why %q", tt.name, g.why)
		}
	}
}

// The signature requirement passes with the first signature by a policy
// identity, and with a break-glass one only when there is none.
func TestChooseSignature(t *testing.T) {
	t.Parallel()
	a, b, c := Input{Signer: "a"}, Input{Signer: "b"}, Input{Signer: "c"}
	for _, tt := range []struct {
		name       string
		good       []acceptedSignature
		want       string
		breakGlass bool
	}{
		{name: "none"},
		{name: "first identity", good: []acceptedSignature{{in: a}, {in: b}}, want: "a"},
		{name: "identity over earlier break-glass", good: []acceptedSignature{{in: a, breakGlass: true}, {in: b}, {in: c}}, want: "b"},
		{name: "first break-glass", good: []acceptedSignature{{in: a, breakGlass: true}, {in: b, breakGlass: true}}, want: "a", breakGlass: true},
	} {
		g, found := chooseSignature(tt.good)
		if found != (tt.want != "") || g.in.Signer != tt.want || g.breakGlass != tt.breakGlass {
			t.Errorf("%s: got %+v (found %v), want %q break-glass %v", tt.name, g, found, tt.want, tt.breakGlass)
		}
	}
}

// A failed signature requirement says "not signed" only when nothing was
// found, and adds each refused bundle's reason once.
func TestSignatureReasons(t *testing.T) {
	t.Parallel()
	bundle := Ignored{Kind: KindSignature, Format: FormatBundle, Location: "reg/x@sha256:0123456789abcdef0123", Reason: "does not verify"}
	legacy := Ignored{Kind: KindSignature, Format: FormatLegacy, Location: "reg/x:sha256-1.sig", Reason: "legacy refused"}
	for _, tt := range []struct {
		name     string
		none     bool
		refusals []string
		ignored  []Ignored
		want     []string
	}{
		{name: "nothing found", none: true, want: []string{"image is not signed: no signature found (legacy .sig tag or Sigstore bundle referrer)"}},
		{name: "refusals", refusals: []string{"r1", "r2"}, ignored: []Ignored{legacy}, want: []string{"r1", "r2"}},
		{name: "bundle refused", none: true, ignored: []Ignored{bundle, legacy},
			want: []string{"image is not signed: no signature found (legacy .sig tag or Sigstore bundle referrer)", "bundle referrer sha256:0123456789ab does not verify"}},
		{name: "bundle reason already listed", refusals: []string{"x does not verify"}, ignored: []Ignored{bundle}, want: []string{"x does not verify"}},
	} {
		got := signatureReasons(tt.none, tt.refusals, tt.ignored)
		if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}
