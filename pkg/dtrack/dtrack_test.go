package dtrack_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/pkg/dtrack"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/netretry"
)

const apiKey = "odt_0123456789abcdefABCDEF"

const bom = `{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[{"type":"library","name":"lodash","version":"4.17.20"}]}`

// server is a Dependency-Track double that checks the documented contract of
// PUT /api/v1/bom and GET /api/v1/event/token/{token}.
type server struct {
	t          *testing.T
	mu         sync.Mutex
	uploads    []map[string]any
	polls      int
	busyPolls  int // polls answered processing=true before false
	uploadCode int
	token      string
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Header.Get("X-Api-Key") != apiKey {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	switch {
	case r.Method == http.MethodPut && r.URL.Path == "/api/v1/bom":
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			s.t.Errorf("upload Content-Type %q, want application/json", ct)
		}
		var body map[string]any
		dec := json.NewDecoder(r.Body)
		if err := dec.Decode(&body); err != nil {
			s.t.Errorf("upload body is not JSON: %v", err)
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		for k := range body {
			switch k {
			case "projectName", "projectVersion", "autoCreate", "bom", "project":
			default:
				s.t.Errorf("upload body has undocumented field %q", k)
			}
		}
		raw, _ := body["bom"].(string)
		dec64, err := base64.StdEncoding.DecodeString(raw)
		if err != nil {
			s.t.Errorf("bom is not base64: %v", err)
		}
		var doc map[string]any
		if json.Unmarshal(dec64, &doc) != nil || doc["bomFormat"] != "CycloneDX" {
			s.t.Errorf("bom does not decode to a CycloneDX document: %.80s", dec64)
		}
		s.uploads = append(s.uploads, body)
		if s.uploadCode != 0 {
			w.WriteHeader(s.uploadCode)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"token": s.token})
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/event/token/"+s.token:
		s.polls++
		json.NewEncoder(w).Encode(map[string]bool{"processing": s.polls <= s.busyPolls})
	default:
		s.t.Errorf("undocumented request %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
	}
}

func newServer(t *testing.T) (*server, string) {
	s := &server{t: t, token: "6f4e3c2a-1b0d-4e5f-8a9b-0c1d2e3f4a5b", busyPolls: 2}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts.URL
}

func TestUploadAndWait(t *testing.T) {
	s, url := newServer(t)
	o := dtrack.Options{URL: url + "/", APIKey: apiKey, PollInterval: time.Millisecond}
	token, err := dtrack.Upload(context.Background(), o, dtrack.Project{Name: "acme/widgets", Version: "sha256:abc", AutoCreate: true}, []byte(bom))
	if err != nil {
		t.Fatal(err)
	}
	if token != s.token {
		t.Errorf("token %q, want %q", token, s.token)
	}
	if err := dtrack.Wait(context.Background(), o, token); err != nil {
		t.Fatal(err)
	}
	if len(s.uploads) != 1 {
		t.Fatalf("%d uploads", len(s.uploads))
	}
	u := s.uploads[0]
	if u["projectName"] != "acme/widgets" || u["projectVersion"] != "sha256:abc" || u["autoCreate"] != true {
		t.Errorf("upload project fields %v", u)
	}
	if s.polls != s.busyPolls+1 {
		t.Errorf("polled %d times, want until processing=false (%d)", s.polls, s.busyPolls+1)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		setup    func(s *server, o *dtrack.Options)
		wait     bool
		wantKind errkind.Kind
		wantText string
	}{
		{"wrong key", func(s *server, o *dtrack.Options) { o.APIKey = "nope" }, false, errkind.KindInput, "401"},
		{"no key", func(s *server, o *dtrack.Options) { o.APIKey = "" }, false, errkind.KindInput, "no API key"},
		{"forbidden", func(s *server, o *dtrack.Options) { s.uploadCode = http.StatusForbidden }, false, errkind.KindInput, "BOM_UPLOAD"},
		{"project missing", func(s *server, o *dtrack.Options) { s.uploadCode = http.StatusNotFound }, false, errkind.KindInput, "404"},
		{"server error", func(s *server, o *dtrack.Options) { s.uploadCode = http.StatusServiceUnavailable }, false, errkind.KindInfra, "503"},
		{"no token", func(s *server, o *dtrack.Options) { s.uploadCode = http.StatusOK }, false, errkind.KindInfra, "not the expected JSON"},
		{"plain http off loopback", func(s *server, o *dtrack.Options) { o.URL = "http://dtrack.example.com" }, false, errkind.KindInput, "only over https"},
		{"not a URL", func(s *server, o *dtrack.Options) { o.URL = "dtrack.example.com" }, false, errkind.KindInput, "expected https://"},
		{"unreachable", func(s *server, o *dtrack.Options) { o.URL = "http://127.0.0.1:1" }, false, errkind.KindInfra, "uploading the BOM"},
		{"never processed", func(s *server, o *dtrack.Options) { s.busyPolls = 1 << 30; o.Timeout = 50 * time.Millisecond }, true, errkind.KindInfra, "not processed within 50ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, url := newServer(t)
			// The default retry policy (netretry's, as the default client has)
			// without waiting out its backoff: 503 and a refused connection are
			// retried to the last attempt all the same.
			client := &http.Client{Transport: netretry.New(netretry.Options{Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }})}
			o := dtrack.Options{URL: url, APIKey: apiKey, PollInterval: time.Millisecond, HTTPClient: client}
			tc.setup(s, &o)
			token, err := dtrack.Upload(context.Background(), o, dtrack.Project{Name: "p", Version: "v"}, []byte(bom))
			if tc.wait {
				if err != nil {
					t.Fatal(err)
				}
				err = dtrack.Wait(context.Background(), o, token)
			}
			if err == nil {
				t.Fatal("no error")
			}
			if errkind.Of(err) != tc.wantKind || !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error %q (kind %v), want kind %v saying %q", err, errkind.Of(err), tc.wantKind, tc.wantText)
			}
			if strings.Contains(err.Error(), apiKey) {
				t.Errorf("error shows the API key: %s", err)
			}
		})
	}
}

func TestUploadRefusesBadRequests(t *testing.T) {
	_, url := newServer(t)
	o := dtrack.Options{URL: url, APIKey: apiKey}
	for _, tc := range []struct {
		p   dtrack.Project
		bom []byte
	}{
		{dtrack.Project{Name: "", Version: "v"}, []byte(bom)},
		{dtrack.Project{Name: "p", Version: ""}, []byte(bom)},
		{dtrack.Project{Name: "p", Version: "v"}, nil},
	} {
		if _, err := dtrack.Upload(context.Background(), o, tc.p, tc.bom); errkind.Of(err) != errkind.KindInput {
			t.Errorf("Upload(%+v, %d bytes) = %v, want an input error", tc.p, len(tc.bom), err)
		}
	}
	if err := dtrack.Wait(context.Background(), o, "../../admin"); errkind.Of(err) != errkind.KindInput {
		t.Errorf("Wait with a path in the token: %v", err)
	}
}
