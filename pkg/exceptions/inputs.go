package exceptions

import (
	"cmp"
	"time"
)

// FileInput is the exceptions input of the gates that apply waivers to their
// findings (scan, sbom, dast); a gate embeds it in its Inputs (gha.Decode tag).
type FileInput struct {
	Exceptions string `input:"exceptions"`
}

// Load loads the exceptions file the input names, DefaultPath when it is empty,
// with its path resolved by resolve (e.g. against the workspace), as of now.
// The default file may be missing (an empty set); a file the user named must
// exist.
func (in FileInput) Load(resolve func(string) string, now time.Time) (*Set, error) {
	path := cmp.Or(in.Exceptions, DefaultPath)
	return Load(resolve(path), now, Options{MissingOK: path == DefaultPath})
}
