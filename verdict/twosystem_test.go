package verdict

import (
	"errors"
	"math"
	"testing"

	"github.com/reprise-dev/reprise/output"
)

func labelled(counts map[string]int) []output.Output {
	var outs []output.Output
	for _, l := range []string{"approved", "denied", "referred"} {
		for range counts[l] {
			outs = append(outs, output.Output{Label: ptr(l)})
		}
	}
	return outs
}

func scored(v []float64) []output.Output {
	outs := make([]output.Output, len(v))
	for i := range v {
		outs[i].Score = ptr(v[i])
	}
	return outs
}

func TestCompareSystemsReferenceValues(t *testing.T) {
	rules := Rules{Alpha: 0.05, Margin: 0.2}
	t.Run("labels", func(t *testing.T) {
		// scipy.stats.fisher_exact([[30,10],[20,20]]) → p = 0.03683483307622306 (SciPy 1.10.1)
		a, b := labelled(map[string]int{"approved": 30, "denied": 10}), labelled(map[string]int{"approved": 20, "denied": 20})
		c, err := CompareSystems(output.Output{Label: ptr("approved")}, a, b, rules)
		if err != nil {
			t.Fatal(err)
		}
		tr := c.Tests[0]
		if math.Abs(*tr.PValue-0.03683483307622306) > 1e-9 || math.Abs(*tr.Statistic-0.25) > 1e-12 {
			t.Errorf("p %g, TV %g", *tr.PValue, *tr.Statistic)
		}
		if c.Verdict != Different || c.CountsA["approved"] != 30 || c.CountsB["denied"] != 20 {
			t.Errorf("verdict %s, counts %v %v", c.Verdict, c.CountsA, c.CountsB)
		}
	})
	t.Run("scores", func(t *testing.T) {
		// scipy.stats.ks_2samp(a, b, method='exact') → D = 0.5, p = 0.1659582247817542 (SciPy 1.10.1)
		a := scored([]float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8})
		b := scored([]float64{0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.95, 1.05, 1.15, 1.25})
		c, err := CompareSystems(output.Output{Score: ptr(0.5)}, a, b, rules)
		if err != nil {
			t.Fatal(err)
		}
		tr := c.Tests[0]
		if math.Abs(*tr.PValue-0.1659582247817542) > 1e-6 || *tr.Statistic != 0.5 {
			t.Errorf("p %g, D %g", *tr.PValue, *tr.Statistic)
		}
		if c.Verdict != Undetermined || c.RunsNeeded != 0 { // D 0.5 > margin: no number of runs shows equivalence
			t.Errorf("verdict %s, runs needed %d", c.Verdict, c.RunsNeeded)
		}
	})
}

func TestCompareSystemsVerdicts(t *testing.T) {
	rules := DefaultRules()
	stored := output.Output{Label: ptr("approved")}
	same := labelled(map[string]int{"approved": 850, "referred": 150})
	c, err := CompareSystems(stored, same, same, rules)
	if err != nil || c.Verdict != Same {
		t.Fatalf("identical samples of 1000: %v, %v", c, err)
	}
	c, err = CompareSystems(stored, same[:40], same[:40], rules)
	if err != nil || c.Verdict != Undetermined || c.RunsNeeded <= 40 {
		t.Fatalf("identical samples of 40: %+v, %v", c, err)
	}
	if _, err := CompareSystems(stored, nil, same, rules); !errors.Is(err, ErrNoRuns) {
		t.Errorf("no outputs of A: %v", err)
	}
	if _, err := CompareSystems(stored, same, same, Rules{Alpha: 2}); !errors.Is(err, ErrRules) {
		t.Errorf("alpha 2: %v", err)
	}
	// Texts: two systems that never write alike.
	ta := []output.Output{{Text: ptr("the loan is approved for you today")}, {Text: ptr("approved: the loan is yours today")}}
	tb := []output.Output{{Text: ptr("denied, sorry, no credit this time")}, {Text: ptr("sorry: denied, no credit now")}}
	var a, b []output.Output
	for range 40 {
		a, b = append(a, ta...), append(b, tb...)
	}
	c, err = CompareSystems(output.Output{Text: ta[0].Text}, a, b, rules)
	if err != nil || c.Verdict != Different || c.Tests[0].Name != "texts" {
		t.Fatalf("texts: %+v, %v", c, err)
	}
}
