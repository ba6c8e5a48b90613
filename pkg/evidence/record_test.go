package evidence

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// lying answers each GET of a path with a different body each time.
type lying struct{ n int }

func (l *lying) RoundTrip(req *http.Request) (*http.Response, error) {
	l.n++
	body := strings.Repeat("x", l.n)
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}, ContentLength: int64(len(body)),
		Body: io.NopCloser(strings.NewReader(body)), Request: req}, nil
}

func TestRecorderRefusesARegistryThatChangesItsAnswer(t *testing.T) {
	t.Parallel()
	rec := &recorder{base: &lying{}}
	c := &http.Client{Transport: rec}
	for i := 0; i < 2; i++ {
		resp, err := c.Get("http://registry.test/v2/acme/widgets/manifests/sha256-aa.att")
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if _, err := rec.exchanges(); err == nil || !strings.Contains(err.Error(), "different content on two reads") {
		t.Fatalf("a registry changing its answer: %v", err)
	}
}

func TestRecorderKeepsOnlyWholeBodies(t *testing.T) {
	t.Parallel()
	rec := &recorder{base: &lying{n: 9}}
	resp, err := (&http.Client{Transport: rec}).Get("http://registry.test/v2/acme/widgets/blobs/sha256:aa")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3)
	resp.Body.Read(buf) // a reader that stops early
	resp.Body.Close()
	exs, err := rec.exchanges()
	if err != nil || len(exs) != 0 {
		t.Fatalf("a body read in part was recorded: %v %v", exs, err)
	}
}
