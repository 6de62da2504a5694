package stats

import (
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// Values from scipy.stats.anderson_ksamp (SciPy 1.10.1, midrank=True):
// stat is .statistic, p is .significance_level (interpolated, clipped to
// [0.001, 0.25]); see testdata/ref_samples.py.
type refADCase struct {
	call    string
	samples [][]float64
	stat, p float64
}

var refAD = []refADCase{
	{call: `stats.anderson_ksamp([[0.93, -0.19, -0.4, 0.79, -0.91, 1.61, -0.37, -0.51, -0.27, 0.04, 0.7, -0.7], [-0.82, 0.04, 0.34, 0.88, -0.48, 0.97, -1.02, 1.39, -1.09, -0.09, 0.2, 1.01, 1.46, 0.05, 1.9]])`, samples: [][]float64{[]float64{0.93, -0.19, -0.4, 0.79, -0.91, 1.61, -0.37, -0.51, -0.27, 0.04, 0.7, -0.7}, []float64{-0.82, 0.04, 0.34, 0.88, -0.48, 0.97, -1.02, 1.39, -1.09, -0.09, 0.2, 1.01, 1.46, 0.05, 1.9}}, stat: -0.1257359520336538, p: 0.25},
	{call: `stats.anderson_ksamp([[-0.82, 0.33, -0.24, 0.57, -0.95, -1.1, 1.28, 1.06, 0.56, -0.7, 0.59, 0.45, 1.23, 0.23, -1.61, -0.22, -0.03, 0.79, -0.25, -1.06], [2.05, 1.29, -0.2, 0.24, 1.82, -0.45, 1.87, 0.92, 0.75, 1.77, 0.48, 0.96, 2.54, 0.06, 2.72, -0.79, 0.04, 1.8]])`, samples: [][]float64{[]float64{-0.82, 0.33, -0.24, 0.57, -0.95, -1.1, 1.28, 1.06, 0.56, -0.7, 0.59, 0.45, 1.23, 0.23, -1.61, -0.22, -0.03, 0.79, -0.25, -1.06}, []float64{2.05, 1.29, -0.2, 0.24, 1.82, -0.45, 1.87, 0.92, 0.75, 1.77, 0.48, 0.96, 2.54, 0.06, 2.72, -0.79, 0.04, 1.8}}, stat: 4.5626501961443635, p: 0.00499603070569695},
	{call: `stats.anderson_ksamp([[2.0, 0.0, 0.0, 0.0, 3.0, 3.0, 3.0, 1.0, 0.0, 2.0, 3.0, 0.0, 1.0, 2.0, 2.0, 0.0], [2.0, 2.0, 2.0, 2.0, 1.0, 3.0, 2.0, 3.0, 3.0, 2.0, 4.0, 1.0, 4.0, 4.0], [1.0, 0.0, 2.0, 3.0, 2.0, 3.0, 1.0, 1.0, 1.0, 3.0]])`, samples: [][]float64{[]float64{2.0, 0.0, 0.0, 0.0, 3.0, 3.0, 3.0, 1.0, 0.0, 2.0, 3.0, 0.0, 1.0, 2.0, 2.0, 0.0}, []float64{2.0, 2.0, 2.0, 2.0, 1.0, 3.0, 2.0, 3.0, 3.0, 2.0, 4.0, 1.0, 4.0, 4.0}, []float64{1.0, 0.0, 2.0, 3.0, 2.0, 3.0, 1.0, 1.0, 1.0, 3.0}}, stat: 2.871322171907596, p: 0.018213500230266404},
	{call: `stats.anderson_ksamp([[0.12, 1.15, 0.63], [-1.1, 0.87, -0.44, -1.72, 1.66, -0.99, 0.18, 1.75, 1.2, 0.44, -0.39, 0.8, 0.43, 1.32, 0.89, 1.23, -1.0, -0.36, 0.66, 0.87, -0.12, -0.2, 0.47, 0.62, 2.46, 0.12, 1.04, -1.21, 0.4, 0.18, -0.79, -0.47, -0.15, -0.28, -1.4, 0.18, 0.4, 0.19, 1.31, 0.33]])`, samples: [][]float64{[]float64{0.12, 1.15, 0.63}, []float64{-1.1, 0.87, -0.44, -1.72, 1.66, -0.99, 0.18, 1.75, 1.2, 0.44, -0.39, 0.8, 0.43, 1.32, 0.89, 1.23, -1.0, -0.36, 0.66, 0.87, -0.12, -0.2, 0.47, 0.62, 2.46, 0.12, 1.04, -1.21, 0.4, 0.18, -0.79, -0.47, -0.15, -0.28, -1.4, 0.18, 0.4, 0.19, 1.31, 0.33}}, stat: -0.657708669296998, p: 0.25},
	{call: `stats.anderson_ksamp([[0.1, -0.04, 0.12, -1.06, -0.29, 1.79, 0.33, -0.16, -0.45, 0.38, 0.01, 0.22, 0.88, 0.14, -0.09, -0.61, -1.33, 0.43, 0.36, -0.66, -0.56, -1.09, -0.99, -0.35, -0.06], [1.61, 1.14, -0.52, 1.51, -2.62, -0.29, 1.02, 2.51, -2.17, -1.51, -0.45, -2.06, 0.23, 0.69, -0.1, -1.03, 3.11, 2.66, 0.76, 2.5, -0.89, -1.69, 0.68, 3.0, -0.04], [0.75, 1.26, 0.04, 0.84, -0.66, 1.29, 0.42, 0.07, -0.63, -2.86, 0.32, 0.0, -0.12, -0.4, 1.88, -0.09, -0.08, -0.0, -1.07, -0.54, -0.34, 0.32, 0.6, -0.76, 1.06], [-1.79, 2.11, 1.26, 1.43, 0.74, 1.01, 0.93, 0.25, -0.31, 1.02, 0.87, -0.07, 0.66, -0.13, 2.99, 1.15, 1.25, 1.51, -2.91, 0.63, 1.72, -0.51, 0.96, 1.2, -0.64]])`, samples: [][]float64{[]float64{0.1, -0.04, 0.12, -1.06, -0.29, 1.79, 0.33, -0.16, -0.45, 0.38, 0.01, 0.22, 0.88, 0.14, -0.09, -0.61, -1.33, 0.43, 0.36, -0.66, -0.56, -1.09, -0.99, -0.35, -0.06}, []float64{1.61, 1.14, -0.52, 1.51, -2.62, -0.29, 1.02, 2.51, -2.17, -1.51, -0.45, -2.06, 0.23, 0.69, -0.1, -1.03, 3.11, 2.66, 0.76, 2.5, -0.89, -1.69, 0.68, 3.0, -0.04}, []float64{0.75, 1.26, 0.04, 0.84, -0.66, 1.29, 0.42, 0.07, -0.63, -2.86, 0.32, 0.0, -0.12, -0.4, 1.88, -0.09, -0.08, -0.0, -1.07, -0.54, -0.34, 0.32, 0.6, -0.76, 1.06}, []float64{-1.79, 2.11, 1.26, 1.43, 0.74, 1.01, 0.93, 0.25, -0.31, 1.02, 0.87, -0.07, 0.66, -0.13, 2.99, 1.15, 1.25, 1.51, -2.91, 0.63, 1.72, -0.51, 0.96, 1.2, -0.64}}, stat: 3.5252559804447317, p: 0.007221860328589193},
	{call: `stats.anderson_ksamp([[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.0, 27.0, 28.0, 29.0], [100.0, 101.0, 102.0, 103.0, 104.0, 105.0, 106.0, 107.0, 108.0, 109.0, 110.0, 111.0, 112.0, 113.0, 114.0, 115.0, 116.0, 117.0, 118.0, 119.0, 120.0, 121.0, 122.0, 123.0, 124.0, 125.0, 126.0, 127.0, 128.0, 129.0]])`, samples: [][]float64{[]float64{0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.0, 27.0, 28.0, 29.0}, []float64{100.0, 101.0, 102.0, 103.0, 104.0, 105.0, 106.0, 107.0, 108.0, 109.0, 110.0, 111.0, 112.0, 113.0, 114.0, 115.0, 116.0, 117.0, 118.0, 119.0, 120.0, 121.0, 122.0, 123.0, 124.0, 125.0, 126.0, 127.0, 128.0, 129.0}}, stat: 30.207959605320205, p: 0.001},
}

// refADPermP is stats.permutation_test(refAD[1].samples, anderson_ksamp
// statistic, permutation_type="independent", alternative="greater",
// n_resamples=9999, random_state=1).pvalue (SciPy 1.10.1).
const refADPermP = 0.0059

func TestAndersonDarlingReference(t *testing.T) {
	for _, c := range refAD {
		t.Run(c.call[:min(60, len(c.call))], func(t *testing.T) {
			r, err := AndersonDarlingKSample(c.samples, 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !closeRel(r.Statistic, c.stat, 1e-9, 1e-12) {
				t.Errorf("statistic = %.17g, want %.17g\n%s", r.Statistic, c.stat, c.call)
			}
			if !closeRel(r.PValueInterpolated, c.p, 1e-9, 0) || r.PValue != r.PValueInterpolated {
				t.Errorf("interpolated p = %.17g (PValue %v), want %.17g\n%s", r.PValueInterpolated, r.PValue, c.p, c.call)
			}
		})
	}
}

// TestAndersonDarlingPermutation checks the permutation p-value against
// SciPy's permutation_test of the same statistic, within Monte-Carlo error
// (both use 9999 permutations: SE of the difference ≈ 0.0011).
func TestAndersonDarlingPermutation(t *testing.T) {
	r, err := AndersonDarlingKSample(refAD[1].samples, 9999, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(r.PValue-refADPermP) > 0.0045 {
		t.Errorf("permutation p = %v, SciPy's permutation_test gives %v", r.PValue, refADPermP)
	}
	t.Logf("permutation p = %v (SciPy permutation_test: %v)", r.PValue, refADPermP)
	if !closeRel(r.Statistic, refAD[1].stat, 1e-9, 0) {
		t.Errorf("statistic %v changed with permutations", r.Statistic)
	}
}

// TestAndersonDarlingRepeatable: the same seed gives the same p-value
// whatever GOMAXPROCS is.
func TestAndersonDarlingRepeatable(t *testing.T) {
	s := refAD[2].samples
	run := func(procs int) float64 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		r, err := AndersonDarlingKSample(s, 999, rand.New(rand.NewPCG(42, 0)))
		if err != nil {
			t.Fatal(err)
		}
		return r.PValue
	}
	p1, p2, p3 := run(1), run(2), run(4)
	if p1 != p2 || p2 != p3 {
		t.Errorf("p-values differ across GOMAXPROCS: %v %v %v", p1, p2, p3)
	}
}

func TestAndersonDarlingErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, c := range []struct {
		s    [][]float64
		b    int
		rng  *rand.Rand
		want error
	}{
		{[][]float64{{1, 2, 3}}, 0, nil, ErrSampleSize},
		{[][]float64{{1, 2, 3}, {}}, 0, nil, ErrEmptyGroup},
		{[][]float64{{1, 2}, {3}}, 0, nil, ErrSampleSize},
		{[][]float64{{1, 1, 1}, {1, 1}}, 0, nil, ErrSampleSize},
		{[][]float64{{1, 2, math.NaN()}, {1, 2}}, 0, nil, ErrNaN},
		{[][]float64{{1, 2, 3}, {1, 2}}, 10, nil, ErrDomain},
		{[][]float64{{1, 2, 3}, {1, 2}}, -1, rng, ErrDomain},
	} {
		if _, err := AndersonDarlingKSample(c.s, c.b, c.rng); !errors.Is(err, c.want) {
			t.Errorf("AndersonDarlingKSample(%v, %d) error %v, want %v", c.s, c.b, err, c.want)
		}
	}
}

func TestAndersonDarlingCalibration(t *testing.T) {
	checkNullRates(t, []nullCase{
		{"Anderson-Darling permutation, k=3 (8,10,12), B=199", 0, 0.065, func(r *rand.Rand) (float64, error) {
			res, err := AndersonDarlingKSample([][]float64{normals(r, 8), normals(r, 10), normals(r, 12)}, 199, r)
			return res.PValue, err
		}},
		{"Anderson-Darling permutation with ties, 15x15, B=199", 0, 0.065, func(r *rand.Rand) (float64, error) {
			res, err := AndersonDarlingKSample([][]float64{tied(normals(r, 15), 1), tied(normals(r, 15), 1)}, 199, r)
			return res.PValue, err
		}},
	})
}
