package iac

import (
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"
)

func TestParseDockerfile(t *testing.T) {
	src := "# syntax=docker/dockerfile:1\n" +
		"# escape=\\\n" +
		"ARG BASE=alpine:3.20\n" +
		"FROM --platform=$BUILDPLATFORM ${BASE} AS Build\n" +
		"RUN apk add \\\n" +
		"    # a comment inside a continuation\n" +
		"    git\n" +
		"RUN <<EOF\n" +
		"USER root\n" +
		"EOF\n" +
		"ENV A=1 B=\"two words\"\n" +
		"ENV LEGACY value with spaces\n" +
		"ARG X Y=2\n" +
		"USER app\n" +
		"FROM build\n" +
		"ADD [\"https://e.x/a\", \"/a\"]\n"
	df, err := ParseDockerfile([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(df.Args) != 1 || df.Args[0].Name != "BASE" || df.Args[0].Value != "alpine:3.20" {
		t.Errorf("global args: %+v", df.Args)
	}
	if len(df.Stages) != 2 {
		t.Fatalf("stages: %+v", df.Stages)
	}
	s0, s1 := df.Stages[0], df.Stages[1]
	if s0.Image != "alpine:3.20" || s0.Name != "build" || s0.Platform != "$BUILDPLATFORM" || s0.BaseStage != -1 || s0.Line != 4 {
		t.Errorf("stage 0: %+v", s0)
	}
	// The heredoc's "USER root" is script text, not an instruction.
	if s0.User != "app" || s0.UserLine != 14 {
		t.Errorf("stage 0 user = %q at %d, want app at 14", s0.User, s0.UserLine)
	}
	var cmds []string
	for _, in := range s0.Instructions {
		cmds = append(cmds, in.Cmd+":"+itoa(in.Line)+"-"+itoa(in.EndLine))
	}
	want := []string{"FROM:4-4", "RUN:5-7", "RUN:8-10", "ENV:11-11", "ENV:12-12", "ARG:13-13", "USER:14-14"}
	if !slices.Equal(cmds, want) {
		t.Errorf("instructions %q, want %q", cmds, want)
	}
	env := s0.Instructions[3].Vars
	if len(env) != 2 || env[1].Name != "B" || env[1].Value != "two words" {
		t.Errorf("ENV vars: %+v", env)
	}
	if v := s0.Instructions[4].Vars; len(v) != 1 || v[0].Name != "LEGACY" || v[0].Value != "value with spaces" {
		t.Errorf("legacy ENV: %+v", v)
	}
	if v := s0.Instructions[5].Vars; len(v) != 2 || v[0].HasValue || v[1].Value != "2" {
		t.Errorf("ARG vars: %+v", v)
	}
	if s1.BaseStage != 0 || s1.User != "app" {
		t.Errorf("stage 1 should inherit from stage 0: %+v", s1)
	}
	if add := s1.Instructions[1]; add.Cmd != "ADD" || !slices.Equal(add.Args, []string{"https://e.x/a", "/a"}) {
		t.Errorf("ADD: %+v", add)
	}
}

func TestParseDockerfileErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"", "no FROM"},
		{"# only a comment\n", "no FROM"},
		{"RUN x\nFROM a\n", "line 1: RUN before the first FROM"},
		{"FROM\n", "line 1: FROM without an image"},
		{"# escape=x\nFROM a\n", "escape directive"},
		{"FROM a\n" + strings.Repeat("RUN x\n", maxDockerInstructions+1), "more than"},
	} {
		if _, err := ParseDockerfile([]byte(tc.src)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseDockerfile(%.30q) = %v, want an error containing %q", tc.src, err, tc.want)
		}
	}
}

// FuzzParseDockerfile: untrusted Dockerfiles never panic, and what parses
// keeps its invariants (lines inside the file and increasing, stage links
// backwards only).
func FuzzParseDockerfile(f *testing.F) {
	archives, _ := filepath.Glob("testdata/rules/*.txtar")
	for _, p := range archives {
		a, err := txtar.ParseFile(p)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range a.Files {
			if path.Base(file.Name) == "Dockerfile" {
				f.Add(file.Data)
			}
		}
	}
	f.Add([]byte("# escape=`\nFROM a `\n  AS b\nRUN x <<-EOT\n\tbody\n\tEOT\nUSER 0\n"))
	f.Add([]byte("FROM a\nRUN \\"))
	f.Add([]byte("ARG A=${A}\nFROM ${A}@sha256:x AS 0\nFROM 0\nENV =x \"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		df, err := ParseDockerfile(data)
		if err != nil {
			return
		}
		lines := strings.Count(string(data), "\n") + 1
		last := 0
		for i, st := range df.Stages {
			if st.Index != i || st.BaseStage >= i || st.BaseStage < -1 {
				t.Fatalf("stage %d: bad index/base %+v", i, st)
			}
			for _, in := range st.Instructions {
				if in.Line <= last || in.Line > lines || in.EndLine < in.Line || in.EndLine > lines {
					t.Fatalf("instruction %s at %d-%d (previous %d, %d lines)", in.Cmd, in.Line, in.EndLine, last, lines)
				}
				last = in.EndLine
			}
		}
	})
}

func itoa(i int) string { return strconv.Itoa(i) }
