package main

import (
	"path/filepath"
	"testing"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/evals"
)

// TestGoldenEvals pins the output of the evals verbs that need no store
// or system: show and diff of the fixture suites, a refused suite.
func TestGoldenEvals(t *testing.T) {
	st := filepath.Join(t.TempDir(), "store")
	v1, v2 := fx("suites", "loan-v1"), fx("suites", "loan-v2")
	runGolden(t, []goldenCase{
		{"evals-show-v1", []string{"--store", st, "evals", "show", v1, "--items"}, 0},
		{"evals-show-v1-json", []string{"--store", st, "evals", "show", v1, "--format", "json"}, 0},
		{"evals-diff-v1-v2", []string{"--store", st, "evals", "diff", v1, v2}, 0},
		{"evals-pack-bad-dup", []string{"--store", st, "evals", "pack", filepath.Join("testdata", "evals", "bad-dup")}, 2},
		{"evals-compare-no-args", []string{"--store", st, "evals", "compare"}, 2},
		{"evals-run-no-suite", []string{"--store", st, "evals", "run"}, 2},
	})
}

// short is a digest as the text reports print it (evals.Short).
func short(d digest.Digest) string { return evals.Short(d) }
