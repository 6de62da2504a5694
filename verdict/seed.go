package verdict

import (
	"fmt"
	"math"
	"slices"

	"github.com/reprise-dev/reprise/output"
)

// SeedProbe is the evidence of a seed-determinism probe: when the pinned
// seed's run did not give back the stored output, the replay runs the
// pinned seed PinnedRuns − 1 more times and compares the answers'
// canonical bytes.
//
// Identical answers show the system deterministic given the seed (and so
// the stored output did not come from it at this seed) unless the system
// ignores seeds and happened to answer alike every time: with an answer x
// it gives with probability q, that happens with probability q^(r−1) (r =
// PinnedRuns). So the check also counts M, the fresh-seed outputs before
// the first one equal to the pinned answer (Answer), and rejects
// (DIVERGED, basis exact) when the pinned runs are identical and M ≥ n*.
// For a system that ignores seeds the runs are independent draws, so the
// probability that the pinned runs agree and the first m fresh outputs
// miss their answer is at most ProbeBound(m) = max_q q^(r−1)·(1−q)^m; n*
// is the fewest m that bring this below the check's level (10 at level
// 0.005, with r = 3). The p-value is ProbeBound(M): P(ProbeBound(M) ≤ t)
// ≤ ProbeBound(m_t) ≤ t, with m_t the fewest m whose bound is ≤ t, since
// M ≥ m_t only when the first m_t miss; so it stays valid however many
// runs a sequential replay made, and more runs make it smaller. M only
// grows with the runs, so asking at every look adds no false alarm. It
// takes its share of alpha like any check. When the runs differ (the
// system does not honour the seed), or an early fresh output equals the
// answer (it is common, and alike answers say nothing), it does not vote
// (Neutral). A caller adds it (as an extra check) only after a pinned-seed
// mismatch.
type SeedProbe struct {
	// Identical: the PinnedRuns pinned-seed runs gave bit-identical
	// canonical bytes.
	Identical bool
	// Answer is the pinned seed's (normalized) answer.
	Answer output.Output
}

// Applies to every stored output: the caller adds the probe only when it
// ran one.
func (SeedProbe) Applies(output.Output) bool { return true }

// PinnedRuns is how many times in all a replay runs the pinned seed when
// its first run did not give back the stored output: the first run and
// PinnedRuns − 1 probe runs (see SeedProbe).
const PinnedRuns = 3

// ProbeBound is the most probability a system that ignores seeds has of
// giving PinnedRuns identical pinned-seed answers and then m fresh outputs
// none equal to them: max_q q^(r−1)·(1−q)^m, reached at q = (r−1)/(r−1+m)
// (r = PinnedRuns); 1 at m = 0.
func ProbeBound(m int) float64 {
	if m <= 0 {
		return 1
	}
	a, fm := float64(PinnedRuns-1), float64(m)
	return math.Exp(a*math.Log(a) + fm*math.Log(fm) - (a+fm)*math.Log(a+fm))
}

// ProbeRuns is n*: the fewest fresh-seed outputs m with ProbeBound(m) ≤ a
// (see SeedProbe).
func ProbeRuns(a float64) int {
	n := 1
	for ProbeBound(n) > a {
		n++
	}
	return n
}

// Run implements Check.
func (p SeedProbe) Run(s output.Output, outs []output.Output, r Rules) (Finding, error) {
	need := ProbeRuns(r.Alpha)
	f := Finding{Test: TestResult{Name: "seed_determinism",
		Method: fmt.Sprintf("the pinned seed run %d times, the answers' canonical bytes compared; rejects when they are identical and the pinned answer is not among the first %d fresh-seed outputs (for a system that ignores seeds P ≤ max_q q^%d·(1−q)^m ≤ level); p = that bound at m, the fresh outputs before the first equal one", PinnedRuns, need, PinnedRuns-1)}}
	if !p.Identical {
		f.Outcome, f.Test.Rejected = Neutral, ptr(false)
		f.Test.Skipped = "the system does not honour the seed: runs of the pinned seed differ"
		f.Reasons = []string{"the system does not honour the seed: runs of the pinned seed differ, so its mismatch says nothing; the behavioral checks decide"}
		return f, nil
	}
	m := slices.IndexFunc(outs, p.Answer.Equal)
	if m < 0 {
		m = len(outs)
	}
	first := min(need, len(outs))
	k := 0
	for _, o := range outs[:first] {
		if o.Equal(p.Answer) {
			k++
		}
	}
	f.Test.Successes, f.Test.Trials = ptr(k), ptr(first)
	switch {
	case k > 0:
		f.Outcome, f.Test.Rejected = Neutral, ptr(false)
		f.Reasons = []string{fmt.Sprintf("the pinned seed, run %d times, gave identical answers, but that answer also came back under %d of the first %d fresh seeds: alike answers do not show the system deterministic; the behavioral checks decide", PinnedRuns, k, first)}
	case first < need:
		f.Outcome = Undecided
		f.RejectLow = need
		f.Reasons = []string{fmt.Sprintf("the pinned seed, run %d times, gave identical answers; not settled until %d fresh-seed outputs show whether that answer is common (%d so far, none equal)", PinnedRuns, need, first)}
	default:
		f.Outcome, f.Test.Rejected = Rejects, ptr(true)
		pv := ProbeBound(m)
		f.Test.PValue = ptr(pv)
		f.Reasons = []string{fmt.Sprintf("the pinned seed, run %d times, gave bit-identical answers, and none of the first %d fresh seeds gave that answer (p ≤ %.4g ≤ level %.4g): the system is deterministic given the seed, so the stored output did not come from this system at this seed", PinnedRuns, m, pv, r.Alpha)}
	}
	return f, nil
}

// RunSequential implements SequentialCheck (the count only grows: see
// SeedProbe).
func (p SeedProbe) RunSequential(s output.Output, outs []output.Output, r Rules) (Finding, error) {
	return p.Run(s, outs, r)
}
