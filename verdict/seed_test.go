package verdict

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/output"
)

// ProbeRuns is the fewest m with max_q q^2·(1−q)^m ≤ a (PinnedRuns = 3).
// Values from Python, maximising over a grid of q rather than by the
// closed form ProbeBound uses:
// bound = lambda m: max((i/200000)**2*(1-i/200000)**m for i in range(1, 200000))
// m = 1; while bound(m) > a: m += 1
// (a = 0.005: 10, bound 0.0044863; 0.01: 7, 0.0085028; 0.0025: 14, 0.0024095).
func TestProbeRuns(t *testing.T) {
	for _, c := range []struct {
		a     float64
		want  int
		bound float64
	}{{0.005, 10, 0.004486266190846245}, {0.01, 7, 0.008502833724874221}, {0.0025, 14, 0.002409532388188751}} {
		if got := ProbeRuns(c.a); got != c.want {
			t.Errorf("ProbeRuns(%g) = %d, want %d", c.a, got, c.want)
		}
		if got := ProbeBound(c.want); math.Abs(got-c.bound) > 1e-9 {
			t.Errorf("ProbeBound(%d) = %.10g, want %.10g", c.want, got, c.bound)
		}
	}
	if ProbeBound(0) != 1 {
		t.Errorf("ProbeBound(0) = %g, want 1", ProbeBound(0))
	}
}

// TestSeedProbeVotes: the probe rejects (DIVERGED, basis exact) a stored
// output whose pinned seed gave, three times, an answer the fresh seeds never
// give, even though the stored output is a plausible replay (the issue's
// false REPRODUCED: model B's text stored in a record naming model A);
// before enough fresh outputs it is undecided; when the two runs differ,
// or the answer is common, it does not vote and the behavioral checks
// decide.
func TestSeedProbeVotes(t *testing.T) {
	model := newChain(1)
	seeds := seq(999, 5000)
	outs := texts(model, seeds)
	stored := model.text(7) // a plausible text
	pinned := "a text no fresh seed gives"
	answer := output.Output{Text: &pinned}
	st := output.Output{Text: &stored}

	ev, err := Evaluate(st, outs, ptr(false), Rules{}, SeedProbe{Identical: true, Answer: answer})
	if err != nil {
		t.Fatal(err)
	}
	why := strings.Join(ev.Reasons, "\n")
	if ev.Verdict != Diverged || ev.Basis != "exact" || !strings.Contains(why, "none of the first 999 fresh seeds gave that answer") {
		t.Fatalf("deterministic: %s %q %v", ev.Verdict, ev.Basis, ev.Reasons)
	}
	// Without the probe the same evidence is REPRODUCED (behavioral).
	if ev, _ := Evaluate(st, outs, ptr(false), Rules{}); ev.Verdict != Reproduced {
		t.Fatalf("without the probe: %s %v", ev.Verdict, ev.Reasons)
	}
	// The p-value is the bound at all 999 outputs (none equal).
	for _, tr := range ev.Tests {
		if tr.Name == "seed_determinism" && (tr.PValue == nil || math.Abs(*tr.PValue-ProbeBound(999)) > 1e-15) {
			t.Fatalf("seed_determinism p = %v, want %g", tr.PValue, ProbeBound(999))
		}
	}
	// Sequentially: undecided before 10 fresh outputs, DIVERGED at 10.
	ev, err = EvaluateSequential(st, outs[:9], ptr(false), Rules{}, false, SeedProbe{Identical: true, Answer: answer})
	if err != nil || ev.Verdict != Inconclusive || ev.RejectLow != 10 {
		t.Fatalf("9 outputs: %s, reject low %d, %v", ev.Verdict, ev.RejectLow, err)
	}
	stop, err := Decide(st, outs[:80], ptr(false), Rules{}, 80, DefaultMaxRuns, SeedProbe{Identical: true, Answer: answer})
	if err != nil || !stop.Settled || stop.Evaluation.Verdict != Diverged || !strings.Contains(stop.Why, "no fresh seed gave that answer") {
		t.Fatalf("80 outputs: %+v %v", stop, err)
	}
	// A common answer: two alike answers show nothing.
	common := outs[0]
	ev, _ = Evaluate(st, outs, ptr(false), Rules{}, SeedProbe{Identical: true, Answer: common})
	if ev.Verdict != Reproduced || ev.Basis != "behavioral" || !strings.Contains(strings.Join(ev.Reasons, "\n"), "alike answers do not show the system deterministic") {
		t.Fatalf("common answer: %s %q %v", ev.Verdict, ev.Basis, ev.Reasons)
	}
	// Two runs that differ: the system does not honour the seed.
	ev, _ = Evaluate(st, outs, ptr(false), Rules{}, SeedProbe{Identical: false, Answer: answer})
	if ev.Verdict != Reproduced || !strings.Contains(strings.Join(ev.Reasons, "\n"), "the system does not honour the seed: runs of the pinned seed differ") {
		t.Fatalf("seed ignored: %s %v", ev.Verdict, ev.Reasons)
	}
	// No probe after an exact match (or without a pinned seed).
	if ev, _ := Evaluate(st, outs, nil, Rules{}, SeedProbe{Identical: true, Answer: answer}); ev.Verdict != Reproduced {
		t.Fatalf("no pinned seed: %s", ev.Verdict)
	}
}

// TestSeedProbeCalibration: honest records of a system that ignores seeds
// (each run an independent draw from M equally likely answers, M = 6,
// the least favourable q = 2/(n*+2) at level 0.005 with n* = 10) are
// rejected by the probe at most its level of the time, up to the margin
// an honest test exceeds with probability below 1e-6. Seeds pinned.
func TestSeedProbeCalibration(t *testing.T) {
	r := DefaultRules()
	r.Alpha = 0.005
	n := ProbeRuns(r.Alpha)
	const trials, m = 20000, 6
	rng := rand.New(rand.NewPCG(19, 0))
	draw := func() output.Output { s := fmt.Sprint(rng.IntN(m)); return output.Output{Text: &s} }
	rejected := 0
	for range trials {
		stored, pinned, probe1, probe2 := draw(), draw(), draw(), draw()
		if pinned.Equal(stored) {
			continue // an exact match: no probe
		}
		outs := make([]output.Output, n)
		for i := range outs {
			outs[i] = draw()
		}
		f, err := SeedProbe{Identical: probe1.Equal(pinned) && probe2.Equal(pinned), Answer: pinned}.Run(stored, outs, r)
		if err != nil {
			t.Fatal(err)
		}
		if f.Outcome == Rejects {
			rejected++
		}
	}
	// the probability of a rejection is (1-1/m)·(1/m)^2·(1-1/m)^n ≤ level
	want := (1 - 1.0/m) * math.Pow(1.0/m, 2) * math.Pow(1-1.0/m, float64(n))
	limit := binomUpper(trials, r.Alpha, 1e-6)
	t.Logf("seed-ignoring honest records rejected in %d of %d (expected %.5f, level %g, limit %d)", rejected, trials, want, r.Alpha, limit)
	if rejected > limit {
		t.Errorf("rejected in %d of %d, above the limit %d", rejected, trials, limit)
	}
}

// TestSeedProbePValueValid: the probe's p-value, ProbeBound(M) over the
// fresh outputs before the first equal to the pinned answer, is valid at
// every t for a system that ignores seeds: P(p ≤ t) ≤ t, for M equally
// likely answers near the least favourable q = 2/(m_t + 2) of each t
// (t = 0.02, 0.005, 0.001: m_t = 4, 10, 30), checked over 40,000 honest
// records each with up to 200 fresh outputs, up to the margin an honest
// test exceeds with probability below 1e-6. Seeds pinned.
func TestSeedProbePValueValid(t *testing.T) {
	r := DefaultRules()
	r.Alpha = 0.5 // every identical probe with M ≥ 1 rejects and reports its p
	for i, c := range []struct {
		answers int
		t       float64
	}{{3, 0.02}, {6, 0.005}, {16, 0.001}} {
		const trials = 40000
		rng := rand.New(rand.NewPCG(23, uint64(i)))
		draw := func() output.Output { s := fmt.Sprint(rng.IntN(c.answers)); return output.Output{Text: &s} }
		small := 0
		for range trials {
			stored, pinned, p1, p2 := draw(), draw(), draw(), draw()
			if pinned.Equal(stored) {
				continue
			}
			outs := make([]output.Output, 200)
			for j := range outs {
				outs[j] = draw()
			}
			f, err := SeedProbe{Identical: p1.Equal(pinned) && p2.Equal(pinned), Answer: pinned}.Run(stored, outs, r)
			if err != nil {
				t.Fatal(err)
			}
			if f.Test.PValue != nil && *f.Test.PValue <= c.t {
				small++
			}
		}
		limit := binomUpper(trials, c.t, 1e-6)
		t.Logf("%d answers: p ≤ %g in %d of %d honest records (limit %d)", c.answers, c.t, small, trials, limit)
		if small > limit {
			t.Errorf("%d answers: p ≤ %g in %d of %d, above the limit %d", c.answers, c.t, small, trials, limit)
		}
	}
}
