package assess

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/secure-gates/secure-gates/pkg/markdown"
)

// MaxReportBytes caps a previous report read for trends.
const MaxReportBytes = 32 << 20

// OrgReport is an organization's assessment: one report per repository,
// sorted by total (highest first), and how many repositories are in each tier.
type OrgReport struct {
	Organization string    `json:"organization"`
	Repositories []*Report `json:"repositories"`
	// Distribution counts the repositories per tier, "0" to "4".
	Distribution map[string]int `json:"distribution"`
	Notes        []string       `json:"notes,omitempty"`
}

// SortAndCount sorts the repositories by total (then name) and fills
// Distribution. Repositories that could not be assessed sort last and are not
// counted in a tier.
func (o *OrgReport) SortAndCount() {
	slices.SortStableFunc(o.Repositories, func(a, b *Report) int {
		if (a.Error == "") != (b.Error == "") {
			if a.Error == "" {
				return -1
			}
			return 1
		}
		if a.Total != b.Total {
			return b.Total - a.Total
		}
		return strings.Compare(a.Repository, b.Repository)
	})
	o.Distribution = map[string]int{"0": 0, "1": 0, "2": 0, "3": 0, "4": 0}
	for _, r := range o.Repositories {
		if r.Error == "" {
			o.Distribution[fmt.Sprint(r.Tier)]++
		}
	}
}

// previous is a previous JSON output: a repository report or an organization
// report.
type previous struct {
	Total        *int       `json:"total"`
	Questions    []Question `json:"questions"`
	Repositories []*Report  `json:"repositories"`
}

// ParsePrevious reads a previous JSON output (of either mode) for trends.
func ParsePrevious(data []byte) (repo *Report, org map[string]*Report, err error) {
	if len(data) > MaxReportBytes {
		return nil, nil, fmt.Errorf("larger than %d bytes", MaxReportBytes)
	}
	var p previous
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&p); err != nil {
		return nil, nil, fmt.Errorf("not an assessment JSON: %v", err)
	}
	if p.Repositories != nil {
		org = map[string]*Report{}
		for _, r := range p.Repositories {
			if r != nil && r.Repository != "" {
				org[r.Repository] = r
			}
		}
		return nil, org, nil
	}
	if p.Total == nil || len(p.Questions) == 0 {
		return nil, nil, errors.New("not an assessment JSON: no total and questions")
	}
	return &Report{Total: *p.Total, Questions: p.Questions}, nil, nil
}

func delta(now, before int) string {
	switch {
	case now > before:
		return fmt.Sprintf("▲ +%d", now-before)
	case now < before:
		return fmt.Sprintf("▼ %d", now-before)
	}
	return "="
}

// SetTrend fills the trend of every question and of the total from a previous
// report of the same repository.
func (r *Report) SetTrend(prev *Report) {
	if prev == nil {
		return
	}
	before := map[int]int{}
	for _, q := range prev.Questions {
		if q.ID >= 1 && q.ID <= len(Rules) && q.Score >= 0 && q.Score <= 2 {
			before[q.ID] = q.Score
		}
	}
	for i := range r.Questions {
		q := &r.Questions[i]
		if b, ok := before[q.ID]; ok {
			q.Trend = delta(q.Score, b)
		} else {
			q.Trend = "new"
		}
	}
	r.TotalTrend = delta(r.Total, prev.Total)
}

// Markdown renders the report as the seed's table: question, score, evidence,
// next step (and the trend when a previous report was given), then the total
// and tier. Every cell is escaped: evidence quotes the repository.
func (r *Report) Markdown() string {
	var s markdown.Builder
	title := "Self-assessment"
	if r.Repository != "" {
		title += ": " + r.Repository
	}
	s.Heading(2, title)
	trend := r.TotalTrend != ""
	total := fmt.Sprintf("Total %d / 40: tier %d (%s).", r.Total, r.Tier, r.TierName)
	if trend {
		total += " Since the previous assessment: " + r.TotalTrend + "."
	}
	s.Para(total)
	header := []string{"#", "Question", "Score", "Evidence", "Next step"}
	if trend {
		header = append(header, "Trend")
	}
	rows := make([][]string, 0, len(r.Questions))
	for _, q := range r.Questions {
		ev := strings.Join(q.Evidence, "\n")
		if q.Source == "assessment.yaml" {
			ev = "answered in assessment.yaml: " + ev
		}
		row := []string{fmt.Sprint(q.ID), q.Question, fmt.Sprintf("%d", q.Score), ev, q.NextStep}
		if trend {
			row = append(row, q.Trend)
		}
		rows = append(rows, row)
	}
	s.Table(header, rows)
	if r.AnswersError != "" {
		s.Para("assessment.yaml was ignored: " + r.AnswersError)
	}
	if len(r.Notes) > 0 {
		s.Para("Notes:")
		var b strings.Builder
		for _, n := range r.Notes {
			b.WriteString("- " + markdown.Escape(n) + "\n")
		}
		s.Raw(b.String() + "\n")
	}
	return s.String()
}

// Markdown renders the organization table, sorted by score, and the
// distribution by tier.
func (o *OrgReport) Markdown(prev map[string]*Report) string {
	var s markdown.Builder
	s.Heading(2, "Self-assessment: "+o.Organization)
	n := 0
	for _, r := range o.Repositories {
		if r.Error == "" {
			n++
		}
	}
	s.Para(fmt.Sprintf("%d repositories assessed out of %d.", n, len(o.Repositories)))
	dist := make([][]string, 0, 5)
	for t := 4; t >= 0; t-- {
		dist = append(dist, []string{fmt.Sprintf("%d (%s)", t, TierName(t)), fmt.Sprint(o.Distribution[fmt.Sprint(t)])})
	}
	s.Table([]string{"Tier", "Repositories"}, dist)
	header := []string{"Repository", "Total", "Tier", "Lowest questions"}
	if prev != nil {
		header = append(header, "Trend")
	}
	rows := make([][]string, 0, len(o.Repositories))
	for _, r := range o.Repositories {
		if r.Error != "" {
			row := []string{r.Repository, "–", "–", "not assessed: " + r.Error}
			if prev != nil {
				row = append(row, "")
			}
			rows = append(rows, row)
			continue
		}
		var low []string
		for _, q := range r.Questions {
			if q.Score == 0 {
				low = append(low, fmt.Sprint(q.ID))
			}
		}
		lowest := "none"
		if len(low) > 0 {
			lowest = "0 on " + strings.Join(low, ", ")
		}
		if r.AnswersError != "" {
			lowest += " (assessment.yaml ignored: invalid)"
		}
		row := []string{r.Repository, fmt.Sprint(r.Total), fmt.Sprintf("%d (%s)", r.Tier, r.TierName), lowest}
		if prev != nil {
			if p, ok := prev[r.Repository]; ok && p.Error == "" {
				row = append(row, delta(r.Total, p.Total))
			} else {
				row = append(row, "new")
			}
		}
		rows = append(rows, row)
	}
	s.Table(header, rows)
	if len(o.Notes) > 0 {
		var b strings.Builder
		for _, n := range o.Notes {
			b.WriteString("- " + markdown.Escape(n) + "\n")
		}
		s.Raw(b.String() + "\n")
	}
	return s.String()
}
