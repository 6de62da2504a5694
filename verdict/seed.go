package verdict

import (
	"fmt"
	"math"

	"github.com/reprise-dev/reprise/output"
)

// SeedProbe is the evidence of a seed-determinism probe: when the pinned
// seed's run did not give back the stored output, the replay runs the
// pinned seed once more and compares the two answers' canonical bytes.
//
// Two identical answers show the system deterministic given the seed
// (and so the stored output did not come from it at this seed) unless
// the system ignores seeds and happened to answer alike twice: with an
// answer x it gives with probability q, that happens with probability q.
// So the check also counts the first n* fresh-seed outputs equal to the
// pinned answer (Answer), K, and rejects (DIVERGED, basis exact) when the
// two runs are identical and K = 0. For a system that ignores seeds the
// runs are independent draws, so the probability of that is at most
// max_q q·(1−q)^n* = n*^n* / (n*+1)^(n*+1) (at q = 1/(n*+1)); n* is the
// fewest fresh outputs that bring this below the check's level (73 at
// level 0.005). K only grows with the runs, so asking at every look adds
// no false alarm. It takes its share of alpha like any check. When the
// runs differ (the system does not honour the seed), or K > 0 (the
// answer is common, and two alike answers say nothing), it does not vote
// (Neutral). A caller adds it (as an extra check) only after a pinned-seed
// mismatch.
type SeedProbe struct {
	// Identical: the two pinned-seed runs gave bit-identical canonical
	// bytes.
	Identical bool
	// Answer is the pinned seed's (normalized) answer.
	Answer output.Output
}

// Applies to every stored output: the caller adds the probe only when it
// ran one.
func (SeedProbe) Applies(output.Output) bool { return true }

// ProbeRuns is n*: the fewest fresh-seed outputs with n^n/(n+1)^(n+1) ≤
// a (see SeedProbe).
func ProbeRuns(a float64) int {
	n := 1
	for float64(n)*math.Log(float64(n))-float64(n+1)*math.Log(float64(n+1)) > math.Log(a) {
		n++
	}
	return n
}

// Run implements Check.
func (p SeedProbe) Run(s output.Output, outs []output.Output, r Rules) (Finding, error) {
	need := ProbeRuns(r.Alpha)
	f := Finding{Test: TestResult{Name: "seed_determinism",
		Method: fmt.Sprintf("the pinned seed run twice, the two answers' canonical bytes compared; rejects when they are identical and the pinned answer is not among the first %d fresh-seed outputs (for a system that ignores seeds P ≤ n^n/(n+1)^(n+1) ≤ level)", need)}}
	if !p.Identical {
		f.Outcome, f.Test.Rejected = Neutral, ptr(false)
		f.Test.Skipped = "the system does not honour the seed: two runs of the pinned seed differ"
		f.Reasons = []string{"the system does not honour the seed: two runs of the pinned seed differ, so its mismatch says nothing; the behavioral checks decide"}
		return f, nil
	}
	first := outs[:min(need, len(outs))]
	k := 0
	for _, o := range first {
		if o.Equal(p.Answer) {
			k++
		}
	}
	f.Test.Successes, f.Test.Trials = ptr(k), ptr(len(first))
	switch {
	case k > 0:
		f.Outcome, f.Test.Rejected = Neutral, ptr(false)
		f.Reasons = []string{fmt.Sprintf("the pinned seed, run twice, gave identical answers, but that answer also came back under %d of the first %d fresh seeds: two alike answers do not show the system deterministic; the behavioral checks decide", k, len(first))}
	case len(first) < need:
		f.Outcome = Undecided
		f.RejectLow = need
		f.Reasons = []string{fmt.Sprintf("the pinned seed, run twice, gave identical answers; not settled until %d fresh-seed outputs show whether that answer is common (%d so far, none equal)", need, len(first))}
	default:
		f.Outcome, f.Test.Rejected = Rejects, ptr(true)
		pv := math.Exp(float64(need)*math.Log(float64(need)) - float64(need+1)*math.Log(float64(need+1)))
		f.Test.PValue = ptr(pv)
		f.Reasons = []string{fmt.Sprintf("the pinned seed, run twice, gave bit-identical answers, and none of the first %d fresh seeds gave that answer (p ≤ %.4g ≤ level %.4g): the system is deterministic given the seed, so the stored output did not come from this system at this seed", need, pv, r.Alpha)}
	}
	return f, nil
}

// RunSequential implements SequentialCheck (the count only grows: see
// SeedProbe).
func (p SeedProbe) RunSequential(s output.Output, outs []output.Output, r Rules) (Finding, error) {
	return p.Run(s, outs, r)
}
