// Package errkind classifies errors into the kinds that decide a gate's exit code:
// bad input (2), infrastructure failure (3) and policy failure (1).
//
// Libraries wrap an error once, where they know what went wrong; callers up the stack
// keep wrapping with fmt.Errorf("doing x: %w", err) and the kind survives, because
// the classification is found with errors.As.
package errkind

import "errors"

// Kind is the class of an error.
type Kind int

// The kinds, ordered by the exit code a gate returns for them.
const (
	// KindUnknown is an error nobody classified. It exits like an infrastructure
	// error: a security gate that does not know why it failed must not pass.
	KindUnknown Kind = iota
	// KindPolicy means the gate ran and the artifact failed its policy.
	KindPolicy
	// KindInput means the user's inputs (flags, action inputs, files) are wrong.
	KindInput
	// KindInfra means a service the gate depends on (registry, vulnerability DB,
	// API) could not be used.
	KindInfra
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case KindPolicy:
		return "policy"
	case KindInput:
		return "input"
	case KindInfra:
		return "infrastructure"
	default:
		return "unknown"
	}
}

// Exit codes every gate uses; the README documents them.
const (
	ExitPass   = 0
	ExitPolicy = 1
	ExitInput  = 2
	ExitInfra  = 3
)

type kindError struct {
	kind Kind
	err  error
}

func (e *kindError) Error() string { return e.err.Error() }
func (e *kindError) Unwrap() error { return e.err }

func wrap(k Kind, err error) error {
	if err == nil {
		return nil
	}
	return &kindError{kind: k, err: err}
}

// Input marks err as an input error. A nil err stays nil.
func Input(err error) error { return wrap(KindInput, err) }

// Infra marks err as an infrastructure error. A nil err stays nil.
func Infra(err error) error { return wrap(KindInfra, err) }

// Policy marks err as a policy failure. A nil err stays nil.
func Policy(err error) error { return wrap(KindPolicy, err) }

// Of returns the kind of the outermost classified error in err's chain, or
// KindUnknown.
func Of(err error) Kind {
	var ke *kindError
	if errors.As(err, &ke) {
		return ke.kind
	}
	return KindUnknown
}

// ExitCode maps err to the documented exit code: 0 for nil, 1 policy, 2 input,
// 3 infrastructure or unclassified.
func ExitCode(err error) int {
	if err == nil {
		return ExitPass
	}
	switch Of(err) {
	case KindPolicy:
		return ExitPolicy
	case KindInput:
		return ExitInput
	default:
		return ExitInfra
	}
}
