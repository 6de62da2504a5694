package counterfactual

import (
	"context"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/verdict"
)

// maxFalse is the largest count of false alarms among m simulations that a
// procedure with false-alarm rate at most alpha exceeds with probability
// below 1e-6: the smallest q with P(Binomial(m, alpha) > q) < 1e-6.
func maxFalse(m int, alpha float64) int {
	b := distuv.Binomial{N: float64(m), P: alpha}
	for q := 0; q <= m; q++ {
		if b.Survival(float64(q)) < 1e-6 {
			return q
		}
	}
	return m
}

// minPower is the fewest successes among m simulations that a procedure
// with power at least p reaches but with probability below 1e-6.
func minPower(m int, p float64) int {
	b := distuv.Binomial{N: float64(m), P: p}
	for q := m; q >= 0; q-- {
		if b.CDF(float64(q)-1) < 1e-6 && b.CDF(float64(q)) >= 1e-6 {
			return q
		}
	}
	return 0
}

// sampler draws outputs of a categorical model: labels (and, withScore,
// the label's probability as score) from a seeded PCG.
type sampler struct {
	m         model
	rng       *rand.Rand
	withScore bool
}

func (s *sampler) draw(n int) []output.Output {
	outs := make([]output.Output, n)
	for i := range outs {
		l, p := s.m.answer(int64(s.rng.Uint64() >> 1))
		outs[i].Label = &l
		if s.withScore {
			outs[i].Score = &p
		}
	}
	return outs
}

// simulate runs m seeded comparisons of a against b along plan and counts
// their verdicts.
func simulate(t *testing.T, m int, plan Plan, a, b model, withScore bool, rules verdict.Rules, seed uint64) map[verdict.Sameness]int {
	t.Helper()
	got := map[verdict.Sameness]int{}
	l := "approved"
	stored := output.Output{Label: &l}
	if withScore {
		s := 0.5
		stored.Score = &s
	}
	for i := range m {
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		sides := [2]*sampler{{a, rng, withScore}, {b, rng, withScore}}
		c, _, err := plan.Sequence(stored, rules, func(s, n int) ([]output.Output, error) { return sides[s].draw(n), nil })
		if err != nil {
			t.Fatal(err)
		}
		got[c.Verdict]++
	}
	return got
}

// Calibration: two systems with one output distribution are called
// DIFFERENT at most at rate alpha (sequential looks, labels and scores),
// and two at total variation exactly the margin are called SAME at most
// at rate alpha. Asserted with tolerances that fail by chance < 1e-6.
func TestCompareCalibration(t *testing.T) {
	const m = 600
	rules := verdict.Rules{Alpha: 0.1, Margin: 0.2}
	t.Run("different", func(t *testing.T) {
		a := model{labels: []string{"approved", "referred", "denied"}, probs: []float64{0.6, 0.3, 0.1}}
		got := simulate(t, m, NewPlan(true, 0, 200), a, a, true, rules, 1)
		if q := maxFalse(m, rules.Alpha); got[verdict.Different] > q {
			t.Errorf("DIFFERENT in %d of %d comparisons of one system with itself, more than %d (alpha %g)", got[verdict.Different], m, q, rules.Alpha)
		}
		t.Logf("same distribution: %v", got)
	})
	t.Run("same", func(t *testing.T) {
		a := model{labels: []string{"approved", "referred"}, probs: []float64{0.5, 0.5}}
		b := model{labels: []string{"approved", "referred"}, probs: []float64{0.7, 0.3}} // TV 0.2 = margin
		got := simulate(t, 300, NewPlan(true, 0, 4000), a, b, false, rules, 2)
		if q := maxFalse(300, rules.Alpha); got[verdict.Same] > q {
			t.Errorf("SAME in %d of 300 comparisons at total variation = margin, more than %d", got[verdict.Same], q)
		}
		t.Logf("TV = margin: %v", got)
	})
	// SAME rests on each aspect's upper confidence bound on the distance:
	// it lies below the true distance at most at rate level.
	t.Run("bounds", func(t *testing.T) {
		a := model{labels: []string{"approved", "referred", "denied"}, probs: []float64{0.5, 0.3, 0.2}}
		b := model{labels: []string{"approved", "referred", "denied"}, probs: []float64{0.3, 0.3, 0.4}}
		const trueTV, trueKS = 0.2, 0.2                // scores 0.5/0.3/0.2 and 0.3/0.3/0.4: sup|F−G| = 0.2
		wide := verdict.Rules{Alpha: 0.4, Margin: 0.2} // level 0.2 per aspect
		misses := [2]int{}
		for i := range m {
			rng := rand.New(rand.NewPCG(5, uint64(i)))
			sa, sb := &sampler{a, rng, true}, &sampler{b, rng, true}
			c, err := verdict.CompareSystems(output.Output{Label: new(string), Score: new(float64)}, sa.draw(40), sb.draw(40), wide)
			if err != nil {
				t.Fatal(err)
			}
			for j, want := range []float64{trueTV, trueKS} {
				if c.Tests[j].Interval.Upper < want {
					misses[j]++
				}
			}
		}
		if q := maxFalse(m, 0.2); misses[0] > q || misses[1] > q {
			t.Errorf("upper bounds below the true distance: labels %d, scores %d of %d, more than %d", misses[0], misses[1], m, q)
		}
	})
}

// Power: one system against itself is SAME within 1000 runs each, and the
// fixture's two versions (total variation 0.6) are DIFFERENT, in at least
// 99% of comparisons (tolerance: fails by chance < 1e-6 at power 0.99).
func TestComparePower(t *testing.T) {
	const m = 200
	rules := verdict.DefaultRules()
	q := minPower(m, 0.99)
	got := simulate(t, m, NewPlan(true, 0, 1000), m241, m241, true, rules, 3)
	if got[verdict.Same] < q {
		t.Errorf("SAME in %d of %d comparisons of one system with itself, want at least %d: %v", got[verdict.Same], m, q, got)
	}
	t.Logf("itself: %v", got)
	got = simulate(t, m, NewPlan(true, 0, 1000), m241, m242, true, rules, 4)
	t.Logf("2.4.1 against 2.4.2: %v", got)
	if got[verdict.Different] < q {
		t.Errorf("DIFFERENT in %d of %d comparisons of 2.4.1 and 2.4.2, want at least %d: %v", got[verdict.Different], m, q, got)
	}
}

// Coverage: over seeded honest records (the stored output drawn from the
// logged system at a fresh seed, no pinned seed: the replay is
// behavioral), the attribution set contains the record's own system in
// at least 1 − alpha of them (tolerance: fails by chance < 1e-6).
func TestAttributeCoverage(t *testing.T) {
	own := model{labels: []string{"approved", "referred", "denied"}, probs: []float64{0.9, 0.08, 0.02}}
	w := newWorld(t, map[string]model{"own": own, "other": m242})
	ctx := context.Background()
	pool := w.pool()
	defer pool.Close(ctx)
	const m = 500
	alpha := 0.2
	missed := 0
	for i := range m {
		l, s := own.answer(int64(rand.New(rand.NewPCG(7, uint64(i))).Uint64() >> 1))
		rec := w.record("own", nil, l, s)
		opts := hostOpts()
		opts.Rules.Alpha = alpha
		seed := uint64(i)
		opts.ReplaySeed = &seed
		res, err := Attribute(ctx, w.st, rec, []System{w.system("other")}, pool, opts)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Report.Candidates[0].InSet {
			missed++
		}
	}
	if q := maxFalse(m, alpha); missed > q {
		t.Errorf("the own system was left out of the set for %d of %d honest records, more than %d (alpha %g)", missed, m, q, alpha)
	}
	t.Logf("left out %d of %d", missed, m)
}
