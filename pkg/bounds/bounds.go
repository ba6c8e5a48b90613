// Package bounds owns the one rule every bounded option of the suite's
// libraries follows: a size, count or duration of zero or less is unset and
// means the package's default. A zero Options value then bounds everything,
// and a negative one (a typo, an input that did not parse as meant) cannot
// turn a bound off or make it refuse everything.
package bounds

// Or returns v, or def when v is zero or negative: the value of an option
// that bounds something (bytes, files, attempts, a timeout), def being the
// package's default for it.
func Or[T ~int | ~int64](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
