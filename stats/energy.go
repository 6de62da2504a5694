package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
)

// sampPermChunk is the number of draws (permutations, resamples) made from
// one sub-stream. The chunking, not the number of goroutines, fixes which
// random numbers each draw sees, so results do not depend on scheduling or
// GOMAXPROCS.
const sampPermChunk = 32

// sampChunked splits draws 0..B−1 into chunks of sampPermChunk. Before any
// work starts, one PCG seed pair per chunk is drawn from rng in order; the
// chunks are then spread over GOMAXPROCS goroutines, each with its own
// scratch state from newWorker, which handles draws [lo, hi) of one chunk
// with that chunk's generator.
func sampChunked(B int, rng *rand.Rand, newWorker func() func(r *rand.Rand, lo, hi int)) {
	chunks := (B + sampPermChunk - 1) / sampPermChunk
	seeds := make([][2]uint64, chunks)
	for c := range seeds {
		seeds[c] = [2]uint64{rng.Uint64(), rng.Uint64()}
	}
	next := make(chan int, chunks)
	for c := range chunks {
		next <- c
	}
	close(next)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), max(chunks, 1)) {
		wg.Go(func() {
			work := newWorker()
			for c := range next {
				r := rand.New(rand.NewPCG(seeds[c][0], seeds[c][1]))
				work(r, c*sampPermChunk, min(B, (c+1)*sampPermChunk))
			}
		})
	}
	wg.Wait()
}

// sampPermCount runs B permuted statistics (see sampChunked) and counts
// those ≥ thr.
func sampPermCount(B int, rng *rand.Rand, thr float64, newWorker func() func(r *rand.Rand) float64) int {
	counts := make([]int, (B+sampPermChunk-1)/sampPermChunk)
	sampChunked(B, rng, func() func(r *rand.Rand, lo, hi int) {
		stat := newWorker()
		return func(r *rand.Rand, lo, hi int) {
			c := 0
			for range hi - lo {
				if stat(r) >= thr {
					c++
				}
			}
			counts[lo/sampPermChunk] = c
		}
	})
	total := 0
	for _, c := range counts {
		total += c
	}
	return total
}

// PermutationResult is the result of a permutation test.
type PermutationResult struct {
	// Statistic is the observed statistic (see the test for its definition).
	Statistic float64
	// PValue is (1 + #{T* ≥ T})/(B + 1) over B random permutations.
	PValue       float64
	Permutations int
	Method       string
	// Kind describes the distance or kernel; Bandwidth is the Gaussian σ.
	Kind      string
	Bandwidth float64
	N1, N2    int
	Warnings  []string
}

// pairSums precomputes what every permutation of a PairMatrix needs.
type pairSums struct {
	n, s    int       // pooled size, size of the smaller group
	rowSum  []float64 // Σ_j M[i][j]
	total   float64
	diag    []float64
	diagSum float64
	scale   float64 // mean |M[i][j]|, for the tie tolerance
}

func newPairSums(p *PairMatrix) pairSums {
	n := p.N1 + p.N2
	ps := pairSums{n: n, s: min(p.N1, p.N2), rowSum: make([]float64, n), diag: make([]float64, n)}
	abs := 0.0
	for i := range n {
		row := p.Data[i*n : (i+1)*n]
		s := 0.0
		for _, x := range row {
			s += x
			abs += math.Abs(x)
		}
		ps.rowSum[i] = s
		ps.total += s
		ps.diag[i] = row[i]
		ps.diagSum += row[i]
	}
	ps.scale = abs / float64(n*n)
	return ps
}

// groupSums returns Sxx = Σ_{i,j∈X} M[i][j], Σ_{i∈X} rowSum, Σ_{i∈X} diag
// for the index set X.
func (ps *pairSums) groupSums(p *PairMatrix, x []int) (sxx, rows, diag float64) {
	n := ps.n
	for _, i := range x {
		row := p.Data[i*n : (i+1)*n]
		s := 0.0
		for _, j := range x {
			s += row[j]
		}
		sxx += s
		rows += ps.rowSum[i]
		diag += ps.diag[i]
	}
	return
}

// permTest runs the shared machinery: stat maps the sums of a group X of the
// smaller size (and the rest Y) to the statistic.
func permTest(p *PairMatrix, B int, rng *rand.Rand, name string, stat func(nx, ny, sxx, sxy, syy, dx, dy float64) float64) (PermutationResult, error) {
	res := PermutationResult{Permutations: B, Kind: p.Kind, Bandwidth: p.Bandwidth, N1: p.N1, N2: p.N2}
	if p.N1 < 2 || p.N2 < 2 {
		return res, fmt.Errorf("%s: each sample needs at least 2 values, have %d and %d: %w", name, p.N1, p.N2, ErrSampleSize)
	}
	if B < 1 {
		return res, fmt.Errorf("%s: permutations %d < 1: %w", name, B, ErrDomain)
	}
	if rng == nil {
		return res, fmt.Errorf("%s: a seeded *rand.Rand is required: %w", name, ErrDomain)
	}
	ps := newPairSums(p)
	n, s := ps.n, ps.s
	nx, ny := float64(s), float64(n-s)
	eval := func(x []int) float64 {
		sxx, rows, dx := ps.groupSums(p, x)
		sxy := rows - sxx
		syy := ps.total - sxx - 2*sxy
		return stat(nx, ny, sxx, sxy, syy, dx, ps.diagSum-dx)
	}
	// Observed: X is the smaller sample (the statistics are symmetric).
	obsX := make([]int, s)
	off := 0
	if p.N2 < p.N1 {
		off = p.N1
	}
	for i := range obsX {
		obsX[i] = off + i
	}
	res.Statistic = eval(obsX)
	thr := res.Statistic - 1e-9*ps.scale
	ge := sampPermCount(B, rng, thr, func() func(r *rand.Rand) float64 {
		idx := make([]int, n)
		return func(r *rand.Rand) float64 {
			for i := range idx {
				idx[i] = i
			}
			for i := range s { // partial Fisher–Yates: a uniform s-subset
				j := i + r.IntN(n-i)
				idx[i], idx[j] = idx[j], idx[i]
			}
			return eval(idx[:s])
		}
	})
	res.PValue = float64(1+ge) / float64(B+1)
	return res, nil
}

// EnergyPermutationTest is the two-sample energy-distance permutation test
// on a distance matrix d (EuclideanDistances, or KernelDistances for text).
// Statistic is the energy distance (V-statistic)
//
//	E = 2·mean d(a_i, b_j) − mean d(a_i, a_k) − mean d(b_j, b_l),
//
// the means over all n1², n2² and n1·n2 pairs; for one-dimensional samples
// √E equals scipy.stats.energy_distance(a, b). The p-value is
// (1 + #{E* ≥ E})/(B + 1) over B random relabellings, run on all cores with
// per-chunk sub-seeds drawn from rng, so it is repeatable.
//
// Errors: ErrSampleSize (a sample has fewer than 2 values), ErrDomain
// (B < 1 or nil rng).
func EnergyPermutationTest(d *PairMatrix, B int, rng *rand.Rand) (PermutationResult, error) {
	res, err := permTest(d, B, rng, "energy", func(nx, ny, sxx, sxy, syy, _, _ float64) float64 {
		return 2*sxy/(nx*ny) - sxx/(nx*nx) - syy/(ny*ny)
	})
	res.Method = fmt.Sprintf("Energy distance permutation test (%s, %d permutations)", d.Kind, B)
	return res, err
}

// MMDPermutationTest is the two-sample kernel test on a kernel matrix k
// (GaussianKernel, HammingKernel, SpectrumKernel). Statistic is the unbiased
// squared maximum mean discrepancy
//
//	MMD²_u = Σ_{i≠k} k(a_i,a_k)/(n1(n1−1)) + Σ_{j≠l} k(b_j,b_l)/(n2(n2−1)) − 2·Σ k(a_i,b_j)/(n1·n2),
//
// which can be negative. The p-value is (1 + #{T* ≥ T})/(B + 1) over B
// random relabellings, computed as EnergyPermutationTest.
//
// Errors: as EnergyPermutationTest.
func MMDPermutationTest(k *PairMatrix, B int, rng *rand.Rand) (PermutationResult, error) {
	res, err := permTest(k, B, rng, "mmd", func(nx, ny, sxx, sxy, syy, dx, dy float64) float64 {
		return (sxx-dx)/(nx*(nx-1)) + (syy-dy)/(ny*(ny-1)) - 2*sxy/(nx*ny)
	})
	res.Method = fmt.Sprintf("MMD² (unbiased) permutation test (%s, %d permutations)", k.Kind, B)
	return res, err
}

// EnergyTest is EnergyPermutationTest on the Euclidean distances of the
// vectors a and b. Errors: as EuclideanDistances and EnergyPermutationTest.
func EnergyTest(a, b [][]float64, B int, rng *rand.Rand) (PermutationResult, error) {
	d, err := EuclideanDistances(a, b)
	if err != nil {
		return PermutationResult{}, err
	}
	return EnergyPermutationTest(d, B, rng)
}

// MMDTest is MMDPermutationTest with the Gaussian kernel (median heuristic)
// on the vectors a and b. Errors: as GaussianKernel and MMDPermutationTest.
func MMDTest(a, b [][]float64, B int, rng *rand.Rand) (PermutationResult, error) {
	k, err := GaussianKernel(a, b)
	if err != nil {
		return PermutationResult{}, err
	}
	return MMDPermutationTest(k, B, rng)
}
