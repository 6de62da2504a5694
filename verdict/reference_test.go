package verdict

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/output"
)

func TestTotalVariation(t *testing.T) {
	cases := []struct {
		a, b []string
		want float64
	}{
		{[]string{"x", "y"}, []string{"x", "y"}, 0},
		{[]string{"x"}, []string{"y"}, 1},
		{[]string{"x", "x", "y", "y"}, []string{"x", "x", "x", "y"}, 0.25},
		{[]string{"x"}, nil, 0},
	}
	for _, c := range cases {
		if got := TotalVariation(c.a, c.b); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("TV(%v, %v) = %g, want %g", c.a, c.b, got, c.want)
		}
	}
}

// sample draws n outputs of a loan-like system with label probabilities
// probs and a score per label; seeds pinned.
func sample(seed uint64, n int, probs []float64, shift float64) []output.Output {
	r := rand.New(rand.NewPCG(seed, 99))
	labels := []string{"approved", "denied", "referred"}
	o := make([]output.Output, n)
	for i := range o {
		u, j := r.Float64(), 0
		for acc := probs[0]; u >= acc && j < len(probs)-1; {
			j++
			acc += probs[j]
		}
		o[i] = lbl(labels[j], float64(j)/3+r.Float64()/3+shift)
	}
	return o
}

// The reference checks at their level in a four-check split (alpha 0.01 / 4).
func TestReferenceChecks(t *testing.T) {
	r := DefaultRules()
	r.Alpha /= 4
	same := []float64{0.7, 0.25, 0.05}
	stored := lbl("approved", 0.2)
	cases := []struct {
		name      string
		ref, outs []output.Output
		labels    Outcome
		scores    Outcome
		reason    string
	}{
		{"same system", sample(1, 1000, same, 0), sample(2, 1000, same, 0), Supports, Supports, "equivalent"},
		{"labels changed", sample(1, 1000, same, 0), sample(2, 1000, []float64{0.5, 0.45, 0.05}, 0), Rejects, Rejects, "the distributions differ"},
		{"scores shifted", sample(1, 1000, same, 0), sample(2, 1000, same, 0.1), Supports, Rejects, "the distributions differ"},
		{"too few reference outputs", sample(1, 50, same, 0), sample(2, 1000, same, 0), Unpowered, Unpowered, "no number of replays"},
		{"too few replays", sample(1, 2000, same, 0), sample(2, 300, same, 0), Unpowered, Unpowered, "runs would bring it below"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fl, err := ReferenceLabels{Ref: c.ref}.Run(stored, c.outs, r)
			if err != nil {
				t.Fatal(err)
			}
			fs, err := ReferenceScores{Ref: c.ref}.Run(stored, c.outs, r)
			if err != nil {
				t.Fatal(err)
			}
			all := strings.Join(append(append(fl.Reasons, fs.Reasons...), fl.Underpowered, fs.Underpowered), " | ")
			if fl.Outcome != c.labels || fs.Outcome != c.scores || !strings.Contains(all, c.reason) {
				t.Fatalf("labels %v, scores %v; want %v, %v; %s", fl.Outcome, fs.Outcome, c.labels, c.scores, all)
			}
		})
	}
}

// With reference outputs, Evaluate splits alpha over four checks and needs
// the reference equivalence for REPRODUCED; without, nothing changes.
func TestEvaluateWithReference(t *testing.T) {
	same := []float64{0.7, 0.25, 0.05}
	outs := sample(2, 1500, same, 0)
	ev, err := Evaluate(lbl("approved", 0.2), outs, nil, Rules{}, ReferenceChecks(sample(1, 1000, same, 0))...)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Verdict != Reproduced || len(ev.Tests) != 4 || *ev.Tests[3].Level != 0.0025 {
		t.Fatalf("%s, %d tests: %v", ev.Verdict, len(ev.Tests), ev.Reasons)
	}
	ev, _ = Evaluate(lbl("approved", 0.2), outs, nil, Rules{}, ReferenceChecks(nil)...)
	if len(ev.Tests) != 2 {
		t.Fatalf("%d tests without reference", len(ev.Tests))
	}
	// A changed model shows in the reference comparison.
	ev, _ = Evaluate(lbl("approved", 0.2), sample(2, 1500, []float64{0.5, 0.45, 0.05}, 0), nil, Rules{}, ReferenceChecks(sample(1, 1000, same, 0))...)
	if ev.Verdict != Diverged {
		t.Fatalf("changed model: %s %v", ev.Verdict, ev.Reasons)
	}
}

// TestReferenceFalseAlarms: 500 honest pairs (reference and replays from
// one system, 300 each, seeds pinned) through both reference checks at
// level alpha/4 each (0.0025): the rejections, at most 0.005 × 500 in
// expectation, must stay at most 13, exceeded with probability < 1e-6 when
// the rate holds (R: pbinom(13, 500, 0.005, lower.tail = FALSE) =
// 3.708319e-07).
func TestReferenceFalseAlarms(t *testing.T) {
	r := DefaultRules()
	r.Alpha /= 4
	probs := []float64{0.6, 0.3, 0.1}
	stored := lbl("approved", 0.2)
	alarms := 0
	for i := range 500 {
		ref, outs := sample(uint64(2*i+10), 300, probs, 0), sample(uint64(2*i+11), 300, probs, 0)
		fl, err := ReferenceLabels{Ref: ref}.Run(stored, outs, r)
		if err != nil {
			t.Fatal(err)
		}
		fs, err := ReferenceScores{Ref: ref}.Run(stored, outs, r)
		if err != nil {
			t.Fatal(err)
		}
		if fl.Outcome == Rejects || fs.Outcome == Rejects {
			alarms++
		}
	}
	t.Logf("%d of 500 honest pairs rejected", alarms)
	if alarms > 13 {
		t.Fatalf("%d of 500 honest pairs rejected", alarms)
	}
}
