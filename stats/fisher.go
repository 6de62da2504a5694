package stats

import (
	"fmt"
	"math"
)

// FisherResult is the result of Fisher's exact test.
type FisherResult struct {
	PValue   float64
	Method   string
	Warnings []string
}

// MaxFisherTables bounds the tables FisherExact enumerates for an r×c table.
const MaxFisherTables = 5_000_000

func fisherLogFact(n float64) float64 { v, _ := math.Lgamma(n + 1); return v }

// FisherExact is Fisher's exact test of independence on an r×c table of
// counts, two-sided by R's rule: the sum of the probabilities (under fixed
// margins) of all tables no more probable than the observed one, with
// relative tolerance 1+1e-7. 2×2 tables use the hypergeometric distribution
// directly; larger tables are enumerated, and ErrMethod is returned when more
// than MaxFisherTables would be needed.
//
// Errors: as ChiSquareTable, and ErrMethod when the table is too large to
// enumerate.
func FisherExact(t [][]float64) (FisherResult, error) {
	rows, cols, total, err := tableMargins(t)
	if err != nil {
		return FisherResult{}, err
	}
	if len(rows) == 2 && len(cols) == 2 {
		if math.Min(rows[0], cols[0]) > MaxFisherTables {
			return FisherResult{}, fmt.Errorf("%w: more than %d tables to sum; use the chi-square test", ErrMethod, MaxFisherTables)
		}
		return FisherResult{PValue: fisher2x2(t, rows, cols, total), Method: "Fisher's exact test (2×2, hypergeometric)"}, nil
	}
	// log P(table) = Σ fisherLogFact(rows) + Σ fisherLogFact(cols) − fisherLogFact(N) − Σ fisherLogFact(cells)
	base := -fisherLogFact(total)
	for _, r := range rows {
		base += fisherLogFact(r)
	}
	for _, c := range cols {
		base += fisherLogFact(c)
	}
	obs := base
	for i := range t {
		for j := range t[i] {
			obs -= fisherLogFact(t[i][j])
		}
	}
	thr := obs + math.Log1p(1e-7)
	nr, nc := len(rows), len(cols)
	colLeft := append([]float64{}, cols...)
	cell := make([]float64, nr*nc)
	var sum float64
	count := 0
	var rec func(i, j int, rowLeft, acc float64) error
	rec = func(i, j int, rowLeft, acc float64) error {
		if i == nr-1 { // last row is determined by the column remainders
			lp := acc
			for jj := 0; jj < nc; jj++ {
				lp -= fisherLogFact(colLeft[jj])
			}
			count++
			if count > MaxFisherTables {
				return fmt.Errorf("%w: more than %d tables to enumerate; use the Monte-Carlo chi-square test", ErrMethod, MaxFisherTables)
			}
			if lp <= thr {
				sum += math.Exp(lp)
			}
			return nil
		}
		if j == nc-1 { // last cell of the row takes the rest
			v := rowLeft
			if v > colLeft[j] {
				return nil
			}
			colLeft[j] -= v
			err := rec(i+1, 0, rows[i+1], acc-fisherLogFact(v))
			colLeft[j] += v
			return err
		}
		// remaining capacity of the columns after j must absorb the rest of the row
		rest := 0.0
		for jj := j + 1; jj < nc; jj++ {
			rest += colLeft[jj]
		}
		lo := math.Max(0, rowLeft-rest)
		hi := math.Min(rowLeft, colLeft[j])
		for v := lo; v <= hi; v++ {
			colLeft[j] -= v
			cell[i*nc+j] = v
			err := rec(i, j+1, rowLeft-v, acc-fisherLogFact(v))
			colLeft[j] += v
			if err != nil {
				return err
			}
		}
		return nil
	}
	if err := rec(0, 0, rows[0], base); err != nil {
		return FisherResult{}, err
	}
	return FisherResult{PValue: math.Min(1, sum), Method: fmt.Sprintf("Fisher's exact test (%d×%d, %d tables enumerated)", nr, nc, count)}, nil
}

func fisher2x2(t [][]float64, rows, cols []float64, total float64) float64 {
	// X = t[0][0] ~ Hypergeometric(total, K = cols[0], n = rows[0]).
	m, n, k := cols[0], total-cols[0], rows[0]
	lo, hi := math.Max(0, k-n), math.Min(k, m)
	lp := func(x float64) float64 {
		return fisherLogFact(m) - fisherLogFact(x) - fisherLogFact(m-x) + fisherLogFact(n) - fisherLogFact(k-x) - fisherLogFact(n-k+x) - fisherLogFact(m+n) + fisherLogFact(k) + fisherLogFact(m+n-k)
	}
	obs := lp(t[0][0])
	thr := obs + math.Log1p(1e-7)
	// Sum in a stable way relative to the maximum probability.
	var ps []float64
	mx := math.Inf(-1)
	for x := lo; x <= hi; x++ {
		v := lp(x)
		ps = append(ps, v)
		mx = math.Max(mx, v)
	}
	var num, den float64
	for _, v := range ps {
		e := math.Exp(v - mx)
		den += e
		if v <= thr {
			num += e
		}
	}
	return math.Min(1, num/den)
}

// FisherLabels is Fisher's exact test on the 2×k table of two label samples.
//
// Errors: ErrEmptyGroup (an empty sample), then as FisherExact.
func FisherLabels(a, b []string) (FisherResult, error) {
	t, _, err := LabelTable(a, b)
	if err != nil {
		return FisherResult{}, err
	}
	return FisherExact(t)
}
