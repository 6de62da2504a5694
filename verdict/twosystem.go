package verdict

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/stats"
)

// Sameness is the verdict of a two-system comparison on one input.
type Sameness string

// Verdicts of CompareSystems.
const (
	// Same: every aspect's distance between the two systems' output
	// distributions is shown below Rules.Margin (a positive claim: the
	// upper confidence bound is below the margin).
	Same Sameness = "SAME"
	// Different: some aspect's two-sample test rejects equality.
	Different Sameness = "DIFFERENT"
	// Undetermined: neither (reported as INCONCLUSIVE).
	Undetermined Sameness = "INCONCLUSIVE"
)

// Comparison is the two-system test on one input: the outputs of system A
// (the record's own) and of system B (the other) on the same request.
type Comparison struct {
	Verdict Sameness     `json:"verdict"`
	Tests   []TestResult `json:"tests"`
	Reasons []string     `json:"reasons"`
	// NA and NB are the outputs compared; CountsA and CountsB their label
	// counts (nil without labels).
	NA      int            `json:"n_a"`
	NB      int            `json:"n_b"`
	CountsA map[string]int `json:"label_counts_a,omitempty"`
	CountsB map[string]int `json:"label_counts_b,omitempty"`
	// RunsNeeded, for an INCONCLUSIVE comparison, is about how many runs
	// per system would show the equivalence if the samples stay alike (0:
	// unknown, or no number would).
	RunsNeeded int `json:"runs_needed,omitempty"`
}

// Aspects are the parts of an output a comparison tests: labels, scores,
// texts. AspectsOf chooses them from the stored output.
type Aspects struct{ Labels, Scores, Texts bool }

// AspectsOf is what a comparison tests for a record whose stored output is
// stored: each field it holds. A zero stored output (no field) tests each
// field some output of a or b holds.
func AspectsOf(stored output.Output, a, b []output.Output) Aspects {
	if stored.Label != nil || stored.Score != nil || stored.Text != nil {
		return Aspects{stored.Label != nil, stored.Score != nil, stored.Text != nil}
	}
	var as Aspects
	for _, o := range slices.Concat(a, b) {
		as.Labels = as.Labels || o.Label != nil
		as.Scores = as.Scores || o.Score != nil
		as.Texts = as.Texts || o.Text != nil
	}
	return as
}

func (as Aspects) count() int {
	n := 0
	for _, on := range []bool{as.Labels, as.Scores, as.Texts} {
		if on {
			n++
		}
	}
	return n
}

// CompareSystems tests whether two systems' outputs on one input, a (system
// A) and b (system B), come from the same distribution, on each aspect
// AspectsOf(stored, a, b) names:
//
//   - labels: Fisher's exact test on the 2×k table of label counts (the
//     network algorithm; Monte-Carlo past stats.MaxFisherWork) for a
//     difference; for equivalence the total variation distance between
//     the label distributions with the Weissman L1 bound over the labels
//     seen plus one for any other (as ReferenceLabels);
//   - scores: the two-sided two-sample Kolmogorov–Smirnov test; the
//     Kolmogorov distance with the DKW bound (as ReferenceScores);
//   - texts: the MMD² permutation test with the 3-gram spectrum kernel;
//     MMD² with the McDiarmid bound (as ReferenceTexts).
//
// Each of the c aspects runs at level Rules.Alpha/c for both its
// difference test and its distance bound. The verdict is DIFFERENT when
// any aspect's test rejects (false alarm ≤ Rules.Alpha when the systems
// have the same output distribution), SAME when every aspect's upper
// bound is below Rules.Margin (a wrong SAME, when some aspect's true
// distance is at least the margin, has probability ≤ Rules.Alpha), and
// INCONCLUSIVE otherwise. A sequential comparison at fixed looks calls it
// at each look with Alpha times the look's share (ReferenceLooks: by the
// union bound both error rates stay at most Alpha over all looks).
//
// Errors: ErrRules, ErrNoRuns (a or b empty), or a test's error.
func CompareSystems(stored output.Output, a, b []output.Output, rules Rules) (*Comparison, error) {
	rules = rules.WithDefaults()
	if err := rules.Validate(); err != nil {
		return nil, err
	}
	if len(a) == 0 || len(b) == 0 {
		return nil, fmt.Errorf("%w: a comparison needs outputs of both systems (%d and %d)", ErrNoRuns, len(a), len(b))
	}
	as := AspectsOf(stored, a, b)
	c := &Comparison{Tests: []TestResult{}, Reasons: []string{}, NA: len(a), NB: len(b)}
	n := as.count()
	if n == 0 {
		c.Verdict = Undetermined
		c.Reasons = append(c.Reasons, "no output of either system holds a label, a score or a text: nothing to compare")
		return c, nil
	}
	level := rules
	level.Alpha = rules.Alpha / float64(n)
	var fs []Finding
	type aspect struct {
		on  bool
		run func(output.Output, []output.Output, []output.Output, Rules) (Finding, error)
	}
	for _, x := range []aspect{{as.Labels, compareLabels}, {as.Scores, compareScores}, {as.Texts, compareTexts}} {
		if !x.on {
			continue
		}
		f, err := x.run(stored, a, b, level)
		if err != nil {
			return nil, err
		}
		f.Test.Level = ptr(level.Alpha)
		fs = append(fs, f)
		c.Tests = append(c.Tests, f.Test)
		c.Reasons = append(c.Reasons, f.Reasons...)
	}
	if as.Labels {
		c.CountsA, c.CountsB = countLabels(a), countLabels(b)
	}
	c.decide(fs, rules, level.Alpha, n)
	return c, nil
}

// decide sets the verdict from the aspects' findings.
func (c *Comparison) decide(fs []Finding, rules Rules, level float64, n int) {
	rejects, supports := 0, 0
	for _, f := range fs {
		switch f.Outcome {
		case Rejects:
			rejects++
		case Supports:
			supports++
		default:
			c.RunsNeeded = max(c.RunsNeeded, f.RunsNeeded)
		}
	}
	switch {
	case rejects > 0:
		c.Verdict, c.RunsNeeded = Different, 0
	case supports == len(fs):
		c.Verdict = Same
	default:
		c.Verdict = Undetermined
	}
	if n > 1 {
		c.Reasons = append(c.Reasons, fmt.Sprintf("error rates: alpha %g over %d aspects, each at level %.4g (Bonferroni)", rules.Alpha, n, level))
	}
}

func countLabels(outs []output.Output) map[string]int {
	m := map[string]int{}
	for _, o := range outs {
		m[labelKey(o)]++
	}
	return m
}

// compareLabels is the labels aspect of CompareSystems.
func compareLabels(_ output.Output, a, b []output.Output, r Rules) (Finding, error) {
	la, lb := make([]string, len(a)), make([]string, len(b))
	for i, o := range a {
		la[i] = labelKey(o)
	}
	for i, o := range b {
		lb[i] = labelKey(o)
	}
	t, cats, err := stats.LabelTable(la, lb)
	if err != nil {
		return Finding{}, err
	}
	p, method := 1.0, "Fisher's exact test"
	if len(cats) > 1 {
		rng := rand.New(rand.NewPCG(labelSeed, uint64(len(a))<<32|uint64(len(b))))
		res, err := stats.FisherTable(t, resamples(r.Alpha), rng)
		if err != nil {
			return Finding{}, err
		}
		p, method = res.PValue, res.Method
	}
	tv := TotalVariation(la, lb)
	k := float64(len(cats) + 1)
	eps := func(n int) float64 { return weissmanEps(n, k, r.Alpha) }
	bound := min(1, tv+(eps(len(la))+eps(len(lb)))/2)
	f := Finding{Test: TestResult{
		Name:      "labels",
		Method:    method + " on the label counts of the two systems; total variation distance with a Weissman L1 upper confidence bound (the labels seen, plus one for any other)",
		Statistic: ptr(tv), PValue: ptr(p), N: ptr(len(a)), Trials: ptr(len(b)),
		Interval: &Interval{0, bound, 1 - r.Alpha, "Weissman L1 bound"},
		Rejected: ptr(p <= r.Alpha),
	}}
	head := fmt.Sprintf("labels: total variation %.4f between %d runs of A and %d of B; upper %.4g-confidence bound %.4f", tv, len(a), len(b), 1-r.Alpha, bound)
	equivalence(&f, head, p, bound, r, func() int {
		left := r.Margin - tv
		if left <= 0 {
			return 0
		}
		return int(math.Ceil(2 * (math.Log(math.Pow(2, k)-2) + math.Log(2/r.Alpha)) / (left * left)))
	})
	return f, nil
}

// compareScores is the scores aspect of CompareSystems.
func compareScores(_ output.Output, a, b []output.Output, r Rules) (Finding, error) {
	sa, sb := scoresOf(a), scoresOf(b)
	f := Finding{Test: TestResult{Name: "scores", N: ptr(len(sa)), Trials: ptr(len(sb)),
		Method: "two-sided two-sample Kolmogorov-Smirnov test of the two systems' scores; Kolmogorov distance with a DKW upper confidence bound"}}
	if len(sa) == 0 || len(sb) == 0 {
		f.Outcome = Skipped
		f.Test.Skipped = fmt.Sprintf("scores from A: %d, from B: %d; both systems must give some", len(sa), len(sb))
		f.Reasons = []string{"scores: " + f.Test.Skipped}
		return f, nil
	}
	ks, err := stats.KolmogorovSmirnov(sa, sb, stats.TwoSided, stats.PValueAuto)
	if err != nil {
		return Finding{}, err
	}
	eps := func(n int) float64 { return dkwEps(n, r.Alpha) }
	bound := min(1, ks.Statistic+eps(len(sa))+eps(len(sb)))
	f.Test.Statistic, f.Test.PValue, f.Test.Rejected = ptr(ks.Statistic), ptr(ks.PValue), ptr(ks.PValue <= r.Alpha)
	f.Test.Interval = &Interval{0, bound, 1 - r.Alpha, "DKW bound"}
	head := fmt.Sprintf("scores: Kolmogorov distance %.4f between %d scores of A and %d of B; upper %.4g-confidence bound %.4f", ks.Statistic, len(sa), len(sb), 1-r.Alpha, bound)
	equivalence(&f, head, ks.PValue, bound, r, func() int {
		left := r.Margin - ks.Statistic
		if left <= 0 {
			return 0
		}
		return int(math.Ceil(4 * math.Log(4/r.Alpha) / (2 * left * left)))
	})
	return f, nil
}

// compareTexts is the texts aspect of CompareSystems.
func compareTexts(stored output.Output, a, b []output.Output, r Rules) (Finding, error) {
	ta, tb := textsOf(a), textsOf(b)
	f := Finding{Test: TestResult{Name: "texts", N: ptr(len(ta)), Trials: ptr(len(tb)),
		Method: fmt.Sprintf("MMD² permutation test (cosine-normalized character %d-gram spectrum kernel, at most %d texts a side) of the two systems' texts; MMD² between the kernel mean embeddings with a McDiarmid upper confidence bound", SpectrumN, MaxReferenceTexts)}}
	if len(ta) == 0 || len(tb) == 0 {
		f.Outcome = Skipped
		f.Test.Skipped = fmt.Sprintf("texts from A: %d, from B: %d; both systems must give some", len(ta), len(tb))
		f.Reasons = []string{"texts: " + f.Test.Skipped}
		return f, nil
	}
	t, err := testTexts(stored, ta, tb, r.Alpha)
	if err != nil {
		return Finding{}, err
	}
	t.record(&f, r.Alpha)
	head := fmt.Sprintf("texts: MMD² %.4f (%d-gram spectrum kernel) between %d texts of A and %d of B; upper %.4g-confidence bound %.4f", t.d*t.d, SpectrumN, len(ta), len(tb), 1-r.Alpha, t.bound)
	equivalence(&f, head, t.p, t.bound, r, func() int {
		left := math.Sqrt(r.Margin) - t.d
		if left <= 0 {
			return 0
		}
		return int(math.Ceil(4 * t.cn * t.cn / (left * left)))
	})
	return f, nil
}

// String is the verdict's name.
func (s Sameness) String() string { return string(s) }

// Summary is a one-line account of a comparison: its verdict and the
// aspects that decided it.
func (c *Comparison) Summary() string {
	var parts []string
	for _, t := range c.Tests {
		if t.PValue != nil {
			parts = append(parts, fmt.Sprintf("%s p = %.4g", t.Name, *t.PValue))
		}
	}
	return fmt.Sprintf("%s (%s)", c.Verdict, strings.Join(parts, ", "))
}
