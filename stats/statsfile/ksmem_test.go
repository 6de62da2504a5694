package statsfile

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/reprise-dev/reprise/stats"
)

// writeNormals writes n normal draws (mean mu), one per line, to a file.
func writeNormals(tb testing.TB, name string, n int, mu float64, seed uint64) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriter(f)
	rng := rand.New(rand.NewPCG(seed, 1))
	for range n {
		fmt.Fprintln(w, mu+rng.NormFloat64())
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	f.Close()
	return path
}

// TestKSMemory: ks on two files of 10^6 values allocates at most 40 MB in
// all (the two samples, 16 MB, the chunks they are read in, 16 MB, and the
// scanner): it sorts the samples it read in place, where sorted copies
// cost 16 MB more. Its answer is KolmogorovSmirnov's on the same values.
func TestKSMemory(t *testing.T) {
	const n = 1_000_000
	p := &Params{A: writeNormals(t, "a.txt", n, 0, 1), B: writeNormals(t, "b.txt", n, 0.01, 2), Alternative: "two-sided", Method: "auto"}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got, err := rankTest{false, runKS}.run(p)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("ks on 2 × 10^6 values: %.1f MB allocated", float64(alloc)/1e6)
	if alloc > 40e6 {
		t.Errorf("ks on 2 × 10^6 values allocated %.1f MB, over 40 MB", float64(alloc)/1e6)
	}
	a, _ := ReadNumbers(p.A)
	b, _ := ReadNumbers(p.B)
	want, err := stats.KolmogorovSmirnov(a, b, stats.TwoSided, stats.PValueAuto)
	if err != nil {
		t.Fatal(err)
	}
	if r := got.(SampleResult); r.Statistic != want.Statistic || r.PValue != want.PValue {
		t.Errorf("in place: D %v p %v; with copies: D %v p %v", r.Statistic, r.PValue, want.Statistic, want.PValue)
	}
}
