package stats

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mathext"
)

// BinomResult is the result of an exact binomial test.
type BinomResult struct {
	Successes, Trials int
	P                 float64 // the hypothesized probability
	Estimate          float64 // Successes / Trials
	PValue            float64
	Lower, Upper      float64 // Clopper–Pearson interval at Conf
	Conf              float64
	Alternative       Alternative
	Method            string
	Warnings          []string
}

// binomCDF returns P(X ≤ k) for X ~ Binomial(n, p), via the regularized
// incomplete beta function (accurate far into the tails).
func binomCDF(k, n int, p float64) float64 {
	switch {
	case k < 0:
		return 0
	case k >= n:
		return 1
	case p == 0:
		return 1
	case p == 1:
		return 0
	}
	return mathext.RegIncBeta(float64(n-k), float64(k+1), 1-p)
}

// binomSF returns P(X ≥ k).
func binomSF(k, n int, p float64) float64 {
	switch {
	case k <= 0:
		return 1
	case k > n:
		return 0
	case p == 0:
		return 0
	case p == 1:
		return 1
	}
	return mathext.RegIncBeta(float64(k), float64(n-k+1), p)
}

// binomPMF returns P(X = k), computed in log space.
func binomPMF(k, n int, p float64) float64 {
	if k < 0 || k > n {
		return 0
	}
	if v, ok := binomDegenerate(k, n, p); ok {
		return v
	}
	lg := func(x float64) float64 { v, _ := math.Lgamma(x); return v }
	return math.Exp(lg(float64(n+1)) - lg(float64(k+1)) - lg(float64(n-k+1)) + float64(k)*math.Log(p) + float64(n-k)*math.Log1p(-p))
}

// binomDegenerate returns P(X = k) and true when p is 0 or 1 (all mass on 0
// or on n), and false otherwise.
func binomDegenerate(k, n int, p float64) (float64, bool) {
	switch {
	case p == 0:
		return b2f(k == 0), true
	case p == 1:
		return b2f(k == n), true
	}
	return 0, false
}

// b2f is 1 for true and 0 for false.
func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func binomCheck(k, n int, p, conf float64) error {
	switch {
	case n < 1:
		return fmt.Errorf("%w: trials = %d, want at least 1", ErrSampleSize, n)
	case k < 0 || k > n:
		return fmt.Errorf("%w: successes = %d outside [0, %d]", ErrDomain, k, n)
	case !(p >= 0 && p <= 1):
		return fmt.Errorf("%w: p = %g outside [0, 1]", ErrDomain, p)
	case !(conf > 0 && conf < 1):
		return fmt.Errorf("%w: confidence level %g outside (0, 1)", ErrDomain, conf)
	}
	return nil
}

// BinomTest is the exact binomial test of H0: the success probability is p,
// as R's binom.test. The two-sided p-value sums the probabilities of all
// outcomes no more likely than the observed one (with R's relative tolerance
// 1+1e-7). The interval is Clopper–Pearson at conf, one-sided for Less and
// Greater.
//
// Probabilities and bounds are on the [0, 1] scale.
// Errors: ErrSampleSize (n < 1), ErrDomain (k outside [0, n], p outside
// [0, 1], conf outside (0, 1)).
func BinomTest(k, n int, p float64, alt Alternative, conf float64) (BinomResult, error) {
	if err := binomCheck(k, n, p, conf); err != nil {
		return BinomResult{}, err
	}
	r := BinomResult{Successes: k, Trials: n, P: p, Estimate: float64(k) / float64(n), Conf: conf, Alternative: alt,
		Method: "Exact binomial test"}
	switch alt {
	case Less:
		r.PValue = binomCDF(k, n, p)
	case Greater:
		r.PValue = binomSF(k, n, p)
	default:
		r.PValue = binomTwoSided(k, n, p)
	}
	var err error
	r.Lower, r.Upper, err = ClopperPearson(k, n, conf, alt)
	return r, err
}

// binomTwoSided follows R's binom.test: with d = dbinom(k), sum the
// probabilities of the outcomes on the other side of the mode whose
// probability is at most d·(1+1e-7).
func binomTwoSided(k, n int, p float64) float64 {
	if v, ok := binomDegenerate(k, n, p); ok {
		return v // all mass on one outcome: P(X = k) is also the p-value
	}
	relErr := 1 + 1e-7
	d := binomPMF(k, n, p)
	m := float64(n) * p
	if float64(k) == m {
		return 1
	}
	if float64(k) < m {
		// The pmf does not increase on ceil(m)..n (the mode is at most
		// ceil(m)): find the first i there with dbinom(i) <= d·relErr; R's
		// y = #{i ≥ ceil(m): dbinom(i) ≤ d·relErr} is n − i + 1.
		i := binomFirst(int(math.Ceil(m)), n+1, func(i int) bool { return binomPMF(i, n, p) <= d*relErr })
		return math.Min(1, binomCDF(k, n, p)+binomSF(i, n, p))
	}
	// Below floor(m) the pmf does not increase going down: find the largest
	// i ≤ floor(m) with dbinom(i) ≤ d·relErr (R's y − 1).
	f := int(math.Floor(m))
	j := binomFirst(0, f+1, func(j int) bool { return binomPMF(f-j, n, p) <= d*relErr })
	return math.Min(1, binomCDF(f-j, n, p)+binomSF(k, n, p))
}

// binomFirst returns the first i in [lo, hi) where the monotone predicate
// ok turns true, or hi when it never does.
func binomFirst(lo, hi int, ok func(int) bool) int {
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if ok(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// ClopperPearson returns the exact (Clopper–Pearson) confidence interval for
// a proportion k/n at level conf; for Less it is [0, upper] and for Greater
// [lower, 1], each at level conf.
//
// Errors: ErrSampleSize (n < 1), ErrDomain (k outside [0, n], conf outside (0, 1)).
func ClopperPearson(k, n int, conf float64, alt Alternative) (lower, upper float64, err error) {
	if err := binomCheck(k, n, 0.5, conf); err != nil {
		return 0, 0, err
	}
	a := intervalTail(conf, alt)
	lower, upper = 0, 1
	if alt != Less && k > 0 {
		lower = mathext.InvRegIncBeta(float64(k), float64(n-k+1), a)
	}
	if alt != Greater && k < n {
		upper = mathext.InvRegIncBeta(float64(k+1), float64(n-k), 1-a)
	}
	return lower, upper, nil
}

// Wilson returns the Wilson score interval for k/n at level conf (without
// continuity correction, as R's prop.test(correct = FALSE)); one-sided for
// Less and Greater.
//
// Errors: ErrSampleSize (n < 1), ErrDomain (k outside [0, n], conf outside (0, 1)).
func Wilson(k, n int, conf float64, alt Alternative) (lower, upper float64, err error) {
	if err := binomCheck(k, n, 0.5, conf); err != nil {
		return 0, 0, err
	}
	a := intervalTail(conf, alt)
	z := -normQuantile(a)
	nn := float64(n)
	ph := float64(k) / nn
	center := (ph + z*z/(2*nn)) / (1 + z*z/nn)
	half := z / (1 + z*z/nn) * math.Sqrt(ph*(1-ph)/nn+z*z/(4*nn*nn))
	lower, upper = math.Max(0, center-half), math.Min(1, center+half)
	if k == 0 { // exactly 0 and 1 at the ends, as R
		lower = 0
	}
	if k == n {
		upper = 1
	}
	switch alt {
	case Less:
		lower = 0
	case Greater:
		upper = 1
	}
	return lower, upper, nil
}

// intervalTail is the probability left out in each bounded tail of an
// interval at level conf: (1−conf)/2 for TwoSided, 1−conf one-sided.
func intervalTail(conf float64, alt Alternative) float64 {
	a := 1 - conf
	if alt == TwoSided {
		a /= 2
	}
	return a
}
