package stats

import (
	"fmt"
	"math"
)

// ksMaxExactCells bounds n·m for the exact Kolmogorov–Smirnov distribution
// (O(n·m) time, O(min(n,m)) memory).
const ksMaxExactCells = 100_000_000

// KSResult is the result of KolmogorovSmirnov.
type KSResult struct {
	// Statistic is D = sup|F_a − F_b| (TwoSided), D+ = sup(F_a − F_b)
	// (Greater) or D− = sup(F_b − F_a) (Less), in [0, 1].
	Statistic   float64
	PValue      float64
	Alternative Alternative
	// Exact reports whether the exact null distribution was used.
	Exact    bool
	Method   string
	N1, N2   int
	Warnings []string
}

// KolmogorovSmirnov is the two-sample Kolmogorov–Smirnov test of samples a
// and b, as R's ks.test(a, b). Greater is the alternative that the CDF of a
// lies above that of b (R's "greater").
//
// The exact p-value is conditional on the tie pattern of the pooled sample,
// as R ≥ 4.2 (psmirnov with exact = TRUE): a path through the lattice of the
// merged order is only checked against the boundary between distinct values.
// It is computed directly as a boundary-crossing probability in O(n·m) time,
// so far-tail p-values keep their relative precision (R 4.2 computes
// 1 − P(D < d) and loses them below ~1e-13). For Less with ties, R 4.2 uses
// the null distribution of D+ instead of D−; this function uses D−'s (both
// checked by exact rational path counting in the tests). The asymptotic p-value
// uses the Kolmogorov limit distribution of √(nm/(n+m))·D (TwoSided) or
// exp(−2·nm/(n+m)·D²) (one-sided). PValueAuto is exact when n·m < 10000, as R.
// Sorting dominates: O(n log n) for the asymptotic method.
//
// Errors: ErrEmptyGroup, ErrNaN, ErrMethod (unknown method, or exact with
// n·m > 1e8).
func KolmogorovSmirnov(a, b []float64, alt Alternative, method PValueMethod) (KSResult, error) {
	return kolmogorovSmirnov(a, b, alt, method, false)
}

// KolmogorovSmirnovInPlace is KolmogorovSmirnov, sorting a and b in place
// instead of sorting copies: for a caller that owns large samples and has
// no further use for their order (statsfile's ks: 10^6 values a side then
// cost the samples, not twice them).
func KolmogorovSmirnovInPlace(a, b []float64, alt Alternative, method PValueMethod) (KSResult, error) {
	return kolmogorovSmirnov(a, b, alt, method, true)
}

func kolmogorovSmirnov(a, b []float64, alt Alternative, method PValueMethod, inPlace bool) (KSResult, error) {
	res := KSResult{Alternative: alt, N1: len(a), N2: len(b)}
	if err := rankTestCheck("kolmogorov-smirnov", a, b, method); err != nil {
		return res, err
	}
	m, n := len(a), len(b)
	exact := method == PValueExact || ((method == PValueAuto || method == "") && m*n < 10000)
	if exact && int64(m)*int64(n) > ksMaxExactCells {
		return res, fmt.Errorf("kolmogorov-smirnov: exact distribution needs n1*n2 <= %d: %w", ksMaxExactCells, ErrMethod)
	}
	sa, sb := a, b
	if inPlace {
		sortPair(a, b)
	} else {
		sa, sb = sampSortedPair(a, b)
	}
	// cut[k] reports whether the pooled sorted sample may be split after k
	// values (value k differs from value k+1); only the exact method needs it.
	var cut []bool
	if exact {
		cut = make([]bool, m+n+1)
	}
	// Differences in lattice units: i·n − j·m = m·n·(F_a − F_b).
	var dPos, dNeg int64
	ties := false
	i, j := 0, 0
	for i < m || j < n {
		var v float64
		switch {
		case i == m:
			v = sb[j]
		case j == n:
			v = sa[i]
		default:
			v = min(sa[i], sb[j])
		}
		c := 0
		for i < m && sa[i] == v {
			i++
			c++
		}
		for j < n && sb[j] == v {
			j++
			c++
		}
		if c > 1 {
			ties = true
		}
		if exact {
			cut[i+j] = true
		}
		d := int64(i)*int64(n) - int64(j)*int64(m)
		dPos = max(dPos, d)
		dNeg = max(dNeg, -d)
	}
	var dObs int64
	switch alt {
	case Greater:
		dObs = dPos
	case Less:
		dObs = dNeg
	default:
		dObs = max(dPos, dNeg)
	}
	mn := float64(m) * float64(n)
	res.Statistic = float64(dObs) / mn
	if exact {
		res.Exact = true
		res.Method = "Exact two-sample Kolmogorov-Smirnov test"
		res.PValue = ksExactUpper(m, n, dObs, alt, cut)
		return res, nil
	}
	res.Method = "Asymptotic two-sample Kolmogorov-Smirnov test"
	if ties {
		res.Warnings = append(res.Warnings, "p-value will be approximate in the presence of ties")
	}
	en := mn / float64(m+n)
	if alt == TwoSided {
		res.PValue = KolmogorovSF(math.Sqrt(en) * res.Statistic)
	} else {
		res.PValue = math.Exp(-2 * en * res.Statistic * res.Statistic)
	}
	res.PValue = min(1, max(0, res.PValue))
	return res, nil
}

// ksExactUpper is P(D ≥ d), d in lattice units, for sizes m (a) and n (b):
// the probability that a uniformly random lattice path from (0,0) to (m,n)
// touches the boundary at a permitted cut. u(i,j), the probability that a
// random path to (i,j) has touched it, is 1 on the boundary and otherwise
// i/(i+j)·u(i−1,j) + j/(i+j)·u(i,j−1) (the last step of a random path to
// (i,j) is an a-step with probability i/(i+j)).
func ksExactUpper(m, n int, d int64, alt Alternative, cut []bool) float64 {
	if d <= 0 {
		return 1
	}
	M, N := int64(m), int64(n)
	hit := func(i, j int) bool {
		if !cut[i+j] {
			return false
		}
		x := int64(i)*N - int64(j)*M
		switch alt {
		case Greater:
			return x >= d
		case Less:
			return -x >= d
		default:
			return x >= d || -x >= d
		}
	}
	u := make([]float64, n+1)
	for j := 1; j <= n; j++ {
		if hit(0, j) {
			u[j] = 1
		} else {
			u[j] = u[j-1]
		}
	}
	for i := 1; i <= m; i++ {
		if hit(i, 0) {
			u[0] = 1
		}
		fi := float64(i)
		for j := 1; j <= n; j++ {
			if hit(i, j) {
				u[j] = 1
				continue
			}
			fj := float64(j)
			u[j] = (fi*u[j] + fj*u[j-1]) / (fi + fj)
		}
	}
	return min(1, u[n])
}

// KolmogorovSF is the survival function of the Kolmogorov distribution,
// P(K > x) = 2·Σ_{k≥1} (−1)^(k−1)·exp(−2k²x²), the limit law of √n·D; for
// x < 1 it uses the Jacobi-transformed series of the CDF.
func KolmogorovSF(x float64) float64 {
	if x <= 0 || math.IsNaN(x) {
		return 1
	}
	if x < 1 {
		// CDF = √(2π)/x · Σ_{k odd} exp(−k²π²/(8x²))
		z := -math.Pi * math.Pi / (8 * x * x)
		s := 0.0
		for k := 1; k < 41; k += 2 {
			t := math.Exp(float64(k*k) * z)
			s += t
			if t < 1e-20*s {
				break
			}
		}
		return max(0, 1-math.Sqrt(2*math.Pi)/x*s)
	}
	z := -2 * x * x
	s := 0.0
	sign := 1.0
	for k := 1; k < 100; k++ {
		t := math.Exp(z * float64(k*k))
		s += sign * t
		if t < 1e-20*math.Abs(s) {
			break
		}
		sign = -sign
	}
	return min(1, 2*s)
}
