package verdict

import "github.com/reprise-dev/reprise/output"

// SeedProbe is the evidence of a seed-determinism probe: when the pinned
// seed's run did not give back the stored output, the replay runs the
// pinned seed once more and compares the two answers' canonical bytes.
//
// It is a check that votes, at no share of alpha, because its evidence
// is certain rather than statistical: when the two runs are bit-identical,
// the system is deterministic given the seed, so had the stored output
// come from this system at this seed the first run would have given it
// back; the check rejects (DIVERGED, basis exact) whatever the other
// checks say. When the two runs differ, the system does not honour the
// seed and the probe says so without voting: the behavioral checks
// decide. A caller adds it (as an extra check) only after a pinned-seed
// mismatch; with an exact match it is not asked.
type SeedProbe struct {
	// Identical: the two pinned-seed runs gave bit-identical canonical
	// bytes.
	Identical bool
}

// Applies to every stored output: the caller adds the probe only when it
// ran one.
func (SeedProbe) Applies(output.Output) bool { return true }

// Run implements Check: Rejects when the two runs were identical, else
// Skipped (it does not vote; Evaluate leaves it out of the count).
func (p SeedProbe) Run(output.Output, []output.Output, Rules) (Finding, error) {
	f := Finding{Test: TestResult{Name: "seed_determinism",
		Method: "the pinned seed run twice: the two answers' canonical bytes compared (a certain test: no share of alpha)"}}
	if p.Identical {
		f.Outcome, f.Test.Rejected = Rejects, ptr(true)
		f.Reasons = []string{"the pinned seed, run twice, gave bit-identical answers: the system is deterministic given the seed, so the stored output did not come from this system at this seed"}
		return f, nil
	}
	f.Outcome, f.Test.Rejected = Skipped, ptr(false)
	f.Test.Skipped = "the system does not honour the seed: two runs of the pinned seed differ"
	f.Reasons = []string{"the system does not honour the seed: two runs of the pinned seed differ, so its mismatch says nothing; the behavioral checks decide"}
	return f, nil
}

// RunSequential implements SequentialCheck: its evidence is in before the
// fresh-seed runs, the same at every look.
func (p SeedProbe) RunSequential(s output.Output, outs []output.Output, r Rules) (Finding, error) {
	return p.Run(s, outs, r)
}
