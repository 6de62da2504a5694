package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Calibration under the null, with fixed seeds: at least 2000 simulated data
// sets per test; the rate of p < 0.05 must lie in [0.035, 0.065] for
// asymptotic tests and be at most 0.065 for exact and Monte-Carlo tests.

const calSets = 2000

func propRate(t *testing.T, name string, exact bool, p func(rng *rand.Rand) float64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(20261122, uint64(len(name))))
	rej := 0
	for range calSets {
		if p(rng) < 0.05 {
			rej++
		}
	}
	rate := float64(rej) / calSets
	t.Logf("%s: rejection rate %.4f at alpha 0.05", name, rate)
	if rate > 0.065 || (!exact && rate < 0.035) {
		t.Errorf("%s: rejection rate %.4f under the null", name, rate)
	}
}

func binomDraw(rng *rand.Rand, n int, p float64) int {
	k := 0
	for range n {
		if rng.Float64() < p {
			k++
		}
	}
	return k
}

func labelsDraw(rng *rand.Rand, n int, probs []float64, names []string) []string {
	out := make([]string, n)
	for i := range out {
		u, acc := rng.Float64(), 0.0
		out[i] = names[len(names)-1]
		for j, p := range probs {
			acc += p
			if u < acc {
				out[i] = names[j]
				break
			}
		}
	}
	return out
}

func TestCalibrationProportions(t *testing.T) {
	probs, names := []float64{0.5, 0.3, 0.2}, []string{"approved", "denied", "referred"}
	propRate(t, "binomial exact", true, func(rng *rand.Rand) float64 {
		r, _ := BinomTest(binomDraw(rng, 60, 0.3), 60, 0.3, TwoSided, 0.95)
		return r.PValue
	})
	propRate(t, "chi-square asymptotic", false, func(rng *rand.Rand) float64 {
		r, _ := ChiSquareLabels(labelsDraw(rng, 200, probs, names), labelsDraw(rng, 200, probs, names), 0, nil)
		return r.PValue
	})
	propRate(t, "G asymptotic", false, func(rng *rand.Rand) float64 {
		r, _ := GTestLabels(labelsDraw(rng, 200, probs, names), labelsDraw(rng, 200, probs, names), 0, nil)
		return r.PValue
	})
	propRate(t, "chi-square Monte-Carlo (small samples)", true, func(rng *rand.Rand) float64 {
		r, _ := ChiSquareLabels(labelsDraw(rng, 15, probs, names), labelsDraw(rng, 10, probs, names), 199, rng)
		return r.PValue
	})
	propRate(t, "Fisher exact 2x2", true, func(rng *rand.Rand) float64 {
		a := labelsDraw(rng, 20, []float64{0.4, 0.6}, []string{"x", "y"})
		b := labelsDraw(rng, 25, []float64{0.4, 0.6}, []string{"x", "y"})
		r, err := FisherLabels(a, b)
		if err != nil {
			return 1 // one category only: no evidence
		}
		return r.PValue
	})
	propRate(t, "McNemar asymptotic", false, func(rng *rand.Rand) float64 {
		var x, y []float64
		for range 2000 { // many discordant pairs: the continuity correction fades
			u := rng.Float64()
			switch {
			case u < 0.2:
				x, y = append(x, 1), append(y, 0)
			case u < 0.4:
				x, y = append(x, 0), append(y, 1)
			case u < 0.7:
				x, y = append(x, 1), append(y, 1)
			default:
				x, y = append(x, 0), append(y, 0)
			}
		}
		r, _ := McNemar(x, y, McNemarAsymptotic)
		return r.PValue
	})
	propRate(t, "McNemar exact", true, func(rng *rand.Rand) float64 {
		var x, y []float64
		for range 40 {
			u := rng.Float64()
			x, y = append(x, b2f(u < 0.5)), append(y, b2f(u < 0.25 || u > 0.75))
		}
		r, _ := McNemar(x, y, McNemarExact)
		return r.PValue
	})
	propRate(t, "TOST proportion at the margin", true, func(rng *rand.Rand) float64 {
		r, _ := TOSTProportion(binomDraw(rng, 200, 0.6), 200, 0.5, 0.1) // true p on the boundary
		return r.PValue
	})
	propRate(t, "TOST mean at the margin", true, func(rng *rand.Rand) float64 {
		a, b := make([]float64, 30), make([]float64, 30)
		for i := range a {
			a[i], b[i] = rng.NormFloat64()+0.5, rng.NormFloat64()
		}
		r, _ := TOSTMean(a, b, 0.5, false)
		return r.PValue
	})
}

// TestSPRTErrorRates simulates Wald's SPRT: under H0 it may accept H1 in at
// most alpha of the runs, under H1 accept H0 in at most beta. The simulated
// rate may exceed the nominal one only by Monte-Carlo noise: at most two
// standard errors, sqrt(rate(1−rate)/sims), 0.004 here.
func TestSPRTErrorRates(t *testing.T) {
	const sims = 20000
	const alpha, beta = 0.05, 0.1
	rng := rand.New(rand.NewPCG(7, 7))
	run := func(p float64) (h0, h1, undecided int) {
		for range sims {
			s, _ := NewSPRT(0.9, 0.8, alpha, beta)
			for n := 0; n < 10000 && s.Decision == Continue; n++ {
				s.Observe(rng.Float64() < p)
			}
			switch s.Decision {
			case AcceptH0:
				h0++
			case AcceptH1:
				h1++
			default:
				undecided++
			}
		}
		return
	}
	se := func(r float64) float64 { return 2 * math.Sqrt(r*(1-r)/sims) }
	_, h1, und := run(0.9)
	if rate := float64(h1) / sims; rate > alpha+se(alpha) || und > 0 {
		t.Errorf("type I error %.4f > %g (undecided %d)", rate, alpha, und)
	} else {
		t.Logf("SPRT type I error %.4f (nominal %g)", rate, alpha)
	}
	h0, _, und := run(0.8)
	if rate := float64(h0) / sims; rate > beta+se(beta) || und > 0 {
		t.Errorf("type II error %.4f > %g (undecided %d)", rate, beta, und)
	} else {
		t.Logf("SPRT type II error %.4f (nominal %g)", rate, beta)
	}
	if _, err := NewSPRT(0.5, 0.5, 0.05, 0.1); err == nil {
		t.Error("p0 = p1 accepted")
	}
}

// TestConfidenceSequenceCoverage: the chance that the sequence ever excludes
// the true rate over 1000 looks is at most alpha.
func TestConfidenceSequenceCoverage(t *testing.T) {
	const sims, looks, alpha = 2000, 1000, 0.05
	rng := rand.New(rand.NewPCG(11, 13))
	for _, p := range []float64{0.02, 0.5, 0.9} {
		miss := 0
		for range sims {
			s := 0
			for n := 1; n <= looks; n++ {
				if rng.Float64() < p {
					s++
				}
				if !BetaBinomialCSCovers(s, n, alpha, 1, 1, p) {
					miss++
					break
				}
			}
		}
		rate := float64(miss) / sims
		t.Logf("p = %g: time-uniform miscoverage %.4f (alpha %g)", p, rate, alpha)
		if rate > alpha {
			t.Errorf("p = %g: miscoverage %.4f > %g", p, rate, alpha)
		}
	}
	// The interval agrees with the membership test at its ends.
	lo, hi, err := BetaBinomialCS(30, 100, alpha, 1, 1)
	if err != nil || !(lo < 0.3 && hi > 0.3) || BetaBinomialCSCovers(30, 100, alpha, 1, 1, lo-1e-6) || !BetaBinomialCSCovers(30, 100, alpha, 1, 1, lo+1e-6) ||
		BetaBinomialCSCovers(30, 100, alpha, 1, 1, hi+1e-6) || !BetaBinomialCSCovers(30, 100, alpha, 1, 1, hi-1e-6) {
		t.Fatalf("interval [%g, %g] %v inconsistent with membership", lo, hi, err)
	}
	// Wider than the fixed-n Clopper-Pearson interval: the price of looking often.
	cl, ch, _ := ClopperPearson(30, 100, 0.95, TwoSided)
	if !(lo < cl && hi > ch) {
		t.Errorf("CS [%g, %g] not wider than Clopper-Pearson [%g, %g]", lo, hi, cl, ch)
	}
}

func TestPropErrors(t *testing.T) {
	if _, err := BinomTest(5, 3, 0.5, TwoSided, 0.95); err == nil {
		t.Error("k > n accepted")
	}
	if _, err := BinomTest(1, 3, 1.5, TwoSided, 0.95); err == nil {
		t.Error("p > 1 accepted")
	}
	if _, err := ChiSquareLabels([]string{"a", "a"}, []string{"a"}, 0, nil); err == nil {
		t.Error("one category accepted")
	}
	if _, err := ChiSquareLabels(nil, []string{"a"}, 0, nil); err == nil {
		t.Error("empty sample accepted")
	}
	if _, err := McNemar([]float64{1, 2}, []float64{0, 1}, McNemarExact); err == nil {
		t.Error("non-0/1 value accepted")
	}
	if _, err := Holm([]float64{0.5, 1.5}); err == nil {
		t.Error("p > 1 accepted")
	}
	if n, err := ZeroFailureN(0.01, 0.05); err != nil || n != 299 {
		t.Errorf("ZeroFailureN(0.01, 0.05) = %d %v, want 299 = ceil(ln 0.05 / ln 0.99)", n, err)
	}
}

// BenchmarkChiSquareMonteCarlo: chi-square on a 2×5 table of 4000
// observations with 10^4 Monte-Carlo resamples.
func BenchmarkChiSquareMonteCarlo(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	probs, names := []float64{0.4, 0.25, 0.15, 0.1, 0.1}, []string{"a", "b", "c", "d", "e"}
	x, y := labelsDraw(rng, 2000, probs, names), labelsDraw(rng, 2000, probs, names)
	for b.Loop() {
		if _, err := ChiSquareLabels(x, y, 10000, rng); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPowerFormulasBySimulation checks the approximate power formulas that R
// has no built-in reference for against the empirical power of the tests
// they describe (within 3 standard errors of 4000 simulations).
func TestPowerFormulasBySimulation(t *testing.T) {
	const sims = 4000
	rng := rand.New(rand.NewPCG(5, 8))
	within := func(name string, formula, empirical float64) {
		se := math.Sqrt(formula * (1 - formula) / sims)
		t.Logf("%s: formula %.4f, simulated %.4f", name, formula, empirical)
		if math.Abs(formula-empirical) > 3*se+0.01 {
			t.Errorf("%s: formula %.4f, simulated %.4f", name, formula, empirical)
		}
	}
	// One proportion: z-test of H0 p = 0.5 with n = 150 when p = 0.62.
	n, p0, p1 := 150, 0.5, 0.62
	formula, _ := PowerOneProportion(float64(n), p0, p1, 0.05)
	rej := 0
	for range sims {
		k := binomDraw(rng, n, p1)
		z := (float64(k)/float64(n) - p0) / math.Sqrt(p0*(1-p0)/float64(n))
		if math.Abs(z) > 1.959963984540054 {
			rej++
		}
	}
	within("one proportion", formula, float64(rej)/sims)
	// McNemar: 200 pairs, P(1,0) = 0.15, P(0,1) = 0.07; Connor's formula
	// describes the uncorrected test (b−c)²/(b+c) > χ²(1, 0.95).
	pairs, p10, p01 := 200, 0.15, 0.07
	formula, _ = PowerMcNemar(float64(pairs), p10, p01, 0.05)
	rej = 0
	for range sims {
		b, c := 0, 0
		for range pairs {
			u := rng.Float64()
			switch {
			case u < p10:
				b++
			case u < p10+p01:
				c++
			}
		}
		if d := float64(b - c); b+c > 0 && d*d/float64(b+c) > 3.841458820694124 {
			rej++
		}
	}
	within("McNemar", formula, float64(rej)/sims)
	// The sample size inverts the power.
	r, err := SampleSizeMcNemar(p10, p01, 0.05, 0.8)
	if pw, _ := PowerMcNemar(r.N, p10, p01, 0.05); err != nil || math.Abs(pw-0.8) > 1e-9 {
		t.Errorf("SampleSizeMcNemar: n %g gives power %g (%v)", r.N, pw, err)
	}
	r, err = SampleSizeOneProportion(p0, p1, 0.05, 0.9)
	if pw, _ := PowerOneProportion(r.N, p0, p1, 0.05); err != nil || math.Abs(pw-0.9) > 1e-9 {
		t.Errorf("SampleSizeOneProportion: n %g gives power %g (%v)", r.N, pw, err)
	}
}
