package stats

import "math"

// normCDF is the standard normal CDF P(Z ≤ z), accurate in the far lower
// tail; normCDF(-z) is the upper tail P(Z > z), accurate in the far upper tail.
func normCDF(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }

// normQuantile is the standard normal quantile function: P(Z ≤ normQuantile(p)) = p.
// The upper quantile, z with P(Z > z) = a, is -normQuantile(a).
func normQuantile(p float64) float64 { return -math.Sqrt2 * math.Erfcinv(2*p) }
