package verify

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	packageurl "github.com/package-url/packageurl-go"

	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/finding"
)

// Waivers at deploy.
//
// Only signed claims waive here: exception attestations and OpenVEX
// attestations signed by an allowed exception signer, about the digest, within
// the policy's lifetime bound. What the repository waived at scan time (its
// exceptions file, VEX documents in its tree) is recorded in the predicates —
// the vuln predicate's secureGatesWaiver members and ignoredMatches, the
// code-scan predicate's waived record — and counts as present.

// signedAt is the time an exception's lifetime is measured from: its trusted
// signing time (transparency log or RFC 3161 timestamp), else own, the
// predicate's own signed time when it has one, else the verification time (so
// the bound applies to what is left of it).
func (v *verifier) signedAt(va verifiedAtt, own time.Time) (time.Time, string) {
	if t := va.signer.trustedTime; t != nil {
		return *t, "trusted signing time (" + va.signer.timeSource + ")"
	}
	if !own.IsZero() {
		return own, "signed document timestamp"
	}
	return v.now, "verification time (it has no trusted signing time)"
}

// lifetimeRefusal says why an exception expiring at expires, signed at from,
// is refused under the policy's lifetime bound ("" when it is within it).
func (v *verifier) lifetimeRefusal(expires, from time.Time, fromWhat string, outage bool) string {
	ex := v.opts.Policy.Exceptions
	bound, field := ex.Lifetime(), "exceptions.max-lifetime"
	if outage {
		bound, field = ex.OutageLifetime(), "exceptions.max-outage-lifetime"
	}
	if from.After(v.now.Add(MaxClockSkew)) {
		return fmt.Sprintf("its %s %s is in the future", fromWhat, from.UTC().Format(time.RFC3339))
	}
	if life := expires.Sub(from); life > bound {
		return fmt.Sprintf("expires %s, %s after its %s %s: longer than the %s %s allows; re-issue it with an expiry at most %s after signing",
			expires.UTC().Format(time.RFC3339), roundLifetime(life), fromWhat, from.UTC().Format(time.RFC3339), field, roundLifetime(bound), roundLifetime(bound))
	}
	return ""
}

func roundLifetime(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	}
	return d.Round(time.Minute).String()
}

// isOutageException reports whether an exception waives a scanner outage.
// Finding ids compare case-insensitively (waiveOutage matches lower-cased
// ids), so the prefix does too: OUTAGE:vuln is an outage waiver, bounded by
// exceptions.max-outage-lifetime.
func isOutageException(e attestation.Exception) bool {
	for _, f := range e.Findings {
		if isOutageID(f) {
			return true
		}
	}
	return false
}

// isOutageID reports whether a finding id names a scanner outage (outage:…,
// in any case).
func isOutageID(id string) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(id)), "outage:")
}

// vexStmt is one OpenVEX statement about this image or its packages, from a
// verified VEX attestation by an exception signer.
type vexStmt struct {
	va    *verifiedAtt
	doc   *attestation.OpenVEX
	key   [32]byte // the attestation's statement (copies share it)
	s     attestation.VEXStatement
	idx   int       // its position in the document
	at    time.Time // the statement's time: its own, else the document's
	ids   []string  // vulnerability name and aliases, lower-cased
	whole bool      // about every package of the image
	purls []string  // else the packages it is about
	until time.Time // waiving statements: end of the waiver
}

// blocks reports whether t, a statement saying affected or under
// investigation, is later than s and so wins over it (OpenVEX: the latest
// statement for a vulnerability and product wins). A tie goes to t, except
// within one document, where the later statement wins.
func (t *vexStmt) blocks(s *vexStmt) bool {
	if !t.at.Equal(s.at) {
		return t.at.After(s.at)
	}
	return t.key != s.key || t.idx > s.idx
}

// acceptVEX reads a verified OpenVEX attestation: its not_affected and fixed
// statements about this image or its packages become waiver candidates, its
// affected and under_investigation statements can supersede them
// (resolveVEX). It returns why the document is refused ("" when accepted). A
// VEX document has no expiry: it waives for the policy's
// exceptions.max-lifetime from its trusted signing time, else its own
// timestamp.
func (v *verifier) acceptVEX(va verifiedAtt) string {
	st := va.statement
	if !st.HasSubjectDigest(v.ref.Digest) {
		return "statement subject is another digest (" + subjectDigests(st) + ")"
	}
	doc, err := attestation.ParseOpenVEX(st.Predicate)
	if err != nil {
		return "invalid OpenVEX document: " + oneLine(err)
	}
	key := statementKey(st)
	var waiving []*vexStmt
	blocking := 0
	for i, s := range doc.Statements {
		purls, ok := v.vexScope(s.Products)
		if !ok {
			continue
		}
		at := doc.Timestamp
		if s.Timestamp != nil {
			at = *s.Timestamp
		}
		if s.LastUpdated != nil && s.LastUpdated.After(at) {
			at = *s.LastUpdated
		}
		vs := &vexStmt{va: &va, doc: doc, key: key, s: s, idx: i, at: at, whole: purls == nil, purls: purls,
			ids: []string{strings.ToLower(s.Vulnerability.Name)}}
		for _, a := range s.Vulnerability.Aliases {
			vs.ids = append(vs.ids, strings.ToLower(a))
		}
		switch s.Status {
		case attestation.VEXAffected, attestation.VEXUnderInvestigation:
			// Counted whatever the document's age: saying a vulnerability
			// affects the image only ever takes waivers away.
			v.vexBlocking = append(v.vexBlocking, vs)
			blocking++
		case attestation.VEXNotAffected, attestation.VEXFixed:
			waiving = append(waiving, vs)
		}
	}
	from, fromWhat := v.signedAt(va, doc.Timestamp)
	if from.After(v.now.Add(MaxClockSkew)) {
		return fmt.Sprintf("its %s %s is in the future", fromWhat, from.UTC().Format(time.RFC3339))
	}
	until := from.Add(v.opts.Policy.Exceptions.Lifetime())
	if !until.After(v.now) {
		return fmt.Sprintf("signed %s (%s): older than exceptions.max-lifetime %s, so it waives nothing; re-issue it",
			from.UTC().Format(time.RFC3339), fromWhat, roundLifetime(v.opts.Policy.Exceptions.Lifetime()))
	}
	added := 0
	var outages, future []string
	for _, vs := range waiving {
		// A VEX statement says a vulnerability does not affect a product; a
		// scanner that did not run is not a vulnerability. Only a signed
		// exception attestation, bounded by exceptions.max-outage-lifetime,
		// waives an outage.
		if isOutageID(vs.s.Vulnerability.Name) || slices.ContainsFunc(vs.s.Vulnerability.Aliases, isOutageID) {
			outages = append(outages, truncateText(vs.s.Vulnerability.Name))
			continue
		}
		// A statement dated in the future would win over every later one.
		if vs.at.After(v.now.Add(MaxClockSkew)) {
			future = append(future, truncateText(vs.s.Vulnerability.Name))
			continue
		}
		vs.until = until
		v.vexWaiving = append(v.vexWaiving, vs)
		added++
	}
	var whys []string
	if len(outages) > 0 {
		whys = append(whys, fmt.Sprintf("%d statement(s) name a scanner outage (%s): a VEX statement never waives a scanner outage; sign an exception attestation listing it (bounded by exceptions.max-outage-lifetime)",
			len(outages), strings.Join(limit(outages), ", ")))
	}
	if len(future) > 0 {
		whys = append(whys, fmt.Sprintf("%d statement(s) are dated more than %s in the future (%s): they waive nothing", len(future), MaxClockSkew, strings.Join(limit(future), ", ")))
	}
	if len(whys) > 0 {
		why := strings.Join(whys, "; ")
		if added > 0 {
			why += fmt.Sprintf("; its %d other statement(s) are accepted", added)
		}
		return why
	}
	if added == 0 && blocking == 0 {
		return "no not_affected or fixed statement about this image or its packages"
	}
	return ""
}

// resolveVEX turns the accepted not_affected and fixed statements into
// waivers, except where a statement saying affected or under_investigation
// for the same vulnerability (name or alias) and product is later, in the same
// document or another VEX attestation (OpenVEX: the latest statement wins).
// A later statement about one package narrows a whole-image waiver; about the
// whole image, it takes the waiver away. What was superseded is reported.
func (v *verifier) resolveVEX(rep *Report) {
	byID := map[string][]*vexStmt{}
	for _, t := range v.vexBlocking {
		for _, id := range t.ids {
			byID[id] = append(byID[id], t)
		}
	}
	superseded := map[*verifiedAtt][]string{}
	var order []*verifiedAtt
	for _, s := range v.vexWaiving {
		purls := slices.Clone(s.purls)
		var notPurls []string
		var by *vexStmt
		seen := map[*vexStmt]bool{}
		for _, id := range s.ids {
			for _, t := range byID[id] {
				if seen[t] || !t.blocks(s) {
					continue
				}
				seen[t] = true
				switch {
				case t.whole:
					purls, by = nil, t
				case s.whole:
					notPurls = append(notPurls, t.purls...)
				default:
					purls = slices.DeleteFunc(purls, func(w string) bool {
						return slices.ContainsFunc(t.purls, func(b string) bool { return purlsOverlap(w, b) })
					})
					if len(purls) == 0 {
						by = t
					}
				}
				if by != nil {
					break
				}
			}
			if by != nil {
				break
			}
		}
		name := truncateText(s.s.Vulnerability.Name)
		if by != nil {
			why := fmt.Sprintf("%s %s (%s) superseded by a later %s statement (%s, %s)", name, s.s.Status, s.at.UTC().Format(time.RFC3339),
				by.s.Status, shortLoc(by.va.c.location), by.at.UTC().Format(time.RFC3339))
			if _, ok := superseded[s.va]; !ok {
				order = append(order, s.va)
			}
			superseded[s.va] = append(superseded[s.va], why)
			for _, id := range append([]string{s.s.Vulnerability.Name}, s.s.Vulnerability.Aliases...) {
				v.refused()[id] = append(v.refused()[id], "VEX "+shortLoc(s.va.c.location)+" "+why)
			}
			continue
		}
		reason := "VEX " + s.s.Status
		if s.s.Justification != "" {
			reason += " (" + s.s.Justification + ")"
		}
		if s.s.ImpactStatement != "" {
			reason += ": " + s.s.ImpactStatement
		}
		e := &exception{id: s.va.digest, signer: s.va.signer.identity.String(), findings: map[string]bool{},
			vex: true, purls: purls, notPurls: notPurls,
			pred: attestation.Exception{Findings: []string{s.s.Vulnerability.Name}, Reason: truncateText(reason),
				Ticket: truncateText(nonEmpty(s.doc.ID, "OpenVEX document")), Approver: truncateText(s.doc.Author), Expires: s.until}}
		for _, id := range s.ids {
			e.findings[id] = true
		}
		v.exceptions = append(v.exceptions, e)
	}
	for _, va := range order {
		list := superseded[va]
		rep.ExceptionsRefused = append(rep.ExceptionsRefused, Ignored{Kind: KindException, Format: va.c.format,
			Location: va.c.location, PredicateType: va.statement.PredicateType,
			Reason: fmt.Sprintf("%d statement(s) superseded by a later affected or under_investigation statement, so they waive nothing: %s",
				len(list), strings.Join(limit(list), "; "))})
	}
}

// purlsOverlap reports whether two package URLs can name the same package:
// either, as a pattern, matches the other.
func purlsOverlap(a, b string) bool {
	return strings.EqualFold(a, b) || finding.PURLMatches(a, b) || finding.PURLMatches(b, a)
}

// vexScope reads a statement's products: the packages it covers (package URLs
// of products and of the image's subcomponents), nil for every package of the
// image (the image itself without subcomponents); ok is false when no product
// is this image or a package.
func (v *verifier) vexScope(products []attestation.VEXProduct) (purls []string, ok bool) {
	whole := false
	for _, p := range products {
		id := productID(p)
		switch {
		case v.isThisImage(id):
			if len(p.Subcomponents) == 0 {
				whole = true
			}
			for _, sc := range p.Subcomponents {
				if sid := productID(sc); isPackagePURL(sid) {
					purls = append(purls, sid)
				}
			}
			ok = ok || len(p.Subcomponents) == 0 || len(purls) > 0
		case isPackagePURL(id):
			purls = append(purls, id)
			ok = true
		}
	}
	if whole {
		return nil, true
	}
	sort.Strings(purls)
	return purls, ok && len(purls) > 0
}

func validPURLScope(s string) bool {
	_, err := finding.ParsePURLScope(s)
	return err == nil
}

func productID(p attestation.VEXProduct) string {
	if p.ID != "" {
		return p.ID
	}
	return p.Identifiers["purl"]
}

// isPackagePURL reports whether id is a package URL of a package (not of an
// OCI image, which names an image, not something in it).
func isPackagePURL(id string) bool {
	p, err := finding.ParsePURLScope(id)
	return err == nil && p.Type != packageurl.TypeOCI
}

// isThisImage reports whether a VEX product names the verified image by its
// digest: an OCI purl whose version is the digest, or a reference
// repo@sha256:… of it.
func (v *verifier) isThisImage(id string) bool {
	if strings.HasPrefix(strings.ToLower(id), "pkg:") {
		p, err := packageurl.FromString(id)
		return err == nil && p.Type == packageurl.TypeOCI && p.Version == v.ref.Digest
	}
	if d, err := url.PathUnescape(id); err == nil {
		id = d
	}
	_, digest, found := strings.Cut(id, "@")
	return found && digest == v.ref.Digest
}

// codeScanWaivers re-counts the findings a code-scan predicate records as
// waived by the repository (its exceptions file, VEX documents): each at or
// above the scan's severity cutoff fails the requirement unless a signed
// exception waives it. A predicate that applied repository exceptions but
// does not list what they waived (written by an older scan gate) fails too.
func (v *verifier) codeScanWaivers(p attestation.CodeScan) []string {
	w := p.Waived
	if w == nil {
		if len(p.ExceptionsApplied) > 0 {
			ids := make([]string, 0, len(p.ExceptionsApplied))
			for _, e := range p.ExceptionsApplied {
				ids = append(ids, truncateText(e.ID))
			}
			return []string{fmt.Sprintf("the scan's decision relied on %d exception(s) of the repository's exceptions file (%s) and the predicate does not list the findings they waived; only signed exceptions waive at deploy: rescan with the current scan gate, and sign an exception for what must stay waived",
				len(p.ExceptionsApplied), strings.Join(limit(ids), ", "))}
		}
		return nil
	}
	if w.SeverityCutoff == string(finding.NoCutoff) {
		return nil
	}
	cutoff, err := finding.ParseSeverity(w.SeverityCutoff)
	if err != nil || cutoff.Rank() == 0 {
		return []string{fmt.Sprintf("waived.severityCutoff %q is not a severity: the repository's waivers cannot be re-counted", truncateText(w.SeverityCutoff))}
	}
	var denied []string
	listed := map[finding.Severity]int{}
	for _, f := range w.Findings {
		sev, err := finding.ParseSeverity(f.Severity)
		if err != nil {
			sev = finding.Unknown
		}
		listed[sev]++
		if !sev.AtLeast(cutoff) || (w.OnlyFixed && f.Scanner == "deps" && !f.Fixable) {
			continue
		}
		ids := append([]string{f.RuleID, f.Fingerprint}, f.Aliases...)
		if e := v.waiverIDs(ids, f.PURL); e != nil {
			e.used++
			continue
		}
		where := f.Path
		if where == "" {
			where = f.PURL
		}
		d := fmt.Sprintf("%s (%s, %s", truncateText(f.RuleID), sev, truncateText(f.Scanner))
		if where != "" {
			d += " at " + truncateText(where)
		}
		d += ") waived by " + describeScanWaiver(f.Waiver.Kind, f.Waiver.ID, f.Waiver.Source)
		denied = append(denied, d)
	}
	counts := map[finding.Severity]int{finding.Critical: w.Counts.Critical, finding.High: w.Counts.High, finding.Medium: w.Counts.Medium,
		finding.Low: w.Counts.Low}
	unlisted := 0
	for sev, n := range counts {
		if sev.AtLeast(cutoff) && n > listed[sev] {
			unlisted += n - listed[sev]
		}
	}
	var reasons []string
	if len(denied) > 0 {
		sort.Strings(denied)
		reasons = append(reasons, fmt.Sprintf("%d finding(s) at or above the scan's severity-cutoff %s passed the scan only through the repository's own waivers, which do not count at deploy (a signed exception is needed): %s",
			len(denied), cutoff, strings.Join(limit(denied), "; ")))
	}
	if unlisted > 0 {
		reasons = append(reasons, fmt.Sprintf("%d finding(s) at or above %s waived by the repository are not listed in the predicate: they count as present", unlisted, cutoff))
	}
	return reasons
}

// limit keeps at most maxListed entries, saying how many more there were.
func limit(list []string) []string {
	if len(list) <= maxListed {
		return list
	}
	return append(list[:maxListed:maxListed], fmt.Sprintf("and %d more", len(list)-maxListed))
}

// waiverIDs is the first accepted exception waiving one of ids within purl.
func (v *verifier) waiverIDs(ids []string, purl string) *exception {
	for _, e := range v.exceptions {
		if e.waivesIDs(ids, purl) {
			return e
		}
	}
	return nil
}
