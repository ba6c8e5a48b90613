//go:build tools

// Package tools pins the Kyverno CLI (kubectl-kyverno v1.19.1) that the
// admission tests run. It is a nested module so the main module's ./... never
// builds it; internal/testinfra builds the binary from here into the tools cache.
package tools

import _ "github.com/kyverno/kyverno/cmd/cli/kubectl-kyverno"
