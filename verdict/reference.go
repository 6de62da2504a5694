package verdict

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/stats"
)

// Reference checks compare the replayed outputs with reference outputs: K
// outputs of the system drawn with fresh seeds at decision time. Each tests
// a difference (the two samples come from different distributions, at its
// level) and an equivalence (the distance between the two distributions is
// below Rules.Margin with confidence 1 − level): it rejects on a
// difference, supports only on a shown equivalence (a positive claim, not
// "no difference detected"), and is unpowered otherwise, with the replays
// that would show equivalence if the samples stay as they are.
//
// They are sequential checks with a fixed look schedule (Looks): in a
// sequential replay each compares the first Runs replays of each look with
// the reference outputs, at its share of the check's level (alpha
// spending by the union bound over the looks; see ReferenceLooks).

// ReferenceChecks are the checks that compare the replays with reference
// outputs ref (none when ref is empty): pass them to Evaluate, or to
// EvaluateSequential for a replay of at most maxRuns runs (the look
// schedule ReferenceLooks(maxRuns); maxRuns 0: DefaultReferenceCap).
func ReferenceChecks(ref []output.Output, maxRuns ...int) []Check {
	if len(ref) == 0 {
		return nil
	}
	var looks []Look
	if len(maxRuns) > 0 && maxRuns[0] > 0 {
		looks = ReferenceLooks(maxRuns[0])
	}
	return []Check{ReferenceLabels{Ref: ref, Looks: looks, memo: newLookMemo()}, ReferenceScores{Ref: ref, Looks: looks, memo: newLookMemo()},
		ReferenceTexts{Ref: ref, Looks: looks, memo: newLookMemo()}}
}

// lookMemo keeps a sequential reference check's finding at each look, so
// the looks between two comparisons do not repeat them (a Monte-Carlo
// chi-square each). A finding is kept by the address of the first output
// and the look: the outputs of one replay grow by appending, and a check
// from ReferenceChecks belongs to one replay.
type lookMemo struct {
	mu sync.Mutex
	m  map[lookKey]Finding
}

type lookKey struct {
	first *output.Output
	runs  int
	level float64
}

func newLookMemo() *lookMemo { return &lookMemo{m: map[lookKey]Finding{}} }

// Look is one look of a sequential reference check: it compares the first
// Runs replayed outputs with the reference outputs at Share of the check's
// level.
type Look struct {
	Runs  int
	Share float64
}

// MinReferenceLook is the fewest replays a reference check looks at.
const MinReferenceLook = 50

// DefaultReferenceCap is the run cap the look schedule assumes when a
// reference check is given none (replay's default --max-runs).
const DefaultReferenceCap = 1000

// ReferenceLooks is the look schedule of the sequential reference checks of
// a replay of at most maxRuns replays: after ⌈maxRuns/8⌉, ⌈maxRuns/4⌉,
// ⌈maxRuns/2⌉ and maxRuns replays, at 1/8, 1/8, 1/4 and 1/2 of the check's
// level (a look below MinReferenceLook is dropped and its share goes to the
// next one). The shares sum to 1 and the looks are fixed before any run, so
// by the union bound the probability that any look rejects an honest record,
// or states an equivalence whose distance bound is wrong, is at most the
// check's level, whenever the replay stops. The last look has the largest
// share: an equivalence within the margin usually needs the most replays.
func ReferenceLooks(maxRuns int) []Look {
	maxRuns = max(maxRuns, 1)
	all := []Look{{(maxRuns + 7) / 8, 0.125}, {(maxRuns + 3) / 4, 0.125}, {(maxRuns + 1) / 2, 0.25}, {maxRuns, 0.5}}
	var looks []Look
	carry := 0.0
	for i, l := range all {
		if i < len(all)-1 && (l.Runs < MinReferenceLook || l.Runs == all[i+1].Runs) {
			carry += l.Share
			continue
		}
		l.Share += carry
		carry = 0
		looks = append(looks, l)
	}
	return looks
}

// lookRun runs a reference check sequentially: at the latest look the
// outputs have reached, on the first Runs of them, at the look's share of
// the level; before the first look it is unpowered.
func lookRun(looks []Look, memo *lookMemo, name string, run func(output.Output, []output.Output, Rules) (Finding, error), s output.Output, outs []output.Output, r Rules) (Finding, error) {
	if len(looks) == 0 {
		looks = ReferenceLooks(DefaultReferenceCap)
	}
	j := -1
	for i, l := range looks {
		if len(outs) >= l.Runs {
			j = i
		}
	}
	if j < 0 {
		first := looks[0].Runs
		return Finding{Test: TestResult{Name: name, Method: fmt.Sprintf("sequential: compared with the reference outputs at fixed looks, the first at %d replays", first)},
			Outcome:      Unpowered,
			Reasons:      []string{fmt.Sprintf("%s: compared with the reference outputs after %d replays (%d so far)", name, first, len(outs))},
			Underpowered: fmt.Sprintf("the first comparison with the reference outputs is at %d replays", first),
			RunsNeeded:   first, RejectLow: first}, nil
	}
	l := looks[j]
	lr := r
	lr.Alpha = r.Alpha * l.Share
	key := lookKey{&outs[0], l.Runs, lr.Alpha}
	if memo != nil {
		memo.mu.Lock()
		f, ok := memo.m[key]
		memo.mu.Unlock()
		if ok {
			return f, nil
		}
	}
	f, err := run(s, outs[:l.Runs], lr)
	if err != nil {
		return Finding{}, err
	}
	defer func() {
		if memo != nil {
			memo.mu.Lock()
			memo.m[key] = f
			memo.mu.Unlock()
		}
	}()
	f.Test.Method += fmt.Sprintf("; sequential: look %d of %d, on the first %d replays, at %g of the check's level (%.4g; union bound over the looks)", j+1, len(looks), l.Runs, l.Share, lr.Alpha)
	if j < len(looks)-1 {
		f.RejectLow = looks[j+1].Runs // a later look may still reject
	}
	if f.Outcome == Unpowered {
		// A later look has a larger share of the level and a distance
		// estimate less biased upwards: only an equivalence no number of
		// replays can show, or one not shown at the last look, is futile.
		switch {
		case f.RunsNeeded == 0:
			f.RunsNeededLow = never
		case j == len(looks)-1:
			f.RunsNeededLow = max(f.RunsNeeded, l.Runs+1)
		default:
			f.RunsNeededLow = looks[j+1].Runs
		}
	}
	return f, nil
}

// RunSequential implements SequentialCheck (see ReferenceLooks).
func (c ReferenceLabels) RunSequential(s output.Output, outs []output.Output, r Rules) (Finding, error) {
	return lookRun(c.Looks, c.memo, "reference_labels", c.Run, s, outs, r)
}

// RunSequential implements SequentialCheck (see ReferenceLooks).
func (c ReferenceScores) RunSequential(s output.Output, outs []output.Output, r Rules) (Finding, error) {
	return lookRun(c.Looks, c.memo, "reference_scores", c.Run, s, outs, r)
}

// ReferenceLabels compares the label distributions: Pearson's chi-square
// test on the 2×k table for a difference; for equivalence, an upper
// confidence bound on the total variation distance between the label
// distributions over the reference's labels (every other label pooled as
// one category): TV ≤ TV̂ + (ε_ref + ε_rep)/2, with ε_n =
// sqrt(2/n · (ln(2^k − 2) + ln(2/level))) the L1 deviation bound of
// Weissman et al. (2003) for k categories, each sample at level/2.
type ReferenceLabels struct {
	Ref []output.Output
	// Looks is the sequential look schedule (nil:
	// ReferenceLooks(DefaultReferenceCap)); Run ignores it.
	Looks []Look
	memo  *lookMemo
}

// Applies when the stored output has a label and there are reference outputs.
func (c ReferenceLabels) Applies(s output.Output) bool { return s.Label != nil && len(c.Ref) > 0 }

const otherLabel = "\xff<other>"

// Run implements Check.
func (c ReferenceLabels) Run(s output.Output, outs []output.Output, r Rules) (Finding, error) {
	cells := map[string]bool{otherLabel: true}
	for _, o := range c.Ref {
		cells[labelKey(o)] = true
	}
	cell := func(o output.Output) string {
		if k := labelKey(o); cells[k] {
			return k
		}
		return otherLabel
	}
	a, b := make([]string, len(c.Ref)), make([]string, len(outs))
	for i, o := range c.Ref {
		a[i] = cell(o)
	}
	for i, o := range outs {
		b[i] = cell(o)
	}
	tv := TotalVariation(a, b)
	k := float64(len(cells))
	eps := func(n int) float64 { return weissmanEps(n, k, r.Alpha) }
	bound := tv + (eps(len(a))+eps(len(b)))/2
	p := 1.0
	// Monte-Carlo p-value (exact conditional law; valid whatever the
	// expected counts), with a fixed seed so a replay stays repeatable.
	rng := rand.New(rand.NewPCG(labelSeed, uint64(len(a))<<32|uint64(len(b))))
	if t, err := stats.ChiSquareLabels(a, b, labelResamples(a, b, r.Alpha), rng); err == nil {
		p = t.PValue
	} else if !errors.Is(err, stats.ErrSampleSize) && !errors.Is(err, stats.ErrDomain) {
		return Finding{}, err
	}
	f := Finding{Test: TestResult{
		Name:      "reference_labels",
		Method:    "chi-square test of the replayed labels against the reference labels (asymptotic p-value when every expected count is at least 5, else Monte-Carlo with enough tables to reach the level); total variation over the reference's labels (others pooled) with a Weissman L1 upper confidence bound",
		Statistic: ptr(tv), PValue: ptr(p), N: ptr(len(c.Ref)), Trials: ptr(len(outs)),
		Interval: &Interval{0, bound, 1 - r.Alpha, "Weissman L1 bound"},
		Rejected: ptr(p <= r.Alpha),
	}}
	head := fmt.Sprintf("labels: total variation %.4f between %d reference outputs and %d replays; upper %.4g-confidence bound %.4f", tv, len(a), len(b), 1-r.Alpha, bound)
	equivalence(&f, head, p, bound, r, func() int {
		left := r.Margin - tv - eps(len(a))/2
		if left <= 0 {
			return 0
		}
		return int(math.Ceil(2 * (math.Log(math.Pow(2, k)-2) + math.Log(2/r.Alpha)) / (4 * left * left)))
	})
	return f, nil
}

// labelResamples is the number of Monte-Carlo tables of the labels'
// chi-square test: none (the asymptotic p-value) when every expected count
// of the 2×k table is at least 5, else enough that the p-value can reach
// the level (1/(B+1) ≤ level/2), at least 1999 and at most 49999.
func labelResamples(a, b []string, level float64) int {
	ca, cb := map[string]int{}, map[string]int{}
	for _, v := range a {
		ca[v]++
	}
	for _, v := range b {
		cb[v]++
	}
	n := float64(len(a) + len(b))
	small := false
	for k := range ca {
		if c := float64(ca[k] + cb[k]); c*float64(min(len(a), len(b)))/n < 5 {
			small = true
		}
	}
	for k := range cb {
		if c := float64(ca[k] + cb[k]); c*float64(min(len(a), len(b)))/n < 5 {
			small = true
		}
	}
	if !small {
		return 0
	}
	return resamples(level)
}

// resamples is the number of Monte-Carlo tables or permutations of a test
// at level: enough that the p-value can reach the level (1/(B+1) ≤
// level/2), at least 1999 and at most 49999.
func resamples(level float64) int { return min(49999, max(1999, int(math.Ceil(2/level)))) }

// labelSeed seeds the Monte-Carlo label tests (with the sample sizes), so a
// replay stays repeatable.
const labelSeed = 0x7265707269736521

// labelKey is the label of o, "<none>" without one.
func labelKey(o output.Output) string {
	if o.Label == nil {
		return "<none>"
	}
	return *o.Label
}

// weissmanEps is the L1 deviation bound ε_n = sqrt(2/n · (ln(2^k − 2) +
// ln(2/level))) of Weissman et al. (2003) for a sample of n labels over k
// categories.
func weissmanEps(n int, k, level float64) float64 {
	return math.Sqrt(2 / float64(n) * (math.Log(math.Pow(2, k)-2) + math.Log(2/level)))
}

// scoresOf is the scores of outs, in run order.
func scoresOf(outs []output.Output) []float64 {
	return present(outs, func(o output.Output) *float64 { return o.Score })
}

// present is the values get gives of outs, in order, leaving out the
// outputs it gives none (nil) of.
func present[T any](outs []output.Output, get func(output.Output) *T) []T {
	var v []T
	for _, o := range outs {
		if p := get(o); p != nil {
			v = append(v, *p)
		}
	}
	return v
}

// dkwEps is the Dvoretzky–Kiefer–Wolfowitz deviation bound ε_n =
// sqrt(ln(4/level)/(2n)) (Massart's constant) of a sample of n scores.
func dkwEps(n int, level float64) float64 { return math.Sqrt(math.Log(4/level) / (2 * float64(n))) }

// ReferenceScores compares the score distributions (all replays with a
// score): the two-sided Kolmogorov–Smirnov test for a difference; for
// equivalence, an upper confidence bound on the Kolmogorov distance
// sup|F − G| ≤ D̂ + ε_ref + ε_rep, with ε_n = sqrt(ln(4/level)/(2n)) from
// the Dvoretzky–Kiefer–Wolfowitz inequality (Massart's constant), each
// sample at level/2.
type ReferenceScores struct {
	Ref []output.Output
	// Looks is as ReferenceLabels'.
	Looks []Look
	memo  *lookMemo
}

// Applies when the stored output has a score and some reference output has one.
func (c ReferenceScores) Applies(s output.Output) bool {
	return s.Score != nil && slices.ContainsFunc(c.Ref, func(o output.Output) bool { return o.Score != nil })
}

// Run implements Check.
func (c ReferenceScores) Run(s output.Output, outs []output.Output, r Rules) (Finding, error) {
	a, b := scoresOf(c.Ref), scoresOf(outs)
	f := Finding{Test: TestResult{Name: "reference_scores", N: ptr(len(a)), Trials: ptr(len(b)),
		Method: "two-sided Kolmogorov-Smirnov test of the replayed scores against the reference scores; Kolmogorov distance with a DKW upper confidence bound"}}
	if len(b) == 0 {
		f.Outcome = Skipped
		f.Test.Skipped = "no replay produced a score"
		return f, nil
	}
	ks, err := stats.KolmogorovSmirnov(a, b, stats.TwoSided, stats.PValueAuto)
	if err != nil {
		return Finding{}, err
	}
	eps := func(n int) float64 { return dkwEps(n, r.Alpha) }
	bound := ks.Statistic + eps(len(a)) + eps(len(b))
	f.Test.Statistic, f.Test.PValue, f.Test.Rejected = ptr(ks.Statistic), ptr(ks.PValue), ptr(ks.PValue <= r.Alpha)
	f.Test.Interval = &Interval{0, bound, 1 - r.Alpha, "DKW bound"}
	head := fmt.Sprintf("scores: Kolmogorov distance %.4f between %d reference scores and %d replayed scores; upper %.4g-confidence bound %.4f", ks.Statistic, len(a), len(b), 1-r.Alpha, bound)
	equivalence(&f, head, ks.PValue, bound, r, func() int {
		left := r.Margin - ks.Statistic - eps(len(a))
		if left <= 0 {
			return 0
		}
		return int(math.Ceil(math.Log(4/r.Alpha) / (2 * left * left) * float64(len(outs)) / float64(len(b))))
	})
	return f, nil
}

// equivalence sets the outcome of a reference check from its difference
// p-value and its distance bound.
func equivalence(f *Finding, head string, p, bound float64, r Rules, runs func() int) {
	switch {
	case p <= r.Alpha:
		f.Outcome = Rejects
		f.Reasons = []string{fmt.Sprintf("%s: the distributions differ (p = %.4g ≤ level %.4g)", head, p, r.Alpha)}
	case bound < r.Margin:
		f.Outcome = Supports
		f.Reasons = []string{fmt.Sprintf("%s < margin %g: equivalent", head, r.Margin)}
	default:
		f.Outcome = Unpowered
		f.Reasons = []string{fmt.Sprintf("%s is not below margin %g: equivalence not shown (p = %.4g)", head, r.Margin, p)}
		f.RunsNeeded = runs()
		if f.RunsNeeded > 0 {
			f.Underpowered = fmt.Sprintf("the distance bound %.4f is not below margin %g; about %d runs would bring it below if the samples stay alike", bound, r.Margin, f.RunsNeeded)
		} else {
			f.Underpowered = fmt.Sprintf("the distance bound %.4f is not below margin %g, and no number of replays can bring it below with these reference outputs", bound, r.Margin)
		}
	}
}

// TotalVariation is the total variation distance between the empirical
// distributions of a and b: half the sum over categories of |p̂_a − p̂_b|,
// in [0, 1]. It is 0 when either sample is empty.
func TotalVariation(a, b []string) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	d := map[string]float64{}
	for _, v := range a {
		d[v] += 1 / float64(len(a))
	}
	for _, v := range b {
		d[v] -= 1 / float64(len(b))
	}
	s := 0.0
	for _, x := range d {
		s += math.Abs(x)
	}
	return s / 2
}
