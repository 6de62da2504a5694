package replay

import (
	"math"
	"testing"
)

// Reference values computed with R 4.2:
//
//	binom.test(k, n)$conf.int                    (Clopper-Pearson)
//	prop.test(k, n, correct = FALSE)$conf.int    (Wilson)
func TestIntervalsAgainstR(t *testing.T) {
	cases := []struct {
		k, n       int
		cpLo, cpHi float64
		wLo, wHi   float64
	}{
		{427, 500, 0.81996076969586662, 0.88378101655974184, 0.82035073377969026, 0.88225123317353071},
		{0, 500, 0, 0.0073506100519077355, 0, 0.0076243404615522377},
		{3, 20, 0.032070937185463728, 0.37892682654531396, 0.052368745896216609, 0.36041886474075691},
		{20, 20, 0.83156652901691464, 1, 0.83887484194718065, 1},
	}
	close := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1e-3, math.Abs(b)) }
	for _, c := range cases {
		lo, hi, _ := clopperPearson(c.k, c.n, 0.95)
		if !close(lo, c.cpLo) || !close(hi, c.cpHi) {
			t.Errorf("Clopper-Pearson %d/%d = [%.17g, %.17g], R [%.17g, %.17g]", c.k, c.n, lo, hi, c.cpLo, c.cpHi)
		}
		lo, hi, _ = wilson(c.k, c.n, 0.95)
		if !close(lo, c.wLo) || !close(hi, c.wHi) {
			t.Errorf("Wilson %d/%d = [%.17g, %.17g], R [%.17g, %.17g]", c.k, c.n, lo, hi, c.wLo, c.wHi)
		}
	}
}
