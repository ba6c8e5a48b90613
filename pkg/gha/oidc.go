package gha

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// ErrNoIDToken means the runner offers no OIDC token to this job.
var ErrNoIDToken = errors.New("no OIDC token available: ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set; " +
	"keyless signing needs `permissions: id-token: write` on the job (and does not work on pull requests from forks)")

// SigstoreAudience is the audience Fulcio expects.
const SigstoreAudience = "sigstore"

// SigstoreIDToken requests the job's OIDC token for Fulcio (IDToken with
// SigstoreAudience): what keyless signing passes to signing.Prepare.
func (r *Runtime) SigstoreIDToken(ctx context.Context) (string, error) {
	return r.IDToken(ctx, SigstoreAudience)
}

// IDToken requests an OIDC ID token for audience from the runner, the way
// actions/toolkit's getIDToken does: GET ACTIONS_ID_TOKEN_REQUEST_URL with
// &audience=…, authorised by ACTIONS_ID_TOKEN_REQUEST_TOKEN. The token is masked in
// the log before it is returned.
func (r *Runtime) IDToken(ctx context.Context, audience string) (string, error) {
	reqURL, bearer := r.getenv("ACTIONS_ID_TOKEN_REQUEST_URL"), r.getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
	if reqURL == "" || bearer == "" {
		return "", errkind.Input(ErrNoIDToken)
	}
	r.AddMask(bearer)
	u, err := url.Parse(reqURL)
	if err != nil {
		return "", errkind.Input(fmt.Errorf("parsing ACTIONS_ID_TOKEN_REQUEST_URL: %w", err))
	}
	if audience != "" {
		q := u.Query()
		q.Set("audience", audience)
		u.RawQuery = q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", fmt.Errorf("requesting OIDC token: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Accept", "application/json; api-version=2.0")
	resp, err := r.client.Do(req)
	if err != nil {
		return "", errkind.Infra(fmt.Errorf("requesting OIDC token: %w", err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", errkind.Infra(fmt.Errorf("reading OIDC token response: %w", err))
	}
	if resp.StatusCode != http.StatusOK {
		return "", errkind.Infra(fmt.Errorf("requesting OIDC token: runner answered %s", resp.Status))
	}
	var tok struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.Value == "" {
		return "", errkind.Infra(fmt.Errorf("decoding OIDC token response: expected {\"value\": \"<jwt>\"}"))
	}
	r.AddMask(tok.Value)
	return tok.Value, nil
}
