package verdict

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/stats"
)

// TextExactRate reports how often the fresh-seed runs gave back the stored
// text exactly, with its exact interval. It is not in Checks on its own
// (it never rejects, so it takes no share of alpha): TextConformal reports
// it beside its own test. Sampled text rarely repeats, so
// the rate decides only in one direction: it supports the stored text when
// the interval's lower bound reaches Rules.MinFrequency, and is otherwise
// reported without deciding (TextConformal decides).
type TextExactRate struct{}

// Run is the rate's finding on the stored text s among the replays outs
// (s must have text).
func (TextExactRate) Run(s output.Output, outs []output.Output, r Rules) (Finding, error) {
	n, k := len(outs), 0
	for _, o := range outs {
		if o.Text != nil && *o.Text == *s.Text {
			k++
		}
	}
	lo, hi, err := stats.ClopperPearson(k, n, r.Conf, stats.TwoSided)
	if err != nil {
		return Finding{}, err
	}
	f := Finding{Test: TestResult{
		Name:      "text_exact_rate",
		Method:    "stored text's exact-match rate among the fresh-seed runs, exact (Clopper-Pearson) interval",
		Statistic: ptr(float64(k) / float64(n)),
		Successes: ptr(k), Trials: ptr(n),
		Interval: &Interval{lo, hi, r.Conf, "Clopper-Pearson"},
	}}
	head := fmt.Sprintf("the stored text came back exactly in %d of %d fresh-seed runs; %.0f%% interval [%.4f, %.4f]", k, n, 100*r.Conf, lo, hi)
	if lo >= r.MinFrequency {
		f.Outcome = Supports
		f.Reasons = []string{head}
		return f, nil
	}
	f.Outcome = Skipped
	f.Test.Skipped = "exact repeats are rare for sampled text: the rate is reported, the text distance test decides"
	f.Reasons = []string{head + " (reported only: the text distance test decides)"}
	return f, nil
}

// TextConformal tests whether the stored text is a plausible draw from
// the replays' text distribution: a conformal p-value whose nonconformity
// is the distance to the other texts in the spectrum kernel's feature
// space (character 3-grams: it compares what is said and in which local
// order, not where).
//
// With the stored text x = z_0 and the replays y_1..y_n = z_1..z_n, φ(z)
// the vector of counts of the rune 3-grams of z scaled to unit length
// (a text shorter than 3 runes is one feature: itself) and
// k(a, b) = ⟨φ(a), φ(b)⟩ the cosine-normalized spectrum kernel, the score
// of each member of the pooled bag is one minus its mean kernel similarity
// to its K = min(NeighborK, n) nearest neighbours among the n others (each
// member left out of its own reference set):
//
//	α_i = 1 − (1/K) Σ_{j ∈ NN_K(i)} k(z_i, z_j)      (i = 0..n)
//
// and
//
//	p = #{i ∈ 0..n : α_i ≥ α_0} / (n + 1).
//
// The scores are a symmetric function of the bag, so under the null (the
// stored text is exchangeable with the replays: the same system, the same
// input) P(p ≤ a) ≤ a for every a; ties count against rejection. It
// rejects when p < Rules.Alpha (the check's level) and supports otherwise;
// the smallest possible p is 1/(n+1), so n+1 > 1/Alpha runs are needed to
// reject at all (with fewer the check is Unpowered: it blocks REPRODUCED).
type TextConformal struct{}

// Applies when the stored output has text and no label.
func (TextConformal) Applies(s output.Output) bool { return s.Label == nil && s.Text != nil }

// MaxConformalRunes bounds the texts compared: longer texts are cut to
// their first MaxConformalRunes runes.
const MaxConformalRunes = 1 << 16

// SpectrumN is the n-gram length of the spectrum kernel.
const SpectrumN = 3

// NeighborK is how many nearest neighbours the nonconformity averages.
const NeighborK = 3

// Run implements Check.
func (TextConformal) Run(s output.Output, outs []output.Output, r Rules) (Finding, error) {
	texts := []string{*s.Text}
	for _, o := range outs {
		if o.Text != nil {
			texts = append(texts, *o.Text)
		}
	}
	n := len(texts) - 1
	res := ConformalText(texts)
	f := Finding{Test: TestResult{
		Name:      "text_conformal",
		Method:    "conformal p-value of the stored text among the replays; nonconformity: 1 - mean 3-gram spectrum kernel to the 3 nearest others (leave-one-out); with the stored text's exact-match rate and its Clopper-Pearson interval",
		Statistic: ptr(res.Score), PValue: ptr(res.P), N: ptr(n),
	}}
	rate, err := (TextExactRate{}).Run(s, outs, r)
	if err != nil {
		return Finding{}, err
	}
	f.Test.Successes, f.Test.Trials, f.Test.Interval = rate.Test.Successes, rate.Test.Trials, rate.Test.Interval
	if n == 0 {
		f.Outcome, f.Test.Skipped = Skipped, "no replay produced text"
		return f, nil
	}
	head := fmt.Sprintf("stored text: nonconformity %.4f (replays' median %.4f); conformal p = %d/%d = %.4f", res.Score, res.MedianReplay, res.AtLeast, n+1, res.P)
	switch {
	case res.P < r.Alpha:
		f.Outcome = Rejects
		f.Test.Rejected = ptr(true)
		f.Reasons = []string{head + fmt.Sprintf(" < alpha %g: the stored text is not a plausible replay output", r.Alpha)}
	case 1/float64(n+1) >= r.Alpha:
		// It could not have rejected whatever the texts: no verdict
		// without power (REPRODUCED needs every check able to reject).
		need := int(math.Floor(1/r.Alpha)) + 1
		f.Outcome = Unpowered
		f.Underpowered = fmt.Sprintf("%d replayed texts cannot reject at level %.4g (the smallest conformal p-value is 1/%d); %d can", n, r.Alpha, n+1, need)
		f.RunsNeeded = need
		f.Reasons = []string{head + fmt.Sprintf(": with %d runs the smallest possible p-value 1/%d is not below level %.4g; more runs are needed", n, n+1, r.Alpha)}
	default:
		f.Outcome = Supports
		f.Test.Rejected = ptr(false)
		f.Reasons = []string{head + fmt.Sprintf(" >= alpha %g: the stored text is a plausible replay output", r.Alpha)}
	}
	f.Reasons = append(rate.Reasons, f.Reasons...)
	return f, nil
}

// Conformal is the result of ConformalText.
type Conformal struct {
	// Score is the stored text's nonconformity α_0; MedianReplay the
	// replays' median score.
	Score, MedianReplay float64
	// AtLeast counts the members of the bag (the stored text included)
	// whose score is at least Score; P = AtLeast/(n+1).
	AtLeast int
	P       float64
	// Typical is the index in texts[1:] of the replay with the smallest
	// score (the most typical replay), -1 when there is none.
	Typical int
}

// ConformalText computes the conformal p-value of texts[0] among
// texts[1:] (see TextConformal). With no replays P is 1.
func ConformalText(texts []string) Conformal {
	m := len(texts)
	if m < 2 {
		return Conformal{P: 1, AtLeast: 1, Typical: -1}
	}
	phi := make([]map[string]float64, m)
	for i, t := range texts {
		phi[i] = spectrum(t)
	}
	sims := make([][]float64, m)
	for i := range sims {
		sims[i] = make([]float64, 0, m-1)
	}
	for i := range m {
		for j := i + 1; j < m; j++ {
			k := dot(phi[i], phi[j])
			sims[i] = append(sims[i], k)
			sims[j] = append(sims[j], k)
		}
	}
	kn := min(NeighborK, m-1)
	score := make([]float64, m)
	for i, s := range sims {
		slices.Sort(s)
		var top float64
		for _, x := range s[len(s)-kn:] {
			top += x
		}
		score[i] = 1 - top/float64(kn)
	}
	c := Conformal{Score: score[0], Typical: -1}
	replays := make([]float64, 0, m-1)
	const eps = 1e-12 // equal scores computed in another order are ties
	for i := range m {
		a := score[i]
		if a >= c.Score-eps {
			c.AtLeast++
		}
		if i > 0 {
			replays = append(replays, a)
			if c.Typical < 0 || a < replays[c.Typical] {
				c.Typical = i - 1
			}
		}
	}
	c.P = float64(c.AtLeast) / float64(m)
	c.MedianReplay = median(replays)
	return c
}

// spectrum is spectrumFeatures of t's first MaxConformalRunes runes.
func spectrum(t string) map[string]float64 {
	if r := []rune(t); len(r) > MaxConformalRunes {
		t = string(r[:MaxConformalRunes])
	}
	return spectrumFeatures(t)
}

func dot(a, b map[string]float64) float64 {
	if len(a) > len(b) {
		a, b = b, a
	}
	var s float64
	for k, x := range a {
		s += x * b[k]
	}
	return s
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// NormalizedEditDistance (reports: how far the pinned-seed replay is from
// the stored text) is the Levenshtein distance of a and b (runes;
// insertions, deletions and substitutions cost 1) divided by the longer
// length: 0 for equal texts, 1 for texts with nothing in common. Two empty
// texts have distance 0.
func NormalizedEditDistance(a, b []rune) float64 {
	if len(a) < len(b) {
		a, b = b, a
	}
	if len(a) == 0 {
		return 0
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return float64(prev[len(b)]) / float64(len(a))
}

// Divergence is where two texts first differ.
type Divergence struct {
	// Char is the index of the first differing rune, Token that of the
	// first differing whitespace-separated token; both -1 for equal texts.
	Char  int `json:"char"`
	Token int `json:"token"`
	// Stored and Replayed are short excerpts around the divergence.
	Stored   string `json:"stored"`
	Replayed string `json:"replayed"`
}

// FirstDivergence locates the first difference between the stored text
// and a replayed one (the pinned seed's) and cuts excerpts of at most 40
// runes each side of it.
func FirstDivergence(stored, replayed string) Divergence {
	if stored == replayed {
		return Divergence{Char: -1, Token: -1}
	}
	a, b := []rune(stored), []rune(replayed)
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	ta, tb := strings.Fields(stored), strings.Fields(replayed)
	t := 0
	for t < len(ta) && t < len(tb) && ta[t] == tb[t] {
		t++
	}
	cut := func(r []rune) string {
		lo, hi := max(0, i-40), min(len(r), i+40)
		s := string(r[lo:hi])
		if lo > 0 {
			s = "…" + s
		}
		if hi < len(r) {
			s += "…"
		}
		return s
	}
	return Divergence{Char: i, Token: t, Stored: cut(a), Replayed: cut(b)}
}

// TextsToReject is the fewest replayed texts n among which the conformal
// p-value can fall below the level a: 1/(n+1) < a.
func TextsToReject(a float64) int {
	n := max(1, int(math.Floor(1/a))-1)
	for 1/float64(n+1) >= a {
		n++
	}
	return n
}

// RunSequential implements SequentialCheck: the conformal p-value is taken
// once, among the first TextsToReject(level) replayed texts (the fewest that
// give it power); before, the check is unpowered. However often it is
// called, an honest record is rejected with probability at most its level.
func (c TextConformal) RunSequential(s output.Output, outs []output.Output, r Rules) (Finding, error) {
	need := TextsToReject(r.Alpha)
	seen := 0
	for i, o := range outs {
		if o.Text != nil {
			if seen++; seen == need {
				outs = outs[:i+1]
				break
			}
		}
	}
	f, err := c.Run(s, outs, r)
	f.Test.Method += "; sequential: taken once, among the first replayed texts that give it power"
	if seen < need {
		f.RejectLow = need
	}
	return f, err
}
