package stats

import (
	"errors"
	"math"
	"math/rand/v2"
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
}

func TestFisherExactRxCMatchesR(t *testing.T) {
	for _, c := range fisherRxC {
		t.Run(c.name, func(t *testing.T) {
			r, err := FisherExact(c.tab)
			if errors.Is(err, ErrMethod) {
				// Beyond MaxFisherWork: the Monte-Carlo fallback must agree
				// within 4 standard errors.
				r, err = FisherTable(c.tab, 100000, rand.New(rand.NewPCG(5, 5)))
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("exact too large; %s", r.Warnings[0])
				if math.Abs(r.PValue-c.want) > 4*r.StdErr {
					t.Errorf("Monte-Carlo p = %.5f ± %.5f, R's %s = %.5f", r.PValue, r.StdErr, c.call, c.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(r.PValue-c.want) > 1e-9*math.Max(c.want, 1e-3) {
				t.Errorf("p = %.17g, R's %s = %.17g", r.PValue, c.call, c.want)
			}
			tr, err := FisherExact(transpose(c.tab))
			if err != nil || math.Abs(tr.PValue-r.PValue) > 1e-12 {
				t.Errorf("transposed: p = %v (%v), want %v", tr.PValue, err, r.PValue)
			}
		})
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
