package secrets

// The detector: gitleaks v8.30.1's Detector.DetectContext and detectRule
// (detect/detect.go, detect/location.go, detect/utils.go; MIT License,
// Copyright (c) 2019 Zachary Rice), ported line for line with three changes
// that leave every finding as it was (detector_test.go compares the two on
// every default rule's own examples, generated secrets and the fixtures):
//
//   - A rule's regexp runs only on the windows of the text where one of its
//     required literals occurs (window.go), not on the whole fragment.
//   - The decoder's regexp is replaced by a hand-written scanner with the same
//     matches (internal/third_party/forked/codec, a copy of gitleaks'
//     detect/codec).
//   - The newline positions of a fragment are found once, not once per rule,
//     and each rule's regexp runs once, not twice.
//
// What it does not port is what this package never uses: baselines,
// .gitleaksignore, gitleaks:allow comments (IgnoreGitleaksAllow), redaction,
// the size cap, logging and the finding's commit metadata (the fragments carry
// none).

import (
	"context"
	"maps"
	"math"
	"slices"
	"strings"

	ahocorasick "github.com/BobuSumisu/aho-corasick"
	"github.com/zricethezav/gitleaks/v8/config"
	"github.com/zricethezav/gitleaks/v8/report"
	"github.com/zricethezav/gitleaks/v8/sources"

	"github.com/secure-gates/secure-gates/internal/third_party/forked/codec"
)

// detector finds the findings gitleaks' Detector finds with
// IgnoreGitleaksAllow set, Redact 0 and MaxDecodeDepth maxDecodeDepth.
type detector struct {
	cfg       config.Config
	prefilter ahocorasick.Trie
	rules     map[string]*ruleWindows
}

// maxDecodeDepth is gitleaks' --max-decode-depth as this package runs it.
const maxDecodeDepth = 5

func newDetector(cfg config.Config) *detector {
	d := &detector{
		cfg:       cfg,
		prefilter: *ahocorasick.NewTrieBuilder().AddStrings(slices.Collect(maps.Keys(cfg.Keywords))).Build(),
		rules:     map[string]*ruleWindows{},
	}
	for id, r := range cfg.Rules {
		if r.Regex != nil {
			d.rules[id] = analyze(r.Regex)
		}
	}
	return d
}

// pass is one decoding pass over a fragment's text: what the rules of the pass
// share.
type pass struct {
	raw     string
	lower   string           // raw with A-Z lowered, same length; set by windows
	folds   int              // 0 unknown, 1 raw holds runes that fold to ASCII letters (K, ſ), 2 it does not
	occurs  map[string][]int // a literal's positions in lower
	nl      []int            // the positions of raw's newlines
	newline [][]int          // the fragment's newline positions, found once
}

// detect is gitleaks' DetectContext.
func (d *detector) detect(ctx context.Context, fragment sources.Fragment) []report.Finding {
	var findings []report.Finding

	// check if filepath is allowed
	if fragment.FilePath != "" {
		// is the path our config file?
		if fragment.FilePath == d.cfg.Path {
			return findings
		}
	}
	// check if commit or filepath is allowed.
	if checkCommitOrPathAllowed(fragment, d.cfg.Allowlists) {
		return findings
	}

	// setup variables to handle different decoding passes
	currentRaw := fragment.Raw
	encodedSegments := []*codec.EncodedSegment{}
	currentDecodeDepth := 0
	decoder := codec.NewDecoder()
	newlines := &pass{} // the fragment's newline positions, shared by the passes

ScanLoop:
	for {
		select {
		case <-ctx.Done():
			break ScanLoop
		default:
			p := &pass{raw: currentRaw, newline: newlines.newline}
			// build keyword map for prefiltering rules
			keywords := make(map[string]bool)
			normalizedRaw := strings.ToLower(currentRaw)
			matches := d.prefilter.MatchString(normalizedRaw)
			for _, m := range matches {
				keywords[normalizedRaw[m.Pos():int(m.Pos())+len(m.Match())]] = true
			}

			for _, rule := range d.cfg.Rules {
				select {
				case <-ctx.Done():
					break ScanLoop
				default:
					if len(rule.Keywords) == 0 {
						// if no keywords are associated with the rule always scan the
						// fragment using the rule
						findings = append(findings, d.detectRule(fragment, p, rule, encodedSegments)...)
						continue
					}

					// check if keywords are in the fragment
					for _, k := range rule.Keywords {
						if _, ok := keywords[strings.ToLower(k)]; ok {
							findings = append(findings, d.detectRule(fragment, p, rule, encodedSegments)...)
							break
						}
					}
				}
			}
			newlines.newline = p.newline

			// increment the depth by 1 as we start our decoding pass
			currentDecodeDepth++

			// stop the loop if we've hit our max decoding depth
			if currentDecodeDepth > maxDecodeDepth {
				break ScanLoop
			}

			// decode the currentRaw for the next pass
			currentRaw, encodedSegments = decoder.Decode(currentRaw, encodedSegments)

			// stop the loop when there's nothing else to decode
			if len(encodedSegments) == 0 {
				break ScanLoop
			}
		}
	}

	return filter(findings)
}

// newlines returns the positions of the fragment's newlines, as gitleaks'
// newLineRegexp.FindAllStringIndex(fragment.Raw, -1) does.
func (p *pass) newlines(raw string) [][]int {
	if p.newline == nil {
		p.newline = [][]int{}
		for i := 0; i < len(raw); {
			j := strings.IndexByte(raw[i:], '\n')
			if j < 0 {
				break
			}
			p.newline = append(p.newline, []int{i + j, i + j + 1})
			i += j + 1
		}
	}
	return p.newline
}

// detectRule is gitleaks' detectRule; p.raw is its currentRaw.
func (d *detector) detectRule(fragment sources.Fragment, p *pass, r config.Rule, encodedSegments []*codec.EncodedSegment) []report.Finding {
	var findings []report.Finding

	if r.SkipReport && !fragment.InheritedFromFinding {
		return findings
	}

	// check if commit or file is allowed for this rule.
	if checkCommitOrPathAllowed(fragment, r.Allowlists) {
		return findings
	}

	if r.Path != nil {
		if r.Regex == nil && len(encodedSegments) == 0 {
			// Path _only_ rule
			if pathMatches(r, fragment) {
				return append(findings, pathFinding(r, fragment))
			}
		} else {
			// if path is set _and_ a regex is set, then we need to check both
			// so if the path does not match, then we should return early and not
			// consider the regex
			if !pathMatches(r, fragment) {
				return findings
			}
		}
	}

	// if path only rule, skip content checks
	if r.Regex == nil {
		return findings
	}

	// gitleaks runs r.Regex.FindAllStringIndex(currentRaw, -1) twice; this
	// runs it once, on the windows where it can match (window.go).
	matches := d.findAll(p, r)
	if len(matches) == 0 {
		return findings
	}

	newlineIndices := p.newlines(fragment.Raw)

	for _, matchIndex := range matches {
		finding, currentLine, ok := matchFinding(fragment, p.raw, r, encodedSegments, newlineIndices, matchIndex)
		if !ok || !d.keep(&finding, fragment, currentLine, r) {
			continue
		}
		findings = append(findings, finding)
	}

	// Handle required rules (multi-part rules)
	if fragment.InheritedFromFinding || len(r.RequiredRules) == 0 {
		return findings
	}

	// Process required rules and create findings with auxiliary findings
	return d.processRequiredRules(fragment, p, r, encodedSegments, findings)
}

// pathMatches reports whether r's path matches the fragment's path (or its
// Windows form).
func pathMatches(r config.Rule, fragment sources.Fragment) bool {
	return r.Path.MatchString(fragment.FilePath) || (fragment.WindowsFilePath != "" && r.Path.MatchString(fragment.WindowsFilePath))
}

// pathFinding is the finding of a path-only rule.
func pathFinding(r config.Rule, fragment sources.Fragment) report.Finding {
	return report.Finding{
		Commit:      fragment.CommitSHA,
		RuleID:      r.RuleID,
		Description: r.Description,
		File:        fragment.FilePath,
		SymlinkFile: fragment.SymlinkFile,
		Match:       "file detected: " + fragment.FilePath,
		Tags:        r.Tags,
	}
}

// matchFinding is the finding of one match of r in currentRaw, the current
// decoding pass on the fragment's text, with the line the allowlists see;
// false when the match was already found in an earlier pass.
func matchFinding(fragment sources.Fragment, currentRaw string, r config.Rule, encodedSegments []*codec.EncodedSegment, newlineIndices [][]int, matchIndex []int) (report.Finding, string, bool) {
	// Extract secret from match
	secret := strings.Trim(currentRaw[matchIndex[0]:matchIndex[1]], "\n")

	// For any meta data from decoding
	var metaTags []string
	currentLine := ""

	// Check if the decoded portions of the segment overlap with the match
	// to see if its potentially a new match
	if len(encodedSegments) > 0 {
		segments := codec.SegmentsWithDecodedOverlap(encodedSegments, matchIndex[0], matchIndex[1])
		if len(segments) == 0 {
			// This item has already been added to a finding
			return report.Finding{}, "", false
		}

		matchIndex = codec.AdjustMatchIndex(segments, matchIndex)
		metaTags = append(metaTags, codec.Tags(segments)...)
		currentLine = codec.CurrentLine(segments, currentRaw)
	} else {
		// Fixes: https://github.com/gitleaks/gitleaks/issues/1352
		// removes the incorrectly following line that was detected by regex expression '\n'
		matchIndex[1] = matchIndex[0] + len(secret)
	}

	// determine location of match. Note that the location
	// in the finding will be the line/column numbers of the _match_
	// not the _secret_, which will be different if the secretGroup
	// value is set for this rule
	loc := location(newlineIndices, fragment.Raw, matchIndex)

	if matchIndex[1] > loc.endLineIndex {
		loc.endLineIndex = matchIndex[1]
	}

	finding := report.Finding{
		Commit:      fragment.CommitSHA,
		RuleID:      r.RuleID,
		Description: r.Description,
		StartLine:   fragment.StartLine + loc.startLine,
		EndLine:     fragment.StartLine + loc.endLine,
		StartColumn: loc.startColumn,
		EndColumn:   loc.endColumn,
		Line:        fragment.Raw[loc.startLineIndex:loc.endLineIndex],
		Match:       secret,
		Secret:      secret,
		File:        fragment.FilePath,
		SymlinkFile: fragment.SymlinkFile,
		Tags:        append(r.Tags, metaTags...),
	}
	// gitleaks:allow comments are ignored (IgnoreGitleaksAllow).

	if currentLine == "" {
		currentLine = finding.Line
	}
	return finding, currentLine, true
}

// keep sets the finding's secret (secretGroup) and entropy and reports
// whether it is kept: its entropy is above the rule's and neither the global
// nor the rule's allowlists allow it.
func (d *detector) keep(finding *report.Finding, fragment sources.Fragment, currentLine string, r config.Rule) bool {
	if !setSecretGroup(finding, r) {
		return false
	}

	// check entropy
	entropy := shannonEntropy(finding.Secret)
	finding.Entropy = float32(entropy)
	if r.Entropy != 0.0 {
		// entropy is too low, skip this finding
		if entropy <= r.Entropy {
			return false
		}
	}

	// check if the result matches any of the global allowlists.
	if checkFindingAllowed(*finding, fragment, currentLine, d.cfg.Allowlists) {
		return false
	}

	// check if the result matches any of the rule allowlists.
	return !checkFindingAllowed(*finding, fragment, currentLine, r.Allowlists)
}

// setSecretGroup sets the finding's secret to the rule's secret group of
// the match, or its first non-empty group, if the pattern contains at least
// one capture group; false when the secret group does not exist.
func setSecretGroup(finding *report.Finding, r config.Rule) bool {
	// (The first element is the full match, hence we check >= 2.)
	groups := r.Regex.FindStringSubmatch(finding.Secret)
	if len(groups) < 2 {
		return true
	}
	if r.SecretGroup > 0 {
		if len(groups) <= r.SecretGroup {
			// Config validation should prevent this
			return false
		}
		finding.Secret = groups[r.SecretGroup]
		return true
	}
	// If |secretGroup| is not set, we will use the first suitable capture group.
	for _, s := range groups[1:] {
		if len(s) > 0 {
			finding.Secret = s
			break
		}
	}
	return true
}

// processRequiredRules is gitleaks' processRequiredRules.
func (d *detector) processRequiredRules(fragment sources.Fragment, p *pass, r config.Rule, encodedSegments []*codec.EncodedSegment, primaryFindings []report.Finding) []report.Finding {
	if len(primaryFindings) == 0 {
		return primaryFindings
	}

	// Pre-collect all required rule findings once
	allRequiredFindings := make(map[string][]report.Finding)

	for _, requiredRule := range r.RequiredRules {
		rule, ok := d.cfg.Rules[requiredRule.RuleID]
		if !ok {
			continue
		}

		// Mark fragment as inherited to prevent infinite recursion
		inheritedFragment := fragment
		inheritedFragment.InheritedFromFinding = true

		// Call detectRule once for each required rule
		requiredFindings := d.detectRule(inheritedFragment, p, rule, encodedSegments)
		allRequiredFindings[requiredRule.RuleID] = requiredFindings
	}

	var finalFindings []report.Finding

	// Now process each primary finding against the pre-collected required findings
	for _, primaryFinding := range primaryFindings {
		var requiredFindings []*report.RequiredFinding

		for _, requiredRule := range r.RequiredRules {
			foundRequiredFindings, exists := allRequiredFindings[requiredRule.RuleID]
			if !exists {
				continue // Rule wasn't found earlier, skip
			}

			// Filter findings that are within proximity of the primary finding
			for _, requiredFinding := range foundRequiredFindings {
				if withinProximity(primaryFinding, requiredFinding, requiredRule) {
					req := &report.RequiredFinding{
						RuleID:      requiredFinding.RuleID,
						StartLine:   requiredFinding.StartLine,
						EndLine:     requiredFinding.EndLine,
						StartColumn: requiredFinding.StartColumn,
						EndColumn:   requiredFinding.EndColumn,
						Line:        requiredFinding.Line,
						Match:       requiredFinding.Match,
						Secret:      requiredFinding.Secret,
					}
					requiredFindings = append(requiredFindings, req)
				}
			}
		}

		// Check if we have at least one auxiliary finding for each required rule
		if len(requiredFindings) > 0 && hasAllRequiredRules(requiredFindings, r.RequiredRules) {
			// Create a finding with auxiliary findings
			newFinding := primaryFinding // Copy the primary finding
			newFinding.AddRequiredFindings(requiredFindings)
			finalFindings = append(finalFindings, newFinding)
		}
	}

	return finalFindings
}

// hasAllRequiredRules checks if we have at least one auxiliary finding for each required rule
func hasAllRequiredRules(auxiliaryFindings []*report.RequiredFinding, requiredRules []*config.Required) bool {
	foundRules := make(map[string]bool)
	// AuxiliaryFinding
	for _, aux := range auxiliaryFindings {
		foundRules[aux.RuleID] = true
	}

	for _, required := range requiredRules {
		if !foundRules[required.RuleID] {
			return false
		}
	}

	return true
}

func withinProximity(primary, required report.Finding, requiredRule *config.Required) bool {
	// If neither within_lines nor within_columns is set, findings just need to be in the same fragment
	if requiredRule.WithinLines == nil && requiredRule.WithinColumns == nil {
		return true
	}

	// Check line proximity (vertical distance)
	if requiredRule.WithinLines != nil {
		lineDiff := absInt(primary.StartLine - required.StartLine)
		if lineDiff > *requiredRule.WithinLines {
			return false
		}
	}

	// Check column proximity (horizontal distance)
	if requiredRule.WithinColumns != nil {
		// Use the start column of each finding for proximity calculation
		colDiff := absInt(primary.StartColumn - required.StartColumn)
		if colDiff > *requiredRule.WithinColumns {
			return false
		}
	}

	return true
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// checkCommitOrPathAllowed is gitleaks' checkCommitOrPathAllowed.
func checkCommitOrPathAllowed(fragment sources.Fragment, allowlists []*config.Allowlist) bool {
	if fragment.FilePath == "" && fragment.CommitSHA == "" {
		return false
	}

	for _, a := range allowlists {
		var (
			isAllowed        bool
			allowlistChecks  []bool
			commitAllowed, _ = a.CommitAllowed(fragment.CommitSHA)
			pathAllowed      = a.PathAllowed(fragment.FilePath) || (fragment.WindowsFilePath != "" && a.PathAllowed(fragment.WindowsFilePath))
		)
		// If the condition is "AND" we need to check all conditions.
		if a.MatchCondition == config.AllowlistMatchAnd {
			if len(a.Commits) > 0 {
				allowlistChecks = append(allowlistChecks, commitAllowed)
			}
			if len(a.Paths) > 0 {
				allowlistChecks = append(allowlistChecks, pathAllowed)
			}
			// These will be checked later.
			if len(a.Regexes) > 0 {
				continue
			}
			if len(a.StopWords) > 0 {
				continue
			}

			isAllowed = allTrue(allowlistChecks)
		} else {
			isAllowed = commitAllowed || pathAllowed
		}
		if isAllowed {
			return true
		}
	}
	return false
}

// checkFindingAllowed is gitleaks' checkFindingAllowed.
func checkFindingAllowed(finding report.Finding, fragment sources.Fragment, currentLine string, allowlists []*config.Allowlist) bool {
	for _, a := range allowlists {
		allowlistTarget := finding.Secret
		switch a.RegexTarget {
		case "match":
			allowlistTarget = finding.Match
		case "line":
			allowlistTarget = currentLine
		}

		var (
			checks              []bool
			isAllowed           bool
			regexAllowed        = a.RegexAllowed(allowlistTarget)
			containsStopword, _ = a.ContainsStopWord(finding.Secret)
		)
		// If the condition is "AND" we need to check all conditions.
		if a.MatchCondition == config.AllowlistMatchAnd {
			// Determine applicable checks.
			if len(a.Commits) > 0 {
				commitAllowed, _ := a.CommitAllowed(fragment.CommitSHA)
				checks = append(checks, commitAllowed)
			}
			if len(a.Paths) > 0 {
				pathAllowed := a.PathAllowed(fragment.FilePath) || (fragment.WindowsFilePath != "" && a.PathAllowed(fragment.WindowsFilePath))
				checks = append(checks, pathAllowed)
			}
			if len(a.Regexes) > 0 {
				checks = append(checks, regexAllowed)
			}
			if len(a.StopWords) > 0 {
				checks = append(checks, containsStopword)
			}

			isAllowed = allTrue(checks)
		} else {
			isAllowed = regexAllowed || containsStopword
		}

		if isAllowed {
			return true
		}
	}
	return false
}

func allTrue(bools []bool) bool {
	for _, check := range bools {
		if !check {
			return false
		}
	}
	return true
}

// shannonEntropy is gitleaks' shannonEntropy.
func shannonEntropy(data string) (entropy float64) {
	if data == "" {
		return 0
	}

	charCounts := make(map[rune]int)
	for _, char := range data {
		charCounts[char]++
	}

	invLength := 1.0 / float64(len(data))
	for _, count := range charCounts {
		freq := float64(count) * invLength
		entropy -= freq * math.Log2(freq)
	}

	return entropy
}

// filter is gitleaks' filter (dedupe; redaction is off): a generic rule's
// finding is dropped where another rule found a secret holding it on its line.
func filter(findings []report.Finding) []report.Finding {
	var retFindings []report.Finding
	for _, f := range findings {
		include := true
		if strings.Contains(strings.ToLower(f.RuleID), "generic") {
			for _, fPrime := range findings {
				if f.StartLine == fPrime.StartLine &&
					f.Commit == fPrime.Commit &&
					f.RuleID != fPrime.RuleID &&
					strings.Contains(fPrime.Secret, f.Secret) &&
					!strings.Contains(strings.ToLower(fPrime.RuleID), "generic") {
					include = false
					break
				}
			}
		}

		if include {
			retFindings = append(retFindings, f)
		}
	}
	return retFindings
}

// location is gitleaks' location (detect/location.go).
type loc struct {
	startLine      int
	endLine        int
	startColumn    int
	endColumn      int
	startLineIndex int
	endLineIndex   int
}

func location(newlineIndices [][]int, raw string, matchIndex []int) loc {
	var (
		prevNewLine int
		location    loc
		lineSet     bool
		_lineNum    int
	)

	start := matchIndex[0]
	end := matchIndex[1]

	// default startLineIndex to 0
	location.startLineIndex = 0

	// Fixes: https://github.com/zricethezav/gitleaks/issues/1037
	// When a fragment does NOT have any newlines, a default "newline"
	// will be counted to make the subsequent location calculation logic work
	// for fragments will no newlines.
	if len(newlineIndices) == 0 {
		newlineIndices = [][]int{
			{len(raw), len(raw) + 1},
		}
	}

	for lineNum, pair := range newlineIndices {
		_lineNum = lineNum
		newLineByteIndex := pair[0]
		if prevNewLine <= start && start < newLineByteIndex {
			lineSet = true
			location.startLine = lineNum
			location.endLine = lineNum
			location.startColumn = (start - prevNewLine) + 1 // +1 because counting starts at 1
			location.startLineIndex = prevNewLine
			location.endLineIndex = newLineByteIndex
		}
		if prevNewLine < end && end <= newLineByteIndex {
			location.endLine = lineNum
			location.endColumn = (end - prevNewLine)
			location.endLineIndex = newLineByteIndex
		}

		prevNewLine = pair[0]
	}

	if !lineSet {
		// if lines never get set then that means the secret is most likely
		// on the last line of the diff output and the diff output does not have
		// a newline
		location.startColumn = (start - prevNewLine) + 1 // +1 because counting starts at 1
		location.endColumn = (end - prevNewLine)
		location.startLine = _lineNum + 1
		location.endLine = _lineNum + 1

		// search for new line byte index
		i := 0
		for end+i < len(raw) {
			if raw[end+i] == '\n' {
				break
			}
			if raw[end+i] == '\r' {
				break
			}
			i++
		}
		location.endLineIndex = end + i
	}
	return location
}
