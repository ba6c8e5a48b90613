package testinfra

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// PagerDuty is a double of PagerDuty's Events API v2 (POST /v2/enqueue) that
// checks every event against the documented contract
// (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/):
// routing_key of 32 characters, event_action trigger|acknowledge|resolve,
// dedup_key of 1–255 characters, and for a trigger payload.summary (1–1024),
// payload.source and payload.severity in critical|error|warning|info; unknown
// fields are refused. It deduplicates like PagerDuty: a trigger with the dedup
// key of an open alert pages nobody again; a resolve closes it. An event that
// breaks the contract fails the test and gets PagerDuty's 400.
type PagerDuty struct {
	// URL is the endpoint (…/v2/enqueue).
	URL string

	t        testing.TB
	mu       sync.Mutex
	open     map[string]string
	pages    int
	resolves int
	events   []map[string]any
	fail     int
}

// StartPagerDuty starts the double; it stops when t ends.
func StartPagerDuty(t testing.TB) *PagerDuty {
	pd := &PagerDuty{t: t, open: map[string]string{}}
	srv := httptest.NewServer(pd)
	t.Cleanup(srv.Close)
	pd.URL = srv.URL + "/v2/enqueue"
	return pd
}

// FailNext makes the next n requests answer 500.
func (pd *PagerDuty) FailNext(n int) {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	pd.fail = n
}

// State returns the incidents opened so far, those open now and the resolves.
func (pd *PagerDuty) State() (pages, open, resolves int) {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	return pd.pages, len(pd.open), pd.resolves
}

// Events returns every well-formed event received, as decoded JSON.
func (pd *PagerDuty) Events() []map[string]any {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	return append([]map[string]any(nil), pd.events...)
}

func (pd *PagerDuty) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	if pd.fail > 0 {
		pd.fail--
		http.Error(w, "upstream down", http.StatusInternalServerError)
		return
	}
	invalid := func(errs ...string) {
		pd.t.Errorf("PagerDuty double: invalid event: %v", errs)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]any{"status": "invalid event", "message": "Event object is invalid", "errors": errs})
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v2/enqueue" {
		invalid("POST /v2/enqueue expected, got " + r.Method + " " + r.URL.Path)
		return
	}
	if r.Header.Get("Content-Type") != "application/json" {
		invalid("Content-Type must be application/json")
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 512<<10))
	var ev struct {
		RoutingKey  string `json:"routing_key"`
		EventAction string `json:"event_action"`
		DedupKey    string `json:"dedup_key"`
		Payload     *struct {
			Summary       string         `json:"summary"`
			Source        string         `json:"source"`
			Severity      string         `json:"severity"`
			Timestamp     string         `json:"timestamp"`
			Component     string         `json:"component"`
			Group         string         `json:"group"`
			Class         string         `json:"class"`
			CustomDetails map[string]any `json:"custom_details"`
		} `json:"payload"`
		Images    []any  `json:"images"`
		Client    string `json:"client"`
		ClientURL string `json:"client_url"`
		Links     []struct {
			Href string `json:"href"`
			Text string `json:"text"`
		} `json:"links"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		invalid("body: " + err.Error())
		return
	}
	if len(ev.RoutingKey) != 32 {
		invalid("routing_key must be 32 characters")
		return
	}
	if ev.DedupKey == "" || len(ev.DedupKey) > 255 {
		invalid("dedup_key must be 1–255 characters")
		return
	}
	switch ev.EventAction {
	case "trigger":
		p := ev.Payload
		if p == nil || p.Summary == "" || len(p.Summary) > 1024 || p.Source == "" {
			invalid("payload.summary (1–1024 characters) and payload.source are required for trigger")
			return
		}
		switch p.Severity {
		case "critical", "error", "warning", "info":
		default:
			invalid("payload.severity must be critical, error, warning or info, got " + p.Severity)
			return
		}
		if p.Timestamp != "" {
			if _, err := time.Parse(time.RFC3339, p.Timestamp); err != nil {
				invalid("payload.timestamp must be ISO 8601")
				return
			}
		}
		if _, open := pd.open[ev.DedupKey]; !open {
			pd.pages++
		}
		pd.open[ev.DedupKey] = p.Summary
	case "resolve", "acknowledge":
		if _, open := pd.open[ev.DedupKey]; open && ev.EventAction == "resolve" {
			delete(pd.open, ev.DedupKey)
			pd.resolves++
		}
	default:
		invalid("event_action must be trigger, acknowledge or resolve")
		return
	}
	var raw map[string]any
	json.Unmarshal(body, &raw)
	pd.events = append(pd.events, raw)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	json.NewEncoder(w).Encode(map[string]any{"status": "success", "message": "Event processed", "dedup_key": ev.DedupKey})
}
