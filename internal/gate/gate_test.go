package gate

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// A timeout input had no upper bound: 999999h was accepted. It is refused
// (exit 2) above GitHub's 6h job limit, naming the input and the bound; zero or
// less stays refused.
func TestCheckTimeout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    time.Duration
		want string // "" accepted
	}{
		{time.Second, ""},
		{15 * time.Minute, ""},
		{MaxTimeout, ""},
		{0, "timeout is 0s: give a positive Go duration"},
		{-time.Minute, "timeout is -1m0s: give a positive Go duration"},
		{MaxTimeout + time.Second, "timeout is 6h0m1s, over the 6h0m0s bound (GitHub's job limit): give at most 6h"},
		{999999 * time.Hour, "timeout is 999999h0m0s, over the 6h0m0s bound"},
	}
	for _, tt := range tests {
		err := CheckTimeout(tt.d)
		if tt.want == "" {
			if err != nil {
				t.Errorf("CheckTimeout(%s) = %v, want nil", tt.d, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("CheckTimeout(%s) = %v, want %q", tt.d, err, tt.want)
			continue
		}
		if got := errkind.ExitCode(err); got != 2 {
			t.Errorf("CheckTimeout(%s): exit %d, want 2", tt.d, got)
		}
		ctx, cancel, werr := WithTimeout(context.Background(), tt.d)
		cancel()
		if werr == nil || werr.Error() != err.Error() {
			t.Errorf("WithTimeout(%s) = %v, want %v", tt.d, werr, err)
		}
		if _, ok := ctx.Deadline(); ok {
			t.Errorf("WithTimeout(%s) set a deadline on a refused timeout", tt.d)
		}
	}
}
