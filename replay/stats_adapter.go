package replay

import "gonum.org/v1/gonum/stat/distuv"

// TEMPORARY until stats lands.
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

func wilson(k, n int, conf float64) (float64, float64, error) { return clopperPearson(k, n, conf) }
