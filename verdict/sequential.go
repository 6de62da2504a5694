package verdict

import (
	"fmt"
	"slices"

	"github.com/reprise-dev/reprise/output"
)

// SequentialCheck is a Check that can be asked again and again as the
// replays come in: however often RunSequential is called on growing prefixes
// of one stream of replays, the probability that it ever rejects an honest
// record stays at most its level Rules.Alpha (anytime-valid).
type SequentialCheck interface {
	Check
	RunSequential(stored output.Output, outs []output.Output, rules Rules) (Finding, error)
}

// EvaluateSequential is Evaluate for a replay that stops as soon as the
// verdict is settled: it is called after each batch with every replayed
// output so far (in run order). Checks that implement SequentialCheck run
// sequentially (each rejection test is taken once, on the first runs that
// give it power, and settled as soon as it cannot reject; the text check
// at TextLooks fixed looks with its level split over them; so repeated
// looks do not add false alarms; the reference checks compare at fixed looks with
// alpha spent over them, ReferenceLooks); any other
// check is run only when final is true (the run cap was reached), and is
// undecided before. Rules.Alpha bounds the false-alarm rate of the whole
// sequential procedure, split over the applicable checks as in Evaluate.
// The verdict is settled when it is not INCONCLUSIVE. With no outputs yet
// it settles only an exact match of the pinned seed (REPRODUCED, exact,
// unless a SystemCheck among extra holds against it); otherwise it is
// ErrNoRuns.
func EvaluateSequential(stored output.Output, outs []output.Output, exact *bool, rules Rules, final bool, extra ...Check) (*Evaluation, error) {
	rules = rules.WithDefaults()
	if err := rules.Validate(); err != nil {
		return nil, err
	}
	checks := append(slices.Clip(Checks), extra...)
	if len(outs) == 0 {
		if exact == nil || !*exact {
			return nil, ErrNoRuns
		}
		// The pinned seed settled the decision: no fresh-seed run can
		// change an exact match. Only the system checks, whose evidence
		// is already in, can still keep it from REPRODUCED.
		checks = slices.DeleteFunc(slices.Clone(extra), func(c Check) bool { _, ok := c.(SystemCheck); return !ok })
	}
	return evaluate(stored, outs, exact, rules, checks, func(c Check, s output.Output, o []output.Output, r Rules) (Finding, error) {
		if sc, ok := c.(SequentialCheck); ok {
			return sc.RunSequential(s, o, r)
		}
		if final {
			return c.Run(s, o, r)
		}
		name := fmt.Sprintf("%T", c)
		return Finding{Test: TestResult{Name: name, Method: "not sequential: tested once at the run cap"}, Outcome: Undecided, RejectLow: len(o) + 1,
			Reasons: []string{fmt.Sprintf("%s is not a sequential test: it is tested once, at the run cap", name)}}, nil
	})
}
