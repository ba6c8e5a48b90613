package vulndb

import (
	"context"
	"sync"

	"github.com/anchore/grype/grype/match"
	"github.com/anchore/grype/grype/pkg"
	"github.com/anchore/grype/grype/vulnerability"
	syftpkg "github.com/anchore/syft/syft/pkg"
)

// grype's VulnerabilityMatcher asks its matchers about one package after the
// other, and nearly all of that time is SQLite preparing and running queries on
// one core. A matcher's answer for a package depends only on the package and the
// (read-only) DB, so the answers can be worked out side by side beforehand:
// prefetch runs every matcher grype will ask about every package on a few
// goroutines, and hands grype matchers that return those answers. grype's own
// loop then runs unchanged — matchers in its order, its explicit ignore rules,
// the matchers' ignore filters applied across all packages, deduplication — so
// the result is exactly grype's. An answer that was not worked out (a matcher
// that panicked, a cancelled prefetch, a package prefetch did not expect) is
// computed by the real matcher when grype asks, as grype would.

// result is one matcher's answer for one package.
type result struct {
	matches  []match.Match
	ignorers []match.IgnoreFilter
	err      error
}

// prefetched answers Match from results worked out beforehand.
type prefetched struct {
	match.Matcher
	mu      sync.Mutex
	answers map[pkg.ID]result
}

// Match returns the answer worked out for p, or asks the matcher itself. Each
// answer is handed out once.
func (m *prefetched) Match(vp vulnerability.Provider, p pkg.Package) ([]match.Match, []match.IgnoreFilter, error) {
	m.mu.Lock()
	r, ok := m.answers[p.ID]
	delete(m.answers, p.ID)
	m.mu.Unlock()
	if ok {
		return r.matches, r.ignorers, r.err
	}
	return m.Matcher.Match(vp, p)
}

// prefetch returns matchers that answer for pkgs from results worked out on
// workers goroutines, dispatching each package to matchers the way grype's
// VulnerabilityMatcher does (by package type, the stock matcher otherwise). With
// fewer than two workers it returns matchers unchanged.
func prefetch(ctx context.Context, vp vulnerability.Provider, matchers []match.Matcher, pkgs []pkg.Package, workers int) []match.Matcher {
	if workers < 2 {
		return matchers
	}
	wrapped := make([]match.Matcher, len(matchers))
	byType := map[syftpkg.Type][]*prefetched{}
	var stock *prefetched
	for i, m := range matchers {
		w := &prefetched{Matcher: m, answers: map[pkg.ID]result{}}
		wrapped[i] = w
		if m.Type() == match.StockMatcher {
			stock = w
			continue
		}
		for _, t := range m.PackageTypes() {
			byType[t] = append(byType[t], w)
		}
	}
	type job struct {
		m *prefetched
		p pkg.Package
	}
	jobs := make(chan job)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if r, ok := answer(j.m.Matcher, vp, j.p); ok {
					j.m.mu.Lock()
					j.m.answers[j.p.ID] = r
					j.m.mu.Unlock()
				}
			}
		}()
	}
feed:
	for _, p := range pkgs {
		ms, ok := byType[p.Type]
		if !ok && stock != nil {
			ms = []*prefetched{stock}
		}
		for _, m := range ms {
			select {
			case jobs <- job{m, p}:
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(jobs)
	wg.Wait()
	return wrapped
}

// answer asks m about p; a panic is left for grype to see when it asks itself.
func answer(m match.Matcher, vp vulnerability.Provider, p pkg.Package) (r result, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	r.matches, r.ignorers, r.err = m.Match(vp, p)
	return r, true
}
