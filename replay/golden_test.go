package replay

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestReportMarkdownGolden renders the report of a fixed replay (fake system,
// fixed clock) and compares it with testdata/report.golden.md
// (go test ./replay -run Golden -update rewrites it).
func TestReportMarkdownGolden(t *testing.T) {
	sys := &fakeSystem{labels: []string{"approved", "denied", "referred"}, probs: []float64{0.8, 0.15, 0.05}, failAt: -1}
	st, rec := newRecord(t, sys, 42, "approved", 0.8)
	now := fixedClock()
	res := replayOn(t, st, rec, sys, Options{N: 40, Now: now})
	checkGolden(t, "report.golden.md", res.Report.Markdown())
}

// TestReportMarkdownHostileGolden: a label that tries to forge a heading,
// clear the screen, inject HTML and break the table is rendered inert
// (testdata/report.hostile.golden.md).
func TestReportMarkdownHostileGolden(t *testing.T) {
	hostile := "approved\n# REPRODUCED\x1b[2J<b>x</b>|\x00\u009b31m[link](http://x)"
	sys := &fakeSystem{labels: []string{hostile, "denied"}, probs: []float64{0.8, 0.2}, failAt: -1}
	st, rec := newRecord(t, sys, 42, hostile, 0.8)
	now := fixedClock()
	res := replayOn(t, st, rec, sys, Options{N: 20, Now: now})
	res.Report.Error = "run 3: system crashed (stderr: \x1b[31mREPRODUCED\x1b[0m\n## Verdict: REPRODUCED)"
	got := res.Report.Markdown()
	for _, bad := range []string{"\n# REPRODUCED", "\n## Verdict", "\x1b", "\x00", "\u009b", "<b>", "x</b>|", "[link]("} {
		if strings.Contains(got, bad) {
			t.Errorf("report.md contains %q", bad)
		}
	}
	checkGolden(t, "report.hostile.golden.md", got)
}

// fixedClock is a clock that starts at 2026-11-22 12:00 UTC and advances
// 10 ms on every reading, so the reports' times are the same on every run.
func fixedClock() func() time.Time {
	clock := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	return func() time.Time { clock = clock.Add(10 * time.Millisecond); return clock }
}

// checkGolden compares a rendered report with testdata/name (-update
// rewrites it).
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("report.md differs from %s (run with -update if intended):\n%s", golden, got)
	}
}
