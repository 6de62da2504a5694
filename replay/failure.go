package replay

import "fmt"

// failure is an error that reads "<prefix>: <err>" and wraps both cond, the
// condition that says what is wrong, and whatever err wraps. The prefixes
// are the texts users have always read ("integrity failure", "invalid
// input"); what the condition means to a caller (an exit code) is the
// caller's business.
type failure struct {
	prefix string
	cond   error
	err    error
}

func (e *failure) Error() string   { return e.prefix + ": " + e.err.Error() }
func (e *failure) Unwrap() []error { return []error{e.cond, e.err} }

// integrityf is an integrity failure found by the replay (not among the
// record's own problems): "integrity failure: …", wrapping ErrIntegrity.
func integrityf(format string, a ...any) error {
	return &failure{prefix: "integrity failure", cond: ErrIntegrity, err: fmt.Errorf(format, a...)}
}

// inputf is an error about what the caller gave (a record file, a reports
// folder): "invalid input: …", wrapping cond.
func inputf(cond error, format string, a ...any) error {
	return &failure{prefix: "invalid input", cond: cond, err: fmt.Errorf(format, a...)}
}
