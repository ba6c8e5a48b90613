package kpi

import (
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/pkg/policy"
	"github.com/secure-gates/secure-gates/pkg/verify"
	"github.com/secure-gates/secure-gates/pkg/vulndb"
)

// TestTimesToDetect checks that MTTD and MTTR take only the detections in
// the window, and MTTR only those remediated.
func TestTimesToDetect(t *testing.T) {
	t.Parallel()
	secs := func(f float64) *float64 { return &f }
	for _, tc := range []struct {
		name                         string
		det                          []Detection
		mttd, mttdP90, mttr, mttrP90 *float64
	}{
		{name: "none"},
		{name: "outside the window only", det: []Detection{{TTDSeconds: 10, TTRSeconds: secs(5)}}},
		{name: "one open", det: []Detection{{InWindow: true, TTDSeconds: 10}}, mttd: secs(10), mttdP90: secs(10)},
		{name: "mixed", det: []Detection{
			{InWindow: true, TTDSeconds: 30, TTRSeconds: secs(300)},
			{InWindow: true, TTDSeconds: 10},
			{InWindow: false, TTDSeconds: 1, TTRSeconds: secs(1)},
			{InWindow: true, TTDSeconds: 20, TTRSeconds: secs(100)},
		}, mttd: secs(20), mttdP90: secs(30), mttr: secs(100), mttrP90: secs(300)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rep := &Report{Detections: tc.det}
			rep.timesToDetect()
			for _, x := range []struct {
				name      string
				got, want *float64
			}{{"MTTD", rep.MTTD, tc.mttd}, {"MTTD p90", rep.MTTDP90, tc.mttdP90}, {"MTTR", rep.MTTR, tc.mttr}, {"MTTR p90", rep.MTTRP90, tc.mttrP90}} {
				if (x.got == nil) != (x.want == nil) || (x.got != nil && *x.got != *x.want) {
					t.Errorf("%s = %v, want %v", x.name, deref(x.got), deref(x.want))
				}
			}
		})
	}
}

func deref(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

// TestWithDefaults checks Compute's input errors and defaults: no policy, no
// DB or a window that ends before it starts is an input error; To defaults
// to now, MaxHistory to 200, and verification happens at now.
func TestWithDefaults(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	pol, db := &policy.Policy{}, &vulndb.DB{}
	clock := func() time.Time { return now }
	for _, tc := range []struct {
		name    string
		o       Options
		wantErr string
	}{
		{"no policy", Options{DB: db}, "kpi: no policy"},
		{"no DB", Options{Verify: verify.Options{Policy: pol}}, "kpi: no vulnerability DB"},
		{"window reversed", Options{Verify: verify.Options{Policy: pol}, DB: db, Now: clock, From: now.Add(time.Hour)},
			"kpi: the window starts (2026-12-01T13:00:00Z) after it ends (2026-12-01T12:00:00Z)"},
		{"defaults", Options{Verify: verify.Options{Policy: pol}, DB: db, Now: clock}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o, at, err := withDefaults(tc.o)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !at.Equal(now) || !o.To.Equal(now) || o.MaxHistory != 200 || o.History == nil || !o.Verify.KeepEvidence || !o.Verify.Now().Equal(now) {
				t.Errorf("defaults: now %s, To %s, MaxHistory %d, History set %v, KeepEvidence %v, Verify.Now %s",
					at, o.To, o.MaxHistory, o.History != nil, o.Verify.KeepEvidence, o.Verify.Now())
			}
		})
	}
}
