// Package sarif is the one SARIF 2.1.0 writer every finding source of secure-gates
// uses (secrets, dependency vulnerabilities, licenses, IaC policy, ingested SAST),
// plus the uploader to GitHub code scanning.
//
// Scanners fill the neutral model (Run, Rule, Result) and never touch SARIF
// directly. The package turns it into SARIF through
// github.com/owenrumney/go-sarif/v2:
//
//   - Build, Write and WriteFile produce one deterministic document holding every
//     run (rules sorted by id, results and runs in a stable order, no JSON nulls),
//     written atomically to files.
//   - Pack produces as many documents as GitHub's code scanning limits require
//     (runs per file, results and rules per run, gzipped size), splitting large
//     runs into runs with distinct categories.
//   - Read parses untrusted SARIF (for ingesting other tools' output) with a size
//     bound, and Check applies GitHub's limits to any go-sarif report.
//   - Upload sends one document to POST /repos/{owner}/{repo}/code-scanning/sarifs
//     and Wait polls its processing status with a bound.
//
// A run's Category becomes runAutomationDetails.id as "<category>/": GitHub
// takes everything up to the last slash of that id as the analysis category, so
// the trailing slash keeps the whole category (and an empty run id).
package sarif
