package stats

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// TestMonteCarloSameAtAnyGOMAXPROCS: a seed gives the same Monte-Carlo
// p-value with one core or two, for chi-square, G and Fisher (the draws are
// split into fixed chunks, each with its own stream).
func TestMonteCarloSameAtAnyGOMAXPROCS(t *testing.T) {
	tab := [][]float64{{10, 12, 8, 5}, {7, 15, 9, 11}, {12, 8, 14, 16}}
	tests := map[string]func() (float64, error){
		"chisq": func() (float64, error) {
			r, err := ChiSquareTable(tab, 30001, rand.New(rand.NewPCG(9, 9)))
			return r.PValue, err
		},
		"G": func() (float64, error) {
			r, err := GTestTable(tab, 30001, rand.New(rand.NewPCG(9, 9)))
			return r.PValue, err
		},
		"fisher": func() (float64, error) {
			r, err := FisherMonteCarlo(tab, 30001, rand.New(rand.NewPCG(9, 9)))
			return r.PValue, err
		},
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for name, f := range tests {
		t.Run(name, func(t *testing.T) {
			var ps []float64
			for _, procs := range []int{1, 2, 3} {
				runtime.GOMAXPROCS(procs)
				p, err := f()
				if err != nil {
					t.Fatal(err)
				}
				ps = append(ps, p)
			}
			if ps[0] != ps[1] || ps[0] != ps[2] {
				t.Errorf("p-values at GOMAXPROCS 1, 2, 3: %v", ps)
			}
		})
	}
}

// TestMonteCarloMatchesR: Monte-Carlo p-values with 10^5 draws lie within 4
// standard errors (of both estimates) of R's with 10^6 draws, from
// stats/testdata/ref_tables.out.
func TestMonteCarloMatchesR(t *testing.T) {
	const B = 100000
	for _, c := range []struct {
		name string
		tab  [][]float64
		test func([][]float64, int, *rand.Rand) (float64, error)
		want float64
		call string
	}{
		{"chisq 2x2", [][]float64{{12, 7}, {5, 9}}, chisqP, 0.16602183397816603,
			"chisq.test(matrix(c(12, 7, 5, 9), 2, byrow = TRUE), simulate.p.value = TRUE, B = 1e6)"},
		{"chisq 3x4", [][]float64{{10, 12, 8, 5}, {7, 15, 9, 11}, {12, 8, 14, 16}}, chisqP, 0.22166877833122167,
			"chisq.test(matrix(c(10, 12, 8, 5, 7, 15, 9, 11, 12, 8, 14, 16), 3, byrow = TRUE), simulate.p.value = TRUE, B = 1e6)"},
		{"fisher 3x4", [][]float64{{10, 12, 8, 5}, {7, 15, 9, 11}, {12, 8, 14, 16}}, fisherMCP, 0.19676880323119678,
			"fisher.test(matrix(c(10, 12, 8, 5, 7, 15, 9, 11, 12, 8, 14, 16), 3, byrow = TRUE), simulate.p.value = TRUE, B = 1e6)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.test(c.tab, B, rand.New(rand.NewPCG(2026, 13)))
			if err != nil {
				t.Fatal(err)
			}
			se := math.Sqrt(c.want*(1-c.want)/B + c.want*(1-c.want)/1e6)
			if math.Abs(got-c.want) > 4*se {
				t.Errorf("p = %.5f, R's %s = %.5f (se %.5f)", got, c.call, c.want, se)
			}
		})
	}
}

func chisqP(t [][]float64, b int, rng *rand.Rand) (float64, error) {
	r, err := ChiSquareTable(t, b, rng)
	return r.PValue, err
}

func fisherMCP(t [][]float64, b int, rng *rand.Rand) (float64, error) {
	r, err := FisherMonteCarlo(t, b, rng)
	return r.PValue, err
}
