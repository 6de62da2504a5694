package stats

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// McNemarMethod selects the McNemar p-value.
type McNemarMethod int

const (
	McNemarAsymptotic McNemarMethod = iota // chi-square with continuity correction, as R's mcnemar.test
	McNemarExact                           // exact binomial test on the discordant pairs
	McNemarMidP                            // mid-p exact
)

// McNemarResult is the result of McNemar's test.
type McNemarResult struct {
	Statistic float64 // chi-square (asymptotic) or the count b of (1,0) pairs (exact, mid-p)
	PValue    float64
	B, C      int // discordant pairs: a=1,b=0 and a=0,b=1
	Method    string
	Warnings  []string
}

// McNemar tests paired 0/1 outcomes (e.g. an eval item passed by version a
// and by version b) for a change in the success rate, from the discordant
// pairs only. Asymptotic is R's mcnemar.test (statistic (|B−C|−1)²/(B+C),
// uncorrected when B = C); exact is binom.test(B, B+C, 0.5); mid-p halves
// the probability of the observed count.
//
// Errors: ErrDomain (lengths differ, a value other than 0 and 1), ErrNaN,
// ErrSampleSize (no pairs; or no discordant pairs for the asymptotic test).
func McNemar(a, b []float64, method McNemarMethod) (McNemarResult, error) {
	if len(a) != len(b) {
		return McNemarResult{}, fmt.Errorf("%w: paired samples of different lengths %d and %d", ErrDomain, len(a), len(b))
	}
	if len(a) == 0 {
		return McNemarResult{}, fmt.Errorf("%w: no pairs", ErrSampleSize)
	}
	var r McNemarResult
	for i := range a {
		if math.IsNaN(a[i]) || math.IsNaN(b[i]) {
			return McNemarResult{}, fmt.Errorf("%w: pair %d", ErrNaN, i+1)
		}
		if (a[i] != 0 && a[i] != 1) || (b[i] != 0 && b[i] != 1) {
			return McNemarResult{}, fmt.Errorf("%w: pair %d is (%g, %g); McNemar needs 0/1 values", ErrDomain, i+1, a[i], b[i])
		}
		switch {
		case a[i] == 1 && b[i] == 0:
			r.B++
		case a[i] == 0 && b[i] == 1:
			r.C++
		}
	}
	n := r.B + r.C
	switch method {
	case McNemarExact, McNemarMidP:
		r.Statistic = float64(r.B)
		if n == 0 {
			r.PValue = 1
			r.Method = "McNemar exact test (no discordant pairs)"
			return r, nil
		}
		x := min(r.B, r.C)
		if method == McNemarExact {
			r.PValue = math.Min(1, 2*binomCDF(x, n, 0.5))
			if r.B == r.C {
				r.PValue = 1
			}
			r.Method = "McNemar exact test (binomial on discordant pairs)"
		} else {
			r.PValue = math.Min(1, 2*(binomCDF(x, n, 0.5)-0.5*binomPMF(x, n, 0.5)))
			r.Method = "McNemar mid-p test"
		}
	default:
		if n == 0 {
			return r, fmt.Errorf("%w: no discordant pairs: the chi-square statistic is undefined", ErrSampleSize)
		}
		if r.B != r.C { // R corrects only when the table is asymmetric
			d := math.Abs(float64(r.B-r.C)) - 1
			r.Statistic = d * d / float64(n)
		}
		r.PValue = distuv.ChiSquared{K: 1}.Survival(r.Statistic)
		r.Method = "McNemar's chi-squared test with continuity correction"
		if n < 25 {
			r.Warnings = append(r.Warnings, "fewer than 25 discordant pairs: prefer the exact or mid-p test")
		}
	}
	return r, nil
}
