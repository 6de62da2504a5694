package replay

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/verdict"
)

// TestOutOfStepInvalidatesTheSeedProbe: the pinned seed does not give
// back the stored label, so the seed probe runs the pinned seed again (run
// 1); the session is then found out of step since run 1. The probe's run
// is invalid, its finding leaves the report with a note; the pinned run
// before it stays.
func TestOutOfStepInvalidatesTheSeedProbe(t *testing.T) {
	sys := &errorSystem{fakeSystem: fakeSystem{labels: []string{"a", "b"}, probs: []float64{0.5, 0.5}, failAt: -1}, oosAt: 5, since: 1}
	probe := &fakeSession{sys: &sys.fakeSystem}
	pinned, _ := probe.answer(1)
	other := "a"
	if pinned == "a" {
		other = "b"
	}
	st, rec := newRecord(t, &sys.fakeSystem, 1, other, 0.5)
	res, err := Replay(context.Background(), st, rec, sys, Options{N: 10, Launch: launch.Options{HostClass: hw}})
	if !errors.Is(err, runners.ErrProtocol) || res.Report.Verdict != verdict.Failed {
		t.Fatalf("err %v, verdict %s", err, res.Report.Verdict)
	}
	if ex := res.Report.Exact; ex == nil || ex.SeedProbe != nil {
		t.Fatalf("exact %+v: want the pinned run kept and the probe dropped", ex)
	}
	if r := res.Runs[1]; r.Kind != "pinned" || r.Outcome != OutcomeInvalid {
		t.Fatalf("run 1 (the probe): %+v", r)
	}
	if r := res.Runs[0]; r.Outcome == OutcomeInvalid {
		t.Fatalf("run 0 (before the fault) was invalidated: %+v", r)
	}
	if !slices.ContainsFunc(res.Report.Notes, func(n string) bool { return strings.Contains(n, "seed probe's second pinned-seed run was invalidated") }) {
		t.Fatalf("no note on the probe: %q", res.Report.Notes)
	}
}
