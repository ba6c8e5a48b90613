package testinfra

import (
	"testing"
	"time"
)

// Within runs f and returns its result. If f has not returned d after it
// started, Within fails t, naming what: it is a guard against a hang, not a
// measure of speed, so d is generous (a minute where the code under test has a
// timeout of seconds).
func Within[T any](t testing.TB, d time.Duration, what string, f func() T) T {
	t.Helper()
	done := make(chan T, 1)
	go func() { done <- f() }()
	select {
	case v := <-done:
		return v
	case <-time.After(d):
		t.Fatalf("%s did not end within %v", what, d)
		panic("unreachable")
	}
}
