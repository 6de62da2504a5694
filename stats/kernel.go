package stats

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
)

// MaxPairMatrixSize is the largest pooled sample (N1+N2) for which a
// PairMatrix is built: the matrix holds (N1+N2)² float64 values.
const MaxPairMatrixSize = 6000

// PairMatrix is a symmetric matrix over a pooled sample of two groups: rows
// and columns 0..N1−1 are sample a, N1..N1+N2−1 sample b. It holds either
// distances (for the energy test) or kernel values (for MMD), computed once
// and reused by every permutation.
type PairMatrix struct {
	N1, N2 int
	// Data is row-major, (N1+N2)² values.
	Data []float64
	// Kind describes the entries, e.g. "euclidean distance" or
	// "gaussian kernel".
	Kind string
	// Bandwidth is the Gaussian kernel's σ (0 for other kinds).
	Bandwidth float64
}

// At returns entry (i, j).
func (p *PairMatrix) At(i, j int) float64 { return p.Data[i*(p.N1+p.N2)+j] }

func newPairMatrix(n1, n2 int, kind string) (*PairMatrix, error) {
	if n1 == 0 || n2 == 0 {
		return nil, fmt.Errorf("%s: a sample is empty: %w", kind, ErrEmptyGroup)
	}
	if n1+n2 > MaxPairMatrixSize {
		return nil, fmt.Errorf("%s: pooled sample of %d exceeds %d: %w", kind, n1+n2, MaxPairMatrixSize, ErrMethod)
	}
	n := n1 + n2
	return &PairMatrix{N1: n1, N2: n2, Data: make([]float64, n*n), Kind: kind}, nil
}

// fill sets the upper triangle (with diagonal) from f using all cores and
// mirrors it.
func (p *PairMatrix) fill(f func(i, j int) float64) {
	n := p.N1 + p.N2
	sampParallelRows(n, func(i int) {
		row := p.Data[i*n : (i+1)*n]
		for j := i; j < n; j++ {
			row[j] = f(i, j)
		}
	})
	for i := range n {
		for j := range i {
			p.Data[i*n+j] = p.Data[j*n+i]
		}
	}
}

// sampParallelRows calls f(i) for i in [0, n), rows interleaved over
// GOMAXPROCS goroutines. f must only write row i.
func sampParallelRows(n int, f func(i int)) {
	w := min(runtime.GOMAXPROCS(0), n)
	if w <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	for k := range w {
		wg.Go(func() {
			for i := k; i < n; i += w {
				f(i)
			}
		})
	}
	wg.Wait()
}

func sampCheckVectors(a, b [][]float64) (dim int, err error) {
	if len(a) == 0 || len(b) == 0 {
		return 0, fmt.Errorf("vectors: a sample is empty: %w", ErrEmptyGroup)
	}
	dim = len(a[0])
	if dim == 0 {
		return 0, fmt.Errorf("vectors: zero-length vector: %w", ErrDomain)
	}
	for g, s := range [][][]float64{a, b} {
		for i, v := range s {
			if len(v) != dim {
				return 0, fmt.Errorf("vectors: sample %d vector %d has dimension %d, want %d: %w", g+1, i+1, len(v), dim, ErrDomain)
			}
			for _, x := range v {
				if math.IsNaN(x) || math.IsInf(x, 0) {
					return 0, fmt.Errorf("vectors: sample %d vector %d: %w", g+1, i+1, ErrNaN)
				}
			}
		}
	}
	return dim, nil
}

func sampPooled[T any](a, b []T) []T { return append(slices.Clip(a), b...) }

// EuclideanDistances is the matrix of Euclidean distances between the
// vectors of a and b pooled (all of one dimension).
//
// Errors: ErrEmptyGroup, ErrNaN, ErrDomain (dimensions differ), ErrMethod
// (pooled size above MaxPairMatrixSize).
func EuclideanDistances(a, b [][]float64) (*PairMatrix, error) {
	if _, err := sampCheckVectors(a, b); err != nil {
		return nil, err
	}
	p, err := newPairMatrix(len(a), len(b), "euclidean distance")
	if err != nil {
		return nil, err
	}
	z := sampPooled(a, b)
	p.fill(func(i, j int) float64 { return math.Sqrt(sampSqDist(z[i], z[j])) })
	return p, nil
}

func sampSqDist(x, y []float64) float64 {
	s := 0.0
	for k := range x {
		d := x[k] - y[k]
		s += d * d
	}
	return s
}

// GaussianKernel is the matrix exp(−‖x−y‖²/(2σ²)) over the vectors of a and
// b pooled, with σ the median of the pairwise distances of the pooled sample
// (the median heuristic); if that median is 0 (mostly identical vectors) σ is
// the mean of the non-zero distances, and 1 when all vectors are equal.
//
// Errors: as EuclideanDistances.
func GaussianKernel(a, b [][]float64) (*PairMatrix, error) {
	d, err := EuclideanDistances(a, b)
	if err != nil {
		return nil, err
	}
	n := d.N1 + d.N2
	upper := make([]float64, 0, n*(n-1)/2)
	for i := range n {
		upper = append(upper, d.Data[i*n+i+1:(i+1)*n]...)
	}
	sigma := sampMedian(upper)
	if sigma == 0 {
		s, c := 0.0, 0
		for _, x := range upper {
			if x > 0 {
				s += x
				c++
			}
		}
		sigma = 1
		if c > 0 {
			sigma = s / float64(c)
		}
	}
	g := 1 / (2 * sigma * sigma)
	for i, x := range d.Data {
		d.Data[i] = math.Exp(-x * x * g)
	}
	d.Kind = "gaussian kernel"
	d.Bandwidth = sigma
	return d, nil
}

// sampMedian returns the median of x (reordering x); 0 for empty x.
func sampMedian(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	slices.Sort(x)
	h := len(x) / 2
	if len(x)%2 == 1 {
		return x[h]
	}
	return (x[h-1] + x[h]) / 2
}

// HammingKernel is the cosine-normalized Hamming (position-match) kernel over
// the strings of a and b pooled: k(s,t) = #{i : s[i] = t[i]} / √(|s|·|t|),
// counting runes; for strings of equal length it is 1 − Hamming distance /
// length. Two empty strings have kernel 1, an empty and a non-empty one 0.
//
// Errors: ErrEmptyGroup, ErrMethod (pooled size above MaxPairMatrixSize).
func HammingKernel(a, b []string) (*PairMatrix, error) {
	p, err := newPairMatrix(len(a), len(b), "hamming kernel")
	if err != nil {
		return nil, err
	}
	z := make([][]rune, 0, len(a)+len(b))
	for _, s := range sampPooled(a, b) {
		z = append(z, []rune(s))
	}
	p.fill(func(i, j int) float64 {
		s, t := z[i], z[j]
		if len(s) == 0 || len(t) == 0 {
			if len(s) == len(t) {
				return 1
			}
			return 0
		}
		c := 0
		for k := range min(len(s), len(t)) {
			if s[k] == t[k] {
				c++
			}
		}
		return float64(c) / math.Sqrt(float64(len(s))*float64(len(t)))
	})
	return p, nil
}

// SpectrumKernel is the cosine-normalized n-gram spectrum kernel over the
// strings of a and b pooled: the inner product of the counts of the
// character (rune) n-grams of each string, divided by the product of their
// norms. A string shorter than n runes counts as the single feature "the
// whole string"; two empty strings have kernel 1.
//
// Errors: ErrDomain for n < 1, ErrEmptyGroup, ErrMethod (pooled size above
// MaxPairMatrixSize).
func SpectrumKernel(a, b []string, n int) (*PairMatrix, error) {
	if n < 1 {
		return nil, fmt.Errorf("spectrum kernel: n-gram length %d < 1: %w", n, ErrDomain)
	}
	p, err := newPairMatrix(len(a), len(b), fmt.Sprintf("spectrum kernel (%d-grams)", n))
	if err != nil {
		return nil, err
	}
	// Map each n-gram to an id; each string becomes sorted (id, count) pairs.
	ids := map[string]int32{}
	type feat struct {
		id int32
		c  float64
	}
	pooled := sampPooled(a, b)
	feats := make([][]feat, len(pooled))
	norms := make([]float64, len(pooled))
	for i, s := range pooled {
		r := []rune(s)
		var grams []int32
		add := func(g string) {
			id, ok := ids[g]
			if !ok {
				id = int32(len(ids))
				ids[g] = id
			}
			grams = append(grams, id)
		}
		if len(r) < n {
			if len(r) > 0 {
				add(string(r))
			}
		} else {
			for k := 0; k+n <= len(r); k++ {
				add(string(r[k : k+n]))
			}
		}
		slices.Sort(grams)
		var f []feat
		for k := 0; k < len(grams); {
			l := k
			for l < len(grams) && grams[l] == grams[k] {
				l++
			}
			f = append(f, feat{grams[k], float64(l - k)})
			norms[i] += float64((l - k) * (l - k))
			k = l
		}
		feats[i] = f
		norms[i] = math.Sqrt(norms[i])
	}
	p.fill(func(i, j int) float64 {
		if i == j {
			return 1
		}
		if norms[i] == 0 || norms[j] == 0 {
			if norms[i] == norms[j] {
				return 1
			}
			return 0
		}
		x, y := feats[i], feats[j]
		dot := 0.0
		for k, l := 0, 0; k < len(x) && l < len(y); {
			switch {
			case x[k].id < y[l].id:
				k++
			case x[k].id > y[l].id:
				l++
			default:
				dot += x[k].c * y[l].c
				k++
				l++
			}
		}
		return dot / (norms[i] * norms[j])
	})
	return p, nil
}

// KernelDistances returns the metric induced by a kernel matrix k,
// d(x,y) = √(k(x,x) + k(y,y) − 2k(x,y)), for use with EnergyPermutationTest.
func KernelDistances(k *PairMatrix) *PairMatrix {
	n := k.N1 + k.N2
	d := &PairMatrix{N1: k.N1, N2: k.N2, Data: make([]float64, n*n), Kind: "distance induced by " + k.Kind, Bandwidth: k.Bandwidth}
	for i := range n {
		for j := range n {
			d.Data[i*n+j] = math.Sqrt(max(0, k.Data[i*n+i]+k.Data[j*n+j]-2*k.Data[i*n+j]))
		}
	}
	return d
}
