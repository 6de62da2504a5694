package verdict

import (
	"fmt"
	"math"

	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/stats"
)

// LabelFrequency tests a stored label: its frequency k/N among the replays.
// Its rejection is the exact one-sided binomial p-value of H0: the label's
// frequency is at least Rules.MinFrequency, P(X ≤ k) for X ~ Bin(N,
// MinFrequency) (R: binom.test(k, N, m, "less")); it rejects when that is at
// most its level Rules.Alpha. It supports the label when the Clopper–Pearson
// interval's lower bound (at Rules.Conf) is at least MinFrequency and N is
// enough for 0 of N to have been rejected (RunsToRejectNever); otherwise it
// is undecided, or unpowered when only N is short.
type LabelFrequency struct{}

// Applies when the stored output has a label.
func (LabelFrequency) Applies(s output.Output) bool { return s.Label != nil }

// Run implements Check.
func (LabelFrequency) Run(s output.Output, outs []output.Output, r Rules) (Finding, error) {
	return frequency(*s.Label, outs, r)
}

// RunSequential implements SequentialCheck: the rejection test is made once,
// on the first RunsToRejectNever runs, and settled as soon as it cannot
// reject; the label supports the stored one when its anytime-valid
// confidence sequence lies at or above the minimum frequency (see
// curtail.go). However often it is called, its false-alarm rate stays at
// its level.
func (LabelFrequency) RunSequential(s output.Output, outs []output.Output, r Rules) (Finding, error) {
	return frequencySeq(*s.Label, outs, r)
}

// labelCounts counts the replays' labels (a replay without one as
// "<none>"), how many of them are want (k), and how many of the first
// `first` runs are (kFirst).
func labelCounts(want string, outs []output.Output, first int) (counts map[string]int, k, kFirst int) {
	counts = map[string]int{}
	for i, o := range outs {
		if o.Label == nil {
			counts["<none>"]++
			continue
		}
		counts[*o.Label]++
		if *o.Label == want {
			k++
			if i < first {
				kFirst++
			}
		}
	}
	return counts, k, kFirst
}

// frequency is the label frequency check of a fixed replay.
func frequency(want string, outs []output.Output, r Rules) (Finding, error) {
	n := len(outs)
	need := RunsToRejectNever(r)
	counts, k, _ := labelCounts(want, outs, n)
	kTest, nTest := k, n
	lo, hi, err := stats.ClopperPearson(k, n, r.Conf, stats.TwoSided)
	if err != nil {
		return Finding{}, err
	}
	bt, err := stats.BinomTest(kTest, nTest, r.MinFrequency, stats.Less, r.Conf)
	if err != nil {
		return Finding{}, err
	}
	p := bt.PValue
	powered := n >= need
	rejected := powered && p <= r.Alpha
	method := "stored value's frequency among the replays: exact one-sided binomial p-value of H0 frequency ≥ min frequency; exact (Clopper-Pearson) interval"
	test, err := frequencyTest(method, k, n, p, Interval{lo, hi, r.Conf, "Clopper-Pearson"}, rejected, r)
	if err != nil {
		return Finding{}, err
	}
	f := Finding{Counts: counts, Test: test}
	head := fmt.Sprintf("stored label %q came back in %d of %d runs; %.0f%% interval [%.4f, %.4f]", want, k, n, 100*r.Conf, lo, hi)
	switch {
	case rejected:
		f.Outcome = Rejects
		f.Reasons = []string{frequencyRejects(head, p, kTest, nTest, r)}
	case lo >= r.MinFrequency && powered:
		f.Outcome = Supports
		f.Reasons = []string{fmt.Sprintf("%s lies at or above the minimum frequency %g", head, r.MinFrequency)}
	case lo >= r.MinFrequency:
		f.Outcome = Unpowered
		f.Reasons = []string{fmt.Sprintf("%s lies at or above the minimum frequency %g", head, r.MinFrequency)}
	default:
		f.Outcome = Undecided
		f.Reasons = []string{fmt.Sprintf("%s straddles the minimum frequency %g", head, r.MinFrequency)}
		if k == 0 && !powered {
			f.Reasons = append(f.Reasons, fmt.Sprintf("with no run reproducing it, at least %d runs (-n %d) are needed to call it diverged", need, need))
		}
	}
	if !powered {
		f.Underpowered = fmt.Sprintf("%d runs cannot reject at level %.4g: even 0 of %d has p = %.4g; %d runs can", n, r.Alpha, n, math.Pow(1-r.MinFrequency, float64(n)), need)
		f.RunsNeeded = need
	}
	return f, nil
}

// frequencyTest is a label frequency check's TestResult: the stored label
// came back in k of n runs, p is the binomial test's p-value, iv the
// check's interval for the frequency; the Wilson interval at Rules.Conf is
// added beside it.
func frequencyTest(method string, k, n int, p float64, iv Interval, rejected bool, r Rules) (TestResult, error) {
	wlo, whi, err := stats.Wilson(k, n, r.Conf, stats.TwoSided)
	if err != nil {
		return TestResult{}, err
	}
	return TestResult{
		Name:      "label_frequency",
		Method:    method,
		Statistic: ptr(float64(k) / float64(n)),
		PValue:    ptr(p),
		Successes: ptr(k), Trials: ptr(n),
		Interval: &iv,
		Wilson:   &Interval{wlo, whi, r.Conf, "Wilson"},
		Rejected: ptr(rejected),
	}, nil
}

// frequencyRejects is the reason a label frequency check rejects: head
// (what came back), then the binomial p-value on kTest of the first nTest
// runs against the level.
func frequencyRejects(head string, p float64, kTest, nTest int, r Rules) string {
	return fmt.Sprintf("%s: its frequency is below the minimum frequency %g (binomial p = %.4g ≤ level %.4g, %d of the first %d runs)", head, r.MinFrequency, p, r.Alpha, kTest, nTest)
}

// RunsToRejectNever is the smallest N at which 0 of N rejects the stored
// value at level a = Rules.Alpha (the check's level) against the minimum
// frequency m: (1−m)^N ≤ a, N = ⌈ln a / ln(1−m)⌉. Below it the frequency
// check cannot reject and is underpowered.
func RunsToRejectNever(r Rules) int {
	n := int(math.Ceil(math.Log(r.Alpha) / math.Log1p(-r.MinFrequency)))
	for n > 1 && math.Pow(1-r.MinFrequency, float64(n-1)) <= r.Alpha {
		n--
	}
	for math.Pow(1-r.MinFrequency, float64(n)) > r.Alpha {
		n++
	}
	return n
}

// ScoresToReject is the smallest number m of replayed scores among which the
// rank p-value can reach the level a: 2/(m+1) ≤ a. With fewer the score check
// cannot reject and is underpowered.
func ScoresToReject(a float64) int {
	m := max(1, int(math.Ceil(2/a-1))-1)
	for 2/float64(m+1) > a {
		m++
	}
	return m
}

// ScoreRank tests a stored score by its two-sided conformal rank p-value
// among the replayed scores (of replays with the stored label, when there is
// one): it rejects when p ≤ Rules.Alpha (its level); it supports the score
// when not rejected and there were at least ScoresToReject(level) replayed
// scores, and is unpowered with fewer (it could not have rejected); with no
// such replay it is skipped.
type ScoreRank struct{}

// Applies when the stored output has a score.
func (ScoreRank) Applies(s output.Output) bool { return s.Score != nil }

// Run implements Check.
func (ScoreRank) Run(s output.Output, outs []output.Output, r Rules) (Finding, error) {
	return scoreRank(s, outs, r)
}

// RunSequential implements SequentialCheck: the rank p-value is taken once,
// among the first ScoresToReject(level) replayed scores (the smallest number
// that gives it power), and settled as soon as it cannot reject (see
// curtail.go), so however often it is called its false-alarm rate stays at
// its level.
func (ScoreRank) RunSequential(s output.Output, outs []output.Output, r Rules) (Finding, error) {
	return scoreRankSeq(s, outs, r)
}

func scoreRank(s output.Output, outs []output.Output, r Rules) (Finding, error) {
	need := ScoresToReject(r.Alpha)
	ref := sameLabelScores(s, outs)
	method := "statistic: mid-rank of the stored score among replays with the same label; two-sided conformal rank p-value of the stored score among replays with the same label: 2·min((1+#{s≤x}), (1+#{s≥x}))/(m+1)"
	f := Finding{Test: TestResult{Name: "score_rank", Method: method, N: ptr(len(ref))}}
	runsNeeded := func() int {
		if len(ref) == 0 {
			return 0
		}
		return int(math.Ceil(float64(need) * float64(len(outs)) / float64(len(ref))))
	}
	if len(ref) < need {
		if len(ref) > 0 {
			// the share of runs that give a usable score is at most hi
			// with 99% confidence: fewer than need/hi runs cannot do.
			_, hi, err := stats.ClopperPearson(len(ref), len(outs), 0.99, stats.Less)
			if err != nil {
				return Finding{}, err
			}
			f.RunsNeededLow = int(math.Ceil(float64(need) / hi))
		}
		f.Underpowered = fmt.Sprintf("%d replayed scores with the stored label cannot reject at level %.4g (the smallest rank p-value is 2/(m+1) = %.4g); %d can", len(ref), r.Alpha, min(1, 2/float64(len(ref)+1)), need)
		if len(ref) == 0 {
			f.Underpowered = fmt.Sprintf("no replay with the stored label produced a score; %d are needed to reject at level %.4g", need, r.Alpha)
		}
		f.RunsNeeded = runsNeeded()
	}
	if len(ref) == 0 {
		f.Outcome = Skipped
		f.Test.Skipped = "no replay produced a score with the stored label"
		return f, nil
	}
	x := *s.Score
	p := RankPValue(x, ref)
	f.Test.Statistic = ptr(midRank(x, ref))
	f.Test.PValue = ptr(p)
	f.Test.Rejected = ptr(p <= r.Alpha)
	switch {
	case p <= r.Alpha:
		f.Outcome = Rejects
		f.Reasons = []string{fmt.Sprintf("stored score %g is rejected among %d replayed scores (p = %.4g ≤ level %.4g)", x, len(ref), p, r.Alpha)}
	case len(ref) < need:
		f.Outcome = Unpowered
		f.Reasons = []string{fmt.Sprintf("stored score %g is not rejected among %d replayed scores (p = %.4g), but %d scores could not have rejected it at level %.4g", x, len(ref), p, len(ref), r.Alpha)}
	default:
		f.Outcome = Supports
		f.Reasons = []string{fmt.Sprintf("stored score %g is not rejected among %d replayed scores (p = %.4g > level %.4g)", x, len(ref), p, r.Alpha)}
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

// sameLabelScores is the scores of the replays whose label is the stored
// one (all scores when the stored output has no label), in run order.
func sameLabelScores(s output.Output, outs []output.Output) []float64 {
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
	return ref
}
