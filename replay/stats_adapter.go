package replay

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// clopperPearson is the exact two-sided interval for k/n at level conf.
func clopperPearson(k, n int, conf float64) (float64, float64, error) {
	a := (1 - conf) / 2
	lo, hi := 0.0, 1.0
	if k > 0 {
		lo = distuv.Beta{Alpha: float64(k), Beta: float64(n - k + 1)}.Quantile(a)
	}
	if k < n {
		hi = distuv.Beta{Alpha: float64(k + 1), Beta: float64(n - k)}.Quantile(1 - a)
	}
	return lo, hi, nil
}

// wilson is the Wilson score interval for k/n at level conf.
func wilson(k, n int, conf float64) (float64, float64, error) {
	z := math.Sqrt2 * math.Erfcinv(1-conf)
	nn := float64(n)
	p := float64(k) / nn
	c := (p + z*z/(2*nn)) / (1 + z*z/nn)
	h := z / (1 + z*z/nn) * math.Sqrt(p*(1-p)/nn+z*z/(4*nn*nn))
	return math.Max(0, c-h), math.Min(1, c+h), nil
}
