package compare

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
)

// BenchmarkCompare1000 compares A and B over a log of 1,000 records, 50 of
// them planted flips (B denies where A approves, each with probability 0.9;
// newFixture), 20 runs a system, through the whole of Run (sample, two
// shared sessions, journal, Finalize) with the fake runner, and reports what
// it found: planted records significant after Benjamini–Hochberg, false
// discoveries, flips, the flip share's interval and the paired test's p.
//
//	go test ./replay/compare -run '^$' -bench Compare1000 -benchtime 3x
func BenchmarkCompare1000(b *testing.B) {
	fx := newFixture(b, 1000, 20)
	var found, falseFound, flips, plantedFlips, listed int
	var lo, hi, p float64
	for i := range b.N {
		c, err := Run(context.Background(), fx.st, fx.options(filepath.Join(b.TempDir(), fmt.Sprint(i)), &fakeRunner{plantEvery: 20}))
		if err != nil {
			b.Fatal(err)
		}
		found, falseFound, plantedFlips, listed = 0, 0, 0, 0
		for _, id := range c.Remediation {
			if fx.planted[id] {
				listed++
			}
		}
		for _, d := range c.Decisions {
			if d.Flip && fx.planted[d.RequestID] {
				plantedFlips++
			}
			if d.Significant && fx.planted[d.RequestID] {
				found++
			} else if d.Significant {
				falseFound++
			}
		}
		flips, lo, hi, p = c.Counts.Flips, c.FlipShare.Lower, c.FlipShare.Upper, c.Permutation.PValue
	}
	b.ReportMetric(float64(found), "planted-found/50")
	b.ReportMetric(float64(falseFound), "false-found")
	b.ReportMetric(float64(flips), "flips")
	b.ReportMetric(float64(plantedFlips), "planted-flipped/50")
	b.ReportMetric(float64(listed), "planted-listed")
	b.ReportMetric(float64(len(fx.planted)), "planted")
	b.ReportMetric(lo, "share-lo")
	b.ReportMetric(hi, "share-hi")
	b.ReportMetric(p, "perm-p")
}

// BenchmarkFinalize1000 is Finalize alone over 1,000 simulated records of
// 20 runs a system (the per-record Fisher tests, the permutation test's
// 1999 draws, McNemar, the remediation list).
func BenchmarkFinalize1000(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	var ds []Decision
	for i := range 1000 {
		pa := 0.5 + 0.5*rng.Float64()
		pb := pa
		if i%20 == 0 {
			pb = 1 - pa
		}
		r, stored := simRecord(rng, 20, pa, pb)
		ds = append(ds, Decision{RequestID: fmt.Sprintf("req_%04d", i), Stored: &stored, A: r.A, B: r.B})
	}
	cfg := &Config{Seed: 1, Alpha: 0.05, Margin: 0.02, FDR: 0.05, Conf: 0.95}
	b.ResetTimer()
	for range b.N {
		Finalize(cfg, ds)
	}
}
