package policy

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Bounds of the exceptions block's lifetimes.
const (
	// DefaultExceptionLifetime is exceptions.max-lifetime when the policy
	// does not set it: an exception may expire at most 90 days after it was
	// signed.
	DefaultExceptionLifetime = 90 * 24 * time.Hour
	// MaxExceptionLifetime is the most exceptions.max-lifetime may be.
	MaxExceptionLifetime = 365 * 24 * time.Hour
	// DefaultOutageLifetime is exceptions.max-outage-lifetime when the policy
	// does not set it: a scanner-outage exception (one listing an outage:
	// finding) may expire at most 72 hours after it was signed.
	DefaultOutageLifetime = 72 * time.Hour
	// MaxOutageLifetime is the most exceptions.max-outage-lifetime may be.
	MaxOutageLifetime = 7 * 24 * time.Hour
)

// Lifetime is the longest an exception (or a signed VEX document) signed by
// these signers may waive, from its trusted signing time: MaxLifetime, or
// DefaultExceptionLifetime when unset.
func (s *Signers) Lifetime() time.Duration {
	if s == nil || s.MaxLifetime.Duration <= 0 {
		return DefaultExceptionLifetime
	}
	return s.MaxLifetime.Duration
}

// OutageLifetime is the longest a scanner-outage exception may waive, from its
// trusted signing time: MaxOutageLifetime, or DefaultOutageLifetime when unset
// (and never more than Lifetime).
func (s *Signers) OutageLifetime() time.Duration {
	d := DefaultOutageLifetime
	if s != nil && s.MaxOutageLifetime.Duration > 0 {
		d = s.MaxOutageLifetime.Duration
	}
	return min(d, s.Lifetime())
}

// validateLifetimes checks the exceptions block's max-lifetime and
// max-outage-lifetime.
func validateLifetimes(s *Signers) []error {
	var errs []error
	if d := s.MaxLifetime.Duration; d > MaxExceptionLifetime {
		errs = append(errs, fmt.Errorf("exceptions.max-lifetime: is %s, more than the %s (365 days) allowed: a waiver is renewed with a fresh review, not signed for years; use at most 8760h",
			d, MaxExceptionLifetime))
	}
	if d := s.MaxOutageLifetime.Duration; d > MaxOutageLifetime {
		errs = append(errs, fmt.Errorf("exceptions.max-outage-lifetime: is %s, more than the %s (7 days) allowed: an image should be rescanned once the scanner is back; use at most 168h",
			d, MaxOutageLifetime))
	}
	if s.MaxOutageLifetime.Duration > 0 && s.MaxOutageLifetime.Duration > s.Lifetime() {
		errs = append(errs, fmt.Errorf("exceptions.max-outage-lifetime: is %s, longer than exceptions.max-lifetime %s; make it at most that", s.MaxOutageLifetime.Duration, s.Lifetime()))
	}
	return errs
}

// parseDuration is time.ParseDuration, plus whole days written "30d" (waiver
// lifetimes are counted in days).
func parseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok && n != "" && strings.Trim(n, "0123456789") == "" && len(n) <= 5 {
		d, err := strconv.Atoi(n)
		if err != nil {
			return 0, err
		}
		return time.Duration(d) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}
