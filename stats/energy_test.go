package stats

import (
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

type refEnergyCase struct {
	call string
	a, b []float64
	dist float64
}

// Values from scipy.stats.energy_distance (SciPy 1.10.1), which is √E for
// one-dimensional samples; see testdata/ref_samples.py.
var refEnergy = []refEnergyCase{
	{call: `stats.energy_distance([0.0, 1.0, 2.0], [0.5, 1.5, 4.0, 4.5])`, a: []float64{0.0, 1.0, 2.0}, b: []float64{0.5, 1.5, 4.0, 4.5}, dist: 1.1755613316388238},
	{call: `stats.energy_distance([3.12, 0.11, -0.03, 0.07, 1.31, 2.63, -0.41, -1.76, 0.66, 0.28, 1.36, -1.37, -0.29, 0.03, -0.19, -0.35, -0.47, 1.69, -0.33, 1.17], [0.6, 1.35, 1.89, 1.25, -1.44, -0.44, 0.04, 1.33, -0.12, -0.26, 2.02, 2.83, -0.34, 0.42, 0.77, -0.46, 0.18, -1.0, 1.08, 0.41, -0.67, -1.57, 1.92, 0.68, -1.62, 0.75, 2.85, 0.64, 1.88, -0.74])`, a: []float64{3.12, 0.11, -0.03, 0.07, 1.31, 2.63, -0.41, -1.76, 0.66, 0.28, 1.36, -1.37, -0.29, 0.03, -0.19, -0.35, -0.47, 1.69, -0.33, 1.17}, b: []float64{0.6, 1.35, 1.89, 1.25, -1.44, -0.44, 0.04, 1.33, -0.12, -0.26, 2.02, 2.83, -0.34, 0.42, 0.77, -0.46, 0.18, -1.0, 1.08, 0.41, -0.67, -1.57, 1.92, 0.68, -1.62, 0.75, 2.85, 0.64, 1.88, -0.74}, dist: 0.24135036772294338},
	{call: `stats.energy_distance([1.0, 1.0, 2.0, 2.0, 2.0], [1.0, 3.0, 3.0])`, a: []float64{1.0, 1.0, 2.0, 2.0, 2.0}, b: []float64{1.0, 3.0, 3.0}, dist: 0.9475113602367932},
}

func column(x []float64) [][]float64 {
	v := make([][]float64, len(x))
	for i := range x {
		v[i] = []float64{x[i]}
	}
	return v
}

func TestEnergyReference(t *testing.T) {
	for _, c := range refEnergy {
		r, err := EnergyTest(column(c.a), column(c.b), 99, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Fatal(err)
		}
		if got := math.Sqrt(r.Statistic); !closeRel(got, c.dist, 1e-12, 1e-15) {
			t.Errorf("√E = %.17g, want %.17g\n%s", got, c.dist, c.call)
		}
	}
}

// naiveStats computes the energy distance and MMD²_u from their definitions.
func naiveStats(p *PairMatrix) (energy, mmd float64) {
	n1, n2 := p.N1, p.N2
	var sxx, syy, sxy, kxx, kyy float64
	for i := range n1 + n2 {
		for j := range n1 + n2 {
			v := p.At(i, j)
			switch {
			case i < n1 && j < n1:
				sxx += v
				if i != j {
					kxx += v
				}
			case i >= n1 && j >= n1:
				syy += v
				if i != j {
					kyy += v
				}
			case i < n1:
				sxy += v
			}
		}
	}
	f1, f2 := float64(n1), float64(n2)
	energy = 2*sxy/(f1*f2) - sxx/(f1*f1) - syy/(f2*f2)
	mmd = kxx/(f1*(f1-1)) + kyy/(f2*(f2-1)) - 2*sxy/(f1*f2)
	return
}

func randVectors(r *rand.Rand, n, dim int, shift float64) [][]float64 {
	v := make([][]float64, n)
	for i := range v {
		v[i] = make([]float64, dim)
		for k := range v[i] {
			v[i][k] = r.NormFloat64() + shift
		}
	}
	return v
}

func TestEnergyMMDStatistics(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, sz := range [][2]int{{2, 2}, {5, 9}, {12, 4}} {
		a, b := randVectors(r, sz[0], 3, 0), randVectors(r, sz[1], 3, 0.5)
		d, err := EuclideanDistances(a, b)
		if err != nil {
			t.Fatal(err)
		}
		e, err := EnergyPermutationTest(d, 19, r)
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := naiveStats(d); !closeRel(e.Statistic, want, 1e-12, 1e-14) {
			t.Errorf("%v: energy %v, want %v", sz, e.Statistic, want)
		}
		k, err := GaussianKernel(a, b)
		if err != nil {
			t.Fatal(err)
		}
		m, err := MMDPermutationTest(k, 19, r)
		if err != nil {
			t.Fatal(err)
		}
		if _, want := naiveStats(k); !closeRel(m.Statistic, want, 1e-12, 1e-14) {
			t.Errorf("%v: MMD² %v, want %v", sz, m.Statistic, want)
		}
		if m.Bandwidth <= 0 || m.PValue <= 0 || m.PValue > 1 {
			t.Errorf("%v: bandwidth %v, p %v", sz, m.Bandwidth, m.PValue)
		}
	}
}

func TestStringKernels(t *testing.T) {
	h, err := HammingKernel([]string{"abcd", "abxd"}, []string{"ab", ""})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		i, j int
		want float64
	}{
		{0, 0, 1}, {0, 1, 0.75}, {0, 2, 2 / math.Sqrt(8)}, {1, 3, 0}, {3, 3, 1},
	} {
		if got := h.At(c.i, c.j); !closeRel(got, c.want, 1e-15, 0) || h.At(c.j, c.i) != got {
			t.Errorf("hamming k(%d,%d) = %v, want %v", c.i, c.j, got, c.want)
		}
	}
	// 2-gram spectra: "abab" = {ab:2, ba:1}, "abc" = {ab:1, bc:1}:
	// k = 2/(√5·√2). A string shorter than n is one whole-string feature.
	s, err := SpectrumKernel([]string{"abab", "abc"}, []string{"a", "a"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.At(0, 1), 2/(math.Sqrt(5)*math.Sqrt(2)); !closeRel(got, want, 1e-15, 0) {
		t.Errorf("spectrum k(abab, abc) = %v, want %v", got, want)
	}
	if s.At(2, 3) != 1 || s.At(0, 2) != 0 || s.At(1, 1) != 1 {
		t.Errorf("spectrum short strings: %v %v %v", s.At(2, 3), s.At(0, 2), s.At(1, 1))
	}
	if _, err := SpectrumKernel([]string{"a"}, []string{"b"}, 0); !errors.Is(err, ErrDomain) {
		t.Errorf("n = 0: error %v, want ErrDomain", err)
	}
	d := KernelDistances(s)
	if got, want := d.At(0, 1), math.Sqrt(2-2*s.At(0, 1)); !closeRel(got, want, 1e-15, 0) {
		t.Errorf("kernel distance %v, want %v", got, want)
	}
}

func TestPermutationTestsDetectDifferences(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	a, b := randVectors(r, 40, 2, 0), randVectors(r, 40, 2, 1)
	for name, f := range map[string]func([][]float64, [][]float64, int, *rand.Rand) (PermutationResult, error){
		"energy": EnergyTest, "mmd": MMDTest,
	} {
		res, err := f(a, b, 999, r)
		if err != nil {
			t.Fatal(err)
		}
		if res.PValue != 1.0/1000 {
			t.Errorf("%s: p = %v for a shift of one standard deviation, want 1/1000", name, res.PValue)
		}
	}
	texts := func(alphabet string, n int) []string {
		out := make([]string, n)
		for i := range out {
			rs := make([]byte, 12)
			for k := range rs {
				rs[k] = alphabet[r.IntN(len(alphabet))]
			}
			out[i] = string(rs)
		}
		return out
	}
	x, y := texts("abcd", 30), texts("abce", 30)
	for _, kind := range []string{"hamming", "spectrum"} {
		var k *PairMatrix
		var err error
		if kind == "hamming" {
			k, err = HammingKernel(x, y)
		} else {
			k, err = SpectrumKernel(x, y, 3)
		}
		if err != nil {
			t.Fatal(err)
		}
		m, err := MMDPermutationTest(k, 499, r)
		if err != nil {
			t.Fatal(err)
		}
		e, err := EnergyPermutationTest(KernelDistances(k), 499, r)
		if err != nil {
			t.Fatal(err)
		}
		if m.PValue > 0.01 || e.PValue > 0.01 {
			t.Errorf("%s: p-values %v (MMD), %v (energy) for different alphabets", kind, m.PValue, e.PValue)
		}
	}
}

// TestPermutationRepeatable: the same seed gives the same p-value whatever
// GOMAXPROCS is, and a different seed (usually) a different one.
func TestPermutationRepeatable(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	a, b := randVectors(r, 30, 2, 0), randVectors(r, 25, 2, 0.3)
	run := func(procs int, seed uint64) (float64, float64) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		e, err := EnergyTest(a, b, 999, rand.New(rand.NewPCG(seed, 0)))
		if err != nil {
			t.Fatal(err)
		}
		m, err := MMDTest(a, b, 999, rand.New(rand.NewPCG(seed, 0)))
		if err != nil {
			t.Fatal(err)
		}
		return e.PValue, m.PValue
	}
	e1, m1 := run(1, 7)
	e2, m2 := run(2, 7)
	e3, m3 := run(3, 7)
	if e1 != e2 || e2 != e3 || m1 != m2 || m2 != m3 {
		t.Errorf("p-values differ across GOMAXPROCS: energy %v %v %v, mmd %v %v %v", e1, e2, e3, m1, m2, m3)
	}
}

func TestEnergyMMDErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	one := [][]float64{{1}}
	two := [][]float64{{1}, {2}}
	if _, err := EnergyTest(one, two, 10, rng); !errors.Is(err, ErrSampleSize) {
		t.Errorf("n1 = 1: error %v, want ErrSampleSize", err)
	}
	if _, err := EnergyTest(nil, two, 10, rng); !errors.Is(err, ErrEmptyGroup) {
		t.Errorf("empty: error %v, want ErrEmptyGroup", err)
	}
	if _, err := MMDTest(two, [][]float64{{1}, {2, 3}}, 10, rng); !errors.Is(err, ErrDomain) {
		t.Errorf("ragged: error %v, want ErrDomain", err)
	}
	if _, err := MMDTest(two, [][]float64{{1}, {math.NaN()}}, 10, rng); !errors.Is(err, ErrNaN) {
		t.Errorf("NaN: error %v, want ErrNaN", err)
	}
	if _, err := MMDTest(two, two, 0, rng); !errors.Is(err, ErrDomain) {
		t.Errorf("B = 0: error %v, want ErrDomain", err)
	}
	if _, err := EnergyTest(two, two, 10, nil); !errors.Is(err, ErrDomain) {
		t.Errorf("nil rng: error %v, want ErrDomain", err)
	}
	if _, err := HammingKernel(nil, []string{"a"}); !errors.Is(err, ErrEmptyGroup) {
		t.Errorf("hamming empty: error %v, want ErrEmptyGroup", err)
	}
	// All points identical: statistic 0, p = 1, no NaN.
	same := [][]float64{{1, 1}, {1, 1}, {1, 1}}
	m, err := MMDTest(same, same, 19, rng)
	if err != nil || m.PValue != 1 || m.Statistic != 0 {
		t.Errorf("identical points: %+v, %v", m, err)
	}
}

func TestEnergyMMDCalibration(t *testing.T) {
	checkNullRates(t, []nullCase{
		{"energy permutation 15x20 (2-d), B=199", 0, 0.065, func(r *rand.Rand) (float64, error) {
			res, err := EnergyTest(randVectors(r, 15, 2, 0), randVectors(r, 20, 2, 0), 199, r)
			return res.PValue, err
		}},
		{"MMD gaussian permutation 15x20 (2-d), B=199", 0, 0.065, func(r *rand.Rand) (float64, error) {
			res, err := MMDTest(randVectors(r, 15, 2, 0), randVectors(r, 20, 2, 0), 199, r)
			return res.PValue, err
		}},
		{"MMD spectrum-kernel permutation 15x15 strings, B=199", 0, 0.065, func(r *rand.Rand) (float64, error) {
			k, err := SpectrumKernel(randStrings(r, 15), randStrings(r, 15), 2)
			if err != nil {
				return 0, err
			}
			res, err := MMDPermutationTest(k, 199, r)
			return res.PValue, err
		}},
	})
}

// randStrings draws n strings of 4 to 9 letters of "abc".
func randStrings(r *rand.Rand, n int) []string {
	out := make([]string, n)
	for i := range out {
		b := make([]byte, 4+r.IntN(6))
		for k := range b {
			b[k] = "abc"[r.IntN(3)]
		}
		out[i] = string(b)
	}
	return out
}

func benchVectors() ([][]float64, [][]float64) {
	r := rand.New(rand.NewPCG(11, 12))
	return randVectors(r, 500, 1, 0), randVectors(r, 500, 1, 0.1)
}

func BenchmarkEnergy500x500B2000(b *testing.B) {
	x, y := benchVectors()
	for b.Loop() {
		if _, err := EnergyTest(x, y, 2000, rand.New(rand.NewPCG(1, 2))); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMMD500x500B2000(b *testing.B) {
	x, y := benchVectors()
	for b.Loop() {
		if _, err := MMDTest(x, y, 2000, rand.New(rand.NewPCG(1, 2))); err != nil {
			b.Fatal(err)
		}
	}
}
