package kpi

import (
	"bytes"
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
	"time"

	"github.com/secure-gates/secure-gates/pkg/finding"
)

// HTML renders a self-contained page: the figures, inline SVG charts
// (coverage by environment, escapes by severity, time to detect and to
// remediate per finding over the window) and the tables. It loads nothing:
// no script, stylesheet, font or image from anywhere.
func HTML(r *Report) ([]byte, error) {
	data := struct {
		R                           *Report
		Coverage, Escapes, Timeline template.HTML
		Cov, Rate, MTTD, MTTR       string
		MTTDP90, MTTRP90            string
	}{
		R: r, Coverage: template.HTML(CoverageSVG(r)), Escapes: template.HTML(EscapesSVG(r)), Timeline: template.HTML(TimelineSVG(r)),
		Cov: ratio(r.Coverage), Rate: ratio(r.EscapeRate), MTTD: Duration(r.MTTD), MTTR: Duration(r.MTTR),
		MTTDP90: Duration(r.MTTDP90), MTTRP90: Duration(r.MTTRP90),
	}
	var b bytes.Buffer
	if err := pageTmpl.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("rendering the HTML report: %w", err)
	}
	return b.Bytes(), nil
}

var pageTmpl = template.Must(template.New("kpi").Funcs(template.FuncMap{
	"env":  envName,
	"time": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"dur":  Duration,
	"ttd":  func(d Detection) string { s := d.TTDSeconds; return Duration(&s) },
	"ptime": func(t *time.Time) string {
		if t == nil {
			return "—"
		}
		return t.UTC().Format(time.RFC3339)
	},
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>secure-gates pipeline KPIs</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1f2328;max-width:1140px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px}
.sub{color:#59636e;font-size:13px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.card{border:1px solid #d1d9e0;border-radius:8px;padding:12px 16px;min-width:160px}
.card .v{font-size:26px;font-weight:600} .card .l{font-size:12px;color:#59636e}
.charts{display:flex;gap:16px;flex-wrap:wrap}
.chart{border:1px solid #d1d9e0;border-radius:8px;padding:8px}
table{border-collapse:collapse;font-size:12px;width:100%} td,th{border-bottom:1px solid #d1d9e0;padding:4px 6px;text-align:left;vertical-align:top}
td.mono{font-family:ui-monospace,monospace;word-break:break-all}
.ok{color:#1a7f37} .bad{color:#cf222e}
</style></head><body>
<h1>Pipeline KPIs</h1>
<div class="sub">Computed {{time .R.GeneratedAt}} from the verified attestations of the running images · policy {{.R.Policy.URI}} ({{.R.Policy.Digest}}) · vulnerability DB built {{time .R.DB.Built}} · window {{ptime .R.Window.From}} – {{time .R.Window.To}} · definitions: docs/kpi.md</div>
<div class="cards">
<div class="card"><div class="v">{{.Cov}}</div><div class="l">pipeline coverage</div></div>
<div class="card"><div class="v">{{.R.Escapes}}</div><div class="l">gate escapes of {{.R.FindingsPresent}} findings present</div></div>
<div class="card"><div class="v">{{.Rate}}</div><div class="l">gate escape rate</div></div>
<div class="card"><div class="v">{{.MTTD}}</div><div class="l">MTTD median (p90 {{.MTTDP90}})</div></div>
<div class="card"><div class="v">{{.MTTR}}</div><div class="l">MTTR median (p90 {{.MTTRP90}})</div></div>
</div>
<div class="charts">
<div class="chart">{{.Coverage}}</div>
<div class="chart">{{.Escapes}}</div>
<div class="chart">{{.Timeline}}</div>
</div>
<h2>Images</h2>
<table><tr><th>environment</th><th>image</th><th>covered</th><th>reason</th></tr>
{{range .R.Images}}<tr><td>{{env .Environment}}</td><td class="mono">{{.Ref}}</td><td>{{if .Covered}}<span class="ok">✓</span>{{else}}<span class="bad">✗</span>{{end}}</td><td>{{.Reason}}</td></tr>
{{end}}</table>
<h2>Findings present now</h2>
<table><tr><th>digest</th><th>advisory</th><th>severity</th><th>published</th><th>release scan</th><th>escape</th><th>why</th></tr>
{{range .R.EscapeDetail}}<tr><td class="mono">{{.Digest}}</td><td>{{.ID}}</td><td>{{.Severity}}</td><td>{{ptime .Published}}</td><td>{{time .ReleaseScanTime}}</td><td>{{if .Escape}}<span class="bad">escape</span>{{end}}</td><td>{{.Why}}</td></tr>
{{end}}</table>
<h2>Detections</h2>
<table><tr><th>digest</th><th>advisory</th><th>severity</th><th>published</th><th>detected</th><th>time to detect</th><th>remediated</th><th>time to remediate</th></tr>
{{range .R.Detections}}<tr><td class="mono">{{.Digest}}</td><td>{{.ID}}</td><td>{{.Severity}}</td><td>{{time .Published}}</td><td>{{time .Detected}}{{if not .InWindow}} (outside the window){{end}}</td><td>{{ttd .}}</td><td>{{ptime .Remediated}}</td><td>{{dur .TTRSeconds}}</td></tr>
{{end}}</table>
</body></html>
`))

const (
	chartW = 340
	chartH = 220
)

func svgOpen(title string) string {
	return fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s" font-family="system-ui,sans-serif" font-size="11"><text x="8" y="16" font-size="13" font-weight="600" fill="#1f2328">%s</text>`,
		chartW, chartH, chartW, chartH, html.EscapeString(title), html.EscapeString(title))
}

// CoverageSVG is a horizontal bar per environment: the share of its running
// images that verify.
func CoverageSVG(r *Report) string {
	var b strings.Builder
	b.WriteString(svgOpen("Pipeline coverage by environment"))
	left, right := 100.0, 92.0
	width := chartW - left - right
	n := len(r.CoverageBy)
	if n == 0 {
		b.WriteString(`<text x="8" y="60" fill="#59636e">no running image</text></svg>`)
		return b.String()
	}
	bh := math.Min(28, (chartH-50)/float64(n)-6)
	for i, c := range r.CoverageBy {
		y := 34 + float64(i)*(bh+6)
		v := 0.0
		if c.Ratio != nil {
			v = *c.Ratio
		}
		col := "#1a7f37"
		if v < 1 {
			col = "#cf222e"
		}
		fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="end" fill="#1f2328">%s</text>`, left-6, y+bh/2+4, html.EscapeString(trim(envName(c.Environment), 16)))
		fmt.Fprintf(&b, `<rect x="%g" y="%g" width="%g" height="%g" fill="#eaeef2"/>`, left, y, width, bh)
		fmt.Fprintf(&b, `<rect x="%g" y="%g" width="%g" height="%g" fill="%s"/>`, left, y, width*v, bh, col)
		fmt.Fprintf(&b, `<text x="%g" y="%g" fill="#1f2328">%s (%d/%d)</text>`, left+width+4, y+bh/2+4, ratio(c.Ratio), c.Covered, c.Running)
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// EscapesSVG is a bar per severity: findings present now, and of them the
// escapes.
func EscapesSVG(r *Report) string {
	var b strings.Builder
	b.WriteString(svgOpen("Findings present and gate escapes"))
	sevs := []finding.Severity{finding.Critical, finding.High, finding.Medium, finding.Low}
	maxN := 1
	for _, s := range sevs {
		maxN = max(maxN, r.PresentBySev[string(s)])
	}
	base, top := float64(chartH-30), 56.0
	slot := float64(chartW-40) / float64(len(sevs))
	for i, s := range sevs {
		x := 30 + float64(i)*slot
		p, e := r.PresentBySev[string(s)], r.EscapesBySev[string(s)]
		hp := (base - top) * float64(p) / float64(maxN)
		he := (base - top) * float64(e) / float64(maxN)
		fmt.Fprintf(&b, `<rect x="%g" y="%g" width="%g" height="%g" fill="#d1d9e0"/>`, x, base-hp, slot*0.35, hp)
		fmt.Fprintf(&b, `<rect x="%g" y="%g" width="%g" height="%g" fill="#cf222e"/>`, x+slot*0.4, base-he, slot*0.35, he)
		fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="middle" fill="#1f2328">%d / %d</text>`, x+slot*0.375, base-math.Max(hp, he)-4, e, p)
		fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="middle" fill="#1f2328">%s</text>`, x+slot*0.375, base+14, s)
	}
	fmt.Fprintf(&b, `<line x1="24" y1="%g" x2="%d" y2="%g" stroke="#59636e"/>`, base, chartW-8, base)
	fmt.Fprintf(&b, `<rect x="180" y="26" width="10" height="10" fill="#d1d9e0"/><text x="194" y="35">present</text><rect x="250" y="26" width="10" height="10" fill="#cf222e"/><text x="264" y="35">escapes</text>`)
	b.WriteString(`</svg>`)
	return b.String()
}

// TimelineSVG plots, per finding detected in the window, its time to detect
// (circle) and to remediate (square) in days against its detection time: the
// trend of both over the window.
func TimelineSVG(r *Report) string {
	var b strings.Builder
	b.WriteString(svgOpen("Time to detect and to remediate (days)"))
	var ds []Detection
	for _, d := range r.Detections {
		if d.InWindow {
			ds = append(ds, d)
		}
	}
	if len(ds) == 0 {
		b.WriteString(`<text x="8" y="60" fill="#59636e">no detection in the window</text></svg>`)
		return b.String()
	}
	t0, t1 := ds[0].Detected, ds[0].Detected
	maxDays := 1.0
	for _, d := range ds {
		if d.Detected.Before(t0) {
			t0 = d.Detected
		}
		if d.Detected.After(t1) {
			t1 = d.Detected
		}
		maxDays = math.Max(maxDays, d.TTDSeconds/86400)
		if d.TTRSeconds != nil {
			maxDays = math.Max(maxDays, *d.TTRSeconds/86400)
		}
	}
	// A log scale: detection times range from hours to years.
	left, right, top, base := 44.0, 12.0, 56.0, float64(chartH-34)
	ly := func(days float64) float64 {
		v := math.Log10(math.Max(days, 0.01)+1) / math.Log10(maxDays+1)
		return base - v*(base-top)
	}
	span := t1.Sub(t0).Seconds()
	x := func(t time.Time) float64 {
		if span == 0 {
			return left + (chartW-left-right)/2
		}
		return left + (chartW-left-right)*t.Sub(t0).Seconds()/span
	}
	for _, tick := range []float64{0, 1, 7, 30, 100, 365, 1000} {
		if tick > maxDays*1.01 && tick != 0 {
			continue
		}
		fmt.Fprintf(&b, `<line x1="%g" y1="%g" x2="%d" y2="%g" stroke="#eaeef2"/><text x="%g" y="%g" text-anchor="end" fill="#59636e">%g</text>`,
			left, ly(tick), chartW-int(right), ly(tick), left-4, ly(tick)+4, tick)
	}
	fmt.Fprintf(&b, `<line x1="%g" y1="%g" x2="%d" y2="%g" stroke="#59636e"/>`, left, base, chartW-int(right), base)
	fmt.Fprintf(&b, `<text x="%g" y="%g" fill="#59636e">%s</text><text x="%d" y="%g" text-anchor="end" fill="#59636e">%s</text>`,
		left, base+14, t0.Format("2006-01-02"), chartW-int(right), base+14, t1.Format("2006-01-02"))
	for _, d := range ds {
		fmt.Fprintf(&b, `<circle cx="%g" cy="%g" r="4" fill="#0969da"><title>%s %s: detected after %s</title></circle>`,
			x(d.Detected), ly(d.TTDSeconds/86400), html.EscapeString(d.ID), html.EscapeString(d.Digest), html.EscapeString(func() string { s := d.TTDSeconds; return Duration(&s) }()))
		if d.TTRSeconds != nil {
			fmt.Fprintf(&b, `<rect x="%g" y="%g" width="8" height="8" fill="#8250df"><title>%s: remediated after %s</title></rect>`,
				x(d.Detected)+3, ly(*d.TTRSeconds/86400)-4, html.EscapeString(d.ID), html.EscapeString(Duration(d.TTRSeconds)))
		}
	}
	fmt.Fprintf(&b, `<circle cx="186" cy="31" r="4" fill="#0969da"/><text x="194" y="35">detect</text><rect x="242" y="27" width="8" height="8" fill="#8250df"/><text x="254" y="35">remediate</text>`)
	b.WriteString(`</svg>`)
	return b.String()
}

func trim(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
