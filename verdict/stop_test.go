package verdict

import (
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/output"
)

func labels(n, k int) []output.Output {
	o := make([]output.Output, n)
	for i := range o {
		l := "b"
		if i < k {
			l = "a"
		}
		o[i] = output.Output{Label: &l}
	}
	return o
}

// Decide stops for futility only when neither verdict can come within the
// cap (deterministic inputs).
func TestDecideFutility(t *testing.T) {
	a := "a"
	stored := output.Output{Label: &a}
	rules := DefaultRules()
	cases := []struct {
		name    string
		outs    []output.Output
		maxRuns int
		settled bool
		want    Verdict
		why     string
	}{
		// no "a" yet and a cap below the 459 runs the label test needs: it
		// cannot reject, but the label may still come back and be shown.
		{"label not seen yet, small cap", labels(10, 0), 100, false, Inconclusive, ""},
		// 1 of 300: the test is settled (it cannot reject), and even the
		// frequency's 80% upper bound is below 1%: no cap would show it.
		{"label at the minimum frequency", labels(300, 1), 1000, true, Inconclusive, "the cap cannot settle it (label_frequency would need more runs than any cap"},
		// 7 of 10: settled and shown.
		{"common label", labels(10, 7), 1000, true, Reproduced, "was settled"},
		// never seen in 460 runs (459 give the label test its power at alpha 0.01)
		{"label never seen", labels(460, 0), 1000, true, Diverged, "was settled"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Decide(stored, c.outs, nil, rules, len(c.outs), c.maxRuns)
			if err != nil {
				t.Fatal(err)
			}
			if s.Settled != c.settled || s.Evaluation.Verdict != c.want || !strings.Contains(s.Why, c.why) {
				t.Fatalf("settled %v, %s, %q; want %v, %s, %q", s.Settled, s.Evaluation.Verdict, s.Why, c.settled, c.want, c.why)
			}
		})
	}
}
