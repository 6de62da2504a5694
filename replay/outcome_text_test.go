package replay

import (
	"testing"

	"github.com/reprise-dev/reprise/verdict"
)

func TestOutcomeText(t *testing.T) {
	for _, c := range []struct {
		o    Outcome
		want string
	}{
		{Outcome{Source: "r.json", RequestID: "req_1", Verdict: verdict.Reproduced}, "r.json req_1: REPRODUCED"},
		{Outcome{Source: "r.json", RequestID: "req_1", Verdict: verdict.Diverged, Basis: "exact", Reports: "out/req_1"}, "r.json req_1: DIVERGED (exact)  reports: out/req_1"},
	} {
		if got := c.o.Text(); got != c.want {
			t.Errorf("Text() = %q; want %q", got, c.want)
		}
	}
}
