package errkind_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/secure-gates/secure-gates/pkg/errkind"
)

func TestExitCode(t *testing.T) {
	base := errors.New("boom")
	tests := []struct {
		name string
		err  error
		want int
		kind errkind.Kind
	}{
		{"nil passes", nil, 0, errkind.KindUnknown},
		{"unclassified fails closed as infra", base, 3, errkind.KindUnknown},
		{"policy", errkind.Policy(base), 1, errkind.KindPolicy},
		{"input", errkind.Input(base), 2, errkind.KindInput},
		{"infra", errkind.Infra(base), 3, errkind.KindInfra},
		{"kind survives wrapping", fmt.Errorf("doing x: %w", errkind.Input(base)), 2, errkind.KindInput},
		{"outermost kind wins", errkind.Infra(fmt.Errorf("fetching: %w", errkind.Input(base))), 3, errkind.KindInfra},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errkind.ExitCode(tt.err); got != tt.want {
				t.Errorf("ExitCode = %d, want %d", got, tt.want)
			}
			if tt.err != nil {
				if got := errkind.Of(tt.err); got != tt.kind {
					t.Errorf("Of = %v, want %v", got, tt.kind)
				}
				if !errors.Is(tt.err, base) {
					t.Errorf("wrapped error lost its cause")
				}
				if tt.err.Error() != "boom" && !errors.Is(tt.err, base) {
					t.Errorf("message changed: %q", tt.err.Error())
				}
			}
		})
	}
	if errkind.Input(nil) != nil || errkind.Infra(nil) != nil || errkind.Policy(nil) != nil {
		t.Error("wrapping nil must stay nil")
	}
}

func ExampleExitCode() {
	err := fmt.Errorf("resolving image: %w", errkind.Infra(errors.New("registry unreachable")))
	fmt.Println(errkind.ExitCode(err), errkind.Of(err))
	// Output: 3 infrastructure
}
