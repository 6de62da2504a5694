package stats

import (
	"fmt"
	"math"
	"slices"
)

// UniformityResult is the result of KSUniform.
type UniformityResult struct {
	// Statistic is D+ = max_i (i/n − p_(i)), the largest excess of the
	// empirical CDF of the p-values over the uniform CDF, in [0, 1].
	Statistic float64
	// PValue is the exact P(D+_n ≥ Statistic) under n independent U(0, 1).
	PValue float64
	N      int
	Method string
}

// KSUniform is the one-sided one-sample Kolmogorov–Smirnov test of H0: the
// values p are independent draws of U(0, 1), against the alternative that
// they are stochastically smaller (their CDF lies above the uniform's), as
// SciPy's kstest(p, "uniform", alternative="greater") and R's ks.test(p,
// "punif", alternative = "greater"). The p-value is exact (Birnbaum and
// Tingey 1951, computed in log space), so it keeps its precision for
// n = 10⁵ in O(n) time after the sort.
//
// Errors: ErrSampleSize (no value), ErrNaN, ErrDomain (a value outside
// [0, 1]).
func KSUniform(p []float64) (UniformityResult, error) {
	res := UniformityResult{N: len(p), Method: "one-sided Kolmogorov–Smirnov test of uniformity (D+, exact Birnbaum–Tingey p-value)"}
	if len(p) == 0 {
		return res, fmt.Errorf("ks uniform: %w", ErrSampleSize)
	}
	s := slices.Clone(p)
	for _, v := range s {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return res, fmt.Errorf("ks uniform: %w", ErrNaN)
		}
		if v < 0 || v > 1 {
			return res, fmt.Errorf("ks uniform: %w: %g is not in [0, 1]", ErrDomain, v)
		}
	}
	slices.Sort(s)
	n := float64(len(s))
	d := 0.0
	for i, v := range s {
		d = max(d, float64(i+1)/n-v)
	}
	res.Statistic = d
	res.PValue = smirnovSF(len(s), d)
	return res, nil
}

// smirnovSF is P(D+_n ≥ d) for n uniform draws (Birnbaum–Tingey):
// d·Σ_{j=0}^{⌊n(1−d)⌋} C(n, j)·(1 − d − j/n)^(n−j)·(d + j/n)^(j−1).
func smirnovSF(n int, d float64) float64 {
	if d <= 0 {
		return 1
	}
	if d >= 1 {
		return 0
	}
	nf := float64(n)
	lgn, _ := math.Lgamma(nf + 1)
	jmax := int(math.Floor(nf * (1 - d)))
	// n(1−d) integral: the last term has base 0^0 = 1 only when n−j = 0.
	sum := 0.0
	for j := 0; j <= jmax; j++ {
		jf := float64(j)
		a := 1 - d - jf/nf
		if a <= 0 && j < n {
			continue
		}
		lj, _ := math.Lgamma(jf + 1)
		lnj, _ := math.Lgamma(nf - jf + 1)
		t := lgn - lj - lnj + (jf-1)*math.Log(d+jf/nf)
		if j < n {
			t += (nf - jf) * math.Log(a)
		}
		sum += math.Exp(t)
	}
	return min(1, max(0, d*sum))
}

// Pi0Result is the result of StoreyPi0.
type Pi0Result struct {
	// Pi0 is Storey's estimate of the share of true null hypotheses,
	// min(1, #{p ≥ λ} / (n(1 − λ))); Share is 1 − Pi0, the estimated share
	// of non-null p-values.
	Pi0, Share float64
	// Lower and Upper bound Share at Conf: Lower = max(0, 1 −
	// U_θ/(1 − λ)) and Upper = max(0, 1 − L_θ/(1 − λ)), where [L_θ, U_θ] is
	// the Clopper–Pearson interval (two-sided, at Conf) of θ = P(p ≥ λ).
	// Since θ ≥ π0(1 − λ), Lower is a valid lower confidence bound of the
	// non-null share whatever the non-null p-values' distribution (at
	// level (1+Conf)/2); Upper assumes every non-null p-value is below λ.
	Lower, Upper float64
	Lambda, Conf float64
	// Above is #{p ≥ λ}; N the number of p-values.
	Above, N int
}

// StoreyPi0 estimates the share of true nulls among p-values with Storey's
// estimator at a fixed λ (Storey 2002; qvalue's pi0est(p, lambda = λ) for
// one λ, without its smoothing: mean(p >= lambda)/(1 - lambda)), and
// bounds the non-null share 1 − π0 (see Pi0Result).
//
// Errors: ErrSampleSize (no p-value), ErrNaN, ErrDomain (a p-value outside
// [0, 1], λ outside (0, 1), conf outside (0, 1)).
func StoreyPi0(p []float64, lambda, conf float64) (Pi0Result, error) {
	res := Pi0Result{Lambda: lambda, Conf: conf, N: len(p)}
	if !(lambda > 0 && lambda < 1) || !(conf > 0 && conf < 1) {
		return res, fmt.Errorf("storey pi0: %w: lambda %g and conf %g must be in (0, 1)", ErrDomain, lambda, conf)
	}
	if err := padjCheck(p); err != nil {
		return res, fmt.Errorf("storey pi0: %w", err)
	}
	for _, v := range p {
		if v >= lambda {
			res.Above++
		}
	}
	n := float64(len(p))
	res.Pi0 = min(1, float64(res.Above)/(n*(1-lambda)))
	res.Share = 1 - res.Pi0
	lo, hi, err := ClopperPearson(res.Above, len(p), conf, TwoSided)
	if err != nil {
		return res, err
	}
	res.Lower = max(0, 1-hi/(1-lambda))
	res.Upper = max(0, 1-lo/(1-lambda))
	return res, nil
}
