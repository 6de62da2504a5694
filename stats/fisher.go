package stats

import (
	"fmt"
	"math"
)

// FisherResult is the result of Fisher's exact test.
type FisherResult struct {
	PValue float64
	// MonteCarlo is the number of random tables when the p-value is
	// Monte-Carlo (0: exact), and StdErr its standard error.
	MonteCarlo int
	StdErr     float64
	Method     string
	Warnings   []string
}

// MaxFisherTables bounds the tables of a 2×2 test (the smaller of the first
// row's and the first column's sums).
const MaxFisherTables = 5_000_000

func fisherLogFact(n float64) float64 { v, _ := math.Lgamma(n + 1); return v }

// FisherExact is FisherExactLimit with the default work limit,
// MaxFisherWork.
func FisherExact(t [][]float64) (FisherResult, error) { return FisherExactLimit(t, MaxFisherWork) }

// FisherExactLimit is Fisher's exact test of independence on an r×c table
// of counts, two-sided by R's rule: the sum of the probabilities (under
// fixed margins) of all tables no more probable than the observed one, with
// relative tolerance 1+1e-7. 2×2 tables use the hypergeometric distribution
// directly; larger tables the network algorithm (fisherNetwork), which
// gives up past maxWork steps (about 0.1 µs each).
//
// Errors: as ChiSquareTable; ErrDomain when maxWork < 1; ErrMethod when the
// table is too large: a *FisherWorkError (wrapping ErrMethod) past maxWork
// (FisherTable then turns to Monte-Carlo).
func FisherExactLimit(t [][]float64, maxWork int) (FisherResult, error) {
	rows, cols, total, err := tableMargins(t)
	if err != nil {
		return FisherResult{}, err
	}
	if maxWork < 1 {
		return FisherResult{}, fmt.Errorf("%w: the work limit of the exact test must be >= 1, got %d", ErrDomain, maxWork)
	}
	if len(rows) == 2 && len(cols) == 2 {
		if math.Min(rows[0], cols[0]) > MaxFisherTables {
			return FisherResult{}, fmt.Errorf("%w: more than %d tables to sum; use the chi-square test", ErrMethod, MaxFisherTables)
		}
		return FisherResult{PValue: fisher2x2(t, rows, cols, total), Method: "Fisher's exact test (2×2, hypergeometric)"}, nil
	}
	if total > math.MaxInt32 {
		return FisherResult{}, fmt.Errorf("%w: %g observations: too many for the exact test", ErrMethod, total)
	}
	p, _, err := fisherNetwork(t, rows, cols, total, maxWork)
	if err != nil {
		return FisherResult{}, &FisherWorkError{Rows: len(rows), Cols: len(cols), N: total, Limit: maxWork}
	}
	return FisherResult{PValue: p, Method: fmt.Sprintf("Fisher's exact test (%d×%d, network algorithm)", len(rows), len(cols))}, nil
}

// FisherWorkError is the condition of an exact test that would take more
// than Limit steps of the network algorithm on a Rows×Cols table of N
// observations. It wraps ErrMethod.
type FisherWorkError struct {
	Rows, Cols int
	N          float64
	Limit      int
}

func (e *FisherWorkError) Error() string {
	return fmt.Sprintf("%v: the exact test of this %d×%d table (N = %g) would take more than %d steps (the work limit)", ErrMethod, e.Rows, e.Cols, e.N, e.Limit)
}

// Unwrap returns ErrMethod.
func (e *FisherWorkError) Unwrap() error { return ErrMethod }

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
