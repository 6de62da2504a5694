package statsfile

import (
	"github.com/reprise-dev/reprise/stats"
)

// PowerResult is the answer of power.
type PowerResult struct {
	Head
	Kind    string   `json:"kind"` // the test parameter
	Alpha   float64  `json:"alpha"`
	N       float64  `json:"n"`
	Power   *float64 `json:"power,omitempty"`   // not for zero-failure
	Epsilon *float64 `json:"epsilon,omitempty"` // zero-failure only
}

// powerFlags registers the parameters of power.
func powerFlags(p *Params, fs FlagSet) {
	fs.StringVar(&p.Test, "test", "two-proportions", "two-proportions, one-proportion, mcnemar or zero-failure")
	fs.Float64Var(&p.P0, "p0", 0.5, "null proportion (one-proportion)")
	fs.Float64Var(&p.P1, "p1", 0.5, "proportion 1")
	fs.Float64Var(&p.P2, "p2", 0.5, "proportion 2 (two-proportions)")
	fs.Float64Var(&p.P10, "p10", 0.1, "probability of a (1,0) pair (mcnemar)")
	fs.Float64Var(&p.P01, "p01", 0.1, "probability of a (0,1) pair (mcnemar)")
	fs.Float64Var(&p.N, "n", 0, "sample size (per group for two-proportions; pairs for mcnemar)")
	fs.Float64Var(&p.Power, "power", 0.8, "target power")
	fs.Float64Var(&p.Alpha, "alpha", 0.05, "significance level")
	fs.Float64Var(&p.Epsilon, "epsilon", 0.01, "failure rate bound (zero-failure)")
}

// powerCalc is one calculation of power: the power at a sample size, and
// the sample size that reaches a power, of the two probabilities probs
// reads (all nil for zero-failure).
type powerCalc struct {
	method string
	probs  func(p *Params) (x, y float64)
	power  func(n, x, y, alpha float64) (float64, error)
	size   func(x, y, alpha, power float64) (stats.PowerResult, error)
}

// powerCalcs are the calculations of power by the test parameter.
var powerCalcs = map[string]powerCalc{
	"two-proportions": {"Two-sample comparison of proportions power calculation (R power.prop.test)",
		func(p *Params) (x, y float64) { return p.P1, p.P2 }, stats.PowerTwoProportions, stats.SampleSizeTwoProportions},
	"one-proportion": {"One-sample z-test of a proportion, normal approximation",
		func(p *Params) (x, y float64) { return p.P0, p.P1 }, stats.PowerOneProportion, stats.SampleSizeOneProportion},
	"mcnemar": {"McNemar test, Connor (1987) normal approximation",
		func(p *Params) (x, y float64) { return p.P10, p.P01 }, stats.PowerMcNemar, stats.SampleSizeMcNemar},
	"zero-failure": {"zero-failure rule n >= ln(alpha)/ln(1-epsilon)", nil, nil, nil},
}

// runPower is power: the power for n, or the sample size for power, or the
// number of runs of the zero-failure rule.
func runPower(p *Params) (any, error) {
	c, ok := powerCalcs[p.Test]
	if !ok {
		return nil, inputErrorf("--test must be two-proportions, one-proportion, mcnemar or zero-failure, got %q", p.Test)
	}
	out := PowerResult{Head: Head{"power", c.method}, Kind: p.Test, Alpha: p.Alpha}
	if p.Test == "zero-failure" {
		k, err := stats.ZeroFailureN(p.Epsilon, p.Alpha)
		if err != nil {
			return nil, err
		}
		out.N, out.Epsilon = float64(k), &p.Epsilon
		return out, nil
	}
	haveN := p.given("n")
	if haveN == p.given("power") {
		return nil, inputErrorf("give exactly one of --n and --power")
	}
	x, y := c.probs(p)
	if haveN {
		v, err := c.power(p.N, x, y, p.Alpha)
		if err != nil {
			return nil, err
		}
		out.N, out.Power = p.N, &v
		return out, nil
	}
	r, err := c.size(x, y, p.Alpha, p.Power)
	if err != nil {
		return nil, err
	}
	out.N, out.Power, out.Method = r.N, &r.Power, r.Method
	return out, nil
}
