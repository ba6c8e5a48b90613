package vulndb

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/netretry"
)

// A DB listing that accepts connections and never answers ends the load by
// Options.Timeout (an update check that failed: a fresh cache still serves)
// or by the caller's deadline (the load fails), naming the host. grype's
// client takes no context; it used to keep the load waiting for minutes.
func TestLoadHungListing(t *testing.T) {
	hung := testinfra.SilentServer(t)
	url := "http://" + hung + "/v6/latest.json"

	// A cache holding a fresh DB, filled from a working listing.
	srv := testinfra.GrypeDBServer(t)
	fresh := t.TempDir()
	db, err := Load(context.Background(), Options{CacheDir: fresh, UpdateURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	for _, tc := range []struct {
		name     string
		cache    string
		timeout  time.Duration // Options.Timeout
		deadline time.Duration // the caller's
		wantErr  string        // "" = the cache serves
	}{
		{name: "empty cache, Options.Timeout", cache: t.TempDir(), timeout: time.Second,
			wantErr: hung + ": no answer within the 1s timeout"},
		{name: "fresh cache, Options.Timeout: the cache serves", cache: fresh, timeout: time.Second},
		{name: "the caller's deadline ends the load", cache: fresh, deadline: time.Second,
			wantErr: "checking " + url + " from " + hung + ": no answer within the 1s timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := netretry.WithTimeout(context.Background(), tc.deadline)
			defer cancel()
			type result struct {
				db  *DB
				err error
			}
			r := testinfra.Within(t, time.Minute, "Load (1s timeout)", func() result {
				db, err := Load(ctx, Options{CacheDir: tc.cache, UpdateURL: url, UpdateCheckInterval: -1, Timeout: tc.timeout})
				return result{db, err}
			})
			if tc.wantErr == "" {
				if r.err != nil {
					t.Fatalf("Load = %v, want the fresh cache", r.err)
				}
				info := r.db.Info()
				r.db.Close()
				if info.Source != SourceCache || !strings.Contains(info.UpdateError, hung+": no answer within the 1s timeout") {
					t.Errorf("source %q, update error %q; want the cache, the hung check said", info.Source, info.UpdateError)
				}
				return
			}
			if r.err == nil {
				r.db.Close()
				t.Fatal("Load passed")
			}
			if errkind.Of(r.err) != errkind.KindInfra || !strings.Contains(r.err.Error(), tc.wantErr) {
				t.Errorf("Load = %v (kind %v), want an infrastructure error saying %q", r.err, errkind.Of(r.err), tc.wantErr)
			}
			if tc.deadline > 0 && !errors.Is(r.err, context.DeadlineExceeded) {
				t.Errorf("Load = %v does not wrap context.DeadlineExceeded", r.err)
			}
		})
	}
}
