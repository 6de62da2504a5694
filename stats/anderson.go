package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// ADResult is the result of AndersonDarlingKSample.
type ADResult struct {
	// Statistic is the standardized statistic (A²akN − (k−1))/σ_N, as
	// scipy.stats.anderson_ksamp(samples, midrank=True).statistic.
	Statistic float64
	// A2 is the midrank statistic A²akN of Scholz & Stephens (1987), eq. 7.
	A2 float64
	// PValue is the permutation p-value (1 + #{A²* ≥ A²})/(B + 1), or the
	// interpolated one when Permutations is 0.
	PValue float64
	// PValueInterpolated is the p-value interpolated in Scholz & Stephens'
	// Table 2 as SciPy 1.10 computes it, clipped to [0.001, 0.25].
	PValueInterpolated float64
	// CriticalValues of Statistic at the significance levels 25%, 10%, 5%,
	// 2.5%, 1%, 0.5%, 0.1%.
	CriticalValues [7]float64
	Permutations   int
	Method         string
	Warnings       []string
}

// AndersonDarlingKSample is the k-sample Anderson–Darling test (Scholz &
// Stephens 1987, midrank version A²akN for data with ties) of whether the
// samples come from one distribution. The statistic is standardized as
// scipy.stats.anderson_ksamp reports it. With B > 0 the p-value is from B
// random relabellings of the pooled sample, run on all cores with per-chunk
// sub-seeds from rng (repeatable); with B = 0 it is SciPy's interpolation in
// Table 2, clipped to [0.001, 0.25], and rng may be nil.
//
// Errors: ErrSampleSize (fewer than 2 samples, fewer than 4 values in all, or
// fewer than 2 distinct values), ErrEmptyGroup, ErrNaN, ErrDomain (B < 0, or
// B > 0 with a nil rng).
func AndersonDarlingKSample(samples [][]float64, B int, rng *rand.Rand) (ADResult, error) {
	res := ADResult{Permutations: B}
	k := len(samples)
	if k < 2 {
		return res, fmt.Errorf("anderson-darling: need at least 2 samples, have %d: %w", k, ErrSampleSize)
	}
	if err := sampCheck("anderson-darling", samples...); err != nil {
		return res, err
	}
	if B < 0 || (B > 0 && rng == nil) {
		return res, fmt.Errorf("anderson-darling: permutations %d need B >= 0 and a seeded rand: %w", B, ErrDomain)
	}
	// Pool and sort, remembering the group of each value.
	type obs struct {
		v float64
		g int32
	}
	var pooled []obs
	for g, s := range samples {
		for _, v := range s {
			pooled = append(pooled, obs{v, int32(g)})
		}
	}
	N := len(pooled)
	if N < 4 {
		return res, fmt.Errorf("anderson-darling: need at least 4 values in all, have %d: %w", N, ErrSampleSize)
	}
	sorted := sampSorted(func() []float64 {
		x := make([]float64, N)
		for i, o := range pooled {
			x[i] = o.v
		}
		return x
	}())
	// Tie groups of the sorted pool: group j covers [start[j], start[j+1]).
	var start []int
	for i := range N {
		if i == 0 || sorted[i] != sorted[i-1] {
			start = append(start, i)
		}
	}
	L := len(start)
	if L < 2 {
		return res, fmt.Errorf("anderson-darling: need more than one distinct value: %w", ErrSampleSize)
	}
	start = append(start, N)
	n := make([]float64, k)
	for g, s := range samples {
		n[g] = float64(len(s))
	}
	ad := newADKernel(sorted, start, n)

	// Labels of the observed data in sorted order: sort values per group and
	// merge by value. Equal values across groups share a tie group, so only
	// counts per tie group matter.
	labels := make([]int32, N)
	{
		cnt := make([]int, L)
		idx := make(map[float64]int, L)
		for j := range L {
			idx[sorted[start[j]]] = j
		}
		for _, o := range pooled {
			j := idx[o.v]
			labels[start[j]+cnt[j]] = o.g
			cnt[j]++
		}
	}
	a2 := ad.a2(labels, make([]float64, k*L))
	res.A2 = a2
	sigma := adSigma(N, k, n)
	res.Statistic = (a2 - float64(k-1)) / sigma
	res.CriticalValues, res.PValueInterpolated = adInterpolate(res.Statistic, k)
	if res.Statistic < res.CriticalValues[0] {
		res.Warnings = append(res.Warnings, "interpolated p-value capped: true value larger than 0.25")
	} else if res.Statistic > res.CriticalValues[6] {
		res.Warnings = append(res.Warnings, "interpolated p-value floored: true value smaller than 0.001")
	}
	if B == 0 {
		res.PValue = res.PValueInterpolated
		res.Method = "Anderson-Darling k-sample test (midrank; p-value interpolated in Scholz & Stephens Table 2)"
		res.Warnings = res.Warnings[:len(res.Warnings):len(res.Warnings)]
		return res, nil
	}
	res.Warnings = nil
	thr := a2 - 1e-9*math.Abs(a2)
	ge := sampPermCount(B, rng, thr, func() func(r *rand.Rand) float64 {
		perm := make([]int32, N)
		scratch := make([]float64, k*L)
		return func(r *rand.Rand) float64 {
			copy(perm, labels)
			r.Shuffle(N, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
			return ad.a2(perm, scratch)
		}
	})
	res.PValue = float64(1+ge) / float64(B+1)
	res.Method = fmt.Sprintf("Anderson-Darling k-sample test (midrank; %d permutations)", B)
	return res, nil
}

// adKernel holds what A²akN needs besides the labels.
type adKernel struct {
	N, k, L int
	start   []int
	n       []float64
	lj, bj  []float64
	den     []float64 // Bj(N−Bj) − N·lj/4
}

func newADKernel(sorted []float64, start []int, n []float64) *adKernel {
	L := len(start) - 1
	N := float64(len(sorted))
	ad := &adKernel{N: len(sorted), k: len(n), L: L, start: start, n: n,
		lj: make([]float64, L), bj: make([]float64, L), den: make([]float64, L)}
	for j := range L {
		lj := float64(start[j+1] - start[j])
		bj := float64(start[j]) + lj/2
		ad.lj[j], ad.bj[j] = lj, bj
		ad.den[j] = bj*(N-bj) - N*lj/4
	}
	return ad
}

// a2 computes A²akN for group labels in sorted order (eq. 7 of Scholz &
// Stephens, the same arithmetic as SciPy's _anderson_ksamp_midrank).
// scratch has k·L entries.
func (ad *adKernel) a2(labels []int32, scratch []float64) float64 {
	k, L := ad.k, ad.L
	N := float64(ad.N)
	f := scratch[:k*L] // f[i*L+j]: members of group i in tie group j
	clear(f)
	for j := range L {
		for p := ad.start[j]; p < ad.start[j+1]; p++ {
			f[int(labels[p])*L+j]++
		}
	}
	total := 0.0
	for i := range k {
		cum, s := 0.0, 0.0
		fi := f[i*L : (i+1)*L]
		for j := range L {
			mij := cum + fi[j]/2
			cum += fi[j]
			x := N*mij - ad.bj[j]*ad.n[i]
			s += ad.lj[j] / N * x * x / ad.den[j]
		}
		total += s / ad.n[i]
	}
	return total * (N - 1) / N
}

// adSigma is σ_N, the standard deviation of A²kN under the null (Scholz &
// Stephens eq. 4), as SciPy computes it.
func adSigma(N, k int, n []float64) float64 {
	H := 0.0
	for _, x := range n {
		H += 1 / x
	}
	// hs_cs = cumsum(1/(N−1), 1/(N−2), …, 1/2); h = hs_cs[-1] + 1;
	// g = Σ hs_cs[i] / (i+2).
	cs, g := 0.0, 0.0
	for i, d := 0, N-1; d > 1; i, d = i+1, d-1 {
		cs += 1 / float64(d)
		g += cs / float64(i+2)
	}
	h := cs + 1
	kk, Nf := float64(k), float64(N)
	a := (4*g-6)*(kk-1) + (10-6*g)*H
	b := (2*g-4)*kk*kk + 8*h*kk + (2*g-14*h-4)*H - 8*h + 4*g - 6
	c := (6*h+2*g-2)*kk*kk + (4*h-4*g+6)*kk + (2*h-6)*H + 4*h
	d := (2*h+6)*kk*kk - 4*h*kk
	s2 := (a*Nf*Nf*Nf + b*Nf*Nf + c*Nf + d) / ((Nf - 1) * (Nf - 2) * (Nf - 3))
	return math.Sqrt(s2)
}

// adInterpolate returns the critical values of Scholz & Stephens' Table 2
// for k samples and the p-value of t: exp of the least-squares quadratic in
// the critical values fitted to log(significance), clipped to [0.001, 0.25].
func adInterpolate(t float64, k int) ([7]float64, float64) {
	b0 := [7]float64{0.675, 1.281, 1.645, 1.96, 2.326, 2.573, 3.085}
	b1 := [7]float64{-0.245, 0.25, 0.678, 1.149, 1.822, 2.364, 3.615}
	b2 := [7]float64{-0.105, -0.305, -0.362, -0.391, -0.396, -0.345, -0.154}
	sig := [7]float64{0.25, 0.1, 0.05, 0.025, 0.01, 0.005, 0.001}
	m := float64(k - 1)
	var crit [7]float64
	for i := range crit {
		crit[i] = b0[i] + b1[i]/math.Sqrt(m) + b2[i]/m
	}
	if t < crit[0] {
		return crit, 0.25
	}
	if t > crit[6] {
		return crit, 0.001
	}
	// Normal equations for y = c0 + c1 x + c2 x², centred for conditioning.
	mean := 0.0
	for _, x := range crit {
		mean += x / 7
	}
	var A [3][4]float64
	for i, x := range crit {
		x -= mean
		row := [3]float64{1, x, x * x}
		y := math.Log(sig[i])
		for r := range 3 {
			for c := range 3 {
				A[r][c] += row[r] * row[c]
			}
			A[r][3] += row[r] * y
		}
	}
	for c := range 3 { // Gaussian elimination with partial pivoting
		p := c
		for r := c + 1; r < 3; r++ {
			if math.Abs(A[r][c]) > math.Abs(A[p][c]) {
				p = r
			}
		}
		A[c], A[p] = A[p], A[c]
		for r := range 3 {
			if r == c {
				continue
			}
			f := A[r][c] / A[c][c]
			for q := c; q < 4; q++ {
				A[r][q] -= f * A[c][q]
			}
		}
	}
	x := t - mean
	y := A[0][3]/A[0][0] + A[1][3]/A[1][1]*x + A[2][3]/A[2][2]*x*x
	return crit, math.Exp(y)
}
