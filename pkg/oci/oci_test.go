package oci_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/oci"
)

// Against Debian's docker-registry: a tag resolves once; moving the tag later does
// not change the resolved reference.
func TestResolveTagOnce(t *testing.T) {
	t.Parallel()
	reg := testinfra.StartRegistry(t)
	ctx := context.Background()
	first := testinfra.PushRandomImage(t, reg.Host+"/acme/app:v1")
	ref, err := oci.Resolve(ctx, reg.Host+"/acme/app:v1", oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ref.Digest != first || ref.Tag != "v1" || ref.String() != reg.Host+"/acme/app@"+first {
		t.Fatalf("resolved %+v, want digest %s", ref, first)
	}
	second := testinfra.PushRandomImage(t, reg.Host+"/acme/app:v1") // the tag moves
	if second == first {
		t.Fatal("random images collided")
	}
	again, err := oci.Resolve(ctx, ref.String(), oci.Options{})
	if err != nil || again.Digest != first {
		t.Fatalf("the digest reference must keep naming the first image: %+v %v", again, err)
	}
}

func TestResolveErrors(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	ctx := context.Background()
	testinfra.PushRandomImage(t, host+"/acme/app:v1")

	var attempts atomic.Int32
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		attempts.Add(1)
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer flaky.Close()
	denied := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Basic realm="x"`)
		http.Error(w, `{"errors":[{"code":"UNAUTHORIZED"}]}`, http.StatusUnauthorized)
	}))
	defer denied.Close()

	tests := []struct {
		name string
		ref  string
		code int
		msg  string
	}{
		{"empty", "", 2, "empty"},
		{"malformed", "UPPER/Case:@@", 2, "parsing image reference"},
		{"missing tag", host + "/acme/app:nope", 2, "not found"},
		{"missing digest", host + "/acme/app@sha256:" + strings.Repeat("0", 64), 2, "not found"},
		{"unreachable", "127.0.0.1:1/acme/app:v1", 3, "unreachable"},
		{"5xx after retries", strings.TrimPrefix(flaky.URL, "http://") + "/acme/app:v1", 3, "503"},
		{"credentials refused", strings.TrimPrefix(denied.URL, "http://") + "/acme/app:v1", 2, "credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := oci.Resolve(ctx, tt.ref, oci.Options{Backoff: 10 * time.Millisecond, Retries: 2})
			if errkind.ExitCode(err) != tt.code || err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %v (exit %d), want exit %d mentioning %q", err, errkind.ExitCode(err), tt.code, tt.msg)
			}
		})
	}
	if n := attempts.Load(); n < 3 {
		t.Errorf("a 503 was tried %d times; want the retries used", n)
	}
}

func TestParseDigestRef(t *testing.T) {
	t.Parallel()
	d := "sha256:" + strings.Repeat("a", 64)
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"127.0.0.1:5000/acme/app@" + d, "127.0.0.1:5000/acme/app@" + d, true},
		{"ghcr.io/acme/app:v1", "", false},
		{"ghcr.io/acme/app", "", false},
		{"ghcr.io/acme/app@sha256:abc", "", false},
	}
	for _, tt := range tests {
		r, err := oci.ParseDigestRef(tt.in)
		if tt.ok != (err == nil) || (tt.ok && r.String() != tt.want) {
			t.Errorf("ParseDigestRef(%q) = %v, %v", tt.in, r, err)
		}
		if err != nil && errkind.ExitCode(err) != 2 {
			t.Errorf("ParseDigestRef(%q): want an input error, got %v", tt.in, err)
		}
	}
}

func ExampleParseDigestRef() {
	r, err := oci.ParseDigestRef("ghcr.io/acme/app@sha256:" + strings.Repeat("0", 64))
	fmt.Println(r.Repository, err)
	// Output: ghcr.io/acme/app <nil>
}
