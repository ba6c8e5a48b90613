package catalog

import (
	"context"
	"fmt"
	"sync"

	"github.com/anchore/syft/syft"
	"github.com/anchore/syft/syft/cataloging"
	// syft's RPM cataloger needs an SQL driver named "sqlite": grype registers
	// this one too, so a binary linking both registers it once.
	_ "github.com/glebarez/sqlite"
)

// The license scanner is built once per process, in the background from the first
// call on, and its context values are shared by every catalog run.
var licenses struct {
	once sync.Once
	done chan struct{}
	ctx  context.Context // carries the scanner; never cancelled
	err  error
}

// warmLicenseScanner starts building the license scanner if nobody has yet.
func warmLicenseScanner() {
	licenses.once.Do(func() {
		licenses.done = make(chan struct{})
		go func() {
			defer close(licenses.done)
			licenses.ctx, licenses.err = syft.SetContextLicenseScanner(context.Background(), cataloging.DefaultLicenseConfig())
		}()
	})
}

// Warm starts building syft's license scanner in the background, so a later
// catalog run does not wait for it. Calling it is optional.
func Warm() { warmLicenseScanner() }

// withLicenseScanner returns ctx carrying the shared license scanner, waiting for
// it to be built (or for ctx to end).
func withLicenseScanner(ctx context.Context) (context.Context, error) {
	warmLicenseScanner()
	select {
	case <-licenses.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if licenses.err != nil {
		return nil, fmt.Errorf("building the license scanner: %w", licenses.err)
	}
	return valuesFrom{Context: ctx, values: licenses.ctx}, nil
}

// valuesFrom is ctx (deadline, cancellation, values) falling back to the values of
// another context for keys ctx does not hold.
type valuesFrom struct {
	context.Context
	values context.Context
}

func (v valuesFrom) Value(key any) any {
	if x := v.Context.Value(key); x != nil {
		return x
	}
	return v.values.Value(key)
}
