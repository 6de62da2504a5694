package replay

import (
	"testing"

	"github.com/reprise-dev/reprise/verdict"
)

func TestOutcomeText(t *testing.T) {
	o := Outcome{Source: "r.json", RequestID: "req_1", Verdict: verdict.Reproduced}
	if got, want := o.Text(), "r.json req_1: REPRODUCED"; got != want {
		t.Errorf("Text() = %q; want %q", got, want)
	}
	o.Verdict, o.Basis, o.Reports = verdict.Diverged, "exact", "out/req_1"
	if got, want := o.Text(), "r.json req_1: DIVERGED (exact)  reports: out/req_1"; got != want {
		t.Errorf("Text() = %q; want %q", got, want)
	}
	// A record that could not be read has no request id: no stray space.
	o = Outcome{Source: "nosuch.json", Verdict: verdict.Failed}
	if got, want := o.Text(), "nosuch.json: ERROR"; got != want {
		t.Errorf("Text() = %q; want %q", got, want)
	}
}
