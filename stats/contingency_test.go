package stats

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// hyperPMF is the hypergeometric probability of x marked balls among n drawn
// from N balls, K marked.
func hyperPMF(x, N, K, n float64) float64 {
	lf := func(v float64) float64 { r, _ := math.Lgamma(v + 1); return r }
	return math.Exp(lf(K) - lf(x) - lf(K-x) + lf(N-K) - lf(n-x) - lf(N-K-n+x) - lf(N) + lf(n) + lf(N-n))
}

// TestTableHypergeometric compares the frequencies of 10^5 draws with the
// hypergeometric probabilities (each within 5 standard errors), for a small
// urn, a lopsided one and one with a degenerate range.
func TestTableHypergeometric(t *testing.T) {
	const draws = 100000
	rng := rand.New(rand.NewPCG(3, 4))
	lf := newLogFactorials(4000)
	for _, c := range []struct{ N, K, n float64 }{{30, 12, 10}, {1000, 990, 15}, {50, 3, 48}, {20, 5, 20}, {4000, 1600, 2000}} {
		lo, hi := math.Max(0, c.n-(c.N-c.K)), math.Min(c.n, c.K)
		count := map[float64]int{}
		for range draws {
			x := float64(tableHypergeometric(rng, lf, int(c.N), int(c.K), int(c.n)))
			if x < lo || x > hi || x != math.Trunc(x) {
				t.Fatalf("Hyper(%v): draw %v outside [%v, %v]", c, x, lo, hi)
			}
			count[x]++
		}
		for x := lo; x <= hi; x++ {
			p := hyperPMF(x, c.N, c.K, c.n)
			got := float64(count[x]) / draws
			if se := math.Sqrt(p * (1 - p) / draws); math.Abs(got-p) > 5*se+1e-5 {
				t.Errorf("Hyper(N=%v, K=%v, n=%v): P(%v) simulated %.5f, exact %.5f", c.N, c.K, c.n, x, got, p)
			}
		}
	}
}

func TestTableRandomKeepsMargins(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	tab := [][]float64{{3, 0, 7, 1}, {2, 9, 0, 4}, {0, 1, 1, 12}}
	rows, cols, total, err := tableMargins(tab)
	if err != nil {
		t.Fatal(err)
	}
	flat, scratch := make([]int, 12), make([]int, 4)
	lf := newLogFactorials(int(total))
	for range 1000 {
		tableRandom(rng, lf, new(hyperCache), []int{11, 15, 14}, []int{5, 10, 8, 17}, int(total), scratch, flat)
		sim := make([][]float64, 3)
		for i := range sim {
			for _, x := range flat[4*i : 4*i+4] {
				sim[i] = append(sim[i], float64(x))
			}
		}
		r, c, _, err := tableMargins(sim)
		if err != nil && !errors.Is(err, ErrEmptyGroup) {
			t.Fatal(err)
		}
		for i := range rows {
			if r != nil && r[i] != rows[i] {
				t.Fatalf("row sums %v, want %v (table %v)", r, rows, sim)
			}
		}
		for j := range cols {
			if c != nil && c[j] != cols[j] {
				t.Fatalf("column sums %v, want %v (table %v)", c, cols, sim)
			}
			for i := range sim {
				if sim[i][j] < 0 {
					t.Fatalf("negative cell in %v", sim)
				}
			}
		}
	}
}

// exactPermutationP is P(T ≥ T_obs) over all 2×k tables with the margins of
// tab, weighted by their hypergeometric probabilities: the p-value the
// Monte-Carlo p-value estimates.
func exactPermutationP(tab [][]float64, stat func([][]float64, []float64, []float64, float64) float64) float64 {
	rows, cols, total, _ := tableMargins(tab)
	obs := stat(tab, rows, cols, total) * (1 - 64*2.220446049250313e-16)
	k := len(cols)
	sim := [][]float64{make([]float64, k), make([]float64, k)}
	var p float64
	var rec func(j int, left float64, lp float64)
	rec = func(j int, left float64, lp float64) {
		if j == k-1 {
			if left > cols[j] {
				return
			}
			sim[0][j], sim[1][j] = left, cols[j]-left
			w := lp + fisherLogFact(cols[j]) - fisherLogFact(left) - fisherLogFact(cols[j]-left)
			if stat(sim, rows, cols, total) >= obs {
				p += math.Exp(w)
			}
			return
		}
		for x := 0.0; x <= math.Min(left, cols[j]); x++ {
			sim[0][j], sim[1][j] = x, cols[j]-x
			rec(j+1, left-x, lp+fisherLogFact(cols[j])-fisherLogFact(x)-fisherLogFact(cols[j]-x))
		}
	}
	// P(row 0 = x) = Π C(c_j, x_j) / C(N, r_0)
	rec(0, rows[0], -(fisherLogFact(total) - fisherLogFact(rows[0]) - fisherLogFact(total-rows[0])))
	return p
}

// TestMonteCarloMatchesExactPermutation: with B = 20000 the Monte-Carlo
// p-values of chi-square and G lie within 4 standard errors of the exact
// permutation p-values, computed by enumerating every table with the
// observed margins.
func TestMonteCarloMatchesExactPermutation(t *testing.T) {
	const B = 20000
	for _, tab := range [][][]float64{
		{{3, 1, 0}, {2, 4, 3}},
		{{5, 1, 2, 0, 1}, {2, 3, 1, 4, 2}},
		{{1, 9}, {11, 3}},
	} {
		for name, f := range map[string]func([][]float64, int, *rand.Rand) (TableResult, error){"chi-square": ChiSquareTable, "G": GTestTable} {
			stat := map[string]func([][]float64, []float64, []float64, float64) float64{"chi-square": tableChiSq, "G": tableG}[name]
			exact := exactPermutationP(tab, stat)
			r, err := f(tab, B, rand.New(rand.NewPCG(42, 1)))
			if err != nil {
				t.Fatal(err)
			}
			se := math.Sqrt(exact * (1 - exact) / B)
			t.Logf("%s %v: Monte-Carlo %.5f, exact permutation %.5f, asymptotic %.5f", name, tab, r.PValue, exact, func() float64 { a, _ := f(tab, 0, nil); return a.PValue }())
			if math.Abs(r.PValue-exact) > 4*se+2.0/B || r.MonteCarlo != B {
				t.Errorf("%s %v: Monte-Carlo p %.5f, exact permutation p %.5f (se %.5f)", name, tab, r.PValue, exact, se)
			}
		}
	}
	// Repeatable for a seed.
	tab := [][]float64{{5, 1, 2, 0, 1}, {2, 3, 1, 4, 2}}
	a, _ := ChiSquareTable(tab, 999, rand.New(rand.NewPCG(7, 7)))
	b, _ := ChiSquareTable(tab, 999, rand.New(rand.NewPCG(7, 7)))
	if a.PValue != b.PValue {
		t.Errorf("same seed, p-values %v and %v", a.PValue, b.PValue)
	}
}

func TestSPRTRun(t *testing.T) {
	s, err := NewSPRT(0.99, 0.9, 0.05, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	ones := make([]float64, 500)
	for i := range ones {
		ones[i] = 1
	}
	d, used, err := s.Run(ones)
	lo, hi := s.Bounds()
	if err != nil || d != AcceptH0 || used >= len(ones) || used != s.N || s.LLR > lo {
		t.Errorf("all ones: decision %v after %d (N %d, LLR %g, bounds [%g, %g]) %v", d, used, s.N, s.LLR, lo, hi, err)
	}
	// Each success adds ln(p1/p0) < 0: H0 is accepted at the first n with
	// n·ln(p1/p0) ≤ ln(β/(1−α)).
	want := int(math.Ceil(lo / math.Log(0.9/0.99)))
	if used != want {
		t.Errorf("accepted H0 after %d successes, want %d = ceil(ln(β/(1−α)) / ln(p1/p0))", used, want)
	}
	s, _ = NewSPRT(0.99, 0.9, 0.05, 0.1)
	if _, used, err := s.Run([]float64{1, 0, 2, 1}); !errors.Is(err, ErrDomain) || used != 2 || s.N != 2 {
		t.Errorf("value 2: used %d, N %d, %v; want ErrDomain after 2", used, s.N, err)
	}
	s, _ = NewSPRT(0.99, 0.9, 0.05, 0.1)
	if _, _, err := s.Run([]float64{math.NaN()}); !errors.Is(err, ErrNaN) {
		t.Errorf("NaN: %v, want ErrNaN", err)
	}
	// Each failure adds ln((1−p1)/(1−p0)) = ln 10: two in a row pass ln((1−β)/α).
	s, _ = NewSPRT(0.99, 0.9, 0.05, 0.1)
	if d, used, _ := s.Run([]float64{0, 0, 0, 0, 0}); d != AcceptH1 || used != 2 {
		t.Errorf("failures: %v after %d (LLR %g, upper %g)", d, used, s.LLR, hi)
	}
}

// TestPropSentinelErrors checks that bad data gives the documented sentinel,
// never a panic.
func TestPropSentinelErrors(t *testing.T) {
	nan := math.NaN()
	rng := rand.New(rand.NewPCG(1, 1))
	for _, c := range []struct {
		name string
		err  error
		want error
	}{
		{"binom n=0", propErr2(BinomTest(0, 0, 0.5, TwoSided, 0.95)), ErrSampleSize},
		{"binom k<0", propErr2(BinomTest(-1, 5, 0.5, TwoSided, 0.95)), ErrDomain},
		{"binom p NaN", propErr2(BinomTest(1, 5, nan, TwoSided, 0.95)), ErrDomain},
		{"binom conf 1", propErr2(BinomTest(1, 5, 0.5, TwoSided, 1)), ErrDomain},
		{"wilson k>n", propErr3(Wilson(6, 5, 0.95, TwoSided)), ErrDomain},
		{"clopper conf 0", propErr3(ClopperPearson(1, 5, 0, Less)), ErrDomain},
		{"chisq NaN cell", propErr2(ChiSquareTable([][]float64{{1, nan}, {2, 3}}, 0, nil)), ErrNaN},
		{"chisq ragged", propErr2(ChiSquareTable([][]float64{{1, 2}, {2}}, 0, nil)), ErrDomain},
		{"chisq fractional", propErr2(ChiSquareTable([][]float64{{1, 2.5}, {2, 3}}, 0, nil)), ErrDomain},
		{"chisq empty column", propErr2(ChiSquareTable([][]float64{{1, 0}, {2, 0}}, 0, nil)), ErrEmptyGroup},
		{"chisq one row", propErr2(ChiSquareTable([][]float64{{1, 2}}, 0, nil)), ErrSampleSize},
		{"chisq MC without rng", propErr2(ChiSquareTable([][]float64{{1, 2}, {2, 3}}, 10, nil)), ErrDomain},
		{"chisq MC huge", propErr2(ChiSquareTable([][]float64{{1e13, 2}, {2, 3}}, 10, rng)), ErrMethod},
		{"G empty sample", propErr2(GTestLabels([]string{"a"}, nil, 0, nil)), ErrEmptyGroup},
		{"fisher huge 2x2", propErr2(FisherExact([][]float64{{1e9, 1e9}, {1e9, 1e9}})), ErrMethod},
		{"fisher huge rxc", propErr2(FisherExact([][]float64{{40, 40, 40, 40, 40}, {40, 40, 40, 40, 40}, {40, 40, 40, 40, 40}, {40, 40, 40, 40, 40}})), ErrMethod},
		{"mcnemar lengths", propErr2(McNemar([]float64{1}, []float64{1, 0}, McNemarExact)), ErrDomain},
		{"mcnemar NaN", propErr2(McNemar([]float64{nan}, []float64{1}, McNemarExact)), ErrNaN},
		{"mcnemar empty", propErr2(McNemar(nil, nil, McNemarExact)), ErrSampleSize},
		{"mcnemar no discordant", propErr2(McNemar([]float64{1, 0}, []float64{1, 0}, McNemarAsymptotic)), ErrSampleSize},
		{"BH NaN", propErr2(BenjaminiHochberg([]float64{0.1, nan})), ErrNaN},
		{"BY empty", propErr2(BenjaminiYekutieli(nil)), ErrSampleSize},
		{"holm negative", propErr2(Holm([]float64{-0.1})), ErrDomain},
		{"tost margin 0", propErr2(TOSTMean([]float64{1, 2}, []float64{1, 2}, 0, false)), ErrDomain},
		{"tost NaN", propErr2(TOSTMean([]float64{1, nan}, []float64{1, 2}, 1, false)), ErrNaN},
		{"tost paired lengths", propErr2(TOSTMean([]float64{1, 2, 3}, []float64{1, 2}, 1, true)), ErrDomain},
		{"tost one value", propErr2(TOSTMean([]float64{1}, []float64{1, 2}, 1, false)), ErrSampleSize},
		{"tost constant", propErr2(TOSTMean([]float64{1, 1}, []float64{2, 2}, 1, false)), ErrSampleSize},
		{"tost-prop margin", propErr2(TOSTProportion(3, 10, 0.5, -1)), ErrDomain},
		{"power n", propErr2(PowerOneProportion(-5, 0.5, 0.6, 0.05)), ErrSampleSize},
		{"power mcnemar n", propErr2(PowerMcNemar(0, 0.1, 0.2, 0.05)), ErrSampleSize},
		{"power p=1", propErr2(PowerTwoProportions(50, 1, 0.5, 0.05)), ErrDomain},
		{"sample size power 0", propErr2(SampleSizeTwoProportions(0.5, 0.6, 0.05, 0)), ErrDomain},
		{"sample size power 1", propErr2(SampleSizeMcNemar(0.1, 0.2, 0.05, 1)), ErrDomain},
		{"sample size equal", propErr2(SampleSizeOneProportion(0.5, 0.5, 0.05, 0.8)), ErrDomain},
		{"mcnemar power p sum", propErr2(PowerMcNemar(10, 0.6, 0.5, 0.05)), ErrDomain},
		{"zero-failure eps", propErr2(ZeroFailureN(0, 0.05)), ErrDomain},
		{"sprt p0=p1", propErr2(NewSPRT(0.5, 0.5, 0.05, 0.1)), ErrDomain},
		{"sprt alpha", propErr2(NewSPRT(0.5, 0.6, 0, 0.1)), ErrDomain},
		{"cs k>n", propErr3(BetaBinomialCS(5, 4, 0.05, 1, 1)), ErrDomain},
		{"cs prior", propErr3(BetaBinomialCS(1, 4, 0.05, 0, 1)), ErrDomain},
		{"alternative", propErr2(ParseAlternative("sideways")), ErrDomain},
	} {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: error %v, want %v", c.name, c.err, c.want)
		}
	}
}

func propErr2[T any](_ T, err error) error         { return err }
func propErr3[T, U any](_ T, _ U, err error) error { return err }

// TestTableSmallExpectedWarnsOnce: the small-expected-count warning is given
// once per table, however many cells are small.
func TestTableSmallExpectedWarnsOnce(t *testing.T) {
	r, err := ChiSquareTable([][]float64{{5, 1}, {2, 8}}, 0, nil) // expected counts 2.625 and 3.375 below 5
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Warnings) != 1 {
		t.Errorf("warnings = %q, want one", r.Warnings)
	}
}
