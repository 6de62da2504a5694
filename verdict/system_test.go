package verdict

import (
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/output"
)

// fixedSystem is a SystemCheck whose finding is fixed (as the pinned eval
// suite's is, once run).
type fixedSystem struct{ outcome Outcome }

func (fixedSystem) Applies(output.Output) bool { return true }
func (c fixedSystem) Run(output.Output, []output.Output, Rules) (Finding, error) {
	return Finding{Test: TestResult{Name: "system"}, Outcome: c.outcome, Reasons: []string{"system finding"}}, nil
}
func (c fixedSystem) RunSequential(s output.Output, o []output.Output, r Rules) (Finding, error) {
	return c.Run(s, o, r)
}
func (fixedSystem) Holds(f Finding) string {
	if f.Outcome == Rejects {
		return "the system diverged"
	}
	return "the system check is inconclusive"
}

// TestSystemCheckHoldsAgainstAnExactMatch: an exact match of the pinned
// seed settles the decision but not a system check that rejects or does not
// settle; it is one decision, taken in Evaluate and in EvaluateSequential
// alike (also before any fresh-seed run).
func TestSystemCheckHoldsAgainstAnExactMatch(t *testing.T) {
	l := "a"
	stored := output.Output{Label: &l}
	outs := labels(200, 200)
	exact := true
	for _, c := range []struct {
		outcome Outcome
		want    Verdict
		basis   string
		reason  string
	}{
		{Supports, Reproduced, "exact", ""},
		{Rejects, Diverged, "", "the decision reproduced, but the system diverged: the record is DIVERGED"},
		{Undecided, Inconclusive, "", "the decision reproduced, but the system check is inconclusive: the record is INCONCLUSIVE"},
	} {
		for name, eval := range map[string]func() (*Evaluation, error){
			"fixed": func() (*Evaluation, error) {
				return Evaluate(stored, outs, &exact, DefaultRules(), fixedSystem{c.outcome})
			},
			"sequential": func() (*Evaluation, error) {
				return EvaluateSequential(stored, outs, &exact, DefaultRules(), false, fixedSystem{c.outcome})
			},
			"no runs yet": func() (*Evaluation, error) {
				return EvaluateSequential(stored, nil, &exact, DefaultRules(), false, fixedSystem{c.outcome})
			},
		} {
			ev, err := eval()
			if err != nil {
				t.Fatal(err)
			}
			if ev.Verdict != c.want || ev.Basis != c.basis {
				t.Errorf("%s, system %v: %s (%s), want %s (%s)", name, c.outcome, ev.Verdict, ev.Basis, c.want, c.basis)
			}
			last := ev.Reasons[len(ev.Reasons)-1]
			if c.reason != "" && last != c.reason {
				t.Errorf("%s, system %v: last reason %q", name, c.outcome, last)
			}
			if !strings.HasPrefix(ev.Reasons[0], "the pinned seed reproduced") {
				t.Errorf("%s: first reason %q", name, ev.Reasons[0])
			}
		}
	}
	// Without an exact match a system check is one check among others.
	no := false
	ev, err := Evaluate(stored, outs, &no, DefaultRules(), fixedSystem{Rejects})
	if err != nil || ev.Verdict != Diverged {
		t.Fatalf("not exact, system rejects: %v %+v", err, ev)
	}
}

func (fixedSystem) Requests() int         { return 0 }
func (fixedSystem) Section() *EvalSection { return nil }

var _ SystemCheck = fixedSystem{}
