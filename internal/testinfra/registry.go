package testinfra

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// RegistryBinary is Debian's docker-registry (distribution 2.8).
const RegistryBinary = "/usr/bin/docker-registry"

// Registry is a running OCI registry on loopback.
type Registry struct {
	// Host is 127.0.0.1:PORT, usable as an image reference prefix.
	Host string
	// Dir is the registry's storage root.
	Dir string
}

var listening = regexp.MustCompile(`listening on (127\.0\.0\.1:[0-9]+)`)

// StartRegistry starts Debian's docker-registry on 127.0.0.1 with a private
// storage folder and stops it when t ends.
func StartRegistry(t testing.TB) *Registry {
	t.Helper()
	if _, err := os.Stat(RegistryBinary); err != nil {
		t.Fatalf("the OCI registry test double is Debian's docker-registry: apt-get install docker-registry (scripts/test does): %v", err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yml")
	data := filepath.Join(dir, "data")
	conf := fmt.Sprintf("version: 0.1\nlog:\n  level: info\n  accesslog: {disabled: true}\nstorage:\n  filesystem: {rootdirectory: %s}\n  delete: {enabled: true}\nhttp:\n  addr: 127.0.0.1:0\n  secret: test-only\n", data)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(RegistryBinary, "serve", cfg)
	host := startReporting(t, cmd, "docker-registry", listening, func(cmd *exec.Cmd) {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	if err := waitHTTP(context.Background(), "http://"+host+"/v2/", 10*time.Second); err != nil {
		t.Fatalf("registry at %s: %v", host, err)
	}
	return &Registry{Host: host, Dir: data}
}

func waitHTTP(ctx context.Context, url string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
