package testinfra

import (
	"bufio"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// startReporting starts cmd (its output merged), stops it with stop when t ends,
// and returns the first submatch of report in a line it prints — the address
// or port a server reports once it listens. It fails t, showing what the
// program printed, when none comes within 15 seconds.
func startReporting(t testing.TB, cmd *exec.Cmd, name string, report *regexp.Regexp, stop func(*exec.Cmd)) string {
	t.Helper()
	out, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	t.Cleanup(func() { stop(cmd) })
	found := make(chan string, 1)
	var mu sync.Mutex
	var log strings.Builder
	go func() {
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() { // read to the end, so the program never blocks on its output
			if sent {
				continue
			}
			mu.Lock()
			log.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if m := report.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				sent = true
			}
		}
	}()
	select {
	case s := <-found:
		return s
	case <-time.After(15 * time.Second):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("%s did not report where it listens:\n%s", name, log.String())
		return ""
	}
}
