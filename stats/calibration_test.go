package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

// nullRate returns the share of sets with p < 0.05 among `sets` data sets
// drawn by gen from a fixed seed.
func nullRate(t *testing.T, sets int, p func(r *rand.Rand) float64) float64 {
	t.Helper()
	r := rand.New(rand.NewPCG(20240611, 7))
	rej := 0
	for range sets {
		if p(r) < 0.05 {
			rej++
		}
	}
	return float64(rej) / float64(sets)
}

func normals(r *rand.Rand, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = r.NormFloat64()
	}
	return x
}

func checkRate(t *testing.T, name string, rate, lo, hi float64) {
	t.Helper()
	t.Logf("%s: rejection rate at 0.05 under the null = %.4f", name, rate)
	if rate < lo || rate > hi {
		t.Errorf("%s: rejection rate %.4f outside [%.3f, %.3f]", name, rate, lo, hi)
	}
}

// tied rounds each of x (in place) to a whole multiple of 1/scale, for
// samples with heavy ties, and returns x.
func tied(x []float64, scale float64) []float64 {
	for i := range x {
		x[i] = math.Round(x[i] * scale)
	}
	return x
}

// nullCase is a calibration case: pValue draws one data set under the null
// from r and tests it; the share of the 2000 sets nullRate draws that it
// rejects at 0.05 must lie within [lo, hi].
type nullCase struct {
	name   string
	lo, hi float64
	pValue func(r *rand.Rand) (float64, error)
}

// checkNullRates runs the calibration cases, each from nullRate's fixed
// seed; they are slow, and skipped with -short.
func checkNullRates(t *testing.T, cases []nullCase) {
	t.Helper()
	if testing.Short() {
		t.Skip("calibration is slow; skipped with -short")
	}
	for _, c := range cases {
		rate := nullRate(t, 2000, func(r *rand.Rand) float64 {
			p, err := c.pValue(r)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			return p
		})
		checkRate(t, c.name, rate, c.lo, c.hi)
	}
}
