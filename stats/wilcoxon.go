package stats

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// wsrMaxExactN bounds n for the exact signed-rank distribution (O(n³) time).
const wsrMaxExactN = 400

// WilcoxonResult is the result of WilcoxonSignedRank.
type WilcoxonResult struct {
	// Statistic is V, the sum of the ranks of |a−b| over the pairs with a > b
	// (zero differences dropped), as R's wilcox.test(a, b, paired = TRUE).
	Statistic   float64
	PValue      float64
	Z           float64 // continuity-corrected normal deviate (asymptotic only)
	Alternative Alternative
	Exact       bool
	Method      string
	// N is the number of non-zero differences used; Zeros the number dropped.
	N, Zeros int
	Warnings []string
}

// WilcoxonSignedRank is the Wilcoxon signed-rank test of the paired
// differences a[i]−b[i] (Greater: a tends to exceed b), as R's
// wilcox.test(a, b, paired = TRUE, correct = TRUE). Zero differences are
// dropped (R's default).
//
// PValueAuto uses the exact distribution when fewer than 50 differences
// remain and there are neither ties nor zeros, else the normal approximation
// with tie and continuity correction. PValueExact falls back to the normal
// approximation with a warning when there are ties or zeros (as R), and
// returns ErrMethod for more than 400 differences.
//
// Errors: ErrDomain for len(a) ≠ len(b), ErrEmptyGroup for no pairs,
// ErrNaN, ErrSampleSize when every difference is zero, ErrMethod.
func WilcoxonSignedRank(a, b []float64, alt Alternative, method PValueMethod) (WilcoxonResult, error) {
	res := WilcoxonResult{Alternative: alt}
	if len(a) != len(b) {
		return res, fmt.Errorf("wilcoxon: paired samples have lengths %d and %d: %w", len(a), len(b), ErrDomain)
	}
	if err := rankTestCheck("wilcoxon", a, b, method); err != nil {
		return res, err
	}
	d := make([]float64, 0, len(a))
	for i := range a {
		if x := a[i] - b[i]; x != 0 {
			d = append(d, x)
		} else {
			res.Zeros++
		}
	}
	n := len(d)
	res.N = n
	if n == 0 {
		return res, fmt.Errorf("wilcoxon: all %d differences are zero: %w", len(a), ErrSampleSize)
	}
	// Midranks of |d|; V sums the ranks of the positive differences.
	slices.SortFunc(d, func(x, y float64) int { return cmp.Compare(math.Abs(x), math.Abs(y)) })
	var v, tieSum float64
	ties := false
	for i := 0; i < n; {
		j := i
		for j < n && math.Abs(d[j]) == math.Abs(d[i]) {
			j++
		}
		t := float64(j - i)
		if j-i > 1 {
			ties = true
			tieSum += t*t*t - t
		}
		r := float64(i) + (t+1)/2
		for k := i; k < j; k++ {
			if d[k] > 0 {
				v += r
			}
		}
		i = j
	}
	res.Statistic = v
	nf := float64(n)

	exact := method == PValueExact || ((method == PValueAuto || method == "") && n < 50)
	if exact && (ties || res.Zeros > 0) {
		if ties {
			res.Warnings = append(res.Warnings, "cannot compute exact p-value with ties; using the normal approximation")
		}
		if res.Zeros > 0 {
			res.Warnings = append(res.Warnings, "cannot compute exact p-value with zeroes; using the normal approximation")
		}
		exact = false
	}
	if exact && n > wsrMaxExactN {
		return res, fmt.Errorf("wilcoxon: exact distribution needs n <= %d, have %d: %w", wsrMaxExactN, n, ErrMethod)
	}
	if exact {
		res.Exact = true
		res.Method = "Wilcoxon signed rank exact test"
		pmf := wsrNullPMF(n)
		res.PValue = sampExactP(pmf, v, nf*(nf+1)/4, alt)
		return res, nil
	}
	res.Method = "Wilcoxon signed rank test with continuity correction"
	sigma := math.Sqrt(nf*(nf+1)*(2*nf+1)/24 - tieSum/48)
	res.Z, res.PValue = sampNormalP(v-nf*(nf+1)/4, sigma, alt)
	return res, nil
}

// wsrNullPMF is the null distribution of V for n untied non-zero
// differences: pmf[v] = P(V = v), v = 0..n(n+1)/2, built by giving rank k a
// positive sign with probability ½ (probability scale, nothing overflows).
func wsrNullPMF(n int) []float64 {
	p := make([]float64, n*(n+1)/2+1)
	p[0] = 1
	hi := 0
	for k := 1; k <= n; k++ {
		hi += k
		for s := hi; s >= 0; s-- {
			x := 0.5 * p[s]
			if s >= k {
				x += 0.5 * p[s-k]
			}
			p[s] = x
		}
	}
	return p
}
