package kpi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/netretry"
	"github.com/secure-gates/secure-gates/pkg/oci"
)

// MaxTags caps the tags listed per repository.
const MaxTags = 10000

// cosignTagRe is cosign's legacy tag of a digest's signatures or attestations.
var cosignTagRe = regexp.MustCompile(`^sha256-([0-9a-f]{64})\.(att|sig)$`)

// RegistryHistory lists the digests of repository that carry cosign
// signatures or attestations in the legacy format (their sha256-<hex>.sig and
// .att tags), at most max of them, sorted. A repository the registry does not
// know has none; a registry failure is errkind.Infra.
func RegistryHistory(ctx context.Context, repository string, max int, reg oci.Options) ([]string, error) {
	repo, err := name.NewRepository(repository)
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("repository %q: %w", repository, err))
	}
	fail := func(err error) ([]string, error) {
		var te *transport.Error
		if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
			return nil, nil
		}
		doing := "listing the tags of " + repository
		if e := netretry.Explain(doing, err); e != nil {
			return nil, errkind.Infra(e)
		}
		return nil, errkind.Infra(fmt.Errorf("%s: %w", doing, err))
	}
	// Page by page, so that a registry listing without end is read only up
	// to the cap.
	p, err := remote.NewPuller(reg.RemoteOptions(ctx)...)
	if err != nil {
		return fail(err)
	}
	l, err := p.Lister(ctx, repo)
	if err != nil {
		return fail(err)
	}
	var tags []string
	for l.HasNext() && len(tags) < MaxTags {
		page, err := l.Next(ctx)
		if err != nil {
			return fail(err)
		}
		tags = append(tags, page.Tags...)
	}
	if len(tags) > MaxTags {
		tags = tags[:MaxTags]
	}
	seen := map[string]bool{}
	var out []string
	for _, t := range tags {
		m := cosignTagRe.FindStringSubmatch(t)
		if m == nil || seen[m[1]] {
			continue
		}
		seen[m[1]] = true
		out = append(out, "sha256:"+m[1])
	}
	sort.Strings(out)
	if len(out) > max {
		out = out[:max]
	}
	return out, nil
}
