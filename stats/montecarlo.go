package stats

import (
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
)

// logFactorials is a table of ln(n!) for n below its length; beyond it, At
// falls back to math.Lgamma.
type logFactorials []float64

// logFactTableMax bounds the length of a logFactorials table (8 bytes each).
const logFactTableMax = 1 << 22

// newLogFactorials returns ln(n!) for n = 0..min(n, logFactTableMax).
func newLogFactorials(n int) logFactorials {
	n = min(n, logFactTableMax)
	lf := make(logFactorials, n+1)
	for k := 2; k <= n; k++ {
		lf[k] = lf[k-1] + math.Log(float64(k))
	}
	return lf
}

// At returns ln(n!).
func (lf logFactorials) At(n int) float64 {
	if n < len(lf) {
		return lf[n]
	}
	v, _ := math.Lgamma(float64(n) + 1)
	return v
}

// tableKernel builds, from the observed table and its margins, the statistic
// of a Monte-Carlo test on flattened r×c integer tables (row-major) and its
// observed value; larger values are more extreme. lf holds ln(n!) up to the
// total at least.
type tableKernel func(t [][]float64, rows, cols []float64, total float64, lf logFactorials) (stat func(cells []int) float64, obs float64)

// chiSqKernel is Pearson's X² = Σ O²/E − N.
func chiSqKernel(t [][]float64, rows, cols []float64, total float64, _ logFactorials) (func([]int) float64, float64) {
	inv := make([]float64, 0, len(rows)*len(cols))
	for _, r := range rows {
		for _, c := range cols {
			inv = append(inv, total/(r*c))
		}
	}
	stat := func(cells []int) float64 {
		s := 0.0
		for k, x := range cells {
			f := float64(x)
			s += f * f * inv[k]
		}
		return s - total
	}
	return stat, stat(flatten(t))
}

// gKernel is G/2 less a constant of the margins: Σ O ln O.
func gKernel(t [][]float64, _, _ []float64, total float64, _ logFactorials) (func([]int) float64, float64) {
	xlogx := make([]float64, min(int(total), logFactTableMax)+1)
	for k := 1; k < len(xlogx); k++ {
		xlogx[k] = float64(k) * math.Log(float64(k))
	}
	stat := func(cells []int) float64 {
		s := 0.0
		for _, x := range cells {
			if x < len(xlogx) {
				s += xlogx[x]
			} else {
				s += float64(x) * math.Log(float64(x))
			}
		}
		return s
	}
	return stat, stat(flatten(t))
}

// fisherKernel is −ln P(table) less a constant of the margins: Σ ln(O!).
// Larger is less probable, so counting T* ≥ T counts the tables no more
// probable than the observed one, as R's fisher.test(simulate.p.value = TRUE).
func fisherKernel(t [][]float64, _, _ []float64, _ float64, lf logFactorials) (func([]int) float64, float64) {
	stat := func(cells []int) float64 {
		s := 0.0
		for _, x := range cells {
			s += lf.At(x)
		}
		return s
	}
	return stat, stat(flatten(t))
}

func flatten(t [][]float64) []int {
	var out []int
	for _, row := range t {
		for _, v := range row {
			out = append(out, int(v))
		}
	}
	return out
}

// monteCarloChunk is the number of random tables drawn from one random
// stream. It fixes the split of the draws, so a seed gives the same p-value
// whatever the number of cores.
const monteCarloChunk = 4096

// tableMonteCarlo draws b random tables with margins rows and cols (see
// tableRandom) and returns how many have a statistic (from kernel) of at
// least the observed one, less R's tolerance for ties (64ε relative).
//
// The draws are split into chunks of monteCarloChunk; chunk k draws from its
// own PCG stream, seeded from two words of rng and k, and the chunks run on
// up to GOMAXPROCS goroutines. The count depends only on rng's state and b.
func tableMonteCarlo(t [][]float64, rows, cols []float64, total float64, b int, rng *rand.Rand, kernel tableKernel) int {
	lf := newLogFactorials(int(total))
	_, obs := kernel(t, rows, cols, total, lf)
	almost := obs - math.Abs(obs)*64*2.220446049250313e-16
	seed1, seed2 := rng.Uint64(), rng.Uint64()
	chunks := (b + monteCarloChunk - 1) / monteCarloChunk
	counts := make([]int, chunks)
	ir, ic := make([]int, len(rows)), make([]int, len(cols))
	for i, r := range rows {
		ir[i] = int(r)
	}
	for j, c := range cols {
		ic[j] = int(c)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), chunks) {
		wg.Go(func() {
			stat, _ := kernel(t, rows, cols, total, lf) // per goroutine: kernels may keep scratch
			sim := make([]int, len(rows)*len(cols))
			colLeft := make([]int, len(cols))
			cache := new(hyperCache)
			for {
				k := int(next.Add(1) - 1)
				if k >= chunks {
					return
				}
				r := rand.New(rand.NewPCG(seed1^splitmix64(uint64(k)), splitmix64(seed2+uint64(k))))
				n := min(monteCarloChunk, b-k*monteCarloChunk)
				ge := 0
				for range n {
					tableRandom(r, lf, cache, ir, ic, int(total), colLeft, sim)
					if stat(sim) >= almost {
						ge++
					}
				}
				counts[k] = ge
			}
		})
	}
	wg.Wait()
	ge := 0
	for _, c := range counts {
		ge += c
	}
	return ge
}

// splitmix64 is the SplitMix64 finalizer: distinct inputs give well-spread
// distinct outputs (it is a bijection).
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// tableRandom fills sim (row-major r×c) with a random table with row sums
// rows and column sums cols, uniform over the arrangements of the N
// observations (the multivariate hypergeometric law of Patefield 1981, which
// R's r2dtable and chisq.test(simulate.p.value = TRUE) sample). Row by row,
// cell (i, j) is hypergeometric: of the rowLeft draws still to place, from an
// urn holding colLeft[j] balls of column j among the Σ_{j' ≥ j} colLeft[j']
// left. The last row and last column take what remains. colLeft is scratch
// space; lf holds ln(n!); cache may be nil.
func tableRandom(rng *rand.Rand, lf logFactorials, cache *hyperCache, rows, cols []int, total int, colLeft, sim []int) {
	copy(colLeft, cols)
	urn := total // balls left in all columns
	nr, nc := len(rows), len(cols)
	for i := range nr - 1 {
		rowLeft := rows[i]
		pool := urn // balls in columns j.. of the urn
		row := sim[i*nc : (i+1)*nc]
		for j := range nc - 1 {
			x := 0
			if rowLeft > 0 {
				x = tableHypergeometricCached(rng, lf, cache, pool, colLeft[j], rowLeft)
			}
			row[j] = x
			pool -= colLeft[j]
			colLeft[j] -= x
			rowLeft -= x
		}
		row[nc-1] = rowLeft
		colLeft[nc-1] -= rowLeft
		urn -= rows[i]
	}
	copy(sim[(nr-1)*nc:], colLeft)
}

// tableHypergeometric draws the number of marked balls among n drawn without
// replacement from an urn of N balls, K of them marked, by inversion of the
// distribution searched outward from its mode (exact up to rounding; O(sd)
// steps per draw). lf holds ln(n!).
func tableHypergeometric(rng *rand.Rand, lf logFactorials, N, K, n int) int {
	return tableHypergeometricCached(rng, lf, nil, N, K, n)
}

// hyperCache remembers the probability of the mode of recent hypergeometric
// laws (direct-mapped on a hash of N, K, n): a small table's draws revisit
// the same few laws, and the mode's probability costs an exp.
type hyperCache [256]struct {
	N, K, n int
	pm      float64
}

// tableHypergeometricCached is tableHypergeometric with a cache (nil: none).
func tableHypergeometricCached(rng *rand.Rand, lf logFactorials, cache *hyperCache, N, K, n int) int {
	lo, hi := max(0, n-(N-K)), min(n, K)
	if lo == hi {
		return lo
	}
	mode := int((int64(n) + 1) * (int64(K) + 1) / (int64(N) + 2))
	mode = min(max(mode, lo), hi)
	var pm float64
	if cache == nil {
		pm = hyperModeP(lf, N, K, n, mode)
	} else {
		e := &cache[(uint64(N)*0x9e3779b97f4a7c15^uint64(K)*0xbf58476d1ce4e5b9^uint64(n)*0x94d049bb133111eb)>>56]
		if e.N != N || e.K != K || e.n != n || e.pm == 0 {
			e.N, e.K, e.n, e.pm = N, K, n, hyperModeP(lf, N, K, n, mode)
		}
		pm = e.pm
	}
	u := rng.Float64() - pm
	if u < 0 {
		return mode
	}
	// ratio f(x+1)/f(x) = (K−x)(n−x) / ((x+1)(N−K−n+x+1))
	fK, fn, fB := float64(K), float64(n), float64(N-K-n)
	up, down := mode, mode
	pu, pd := pm, pm
	for up < hi || down > lo {
		if up < hi {
			x := float64(up)
			pu *= (fK - x) * (fn - x) / ((x + 1) * (fB + x + 1))
			up++
			if u -= pu; u < 0 {
				return up
			}
		}
		if down > lo {
			x := float64(down)
			pd *= x * (fB + x) / ((fK - x + 1) * (fn - x + 1))
			down--
			if u -= pd; u < 0 {
				return down
			}
		}
	}
	return mode // u exceeded the total mass only by rounding
}

// hyperModeP is the hypergeometric probability of mode.
func hyperModeP(lf logFactorials, N, K, n, mode int) float64 {
	return math.Exp(lf.At(K) - lf.At(mode) - lf.At(K-mode) + lf.At(N-K) - lf.At(n-mode) - lf.At(N-K-n+mode) - lf.At(N) + lf.At(n) + lf.At(N-n))
}
