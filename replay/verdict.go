package replay

import (
	"fmt"
	"math"

	"github.com/reprise-dev/reprise/stats"
)

// Verdict is the outcome of one record's replay.
type Verdict string

const (
	Reproduced   Verdict = "REPRODUCED"
	Diverged     Verdict = "DIVERGED"
	Inconclusive Verdict = "INCONCLUSIVE"
	// Failed: the replay could not be completed (integrity, environment).
	Failed Verdict = "ERROR"
)

// Interval is a confidence interval for a proportion.
type Interval struct {
	Lower  float64 `json:"lower"`
	Upper  float64 `json:"upper"`
	Conf   float64 `json:"conf"`
	Method string  `json:"method"`
}

// TestResult is one statistical test in a report.
type TestResult struct {
	Name      string   `json:"name"`
	Method    string   `json:"method"`
	Statistic *float64 `json:"statistic"`
	PValue    *float64 `json:"p_value"`
	// Successes and Trials for frequency tests; N is the sample size of the
	// reference distribution for rank tests.
	Successes *int      `json:"successes,omitempty"`
	Trials    *int      `json:"trials,omitempty"`
	N         *int      `json:"n,omitempty"`
	Interval  *Interval `json:"interval,omitempty"`
	Wilson    *Interval `json:"wilson,omitempty"`
	Skipped   string    `json:"skipped,omitempty"`
	Rejected  *bool     `json:"rejected,omitempty"`
}

// Outcome is one replayed output, normalized, for the tests.
type Outcome struct {
	Label *string
	Score *float64
	Text  *string
}

// Stored is the stored output under test.
type Stored = Outcome

// Rules are the verdict thresholds.
type Rules struct {
	// MinFrequency: the stored label is reproduced when its replay frequency's
	// lower confidence bound is at least this; diverged when the upper bound
	// is below it.
	MinFrequency float64
	// Alpha: the score test rejects when its p-value is below Alpha.
	Alpha float64
	// Conf is the confidence level of the intervals (e.g. 0.95).
	Conf float64
}

// Evaluation is the tests and verdict of one replay.
type Evaluation struct {
	Tests       []TestResult   `json:"tests"`
	LabelCounts map[string]int `json:"label_counts,omitempty"`
	Verdict     Verdict        `json:"verdict"`
	// Basis says how REPRODUCED was reached: "exact" or "behavioral".
	Basis   string   `json:"basis,omitempty"`
	Reasons []string `json:"reasons"`
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

func ptr[T any](v T) *T { return &v }

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

// Evaluate runs the tests of the stored output against the replay outcomes
// and applies the verdict rules. exact is the pinned-seed result (nil when
// the record has no seed).
func Evaluate(stored Stored, outs []Outcome, exact *bool, rules Rules) (*Evaluation, error) {
	ev := &Evaluation{Reasons: []string{}}
	n := len(outs)
	if n == 0 {
		return nil, fmt.Errorf("no replay runs to test")
	}
	var labelDiverged, labelReproduced, labelTested bool
	if stored.Label != nil || stored.Text != nil {
		// Categorical: the label, or for text-only outputs the exact text.
		name, key := "label_frequency", func(o Outcome) *string { return o.Label }
		want := stored.Label
		if stored.Label == nil {
			name, key, want = "text_frequency", func(o Outcome) *string { return o.Text }, stored.Text
		}
		counts := map[string]int{}
		k := 0
		for _, o := range outs {
			v := key(o)
			if v == nil {
				counts["<none>"]++
				continue
			}
			counts[*v]++
			if *v == *want {
				k++
			}
		}
		if stored.Label != nil {
			ev.LabelCounts = counts
		}
		lo, hi, err := stats.ClopperPearson(k, n, rules.Conf, stats.TwoSided)
		if err != nil {
			return nil, err
		}
		wlo, whi, err := stats.Wilson(k, n, rules.Conf, stats.TwoSided)
		if err != nil {
			return nil, err
		}
		ev.Tests = append(ev.Tests, TestResult{
			Name:      name,
			Method:    "stored value's frequency among the replays, exact (Clopper-Pearson) interval",
			Statistic: ptr(float64(k) / float64(n)),
			Successes: ptr(k), Trials: ptr(n),
			Interval: &Interval{lo, hi, rules.Conf, "Clopper-Pearson"},
			Wilson:   &Interval{wlo, whi, rules.Conf, "Wilson"},
		})
		labelTested = true
		switch {
		case lo >= rules.MinFrequency:
			labelReproduced = true
			ev.Reasons = append(ev.Reasons, fmt.Sprintf("stored %s %q came back in %d of %d runs; %.0f%% interval [%.4f, %.4f] lies at or above the minimum frequency %g",
				kind(stored), *want, k, n, 100*rules.Conf, lo, hi, rules.MinFrequency))
		case hi < rules.MinFrequency:
			labelDiverged = true
			ev.Reasons = append(ev.Reasons, fmt.Sprintf("stored %s %q came back in %d of %d runs; %.0f%% interval [%.4f, %.4f] lies below the minimum frequency %g",
				kind(stored), *want, k, n, 100*rules.Conf, lo, hi, rules.MinFrequency))
		default:
			ev.Reasons = append(ev.Reasons, fmt.Sprintf("stored %s %q came back in %d of %d runs; %.0f%% interval [%.4f, %.4f] straddles the minimum frequency %g",
				kind(stored), *want, k, n, 100*rules.Conf, lo, hi, rules.MinFrequency))
			if k == 0 {
				// 0 of N: the Clopper-Pearson upper bound 1 − ((1−conf)/2)^(1/N) falls below m once N ≥ ln((1−conf)/2)/ln(1−m).
				need := int(math.Ceil(math.Log((1-rules.Conf)/2) / math.Log1p(-rules.MinFrequency)))
				ev.Reasons = append(ev.Reasons, fmt.Sprintf("with no run reproducing it, at least %d runs (-n %d) are needed to call it diverged", need, need))
			}
		}
	}

	var scoreRejected, scoreTested bool
	if stored.Score != nil {
		var ref []float64
		for _, o := range outs {
			if o.Score == nil {
				continue
			}
			if stored.Label != nil && (o.Label == nil || *o.Label != *stored.Label) {
				continue
			}
			ref = append(ref, *o.Score)
		}
		tr := TestResult{
			Name:   "score_rank",
			Method: "statistic: mid-rank of the stored score among replays with the same label; two-sided conformal rank p-value of the stored score among replays with the same label: 2·min((1+#{s≤x}), (1+#{s≥x}))/(m+1)",
			N:      ptr(len(ref)),
		}
		if len(ref) == 0 {
			tr.Skipped = "no replay produced a score with the stored label"
		} else {
			p := RankPValue(*stored.Score, ref)
			tr.Statistic = ptr(midRank(*stored.Score, ref))
			tr.PValue = ptr(p)
			tr.Rejected = ptr(p < rules.Alpha)
			scoreTested = true
			scoreRejected = p < rules.Alpha
			if scoreRejected {
				ev.Reasons = append(ev.Reasons, fmt.Sprintf("stored score %g is rejected among %d replayed scores (p = %.4g < alpha %g)", *stored.Score, len(ref), p, rules.Alpha))
			} else {
				ev.Reasons = append(ev.Reasons, fmt.Sprintf("stored score %g is not rejected among %d replayed scores (p = %.4g ≥ alpha %g)", *stored.Score, len(ref), p, rules.Alpha))
			}
		}
		ev.Tests = append(ev.Tests, tr)
	}

	switch {
	case exact != nil && *exact:
		ev.Verdict, ev.Basis = Reproduced, "exact"
		ev.Reasons = append([]string{"the pinned seed reproduced the stored output exactly"}, ev.Reasons...)
	case labelDiverged || scoreRejected:
		ev.Verdict = Diverged
	case labelTested && labelReproduced && (!scoreTested || !scoreRejected):
		ev.Verdict, ev.Basis = Reproduced, "behavioral"
	case !labelTested && scoreTested && !scoreRejected:
		ev.Verdict, ev.Basis = Reproduced, "behavioral"
	default:
		ev.Verdict = Inconclusive
	}
	if exact != nil && !*exact {
		ev.Reasons = append([]string{"the pinned seed did not reproduce the stored output exactly"}, ev.Reasons...)
	}
	return ev, nil
}

func kind(s Stored) string {
	if s.Label != nil {
		return "label"
	}
	return "text"
}
