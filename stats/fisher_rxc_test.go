package stats

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// fisherRxC are R's fisher.test p-values on r×c tables, from
// stats/testdata/ref_tables.R (output in ref_tables.out); workspace is what R
// needed (200000 is its default) and rSeconds R's time on this machine.
var fisherRxC = []struct {
	name     string
	tab      [][]float64
	want     float64
	call     string
	rSeconds float64
}{
	{"3x4 N=127", [][]float64{{10, 12, 8, 5}, {7, 15, 9, 11}, {12, 8, 14, 16}}, 0.19699209510417703,
		"fisher.test(matrix(c(10, 12, 8, 5, 7, 15, 9, 11, 12, 8, 14, 16), 3, byrow = TRUE), workspace = 200000)", 0.046},
	{"5x5 N=101", [][]float64{{5, 3, 4, 2, 6}, {2, 6, 3, 5, 4}, {4, 2, 7, 3, 4}, {3, 5, 2, 6, 4}, {6, 4, 5, 3, 3}}, 0.7563945784981253,
		"fisher.test(matrix(c(5, 3, 4, 2, 6, 2, 6, 3, 5, 4, 4, 2, 7, 3, 4, 3, 5, 2, 6, 4, 6, 4, 5, 3, 3), 5, byrow = TRUE), workspace = 200000)", 3.071},
	{"2x5", [][]float64{{5, 1, 2, 0, 1}, {2, 3, 1, 4, 2}}, 0.16608716361038176,
		"fisher.test(matrix(c(5, 1, 2, 0, 1, 2, 3, 1, 4, 2), 2, byrow = TRUE), workspace = 200000)", 0.001},
	{"3x3", [][]float64{{3, 0, 7}, {1, 9, 0}, {0, 1, 12}}, 1.3534188528802768e-07,
		"fisher.test(matrix(c(3, 0, 7, 1, 9, 0, 0, 1, 12), 3, byrow = TRUE), workspace = 200000)", 0.001},
	{"3x4 N=40", [][]float64{{3, 0, 7, 1}, {2, 9, 0, 4}, {0, 1, 1, 12}}, 7.1531803727432644e-08,
		"fisher.test(matrix(c(3, 0, 7, 1, 2, 9, 0, 4, 0, 1, 1, 12), 3, byrow = TRUE), workspace = 200000)", 0.001},
	{"4x4 N=72 (R needs workspace raised)", [][]float64{{8, 2, 1, 5}, {3, 9, 4, 2}, {1, 3, 10, 4}, {6, 2, 3, 9}}, 0.00099916839232349914,
		"fisher.test(matrix(c(8, 2, 1, 5, 3, 9, 4, 2, 1, 3, 10, 4, 6, 2, 3, 9), 4, byrow = TRUE), workspace = 800000)", 0.372},
	{"3x5 N=194 (R needs workspace raised)", [][]float64{{20, 15, 10, 12, 8}, {11, 18, 14, 9, 13}, {7, 12, 19, 16, 10}}, 0.085810729277806169,
		"fisher.test(matrix(c(20, 15, 10, 12, 8, 11, 18, 14, 9, 13, 7, 12, 19, 16, 10), 3, byrow = TRUE), workspace = 3200000)", 1.615},
	// Issue 19, item 15: 5×5 tables with N = 82 that R answers exactly with
	// its default workspace, and that were past MaxFisherWork before the
	// network kept the completions of its small nodes (the first two fell
	// back to Monte-Carlo then). R 4.2.2, options(digits = 17),
	// sprintf("%.17g", fisher.test(m)$p.value); rSeconds is R's time on
	// this (loaded) machine.
	{"5x5 N=82 p=0.03", [][]float64{{10, 0, 2, 5, 0}, {5, 2, 2, 5, 4}, {6, 0, 4, 7, 0}, {4, 1, 0, 11, 3}, {7, 0, 0, 4, 0}}, 0.029224871237758247,
		"fisher.test(matrix(c(10, 0, 2, 5, 0, 5, 2, 2, 5, 4, 6, 0, 4, 7, 0, 4, 1, 0, 11, 3, 7, 0, 0, 4, 0), 5, byrow = TRUE))", 9.860},
	{"5x5 N=82 sparse, large cells", [][]float64{{6, 0, 0, 6, 2}, {0, 1, 0, 9, 4}, {1, 0, 1, 5, 6}, {1, 2, 0, 19, 7}, {1, 0, 0, 0, 11}}, 1.4615905160839882e-05,
		"fisher.test(matrix(c(6, 0, 0, 6, 2, 0, 1, 0, 9, 4, 1, 0, 1, 5, 6, 1, 2, 0, 19, 7, 1, 0, 0, 0, 11), 5, byrow = TRUE))", 1.563},
	{"5x5 N=82 p=0.37", [][]float64{{10, 0, 4, 7, 0}, {4, 0, 3, 7, 0}, {11, 1, 1, 6, 1}, {4, 0, 0, 2, 0}, {8, 0, 1, 8, 4}}, 0.36510737717273911,
		"fisher.test(matrix(c(10, 0, 4, 7, 0, 4, 0, 3, 7, 0, 11, 1, 1, 6, 1, 4, 0, 0, 2, 0, 8, 0, 1, 8, 4), 5, byrow = TRUE))", 1.968},
	{"5x5 N=82 cells of 17 and 25", [][]float64{{0, 4, 8, 0, 6}, {0, 0, 1, 1, 8}, {1, 0, 0, 0, 3}, {0, 1, 17, 0, 25}, {0, 1, 5, 1, 0}}, 0.00015877732257472854,
		"fisher.test(matrix(c(0, 4, 8, 0, 6, 0, 0, 1, 1, 8, 1, 0, 0, 0, 3, 0, 1, 17, 0, 25, 0, 1, 5, 1, 0), 5, byrow = TRUE))", 1.252},
	{"5x5 N=82 p=0.14", [][]float64{{0, 7, 6, 4, 0}, {1, 3, 4, 5, 1}, {1, 10, 1, 11, 2}, {0, 0, 1, 0, 0}, {0, 8, 6, 11, 0}}, 0.14307279530526024,
		"fisher.test(matrix(c(0, 7, 6, 4, 0, 1, 3, 4, 5, 1, 1, 10, 1, 11, 2, 0, 0, 1, 0, 0, 0, 8, 6, 11, 0), 5, byrow = TRUE))", 2.413},
	{"5x5 N=93 flat", [][]float64{{4, 3, 5, 2, 4}, {3, 6, 2, 4, 3}, {5, 2, 4, 3, 6}, {2, 5, 3, 4, 4}, {3, 4, 2, 5, 5}}, 0.94491175946679173,
		"fisher.test(matrix(c(4, 3, 5, 2, 4, 3, 6, 2, 4, 3, 5, 2, 4, 3, 6, 2, 5, 3, 4, 4, 3, 4, 2, 5, 5), 5, byrow = TRUE), workspace = 2e7)", 0.32},
	{"5x5 N=63 diagonal, sparse", [][]float64{{9, 0, 1, 2, 0}, {1, 7, 0, 3, 1}, {0, 2, 8, 1, 4}, {3, 0, 2, 6, 1}, {0, 2, 1, 0, 9}}, 1.1211291692428084e-10,
		"fisher.test(matrix(c(9, 0, 1, 2, 0, 1, 7, 0, 3, 1, 0, 2, 8, 1, 4, 3, 0, 2, 6, 1, 0, 2, 1, 0, 9), 5, byrow = TRUE), workspace = 2e7)", 5.91},
	{"2x8 N=92", [][]float64{{8, 3, 12, 1, 6, 9, 2, 4}, {3, 11, 5, 7, 2, 9, 4, 6}}, 0.01456603959278455,
		"fisher.test(matrix(c(8, 3, 12, 1, 6, 9, 2, 4, 3, 11, 5, 7, 2, 9, 4, 6), 2, byrow = TRUE), workspace = 2e7)", 0.14},
	{"3x4 N=85", [][]float64{{12, 3, 9, 6}, {4, 14, 2, 8}, {7, 5, 11, 4}}, 0.0018631993094446494,
		"fisher.test(matrix(c(12, 3, 9, 6, 4, 14, 2, 8, 7, 5, 11, 4), 3, byrow = TRUE), workspace = 2e7)", 0.02},
}

// TestFisherExactRxCMatchesR: every table of fisherRxC is exact within
// MaxFisherWork (no Monte-Carlo fallback) and matches R to 1e-9 relative,
// transposed too.
func TestFisherExactRxCMatchesR(t *testing.T) {
	for _, c := range fisherRxC {
		t.Run(c.name, func(t *testing.T) {
			r, err := FisherExact(c.tab)
			if err != nil {
				t.Fatalf("%v; want R's exact %s = %.17g", err, c.call, c.want)
			}
			if math.Abs(r.PValue-c.want) > 1e-9*c.want {
				t.Errorf("p = %.17g, R's %s = %.17g", r.PValue, c.call, c.want)
			}
			tr, err := FisherExact(transpose(c.tab))
			if err != nil || math.Abs(tr.PValue-r.PValue) > 1e-12*r.PValue {
				t.Errorf("transposed: p = %v (%v), want %v", tr.PValue, err, r.PValue)
			}
		})
	}
}

// TestFisherWorkLimit: past the work limit, FisherExactLimit is a
// *FisherWorkError (ErrMethod) naming the limit, FisherTableLimit a
// Monte-Carlo p-value with a warning naming it; a limit < 1 is ErrDomain;
// a raised limit gives the exact p-value.
func TestFisherWorkLimit(t *testing.T) {
	c := fisherRxC[7] // 5×5, N = 82
	_, err := FisherExactLimit(c.tab, 1000)
	var we *FisherWorkError
	if !errors.As(err, &we) || !errors.Is(err, ErrMethod) || we.Limit != 1000 || we.Rows != 5 || we.N != 82 {
		t.Fatalf("limit 1000: err %v, want a FisherWorkError{Limit: 1000}", err)
	}
	const msg = "stats: method not applicable: the exact test of this 5×5 table (N = 82) would take more than 1000 steps (the work limit)"
	if err.Error() != msg {
		t.Errorf("message %q, want %q", err, msg)
	}
	r, err := FisherTableLimit(c.tab, 2000, rand.New(rand.NewPCG(3, 4)), 1000)
	if err != nil || r.MonteCarlo != 2000 || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "more than 1000 steps (the work limit)") {
		t.Errorf("fallback: %+v %v", r, err)
	}
	if _, err := FisherExactLimit(c.tab, 0); !errors.Is(err, ErrDomain) {
		t.Errorf("limit 0: err %v, want ErrDomain", err)
	}
	// 4×4, N = 161: about 5.3·10^6 steps. R 4.2.2 (83 s):
	// fisher.test(matrix(c(14, 6, 10, 9, 5, 16, 8, 11, 10, 9, 17, 4, 11,
	// 10, 5, 16), 4, byrow = TRUE), workspace = 4e7)$p.value =
	// 0.0039329671714647182. Here 0.00393296717990741 (2.1e-9 relative
	// above R's), the same to 1e-15 whether equal path values merge within
	// 1e-9, 1e-13 or not at all, and as the network before this one (which
	// differed in bounds and merging): FEXACT merges past path values within
	// a tolerance, so R's value is the one off; hence 1e-8 here.
	big := [][]float64{{14, 6, 10, 9}, {5, 16, 8, 11}, {10, 9, 17, 4}, {11, 10, 5, 16}}
	const wantBig = 0.0039329671714647182
	if _, err := FisherExact(big); !errors.As(err, &we) {
		t.Fatalf("4×4 N=161 within the default limit (%v): pick a larger table", err)
	}
	if r, err := FisherExactLimit(big, 2*MaxFisherWork); err != nil || r.MonteCarlo != 0 || math.Abs(r.PValue-wantBig) > 1e-8*wantBig {
		t.Errorf("raised limit: %+v %v, want R's %.17g", r, err, wantBig)
	}
}

// TestFisherNetworkMatchesEnumeration compares the network algorithm with a
// brute-force sum over every table with the margins, on small tables.
func TestFisherNetworkMatchesEnumeration(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for range 40 {
		nr, nc := 2+rng.IntN(2), 2+rng.IntN(3)
		tab := make([][]float64, nr)
		for i := range tab {
			tab[i] = make([]float64, nc)
			for j := range tab[i] {
				tab[i][j] = float64(1 + rng.IntN(4))
			}
		}
		rows, cols, total, _ := tableMargins(tab)
		want := fisherBrute(tab, rows, cols, total)
		got, _, err := fisherNetwork(tab, rows, cols, total, MaxFisherWork)
		if err != nil || math.Abs(got-want) > 1e-10 {
			t.Errorf("%v: network %v (%v), enumeration %v", tab, got, err, want)
		}
	}
}

// fisherBrute sums the probabilities of every table with the margins that is
// no more probable than t.
func fisherBrute(t [][]float64, rows, cols []float64, total float64) float64 {
	nr, nc := len(rows), len(cols)
	K := -fisherLogFact(total)
	for _, r := range rows {
		K += fisherLogFact(r)
	}
	for _, c := range cols {
		K += fisherLogFact(c)
	}
	obs := K
	for i := range t {
		for _, v := range t[i] {
			obs -= fisherLogFact(v)
		}
	}
	colLeft := append([]float64{}, cols...)
	var p float64
	var rec func(i, j int, rowLeft, acc float64)
	rec = func(i, j int, rowLeft, acc float64) {
		if i == nr-1 {
			for _, v := range colLeft {
				acc -= fisherLogFact(v)
			}
			if acc <= obs+math.Log1p(1e-7) {
				p += math.Exp(acc)
			}
			return
		}
		if j == nc-1 {
			if rowLeft > colLeft[j] {
				return
			}
			colLeft[j] -= rowLeft
			rec(i+1, 0, rows[i+1], acc-fisherLogFact(rowLeft))
			colLeft[j] += rowLeft
			return
		}
		for v := 0.0; v <= math.Min(rowLeft, colLeft[j]); v++ {
			colLeft[j] -= v
			rec(i, j+1, rowLeft-v, acc-fisherLogFact(v))
			colLeft[j] += v
		}
	}
	rec(0, 0, rows[0], K)
	return p
}

func transpose(t [][]float64) [][]float64 {
	out := make([][]float64, len(t[0]))
	for j := range out {
		for i := range t {
			out[j] = append(out[j], t[i][j])
		}
	}
	return out
}

// TestFisherTableFallsBack: a table too large for the exact test gets a
// Monte-Carlo p-value with its standard error and a warning; without draws
// it is ErrMethod.
func TestFisherTableFallsBack(t *testing.T) {
	big := [][]float64{{12, 8, 10, 9, 11, 10}, {9, 12, 8, 11, 10, 10}, {10, 9, 12, 8, 10, 11}, {11, 10, 9, 12, 8, 10}, {8, 11, 10, 10, 12, 9}, {10, 10, 11, 10, 9, 12}} // 6×6, N = 362
	if _, err := FisherTable(big, 0, nil); !errors.Is(err, ErrMethod) {
		t.Fatalf("no draws: err %v, want ErrMethod", err)
	}
	r, err := FisherTable(big, 2000, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if r.MonteCarlo != 2000 || len(r.Warnings) != 1 || r.StdErr != math.Sqrt(r.PValue*(1-r.PValue)/2000) || r.PValue < 0.5 {
		t.Errorf("fallback: %+v", r)
	}
	// An exact-size table stays exact.
	r, err = FisherTable(fisherRxC[0].tab, 2000, rand.New(rand.NewPCG(1, 2)))
	if err != nil || r.MonteCarlo != 0 || r.Warnings != nil {
		t.Errorf("exact-size table: %+v %v", r, err)
	}
}

// TestFisherTableFallbackMatchesR: a 6×6 table past MaxFisherWork gets a
// Monte-Carlo p-value within 4 standard errors (of both estimates) of R's
// fisher.test(matrix(c(14, 6, 10, 9, 11, 10, 5, 16, 8, 11, 10, 10, 10, 9, 17,
// 4, 10, 11, 11, 10, 5, 16, 8, 10, 8, 11, 10, 10, 15, 6, 10, 10, 11, 10, 4,
// 16), 6, byrow = TRUE), simulate.p.value = TRUE, B = 1e5) = 0.060819391806081938
// (stats/testdata/ref_tables.out).
func TestFisherTableFallbackMatchesR(t *testing.T) {
	const want = 0.060819391806081938
	tab := [][]float64{{14, 6, 10, 9, 11, 10}, {5, 16, 8, 11, 10, 10}, {10, 9, 17, 4, 10, 11}, {11, 10, 5, 16, 8, 10}, {8, 11, 10, 10, 15, 6}, {10, 10, 11, 10, 4, 16}}
	r, err := FisherTable(tab, 100000, rand.New(rand.NewPCG(8, 8)))
	if err != nil {
		t.Fatal(err)
	}
	se := math.Sqrt(r.StdErr*r.StdErr + want*(1-want)/1e5)
	if r.MonteCarlo != 100000 || math.Abs(r.PValue-want) > 4*se {
		t.Errorf("p = %.5f ± %.5f (%d draws), R's %.5f", r.PValue, r.StdErr, r.MonteCarlo, want)
	}
}
