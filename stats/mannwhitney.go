package stats

import (
	"fmt"
	"math"
	"slices"
)

// PValueMethod selects how a rank or Kolmogorov–Smirnov p-value is computed.
type PValueMethod string

const (
	// PValueAuto picks the exact null distribution for small samples and the
	// asymptotic one otherwise, with the same thresholds as R.
	PValueAuto PValueMethod = "auto"
	// PValueExact uses the exact (permutation) null distribution.
	PValueExact PValueMethod = "exact"
	// PValueAsymptotic uses the large-sample approximation.
	PValueAsymptotic PValueMethod = "asymptotic"
)

// ParsePValueMethod parses "auto" (or ""), "exact" or "asymptotic".
func ParsePValueMethod(s string) (PValueMethod, error) {
	switch s {
	case "", "auto":
		return PValueAuto, nil
	case "exact":
		return PValueExact, nil
	case "asymptotic":
		return PValueAsymptotic, nil
	}
	return PValueAuto, fmt.Errorf("method must be auto, exact or asymptotic, not %q: %w", s, ErrMethod)
}

// mwuMaxExactCells bounds n·m for the exact Mann–Whitney distribution, whose
// cost grows as (n·m)²/4.
const mwuMaxExactCells = 10000

// MannWhitneyResult is the result of MannWhitney.
type MannWhitneyResult struct {
	// Statistic is U of sample a: the number of pairs (a_i, b_j) with
	// a_i > b_j, ties counting one half. It equals R's W and SciPy's U1.
	Statistic float64
	// PValue is the p-value for Alternative.
	PValue float64
	// Z is the continuity-corrected normal deviate (asymptotic method only, else 0).
	Z           float64
	Alternative Alternative
	// Exact reports whether the exact null distribution was used.
	Exact bool
	// Method names the test and p-value method.
	Method   string
	N1, N2   int
	Warnings []string
}

// MannWhitney is the Wilcoxon–Mann–Whitney rank-sum test of samples a and b
// (Greater: a tends to be larger than b), as R's wilcox.test(a, b,
// correct = TRUE).
//
// PValueAuto uses the exact distribution when both samples have fewer than 50
// values and there are no ties, else the normal approximation with tie and
// continuity correction. PValueExact falls back to the normal approximation
// (with a warning) when there are ties, as R does, and returns ErrMethod when
// len(a)·len(b) > 10000. The cost is one O(n log n) sort of each sample.
//
// Errors: ErrEmptyGroup for an empty sample, ErrNaN for NaN or ±Inf,
// ErrMethod for an unknown or infeasible method.
func MannWhitney(a, b []float64, alt Alternative, method PValueMethod) (MannWhitneyResult, error) {
	res := MannWhitneyResult{Alternative: alt, N1: len(a), N2: len(b)}
	if err := rankTestCheck("mann-whitney", a, b, method); err != nil {
		return res, err
	}
	sa, sb := sampSortedPair(a, b)
	n1, n2 := float64(len(a)), float64(len(b))
	// Walk the merged order tie group by tie group: the midrank of a group of
	// t values after pos smaller values is pos + (t+1)/2.
	var rankSumA, tieSum float64
	ties := false
	i, j, pos := 0, 0, 0
	for i < len(sa) || j < len(sb) {
		var v float64
		switch {
		case i == len(sa):
			v = sb[j]
		case j == len(sb):
			v = sa[i]
		default:
			v = min(sa[i], sb[j])
		}
		ca, cb := 0, 0
		for i < len(sa) && sa[i] == v {
			i++
			ca++
		}
		for j < len(sb) && sb[j] == v {
			j++
			cb++
		}
		t := float64(ca + cb)
		if ca+cb > 1 {
			ties = true
			tieSum += t*t*t - t
		}
		rankSumA += float64(ca) * (float64(pos) + (t+1)/2)
		pos += ca + cb
	}
	u := rankSumA - n1*(n1+1)/2
	res.Statistic = u

	exact := method == PValueExact || ((method == PValueAuto || method == "") && len(a) < 50 && len(b) < 50)
	if exact && ties {
		res.Warnings = append(res.Warnings, "cannot compute exact p-value with ties; using the normal approximation")
		exact = false
	}
	if exact && len(a)*len(b) > mwuMaxExactCells {
		return res, fmt.Errorf("mann-whitney: exact distribution needs n1*n2 <= %d, have %d: %w", mwuMaxExactCells, len(a)*len(b), ErrMethod)
	}
	if exact {
		res.Exact = true
		res.Method = "Wilcoxon rank sum exact test"
		pmf := mwuNullPMF(len(a), len(b))
		res.PValue = sampExactP(pmf, u, n1*n2/2, alt)
		return res, nil
	}
	res.Method = "Wilcoxon rank sum test with continuity correction"
	nn := n1 + n2
	sigma := math.Sqrt((n1 * n2 / 12) * ((nn + 1) - tieSum/(nn*(nn-1))))
	if sigma == 0 {
		res.Warnings = append(res.Warnings, "all values are tied; the p-value is 1")
		res.PValue = 1
		return res, nil
	}
	res.Z, res.PValue = sampNormalP(u-n1*n2/2, sigma, alt)
	return res, nil
}

// sampNormalP returns the continuity-corrected z = (x − c)/sigma of a centred
// statistic x and its p-value for alt, as R's wilcox.test computes them.
func sampNormalP(x, sigma float64, alt Alternative) (z, p float64) {
	var corr float64
	switch alt {
	case Less:
		corr = -0.5
	case Greater:
		corr = 0.5
	default:
		if x > 0 {
			corr = 0.5
		} else if x < 0 {
			corr = -0.5
		}
	}
	z = (x - corr) / sigma
	switch alt {
	case Less:
		p = normCDF(z)
	case Greater:
		p = normCDF(-z)
	default:
		p = min(1, 2*normCDF(-math.Abs(z)))
	}
	return z, p
}

// mwuNullPMF is the null distribution of U for sample sizes m and n without
// ties: pmf[u] = P(U = u), u = 0..m·n. It conditions on which sample holds
// the largest value, in the probability scale (nothing overflows):
// p(a,b)[u] = a/(a+b)·p(a−1,b)[u−b] + b/(a+b)·p(a,b−1)[u].
func mwuNullPMF(m, n int) []float64 {
	if m < n {
		m, n = n, m // the distribution of U is symmetric in (m, n)
	}
	// row[b] holds p(a, b) for the current a, length a·b+1.
	row := make([][]float64, n+1)
	for b := range row {
		row[b] = make([]float64, 1, m*b+1)
		row[b][0] = 1
	}
	for a := 1; a <= m; a++ {
		for b := 1; b <= n; b++ {
			wa := float64(a) / float64(a+b)
			wb := float64(b) / float64(a+b)
			oldLen := (a-1)*b + 1
			cur := row[b][:a*b+1] // p(a−1, b) in [0, oldLen)
			prev := row[b-1]      // p(a, b−1), already updated
			for u := len(cur) - 1; u >= 0; u-- {
				v := 0.0
				if u >= b && u-b < oldLen {
					v = wa * cur[u-b]
				}
				if u < len(prev) {
					v += wb * prev[u]
				}
				cur[u] = v
			}
			row[b] = cur
		}
	}
	return row[n]
}

// sampExactP is the exact p-value of an integer-valued statistic x for alt,
// from its null pmf symmetric about center (two-sided: twice the tail on the
// side of x, at most 1).
func sampExactP(pmf []float64, x, center float64, alt Alternative) float64 {
	k := int(math.Round(x))
	switch alt {
	case Less:
		return sampLowerSum(pmf, k)
	case Greater:
		return sampUpperSum(pmf, k)
	}
	if x > center {
		return min(1, 2*sampUpperSum(pmf, k))
	}
	return min(1, 2*sampLowerSum(pmf, k))
}

// sampLowerSum is Σ pmf[0..k], sampUpperSum is Σ pmf[k..], each summed from
// the far end so that small tail probabilities keep their relative precision.
func sampLowerSum(pmf []float64, k int) float64 {
	s := 0.0
	for i := 0; i <= k && i < len(pmf); i++ {
		s += pmf[i]
	}
	return min(1, s)
}

func sampUpperSum(pmf []float64, k int) float64 {
	s := 0.0
	for i := len(pmf) - 1; i >= max(k, 0); i-- {
		s += pmf[i]
	}
	return min(1, s)
}

// sampCheck rejects empty or non-finite samples.
func sampCheck(name string, samples ...[]float64) error {
	for g, s := range samples {
		if len(s) == 0 {
			return fmt.Errorf("%s: sample %d is empty: %w", name, g+1, ErrEmptyGroup)
		}
		for i, v := range s {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("%s: sample %d value %d is %v: %w", name, g+1, i+1, v, ErrNaN)
			}
		}
	}
	return nil
}

// rankTestCheck is sampCheck of a and b, then ParsePValueMethod of
// method: the checks of the two-sample rank tests, in that order.
func rankTestCheck(name string, a, b []float64, method PValueMethod) error {
	if err := sampCheck(name, a, b); err != nil {
		return err
	}
	_, err := ParsePValueMethod(string(method))
	return err
}

// sampSortedPair returns sorted copies of a and b, sorting them concurrently
// when they are large.
func sampSortedPair(a, b []float64) ([]float64, []float64) {
	if len(a)+len(b) < 1<<16 {
		return sampSorted(a), sampSorted(b)
	}
	var sa []float64
	done := make(chan struct{})
	go func() {
		sa = sampSorted(a)
		close(done)
	}()
	sb := sampSorted(b)
	<-done
	return sa, sb
}

// sortPair sorts a and b in place, concurrently when they are large.
func sortPair(a, b []float64) {
	if len(a)+len(b) < 1<<16 {
		slices.Sort(a)
		slices.Sort(b)
		return
	}
	done := make(chan struct{})
	go func() {
		slices.Sort(a)
		close(done)
	}()
	slices.Sort(b)
	<-done
}

// sampSorted returns a sorted copy of x.
func sampSorted(x []float64) []float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	return s
}
