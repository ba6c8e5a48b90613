package iac

import "testing"

// TestClassifyDockerfileNames: Dockerfile variants are Dockerfiles; the source,
// data and docs of tools about Dockerfiles (dockerfile.go, dockerfile.rego) are
// not, so they are never reported as Dockerfiles that fail to parse.
func TestClassifyDockerfileNames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		path string
		want fileKind
	}{
		{"Dockerfile", kindDockerfile},
		{"build/Containerfile", kindDockerfile},
		{"Dockerfile.prod", kindDockerfile},
		{"dockerfile.dev", kindDockerfile},
		{"api.Dockerfile", kindDockerfile},
		{"Dockerfile.bak", kindDockerfile},
		{"Dockerfile.dockerignore", kindNone},
		{"pkg/scan/iac/dockerfile.go", kindNone},
		{"policies/dockerfile.rego", kindNone},
		{"docs/Dockerfile.md", kindNone},
		{"testdata/dockerfile.golden", kindNone},
		{"dockerfile.yaml", kindYAML},
	} {
		if got := classify(tc.path); got != tc.want {
			t.Errorf("classify(%q) = %v, want %v", tc.path, got, tc.want)
		}
	}
}
