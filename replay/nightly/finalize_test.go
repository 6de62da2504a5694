package nightly

import (
	"fmt"
	"testing"

	"github.com/reprise-dev/reprise/verdict"
)

// TestExactDivergedIsAHypothesis: a record the seed probe found DIVERGED
// (basis exact) takes part in Benjamini–Hochberg with its p-value, so a
// night of honest records and one that another system decided ends
// DIVERGED on it (before, it was left out of BH and demoted, q = none);
// records reproduced exactly stay out of BH (no q-value). The p-value is
// what a replay of 100 fresh seeds gives: the probe's bound at 100 times
// the record's 3 tests (Bonferroni).
func TestExactDivergedIsAHypothesis(t *testing.T) {
	var rs []Result
	for i := range 299 {
		r := Result{RequestID: fmt.Sprintf("r%03d", i), System: "s", SystemName: "text", ReplayVerdict: verdict.Reproduced, Basis: "exact"}
		if i%2 == 1 {
			p := 0.2 + 0.8*float64(i)/299 // behavioral: spread, none small
			r.Basis, r.PValue = "behavioral", &p
		}
		rs = append(rs, r)
	}
	p := min(1, 3*verdict.ProbeBound(100))
	rs = append(rs, Result{RequestID: "r299", System: "s", SystemName: "text", ReplayVerdict: verdict.Diverged, Basis: "exact", PValue: &p})
	n := Finalize(&Config{FDR: 0.05}, rs)
	if n.Outcome != OutcomeDiverged || n.Counts.Diverged != 1 || n.Counts.Demoted != 0 {
		t.Fatalf("outcome %s, counts %+v", n.Outcome, n.Counts)
	}
	for _, r := range n.Records {
		switch {
		case r.RequestID == "r299":
			if r.Verdict != verdict.Diverged || r.QValue == nil || *r.QValue > 0.05 {
				t.Errorf("the exact divergence: %s, q %v (p %g)", r.Verdict, r.QValue, p)
			}
		case r.Basis == "exact" && r.QValue != nil:
			t.Errorf("%s: reproduced exactly but has q %g", r.RequestID, *r.QValue)
		case r.Verdict != verdict.Reproduced:
			t.Errorf("%s: %s", r.RequestID, r.Verdict)
		}
	}
}
