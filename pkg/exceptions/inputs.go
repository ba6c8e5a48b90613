package exceptions

import (
	"cmp"
	"path/filepath"
	"time"
)

// FileInput is the exceptions input of the gates that apply waivers to their
// findings (scan, sbom, dast); a gate embeds it in its Inputs (gha.Decode tag).
type FileInput struct {
	Exceptions string `input:"exceptions"`
}

// Load loads the exceptions file the input names, DefaultPath when it is empty,
// as of now; a relative path is relative to workspace (absolute). The default
// file may be missing (an empty set); a file the user named must exist. A file
// inside the workspace — the pull request's tree — is read through
// readfile.InTree: a symbolic link leaving the workspace is an input error.
func (in FileInput) Load(workspace string, now time.Time) (*Set, error) {
	path := cmp.Or(in.Exceptions, DefaultPath)
	abs := path
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(workspace, abs)
	}
	return Load(abs, now, Options{MissingOK: path == DefaultPath, Root: workspace})
}
