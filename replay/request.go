package replay

import (
	"errors"
	"fmt"

	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/verdict"
)

// ExplicitFrom says which sandbox settings were given, by their flags
// (--memory, --cpus, --pids, --run-timeout, --session-timeout).
func ExplicitFrom(given func(flag string) bool) Explicit {
	return Explicit{Memory: given("memory"), CPUs: given("cpus"), Pids: given("pids"),
		RunTimeout: given("run-timeout"), SessionTimeout: given("session-timeout")}
}

// Request is a replay as the flags of replay and attribute give it: the
// runs and the verdict rules.
type Request struct {
	N            int
	Sequential   bool
	MaxRuns      int
	Batch        int
	ReplaySeed   uint64
	MinFrequency float64
	Alpha        float64
	Conf         float64
	Margin       float64
	// Given reports whether a flag was given (-n, --sequential,
	// --replay-seed and the sandbox settings' flags).
	Given func(flag string) bool
}

// Validate checks the counts (1 to 1,000,000 runs) and the levels (in
// (0, 1)); its error names the first flag out of range.
func (r *Request) Validate() error {
	var msg string
	switch {
	case r.N < 1 || r.N > 1_000_000:
		msg = fmt.Sprintf("-n must be between 1 and 1000000, got %d", r.N)
	case r.MaxRuns < 1 || r.MaxRuns > 1_000_000:
		msg = fmt.Sprintf("--max-runs must be between 1 and 1000000, got %d", r.MaxRuns)
	case r.Batch < 1:
		msg = fmt.Sprintf("--batch must be at least 1, got %d", r.Batch)
	case !(r.MinFrequency > 0 && r.MinFrequency < 1):
		msg = fmt.Sprintf("--min-frequency must be in (0, 1), got %g", r.MinFrequency)
	case !(r.Alpha > 0 && r.Alpha < 1):
		msg = fmt.Sprintf("--alpha must be in (0, 1), got %g", r.Alpha)
	case !(r.Conf > 0 && r.Conf < 1):
		msg = fmt.Sprintf("--conf must be in (0, 1), got %g", r.Conf)
	case !(r.Margin > 0 && r.Margin < 1):
		msg = fmt.Sprintf("--margin must be in (0, 1), got %g", r.Margin)
	default:
		return nil
	}
	return errors.New(msg)
}

// IsSequential reports whether the replay is sequential: --sequential,
// unless -n is given without it (a fixed-N replay).
func (r *Request) IsSequential() bool {
	return r.Sequential && !(r.Given("n") && !r.Given("sequential"))
}

// Options are the replay options of the request, with the session
// settings lo (its logger is the replay's).
func (r *Request) Options(lo launch.Options) Options {
	o := Options{N: r.N, Sequential: r.IsSequential(), MaxRuns: r.MaxRuns, Batch: r.Batch, Launch: lo, Logger: lo.Logger,
		Explicit: ExplicitFrom(r.Given),
		Rules:    verdict.Rules{MinFrequency: r.MinFrequency, Alpha: r.Alpha, Conf: r.Conf, Margin: r.Margin}}
	if r.Given("replay-seed") {
		seed := r.ReplaySeed
		o.ReplaySeed = &seed
	}
	return o
}
