package stats

import (
	"errors"
	"fmt"
)

// Sentinel errors for bad data. Functions wrap them with context; test with errors.Is.
var (
	// ErrSampleSize: too few observations for the requested test.
	ErrSampleSize = errors.New("stats: sample too small")
	// ErrNaN: a value is NaN or infinite.
	ErrNaN = errors.New("stats: NaN or infinite value")
	// ErrEmptyGroup: a group, row or column has no observations.
	ErrEmptyGroup = errors.New("stats: empty group")
	// ErrDomain: a parameter is outside its domain (a probability outside [0,1],
	// a confidence level outside (0,1), a negative count, mismatched lengths...).
	ErrDomain = errors.New("stats: parameter out of domain")
	// ErrMethod: the requested method is unknown or infeasible for the data.
	ErrMethod = errors.New("stats: method not applicable")
)

// Alternative is the alternative hypothesis of a test.
type Alternative int

const (
	TwoSided Alternative = iota // the default
	Less
	Greater
)

// String returns "two-sided", "less" or "greater".
func (a Alternative) String() string {
	switch a {
	case Less:
		return "less"
	case Greater:
		return "greater"
	default:
		return "two-sided"
	}
}

// ParseAlternative parses "two-sided", "less" or "greater" ("" is two-sided).
func ParseAlternative(s string) (Alternative, error) {
	switch s {
	case "", "two-sided", "two.sided":
		return TwoSided, nil
	case "less":
		return Less, nil
	case "greater":
		return Greater, nil
	}
	return TwoSided, fmt.Errorf("%w: alternative must be two-sided, less or greater, got %q", ErrDomain, s)
}
