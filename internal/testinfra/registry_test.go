package testinfra

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// A slowly streamed upload does not hold up another one. go-containerregistry's
// registry holds one lock over every upload while it copies a body in, so
// without BufferUploads the second upload below waits for the first body to
// end — which happens only after the second upload is done.
func TestRegistryUploadsDoNotWaitOnEachOther(t *testing.T) {
	t.Parallel()
	reg := StartRegistry(t)
	// The 30s bound only turns the deadlock of the old behaviour into a
	// failure; the uploads take milliseconds.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	do := func(method, url string, body io.Reader, want int) string {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, url, body)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v (an upload waited on another)", method, url, err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("%s %s: HTTP %d, want %d", method, url, resp.StatusCode, want)
		}
		return "http://" + reg.Host + resp.Header.Get("Location")
	}
	uploads := "http://" + reg.Host + "/v2/acme/app/blobs/uploads/"

	// The slow client: its body is 32 MiB sent (more than the sockets
	// buffer, so the registry is reading it), then nothing until the end.
	slow := do(http.MethodPost, uploads, nil, http.StatusAccepted)
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPatch, slow, pr)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	if _, err := pw.Write(make([]byte, 32<<20)); err != nil {
		t.Fatal(err)
	}

	// Another client uploads a whole blob meanwhile.
	blob := []byte("a layer")
	loc := do(http.MethodPost, uploads, nil, http.StatusAccepted)
	loc = do(http.MethodPatch, loc, bytes.NewReader(blob), http.StatusAccepted)
	do(http.MethodPut, fmt.Sprintf("%s?digest=sha256:%x", loc, sha256.Sum256(blob)), nil, http.StatusCreated)

	pw.Close()
	<-done
}
