package verdict

import (
	"fmt"
	"math"

	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/stats"
)

// LabelFrequency tests a stored label: its frequency k/N among the replays,
// with Clopper–Pearson (and Wilson) intervals at Rules.Conf. It supports the
// label when the interval's lower bound is at least Rules.MinFrequency,
// rejects it when the upper bound is below, and is undecided otherwise.
type LabelFrequency struct{}

// Applies when the stored output has a label.
func (LabelFrequency) Applies(s output.Output) bool { return s.Label != nil }

// Run implements Check.
func (LabelFrequency) Run(s output.Output, outs []output.Output, r Rules) (Finding, error) {
	f, err := frequency("label_frequency", "label", *s.Label, outs, func(o output.Output) *string { return o.Label }, r)
	return f, err
}

// TextFrequency tests a stored text of an output without a label by the
// same rule as LabelFrequency, on the exact text.
type TextFrequency struct{}

// Applies when the stored output has text and no label.
func (TextFrequency) Applies(s output.Output) bool { return s.Label == nil && s.Text != nil }

// Run implements Check.
func (TextFrequency) Run(s output.Output, outs []output.Output, r Rules) (Finding, error) {
	f, err := frequency("text_frequency", "text", *s.Text, outs, func(o output.Output) *string { return o.Text }, r)
	f.Counts = nil // texts are not categories worth listing
	return f, err
}

func frequency(name, kind, want string, outs []output.Output, key func(output.Output) *string, r Rules) (Finding, error) {
	n := len(outs)
	counts := map[string]int{}
	k := 0
	for _, o := range outs {
		v := key(o)
		if v == nil {
			counts["<none>"]++
			continue
		}
		counts[*v]++
		if *v == want {
			k++
		}
	}
	lo, hi, err := stats.ClopperPearson(k, n, r.Conf, stats.TwoSided)
	if err != nil {
		return Finding{}, err
	}
	wlo, whi, err := stats.Wilson(k, n, r.Conf, stats.TwoSided)
	if err != nil {
		return Finding{}, err
	}
	f := Finding{Counts: counts, Test: TestResult{
		Name:      name,
		Method:    "stored value's frequency among the replays, exact (Clopper-Pearson) interval",
		Statistic: ptr(float64(k) / float64(n)),
		Successes: ptr(k), Trials: ptr(n),
		Interval: &Interval{lo, hi, r.Conf, "Clopper-Pearson"},
		Wilson:   &Interval{wlo, whi, r.Conf, "Wilson"},
	}}
	head := fmt.Sprintf("stored %s %q came back in %d of %d runs; %.0f%% interval [%.4f, %.4f]", kind, want, k, n, 100*r.Conf, lo, hi)
	switch {
	case lo >= r.MinFrequency:
		f.Outcome = Supports
		f.Reasons = []string{fmt.Sprintf("%s lies at or above the minimum frequency %g", head, r.MinFrequency)}
	case hi < r.MinFrequency:
		f.Outcome = Rejects
		f.Reasons = []string{fmt.Sprintf("%s lies below the minimum frequency %g", head, r.MinFrequency)}
	default:
		f.Outcome = Undecided
		f.Reasons = []string{fmt.Sprintf("%s straddles the minimum frequency %g", head, r.MinFrequency)}
		if k == 0 {
			need := RunsToRejectNever(r)
			f.Reasons = append(f.Reasons, fmt.Sprintf("with no run reproducing it, at least %d runs (-n %d) are needed to call it diverged", need, need))
		}
	}
	return f, nil
}

// RunsToRejectNever is the smallest N at which 0 of N puts the
// Clopper–Pearson upper bound, 1 − ((1−conf)/2)^(1/N), below the minimum
// frequency m: ⌈ln((1−conf)/2) / ln(1−m)⌉.
func RunsToRejectNever(r Rules) int {
	return int(math.Ceil(math.Log((1-r.Conf)/2) / math.Log1p(-r.MinFrequency)))
}

// ScoreRank tests a stored score by its two-sided conformal rank p-value
// among the replayed scores (of replays with the stored label, when there is
// one): it rejects when p < Rules.Alpha and supports otherwise; with no such
// replay it is skipped.
type ScoreRank struct{}

// Applies when the stored output has a score.
func (ScoreRank) Applies(s output.Output) bool { return s.Score != nil }

// Run implements Check.
func (ScoreRank) Run(s output.Output, outs []output.Output, r Rules) (Finding, error) {
	var ref []float64
	for _, o := range outs {
		if o.Score == nil {
			continue
		}
		if s.Label != nil && (o.Label == nil || *o.Label != *s.Label) {
			continue
		}
		ref = append(ref, *o.Score)
	}
	f := Finding{Test: TestResult{
		Name:   "score_rank",
		Method: "statistic: mid-rank of the stored score among replays with the same label; two-sided conformal rank p-value of the stored score among replays with the same label: 2·min((1+#{s≤x}), (1+#{s≥x}))/(m+1)",
		N:      ptr(len(ref)),
	}}
	if len(ref) == 0 {
		f.Outcome = Skipped
		f.Test.Skipped = "no replay produced a score with the stored label"
		return f, nil
	}
	x := *s.Score
	p := RankPValue(x, ref)
	f.Test.Statistic = ptr(midRank(x, ref))
	f.Test.PValue = ptr(p)
	f.Test.Rejected = ptr(p < r.Alpha)
	if p < r.Alpha {
		f.Outcome = Rejects
		f.Reasons = []string{fmt.Sprintf("stored score %g is rejected among %d replayed scores (p = %.4g < alpha %g)", x, len(ref), p, r.Alpha)}
	} else {
		f.Outcome = Supports
		f.Reasons = []string{fmt.Sprintf("stored score %g is not rejected among %d replayed scores (p = %.4g ≥ alpha %g)", x, len(ref), p, r.Alpha)}
	}
	return f, nil
}

// RankPValue is the two-sided conformal rank p-value of x among ref:
// 2·min(p_lo, p_hi) capped at 1, with p_lo = (1+#{r ≤ x})/(n+1) and
// p_hi = (1+#{r ≥ x})/(n+1). Under exchangeability it is a valid p-value:
// P(p ≤ α) ≤ α.
func RankPValue(x float64, ref []float64) float64 {
	n := len(ref)
	var le, ge int
	for _, r := range ref {
		if r <= x {
			le++
		}
		if r >= x {
			ge++
		}
	}
	plo := float64(1+le) / float64(n+1)
	phi := float64(1+ge) / float64(n+1)
	return math.Min(1, 2*math.Min(plo, phi))
}

// midRank is the stored value's mid-rank position among ref, in [0, 1]:
// (#{r < x} + #{r = x}/2) / n.
func midRank(x float64, ref []float64) float64 {
	var lt, eq int
	for _, r := range ref {
		if r < x {
			lt++
		} else if r == x {
			eq++
		}
	}
	return (float64(lt) + float64(eq)/2) / float64(len(ref))
}
