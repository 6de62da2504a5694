package nightly

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/replay"
	"github.com/reprise-dev/reprise/stats"
	"github.com/reprise-dev/reprise/verdict"
)

// Fleet defaults: the runs behind each record's fleet p-value in a
// sequential night (a fixed-N night uses its N), the fleet test's level,
// and Storey's λ.
const (
	DefaultFleetRuns  = 100
	DefaultFleetAlpha = 0.05
	FleetLambda       = 0.5
)

// Fleet is the fleet-level substitution test of one system over a night:
// are the records' conformal p-values (Result.FleetP, each uniform on
// (0, 1) when the record's decision came from the pinned system) uniform,
// and what share of the decisions does the pinned system not explain?
// It flags decisions served by another system (a wrong model on part of
// the traffic) that no single record shows.
type Fleet struct {
	// Records is the number of p-values tested; Runs the fresh-seed
	// outputs behind each.
	Records int `json:"records"`
	Runs    int `json:"runs"`
	// Statistic and PValue are the one-sided Kolmogorov–Smirnov test of
	// uniformity against smaller p-values (stats.KSUniform, exact).
	Statistic float64 `json:"statistic"`
	PValue    float64 `json:"p_value"`
	Alpha     float64 `json:"alpha"`
	// Flagged: PValue <= Alpha, the system's decisions are not all
	// explained by the pinned system (exit 1).
	Flagged bool `json:"flagged"`
	// Share is the estimated share of decisions the pinned system does
	// not explain, 1 − π0 (Storey, λ = FleetLambda), and [Lower, Upper]
	// its RateConf interval (stats.StoreyPi0: Lower holds whatever the
	// other system is; Upper assumes its decisions' p-values fall below λ).
	Share  float64 `json:"share"`
	Lower  float64 `json:"lower"`
	Upper  float64 `json:"upper"`
	Method string  `json:"method"`
}

// fleetMethod names the fleet test in the reports.
const fleetMethod = "randomized conformal p-value per record; one-sided Kolmogorov–Smirnov test of their uniformity (exact); Storey's π0 at λ = 0.5 with a Clopper–Pearson bound"

// ConformalP is the randomized (smoothed) conformal p-value of the stored
// output among the replayed outputs outs: with the bag of the n+1 outputs
// (the stored one last) and a nonconformity a(y) computed from the bag
// alike for each of them, p = (#{i: a_i > a_stored} + u·#{i: a_i =
// a_stored}) / (n+1), the stored one counted among the ties. When the
// stored output is exchangeable with the replays (it came from the pinned
// system) and u is uniform on (0, 1) independent of them, p is exactly
// uniform on (0, 1), ties and discreteness included (Vovk et al. 2005,
// smoothed conformal predictor). The nonconformity is lexicographic:
// first the rarity of the output's label in the bag (−its count), when
// the stored output has a label (a replay without one counts as the label
// "<none>"); then, when it has a score, how far the score lies from the
// middle of the scores of the bag's outputs with the same label (|mid-rank
// − (m+1)/2| among m; no score: farthest). ok is false when the stored
// output has neither a label nor a score (a text only) or outs is empty.
func ConformalP(stored output.Output, outs []output.Output, u float64) (p float64, ok bool) {
	useLabel, useScore := stored.Label != nil, stored.Score != nil
	if !useLabel && !useScore || len(outs) == 0 {
		return 0, false
	}
	bag := append(slices.Clip(outs), stored)
	a := make([][2]float64, len(bag))
	if useLabel {
		counts := map[string]int{}
		for _, o := range bag {
			counts[labelKey(o)]++
		}
		for i, o := range bag {
			a[i][0] = -float64(counts[labelKey(o)])
		}
	}
	if useScore {
		scoreOutlyingness(bag, useLabel, a)
	}
	self := a[len(a)-1]
	var gt, eq int
	for _, v := range a {
		switch c := cmp.Or(cmp.Compare(v[0], self[0]), cmp.Compare(v[1], self[1])); {
		case c > 0:
			gt++
		case c == 0:
			eq++
		}
	}
	return (float64(gt) + u*float64(eq)) / float64(len(bag)), true
}

func labelKey(o output.Output) string {
	if o.Label == nil {
		return "\x00<none>"
	}
	return *o.Label
}

// scoreOutlyingness sets a[i][1] to |mid-rank − (m+1)/2| of bag[i]'s
// score among the m scores of its label group (the whole bag when
// !byLabel), and +Inf for an output without a score.
func scoreOutlyingness(bag []output.Output, byLabel bool, a [][2]float64) {
	groups := map[string][]float64{}
	key := func(o output.Output) string {
		if byLabel {
			return labelKey(o)
		}
		return ""
	}
	for _, o := range bag {
		if o.Score != nil {
			groups[key(o)] = append(groups[key(o)], *o.Score)
		}
	}
	for _, g := range groups {
		slices.Sort(g)
	}
	for i, o := range bag {
		if o.Score == nil {
			a[i][1] = math.Inf(1)
			continue
		}
		g := groups[key(o)]
		lo, _ := slices.BinarySearch(g, *o.Score)
		hi := lo
		for hi < len(g) && g[hi] == *o.Score {
			hi++
		}
		mid := float64(lo+hi+1) / 2 // mean of the ranks lo+1..hi
		a[i][1] = math.Abs(mid - float64(len(g)+1)/2)
	}
}

// FleetU is the randomization of a record's conformal p-value: a uniform
// draw on (0, 1) fixed by its request id ((k + 0.5)/2⁵³, k the first 53
// bits of sha256("reprise/fleet-u/v1\n" + request id)), so a
// resumed or merged night keeps its p-values, and independent of what
// the replays give.
func FleetU(requestID string) float64 {
	sum := sha256.Sum256([]byte("reprise/fleet-u/v1\n" + requestID))
	return (float64(binary.BigEndian.Uint64(sum[:8])>>11) + 0.5) / (1 << 53)
}

// freshOutputs are the outputs of a replay's fresh-seed runs, in run
// order, at most k of them.
func freshOutputs(res *replay.Result, k int) []output.Output {
	if res == nil {
		return nil
	}
	var outs []output.Output
	for _, r := range res.Runs {
		if r.Kind == "replay" && r.Outcome == replay.OutcomeOutput && len(outs) < k {
			outs = append(outs, r.Output())
		}
	}
	return outs
}

// fleetReplay runs the first k fresh seeds of a record whose sequential
// replay stopped on an exact match (it has no fresh-seed run): the same
// seeds as every other record's fleet runs, on its session, so every
// record's fleet p-value rests on the first k fresh seeds whatever its
// replay did. Its reports are not kept: it is not the record's replay.
func fleetReplay(ctx context.Context, st replay.Blobs, rec *record.Record, sess *launch.Session, opts Options) ([]output.Output, error) {
	co := opts.Replay
	co.Sequential, co.N, co.Progress, co.Journal, co.System = false, opts.FleetRuns, nil, nil, nil // no eval suite: only the runs
	p, err := replay.Prepare(ctx, st, rec, co)
	if err != nil {
		return nil, err
	}
	res, err := replay.Run(ctx, sess, p, co)
	if err != nil {
		return nil, err
	}
	return freshOutputs(res, opts.FleetRuns), nil
}

// fleetP sets r's fleet p-value from the fleet outputs (none: no p-value).
func (r *Result) fleetP(stored output.Output, outs []output.Output) {
	if p, ok := ConformalP(stored, outs, FleetU(r.RequestID)); ok {
		r.FleetP, r.FleetRuns = &p, len(outs)
	}
}

// fleetTests runs the fleet test of each system with fleet p-values (in
// place in n.Systems) and reports whether one is flagged. A system whose
// share's lower bound exceeds 1 − MinRate is BelowMin as well: the pinned
// system explains less than MinRate of its decisions.
func (n *Night) fleetTests() (flagged, belowMin bool) {
	alpha := n.Config.FleetAlpha
	if alpha == 0 {
		alpha = DefaultFleetAlpha
	}
	ps := map[string][]float64{}
	runs := map[string]int{}
	for _, r := range n.Records {
		if r.FleetP != nil && r.ReplayVerdict != verdict.Failed {
			ps[r.System] = append(ps[r.System], *r.FleetP)
			runs[r.System] = max(runs[r.System], r.FleetRuns)
		}
	}
	for i := range n.Systems {
		s := &n.Systems[i]
		f := FleetTest(ps[s.System], alpha)
		if f == nil {
			continue
		}
		f.Runs = runs[s.System]
		s.Fleet = f
		flagged = flagged || f.Flagged
		if mr := n.Config.MinRate; mr > 0 && f.Lower > 1-mr {
			s.BelowMin = true
		}
		belowMin = belowMin || s.BelowMin
	}
	return flagged, belowMin
}

// FleetTest is the fleet test of one system's fleet p-values at level
// alpha (nil when there are none).
func FleetTest(ps []float64, alpha float64) *Fleet {
	if len(ps) == 0 {
		return nil
	}
	ks, err := stats.KSUniform(ps)
	if err != nil {
		return nil
	}
	st, err := stats.StoreyPi0(ps, FleetLambda, RateConf)
	if err != nil {
		return nil
	}
	return &Fleet{Records: len(ps), Statistic: ks.Statistic, PValue: ks.PValue, Alpha: alpha, Flagged: ks.PValue <= alpha,
		Share: st.Share, Lower: st.Lower, Upper: st.Upper, Method: fleetMethod}
}

// fleetSummary is one line on a system's fleet test, for the reports.
func (f *Fleet) summary(name string) string {
	word := "consistent with the pinned system"
	if f.Flagged {
		word = "FLAGGED: not all decisions are explained by the pinned system"
	}
	return fmt.Sprintf("%s: fleet test over %d records (%d runs each): KS D+ = %.4f, p = %.4g (alpha %g), %s; share not explained %.3f, 95%% interval [%.3f, %.3f]",
		name, f.Records, f.Runs, f.Statistic, f.PValue, f.Alpha, word, f.Share, f.Lower, f.Upper)
}

// OutcomeSubstitution: no record DIVERGED, but a system's fleet test is
// flagged (exit 1, as diverged). It ranks below diverged, above rate.
const OutcomeSubstitution = "substitution"

// flagFleet makes a night whose fleet test flags a system (and no record
// DIVERGED) a substitution night, and says so in its summary.
func (n *Night) flagFleet(flagged bool) {
	for _, s := range n.Systems {
		if s.Fleet != nil && s.Fleet.Flagged {
			n.Summary += fmt.Sprintf("; fleet test flags %s (p = %.4g, share not explained %.3f [%.3f, %.3f])", s.Name, s.Fleet.PValue, s.Fleet.Share, s.Fleet.Lower, s.Fleet.Upper)
		}
	}
	if flagged && n.Outcome != OutcomeDiverged {
		n.Outcome, n.ErrorClass = OutcomeSubstitution, ""
	}
}
