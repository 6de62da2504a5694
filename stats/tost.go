package stats

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// TOSTResult is the result of two one-sided tests for equivalence: H0 says
// the difference lies outside (−Margin, +Margin); a small PValue establishes
// equivalence.
type TOSTResult struct {
	Estimate       float64 // mean difference a − b, or the proportion
	Margin         float64
	PLower, PUpper float64 // the two one-sided p-values
	PValue         float64 // max(PLower, PUpper)
	DF             float64 // t tests only
	Method         string
	Warnings       []string
}

// TOSTMean tests equivalence of the means of a and b within ±margin with two
// one-sided Welch t-tests (paired = false) or paired t-tests on a−b: as R's
// t.test(a, b, mu = -margin, alternative = "greater") and
// t.test(a, b, mu = margin, alternative = "less").
//
// Estimate is mean(a) − mean(b) (mean of a − b when paired), in the units
// of the data. Errors: ErrDomain (margin not positive and finite, paired
// lengths differ), ErrNaN, ErrSampleSize (fewer than 2 values per sample or
// pairs, or zero variance).
func TOSTMean(a, b []float64, margin float64, paired bool) (TOSTResult, error) {
	if !(margin > 0) || math.IsInf(margin, 0) {
		return TOSTResult{}, fmt.Errorf("%w: margin %g must be positive", ErrDomain, margin)
	}
	if err := tostFinite(a, b); err != nil {
		return TOSTResult{}, err
	}
	var d, se, df float64
	if paired {
		if len(a) != len(b) {
			return TOSTResult{}, fmt.Errorf("%w: paired samples of different lengths", ErrDomain)
		}
		if len(a) < 2 {
			return TOSTResult{}, fmt.Errorf("%w: need at least 2 pairs", ErrSampleSize)
		}
		diff := make([]float64, len(a))
		for i := range a {
			diff[i] = a[i] - b[i]
		}
		m, v := tostMeanVar(diff)
		d, se, df = m, math.Sqrt(v/float64(len(diff))), float64(len(diff)-1)
	} else {
		if len(a) < 2 || len(b) < 2 {
			return TOSTResult{}, fmt.Errorf("%w: need at least 2 values per sample", ErrSampleSize)
		}
		ma, va := tostMeanVar(a)
		mb, vb := tostMeanVar(b)
		sa, sb := va/float64(len(a)), vb/float64(len(b))
		d, se = ma-mb, math.Sqrt(sa+sb)
		df = (sa + sb) * (sa + sb) / (sa*sa/float64(len(a)-1) + sb*sb/float64(len(b)-1))
	}
	if se == 0 {
		return TOSTResult{}, fmt.Errorf("%w: the data are constant", ErrSampleSize)
	}
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}
	r := TOSTResult{Estimate: d, Margin: margin, DF: df}
	r.PLower = t.Survival((d + margin) / se)
	r.PUpper = t.CDF((d - margin) / se)
	r.PValue = math.Max(r.PLower, r.PUpper)
	r.Method = "TOST, Welch two-sample t-tests"
	if paired {
		r.Method = "TOST, paired t-tests"
	}
	return r, nil
}

// TOSTProportion tests that a proportion k/n lies within p0 ± margin with two
// exact one-sided binomial tests: binom.test(k, n, p0 − margin, "greater")
// and binom.test(k, n, p0 + margin, "less"). A bound outside (0, 1) makes its
// one-sided p-value 0.
//
// Errors: ErrSampleSize (n < 1), ErrDomain (k outside [0, n], p0 outside
// [0, 1], margin not positive).
func TOSTProportion(k, n int, p0, margin float64) (TOSTResult, error) {
	if err := binomCheck(k, n, p0, 0.95); err != nil {
		return TOSTResult{}, err
	}
	if !(margin > 0) {
		return TOSTResult{}, fmt.Errorf("%w: margin %g must be positive", ErrDomain, margin)
	}
	r := TOSTResult{Estimate: float64(k) / float64(n), Margin: margin, Method: "TOST, exact one-sided binomial tests"}
	if lo := p0 - margin; lo > 0 {
		r.PLower = binomSF(k, n, lo)
	}
	if hi := p0 + margin; hi < 1 {
		r.PUpper = binomCDF(k, n, hi)
	}
	r.PValue = math.Max(r.PLower, r.PUpper)
	return r, nil
}

func tostFinite(xs ...[]float64) error {
	for _, x := range xs {
		for _, v := range x {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return ErrNaN
			}
		}
	}
	return nil
}

// tostMeanVar returns the mean and the unbiased variance.
func tostMeanVar(x []float64) (float64, float64) {
	m := 0.0
	for _, v := range x {
		m += v
	}
	m /= float64(len(x))
	s := 0.0
	for _, v := range x {
		s += (v - m) * (v - m)
	}
	return m, s / float64(len(x)-1)
}
