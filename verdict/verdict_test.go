package verdict

import (
	"math"
	"math/rand/v2"
	"slices"
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
	o := labels(n, k)
	for i := range o {
		sc := 0.5 + float64(i%10)/100
		o[i].Score = &sc
	}
	return o
}

func TestEvaluateCombinesChecks(t *testing.T) {
	yes, no := true, false
	txt := func(s string) output.Output { return output.Output{Text: &s} }
	sc := func(x float64) output.Output { return output.Output{Score: &x} }
	texts := func(n, k int) []output.Output {
		o := make([]output.Output, n)
		for i := range o {
			o[i] = txt("y")
			if i < k {
				o[i] = txt("x")
			}
		}
		return o
	}
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
		// Defaults: alpha 0.01 over 2 checks (label, score), each at 0.005:
		// the label needs 528 runs and the score 399 same-label replays to
		// have the power to reject.
		{"exact wins", lbl("zzz", 99), outs(10, 5), &yes, Reproduced, "exact", "reproduced the stored output exactly", 2},
		{"common label, typical score", lbl("a", 0.545), outs(1000, 500), &no, Reproduced, "behavioral", "lies at or above", 2},
		{"label never seen at N=600", lbl("c", 0.5), outs(600, 300), nil, Diverged, "", "below the minimum frequency", 2},
		{"label never seen at N=100", lbl("c", 0.5), outs(100, 50), nil, Inconclusive, "", "at least 528 runs (-n 528)", 2},
		{"score rejected", lbl("a", 5), outs(1000, 500), nil, Diverged, "", "is rejected among 500", 2},
		{"score extreme but underpowered", lbl("a", 5), outs(1000, 300), nil, Inconclusive, "", "no verdict without power: score_rank", 2},
		{"common label at N=400 is underpowered", lbl("a", 0.545), outs(400, 200), nil, Inconclusive, "", "no verdict without power: label_frequency, score_rank", 2},
		{"text only, exact text frequent", txt("x"), texts(500, 375), nil, Reproduced, "behavioral", "the stored text came back exactly in 375 of 500", 1},
		{"text only, too few runs", txt("x"), texts(4, 3), nil, Inconclusive, "", "no verdict without power: text_conformal", 1},
		{"score only, typical", sc(150), scores(300), nil, Reproduced, "behavioral", "is not rejected among 300", 1},
		{"score only, extreme", sc(1000), scores(300), nil, Diverged, "", "is rejected", 1},
		{"score only, extreme among too few", sc(1000), scores(100), nil, Inconclusive, "", "about 199 runs would settle it", 1},
		{"score skipped when the label never came back", lbl("c", 0.5), outs(600, 600), nil, Diverged, "", "no run", 2},
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

// The 0-of-N rule: at the label check's level a, 0 of N rejects once
// (1−m)^N ≤ a: N = ceil(ln a / ln 0.99). With the defaults over two checks
// a = 0.005: 528 (R: pbinom(0, 528, 0.01) = 0.004958870, pbinom(0, 527,
// 0.01) = 0.005008960); alone a = 0.01: 459 (pbinom(0, 459, 0.01) =
// 0.009920974, pbinom(0, 458, 0.01) = 0.010021186).
func TestRunsToRejectNever(t *testing.T) {
	for _, c := range []struct {
		alpha float64
		want  int
	}{{0.005, 528}, {0.01, 459}, {0.025, 368}} {
		if got := RunsToRejectNever(Rules{MinFrequency: 0.01, Alpha: c.alpha}); got != c.want {
			t.Errorf("alpha %g: got %d, want %d", c.alpha, got, c.want)
		}
	}
}

// The rank p-value's smallest value among m scores is 2/(m+1): it reaches
// a once m ≥ 2/a − 1.
func TestScoresToReject(t *testing.T) {
	for _, c := range []struct {
		alpha float64
		want  int
	}{{0.005, 399}, {0.01, 199}, {0.05, 39}, {0.0025, 799}} {
		if got := ScoresToReject(c.alpha); got != c.want {
			t.Errorf("alpha %g: got %d, want %d", c.alpha, got, c.want)
		}
	}
}

// The case: a rare label (7%) with an impossible score (0.99) at
// N = 300 was REPRODUCED; now the score check lacks power and says so.
func TestRareLabelImpossibleScoreIsInconclusive(t *testing.T) {
	o := make([]output.Output, 300)
	for i := range o {
		if i < 21 {
			o[i] = lbl("rare", 0.3+float64(i)/100)
		} else {
			o[i] = lbl("common", 0.5)
		}
	}
	ev, err := Evaluate(lbl("rare", 0.99), o, nil, Rules{})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Verdict != Inconclusive || !slices.Contains(ev.Underpowered, "score_rank") || ev.RunsNeeded != 5700 {
		t.Fatalf("verdict %s, underpowered %v, runs needed %d; want INCONCLUSIVE, score_rank, 5700 (399 × 300/21)", ev.Verdict, ev.Underpowered, ev.RunsNeeded)
	}
	if st := ev.Tests[1]; st.Underpowered == "" || st.RunsNeeded != 5700 || *st.Level != 0.005 {
		t.Fatalf("score test %+v", st)
	}
}

// The label check's p-value is R's binom.test(k, n, 0.01, "less").
func TestLabelPValue(t *testing.T) {
	ev, err := Evaluate(output.Output{Label: ptr("a")}, outs(600, 2), nil, Rules{})
	if err != nil {
		t.Fatal(err)
	}
	// R: binom.test(2, 600, 0.01, alternative = "less")$p.value = 0.06107634095
	if p := *ev.Tests[0].PValue; math.Abs(p-0.06107634095) > 1e-9 {
		t.Fatalf("p = %g", p)
	}
	if ev.Verdict != Inconclusive {
		t.Fatalf("verdict %s", ev.Verdict)
	}
}

// EvaluateSequential takes the score's p-value once, among the first
// ScoresToReject(level) replayed scores: later scores do not change it.
func TestEvaluateSequentialUsesTheFirstScores(t *testing.T) {
	o := make([]output.Output, 2000)
	for i := range o {
		o[i] = lbl("a", float64(i))
	}
	// The stored 1000 lies outside the first 399 scores (0..398), in the
	// middle of all 2000.
	for _, n := range []int{398, 399, 2000} {
		ev, err := EvaluateSequential(lbl("a", 1000), o[:n], nil, Rules{}, false)
		if err != nil {
			t.Fatal(err)
		}
		want := Diverged
		if n < 399 {
			want = Inconclusive
		}
		if ev.Verdict != want {
			t.Fatalf("n = %d: %s, want %s: %v", n, ev.Verdict, want, ev.Reasons)
		}
	}
	ev, _ := Evaluate(lbl("a", 1000), o, nil, Rules{})
	if ev.Verdict != Reproduced {
		t.Fatalf("fixed: %s %v", ev.Verdict, ev.Reasons)
	}
}

// plainCheck is a check without RunSequential: it always rejects.
type plainCheck struct{}

func (plainCheck) Applies(output.Output) bool { return true }
func (plainCheck) Run(s output.Output, o []output.Output, r Rules) (Finding, error) {
	return Finding{Test: TestResult{Name: "plain"}, Outcome: Rejects, Reasons: []string{"plain rejects"}}, nil
}

// A check that is not sequential is run only at the cap: before, it is
// undecided, so it can neither reject nor let the replay stop REPRODUCED.
// It counts in the Bonferroni split all along.
func TestEvaluateSequentialDefersPlainChecks(t *testing.T) {
	saved := Checks
	Checks = append(slices.Clone(Checks), plainCheck{})
	defer func() { Checks = saved }()
	o := make([]output.Output, 1000)
	for i := range o {
		o[i] = lbl("a", float64(i))
	}
	ev, err := EvaluateSequential(lbl("a", 500), o, nil, Rules{}, false)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Verdict != Inconclusive || *ev.Tests[0].Level != 0.01/3 {
		t.Fatalf("before the cap: %s, level %g", ev.Verdict, *ev.Tests[0].Level)
	}
	if ev, _ = EvaluateSequential(lbl("a", 500), o, nil, Rules{}, true); ev.Verdict != Diverged {
		t.Fatalf("at the cap: %s", ev.Verdict)
	}
}
