package bounds

import (
	"testing"
	"time"
)

// TestOr: a positive value stands; zero and negative values are unset and
// give the default, for counts and durations alike.
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
		if got := Or(c.v, c.def); got != c.w {
			t.Errorf("%s: Or(%d, %d) = %d, want %d", c.name, c.v, c.def, got, c.w)
		}
	}
	for _, c := range []struct{ v, w time.Duration }{{0, time.Minute}, {-time.Second, time.Minute}, {time.Second, time.Second}} {
		if got := Or(c.v, time.Minute); got != c.w {
			t.Errorf("Or(%s, 1m) = %s, want %s", c.v, got, c.w)
		}
	}
}
