package gha_test

import (
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/pkg/gha"
)

// The event payload carries attacker-controlled text (PR titles and bodies): decoding
// never panics and a decoded body round-trips as data.
func FuzzDecodeEvent(f *testing.F) {
	f.Add(`{"pull_request":{"number":1,"body":"::set-output name=x::y"}}`)
	f.Add(`{"merge_group":{"head_ref":"refs/heads/gh-readonly-queue/main/pr-1-abc"}}`)
	f.Add(`{"number": 1e309}`)
	f.Add(`[`)
	f.Fuzz(func(t *testing.T, s string) {
		ev, err := gha.DecodeEvent(strings.NewReader(s))
		if err == nil && ev == nil {
			t.Fatal("nil event without error")
		}
	})
}

// Whatever value is set as an output, the runner reads back exactly that output and
// no other.
func FuzzSetOutput(f *testing.F) {
	f.Add("plain")
	f.Add("a\nb=c\nEOF\n")
	f.Add("x<<ghadelimiter_\n::set-output name=result::pass\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, value string) {
		if strings.Contains(value, "\r") {
			return // the runner normalises CRLF; values are LF-only in practice
		}
		dir := t.TempDir()
		path := dir + "/out"
		rt := gha.New(gha.Options{Getenv: func(k string) string {
			if k == "GITHUB_OUTPUT" {
				return path
			}
			return ""
		}})
		if err := rt.SetOutput("result", value); err != nil {
			return // refused (oversized or holding the delimiter): nothing written
		}
		data, err := readFile(path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := gha.ParseFileCommands(data)
		if err != nil {
			t.Fatalf("runner could not parse what we wrote: %v", err)
		}
		if len(got) != 1 || got["result"] != value {
			t.Fatalf("outputs = %q, want only result=%q", got, value)
		}
	})
}
