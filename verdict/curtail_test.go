package verdict

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/stats"
)

// The fixed label test on 528 runs at level 0.005 rejects only 0 of 528:
// pbinom(0, 528, 0.01) = 0.004959, pbinom(1, 528, 0.01) = 0.03141 (the
// binomial sums, computed exactly with Python's math.comb:
// sum(comb(n,i)*p**i*(1-p)**(n-i) for i in range(k+1)), as R's pbinom).
func TestCriticalCount(t *testing.T) {
	r := DefaultRules()
	r.Alpha = 0.005
	need := RunsToRejectNever(r)
	c, err := criticalCount(need, r)
	if err != nil || need != 528 || c != 0 {
		t.Fatalf("need %d, critical count %d, %v; want 528, 0", need, c, err)
	}
	r.MinFrequency, r.Alpha = 0.1, 0.05
	if need = RunsToRejectNever(r); need != 29 {
		t.Fatalf("need %d", need)
	}
	// pbinom(0, 29, 0.1) = 0.04710, pbinom(1, 29, 0.1) = 0.1989 (as above)
	if c, err = criticalCount(need, r); err != nil || c != 0 {
		t.Fatalf("critical count %d, %v", c, err)
	}
}

// Curtailment changes no decision: on pinned random streams, whenever the
// sequential label or score check rejects, the fixed test on the first
// runs that give it power rejects, and whenever it calls its test settled
// without a rejection, that fixed test does not reject.
func TestCurtailmentAgreesWithTheFixedTest(t *testing.T) {
	r := DefaultRules()
	r.Alpha = 0.005
	need := RunsToRejectNever(r)
	mneed := ScoresToReject(r.Alpha)
	rng := rand.New(rand.NewPCG(11, 12))
	for trial := range 300 {
		p := []float64{0.002, 0.01, 0.05, 0.7}[trial%4]
		shift := []float64{0, 0, 3}[trial%3]
		o := make([]output.Output, 1000)
		for i := range o {
			l := "b"
			if rng.Float64() < p {
				l = "a"
			}
			o[i] = lbl(l, rng.NormFloat64())
		}
		stored := lbl("a", rng.NormFloat64()+shift)
		k := 0
		for _, x := range o[:need] {
			if *x.Label == "a" {
				k++
			}
		}
		bt, _ := stats.BinomTest(k, need, r.MinFrequency, stats.Less, r.Conf)
		labelRejects := bt.PValue <= r.Alpha
		var scores []float64
		for _, x := range o {
			if *x.Label == "a" && len(scores) < mneed {
				scores = append(scores, *x.Score)
			}
		}
		scoreRejects := len(scores) == mneed && RankPValue(*stored.Score, scores) <= r.Alpha
		for n := 10; n <= len(o); n += 10 {
			fl, err := LabelFrequency{}.RunSequential(stored, o[:n], r)
			if err != nil {
				t.Fatal(err)
			}
			if fl.Outcome == Rejects != (labelRejects && n >= need) {
				t.Fatalf("trial %d, n %d: label %v, fixed test on %d rejects: %v", trial, n, fl.Outcome, need, labelRejects)
			}
			if settled := fl.RejectLow == 0 && fl.Outcome != Rejects; settled && labelRejects {
				t.Fatalf("trial %d, n %d: label settled, but the fixed test rejects", trial, n)
			}
			fs, err := ScoreRank{}.RunSequential(stored, o[:n], r)
			if err != nil {
				t.Fatal(err)
			}
			if fs.Outcome == Rejects && !scoreRejects || fs.Outcome == Supports && scoreRejects {
				t.Fatalf("trial %d, n %d: score %v, fixed test among %d rejects: %v", trial, n, fs.Outcome, mneed, scoreRejects)
			}
		}
	}
}

// The stored label supports only when the confidence sequence clears the
// minimum frequency: 1 of 10 settles the test (it cannot reject) but does
// not show a frequency of at least 1%.
func TestSequentialLabelNeedsTheConfidenceSequence(t *testing.T) {
	f, err := LabelFrequency{}.RunSequential(lbl("a", 0), outs(10, 1), Rules{}.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	if f.Outcome != Undecided || f.RejectLow != 0 || f.RunsNeeded == 0 || !strings.Contains(f.Underpowered, "not shown") {
		t.Fatalf("1 of 10: %v, reject low %d, runs needed %d, %q", f.Outcome, f.RejectLow, f.RunsNeeded, f.Underpowered)
	}
	f, _ = LabelFrequency{}.RunSequential(lbl("a", 0), outs(10, 7), Rules{}.WithDefaults())
	if f.Outcome != Supports || f.Test.Interval.Method != "beta-binomial confidence sequence" || !(f.Test.Interval.Lower >= 0.01) {
		t.Fatalf("7 of 10: %v %+v", f.Outcome, f.Test.Interval)
	}
}

// An exact match settles a sequential evaluation before any fresh run.
func TestEvaluateSequentialExactBeforeAnyRun(t *testing.T) {
	yes, no := true, false
	ev, err := EvaluateSequential(lbl("a", 0), nil, &yes, Rules{}, false)
	if err != nil || ev.Verdict != Reproduced || ev.Basis != "exact" {
		t.Fatalf("%+v, %v", ev, err)
	}
	if _, err := EvaluateSequential(lbl("a", 0), nil, &no, Rules{}, false); err != ErrNoRuns {
		t.Fatalf("no match, no runs: %v", err)
	}
}

func TestReferenceLooks(t *testing.T) {
	cases := []struct {
		cap  int
		want []Look
	}{
		{1000, []Look{{125, 0.125}, {250, 0.125}, {500, 0.25}, {1000, 0.5}}},
		{200, []Look{{50, 0.25}, {100, 0.25}, {200, 0.5}}},
		{60, []Look{{60, 1}}},
		{10, []Look{{10, 1}}},
	}
	for _, c := range cases {
		got := ReferenceLooks(c.cap)
		sum := 0.0
		for _, l := range got {
			sum += l.Share
		}
		if len(got) != len(c.want) || sum != 1 {
			t.Fatalf("cap %d: %v", c.cap, got)
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Fatalf("cap %d: %v, want %v", c.cap, got, c.want)
			}
		}
	}
}

// A sequential reference check is unpowered before its first look, and
// between looks keeps the finding of its last look: later replays do not
// change it until the next look.
func TestReferenceChecksLookOnly(t *testing.T) {
	same := []float64{0.7, 0.25, 0.05}
	ref := sample(1, 1000, same, 0)
	rep := sample(2, 1000, same, 0)
	// from replay 126 on, a different system: seen only at the look at 250
	for i := 125; i < len(rep); i++ {
		rep[i] = lbl("denied", 0.9)
	}
	r := DefaultRules()
	checks := ReferenceChecks(ref, 1000)
	c := checks[0].(SequentialCheck)
	f, err := c.RunSequential(lbl("approved", 0.5), rep[:100], r)
	if err != nil || f.Outcome != Unpowered || f.RunsNeeded != 125 || f.RejectLow != 125 {
		t.Fatalf("before the first look: %v %+v %v", f.Outcome, f, err)
	}
	f125, _ := c.RunSequential(lbl("approved", 0.5), rep[:125], r)
	f240, _ := c.RunSequential(lbl("approved", 0.5), rep[:240], r)
	if f125.Outcome == Rejects || *f240.Test.Statistic != *f125.Test.Statistic || *f240.Test.PValue != *f125.Test.PValue || f240.RejectLow != 250 {
		t.Fatalf("at 125: %v p %g; at 240: %v p %g", f125.Outcome, *f125.Test.PValue, f240.Outcome, *f240.Test.PValue)
	}
	if f250, _ := c.RunSequential(lbl("approved", 0.5), rep[:250], r); f250.Outcome != Rejects {
		t.Fatalf("at 250: %v %v", f250.Outcome, f250.Reasons)
	}
}

// The sequential text check looks at fixed numbers of texts: 499 and 999
// at level 0.01 (1/(n+1) ≤ 0.01/5 first, (n+1) doubled next), each look at
// 0.005. Before the first it is unpowered and says how many runs it needs;
// a look whose p-value is far above the level settles it (later texts,
// however unlike the stored one, do not change it); one in the ambiguous
// zone (above 0.005, at most 3 × 0.01) goes on to the next look, which
// rejects or supports.
func TestTextConformalSequentialLooks(t *testing.T) {
	r := DefaultRules() // one check: level 0.01
	if got := TextLookSizes(r.Alpha); !slices.Equal(got, []int{499, 999}) {
		t.Fatalf("TextLookSizes(0.01) = %v", got)
	}
	if got := TextLookSizes(0.005); !slices.Equal(got, []int{999, 1999}) {
		t.Fatalf("TextLookSizes(0.005) = %v", got)
	}
	if got := TextsForResolution(0.05); got != 99 {
		t.Fatalf("TextsForResolution(0.05) = %d", got)
	}
	stored := "the loan is approved"
	txt := func(s string) output.Output { return output.Output{Text: &s} }
	// unique is a text sharing no 3-gram with any other text here.
	unique := func(i int) output.Output { return txt(strings.Repeat(string(rune(0x4e00+i)), 5)) }
	o := make([]output.Output, 1200)
	for i := range o {
		o[i] = txt(stored)
		if i >= 499 {
			o[i] = txt(strings.Repeat("zq", 20+i%7))
		}
	}
	f, err := TextConformal{}.RunSequential(txt(stored), o[:498], r)
	if err != nil || f.Outcome != Unpowered || f.RejectLow != 499 || f.RunsNeeded != 499 || !strings.Contains(f.Underpowered, "look 1 of 2 is at 499 texts") {
		t.Fatalf("498 texts: %v, reject low %d, runs needed %d, %q, %v", f.Outcome, f.RejectLow, f.RunsNeeded, f.Underpowered, err)
	}
	for _, n := range []int{499, 1200} {
		f, err = TextConformal{}.RunSequential(txt(stored), o[:n], r)
		if err != nil || f.Outcome != Supports || *f.Test.N != 499 || f.RejectLow != 0 {
			t.Fatalf("%d texts: %v, N %d, %v", n, f.Outcome, *f.Test.N, err)
		}
	}

	// An atypical stored text tied with 4 unique replays among the first
	// 499: p = 5/500 = 0.01, ambiguous at look 1.
	odd := unique(1000)
	amb := make([]output.Output, 999)
	for i := range amb {
		amb[i] = txt(stored)
	}
	for _, i := range []int{10, 100, 200, 300} {
		amb[i] = unique(i)
	}
	f, err = TextConformal{}.RunSequential(odd, amb[:600], r)
	if err != nil || f.Outcome != Unpowered || f.RunsNeeded != 999 || f.RejectLow != 999 || *f.Test.PValue != 5.0/500 ||
		!strings.Contains(strings.Join(f.Reasons, "; "), "ambiguous") || !strings.Contains(f.Underpowered, "look 2 of 2 is at 999 texts") {
		t.Fatalf("ambiguous look 1: %v, runs needed %d, p %v, %v %q, %v", f.Outcome, f.RunsNeeded, *f.Test.PValue, f.Reasons, f.Underpowered, err)
	}
	// Look 2: still 5 of 1000 at least as atypical: p = 0.005, rejected.
	f, err = TextConformal{}.RunSequential(odd, amb, r)
	if err != nil || f.Outcome != Rejects || *f.Test.N != 999 || *f.Test.PValue != 5.0/1000 {
		t.Fatalf("look 2: %v, N %d, p %v, %v", f.Outcome, *f.Test.N, *f.Test.PValue, err)
	}
	// With 6 more unique replays after look 1, p = 11/1000: supported
	// at the last look.
	for _, i := range []int{500, 600, 700, 800, 900, 950} {
		amb[i] = unique(i)
	}
	f, err = TextConformal{}.RunSequential(odd, amb, r)
	if err != nil || f.Outcome != Supports || *f.Test.PValue != 11.0/1000 {
		t.Fatalf("look 2, supported: %v, p %v, %v", f.Outcome, *f.Test.PValue, err)
	}
}
