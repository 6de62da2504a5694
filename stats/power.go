package stats

import (
	"fmt"
	"math"
)

// PowerResult is a power or sample-size calculation.
type PowerResult struct {
	N      float64 // per group for two proportions; pairs for McNemar
	Power  float64
	Alpha  float64
	Method string
}

// powerCheck validates alpha, the proportions p and, unless it is NaN (not
// given), the target power.
func powerCheck(alpha, power float64, p ...float64) error {
	if !(alpha > 0 && alpha < 1) {
		return fmt.Errorf("%w: alpha %g outside (0, 1)", ErrDomain, alpha)
	}
	if !math.IsNaN(power) && !(power > 0 && power < 1) {
		return fmt.Errorf("%w: power %g outside (0, 1)", ErrDomain, power)
	}
	for _, v := range p {
		if !(v > 0 && v < 1) {
			return fmt.Errorf("%w: proportion %g outside (0, 1)", ErrDomain, v)
		}
	}
	return nil
}

// powerAt checks the inputs of a power at n observations: powerCheck of
// alpha and the proportions p, then n (ErrSampleSize unless it is positive
// and finite).
func powerAt(n, alpha float64, p ...float64) error {
	if err := powerCheck(alpha, math.NaN(), p...); err != nil {
		return err
	}
	if !(n > 0) || math.IsInf(n, 0) {
		return fmt.Errorf("%w: n %g must be positive", ErrSampleSize, n)
	}
	return nil
}

// PowerTwoProportions is R's power.prop.test (two-sided, strict = FALSE):
// the power of the two-sample test of proportions p1 vs p2 with n per group.
//
// n is per group and must exceed 1. Errors: ErrDomain (alpha or a proportion outside (0, 1)), ErrSampleSize
// (n not positive).
func PowerTwoProportions(n, p1, p2, alpha float64) (float64, error) {
	if err := powerCheck(alpha, math.NaN(), p1, p2); err != nil {
		return 0, err
	}
	if !(n > 1) || math.IsInf(n, 0) {
		return 0, fmt.Errorf("%w: n %g must exceed 1", ErrSampleSize, n)
	}
	qu := -normQuantile(alpha / 2)
	d := math.Abs(p1 - p2)
	q1, q2 := 1-p1, 1-p2
	pbar := (p1 + p2) / 2
	qbar := 1 - pbar
	z := (math.Sqrt(n)*d - qu*math.Sqrt(2*pbar*qbar)) / math.Sqrt(p1*q1+p2*q2)
	return normCDF(z), nil
}

// SampleSizeTwoProportions solves power.prop.test for n per group (not
// rounded, as R reports it).
//
// Errors: ErrDomain (alpha, power or a proportion outside (0, 1), equal
// proportions, or no n up to 10^8 reaching the power).
func SampleSizeTwoProportions(p1, p2, alpha, power float64) (PowerResult, error) {
	if err := powerCheck(alpha, power, p1, p2); err != nil {
		return PowerResult{}, err
	}
	if p1 == p2 {
		return PowerResult{}, fmt.Errorf("%w: p1 = p2: no sample size detects no difference", ErrDomain)
	}
	pw := func(n float64) (float64, error) { return PowerTwoProportions(n, p1, p2, alpha) }
	return powerSampleSize(pw, 2, 1e7, alpha, power, "Two-sample comparison of proportions power calculation (R power.prop.test)")
}

// PowerOneProportion is the power of the two-sided one-sample z-test of
// H0: p = p0 when the true proportion is p1, with n observations.
//
// Errors: ErrDomain (alpha or a proportion outside (0, 1)), ErrSampleSize
// (n not positive).
func PowerOneProportion(n, p0, p1, alpha float64) (float64, error) {
	if err := powerAt(n, alpha, p0, p1); err != nil {
		return 0, err
	}
	z := -normQuantile(alpha / 2)
	s0, s1 := math.Sqrt(p0*(1-p0)), math.Sqrt(p1*(1-p1))
	d := math.Sqrt(n) * math.Abs(p1-p0)
	return normCDF((d-z*s0)/s1) + normCDF((-d-z*s0)/s1), nil
}

// SampleSizeOneProportion solves PowerOneProportion for n.
//
// Errors: ErrDomain (alpha, power or a proportion outside (0, 1), equal
// proportions, or no n up to 10^8 reaching the power).
func SampleSizeOneProportion(p0, p1, alpha, power float64) (PowerResult, error) {
	if err := powerCheck(alpha, power, p0, p1); err != nil {
		return PowerResult{}, err
	}
	if p0 == p1 {
		return PowerResult{}, fmt.Errorf("%w: p0 = p1", ErrDomain)
	}
	pw := func(n float64) (float64, error) { return PowerOneProportion(n, p0, p1, alpha) }
	return powerSampleSize(pw, 1, 1e8, alpha, power, "One-sample z-test of a proportion, normal approximation")
}

// PowerMcNemar is the power of McNemar's test (Connor 1987 normal
// approximation) with n pairs, discordant probabilities p10 and p01. It
// describes the test without continuity correction; the corrected test of
// McNemar(…, McNemarAsymptotic) has somewhat less power (e.g. 0.63 instead
// of 0.68 for 200 pairs, p10 = 0.15, p01 = 0.07).
//
// Errors: ErrDomain (alpha or a proportion outside (0, 1)), ErrSampleSize
// (n not positive).
// ErrDomain also when p10 + p01 ≥ 1.
func PowerMcNemar(n, p10, p01, alpha float64) (float64, error) {
	if err := powerAt(n, alpha, p10, p01); err != nil {
		return 0, err
	}
	pd, d := p10+p01, p10-p01
	if pd >= 1 {
		return 0, fmt.Errorf("%w: p10 + p01 = %g must be below 1", ErrDomain, pd)
	}
	z := -normQuantile(alpha / 2)
	num := math.Sqrt(n)*math.Abs(d) - z*math.Sqrt(pd)
	return normCDF(num / math.Sqrt(pd-d*d)), nil
}

// SampleSizeMcNemar solves PowerMcNemar for the number of pairs.
//
// Errors: ErrDomain (alpha, power or a proportion outside (0, 1), equal
// proportions, or no n up to 10^8 reaching the power).
func SampleSizeMcNemar(p10, p01, alpha, power float64) (PowerResult, error) {
	if err := powerCheck(alpha, power, p10, p01); err != nil {
		return PowerResult{}, err
	}
	if p10 == p01 {
		return PowerResult{}, fmt.Errorf("%w: p10 = p01", ErrDomain)
	}
	pw := func(n float64) (float64, error) { return PowerMcNemar(n, p10, p01, alpha) }
	return powerSampleSize(pw, 1, 1e8, alpha, power, "McNemar test, Connor (1987) normal approximation")
}

// ZeroFailureN is the number of runs with zero failures needed to claim,
// with confidence 1−alpha, that the failure rate is below eps:
// the smallest integer n ≥ ln(alpha)/ln(1−eps).
//
// Errors: ErrDomain (eps or alpha outside (0, 1)).
func ZeroFailureN(eps, alpha float64) (int, error) {
	if err := powerCheck(alpha, math.NaN(), eps); err != nil {
		return 0, err
	}
	return int(math.Ceil(math.Log(alpha)/math.Log1p(-eps) - 1e-12)), nil
}

// powerSampleSize solves pw(n) = power for n in [lo, hi] (pw increasing in n).
func powerSampleSize(pw func(n float64) (float64, error), lo, hi, alpha, power float64, method string) (PowerResult, error) {
	f := func(n float64) float64 { v, _ := pw(n); return v - power }
	n, err := powerBisect(f, lo, hi)
	if err != nil {
		return PowerResult{}, err
	}
	return PowerResult{N: n, Power: power, Alpha: alpha, Method: method}, nil
}

// powerBisect finds the root of an increasing f on [lo, hi].
func powerBisect(f func(float64) float64, lo, hi float64) (float64, error) {
	if f(lo) > 0 {
		return lo, nil
	}
	if f(hi) < 0 {
		return 0, fmt.Errorf("%w: no sample size below %g reaches the power", ErrDomain, hi)
	}
	for range 200 {
		mid := (lo + hi) / 2
		if f(mid) < 0 {
			lo = mid
		} else {
			hi = mid
		}
		if hi-lo < 1e-10*hi {
			break
		}
	}
	return (lo + hi) / 2, nil
}
