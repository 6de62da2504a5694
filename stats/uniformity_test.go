package stats

import (
	"errors"
	"math"
	"testing"
)

// uniformitySample is the sample of testdata/ref_uniformity.py:
// x_i = frac((i+1)·0.618033988749895), p_i = x_i^e.
func uniformitySample(n int, e float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		x := math.Mod(float64(i+1)*0.618033988749895, 1)
		if e == 2 {
			out[i] = x * x
		} else {
			out[i] = math.Pow(x, e)
		}
	}
	return out
}

// Values from SciPy 1.10.1, stats.kstest(p, "uniform", alternative="greater",
// method="exact") (testdata/ref_uniformity.py, its output ref_uniformity.out).
func TestKSUniformReference(t *testing.T) {
	cases := []struct {
		n    int
		e    float64
		d, p float64
	}{
		{10, 1, 0.09179606750062974, 0.7976525163506101},
		{50, 2, 0.26449208966435, 0.000705878997639608},
		{200, 1.2, 0.06798530818871257, 0.15046764544472035},
		{1000, 1.05, 0.018904494479814626, 0.483230971408639},
		{1000, 1.0, 0.0013134950885814733, 0.9956885344596583},
		{3, 3, 0.4305986891668767, 0.2565993978799746},
	}
	for _, c := range cases {
		r, err := KSUniform(uniformitySample(c.n, c.e))
		if err != nil {
			t.Fatal(err)
		}
		if !closeRel(r.Statistic, c.d, 1e-12, 0) || !closeRel(r.PValue, c.p, 1e-9, 1e-15) {
			t.Errorf("n=%d e=%g: D+ %.17g p %.17g, SciPy %.17g %.17g", c.n, c.e, r.Statistic, r.PValue, c.d, c.p)
		}
	}
}

// Values from SciPy 1.10.1, stats.ksone.sf(d, n).
func TestSmirnovSFReference(t *testing.T) {
	cases := []struct {
		n    int
		d, p float64
	}{{1000, 0.04, 0.03967222345491756}, {100, 0.2, 0.0002775963664037337}, {5, 0.5, 0.056}, {2000, 0.01, 0.6658899344653914}}
	for _, c := range cases {
		if got := smirnovSF(c.n, c.d); !closeRel(got, c.p, 1e-9, 1e-15) {
			t.Errorf("ksone.sf(%g, %d) = %.17g, SciPy %.17g", c.d, c.n, got, c.p)
		}
	}
}

// Values from SciPy 1.10.1: k = sum(p >= 0.5), pi0 = k/(n·0.5), and
// stats.binomtest(k, n).proportion_ci(0.95, method="exact") for the bounds
// (qvalue's pi0est(p, lambda = 0.5) is the same estimate).
func TestStoreyPi0Reference(t *testing.T) {
	cases := []struct {
		n      int
		e      float64
		above  int
		pi0    float64
		lo, hi float64
	}{
		{200, 1.2, 89, 0.89, 0, 0.25019781056298174},
		{1000, 1.05, 483, 0.966, 0, 0.09676555855104085},
		{1000, 2, 293, 0.586, 0.3554206837945233, 0.4701305644414897},
	}
	for _, c := range cases {
		r, err := StoreyPi0(uniformitySample(c.n, c.e), 0.5, 0.95)
		if err != nil {
			t.Fatal(err)
		}
		if r.Above != c.above || !closeRel(r.Pi0, c.pi0, 1e-12, 0) || !closeRel(r.Lower, c.lo, 1e-9, 1e-12) || !closeRel(r.Upper, c.hi, 1e-9, 1e-12) {
			t.Errorf("n=%d e=%g: %+v, SciPy above %d pi0 %g [%g, %g]", c.n, c.e, r, c.above, c.pi0, c.lo, c.hi)
		}
	}
}

func TestUniformityErrors(t *testing.T) {
	if _, err := KSUniform(nil); !errors.Is(err, ErrSampleSize) {
		t.Errorf("no values: %v", err)
	}
	if _, err := KSUniform([]float64{0.2, 1.5}); !errors.Is(err, ErrDomain) {
		t.Errorf("1.5: %v", err)
	}
	if _, err := KSUniform([]float64{math.NaN()}); !errors.Is(err, ErrNaN) {
		t.Errorf("NaN: %v", err)
	}
	if _, err := StoreyPi0([]float64{0.2}, 1, 0.95); !errors.Is(err, ErrDomain) {
		t.Errorf("lambda 1: %v", err)
	}
}
