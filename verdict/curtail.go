package verdict

import (
	"fmt"
	"math"

	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/stats"
)

// The sequential forms of the label frequency and score rank checks
// make the same rejection test as a fixed replay of the fewest runs that
// give it power (RunsToRejectNever, ScoresToReject), on the first runs of
// the stream, taken once; so however often they are asked, an honest record
// is rejected with probability at most the check's level. They stop asking
// as soon as that test's outcome is settled (curtailment): when the runs so
// far already make a rejection impossible whatever the later runs bring, the
// test has not rejected, exactly as the fixed test on those runs would have
// said; no error rate changes. A label supports the stored one only when the
// anytime-valid confidence sequence of its frequency (stats.BetaBinomialCS at
// Rules.Conf) lies at or above Rules.MinFrequency, so looking after every
// batch does not make a rare label look common.

// FutilityConf is the one-sided confidence of the optimistic frequency a
// sequential label check assumes when it judges whether the run cap can
// still show the stored label's frequency: the upper Clopper–Pearson bound
// at this confidence. A futility stop only turns a verdict the cap might
// have reached into INCONCLUSIVE, never into a wrong one.
const FutilityConf = 0.8

// MinScoresForFutility is how many replayed scores with the stored label the
// stored score must lie outside of before a sequential score check says the
// cap cannot settle it: outside 19 of them, its rank p-value is at most 0.1.
const MinScoresForFutility = 19

// criticalCount is the largest count c with P(Bin(need, m) ≤ c) ≤ level
// (−1 when none): the fixed label test on need runs rejects iff the stored
// value came back at most c times.
func criticalCount(need int, r Rules) (int, error) {
	c := -1
	for k := 0; k <= need; k++ {
		bt, err := stats.BinomTest(k, need, r.MinFrequency, stats.Less, r.Conf)
		if err != nil {
			return 0, err
		}
		if bt.PValue > r.Alpha {
			break
		}
		c = k
	}
	return c, nil
}

// csShows reports whether the beta-binomial confidence sequence after k of n
// lies wholly at or above m.
func csShows(k, n int, m, conf float64) bool {
	return n > 0 && float64(k)/float64(n) > m && !stats.BetaBinomialCSCovers(k, n, 1-conf, 1, 1, m)
}

// runsToShow is about the fewest runs after which a frequency p makes the
// confidence sequence lie above m (0 when p ≤ m or more than 2^24 runs).
func runsToShow(p, m, conf float64) int {
	if !(p > m) {
		return 0
	}
	shows := func(n int) bool { return csShows(int(math.Floor(p*float64(n))), n, m, conf) }
	hi := 1
	for !shows(hi) {
		if hi >= 1<<24 {
			return 0
		}
		hi *= 2
	}
	lo := hi / 2
	for lo+1 < hi {
		mid := (lo + hi) / 2
		if shows(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// never stands for "no number of runs": a futility stop's RunsNeededLow.
const never = math.MaxInt32

// frequencySeq is the label frequency check of a sequential replay (see
// LabelFrequency.RunSequential).
func frequencySeq(want string, outs []output.Output, r Rules) (Finding, error) {
	n := len(outs)
	need := RunsToRejectNever(r)
	crit, err := criticalCount(need, r)
	if err != nil {
		return Finding{}, err
	}
	counts, k, kTest := labelCounts(want, outs, need)
	nTest := min(n, need)
	bt, err := stats.BinomTest(kTest, nTest, r.MinFrequency, stats.Less, r.Conf)
	if err != nil {
		return Finding{}, err
	}
	lo, hi, err := stats.BetaBinomialCS(k, n, 1-r.Conf, 1, 1)
	if err != nil {
		return Finding{}, err
	}
	settled := kTest > crit // the test on the first need runs cannot reject any more
	rejected := !settled && n >= need
	shown := csShows(k, n, r.MinFrequency, r.Conf)
	method := "stored value's frequency among the replays: exact one-sided binomial p-value of H0 frequency ≥ min frequency, taken once on the first runs that give it power and settled as soon as it cannot reject; " +
		"anytime-valid beta-binomial confidence sequence"
	test, err := frequencyTest(method, k, n, bt.PValue, Interval{lo, hi, r.Conf, "beta-binomial confidence sequence"}, rejected, r)
	if err != nil {
		return Finding{}, err
	}
	f := Finding{Counts: counts, Test: test}
	head := fmt.Sprintf("stored label %q came back in %d of %d runs; %.0f%% confidence sequence [%.4f, %.4f]", want, k, n, 100*r.Conf, lo, hi)
	switch {
	case rejected:
		f.Outcome = Rejects
		f.Reasons = []string{frequencyRejects(head, bt.PValue, kTest, nTest, r)}
	case settled && shown:
		f.Outcome = Supports
		f.Reasons = []string{fmt.Sprintf("%s lies at or above the minimum frequency %g; the binomial test on the first %d runs cannot reject it any more (%d of the first %d runs, more than %d)",
			head, r.MinFrequency, need, kTest, nTest, crit)}
	case settled:
		f.Outcome = Undecided
		f.Reasons = []string{fmt.Sprintf("%s straddles the minimum frequency %g", head, r.MinFrequency)}
		_, up, err := stats.ClopperPearson(k, n, FutilityConf, stats.Less)
		if err != nil {
			return Finding{}, err
		}
		f.RunsNeeded = runsToShow(float64(k)/float64(n), r.MinFrequency, r.Conf)
		f.RunsNeededLow = runsToShow(up, r.MinFrequency, r.Conf)
		if f.RunsNeededLow == 0 {
			f.RunsNeededLow = never
		}
		f.Underpowered = fmt.Sprintf("its frequency is not shown to be at least %g yet; even at %.4f (its %g upper bound) about %d runs would show it", r.MinFrequency, up, FutilityConf, f.RunsNeededLow)
		if f.RunsNeededLow == never {
			f.Underpowered = fmt.Sprintf("its frequency is not shown to be at least %g yet, and even at %.4f (its %g upper bound) no run cap would show it", r.MinFrequency, up, FutilityConf)
		}
	default:
		f.Outcome = Undecided
		f.RejectLow = need
		f.Reasons = []string{fmt.Sprintf("%s: the binomial test on the first %d runs is not settled yet (%d of %d so far)", head, need, kTest, nTest)}
		f.Underpowered = fmt.Sprintf("%d runs cannot reject at level %.4g: even 0 of %d has p = %.4g; %d runs can", n, r.Alpha, n, math.Pow(1-r.MinFrequency, float64(n)), need)
		f.RunsNeeded = need
		// the stored value may come back at the next run and settle the
		// test: a cap below need alone is no reason to give up.
		f.RunsNeededLow = n + 1
	}
	return f, nil
}

func scoreRankSeq(s output.Output, outs []output.Output, r Rules) (Finding, error) {
	need := ScoresToReject(r.Alpha)
	ref := sameLabelScores(s, outs)
	m := len(ref)
	f := Finding{Test: TestResult{Name: "score_rank", N: ptr(min(m, need)),
		Method: "statistic: mid-rank of the stored score among replays with the same label; two-sided conformal rank p-value of the stored score among the first replays with the same label that give it power, taken once and settled as soon as it cannot reject: 2·min((1+#{s≤x}), (1+#{s≥x}))/(m+1)"}}
	// rejectLow: the share of runs that give a usable score is at most hi
	// with 99% confidence, so fewer than need/hi runs cannot give the
	// test its need scores.
	rejectLow := func() (int, error) {
		_, hi, err := stats.ClopperPearson(m, len(outs), 0.99, stats.Less)
		if err != nil {
			return 0, err
		}
		return int(math.Ceil(float64(need) / hi)), nil
	}
	if m == 0 {
		f.Outcome = Skipped
		f.Test.Skipped = "no replay produced a score with the stored label"
		f.Underpowered = fmt.Sprintf("no replay with the stored label produced a score; %d are needed to reject at level %.4g", need, r.Alpha)
		var err error
		f.RejectLow, err = rejectLow()
		return f, err
	}
	x := *s.Score
	first := ref[:min(m, need)]
	var le, ge int
	for _, v := range first {
		if v <= x {
			le++
		}
		if v >= x {
			ge++
		}
	}
	// The smallest p-value the test among the first need scores can still
	// reach: the counts only grow.
	floor := math.Min(1, 2*float64(min(1+le, 1+ge))/float64(need+1))
	f.Test.Statistic = ptr(midRank(x, first))
	switch {
	case m >= need:
		p := RankPValue(x, first)
		f.Test.PValue, f.Test.Rejected = ptr(p), ptr(p <= r.Alpha)
		if p <= r.Alpha {
			f.Outcome = Rejects
			f.Reasons = []string{fmt.Sprintf("stored score %g is rejected among the first %d replayed scores (p = %.4g ≤ level %.4g)", x, need, p, r.Alpha)}
		} else {
			f.Outcome = Supports
			f.Reasons = []string{fmt.Sprintf("stored score %g is not rejected among the first %d replayed scores (p = %.4g > level %.4g)", x, need, p, r.Alpha)}
		}
	case floor > r.Alpha:
		f.Test.PValue, f.Test.Rejected = ptr(floor), ptr(false)
		f.Outcome = Supports
		f.Reasons = []string{fmt.Sprintf("stored score %g lies among the %d replayed scores so far (%d at or below, %d at or above): the rank test among the first %d cannot reject it (p ≥ %.4g > level %.4g)", x, m, le, ge, need, floor, r.Alpha)}
	default:
		f.Outcome = Unpowered
		f.Reasons = []string{fmt.Sprintf("stored score %g lies outside the %d replayed scores so far: not settled until %d scores (or one on its other side)", x, m, need)}
		f.RunsNeeded = int(math.Ceil(float64(need) * float64(len(outs)) / float64(m)))
		f.RunsNeededLow = len(outs) + 1
		f.Underpowered = fmt.Sprintf("%d replayed scores with the stored label cannot reject at level %.4g (the smallest rank p-value is 2/(m+1) = %.4g); %d can", m, r.Alpha, 2/float64(m+1), need)
		low, err := rejectLow()
		if err != nil {
			return Finding{}, err
		}
		f.RejectLow = low
		if m >= MinScoresForFutility {
			f.RunsNeededLow = low
			f.Underpowered += fmt.Sprintf("; the stored score lies outside all %d, so only the test among %d scores is likely to settle it", m, need)
		}
	}
	return f, nil
}
