package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestRoutes(t *testing.T) {
	srv := httptest.NewServer(newMux())
	defer srv.Close()
	tests := []struct {
		method, path string
		code         int
	}{
		{"GET", "/healthz", 200},
		{"GET", "/widgets", 200},
		{"POST", "/widgets", 405},
		{"GET", "/nope", 404},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tt.code {
			t.Errorf("%s %s = %d, want %d", tt.method, tt.path, res.StatusCode, tt.code)
		}
	}
	res, err := http.Get(srv.URL + "/widgets")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var got []Widget
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil || len(got) != 2 {
		t.Errorf("widgets = %v, %v; want the two widgets", got, err)
	}
}
