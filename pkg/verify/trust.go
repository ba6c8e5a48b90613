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

// MaxTrustedRootBytes bounds a trusted_root.json read by TrustedMaterial.
const MaxTrustedRootBytes = 4 << 20

// TrustedMaterial loads the Sigstore trusted root Verify checks keyless
// identities against: the file at path (the trusted-root input; a missing,
// oversized or malformed file is an input error), or, with no path, the
// public-good instance through TUF when pol names a keyless identity (signers,
// exception signers or break-glass signers), and nil when it names only keys.
// The TUF fetch ends with ctx; its failure is an infrastructure error.
func TrustedMaterial(ctx context.Context, path string, pol *policy.Policy) (root.TrustedMaterial, error) {
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
	if !NeedsKeyless(pol) {
		return nil, nil
	}
	tr, err := PublicGoodTrustedRoot(ctx, "trusted-root")
	if err != nil {
		return nil, err
	}
	return tr, nil
}

// PublicGoodTrustedRoot fetches the public-good Sigstore instance's trusted
// root through TUF, ending with ctx. Its failure is an infrastructure error
// whose text names flag as the way to pass a trusted root file instead.
func PublicGoodTrustedRoot(ctx context.Context, flag string) (*root.TrustedRoot, error) {
	// TUF's fetcher takes no context: its client carries the deadline.
	f := fetcher.NewDefaultFetcher()
	f.SetHTTPClient(ctxClient{ctx: ctx, c: netretry.DefaultClient})
	tr, err := root.FetchTrustedRootWithOptions(tuf.DefaultOptions().WithFetcher(f))
	if err != nil {
		doing := "fetching the public-good Sigstore trusted root through TUF (or pass " + flag + ")"
		if e := netretry.Explain(doing, err); e != nil {
			return nil, errkind.Infra(e)
		}
		return nil, errkind.Infra(fmt.Errorf("%s: %w", doing, err))
	}
	return tr, nil
}

// ctxClient sends every request under ctx.
type ctxClient struct {
	ctx context.Context
	c   *http.Client
}

func (c ctxClient) Do(req *http.Request) (*http.Response, error) {
	return c.c.Do(req.WithContext(c.ctx))
}

// NeedsKeyless reports whether p names a keyless identity anywhere: a signer,
// an exception signer or a break-glass signer (so a trusted root is needed).
func NeedsKeyless(p *policy.Policy) bool {
	for _, id := range p.AllIdentities() {
		if !id.IsKey() {
			return true
		}
	}
	return false
}
