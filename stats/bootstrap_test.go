package stats

import (
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

type refBootstrapCase struct {
	call         string
	a, b         []float64
	method       BootstrapMethod
	lower, upper float64
}

// Intervals from scipy.stats.bootstrap (SciPy 1.10.1) on d = a − b with
// 99999 resamples; see testdata/ref_samples.py. The random streams differ,
// so the check is loose: each bound within 2% of the interval's width.
var refBootstrap = []refBootstrapCase{
	{call: `stats.bootstrap(([2.7, 0.06, -0.8500000000000001, 0.3899999999999999, 2.72, -0.33000000000000007, -0.94, -2.24, 0.10999999999999999, -0.24999999999999978, 5.24, -0.09, 4.069999999999999, 3.05, 1.9999999999999998, 1.8, 0.18999999999999995, 2.1799999999999997, 2.17, 0.31, 6.34, -0.47, 1.8699999999999999, -0.9199999999999999, 0.24, -0.3, 4.73, -0.6799999999999999, -0.07000000000000006, -0.9699999999999998],), np.mean, confidence_level=0.9, method='percentile', n_resamples=99999, random_state=1)`, a: []float64{4.45, 0.37, 0.25, 1.43, 2.91, 0.6, 0.47, 0.36, 0.41, 1.76, 6.84, 0.17, 4.39, 3.13, 3.07, 1.82, 0.57, 2.59, 2.48, 0.49, 7.33, 0.16, 3.51, 1.05, 0.49, 0.13, 6.07, 0.04, 1.2, 1.33}, b: []float64{1.75, 0.31, 1.1, 1.04, 0.19, 0.93, 1.41, 2.6, 0.3, 2.01, 1.6, 0.26, 0.32, 0.08, 1.07, 0.02, 0.38, 0.41, 0.31, 0.18, 0.99, 0.63, 1.64, 1.97, 0.25, 0.43, 1.34, 0.72, 1.27, 2.3}, method: "percentile", lower: 0.46966666666666673, upper: 1.6983333333333335},
	{call: `stats.bootstrap(([2.7, 0.06, -0.8500000000000001, 0.3899999999999999, 2.72, -0.33000000000000007, -0.94, -2.24, 0.10999999999999999, -0.24999999999999978, 5.24, -0.09, 4.069999999999999, 3.05, 1.9999999999999998, 1.8, 0.18999999999999995, 2.1799999999999997, 2.17, 0.31, 6.34, -0.47, 1.8699999999999999, -0.9199999999999999, 0.24, -0.3, 4.73, -0.6799999999999999, -0.07000000000000006, -0.9699999999999998],), np.mean, confidence_level=0.9, method='BCa', n_resamples=99999, random_state=1)`, a: []float64{4.45, 0.37, 0.25, 1.43, 2.91, 0.6, 0.47, 0.36, 0.41, 1.76, 6.84, 0.17, 4.39, 3.13, 3.07, 1.82, 0.57, 2.59, 2.48, 0.49, 7.33, 0.16, 3.51, 1.05, 0.49, 0.13, 6.07, 0.04, 1.2, 1.33}, b: []float64{1.75, 0.31, 1.1, 1.04, 0.19, 0.93, 1.41, 2.6, 0.3, 2.01, 1.6, 0.26, 0.32, 0.08, 1.07, 0.02, 0.38, 0.41, 0.31, 0.18, 0.99, 0.63, 1.64, 1.97, 0.25, 0.43, 1.34, 0.72, 1.27, 2.3}, method: "bca", lower: 0.5073333333333334, upper: 1.7466666666666664},
}

func TestBootstrapReference(t *testing.T) {
	for _, c := range refBootstrap {
		r, err := PairedBootstrapMeanDiff(c.a, c.b, c.method, 0.9, 99999, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Fatal(err)
		}
		w := c.upper - c.lower
		t.Logf("%s: [%.4f, %.4f], SciPy [%.4f, %.4f]", c.method, r.Lower, r.Upper, c.lower, c.upper)
		if math.Abs(r.Lower-c.lower) > 0.02*w || math.Abs(r.Upper-c.upper) > 0.02*w {
			t.Errorf("%s: [%v, %v], want about [%v, %v]\n%s", c.method, r.Lower, r.Upper, c.lower, c.upper, c.call)
		}
	}
}

func TestBootstrapRepeatable(t *testing.T) {
	c := refBootstrap[1]
	run := func(procs int) BootstrapResult {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		r, err := PairedBootstrapMeanDiff(c.a, c.b, BootstrapBCa, 0.95, 2000, rand.New(rand.NewPCG(4, 2)))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r1, r2 := run(1), run(2)
	if r1.Lower != r2.Lower || r1.Upper != r2.Upper {
		t.Errorf("intervals differ across GOMAXPROCS: %+v %+v", r1, r2)
	}
}

func TestBootstrapErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	x := []float64{1, 2, 3}
	for _, c := range []struct {
		a, b   []float64
		method BootstrapMethod
		conf   float64
		B      int
		rng    *rand.Rand
		want   error
	}{
		{x, x[:2], BootstrapBCa, 0.95, 100, rng, ErrDomain},
		{x[:1], x[:1], BootstrapBCa, 0.95, 100, rng, ErrSampleSize},
		{x, []float64{1, math.Inf(-1), 2}, BootstrapBCa, 0.95, 100, rng, ErrNaN},
		{x, x, BootstrapBCa, 1, 100, rng, ErrDomain},
		{x, x, BootstrapBCa, 0.95, 0, rng, ErrDomain},
		{x, x, BootstrapBCa, 0.95, 10, nil, ErrDomain},
		{x, x, "basic", 0.95, 10, rng, ErrMethod},
	} {
		if _, err := PairedBootstrapMeanDiff(c.a, c.b, c.method, c.conf, c.B, c.rng); !errors.Is(err, c.want) {
			t.Errorf("PairedBootstrapMeanDiff(%v, %v, %q, %v, %d) error %v, want %v", c.a, c.b, c.method, c.conf, c.B, err, c.want)
		}
	}
	// Constant differences: a degenerate interval at the estimate, no NaN.
	r, err := PairedBootstrapMeanDiff([]float64{2, 3, 4}, []float64{1, 2, 3}, BootstrapBCa, 0.95, 100, rng)
	if err != nil || r.Lower != 1 || r.Upper != 1 || r.Estimate != 1 {
		t.Errorf("constant differences: %+v, %v", r, err)
	}
}

// TestBootstrapCoverage: over 2000 normal data sets of 60 pairs the 95%
// intervals cover the true mean difference (0) at about the nominal rate
// (bootstrap intervals undercover slightly at this n).
func TestBootstrapCoverage(t *testing.T) {
	if testing.Short() {
		t.Skip("calibration is slow; skipped with -short")
	}
	for _, m := range []BootstrapMethod{BootstrapPercentile, BootstrapBCa} {
		miss := nullRate(t, 2000, func(r *rand.Rand) float64 {
			res, err := PairedBootstrapMeanDiff(normals(r, 60), normals(r, 60), m, 0.95, 499, r)
			if err != nil {
				t.Fatal(err)
			}
			if res.Lower > 0 || res.Upper < 0 {
				return 0 // a miss counts as "p < 0.05"
			}
			return 1
		})
		checkRate(t, "bootstrap "+string(m)+" 95% non-coverage, n=60", miss, 0.03, 0.075)
	}
}
