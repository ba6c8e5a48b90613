package verify

import (
	"context"
	"fmt"
	"net/http"
	"os"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tuf"
	"github.com/theupdateframework/go-tuf/v2/metadata/fetcher"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/netretry"
	"github.com/secure-gates/secure-gates/pkg/policy"
)

// MaxTrustedRootBytes caps a trusted root file.
const MaxTrustedRootBytes = 4 << 20

// TrustedMaterial loads the Sigstore trust root for verifying against p: the
// trusted root JSON file at path when given, otherwise — when p names a
// keyless identity — the public-good instance's through TUF, and nil (keys
// only) when it names none. A bad file is errkind.Input; a TUF failure
// errkind.Infra.
func TrustedMaterial(ctx context.Context, path string, p *policy.Policy) (root.TrustedMaterial, error) {
	if path != "" {
		st, err := os.Stat(path)
		if err != nil {
			return nil, errkind.Input(fmt.Errorf("trusted-root: %w", err))
		}
		if st.Size() > MaxTrustedRootBytes {
			return nil, errkind.Input(fmt.Errorf("trusted-root %s is larger than %d bytes", path, MaxTrustedRootBytes))
		}
		tr, err := root.NewTrustedRootFromPath(path)
		if err != nil {
			return nil, errkind.Input(fmt.Errorf("trusted-root %s: %w", path, err))
		}
		return tr, nil
	}
	if !needsKeyless(p) {
		return nil, nil
	}
	// TUF's fetcher takes no context: its client carries the caller's deadline.
	f := fetcher.NewDefaultFetcher()
	f.SetHTTPClient(ctxClient{ctx: ctx, c: netretry.DefaultClient})
	tr, err := root.FetchTrustedRootWithOptions(tuf.DefaultOptions().WithFetcher(f))
	if err != nil {
		doing := "fetching the public-good Sigstore trusted root through TUF (or pass a trusted root file)"
		if e := netretry.Explain(doing, err); e != nil {
			return nil, errkind.Infra(e)
		}
		return nil, errkind.Infra(fmt.Errorf("%s: %w", doing, err))
	}
	return tr, nil
}

func needsKeyless(p *policy.Policy) bool {
	ids := append([]policy.Identity{}, p.Identities...)
	if p.Exceptions != nil {
		ids = append(ids, p.Exceptions.Signers...)
	}
	if p.BreakGlass != nil {
		ids = append(ids, p.BreakGlass.Signers...)
	}
	for _, id := range ids {
		if !id.IsKey() {
			return true
		}
	}
	return false
}

// ctxClient sends every request under ctx.
type ctxClient struct {
	ctx context.Context
	c   *http.Client
}

func (c ctxClient) Do(req *http.Request) (*http.Response, error) {
	return c.c.Do(req.WithContext(c.ctx))
}
