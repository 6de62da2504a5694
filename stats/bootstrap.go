package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// BootstrapMethod selects the bootstrap confidence interval.
type BootstrapMethod string

const (
	// BootstrapPercentile is the percentile interval.
	BootstrapPercentile BootstrapMethod = "percentile"
	// BootstrapBCa is the bias-corrected and accelerated interval (Efron
	// 1987), the acceleration estimated by the jackknife.
	BootstrapBCa BootstrapMethod = "bca"
)

// ParseBootstrapMethod parses "percentile" or "bca" ("" is bca).
func ParseBootstrapMethod(s string) (BootstrapMethod, error) {
	switch s {
	case "", "bca", "BCa":
		return BootstrapBCa, nil
	case "percentile":
		return BootstrapPercentile, nil
	}
	return BootstrapBCa, fmt.Errorf("bootstrap method must be percentile or bca, not %q: %w", s, ErrMethod)
}

// BootstrapResult is the result of PairedBootstrapMeanDiff.
type BootstrapResult struct {
	// Estimate is the mean of the differences a[i]−b[i], in the units of the data.
	Estimate float64
	// Lower and Upper bound the two-sided interval at level Conf.
	Lower, Upper float64
	Conf         float64
	Resamples    int
	Method       string
	N            int
	Warnings     []string
}

// PairedBootstrapMeanDiff is a bootstrap confidence interval, at level conf
// in (0,1), for the mean of the paired differences a[i]−b[i]: B resamples of
// the pairs with replacement (drawn on all cores with per-chunk sub-seeds
// from rng, so repeatable), then the percentile interval or BCa. Quantiles of
// the bootstrap means interpolate linearly between order statistics (R's
// quantile type 7).
//
// Errors: ErrDomain (len(a) ≠ len(b), conf outside (0,1), B < 1, nil rng),
// ErrSampleSize (fewer than 2 pairs), ErrNaN, ErrMethod (unknown method).
func PairedBootstrapMeanDiff(a, b []float64, method BootstrapMethod, conf float64, B int, rng *rand.Rand) (BootstrapResult, error) {
	res := BootstrapResult{Conf: conf, Resamples: B, N: len(a)}
	if len(a) != len(b) {
		return res, fmt.Errorf("bootstrap: paired samples have lengths %d and %d: %w", len(a), len(b), ErrDomain)
	}
	if len(a) < 2 {
		return res, fmt.Errorf("bootstrap: need at least 2 pairs, have %d: %w", len(a), ErrSampleSize)
	}
	if err := sampCheck("bootstrap", a, b); err != nil {
		return res, err
	}
	if !(conf > 0 && conf < 1) {
		return res, fmt.Errorf("bootstrap: confidence level %v outside (0,1): %w", conf, ErrDomain)
	}
	if B < 1 || rng == nil {
		return res, fmt.Errorf("bootstrap: need resamples >= 1 and a seeded rand (have %d): %w", B, ErrDomain)
	}
	if method != BootstrapPercentile && method != BootstrapBCa {
		return res, fmt.Errorf("bootstrap: unknown method %q: %w", method, ErrMethod)
	}
	n := len(a)
	d := make([]float64, n)
	sum := 0.0
	for i := range a {
		d[i] = a[i] - b[i]
		sum += d[i]
	}
	theta := sum / float64(n)
	res.Estimate = theta
	boot := make([]float64, B)
	sampChunked(B, rng, func() func(r *rand.Rand, lo, hi int) {
		return func(r *rand.Rand, lo, hi int) {
			for k := lo; k < hi; k++ {
				s := 0.0
				for range n {
					s += d[r.IntN(n)]
				}
				boot[k] = s / float64(n)
			}
		}
	})
	slices.Sort(boot)
	alpha := (1 - conf) / 2
	lo, hi := alpha, 1-alpha
	if method == BootstrapBCa {
		res.Method = fmt.Sprintf("paired bootstrap BCa interval of the mean difference (%d resamples)", B)
		// Bias correction: the share of bootstrap means below the estimate,
		// ties counting half.
		below := float64(sampCountBelow(boot, theta)) + 0.5*float64(sampCountEqual(boot, theta))
		prop := below / float64(B)
		if prop <= 0 || prop >= 1 {
			res.Warnings = append(res.Warnings, "all bootstrap means lie on one side of the estimate; BCa degenerates to the percentile interval")
		} else {
			z0 := normQuantile(prop)
			// Acceleration from the jackknife means.
			var s2, s3 float64
			for i := range d {
				u := (sum-d[i])/float64(n-1) - theta // θ_(i) − θ̄ (θ̄ = θ for the mean)
				s2 += u * u
				s3 += u * u * u
			}
			acc := 0.0
			if s2 > 0 {
				acc = -s3 / (6 * math.Pow(s2, 1.5))
			}
			adj := func(p float64) float64 {
				z := normQuantile(p)
				return normCDF(z0 + (z0+z)/(1-acc*(z0+z)))
			}
			lo, hi = adj(alpha), adj(1-alpha)
		}
	} else {
		res.Method = fmt.Sprintf("paired bootstrap percentile interval of the mean difference (%d resamples)", B)
	}
	res.Lower, res.Upper = sampQuantile7(boot, lo), sampQuantile7(boot, hi)
	return res, nil
}

// sampQuantile7 is R's type-7 quantile of sorted x at probability p.
func sampQuantile7(x []float64, p float64) float64 {
	h := (float64(len(x)) - 1) * min(1, max(0, p))
	i := int(math.Floor(h))
	if i >= len(x)-1 {
		return x[len(x)-1]
	}
	return x[i] + (h-float64(i))*(x[i+1]-x[i])
}

func sampCountBelow(sorted []float64, v float64) int {
	i, _ := slices.BinarySearch(sorted, v)
	return i
}

func sampCountEqual(sorted []float64, v float64) int {
	i, _ := slices.BinarySearch(sorted, v)
	j := i
	for j < len(sorted) && sorted[j] == v {
		j++
	}
	return j - i
}
