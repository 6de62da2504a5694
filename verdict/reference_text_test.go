package verdict

import (
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/stats"
)

// chainTexts draws n texts of the chain model with seeds from, from+1, ….
func chainTexts(c chain, from uint64, n int) []output.Output {
	return texts(c, seq(n, from))
}

func strs(o []output.Output) []string {
	v := make([]string, len(o))
	for i := range o {
		v[i] = *o[i].Text
	}
	return v
}

// MeanEmbeddingDistance² is the biased MMD² V-statistic of the spectrum
// kernel matrix (the mean of k over a×a and b×b minus twice over a×b):
// the linear-time embedding and stats.SpectrumKernel agree, short and
// empty texts included.
func TestMeanEmbeddingDistanceIsTheKernelMMD(t *testing.T) {
	a := append(strs(chainTexts(newChain(1), 1, 30)), "", "ab", "ab", "é")
	b := append(strs(chainTexts(newChain(100), 500, 25)), "", "abc", "xy")
	k, err := stats.SpectrumKernel(a, b, SpectrumN)
	if err != nil {
		t.Fatal(err)
	}
	n1, n2 := len(a), len(b)
	var aa, bb, ab float64
	for i := range n1 + n2 {
		for j := range n1 + n2 {
			switch {
			case i < n1 && j < n1:
				aa += k.At(i, j)
			case i >= n1 && j >= n1:
				bb += k.At(i, j)
			case i < n1:
				ab += k.At(i, j)
			}
		}
	}
	want := aa/float64(n1*n1) + bb/float64(n2*n2) - 2*ab/float64(n1*n2)
	got := MeanEmbeddingDistance(a, b)
	if math.Abs(got*got-want) > 1e-12 || want <= 0.01 {
		t.Fatalf("embedding MMD² %g, kernel V-statistic %g", got*got, want)
	}
	if d := MeanEmbeddingDistance(a, a); d > 1e-9 {
		t.Fatalf("distance of a sample to itself %g", d)
	}
	if d := MeanEmbeddingDistance([]string{"abc"}, []string{"xyz"}); math.Abs(d-math.Sqrt2) > 1e-12 {
		t.Fatalf("disjoint texts: %g, want √2", d)
	}
}

// The text reference check at its level in a three-check split (alpha
// 0.01 / 3), on texts of the Markov-chain fake model (seeds pinned).
func TestReferenceTexts(t *testing.T) {
	r := DefaultRules()
	r.Alpha /= 3
	m1, m2 := newChain(1), newChain(2)
	stored := chainTexts(m1, 7, 1)[0]
	cases := []struct {
		name      string
		ref, outs []output.Output
		want      Outcome
		reason    string
	}{
		{"same model", chainTexts(m1, 10_000, 1000), chainTexts(m1, 20_000, 1000), Supports, "equivalent"},
		{"another model version", chainTexts(m1, 10_000, 1000), chainTexts(m2, 20_000, 1000), Rejects, "the distributions differ"},
		{"another corpus, few texts", chainTexts(m1, 10_000, 60), chainTexts(newChain(100), 20_000, 60), Rejects, "the distributions differ"},
		{"too few reference texts", chainTexts(m1, 10_000, 60), chainTexts(m1, 20_000, 1000), Unpowered, "no number of replays"},
		{"too few replays", chainTexts(m1, 10_000, 3000), chainTexts(m1, 20_000, 100), Unpowered, "runs would bring it below"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ch := ReferenceTexts{Ref: c.ref}
			if !ch.Applies(stored) {
				t.Fatal("does not apply to a text record with reference texts")
			}
			f, err := ch.Run(stored, c.outs, r)
			if err != nil {
				t.Fatal(err)
			}
			all := strings.Join(append(f.Reasons, f.Underpowered), " | ")
			if f.Outcome != c.want || !strings.Contains(all, c.reason) {
				t.Fatalf("%v, want %v; %s", f.Outcome, c.want, all)
			}
			if f.Test.Interval == nil || f.Test.Interval.Upper < *f.Test.Statistic || f.Test.Interval.Upper > 2 {
				t.Fatalf("bound %+v for MMD² %g", f.Test.Interval, *f.Test.Statistic)
			}
			if c.want == Unpowered && strings.Contains(c.reason, "runs would") {
				// the runs it names do bring the bound below the margin
				more, err := ch.Run(stored, chainTexts(m1, 20_000, f.RunsNeeded), r)
				if err != nil || more.Outcome != Supports {
					t.Fatalf("%d runs named, then %v %v", f.RunsNeeded, more.Outcome, more.Reasons)
				}
			}
		})
	}
}

// Applies only to a text record with reference texts; replays without text
// skip it; the same inputs give the same p-value (seeded permutations).
func TestReferenceTextsAppliesAndRepeats(t *testing.T) {
	m1 := newChain(1)
	stored := chainTexts(m1, 7, 1)[0]
	ref := chainTexts(m1, 10_000, 80)
	if (ReferenceTexts{Ref: ref}).Applies(lbl("approved", 0.5)) {
		t.Fatal("applies to a record without text")
	}
	if (ReferenceTexts{Ref: sample(1, 10, []float64{1}, 0)}).Applies(stored) {
		t.Fatal("applies without reference texts")
	}
	f, err := ReferenceTexts{Ref: ref}.Run(stored, sample(1, 10, []float64{1}, 0), DefaultRules())
	if err != nil || f.Outcome != Skipped {
		t.Fatalf("replays without text: %v %v", f.Outcome, err)
	}
	outs := chainTexts(m1, 20_000, 80)
	f1, _ := ReferenceTexts{Ref: ref}.Run(stored, outs, DefaultRules())
	f2, _ := ReferenceTexts{Ref: ref}.Run(stored, outs, DefaultRules())
	if *f1.Test.PValue != *f2.Test.PValue || *f1.Test.PValue >= 1 {
		t.Fatalf("p-values %g and %g", *f1.Test.PValue, *f2.Test.PValue)
	}
}

// With reference texts, ReferenceChecks adds the text check, which runs at
// the sequential looks: unpowered before the first (125 of 1000), then the
// look's finding until the next look.
func TestReferenceTextsSequential(t *testing.T) {
	m1 := newChain(1)
	stored := chainTexts(m1, 7, 1)[0]
	ref := chainTexts(m1, 10_000, 1000)
	rep := chainTexts(m1, 20_000, 1000)
	for i := 125; i < len(rep); i++ { // another model from replay 126 on
		rep[i] = chainTexts(newChain(100), 30_000+uint64(i), 1)[0]
	}
	var c SequentialCheck
	for _, ch := range ReferenceChecks(ref, 1000) {
		if ch.Applies(stored) {
			if c != nil {
				t.Fatal("more than one reference check applies to a text-only record")
			}
			c = ch.(SequentialCheck)
		}
	}
	r := DefaultRules()
	f, err := c.RunSequential(stored, rep[:100], r)
	if err != nil || f.Outcome != Unpowered || f.RunsNeeded != 125 || f.Test.Name != "reference_texts" {
		t.Fatalf("before the first look: %v %+v %v", f.Outcome, f, err)
	}
	f125, _ := c.RunSequential(stored, rep[:125], r)
	f240, _ := c.RunSequential(stored, rep[:240], r)
	if f125.Outcome == Rejects || *f240.Test.PValue != *f125.Test.PValue || f240.RejectLow != 250 || !strings.Contains(f125.Test.Method, "look 1 of 4") {
		t.Fatalf("at 125: %v p %g; at 240: %v p %g", f125.Outcome, *f125.Test.PValue, f240.Outcome, *f240.Test.PValue)
	}
	if f250, _ := c.RunSequential(stored, rep[:250], r); f250.Outcome != Rejects {
		t.Fatalf("at 250: %v %v", f250.Outcome, f250.Reasons)
	}
}

// Evaluate on a text record with reference texts: the conformal text check
// and the reference text check share alpha (0.005 each); an honest replay
// is REPRODUCED on the reference equivalence, another model is DIVERGED.
func TestEvaluateWithReferenceTexts(t *testing.T) {
	m1 := newChain(1)
	stored := chainTexts(m1, 7, 1)[0]
	ref := chainTexts(m1, 10_000, 1000)
	// 999 replays: the text check decides among 999 texts at level 0.005
	// (1/(n+1) ≤ level/TextResolution).
	ev, err := Evaluate(stored, chainTexts(m1, 20_000, 999), nil, Rules{}, ReferenceChecks(ref)...)
	if err != nil {
		t.Fatal(err)
	}
	var got *TestResult
	for i := range ev.Tests {
		if ev.Tests[i].Name == "reference_texts" {
			got = &ev.Tests[i]
		}
	}
	if got == nil || *got.Level != 0.005 || ev.Verdict != Reproduced {
		t.Fatalf("%s; tests %+v; %v", ev.Verdict, ev.Tests, ev.Reasons)
	}
	ev, _ = Evaluate(stored, chainTexts(newChain(2), 20_000, 500), nil, Rules{}, ReferenceChecks(ref)...)
	if ev.Verdict != Diverged {
		t.Fatalf("another model: %s %v", ev.Verdict, ev.Reasons)
	}
}

// TestReferenceTextsFalseAlarms: 500 honest pairs (reference and replays
// from one model, 50 texts each, seeds pinned, so the count is the same
// on every run) at level 0.0025 (alpha/4): the rejections, 1.25 in
// expectation, must stay at most 9, exceeded with probability < 1e-6 when
// the rate holds (binomial tail P(Bin(500, 0.0025) > 9) = 7.73e-07,
// summed exactly in Python with math.comb; R: pbinom(9, 500, 0.0025,
// lower.tail = FALSE)). The permutation p-value (1 + #{T* ≥ T})/(B + 1)
// is valid for any B, so the rate holds exactly, not only asymptotically.
func TestReferenceTextsFalseAlarms(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: 500 permutation tests")
	}
	r := DefaultRules()
	r.Alpha /= 4
	m := newChain(3)
	stored := chainTexts(m, 7, 1)[0]
	alarms := 0
	for i := range uint64(500) {
		ref, outs := chainTexts(m, 1_000_000+100*i, 50), chainTexts(m, 1_000_050+100*i, 50)
		f, err := ReferenceTexts{Ref: ref}.Run(stored, outs, r)
		if err != nil {
			t.Fatal(err)
		}
		if f.Outcome == Rejects {
			alarms++
		}
	}
	t.Logf("%d of 500 honest pairs rejected at level %g", alarms, r.Alpha)
	if alarms > 9 {
		t.Fatalf("%d of 500 honest pairs rejected", alarms)
	}
}

// TestReferenceTextsBoundCovers: the equivalence claim's bound covers the
// true MMD² between two model versions (estimated on 20000 texts each, to
// about 0.01) in 200 seeded pairs of 60 texts at level 0.0025 (seeded:
// the same count on every run): misses, 0.5 in expectation if the bound
// holds at its level, must stay at most 6 (P(Bin(200, 0.0025) > 6) =
// 9.1e-07, summed exactly with math.comb; R: pbinom(6, 200, 0.0025,
// lower.tail = FALSE)). The McDiarmid bound is conservative: none miss.
func TestReferenceTextsBoundCovers(t *testing.T) {
	r := DefaultRules()
	r.Alpha /= 4
	m1, m2 := newChain(1), newChain(2)
	truth := MeanEmbeddingDistance(strs(chainTexts(m1, 5_000_000, 20000)), strs(chainTexts(m2, 6_000_000, 20000)))
	stored := chainTexts(m1, 7, 1)[0]
	misses := 0
	for i := range uint64(200) {
		f, err := ReferenceTexts{Ref: chainTexts(m1, 100_000+1000*i, 60)}.Run(stored, chainTexts(m2, 100_500+1000*i, 60), r)
		if err != nil {
			t.Fatal(err)
		}
		if f.Test.Interval.Upper < truth*truth {
			misses++
		}
	}
	t.Logf("true MMD² ≈ %.4f; %d of 200 bounds below it", truth*truth, misses)
	if misses > 6 || truth*truth < 0.05 {
		t.Fatalf("%d of 200 bounds below the true MMD² %.4f", misses, truth*truth)
	}
}

// TestCutText: a text is cut to at most MaxConformalBytes bytes at a
// rune boundary (never inside a 2-, 3- or 4-byte rune), and a text of
// MaxConformalBytes bytes or fewer is kept whole.
func TestCutText(t *testing.T) {
	m := MaxConformalBytes
	for _, c := range []struct {
		name  string
		in    string
		want  int // bytes kept
		whole bool
	}{
		{"empty", "", 0, true},
		{"short", "abc", 3, true},
		{"exact", strings.Repeat("a", m), m, true},
		{"ascii", strings.Repeat("a", m+1), m, false},
		{"2-byte", strings.Repeat("é", m/2) + "x", m, false},
		{"2-byte across", "x" + strings.Repeat("é", m/2), m - 1, false},
		{"4-byte", strings.Repeat("😀", m/4+1), m, false},
		{"4-byte across", "xy" + strings.Repeat("😀", m/4), m - 2, false},
	} {
		got, whole := CutText(c.in)
		if len(got) != c.want || whole != c.whole || !utf8.ValidString(got) || !strings.HasPrefix(c.in, got) {
			t.Errorf("%s: CutText kept %d bytes (whole %v, valid %v), want %d (whole %v)", c.name, len(got), whole, utf8.ValidString(got), c.want, c.whole)
		}
	}
}
