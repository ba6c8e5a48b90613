package limit_test

import (
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/pkg/limit"
)

func TestOr(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name      string
		v, def, w int64
	}{
		{"set", 5, 9, 5},
		{"zero is unset", 0, 9, 9},
		{"negative is unset", -1, 9, 9},
	} {
		if got := limit.Or(c.v, c.def); got != c.w {
			t.Errorf("%s: Or(%d, %d) = %d, want %d", c.name, c.v, c.def, got, c.w)
		}
	}
	if got := limit.Or(time.Duration(0), time.Minute); got != time.Minute {
		t.Errorf("Or(0s, 1m) = %s, want 1m", got)
	}
	if got := limit.Or(3, 7); got != 3 {
		t.Errorf("Or(3, 7) = %d, want 3", got)
	}
}
