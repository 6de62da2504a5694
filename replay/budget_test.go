package replay

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/verdict"
)

// TestBudgetWarning: a replay whose runs cannot let the label check call
// the stored label DIVERGED is warned before it runs, with the runs it
// would need: at the default alpha 0.01 over the label and score checks
// (level 0.005) and minimum frequency 0.01, (1−0.01)^N ≤ 0.005 needs N =
// 528 (ln 0.005 / ln 0.99 = 527.2).
func TestBudgetWarning(t *testing.T) {
	_, rec := newRecord(t, &fakeSystem{}, 1, "a", 0.5)
	for _, c := range []struct {
		opts Options
		want string
	}{
		{Options{N: 100}, "-n 100 is too few for the label check ever to call the stored label DIVERGED: that needs at least 528 runs at its level 0.005 (alpha 0.01 over 2 checks)"},
		{Options{N: 528}, ""},
		{Options{Sequential: true, MaxRuns: 200}, "--max-runs 200 is too few"},
		{Options{Sequential: true}, ""}, // the default cap, 1000
	} {
		o := c.opts
		o.defaults()
		got := budgetWarning(rec, o, nil)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%+v: warning %q, want %q", c.opts, got, c.want)
		}
	}
	if n := verdict.RunsToRejectNever(verdict.Rules{Alpha: 0.005, MinFrequency: 0.01}); n != 528 {
		t.Fatalf("RunsToRejectNever = %d, want 528", n)
	}
	rec.Output.Label = nil
	if got := budgetWarning(rec, Options{N: 10, Rules: verdict.DefaultRules()}, nil); got != "" {
		t.Errorf("no label: %q", got)
	}
}

// TestInterruptedReport: a replay stopped by its context (Ctrl-C) reports
// ERROR with "interrupted", not "context canceled".
func TestInterruptedReport(t *testing.T) {
	st, rec := newRecord(t, &fakeSystem{}, 1, "a", 0.5)
	p, err := Prepare(context.Background(), st, rec, Options{N: 100})
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Fail(fmt.Errorf("run 7: %w", context.Canceled), Options{N: 100})
	if !errors.Is(err, context.Canceled) || res.Report.Verdict != verdict.Failed ||
		!strings.HasPrefix(res.Report.Error, "interrupted (Ctrl-C or SIGTERM) after 0 runs") || strings.Contains(res.Report.Error, "context canceled") {
		t.Fatalf("err %v, report error %q", err, res.Report.Error)
	}
	if md := res.Report.Markdown(); !strings.Contains(md, "interrupted (Ctrl-C or SIGTERM)") {
		t.Fatalf("report.md does not say interrupted:\n%s", md)
	}
}
