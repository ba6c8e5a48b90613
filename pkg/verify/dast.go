package verify

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/policy"
)

// The promotion rule (type: dast). A deploy beyond the environment the DAST
// runs in needs a passing, fresh DAST of this digest in that environment:
//
//   - only dast attestations whose environment is the requirement's
//     (policy.SameEnvironment) count; the others are listed as ignored, and
//     when none is left the requirement fails naming the environments seen;
//   - of those, the newest evidence decides (newest.go: scanFinishedOn, else
//     evaluatedOn, bounded by the trusted signing time);
//   - its decision must be pass, and an outage it records is never a pass
//     (on-scanner-outage: exception accepts a signed outage exception);
//   - max-age is measured from scanFinishedOn (evaluatedOn when the report
//     recorded no scan time), or the trusted signing time when earlier;
//   - deny: {risk: R} counts every alert at or above R, whatever the dast
//     gate did with it (rules-file IGNORE or WARN, the repository's
//     exceptions file): only a signed exception (or signed VEX) naming the
//     alert's id waives it here. Without deny the gate's verdict stands,
//     except that alerts at or above its fail-on that it waived through the
//     repository's exceptions file count unless a signed exception waives
//     them, as for code-scan.

// dastOfEnvironment keeps the DAST attestations of req's environment; the
// others are listed as ignored and their environments returned.
func (v *verifier) dastOfEnvironment(req policy.Requirement, list []verifiedAtt, rep *Report) (keep []verifiedAtt, others []string) {
	seen := map[string]bool{}
	for _, va := range list {
		var p struct {
			Environment *string `json:"environment"`
		}
		if json.Unmarshal(va.statement.Predicate, &p) != nil || p.Environment == nil {
			// Unreadable: evaluated, so that it fails closed with its reason.
			keep = append(keep, va)
			continue
		}
		if policy.SameEnvironment(*p.Environment, req.Environment) {
			keep = append(keep, va)
			continue
		}
		env := fmt.Sprintf("%+q", truncateText(*p.Environment))
		rep.Ignored = append(rep.Ignored, Ignored{Kind: KindAttestation, Format: va.c.format, Location: va.c.location,
			PredicateType: va.statement.PredicateType,
			Reason:        fmt.Sprintf("DAST of environment %s, not %s: the policy counts only the DAST of %s", env, req.Environment, req.Environment)})
		if !seen[env] {
			seen[env] = true
			others = append(others, "environment "+env)
		}
	}
	return keep, others
}

// dastAlertDesc describes an alert for a reason.
func dastAlertDesc(a attestation.DASTAlert) string {
	d := fmt.Sprintf("%s %s (%s, %d instance(s)", truncateText(a.ID), truncateText(a.Name), a.Risk, a.Count)
	if len(a.URLs) > 0 {
		d += " at " + truncateText(a.URLs[0])
	}
	return d + ")"
}

// checkDAST evaluates a dast requirement on one verified predicate of its
// environment.
func (v *verifier) checkDAST(req policy.Requirement, pred json.RawMessage, trusted *time.Time) (detail string, reasons, outages []string) {
	if err := attestation.ValidatePredicate(attestation.PredicateDAST, pred, attestation.Options{MaxPayloadBytes: int(v.opts.MaxEnvelopeBytes)}); err != nil {
		return "", []string{oneLine(err)}, nil
	}
	var p attestation.DAST
	if err := json.Unmarshal(pred, &p); err != nil {
		return "", []string{"predicate is not a DAST scan: " + oneLine(err)}, nil
	}
	at, field := p.ScanFinishedOn, "scanFinishedOn"
	if at.IsZero() {
		at, field = p.EvaluatedOn, "evaluatedOn"
	}
	c := p.Counts
	detail = fmt.Sprintf("DAST of %s (%s) finished %s: %s (high %d, medium %d, low %d)", truncateText(p.Target), truncateText(p.Environment),
		at.UTC().Format(time.RFC3339), p.Decision, c.Critical+c.High, c.Medium, c.Low)
	if !policy.SameEnvironment(p.Environment, req.Environment) {
		reasons = append(reasons, fmt.Sprintf("DAST of environment %+q, not %s", truncateText(p.Environment), req.Environment))
	}
	if p.Decision != attestation.DecisionPass {
		reasons = append(reasons, fmt.Sprintf("DAST decision is %q, not \"pass\" (high %d, medium %d): a failed DAST is never promoted, and signed exceptions at deploy do not turn it into a pass; "+
			"fix the application, or waive the alert in the dast gate's exceptions file and sign an exception for it, then deploy, scan and attest again", p.Decision, c.Critical+c.High, c.Medium))
	}
	if why := v.freshnessOf(req, at, field, trusted); why != "" {
		reasons = append(reasons, "DAST "+why)
	}
	reasons = append(reasons, v.dastAlerts(req, p)...)
	for i, o := range p.Outages {
		if i == maxListed {
			outages = append(outages, fmt.Sprintf("and %d more scanner outages", len(p.Outages)-maxListed))
			break
		}
		outages = append(outages, fmt.Sprintf("DAST scanner outage recorded: %s (%s; the gate's on-scanner-outage was %s)",
			nonEmpty(truncateText(o.Scanner), "the scanner"), oneLine(fmt.Errorf("%s", o.Reason)), truncateText(o.Policy)))
	}
	return detail, reasons, outages
}

// dastAlerts re-counts the alerts at or above the requirement's deny risk
// (or, without deny, those the gate waived at or above its fail-on): each
// needs a signed exception.
func (v *verifier) dastAlerts(req policy.Requirement, p attestation.DAST) []string {
	cutoff, what := 0, ""
	onlyWaived := req.Deny == nil
	if onlyWaived {
		cutoff, what = policy.DASTRiskRank(p.Policy.FailOn), "the gate's fail-on "+p.Policy.FailOn
	} else {
		cutoff, what = policy.DASTRiskRank(req.Deny.Risk), "deny risk "+req.Deny.Risk
	}
	if cutoff == 0 {
		return nil
	}
	var reasons, denied []string
	for _, a := range p.Alerts {
		if policy.DASTRiskRank(a.Risk) < cutoff {
			continue
		}
		if onlyWaived && a.Disposition != attestation.DispositionWaived {
			continue
		}
		if e := v.waiverIDs([]string{a.ID}, ""); e != nil {
			e.used++
			continue
		}
		d := dastAlertDesc(a)
		switch a.Disposition {
		case attestation.DispositionWaived:
			d += " — waived only by the repository's exceptions file in the dast gate, which is not a signed exception"
		case attestation.DispositionIgnored:
			d += " — IGNOREd only by the repository's rules file, which is not a signed exception"
		case attestation.DispositionWarn:
			d += " — WARN in the repository's rules file"
		}
		if why := refusedFor(v.refused(), vulnFinding{ID: a.ID}); why != "" {
			d += " — not waived: " + why
		}
		denied = append(denied, d)
	}
	if len(denied) > 0 {
		sort.Strings(denied)
		reasons = append(reasons, fmt.Sprintf("%d DAST alert(s) at or above %s not waived by a signed exception: %s",
			len(denied), what, strings.Join(limit(denied), "; ")))
	}
	if p.AlertsOmitted > 0 {
		reasons = append(reasons, fmt.Sprintf("the DAST predicate left out %d alert(s) (over its cap): they cannot be checked against %s, so they count as present; scope the scan or fix the alerts",
			p.AlertsOmitted, what))
	}
	return reasons
}
