package main

import (
	"path/filepath"
	"testing"
)

// TestGoldenNightlyHistory: `nightly history` over the hand-made nights of
// testdata/nightly-history: tonight's rate and fleet share differ and the
// server's fingerprint changed (exit 1); three consistent nights (exit 0);
// a folder that is not a night and a single night (exit 2).
func TestGoldenNightlyHistory(t *testing.T) {
	d := func(n string) string { return filepath.Join("testdata", "nightly-history", n) }
	runGolden(t, []goldenCase{
		{"nightly-history-help", []string{"nightly", "history", "--help"}, 0},
		{"nightly-history-changed", []string{"nightly", "history", d("2026-08-03"), d("2026-08-01"), d("2026-08-02")}, 1},
		{"nightly-history-changed-json", []string{"nightly", "history", "--format", "json", d("2026-08-01"), d("2026-08-02"), d("2026-08-03")}, 1},
		{"nightly-history-same", []string{"nightly", "history", d("2026-08-01"), d("2026-08-02"), d("2026-08-04-same")}, 0},
		{"nightly-history-not-a-night", []string{"nightly", "history", d("2026-08-01"), "testdata"}, 2},
		{"nightly-history-one", []string{"nightly", "history", d("2026-08-01")}, 2},
	})
}
