package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// TableResult is the result of a test on a contingency table.
type TableResult struct {
	Statistic float64
	DF        int
	PValue    float64
	// MonteCarlo is the number of resamples when the p-value is Monte-Carlo.
	MonteCarlo int
	Method     string
	Warnings   []string
	// Table is the r×c table tested (rows: samples; columns: Categories).
	Table      [][]float64
	Categories []string
}

// LabelTable builds the 2×k table of two label samples: row 0 counts a's
// labels, row 1 b's; columns are the labels seen in either, sorted.
//
// Errors: ErrEmptyGroup when a sample is empty.
func LabelTable(a, b []string) ([][]float64, []string, error) {
	if len(a) == 0 || len(b) == 0 {
		return nil, nil, fmt.Errorf("%w: both samples need at least one label", ErrEmptyGroup)
	}
	set := map[string]int{}
	for _, s := range append(append([]string{}, a...), b...) {
		set[s] = 0
	}
	cats := make([]string, 0, len(set))
	for s := range set {
		cats = append(cats, s)
	}
	sort.Strings(cats)
	for i, c := range cats {
		set[c] = i
	}
	t := [][]float64{make([]float64, len(cats)), make([]float64, len(cats))}
	for _, s := range a {
		t[0][set[s]]++
	}
	for _, s := range b {
		t[1][set[s]]++
	}
	return t, cats, nil
}

func tableMargins(t [][]float64) (rows, cols []float64, total float64, err error) {
	if len(t) < 2 {
		return nil, nil, 0, fmt.Errorf("%w: the table needs at least 2 rows", ErrSampleSize)
	}
	c := len(t[0])
	if c < 2 {
		return nil, nil, 0, fmt.Errorf("%w: the table needs at least 2 columns (categories)", ErrSampleSize)
	}
	rows, cols = make([]float64, len(t)), make([]float64, c)
	for i, row := range t {
		if len(row) != c {
			return nil, nil, 0, fmt.Errorf("%w: ragged table", ErrDomain)
		}
		for j, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, nil, 0, ErrNaN
			}
			if v < 0 || v != math.Trunc(v) {
				return nil, nil, 0, fmt.Errorf("%w: cell [%d,%d] = %g is not a count", ErrDomain, i, j, v)
			}
			rows[i] += v
			cols[j] += v
			total += v
		}
	}
	for i, r := range rows {
		if r == 0 {
			return nil, nil, 0, fmt.Errorf("%w: row %d is empty", ErrEmptyGroup, i)
		}
	}
	for j, cl := range cols {
		if cl == 0 {
			return nil, nil, 0, fmt.Errorf("%w: column %d is empty", ErrEmptyGroup, j)
		}
	}
	return rows, cols, total, nil
}

func tableChiSq(t [][]float64, rows, cols []float64, total float64) float64 {
	s := 0.0
	for i := range t {
		for j := range t[i] {
			e := rows[i] * cols[j] / total
			d := t[i][j] - e
			s += d * d / e
		}
	}
	return s
}

func tableG(t [][]float64, rows, cols []float64, total float64) float64 {
	s := 0.0
	for i := range t {
		for j := range t[i] {
			if o := t[i][j]; o > 0 {
				s += o * math.Log(o*total/(rows[i]*cols[j]))
			}
		}
	}
	return 2 * s
}

// ChiSquareTable is Pearson's chi-square test of independence (homogeneity)
// on an r×c table, without continuity correction (R's chisq.test(correct =
// FALSE)). With b > 0 the p-value is Monte-Carlo: (1 + #{T* ≥ T})/(b + 1)
// over b random tables with the observed margins, drawn with rng from their
// exact conditional (multivariate hypergeometric) law as R's r2dtable does
// for chisq.test(simulate.p.value = TRUE); T* ≥ T is judged with R's
// tolerance T*(1 − 64ε). The draws differ from R's, so the p-values agree
// with R's only up to Monte-Carlo error. Without b, a warning is added when
// an expected count is below 5.
//
// Errors: ErrSampleSize (fewer than 2 rows or columns), ErrEmptyGroup (an
// empty row or column), ErrNaN, ErrDomain (a ragged table, a cell that is
// not a non-negative whole count, b > 0 with a nil rng), ErrMethod (a
// Monte-Carlo p-value for more than 2^40 observations).
func ChiSquareTable(t [][]float64, b int, rng *rand.Rand) (TableResult, error) {
	return tableTest(t, b, rng, tableChiSq, chiSqKernel, "Pearson's chi-squared test")
}

// GTestTable is the likelihood-ratio (G) test on an r×c table:
// G = 2 Σ O ln(O/E), chi-square with (r−1)(c−1) df, or Monte-Carlo with b > 0.
//
// Errors: as ChiSquareTable.
func GTestTable(t [][]float64, b int, rng *rand.Rand) (TableResult, error) {
	return tableTest(t, b, rng, tableG, gKernel, "G-test (log-likelihood ratio)")
}

// ChiSquareLabels tests whether two label samples come from one categorical
// distribution (chi-square on their 2×k table).
//
// Categories are the labels sorted; the test needs at least 2 of them.
// Errors: ErrEmptyGroup (an empty sample), then as ChiSquareTable.
func ChiSquareLabels(a, b []string, resamples int, rng *rand.Rand) (TableResult, error) {
	return labelTableTest(a, b, resamples, rng, ChiSquareTable)
}

// GTestLabels is ChiSquareLabels with the G statistic.
func GTestLabels(a, b []string, resamples int, rng *rand.Rand) (TableResult, error) {
	return labelTableTest(a, b, resamples, rng, GTestTable)
}

// labelTableTest runs test on the 2×k table of the label samples a and b and
// names the table's categories in the result.
func labelTableTest(a, b []string, resamples int, rng *rand.Rand, test func([][]float64, int, *rand.Rand) (TableResult, error)) (TableResult, error) {
	t, cats, err := LabelTable(a, b)
	if err != nil {
		return TableResult{}, err
	}
	r, err := test(t, resamples, rng)
	r.Categories = cats
	return r, err
}

// tableTest computes stat on t and its p-value: chi-square with (r−1)(c−1)
// df, or with b > 0 Monte-Carlo over b tables, judged by kernel (the same
// statistic computed on flattened integer tables).
func tableTest(t [][]float64, b int, rng *rand.Rand, stat func([][]float64, []float64, []float64, float64) float64, kernel tableKernel, method string) (TableResult, error) {
	rows, cols, total, err := tableMargins(t)
	if err != nil {
		return TableResult{}, err
	}
	r := TableResult{Table: t, DF: (len(rows) - 1) * (len(cols) - 1), Method: method}
	r.Statistic = stat(t, rows, cols, total)
expected:
	for i := range rows {
		for j := range cols {
			if rows[i]*cols[j]/total < 5 {
				r.Warnings = append(r.Warnings, "an expected count is below 5: the chi-square approximation may be inaccurate (use the Monte-Carlo p-value)")
				break expected // once, not once per row
			}
		}
	}
	if b <= 0 {
		r.PValue = distuv.ChiSquared{K: float64(r.DF)}.Survival(r.Statistic)
		return r, nil
	}
	if rng == nil {
		return r, fmt.Errorf("%w: a Monte-Carlo p-value needs a random source", ErrDomain)
	}
	if total > tableMaxMonteCarloN {
		return r, fmt.Errorf("%w: Monte-Carlo p-value for %g observations (at most %g): use the asymptotic p-value", ErrMethod, total, float64(tableMaxMonteCarloN))
	}
	ge := tableMonteCarlo(t, rows, cols, total, b, rng, kernel)
	r.PValue = float64(1+ge) / float64(b+1)
	r.MonteCarlo = b
	r.Method += fmt.Sprintf(" with Monte-Carlo p-value (%d random tables with the observed margins, as R's r2dtable)", b)
	r.Warnings = nil
	return r, nil
}

// tableMaxMonteCarloN bounds the total count of a table for Monte-Carlo
// p-values (the hypergeometric draws work on counts below 2^53).
const tableMaxMonteCarloN = 1 << 40
