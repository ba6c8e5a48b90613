package iac_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/pkg/scan/iac"
)

// pinned is a base image pinned by digest, so only the shape under test
// produces findings.
const pinned = "FROM alpine:3.20@sha256:0000000000000000000000000000000000000000000000000000000000000000\n"

// TestDockerfileShapes holds Dockerfiles that the hand-written parser read
// differently from docker build (BuildKit), each hiding or inventing a
// finding; the scan must see what Docker builds.
func TestDockerfileShapes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, src string
		want      []string
	}{
		// An unknown directive ends the directives: the escape line after it
		// is a comment, the escape stays \ and the backtick does not continue
		// RUN into the USER root line.
		{"escape after unknown directive", "# note=1\n# escape=`\n" + pinned + "USER app\nRUN true # `\nUSER root\n",
			[]string{"docker-user Dockerfile:6"}},
		// A quoted heredoc-lookalike is not a heredoc: USER root is an instruction.
		{"quoted heredoc lookalike", pinned + "USER app\nRUN echo 'a <<EOF'\nUSER root\n",
			[]string{"docker-user Dockerfile:4"}},
		// BuildKit reads << SHIFT as a heredoc, never terminated: docker build
		// fails, so the file is reported unparsable (it hid USER root before).
		{"shift read as heredoc", pinned + "USER app\nRUN echo $((1 << SHIFT))\nUSER root\n",
			[]string{"iac-parse-error Dockerfile:3"}},
		// Docker removes the quotes of ADD sources and downloads the URL.
		{"quoted ADD URL", pinned + "ADD \"https://e.x/a\" /a\nUSER app\n",
			[]string{"docker-add-url Dockerfile:2"}},
		{"ADD URL from ARG", pinned + "ARG URL=https://e.x/a\nADD ${URL} /a\nUSER app\n",
			[]string{"docker-add-url Dockerfile:3"}},
		{"USER from ENV", pinned + "ENV U=root\nUSER ${U}\n",
			[]string{"docker-user Dockerfile:3"}},
		{"USER from global ARG", "ARG U=0\n" + pinned + "ARG U\nUSER $U:0\n",
			[]string{"docker-user Dockerfile:4"}},
		// An escaped quote does not open a quoted run: API_TOKEN is its own variable.
		{"escaped quote in ENV", pinned + "ENV A=\\\" API_TOKEN=x B=\\\"\nUSER app\n",
			[]string{"docker-secret-env Dockerfile:2"}},
		// FROM 0 is an image named 0, not stage 0.
		{"FROM a number", pinned + "USER app\nFROM 0\nUSER app\n",
			[]string{"docker-base-digest Dockerfile:3"}},
		// A byte-order mark is not part of the first instruction.
		{"byte-order mark", "\ufeff" + pinned + "USER app\n", nil},
		// A ${VAR:-default} is substituted as the shell does.
		{"ARG default expansion", "ARG TAG\nFROM alpine:${TAG:-3.20@sha256:0000000000000000000000000000000000000000000000000000000000000000}\nUSER app\n", nil},
		// A default is what Docker uses when nothing sets the variable.
		{"USER default root", pinned + "USER ${U:-root}\n",
			[]string{"docker-user Dockerfile:2"}},
		{"ADD URL default", pinned + "ADD ${SRC:-https://e.x/a} /a\nUSER app\n",
			[]string{"docker-add-url Dockerfile:2"}},
		// A numeric user is a uid: 00, +0 and -0 are 0.
		{"USER 00", pinned + "USER 00\n", []string{"docker-user Dockerfile:2"}},
		{"USER +0:1000", pinned + "USER +0:1000\n", []string{"docker-user Dockerfile:2"}},
		// Git sources BuildKit fetches.
		{"ADD git://", pinned + "ADD git://e.x/r /a\nUSER app\n", []string{"docker-add-url Dockerfile:2"}},
		{"ADD ssh://", pinned + "ADD ssh://git@e.x/r /a\nUSER app\n", []string{"docker-add-url Dockerfile:2"}},
		{"ADD scp-style", pinned + "ADD deploy@e.x:r /a\nUSER app\n", []string{"docker-add-url Dockerfile:2"}},
		{"ADD github.com/", pinned + "ADD github.com/o/r /a\nUSER app\n", []string{"docker-add-url Dockerfile:2"}},
		// Docker expands ENV and ARG names in a stage (not global ARG names).
		{"ENV name from ARG", pinned + "ARG N=DB_PASSWORD\nENV ${N}=x\nUSER app\n",
			[]string{"docker-secret-env Dockerfile:3"}},
		{"ARG name from ARG", pinned + "ARG N=API_TOKEN\nARG ${N}=x\nUSER app\n",
			[]string{"docker-secret-env Dockerfile:3"}},
		// A stage built FROM another runs that stage's ONBUILD triggers first.
		{"ONBUILD USER root", strings.Replace(pinned, "\n", " AS base\n", 1) + "USER app\nONBUILD USER root\nFROM base\n",
			[]string{"docker-user Dockerfile:3"}},
		{"ONBUILD ADD URL", strings.Replace(pinned, "\n", " AS base\n", 1) + "ONBUILD ADD https://e.x/a /a\nUSER app\nFROM base\n",
			[]string{"docker-add-url Dockerfile:2"}},
		{"ONBUILD ENV secret", strings.Replace(pinned, "\n", " AS base\n", 1) + "ONBUILD ENV API_TOKEN=x\nUSER app\nFROM base\n",
			[]string{"docker-secret-env Dockerfile:2"}},
		// The stage's own USER after the trigger wins; a trigger in the final
		// stage only affects images built FROM it elsewhere.
		{"ONBUILD USER root overridden", strings.Replace(pinned, "\n", " AS base\n", 1) + "ONBUILD USER root\nFROM base\nUSER app\nONBUILD USER root\n", nil},
		// An unknown instruction fails docker build.
		{"unknown instruction", pinned + "USER app\nFOO bar\n",
			[]string{"iac-parse-error Dockerfile:3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(tc.src), 0o644); err != nil {
				t.Fatal(err)
			}
			got := short(scan(t, dir, iac.Options{}))
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("findings of\n%s\n got  %q\n want %q", tc.src, got, tc.want)
			}
		})
	}
}
