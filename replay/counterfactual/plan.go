package counterfactual

import (
	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/verdict"
)

// Plan is the look schedule of a two-system comparison: after Looks[j].Runs
// runs of each system it compares the first Runs outputs of each at
// Rules.Alpha × Looks[j].Share. The shares sum to 1 and the looks are fixed
// before any run, so by the union bound a wrong DIFFERENT (the systems
// have one output distribution) or a wrong SAME (some aspect's distance is
// at least the margin) has probability at most Rules.Alpha, whenever the
// comparison stops.
type Plan struct{ Looks []verdict.Look }

// NewPlan is the plan of a sequential comparison of at most maxRuns runs a
// system (verdict.ReferenceLooks: four looks, the last with half the
// level), or, not sequential, one look after n runs at the whole level.
func NewPlan(sequential bool, n, maxRuns int) Plan {
	if !sequential {
		return Plan{Looks: []verdict.Look{{Runs: max(1, n), Share: 1}}}
	}
	return Plan{Looks: verdict.ReferenceLooks(maxRuns)}
}

// At compares the first Looks[j].Runs outputs of a and b (each has at least
// that many) at look j's share of rules' level. settled is true when the
// comparison stops there: a verdict other than INCONCLUSIVE, or the last look.
func (p Plan) At(j int, stored output.Output, a, b []output.Output, rules verdict.Rules) (c *verdict.Comparison, settled bool, err error) {
	l := p.Looks[j]
	r := rules.WithDefaults()
	r.Alpha *= l.Share
	c, err = verdict.CompareSystems(stored, a[:min(len(a), l.Runs)], b[:min(len(b), l.Runs)], r)
	if err != nil {
		return nil, false, err
	}
	return c, c.Verdict != verdict.Undetermined || j == len(p.Looks)-1, nil
}

// Sequence runs a comparison along the plan: draw(side, n) returns the
// next n outputs of side 0 (A) or 1 (B). It stops at the first settled
// look and returns the comparison there and the index of that look. It is
// what Against does with sessions, for simulations.
func (p Plan) Sequence(stored output.Output, rules verdict.Rules, draw func(side, n int) ([]output.Output, error)) (*verdict.Comparison, int, error) {
	var outs [2][]output.Output
	for j, l := range p.Looks {
		for s := range outs {
			more, err := draw(s, l.Runs-len(outs[s]))
			if err != nil {
				return nil, j, err
			}
			outs[s] = append(outs[s], more...)
		}
		c, settled, err := p.At(j, stored, outs[0], outs[1], rules)
		if err != nil || settled {
			return c, j, err
		}
	}
	panic("unreachable: the last look settles")
}
