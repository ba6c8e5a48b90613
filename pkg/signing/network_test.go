package signing_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/netretry"
	"github.com/secure-gates/secure-gates/pkg/signing"
)

// A Sigstore service that accepts connections and never answers ends the call
// within the caller's timeout, as an infrastructure error naming its host, and
// nothing is pushed. sigstore-go's timestamp and Fulcio clients build their
// requests without the caller's context: the transport binds it.
func TestSigstoreServiceHangs(t *testing.T) {
	t.Parallel()
	hung := testinfra.SilentServer(t)
	reg := testinfra.StartRegistry(t)
	priv, _ := keyPair(t, "")
	ref := pushImage(t, reg.Host, "hung/app", "v1")
	for _, tc := range []struct {
		name string
		opts signing.Options
	}{
		{"timestamp authority", signing.Options{Key: priv, Services: signing.Services{TimestampURL: "http://" + hung + "/api/v1/timestamp"}}},
		{"Fulcio", signing.Options{IDToken: jwt(`{"iss":"https://issuer.example","sub":"ci@example.com","email":"ci@example.com","email_verified":true,"aud":"sigstore"}`), Services: signing.Services{FulcioURL: "http://" + hung}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := netretry.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			tc.opts.Format = signing.FormatBoth
			err := testinfra.Within(t, time.Minute, "Attest (2s timeout)", func() error {
				_, err := signing.Attest(ctx, ref, []signing.Predicate{predicate(t, "vuln")}, tc.opts)
				return err
			})
			if err == nil {
				t.Fatal("Attest passed with a hung service")
			}
			want := "from " + hung + ": no answer within the 2s timeout"
			if errkind.Of(err) != errkind.KindInfra || !strings.Contains(err.Error(), want) {
				t.Errorf("error = %v (kind %v), want an infrastructure error saying %q", err, errkind.Of(err), want)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error %v does not wrap context.DeadlineExceeded", err)
			}
			assertNothingAttached(t, ref)
		})
	}
}

// jwt is an unsigned token with the given claims: enough to reach Fulcio.
func jwt(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc([]byte(claims)) + "." + enc([]byte("sig"))
}
