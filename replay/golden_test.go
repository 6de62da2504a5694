package replay

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/reprise-dev/reprise/launch"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestReportMarkdownGolden renders the report of a fixed replay (fake system,
// fixed clock) and compares it with testdata/report.golden.md
// (go test ./replay -run Golden -update rewrites it).
func TestReportMarkdownGolden(t *testing.T) {
	sys := &fakeSystem{labels: []string{"approved", "denied", "referred"}, probs: []float64{0.8, 0.15, 0.05}, failAt: -1}
	st, rec := newRecord(t, sys, 42, "approved", 0.8)
	clock := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { clock = clock.Add(10 * time.Millisecond); return clock }
	res, err := Replay(context.Background(), st, rec, sys, Options{N: 40, Launch: launch.Options{HostClass: hw}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	got := []byte(res.Report.Markdown())
	golden := filepath.Join("testdata", "report.golden.md")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("report.md differs from %s (run with -update if intended):\n%s", golden, got)
	}
}
