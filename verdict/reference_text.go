package verdict

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/stats"
)

// ReferenceTexts compares the text distributions of the reference outputs
// and the replays in the feature space of the cosine-normalized character
// 3-gram spectrum kernel k (stats.SpectrumKernel with n = SpectrumN; φ(t)
// is the unit vector of the rune 3-gram counts of t, a text shorter than 3
// runes is the single feature "t", so k(t, t) = 1 and 0 ≤ k ≤ 1).
//
// Difference: the MMD² permutation test (unbiased MMD²_u,
// stats.MMDPermutationTest) on at most MaxReferenceTexts texts of each side
// (evenly spaced, so deterministic: the permutation test costs O(B·n²)),
// with enough permutations that p can reach the level (1/(B+1) ≤ level/2,
// from 1999 to 49999) and a permutation generator seeded from the stored
// text and the sample sizes, so a replay is repeatable.
//
// Equivalence: the distance is MMD² = ‖μ_ref − μ_rep‖², the squared
// distance between the kernel mean embeddings μ = E φ(t), which lies in
// [0, 2]. On all texts (linear time: the embeddings are sparse vectors),
// with MMD̂ = ‖μ̂_ref − μ̂_rep‖ (the biased, V-statistic estimate),
//
//	MMD² ≤ (MMD̂ + ε_ref + ε_rep)²,   ε_n = (1 + sqrt(2·ln(2/level)))/sqrt(n),
//
// with probability ≥ 1 − level: ‖μ̂ − μ‖ has mean ≤ 1/sqrt(n) (its second
// moment is (1 − ‖μ‖²)/n) and changes by at most 2/n with one text, so by
// McDiarmid's inequality it exceeds ε_n with probability ≤ level/2 (Gretton
// et al. 2012, JMLR 13, Theorem 7); the triangle inequality joins both
// samples.
type ReferenceTexts struct {
	Ref []output.Output
	// Looks is as ReferenceLabels'.
	Looks []Look
	memo  *lookMemo
}

// MaxReferenceTexts is the most texts of each side the MMD² permutation
// test uses (the equivalence bound uses all).
const MaxReferenceTexts = 200

// Applies when the stored output has text and some reference output has one.
func (c ReferenceTexts) Applies(s output.Output) bool {
	return s.Text != nil && slices.ContainsFunc(c.Ref, func(o output.Output) bool { return o.Text != nil })
}

// RunSequential implements SequentialCheck (see ReferenceLooks).
func (c ReferenceTexts) RunSequential(s output.Output, outs []output.Output, r Rules) (Finding, error) {
	return lookRun(c.Looks, c.memo, "reference_texts", c.Run, s, outs, r)
}

// Run implements Check.
func (c ReferenceTexts) Run(s output.Output, outs []output.Output, r Rules) (Finding, error) {
	// Both sides are cut by CutText, as replays reach the text checks: a
	// long reference text must not differ from its replay only by being
	// whole.
	a, b := textsOf(c.Ref), textsOf(outs)
	f := Finding{Test: TestResult{Name: "reference_texts", N: ptr(len(a)), Trials: ptr(len(b)),
		Method: fmt.Sprintf("MMD² permutation test (cosine-normalized character %d-gram spectrum kernel, at most %d texts a side) of the replayed texts against the reference texts; MMD² between the kernel mean embeddings with a McDiarmid upper confidence bound", SpectrumN, MaxReferenceTexts)}}
	if len(b) == 0 {
		f.Outcome = Skipped
		f.Test.Skipped = "no replay produced a text"
		return f, nil
	}
	t, err := testTexts(s, a, b, r.Alpha)
	if err != nil {
		return Finding{}, err
	}
	t.record(&f, r.Alpha)
	head := fmt.Sprintf("texts: MMD² %.4f (%d-gram spectrum kernel) between %d reference texts and %d replayed texts; upper %.4g-confidence bound %.4f", t.d*t.d, SpectrumN, len(a), len(b), 1-r.Alpha, t.bound)
	equivalence(&f, head, t.p, t.bound, r, func() int {
		left := math.Sqrt(r.Margin) - t.d - t.eps(len(a))
		if left <= 0 {
			return 0
		}
		return int(math.Ceil(t.cn * t.cn / (left * left) * float64(len(outs)) / float64(len(b))))
	})
	return f, nil
}

// textsOf is the texts of outs, each cut by CutText.
func textsOf(outs []output.Output) []string {
	v := replayTexts(outs)
	for i, t := range v {
		v[i], _ = CutText(t)
	}
	return v
}

// textTest is the outcome of testTexts: the MMD² permutation test and the
// McDiarmid bound of two samples of texts.
type textTest struct {
	d     float64 // MeanEmbeddingDistance of the two samples
	p     float64 // the permutation test's p-value (1 with too few texts)
	bound float64 // upper confidence bound on MMD², at most 2
	cn    float64 // 1 + sqrt(2·ln(2/level)): eps(n) = cn/sqrt(n)
}

// testTexts runs the MMD² permutation test of the texts a against b (at
// most MaxReferenceTexts of each, evenly spaced, with resamples(level)
// permutations seeded from the stored text and the sample sizes) and the
// McDiarmid bound on MMD² over all texts, at level (see ReferenceTexts).
// Both samples must be non-empty.
func testTexts(stored output.Output, a, b []string, level float64) (textTest, error) {
	k, err := stats.SpectrumKernel(evenly(a, MaxReferenceTexts), evenly(b, MaxReferenceTexts), SpectrumN)
	if err != nil {
		return textTest{}, err
	}
	h := fnv.New64a()
	if stored.Text != nil {
		h.Write([]byte(*stored.Text))
	}
	rng := rand.New(rand.NewPCG(h.Sum64(), uint64(len(a))<<32|uint64(len(b))))
	t := textTest{p: 1, d: MeanEmbeddingDistance(a, b), cn: 1 + math.Sqrt(2*math.Log(2/level))}
	if res, err := stats.MMDPermutationTest(k, resamples(level), rng); err == nil {
		t.p = res.PValue
	} else if !errors.Is(err, stats.ErrSampleSize) {
		return textTest{}, err
	}
	t.bound = min(2, math.Pow(t.d+t.eps(len(a))+t.eps(len(b)), 2))
	return t, nil
}

// eps is the McDiarmid deviation bound ε_n of a sample of n texts.
func (t textTest) eps(n int) float64 { return t.cn / math.Sqrt(float64(n)) }

// record sets the statistic, p-value, rejection and interval of f's test.
func (t textTest) record(f *Finding, level float64) {
	f.Test.Statistic, f.Test.PValue, f.Test.Rejected = ptr(t.d*t.d), ptr(t.p), ptr(t.p <= level)
	f.Test.Interval = &Interval{0, t.bound, 1 - level, "McDiarmid bound on MMD²"}
}

// evenly returns at most m of v, evenly spaced (all of v when it has at
// most m).
func evenly(v []string, m int) []string {
	if len(v) <= m {
		return v
	}
	w := make([]string, m)
	for i := range w {
		w[i] = v[i*len(v)/m]
	}
	return w
}

// spectrumFeatures is φ(t) of stats.SpectrumKernel(·, ·, SpectrumN): the
// unit vector of the rune SpectrumN-gram counts of t; a text shorter than
// SpectrumN runes (the empty text too) is the single feature "t".
func spectrumFeatures(t string) map[string]float64 {
	r := []rune(t)
	v := map[string]float64{}
	if len(r) < SpectrumN {
		v["\x00"+string(r)] = 1
		return v
	}
	for i := 0; i+SpectrumN <= len(r); i++ {
		v[string(r[i:i+SpectrumN])]++
	}
	norm := 0.0
	for _, x := range v {
		norm += x * x // integer counts: exact in any order
	}
	norm = math.Sqrt(norm)
	for g := range v {
		v[g] /= norm
	}
	return v
}

// MeanEmbeddingDistance is ‖μ̂_a − μ̂_b‖, the distance between the mean
// spectrum-kernel embeddings of the texts a and b (the square root of the
// biased MMD² V-statistic), in [0, √2]; 0 when either is empty.
func MeanEmbeddingDistance(a, b []string) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	diff := map[string]float64{}
	for _, t := range a {
		for g, x := range spectrumFeatures(t) {
			diff[g] += x / float64(len(a))
		}
	}
	for _, t := range b {
		for g, x := range spectrumFeatures(t) {
			diff[g] -= x / float64(len(b))
		}
	}
	// Summed in the n-grams' order, so the value does not depend on the
	// map's iteration order.
	grams := make([]string, 0, len(diff))
	for g := range diff {
		grams = append(grams, g)
	}
	slices.Sort(grams)
	s := 0.0
	for _, g := range grams {
		s += diff[g] * diff[g]
	}
	return math.Sqrt(s)
}
