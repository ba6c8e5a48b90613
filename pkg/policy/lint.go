package policy

import (
	"crypto"
	"fmt"
	"net/url"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode"

	"github.com/secure-gates/secure-gates/pkg/attestation"
)

// Warning is a finding of Lint: a policy that loads but is dangerous.
type Warning struct {
	// Field is the schema path of the field ("identities[0].subject-regexp").
	Field string
	// Line is the 1-based line of the field in the file, or 0 when unknown.
	Line int
	// Msg says what the field admits and how to narrow it.
	Msg string
}

// String renders the warning as "field: message".
func (w Warning) String() string { return w.Field + ": " + w.Msg }

// Lint returns the warnings of a loaded policy: settings that are legal but
// admit more than their author most likely meant —
//   - a keyless identity whose subject-regexp admits any owner or any
//     repository (and no repository extension pins it), or any workflow file;
//   - mode: audit without enforce-environments (audit then applies everywhere);
//   - an exception or break-glass signer that is also a release signer (the
//     pipeline that signs images could then waive its own findings);
//   - a dast requirement without max-age (a DAST of any age, of an
//     application that has changed around the image since, would count).
func Lint(p *Policy) []Warning {
	var ws []Warning
	warn := func(field, format string, args ...any) {
		ws = append(ws, Warning{Field: field, Line: p.Line(field), Msg: fmt.Sprintf(format, args...)})
	}
	if p.Mode == ModeAudit && len(p.EnforceEnvironments) == 0 {
		warn("mode", "audit without enforce-environments: no deploy is ever blocked, production included. "+
			"List the environments that must enforce (enforce-environments: [production]); audit then applies only to other named environments")
	}
	for i, r := range p.Require {
		if r.PredicateType == attestation.PredicateDAST && r.MaxAge.IsZero() {
			warn(fmt.Sprintf("require[%d]", i), "dast without max-age: a DAST of this digest from any time counts, however long ago %s was scanned. "+
				"Bound it (max-age: 72h), so that promotion needs a recent scan", r.Environment)
		}
	}
	each := func(prefix string, ids []Identity) {
		for i, id := range ids {
			lintIdentity(fmt.Sprintf("%s[%d]", prefix, i), id, warn)
		}
	}
	each("identities", p.Identities)
	if p.Exceptions != nil {
		each("exceptions.signers", p.Exceptions.Signers)
	}
	if p.BreakGlass != nil {
		each("break-glass.signers", p.BreakGlass.Signers)
	}
	sameAsRelease := func(prefix, role string, ids []Identity) {
		for i, s := range ids {
			for j, r := range p.Identities {
				if why := sameSigner(s, r); why != "" {
					warn(fmt.Sprintf("%s[%d]", prefix, i), "is also release signer identities[%d] (%s): whoever signs images can then sign %s for them. "+
						"Give %s to a different identity (e.g. the security team's approval workflow or key)", j, why, role, role)
				}
			}
		}
	}
	if p.Exceptions != nil {
		sameAsRelease("exceptions.signers", "exceptions", p.Exceptions.Signers)
	}
	if p.BreakGlass != nil {
		sameAsRelease("break-glass.signers", "break-glass", p.BreakGlass.Signers)
	}
	return ws
}

// Probe values no real subject uses: a regexp that accepts them in place of the
// owner, repository or workflow file accepts anyone's.
const (
	probeOwner    = "zz-probe-owner-q7"
	probeRepo     = "zz-probe-repo-q7"
	probeWorkflow = "zz-probe-workflow-q7.yml"
)

func lintIdentity(field string, id Identity, warn func(field, format string, args ...any)) {
	if id.IsKey() || id.SubjectRegexp == "" {
		return
	}
	re, err := regexp.Compile(id.SubjectRegexp)
	if err != nil {
		return
	}
	f := field + ".subject-regexp"
	pinned := id.Repository != ""
	// A subject of someone else's workflow altogether.
	for _, host := range []string{"github.com", "gitlab.com"} {
		foreign := "https://" + host + "/" + probeOwner + "/" + probeRepo + "/.github/workflows/" + probeWorkflow + "@refs/heads/main"
		if !pinned && re.MatchString(foreign) {
			warn(f, "%s admits any owner and repository (it matches %s): a workflow in anyone's repository could sign. "+
				"Spell out the owner, repository and workflow (^https://github\\.com/acme/widgets/\\.github/workflows/release\\.yml@refs/heads/main$), or pin repository: owner/name",
				quote(id.SubjectRegexp), foreign)
			return
		}
	}
	// A GitHub workflow identity: https://github.com/OWNER/REPO/.github/workflows/FILE@REF.
	sample, ok := sampleMatch(id.SubjectRegexp)
	if !ok || !re.MatchString(sample) {
		return
	}
	u, err := url.Parse(sample)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return
	}
	parts := strings.Split(u.Path, "/") // "", owner, repo, rest...
	if len(parts) < 3 {
		return
	}
	with := func(i int, v string) string {
		q := append([]string(nil), parts...)
		q[i] = v
		return u.Scheme + "://" + u.Host + strings.Join(q, "/")
	}
	switch {
	case pinned:
	case anyMatch(re, with, 1, parts[1], probeOwner):
		warn(f, "%s admits any owner (it matches %s): a workflow in anyone's repository could sign. "+
			"Spell out the owner and repository (…/github\\.com/acme/widgets/…), or pin repository: owner/name", quote(id.SubjectRegexp), with(1, probeOwner))
	case anyMatch(re, with, 2, parts[2], probeRepo):
		warn(f, "%s admits any repository of %s (it matches %s): any repository there could sign. "+
			"Spell out the repository, or pin repository: owner/name", quote(id.SubjectRegexp), parts[1], with(2, probeRepo))
	}
	// The workflow file: …/.github/workflows/FILE@REF.
	for i := 3; i+2 < len(parts); i++ {
		if parts[i] != ".github" || parts[i+1] != "workflows" {
			continue
		}
		file, ref, _ := strings.Cut(parts[i+2], "@")
		probe := probeWorkflow
		if ref != "" || strings.Contains(parts[i+2], "@") {
			probe += "@" + ref
		}
		q := append([]string(nil), parts[:i+2]...)
		q = append(q, probe)
		q = append(q, parts[i+3:]...)
		cand := u.Scheme + "://" + u.Host + strings.Join(q, "/")
		if re.MatchString(cand) || (file != "" && re.MatchString(strings.Replace(sample, "/"+file, "/"+file+"-evil", 1))) {
			warn(f, "%s admits any workflow file (it matches %s): every workflow of the repository, including one a pull request adds, could sign. "+
				"Name the workflow file exactly (…/\\.github/workflows/release\\.yml@…)", quote(id.SubjectRegexp), cand)
		}
		break
	}
}

// anyMatch reports whether re accepts path segment i replaced by someone else's
// name: a probe, plain words of several shapes, or the sample's own name with
// something added.
func anyMatch(re *regexp.Regexp, with func(int, string) string, i int, own, probe string) bool {
	for _, v := range []string{probe, "evil", "Evil", "x", "evil1", "e-v.i_l", own + "-evil", own + "evil", "evil" + own} {
		if v != own && re.MatchString(with(i, v)) {
			return true
		}
	}
	return false
}

// sameSigner says why two identities are the same signer, or "".
func sameSigner(a, b Identity) string {
	switch {
	case a.IsKey() && b.IsKey():
		if a.Key == b.Key {
			return "the same key " + a.Key
		}
		if ka, ok := a.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); ok && b.PublicKey != nil && ka.Equal(b.PublicKey) {
			return "the same public key in " + a.Key + " and " + b.Key
		}
	case !a.IsKey() && !b.IsKey() && a.Issuer == b.Issuer:
		switch {
		case a.Subject != "" && a.Subject == b.Subject:
			return "the same issuer and subject"
		case a.SubjectRegexp != "" && a.SubjectRegexp == b.SubjectRegexp:
			return "the same issuer and subject-regexp"
		case a.SubjectRegexp != "" && b.Subject != "" && matches(a.SubjectRegexp, b.Subject):
			return "its subject-regexp matches the release subject"
		case b.SubjectRegexp != "" && a.Subject != "" && matches(b.SubjectRegexp, a.Subject):
			return "the release subject-regexp matches its subject"
		case a.SubjectRegexp != "" && b.SubjectRegexp != "":
			if s, ok := sampleMatch(b.SubjectRegexp); ok && matches(a.SubjectRegexp, s) {
				return "its subject-regexp matches the release identity's subjects, e.g. " + s
			}
		}
	}
	return ""
}

// matches reports whether expr compiles and matches s.
func matches(expr, s string) bool {
	re, err := regexp.Compile(expr)
	return err == nil && re.MatchString(s)
}

// sampleMatch builds a string the regular expression likely matches, choosing
// the first branch of alternations, the fewest repetitions and, from a class, a
// letter, digit or '-' where the class allows one. ok is false for expressions it
// cannot build from; callers check the result with MatchString.
func sampleMatch(expr string) (string, bool) {
	t, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return "", false
	}
	var b strings.Builder
	ok := true
	var gen func(t *syntax.Regexp)
	gen = func(t *syntax.Regexp) {
		if !ok || b.Len() > 4096 {
			ok = false
			return
		}
		switch t.Op {
		case syntax.OpLiteral:
			b.WriteString(string(t.Rune))
		case syntax.OpCharClass:
			r, found := classRune(t.Rune)
			if !found {
				ok = false
				return
			}
			b.WriteRune(r)
		case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
			b.WriteByte('a')
		case syntax.OpCapture:
			gen(t.Sub[0])
		case syntax.OpPlus:
			gen(t.Sub[0])
		case syntax.OpRepeat:
			for i := 0; i < t.Min && ok; i++ {
				gen(t.Sub[0])
			}
		case syntax.OpConcat:
			for _, s := range t.Sub {
				gen(s)
			}
		case syntax.OpAlternate:
			gen(t.Sub[0])
		case syntax.OpStar, syntax.OpQuest, syntax.OpEmptyMatch,
			syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
			syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		default:
			ok = false
		}
	}
	gen(t)
	return b.String(), ok
}

// classRune picks a rune from a character class (pairs of inclusive ranges),
// preferring ones that read as part of a name.
func classRune(ranges []rune) (rune, bool) {
	if len(ranges) < 2 {
		return 0, false
	}
	in := func(r rune) bool {
		for i := 0; i+1 < len(ranges); i += 2 {
			if ranges[i] <= r && r <= ranges[i+1] {
				return true
			}
		}
		return false
	}
	for _, r := range "az09-_." {
		if in(r) {
			return r, true
		}
	}
	for i := 0; i+1 < len(ranges); i += 2 {
		for r := ranges[i]; r <= ranges[i+1] && r-ranges[i] < 256; r++ {
			if unicode.IsPrint(r) && r != '/' && r != '@' {
				return r, true
			}
		}
	}
	return ranges[0], true
}
