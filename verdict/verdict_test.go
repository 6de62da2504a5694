package verdict

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/output"
)

func TestRankPValue(t *testing.T) {
	ref := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9}
	cases := []struct{ x, want float64 }{
		{5, 1},             // middle: 2*min(6,6)/10 capped
		{0, 2 * 1.0 / 10},  // below all: p_lo = 1/10
		{10, 2 * 1.0 / 10}, // above all
		{1, 2 * 2.0 / 10},  // tie with the smallest
	}
	for _, c := range cases {
		if got := RankPValue(c.x, ref); got != c.want {
			t.Errorf("RankPValue(%g) = %g, want %g", c.x, got, c.want)
		}
	}
	// Validity under exchangeability: P(p <= 0.1) <= 0.1 over many draws.
	rng := rand.New(rand.NewPCG(1, 2))
	rejects := 0
	const trials = 4000
	for range trials {
		ref := make([]float64, 49)
		for i := range ref {
			ref[i] = rng.NormFloat64()
		}
		if RankPValue(rng.NormFloat64(), ref) <= 0.1 {
			rejects++
		}
	}
	if rate := float64(rejects) / trials; rate > 0.11 {
		t.Fatalf("rejection rate %.3f > 0.1", rate)
	}
}

func lbl(l string, sc float64) output.Output { return output.Output{Label: &l, Score: &sc} }

// outs returns n outputs: k with label "a" and scores 0.5..., the rest "b".
func outs(n, k int) []output.Output {
	o := make([]output.Output, n)
	for i := range o {
		l := "b"
		if i < k {
			l = "a"
		}
		o[i] = lbl(l, 0.5+float64(i%10)/100)
	}
	return o
}

func TestEvaluateCombinesChecks(t *testing.T) {
	yes, no := true, false
	txt := func(s string) output.Output { return output.Output{Text: &s} }
	sc := func(x float64) output.Output { return output.Output{Score: &x} }
	scores := func(n int) []output.Output {
		o := make([]output.Output, n)
		for i := range o {
			o[i] = sc(float64(i))
		}
		return o
	}
	cases := []struct {
		name   string
		stored output.Output
		outs   []output.Output
		exact  *bool
		want   Verdict
		basis  string
		reason string
		nTests int
	}{
		{"exact wins", lbl("zzz", 99), outs(10, 5), &yes, Reproduced, "exact", "reproduced the stored output exactly", 2},
		{"common label, typical score", lbl("a", 0.545), outs(400, 200), &no, Reproduced, "behavioral", "lies at or above", 2},
		{"label never seen at N=400", lbl("c", 0.5), outs(400, 200), nil, Diverged, "", "lies below the minimum frequency", 2},
		{"label never seen at N=100", lbl("c", 0.5), outs(100, 50), nil, Inconclusive, "", "at least 368 runs (-n 368)", 2},
		{"score rejected", lbl("a", 5), outs(400, 200), nil, Diverged, "", "is rejected among 200", 2},
		{"text only, exact text frequent", txt("x"), []output.Output{txt("x"), txt("x"), txt("x"), txt("y")}, nil, Reproduced, "behavioral", "the stored text came back exactly in 3 of 4", 2},
		{"score only, typical", sc(50), scores(100), nil, Reproduced, "behavioral", "is not rejected among 100", 1},
		{"score only, extreme", sc(1000), scores(100), nil, Diverged, "", "is rejected", 1},
		{"score skipped when the label never came back", lbl("c", 0.5), outs(400, 400), nil, Diverged, "", "no run", 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev, err := Evaluate(c.stored, c.outs, c.exact, Rules{})
			if err != nil {
				t.Fatal(err)
			}
			all := strings.Join(ev.Reasons, " | ")
			if ev.Verdict != c.want || ev.Basis != c.basis || len(ev.Tests) != c.nTests {
				t.Fatalf("verdict %s (%s), %d tests; want %s (%s), %d tests; reasons: %s", ev.Verdict, ev.Basis, len(ev.Tests), c.want, c.basis, c.nTests, all)
			}
			if c.reason != "no run" && !strings.Contains(all, c.reason) {
				t.Fatalf("reasons %q lack %q", all, c.reason)
			}
		})
	}
}

func TestEvaluateErrors(t *testing.T) {
	if _, err := Evaluate(lbl("a", 1), nil, nil, Rules{}); err != ErrNoRuns {
		t.Fatalf("no runs: %v", err)
	}
	if _, err := Evaluate(lbl("a", 1), outs(3, 1), nil, Rules{Alpha: 2}); err == nil {
		t.Fatal("alpha 2 accepted")
	}
}

// The 0-of-N rule: RunsToRejectNever(defaults) = ceil(ln 0.025 / ln 0.99) = 368,
// and at that N the Clopper-Pearson upper bound of 0/N is below 0.01
// (R: binom.test(0, 368)$conf.int[2] = 0.009973...; 367 gives 0.010000...).
func TestRunsToRejectNever(t *testing.T) {
	if got := RunsToRejectNever(DefaultRules()); got != 368 {
		t.Fatalf("got %d, want 368", got)
	}
}
