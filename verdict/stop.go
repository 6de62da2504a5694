package verdict

import (
	"fmt"
	"math"
	"strings"

	"github.com/reprise-dev/reprise/output"
)

// Sequential replay defaults: the stopping rule Decide applies them.
const (
	// DefaultMaxRuns caps a sequential replay's fresh-seed runs.
	DefaultMaxRuns = 1000
	// DefaultBatch is how many runs a sequential replay runs between looks (a
	// look costs one evaluation, O(runs), nothing next to a run).
	DefaultBatch = 10
)

// Stop is what a sequential replay decided after a batch.
type Stop struct {
	// Evaluation is the verdict on the outputs so far.
	Evaluation *Evaluation
	// Settled: stop now (the verdict is settled or the cap is reached).
	Settled bool
	// Why says why the replay stopped (empty while it goes on).
	Why string
}

// Decide is the rule a sequential replay applies after each batch: the
// sequential evaluation (EvaluateSequential) of the outputs of the
// first runs fresh-seed runs (none yet: only an exact match of the pinned
// seed settles it). It settles as soon as the verdict is not INCONCLUSIVE,
// when runs reaches maxRuns (the cap), or, INCONCLUSIVE, as soon as neither
// verdict can come within the cap: even an optimistic estimate of the runs
// that would let every check support the stored output
// (Evaluation.RunsNeededLow) exceeds the cap, and no check can still
// plausibly reject by then (Evaluation.RejectLow). Such a futility stop can
// only turn a would-be verdict at the cap into INCONCLUSIVE, never into a
// wrong one. Its false-alarm rate is that of EvaluateSequential: at
// most rules.Alpha however many looks it takes. extra are further checks
// (ReferenceChecks with the cap).
func Decide(stored output.Output, outs []output.Output, exact *bool, rules Rules, runs, maxRuns int, extra ...Check) (Stop, error) {
	final := runs >= maxRuns
	ev, err := EvaluateSequential(stored, outs, exact, rules, final, extra...)
	if err != nil {
		return Stop{}, err
	}
	s := Stop{Evaluation: ev}
	switch {
	case ev.Verdict != Inconclusive:
		s.Settled = true
		s.Why = fmt.Sprintf("stopped after %d of at most %d runs: the verdict %s was settled", runs, maxRuns, ev.Verdict)
		switch {
		case ev.Basis == "exact" && ev.Verdict == Reproduced:
			s.Why += " (the pinned seed reproduced the stored output exactly)"
		case ev.Basis == "exact":
			s.Why += " (the pinned seed, run twice, gave identical answers that differ from the stored output, and no fresh seed gave that answer)"
		}
	case ev.RunsNeededLow > maxRuns && (ev.RejectLow == 0 || ev.RejectLow > maxRuns):
		s.Settled = true
		s.Why = fmt.Sprintf("stopped after %d of at most %d runs: the cap cannot settle it (%s would need %s)",
			runs, maxRuns, strings.Join(ev.Underpowered, ", "), runsNeeded(ev))
	case final:
		s.Settled = true
		s.Why = fmt.Sprintf("stopped at the cap of %d runs (--max-runs) without a settled verdict", maxRuns)
		if ev.RunsNeeded > runs {
			s.Why += fmt.Sprintf("; about %d runs would settle it", ev.RunsNeeded)
		}
	}
	return s, nil
}

// LookAt reports whether a sequential replay looks at the evidence after
// done fresh-seed runs: after each batch and at the cap.
func LookAt(done, batch, maxRuns int) bool { return done%batch == 0 || done == maxRuns }

// runsNeeded says how many runs a futility stop's checks would need.
func runsNeeded(ev *Evaluation) string {
	if ev.RunsNeededLow >= math.MaxInt32 {
		return "more runs than any cap at the frequency seen so far"
	}
	s := fmt.Sprintf("at least about %d runs", ev.RunsNeededLow)
	if ev.RunsNeeded > ev.RunsNeededLow {
		s += fmt.Sprintf(", likely %d", ev.RunsNeeded)
	}
	return s
}
