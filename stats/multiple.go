package stats

import (
	"fmt"
	"math"
	"sort"
)

func padjCheck(p []float64) error {
	if len(p) == 0 {
		return fmt.Errorf("%w: no p-values", ErrSampleSize)
	}
	for i, v := range p {
		if math.IsNaN(v) {
			return fmt.Errorf("%w: p-value %d", ErrNaN, i+1)
		}
		if v < 0 || v > 1 {
			return fmt.Errorf("%w: p-value %d = %g outside [0, 1]", ErrDomain, i+1, v)
		}
	}
	return nil
}

func padjOrder(p []float64, desc bool) []int {
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		if desc {
			return p[idx[a]] > p[idx[b]]
		}
		return p[idx[a]] < p[idx[b]]
	})
	return idx
}

// BenjaminiHochberg returns the BH (false discovery rate) adjusted p-values
// in input order, as R's p.adjust(p, "BH").
//
// Errors: ErrSampleSize (no p-values), ErrNaN, ErrDomain (a value outside
// [0, 1]).
func BenjaminiHochberg(p []float64) ([]float64, error) { return padjStepUp(p, 1) }

// BenjaminiYekutieli returns the BY adjusted p-values (FDR under arbitrary
// dependence), as R's p.adjust(p, "BY").
//
// Errors: ErrSampleSize (no p-values), ErrNaN, ErrDomain (a value outside
// [0, 1]).
func BenjaminiYekutieli(p []float64) ([]float64, error) {
	q := 0.0
	for i := 1; i <= len(p); i++ {
		q += 1 / float64(i)
	}
	return padjStepUp(p, q)
}

func padjStepUp(p []float64, q float64) ([]float64, error) {
	if err := padjCheck(p); err != nil {
		return nil, err
	}
	n := len(p)
	idx := padjOrder(p, true)
	out := make([]float64, n)
	cur := math.Inf(1)
	for k, i := range idx {
		rank := n - k // rank in increasing order
		cur = math.Min(cur, q*float64(n)/float64(rank)*p[i])
		out[i] = math.Min(1, cur)
	}
	return out, nil
}

// Holm returns Holm's step-down adjusted p-values (family-wise error), as
// R's p.adjust(p, "holm").
//
// Errors: ErrSampleSize (no p-values), ErrNaN, ErrDomain (a value outside
// [0, 1]).
func Holm(p []float64) ([]float64, error) {
	if err := padjCheck(p); err != nil {
		return nil, err
	}
	n := len(p)
	idx := padjOrder(p, false)
	out := make([]float64, n)
	cur := 0.0
	for k, i := range idx {
		cur = math.Max(cur, float64(n-k)*p[i])
		out[i] = math.Min(1, cur)
	}
	return out, nil
}
