package verdict

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/output"
)

// ProbeRuns is the fewest n with n^n/(n+1)^(n+1) ≤ a. Values from Python:
// n = 1; while n*log(n) - (n+1)*log(n+1) > log(a): n += 1
// (a = 0.005: 74, bound 0.0049380; 0.01: 37, 0.0098104; 0.0025: 147).
func TestProbeRuns(t *testing.T) {
	for _, c := range []struct {
		a    float64
		want int
	}{{0.005, 74}, {0.01, 37}, {0.0025, 147}} {
		if got := ProbeRuns(c.a); got != c.want {
			t.Errorf("ProbeRuns(%g) = %d, want %d", c.a, got, c.want)
		}
	}
}

// TestSeedProbeVotes: the probe rejects (DIVERGED, basis exact) a stored
// output whose pinned seed gave, twice, an answer the fresh seeds never
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
	if ev.Verdict != Diverged || ev.Basis != "exact" || !strings.Contains(why, "none of the first 74 fresh seeds gave that answer") {
		t.Fatalf("deterministic: %s %q %v", ev.Verdict, ev.Basis, ev.Reasons)
	}
	// Without the probe the same evidence is REPRODUCED (behavioral).
	if ev, _ := Evaluate(st, outs, ptr(false), Rules{}); ev.Verdict != Reproduced {
		t.Fatalf("without the probe: %s %v", ev.Verdict, ev.Reasons)
	}
	// Sequentially: undecided before 74 fresh outputs, DIVERGED at 74.
	ev, err = EvaluateSequential(st, outs[:73], ptr(false), Rules{}, false, SeedProbe{Identical: true, Answer: answer})
	if err != nil || ev.Verdict != Inconclusive || ev.RejectLow != 74 {
		t.Fatalf("73 outputs: %s, reject low %d, %v", ev.Verdict, ev.RejectLow, err)
	}
	stop, err := Decide(st, outs[:80], ptr(false), Rules{}, 80, DefaultMaxRuns, SeedProbe{Identical: true, Answer: answer})
	if err != nil || !stop.Settled || stop.Evaluation.Verdict != Diverged || !strings.Contains(stop.Why, "no fresh seed gave that answer") {
		t.Fatalf("80 outputs: %+v %v", stop, err)
	}
	// A common answer: two alike answers show nothing.
	common := outs[0]
	ev, _ = Evaluate(st, outs, ptr(false), Rules{}, SeedProbe{Identical: true, Answer: common})
	if ev.Verdict != Reproduced || ev.Basis != "behavioral" || !strings.Contains(strings.Join(ev.Reasons, "\n"), "two alike answers do not show the system deterministic") {
		t.Fatalf("common answer: %s %q %v", ev.Verdict, ev.Basis, ev.Reasons)
	}
	// Two runs that differ: the system does not honour the seed.
	ev, _ = Evaluate(st, outs, ptr(false), Rules{}, SeedProbe{Identical: false, Answer: answer})
	if ev.Verdict != Reproduced || !strings.Contains(strings.Join(ev.Reasons, "\n"), "the system does not honour the seed: two runs of the pinned seed differ") {
		t.Fatalf("seed ignored: %s %v", ev.Verdict, ev.Reasons)
	}
	// No probe after an exact match (or without a pinned seed).
	if ev, _ := Evaluate(st, outs, nil, Rules{}, SeedProbe{Identical: true, Answer: answer}); ev.Verdict != Reproduced {
		t.Fatalf("no pinned seed: %s", ev.Verdict)
	}
}

// TestSeedProbeCalibration: honest records of a system that ignores seeds
// (each run an independent draw from M equally likely answers, M = 75,
// the least favourable q = 1/(n*+1) at level 0.005) are rejected by the
// probe at most its level of the time, up to the margin an honest test
// exceeds with probability below 1e-6. Seeds pinned.
func TestSeedProbeCalibration(t *testing.T) {
	r := DefaultRules()
	r.Alpha = 0.005
	n := ProbeRuns(r.Alpha)
	const trials, m = 20000, 75
	rng := rand.New(rand.NewPCG(19, 0))
	draw := func() output.Output { s := fmt.Sprint(rng.IntN(m)); return output.Output{Text: &s} }
	rejected := 0
	for range trials {
		stored, pinned, probe := draw(), draw(), draw()
		if pinned.Equal(stored) {
			continue // an exact match: no probe
		}
		outs := make([]output.Output, n)
		for i := range outs {
			outs[i] = draw()
		}
		f, err := SeedProbe{Identical: probe.Equal(pinned), Answer: pinned}.Run(stored, outs, r)
		if err != nil {
			t.Fatal(err)
		}
		if f.Outcome == Rejects {
			rejected++
		}
	}
	// the probability of a rejection is (1-1/m)·(1/m)·(1-1/m)^n ≤ level
	want := (1 - 1.0/m) * (1.0 / m) * math.Pow(1-1.0/m, float64(n))
	limit := binomUpper(trials, r.Alpha, 1e-6)
	t.Logf("seed-ignoring honest records rejected in %d of %d (expected %.5f, level %g, limit %d)", rejected, trials, want, r.Alpha, limit)
	if rejected > limit {
		t.Errorf("rejected in %d of %d, above the limit %d", rejected, trials, limit)
	}
}
