package kpicmd

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/gha"
)

// Every input a user can get wrong is an input error (exit 2) naming it,
// before any registry or DB work.
func TestInputErrors(t *testing.T) {
	dir := t.TempDir()
	images := filepath.Join(dir, "images.txt")
	if err := os.WriteFile(images, []byte("reg/app@sha256:"+strings.Repeat("a", 64)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := []string{"--policy", filepath.Join(dir, "policy.yaml"), "--db-dir", dir, "--json", filepath.Join(dir, "out.json")}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no source", base, "exactly one of --images"},
		{"two sources", append([]string{"--images", images, "--gitops", dir}, base...), "exactly one of --images"},
		{"no json", []string{"--images", images, "--db-dir", dir}, "--json OUT is required"},
		{"no DB", []string{"--images", images, "--json", "x"}, "exactly one of --db-dir"},
		{"bad from", append([]string{"--images", images, "--from", "last week"}, base...), `--from "last week"`},
		{"bad to", append([]string{"--images", images, "--to", "720h"}, base...), `--to "720h"`},
		{"missing images file", append([]string{"--images", filepath.Join(dir, "nope")}, base...), "nope"},
		{"stray argument", append([]string{"--images", images, "extra"}, base...), `unexpected argument "extra"`},
		{"context without kubeconfig", append([]string{"--images", images, "--context", "prod"}, base...), "give --kubeconfig too"},
		{"missing policy", append([]string{"--images", images}, base...), "policy.yaml"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := Command.Run(context.Background(), gha.New(gha.Options{Stdout: &out}), tt.args)
			if err == nil || errkind.Of(err) != errkind.KindInput || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v (kind %v), want an input error naming %q", err, errkind.Of(err), tt.want)
			}
		})
	}
}
