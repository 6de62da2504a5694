package stats

import (
	"math"
	"slices"
)

// longest bounds from above the largest Σ −ln x! over the completions of
// rem at stage k (the longest path of Mehta & Patel: the most probable
// completion): the least of three relaxations (each column on its own, each
// row on its own, and the Lagrangian one of lagrangeHi).
func (f *fisherNet) longest(k int, rem []int, m int) float64 {
	cols := f.c[k:]
	byCol, byRow := f.eachLine(waterFill, rem, cols)
	return min(byCol, byRow, lagrangeHi(f.lf, rem, cols, m))
}

// shortest bounds from below the smallest Σ −ln x! over the completions of
// rem at stage k (the shortest path: the least probable completion): each
// column on its own, or each row on its own, as concentrated as its caps
// allow.
func (f *fisherNet) shortest(k int, rem []int) float64 {
	byCol, byRow := f.eachLine(concentrate, rem, f.c[k:])
	return -min(byCol, byRow)
}

// eachLine relaxes the completions of rem over the columns cols line by
// line: byCol is the sum over the columns of bound(column sum, rem),
// byRow the sum over the rows of bound(row sum, cols).
func (f *fisherNet) eachLine(bound func(logFactorials, int, []int) float64, rem, cols []int) (byCol, byRow float64) {
	for _, v := range cols {
		byCol += bound(f.lf, v, rem)
	}
	for _, r := range rem {
		byRow += bound(f.lf, r, cols)
	}
	return byCol, byRow
}

// waterFill is the largest Σ −ln x_i! over x_i ≤ caps[i] with Σ x_i = n
// (n ≤ Σ caps): spread n as evenly as the caps allow, −ln x! being concave.
func waterFill(lf logFactorials, n int, caps []int) float64 {
	cs := slices.Sorted(slices.Values(caps))
	s := 0.0
	left, k := n, len(cs)
	for _, c := range cs { // smallest caps fill first
		share := left / k
		if c <= share {
			s -= lf.At(c)
			left -= c
			k--
			continue
		}
		// the k cells left all take share or share+1
		extra := left - share*k
		s -= float64(extra)*lf.At(share+1) + float64(k-extra)*lf.At(share)
		return s
	}
	return s
}

// concentrate is the largest Σ ln x_i! over x_i ≤ caps[i] with Σ x_i = n
// (n ≤ Σ caps): fill the largest caps first, ln x! being convex (the
// filled vector majorizes every other).
func concentrate(lf logFactorials, n int, caps []int) float64 {
	cs := slices.Sorted(slices.Values(caps))
	s := 0.0
	for i, left := len(cs)-1, n; left > 0; i-- {
		x := min(left, cs[i])
		s += lf.At(x)
		left -= x
	}
	return s
}

// lagrangeHi bounds from above the largest Σ −ln x_ij! over the tables with
// row sums rem and column sums cols (m in all), by relaxing the row sums with
// multipliers ln rem_i (near optimal: the most probable table is close to
// rem_i c_j / m): Σ_i −ln(rem_i)·rem_i + Σ_j max over the column x (Σ x =
// c_j, x_i ≤ rem_i) of Σ_i (ln(rem_i)·x_i − ln x_i!), each column's maximum
// found greedily (the terms are concave in x_i).
func lagrangeHi(lf logFactorials, rem, cols []int, m int) float64 {
	lam := make([]float64, len(rem))
	s := 0.0
	for i, r := range rem {
		if r > 0 {
			lam[i] = math.Log(float64(r))
			s -= lam[i] * float64(r)
		}
	}
	x := make([]int, len(rem))
	for _, c := range cols {
		clear(x)
		for range c {
			best, gain := -1, math.Inf(-1)
			for i, r := range rem {
				if x[i] < r {
					if g := lam[i] - (lf.At(x[i]+1) - lf.At(x[i])); g > gain { // ln(x+1)
						best, gain = i, g
					}
				}
			}
			x[best]++
			s += gain
		}
	}
	return s
}
