package evals

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/reprise-dev/reprise/digest"
)

// TestCompareBootstrapReference checks compare's BCa interval of the mean
// difference against R: library(boot); d <- b - a; set.seed(1);
// bt <- boot(d, function(x, i) mean(x[i]), R = 200000);
// boot.ci(bt, conf = 0.95, type = "bca")$bca[4:5]  →  0.0400, 0.1625.
// Both are Monte-Carlo estimates; the tolerance covers their noise.
func TestCompareBootstrapReference(t *testing.T) {
	a := []float64{0.2, 0.5, 0.9, 0.4, 0.7, 0.3, 0.8, 0.6}
	b := []float64{0.3, 0.7, 0.85, 0.6, 0.9, 0.35, 0.95, 0.62}
	ma, mb, ra, rb := runsOf(a, b)
	c, err := Compare(digest.Digest{}, digest.Digest{}, ma, mb, ra, rb, CompareOptions{Resamples: 100000, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(c.Lower-0.04) > 0.01 || math.Abs(c.Upper-0.1625) > 0.01 {
		t.Fatalf("BCa [%v, %v], R [0.0400, 0.1625]", c.Lower, c.Upper)
	}
}

// TestTOSTCalibration simulates compare's TOST verdict. With the true mean
// difference on the margin, EQUIVALENT must come at most at the nominal
// rate α = 0.05 (plus Monte-Carlo error: 3 standard errors of 2000 draws);
// with no true difference and 60 items, equivalence within 0.1 must be
// found nearly always (power).
func TestTOSTCalibration(t *testing.T) {
	if testing.Short() {
		t.Skip("simulation; skipped with -short")
	}
	const sims, items, margin, sd = 2000, 60, 0.1, 0.15
	rng := rand.New(rand.NewPCG(11, 12))
	rate := func(shift float64) float64 {
		eq := 0
		for range sims {
			a, b := make([]float64, items), make([]float64, items)
			for i := range a {
				a[i] = rng.Float64()
				b[i] = a[i] + shift + sd*rng.NormFloat64()
			}
			ma, mb, ra, rb := runsOf(a, b)
			c, err := Compare(digest.Digest{}, digest.Digest{}, ma, mb, ra, rb, CompareOptions{Margin: margin, Resamples: 50})
			if err != nil {
				t.Fatal(err)
			}
			if *c.Equivalent {
				eq++
			}
		}
		return float64(eq) / sims
	}
	se := math.Sqrt(0.05 * 0.95 / sims)
	if r := rate(margin); r > 0.05+3*se {
		t.Errorf("type I error at the margin %.4f > 0.05", r)
	} else {
		t.Logf("type I error at the margin: %.4f (nominal 0.05)", r)
	}
	if r := rate(-margin); r > 0.05+3*se {
		t.Errorf("type I error at −margin %.4f > 0.05", r)
	}
	if r := rate(0); r < 0.95 {
		t.Errorf("power at no difference %.4f < 0.95", r)
	} else {
		t.Logf("power at no difference: %.4f", r)
	}
}
