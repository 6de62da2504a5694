package verdict

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

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
// is how much of a text's wording (its character 3-grams: what is said
// and in which local order, not where) the other texts of the bag do not
// share.
//
// With the stored text x = z_0 and the replays y_1..y_n = z_1..z_n, each
// compared as CutText cuts it, c_i(g) the number of occurrences of the
// rune 3-gram g in z_i (a text shorter than 3 runes is one feature:
// itself), L_i = Σ_g c_i(g), and df(g) = #{j ∈ 0..n : c_j(g) > 0} the
// number of texts of the bag that hold g (z_i among them), the score of
// each member is its mean inverse document frequency
//
//	α_i = (1/L_i) Σ_g c_i(g) / df(g)      (i = 0..n)
//
// (1 for a text none of whose 3-grams another text holds; about 1/(n+1)
// for a text made of 3-grams every text holds), and
//
//	p = #{i ∈ 0..n : α_i ≥ α_0} / (n + 1).
//
// 3-grams are hashed into TextBuckets buckets (FNV-64a, then SplitMix64's
// finalizer); df counts texts by bucket, so two 3-grams that share a
// bucket count as one (probability 2^-20 a pair: it only makes texts look
// more typical).
//
// Validity. α_i = A(z_i, {z_0..z_n}) for one function A of a text and the
// bag as a multiset: df is a count over the bag, an integer, so it does
// not depend on the order of the texts, and α_i is summed in an order
// fixed by z_i alone. Permuting z_0..z_n permutes the scores and changes
// none of them, bit for bit, so under the null (the stored text
// exchangeable with the replays: the same system, the same input) the
// rank of α_0 among α_0..α_n is uniform up to ties and P(p ≤ a) ≤ a for
// every a; ties count against rejection.
//
// Cost. Two passes over the texts (one counting df, one scoring): time
// linear in their total length, memory the scores and a fixed scratch
// (textScratch), never a matrix or a vector a text. (Until issue 26 the
// score was one minus the mean spectrum kernel to the 3 nearest others,
// quadratic in n; the tests' power figures are higher with this one:
// 97 of 100 texts of another corpus rejected among 149 replays, against
// the 35 the old score was required to reach.)
//
// Run (a fixed replay) rejects when p ≤ Rules.Alpha (the check's level).
// It supports only when it has resolution, n ≥ TextsForResolution(level)
// replayed texts (1/(n+1) ≤ level/TextResolution: 499 at level 0.01), and
// is unpowered with fewer (it blocks REPRODUCED): with 1/(n+1) just under
// the level it could reject only the single most atypical text of the bag,
// and a text of a different system ranked second would pass as plausible.
// RunSequential is the rule of a sequential replay: TextLooks looks at
// fixed numbers of texts, each at level/TextLooks, with an ambiguous zone
// between them.
type TextConformal struct{}

// Applies when the stored output has text and no label.
func (TextConformal) Applies(s output.Output) bool { return s.Label == nil && s.Text != nil }

// MaxConformalBytes bounds the texts compared: a longer text is cut to
// its first MaxConformalBytes bytes, at a rune boundary (CutText), so a
// text the check holds is at most 64 KiB whatever its runes' width.
const MaxConformalBytes = 64 << 10

// CutText is what the text checks compare of t: t itself when it has at
// most MaxConformalBytes bytes (whole is true), else its longest prefix of
// at most MaxConformalBytes bytes that ends at a rune boundary.
func CutText(t string) (cut string, whole bool) {
	if len(t) <= MaxConformalBytes {
		return t, true
	}
	i := MaxConformalBytes
	for i > 0 && !utf8.RuneStart(t[i]) {
		i--
	}
	return t[:i], false
}

// SpectrumN is the n-gram length of the spectrum kernel.
const SpectrumN = 3

// textMethod is the text check's method, as reports state it.
const textMethod = "conformal p-value of the stored text among the replays; nonconformity: the mean inverse document frequency of its character 3-grams in the bag (1/(number of texts holding each)); with the stored text's exact-match rate and its Clopper-Pearson interval"

// Run implements Check.
func (TextConformal) Run(s output.Output, outs []output.Output, r Rules) (Finding, error) {
	texts := replayTexts(outs)
	n := len(texts)
	need := TextsForResolution(r.Alpha)
	f := Finding{Test: TestResult{Name: "text_conformal", N: ptr(n),
		Method: fmt.Sprintf("%s; rejects when p ≤ level, decides only among n texts with 1/(n+1) ≤ level/%d", textMethod, TextResolution)}}
	rate, err := (TextExactRate{}).Run(s, outs, r)
	if err != nil {
		return Finding{}, err
	}
	f.Test.Successes, f.Test.Trials, f.Test.Interval = rate.Test.Successes, rate.Test.Trials, rate.Test.Interval
	if n == 0 {
		f.Outcome, f.Test.Skipped = Skipped, "no replay produced text"
		return f, nil
	}
	res := ConformalText(append([]string{*s.Text}, texts...))
	f.Test.Statistic, f.Test.PValue = ptr(res.Score), ptr(res.P)
	head := fmt.Sprintf("stored text: nonconformity %.4f (replays' median %.4f); conformal p = %d/%d = %.4f", res.Score, res.MedianReplay, res.AtLeast, n+1, res.P)
	switch {
	case rejectsAt(res.AtLeast, n, r.Alpha):
		f.Outcome = Rejects
		f.Test.Rejected = ptr(true)
		f.Reasons = []string{head + fmt.Sprintf(" ≤ level %.4g: the stored text is not a plausible replay output", r.Alpha)}
	case n < need:
		// It could reject only the few most atypical texts of the bag:
		// no verdict without the power to see a different system.
		f.Outcome = Unpowered
		f.Underpowered = fmt.Sprintf("%d replayed texts are too few for the text check at level %.4g: it decides among n texts with 1/(n+1) ≤ level/%d; %d can", n, r.Alpha, TextResolution, need)
		f.RunsNeeded = runsFor(need, n, len(outs))
		f.Reasons = []string{head + fmt.Sprintf(": with %d texts the smallest possible p-value 1/%d is not at most level/%d = %.4g; %d texts are needed", n, n+1, TextResolution, r.Alpha/TextResolution, need)}
	default:
		f.Outcome = Supports
		f.Test.Rejected = ptr(false)
		f.Reasons = []string{head + fmt.Sprintf(" > level %.4g: the stored text is a plausible replay output", r.Alpha)}
	}
	f.Reasons = append(rate.Reasons, f.Reasons...)
	return f, nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
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

// Constants of the text check's decision rule (see TextConformal).
const (
	// TextResolution: the text check decides (supports) only among n
	// replayed texts with 1/(n+1) ≤ level/TextResolution, where level is
	// the check's share of alpha; with fewer it is unpowered. Below it the
	// check could reject only the few most atypical texts of the bag (at
	// 1/(n+1) just under the level, only the single most atypical one),
	// so a text of a different system that is merely second most atypical
	// would be settled as a plausible replay.
	TextResolution = 5
	// TextLooks is the number of looks of the sequential text check, at
	// fixed numbers of texts (TextLookSizes), each at level/TextLooks
	// (Bonferroni: valid under any dependence between the looks).
	TextLooks = 2
	// TextAmbiguity: a sequential look whose p-value is above its look's
	// level but at most TextAmbiguity × the check's level is ambiguous: the
	// check goes on to the next look instead of settling.
	TextAmbiguity = 3
)

// TextsForResolution is the fewest replayed texts n with 1/(n+1) ≤
// a/TextResolution (a the check's level): the fewest among which the
// text check decides. At the default alpha 0.01 it is 499.
func TextsForResolution(a float64) int {
	n := max(1, int(math.Ceil(TextResolution/a))-2)
	for !resolves(n, a) {
		n++
	}
	return n
}

// resolves reports whether 1/(n+1) ≤ a/TextResolution, i.e.
// (n+1)·a ≥ TextResolution, up to rounding (0.01·500 is 5 up to one ulp).
func resolves(n int, a float64) bool {
	return float64(n+1)*a >= TextResolution*(1-1e-12)
}

// TextLookSizes are the numbers of replayed texts at which the sequential
// text check looks, fixed before any run: n₁ = TextsForResolution(a), and
// each next look at twice as many texts plus one ((n+1) doubles): 499 and
// 999 at level 0.01, 999 and 1999 at 0.005.
func TextLookSizes(a float64) []int {
	sizes := []int{TextsForResolution(a)}
	for len(sizes) < TextLooks {
		sizes = append(sizes, 2*(sizes[len(sizes)-1]+1)-1)
	}
	return sizes
}

// rejectsAt reports whether the conformal p-value AtLeast/(n+1) is at most
// the level a, up to rounding.
func rejectsAt(atLeast, n int, a float64) bool {
	return float64(atLeast) <= float64(n+1)*a*(1+1e-12)
}

// RunSequential implements SequentialCheck. The check looks at the fixed
// numbers of replayed texts TextLookSizes(level) (the first replayed texts
// of the stream, in run order), TextLooks looks each at level/TextLooks:
// a look rejects when its conformal p-value is at most that; it supports
// when the p-value is above TextAmbiguity × the check's level, or at the
// last look when it does not reject; in between (the ambiguous zone) the
// check goes on to the next look. Before the first look, and while it
// waits for the next, it is unpowered (with the runs that look needs).
// The probability that an honest record is rejected at any look is at
// most the sum of the looks' levels, the check's level (Bonferroni, valid
// under any dependence between looks), however often it is called.
func (c TextConformal) RunSequential(s output.Output, outs []output.Output, r Rules) (Finding, error) {
	texts := replayTexts(outs)
	sizes := TextLookSizes(r.Alpha)
	look := r.Alpha / TextLooks
	rate, err := (TextExactRate{}).Run(s, outs, r)
	if err != nil {
		return Finding{}, err
	}
	method := fmt.Sprintf("%s; sequential: %d looks fixed before any run, at the first %s replayed texts (1/(n+1) ≤ level/%d at the first), each at level/%d (Bonferroni over the looks); "+
		"a look rejects when p ≤ level/%d, supports when p > %d × level (or at the last look), and goes on to the next look in between",
		textMethod, TextLooks, joinInts(sizes), TextResolution, TextLooks, TextLooks, TextAmbiguity)
	f := Finding{Test: TestResult{Name: "text_conformal", Method: method}}
	f.Test.Successes, f.Test.Trials, f.Test.Interval = rate.Test.Successes, rate.Test.Trials, rate.Test.Interval
	var done []string // what the earlier looks found
	for j, nj := range sizes {
		if len(texts) < nj {
			f.Outcome = Unpowered
			f.RunsNeeded = runsFor(nj, len(texts), len(outs))
			f.RunsNeededLow = f.RunsNeeded
			f.RejectLow = f.RunsNeeded
			f.Underpowered = fmt.Sprintf("%d replayed texts: the text check's look %d of %d is at %d texts (level %.4g)", len(texts), j+1, TextLooks, nj, look)
			if j == 0 {
				f.Underpowered += fmt.Sprintf(", the fewest with 1/(n+1) ≤ level/%d = %.4g", TextResolution, r.Alpha/TextResolution)
			}
			f.Reasons = append(append(rate.Reasons, done...), fmt.Sprintf("the text check looks at the first %d replayed texts; %d so far", nj, len(texts)))
			return f, nil
		}
		res := ConformalText(append([]string{*s.Text}, texts[:nj]...))
		f.Test.Statistic, f.Test.PValue, f.Test.N = ptr(res.Score), ptr(res.P), ptr(nj)
		head := fmt.Sprintf("look %d of %d, the first %d replayed texts: stored text nonconformity %.4f (replays' median %.4f); conformal p = %d/%d = %.4f",
			j+1, TextLooks, nj, res.Score, res.MedianReplay, res.AtLeast, nj+1, res.P)
		switch {
		case rejectsAt(res.AtLeast, nj, look):
			f.Outcome, f.Test.Rejected = Rejects, ptr(true)
			f.Reasons = append(append(rate.Reasons, done...), head+fmt.Sprintf(" ≤ level %.4g: the stored text is not a plausible replay output", look))
			return f, nil
		case j == len(sizes)-1 || res.P > TextAmbiguity*r.Alpha:
			f.Outcome, f.Test.Rejected = Supports, ptr(false)
			f.Reasons = append(append(rate.Reasons, done...), head+fmt.Sprintf(" > level %.4g: the stored text is a plausible replay output", look))
			return f, nil
		}
		done = append(done, head+fmt.Sprintf(": ambiguous (above level %.4g, at most %d × %.4g), so the check looks again at %d texts", look, TextAmbiguity, r.Alpha, sizes[j+1]))
	}
	panic("unreachable")
}

// replayTexts is the texts of outs, in run order.
func replayTexts(outs []output.Output) []string {
	return present(outs, func(o output.Output) *string { return o.Text })
}

// runsFor is about how many runs give need texts when texts of runs gave
// one.
func runsFor(need, texts, runs int) int {
	if texts == 0 || texts == runs {
		return need
	}
	return int(math.Ceil(float64(need) * float64(runs) / float64(texts)))
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, " and ")
}
