package counterfactual

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/verdict"
)

// BenchmarkCompareLook is one look of the two-system test on labels and
// scores at 1000 runs a side (Fisher 2×3 exact, KS, the bounds).
func BenchmarkCompareLook(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	sa, sb := &sampler{m241, rng, true}, &sampler{m241, rng, true}
	a, c := sa.draw(1000), sb.draw(1000)
	l := "approved"
	stored := output.Output{Label: &l, Score: new(float64)}
	for b.Loop() {
		if _, err := verdict.CompareSystems(stored, a, c, verdict.DefaultRules()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAgainstSame is a whole counterfactual replay on fake systems
// that behave alike (SAME: every look, up to 1000 runs a side).
func BenchmarkAgainstSame(b *testing.B) {
	w := newWorld(b, map[string]model{"2.4.1": m241, "twin": m241})
	seed := int64(42)
	l, s := m241.answer(seed)
	rec := w.record("2.4.1", &seed, l, s)
	ctx := context.Background()
	pool := w.pool()
	defer pool.Close(ctx)
	var runs int
	for b.Loop() {
		res, err := Against(ctx, w.st, rec, w.system("twin"), pool, hostOpts())
		if err != nil || res.Report.Verdict != verdict.Same {
			b.Fatal(err, res.Report.Verdict)
		}
		runs = len(res.Runs)
	}
	b.ReportMetric(float64(runs), "runs/op")
}
