package kpi

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/markdown"
)

// Duration renders seconds for people ("2d 3h", "45m"); "—" for nil.
func Duration(s *float64) string {
	if s == nil {
		return "—"
	}
	d := time.Duration(*s * float64(time.Second))
	neg := ""
	if d < 0 {
		neg, d = "-", -d
	}
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	h := d / time.Hour
	d -= h * time.Hour
	m := d / time.Minute
	switch {
	case days > 0:
		return fmt.Sprintf("%s%dd %dh", neg, days, h)
	case h > 0:
		return fmt.Sprintf("%s%dh %dm", neg, h, m)
	}
	return fmt.Sprintf("%s%dm", neg, m)
}

func ratio(r *float64) string {
	if r == nil {
		return "—"
	}
	return strconv.FormatFloat(*r*100, 'f', 1, 64) + "%"
}

func envName(e string) string {
	if e == "" {
		return "(unnamed)"
	}
	return e
}

func short(d string) string {
	if i := strings.Index(d, "sha256:"); i >= 0 && len(d) >= i+19 {
		return d[:i+19]
	}
	return d
}

// Markdown renders the report for a job summary.
func Markdown(r *Report) string {
	var b markdown.Builder
	b.Heading(2, "Pipeline KPIs")
	b.Para(fmt.Sprintf("Computed %s from the verified attestations of %d running image(s) against policy %s (%s) and the vulnerability DB built %s. Definitions: docs/kpi.md.",
		r.GeneratedAt.Format(time.RFC3339), len(r.Images), r.Policy.URI, short(r.Policy.Digest), r.DB.Built.Format(time.RFC3339)))
	from := "the beginning"
	if r.Window.From != nil {
		from = r.Window.From.Format(time.RFC3339)
	}
	b.Table([]string{"figure", "value", "from"}, [][]string{
		{"Pipeline coverage", ratio(r.Coverage), fmt.Sprintf("%d of %d running images verified", covered(r), len(r.Images))},
		{"Gate escapes", fmt.Sprintf("%d (%s)", r.Escapes, bySeverity(r.EscapesBySev)), fmt.Sprintf("%d finding(s) present now", r.FindingsPresent)},
		{"Gate escape rate", ratio(r.EscapeRate), "escapes / findings present"},
		{"MTTD (median, p90)", Duration(r.MTTD) + ", " + Duration(r.MTTDP90), fmt.Sprintf("%d detection(s) from %s to %s", inWindow(r, false), from, r.Window.To.Format(time.RFC3339))},
		{"MTTR (median, p90)", Duration(r.MTTR) + ", " + Duration(r.MTTRP90), fmt.Sprintf("%d remediated of those", inWindow(r, true))},
	})
	b.Heading(3, "Coverage by environment")
	var rows [][]string
	for _, c := range r.CoverageBy {
		rows = append(rows, []string{envName(c.Environment), ratio(c.Ratio), fmt.Sprintf("%d / %d", c.Covered, c.Running)})
	}
	b.Table([]string{"environment", "coverage", "verified / running"}, rows)
	b.Heading(3, "Images")
	rows = nil
	for _, img := range r.Images {
		mark := "✗"
		if img.Covered {
			mark = "✓"
		}
		rows = append(rows, []string{envName(img.Environment), img.Ref, mark, img.Reason})
	}
	b.Table([]string{"environment", "image", "covered", "reason"}, rows)
	if r.FindingsPresent > 0 {
		b.Heading(3, "Findings present now")
		rows = nil
		for _, p := range r.EscapeDetail {
			pub := "—"
			if p.Published != nil {
				pub = p.Published.Format("2006-01-02")
			}
			esc := ""
			if p.Escape {
				esc = "ESCAPE"
			}
			rows = append(rows, []string{short(p.Digest), p.ID, p.Severity, p.Package, pub, p.ReleaseScanTime.Format(time.RFC3339), esc, p.Why})
		}
		b.Table([]string{"digest", "advisory", "severity", "package", "published", "release scan", "", "why"}, rows)
	}
	if len(r.NotAssessed) > 0 {
		rows = nil
		for _, n := range r.NotAssessed {
			rows = append(rows, []string{n.Ref, n.Reason})
		}
		b.Heading(3, "Running digests whose findings were not assessed")
		b.Table([]string{"image", "why"}, rows)
	}
	if len(r.Detections) > 0 {
		b.Heading(3, "Detections")
		rows = nil
		for _, d := range r.Detections {
			rem := "open"
			if d.Remediated != nil {
				rem = d.Remediated.Format(time.RFC3339) + " (" + short(d.RemediatedDigest) + ")"
			}
			w := ""
			if !d.InWindow {
				w = " (outside the window)"
			}
			ttd := d.TTDSeconds
			rows = append(rows, []string{short(d.Digest), d.ID, d.Severity, d.Published.Format("2006-01-02"), d.Detected.Format(time.RFC3339) + w,
				Duration(&ttd), rem, Duration(d.TTRSeconds)})
		}
		b.Table([]string{"digest", "advisory", "severity", "published", "detected", "time to detect", "remediated", "time to remediate"}, rows)
	}
	return b.String()
}

func covered(r *Report) int {
	n := 0
	for _, i := range r.Images {
		if i.Covered {
			n++
		}
	}
	return n
}

func inWindow(r *Report, remediated bool) int {
	n := 0
	for _, d := range r.Detections {
		if d.InWindow && (!remediated || d.TTRSeconds != nil) {
			n++
		}
	}
	return n
}

func bySeverity(m map[string]int) string {
	var parts []string
	for _, s := range finding.Severities {
		if n := m[string(s)]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// Prometheus renders the figures in the Prometheus text exposition format
// (version 0.0.4), for a node-exporter textfile collector or a Pushgateway.
func Prometheus(r *Report) string {
	var b strings.Builder
	family := func(name, typ, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	num := func(v float64) string {
		if math.IsNaN(v) {
			return "NaN"
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	opt := func(p *float64) string {
		if p == nil {
			return "NaN"
		}
		return num(*p)
	}
	family("secure_gates_pipeline_coverage_ratio", "gauge", "Share of the running images of an environment whose attestation chain verifies against the policy (docs/kpi.md).")
	for _, c := range r.CoverageBy {
		fmt.Fprintf(&b, "secure_gates_pipeline_coverage_ratio{environment=%s} %s\n", label(c.Environment), opt(c.Ratio))
	}
	family("secure_gates_images_running", "gauge", "Distinct images running in an environment.")
	for _, c := range r.CoverageBy {
		fmt.Fprintf(&b, "secure_gates_images_running{environment=%s} %d\n", label(c.Environment), c.Running)
	}
	family("secure_gates_images_covered", "gauge", "Distinct images running in an environment whose chain verifies.")
	for _, c := range r.CoverageBy {
		fmt.Fprintf(&b, "secure_gates_images_covered{environment=%s} %d\n", label(c.Environment), c.Covered)
	}
	family("secure_gates_gate_escapes", "gauge", "Findings present now in running digests that escaped the gates, by severity.")
	for _, s := range finding.Severities {
		fmt.Fprintf(&b, "secure_gates_gate_escapes{severity=%s} %d\n", label(string(s)), r.EscapesBySev[string(s)])
	}
	family("secure_gates_findings_present", "gauge", "Findings present now in running digests (attested SBOM matched against the DB), by severity.")
	for _, s := range finding.Severities {
		fmt.Fprintf(&b, "secure_gates_findings_present{severity=%s} %d\n", label(string(s)), r.PresentBySev[string(s)])
	}
	family("secure_gates_gate_escape_ratio", "gauge", "Escapes / findings present (NaN when no finding is present).")
	fmt.Fprintf(&b, "secure_gates_gate_escape_ratio %s\n", opt(r.EscapeRate))
	summary := func(name, help string, p50, p90 *float64, xs []float64) {
		family(name, "summary", help)
		fmt.Fprintf(&b, "%s{quantile=\"0.5\"} %s\n%s{quantile=\"0.9\"} %s\n", name, opt(p50), name, opt(p90))
		sum := 0.0
		for _, x := range xs {
			sum += x
		}
		fmt.Fprintf(&b, "%s_sum %s\n%s_count %d\n", name, num(sum), name, len(xs))
	}
	var ttd, ttr []float64
	for _, d := range r.Detections {
		if d.InWindow {
			ttd = append(ttd, d.TTDSeconds)
			if d.TTRSeconds != nil {
				ttr = append(ttr, *d.TTRSeconds)
			}
		}
	}
	summary("secure_gates_mttd_seconds", "Advisory publication to the first attested scan recording it, per finding detected in the window (nearest-rank quantiles).", r.MTTD, r.MTTDP90, ttd)
	summary("secure_gates_mttr_seconds", "Detection to the first verified deploy of a digest of the same repository without the finding, per finding detected in the window and remediated.", r.MTTR, r.MTTRP90, ttr)
	family("secure_gates_kpi_generated_timestamp_seconds", "gauge", "When these figures were computed (Unix time).")
	fmt.Fprintf(&b, "secure_gates_kpi_generated_timestamp_seconds %d\n", r.GeneratedAt.Unix())
	return b.String()
}

// label quotes a label value for the text format.
func label(v string) string {
	r := strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
	return `"` + r.Replace(v) + `"`
}
