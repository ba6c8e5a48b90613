// Package gha is the GitHub Actions runtime of secure-gates: action inputs (from
// INPUT_* variables or command-line flags, with the defaults of action.yml), step
// outputs and environment written to GITHUB_OUTPUT/GITHUB_ENV with a random heredoc
// delimiter, the step summary, workflow commands (annotations, masks, groups) with
// the runner's escaping, the event payload decoded into typed structs, and the OIDC
// ID token request. Inputs decode into a typed struct by `input` tags (Decode;
// embedded option structs read as the outer struct's own fields, Secrets lists
// what to mask, DropUnevaluated empties a ${{ … }} default nothing evaluated);
// outputs encode from `output` tags (Outputs), checked against action.yml both
// ways (CheckOutputs). internal/gate runs a gate through them.
//
// It is the only package besides actions/* and main that knows about GitHub
// Actions. Everything it touches is injected through Options (getenv, the writer
// for workflow commands, the HTTP client, the random source), so tests are sealed:
// nothing here reads the process environment unless FromOS is used.
package gha
