package dtrack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/secure-gates/secure-gates/pkg/dtrack"
)

// Upload a CycloneDX BOM and wait until Dependency-Track has processed it.
func ExampleUpload() {
	// a stand-in for a Dependency-Track server
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			json.NewEncoder(w).Encode(map[string]string{"token": "0e1f2a3b-0000-4000-8000-000000000001"})
			return
		}
		json.NewEncoder(w).Encode(map[string]bool{"processing": false})
	}))
	defer ts.Close()

	o := dtrack.Options{URL: ts.URL, APIKey: "odt_secret", PollInterval: 10 * time.Millisecond}
	token, err := dtrack.Upload(context.Background(), o, dtrack.Project{Name: "acme/widgets", Version: "sha256:3ba5c9ea", AutoCreate: true},
		[]byte(`{"bomFormat":"CycloneDX","specVersion":"1.6","version":1}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("token", token, "processed:", dtrack.Wait(context.Background(), o, token) == nil)
	// Output: token 0e1f2a3b-0000-4000-8000-000000000001 processed: true
}
