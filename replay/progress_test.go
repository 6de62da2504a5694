package replay

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestRateETA(t *testing.T) {
	for _, c := range []struct {
		done, left int
		elapsed    time.Duration
		upper      bool
		want       string
	}{
		{0, 100, time.Second, false, "ETA ?"},
		{10, 90, 0, false, "ETA ?"},
		{50, 150, 2 * time.Second, false, "25.0 runs/s  ETA 6s"},
		{50, 950, 2 * time.Second, true, "25.0 runs/s  ETA ≤ 38s"},
		{1000, 0, 4 * time.Second, true, "250 runs/s  ETA 0s"},
		{3, 1, 2 * time.Second, false, "1.50 runs/s  ETA 1s"},
	} {
		if got := RateETA(c.done, c.left, c.elapsed, c.upper); got != c.want {
			t.Errorf("RateETA(%d, %d, %s, %v) = %q, want %q", c.done, c.left, c.elapsed, c.upper, got, c.want)
		}
	}
}

// TestRunBar: one line per record redrawn in place, at most every
// RunBarEvery, always at the last run, ended by the next record or End
// (a sequential replay that stops early never reaches its total).
func TestRunBar(t *testing.T) {
	now := time.Unix(0, 0)
	var b bytes.Buffer
	bar := NewRunBar(&b, func() time.Time { return now }, true)
	f := bar.Record("req_a")
	for i := 1; i <= 100; i++ {
		now = now.Add(10 * time.Millisecond)
		f(i, 1000)
	}
	g := bar.Record("req_b") // req_a stopped early at 100 of 1000
	now = now.Add(time.Second)
	g(10, 10)
	bar.End()
	out := b.String()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2: %q", len(lines), out)
	}
	// Draws at runs 1, 11, 21, … 91: ten, each 10 ms per run.
	if got := strings.Count(lines[0], "\r"); got != 10 {
		t.Errorf("req_a drawn %d times, want 10: %q", got, lines[0])
	}
	if !strings.Contains(lines[0], "\rreq_a: 91/1000 runs  100 runs/s  ETA ≤ 9s\x1b[K") {
		t.Errorf("req_a's last draw: %q", lines[0])
	}
	if lines[1] != "\rreq_b: 10/10 runs  10.0 runs/s  ETA 0s\x1b[K" {
		t.Errorf("req_b: %q", lines[1])
	}
	f(200, 1000) // a late run of req_a draws nothing
	if b.String() != out {
		t.Errorf("a finished record's run redrew: %q", b.String()[len(out):])
	}
}
