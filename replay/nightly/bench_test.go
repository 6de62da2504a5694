package nightly

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/ingest"
	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/system"
)

// benchRows is the size of the benchmark's log: REPRISE_BENCH_ROWS, default 10^6
// (the quality bar is 10^7: REPRISE_BENCH_ROWS=10000000).
func benchRows() int {
	if n, err := strconv.Atoi(os.Getenv("REPRISE_BENCH_ROWS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

var benchStart = time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)

// benchLog returns the path of the benchmark's log of n rows, in time
// order or not, writing it first when it is not there. The file lives in
// REPRISE_BENCH_DIR when set (kept for the next run: generating 10^7 rows
// takes minutes), else in a temporary folder; it is never committed.
func benchLog(b *testing.B, n int, ordered bool) string {
	return cachedBenchFile(b, "bench-log-v1", n, ordered, "", func(path string) error {
		writeBenchLog(b, path, n, ordered)
		return nil
	})
}

// cachedBenchFile returns the path of a generated log named
// <name>-<n>-<ordered|random>.parquet in REPRISE_BENCH_DIR when set (kept for
// the next run), else in a temporary folder, calling write on a temporary
// path and renaming it there when it is not yet there; by names the writer in
// the log line ("" for reprise's).
func cachedBenchFile(b *testing.B, name string, n int, ordered bool, by string, write func(path string) error) string {
	b.Helper()
	dir := os.Getenv("REPRISE_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	order := "random"
	if ordered {
		order = "ordered"
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-%d-%s.parquet", name, n, order))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	t0 := time.Now()
	if err := write(path + ".tmp"); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		b.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if by != "" {
		by = " with " + by
	}
	b.Logf("generated %d rows%s (%d MB) in %s", n, by, fi.Size()>>20, time.Since(t0).Round(time.Millisecond))
	return path
}

// writeBenchLog writes n records over 4 systems (model versions 2.4.0 to
// 2.4.3) spread over 30 days, in random time order or in time order (zstd,
// 128k-row groups).
func writeBenchLog(tb testing.TB, path string, n int, ordered bool) {
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w := record.NewParquetWriter(bw)
	rng := rand.New(rand.NewPCG(1, 2))
	var systems []system.System
	for v := range 4 {
		s := system.System{Image: system.ImageRef{Name: "registry.example.com/inference/loan", Digest: digest.FromBytes([]byte{byte(v)})},
			Model:  system.Artifact{Name: "loan-approver", Version: fmt.Sprintf("2.4.%d", v), Digest: digest.FromBytes([]byte{'m', byte(v)})},
			Config: system.Artifact{Name: "loan-params", Version: "3", Digest: digest.FromBytes([]byte("c"))}}
		s.Seal()
		systems = append(systems, s)
	}
	labels := []string{"approved", "denied", "referred"}
	in := digest.FromBytes([]byte("input"))
	for i := range n {
		l := labels[rng.IntN(3)]
		sc := rng.Float64()
		out := output.Output{Label: &l, Score: &sc}
		seed := int64(i)
		at := time.Duration(rng.Int64N(int64(30 * 24 * time.Hour)))
		if ordered {
			at = time.Duration(float64(i) / float64(n) * float64(30*24*time.Hour))
		}
		r := &record.Record{Schema: record.Schema, RequestID: fmt.Sprintf("req_%09d", i),
			Timestamp: benchStart.Add(at).Truncate(time.Microsecond),
			Input:     record.Input{Digest: in, MediaType: "application/json"}, Params: system.Params{Seed: &seed},
			System:  systems[rng.IntN(4)],
			Runtime: record.Runtime{Protocol: "jsonl-stdio", HardwareClass: "cpu/amd64/x86-64-v3"},
			Output:  record.Output{Output: out, Digest: digest.FromBytes(out.Canonical())}}
		if err := w.Write(r); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		tb.Fatal(err)
	}
	f.Close()
}

// benchQuery is the query: model version, score and the last day,
// then a reservoir sample of 1000.
func benchQuery(tb testing.TB, path string) *Config {
	where, err := ingest.CompileWhere(`model.version == "2.4.1" && output.score < 0.7`)
	if err != nil {
		tb.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		tb.Fatal(err)
	}
	end := benchStart.Add(30 * 24 * time.Hour)
	opts := Options{Log: path, Sample: 1000, Seed: 1,
		Filter: ingest.Filter{Where: where, Time: record.TimeRange{Since: end.Add(-24 * time.Hour), Until: end}}}
	cfg := &Config{Selection: Selection{LogSize: fi.Size()}}
	if _, err := draw(opts, cfg); err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// BenchmarkScanFilterSample scans, filters and samples a generated log
// (the quality bar of issue 12): rows in random time order ("random"), and
// in time order, where the time filter skips row groups by their
// statistics ("ordered"); each as reprise writes the log (32 KiB pages,
// a page index, zstd) and as DuckDB does ("duckdb-like", written by
// arrow-go: large pages, no page index, snappy; see duckLog). Besides ns/op it reports rows/s (rows in the log
// per second) and the peak resident memory of one scan in a fresh process
// (peak-RSS-MB, VmHWM).
func BenchmarkScanFilterSample(b *testing.B) {
	n := benchRows()
	for _, c := range []struct {
		name    string
		ordered bool
		log     func(*testing.B, int, bool) string
	}{
		{"random", false, benchLog}, {"ordered", true, benchLog},
		{"duckdb-like/random", false, duckLog}, {"duckdb-like/ordered", true, duckLog},
	} {
		b.Run(c.name, func(b *testing.B) {
			path := c.log(b, n, c.ordered)
			var cfg *Config
			for b.Loop() {
				cfg = benchQuery(b, path)
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.Logf("scanned %d rows, selected %d, sampled %d", cfg.Scanned, cfg.Selected, len(cfg.Records))
			// Peak resident memory of the scan alone, in a fresh process.
			cmd := exec.Command(os.Args[0], "-test.run=^TestBenchScanChild$", "-test.v")
			cmd.Env = append(os.Environ(), "REPRISE_BENCH_SCAN="+path)
			out, err := cmd.CombinedOutput()
			if err != nil {
				b.Fatalf("child: %v\n%s", err, out)
			}
			for _, l := range strings.Split(string(out), "\n") {
				if v, ok := strings.CutPrefix(l, "peak-rss-kb "); ok {
					kb, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
					if err != nil {
						b.Fatalf("child: %q", l)
					}
					b.ReportMetric(kb/1024, "peak-RSS-MB")
				} else if strings.HasPrefix(l, "scan ") {
					b.Logf("child: %s", l)
				}
			}
		})
	}
}

// TestBenchScanChild runs one scan and prints its time and peak RSS
// (VmHWM); only as the benchmark's child.
func TestBenchScanChild(t *testing.T) {
	path := os.Getenv("REPRISE_BENCH_SCAN")
	if path == "" {
		t.Skip("only run by BenchmarkScanFilterSample (REPRISE_BENCH_SCAN unset)")
	}
	t0 := time.Now()
	cfg := benchQuery(t, path)
	el := time.Since(t0)
	st, _ := os.ReadFile("/proc/self/status")
	hwm := ""
	for _, l := range strings.Split(string(st), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			hwm = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB"))
		}
	}
	if hwm == "" {
		t.Fatal("no VmHWM in /proc/self/status")
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	fmt.Printf("scan %s (CPU %s), peak RSS %s kB, scanned %d, selected %d, sampled %d\n", el.Round(time.Millisecond), cpu.Round(time.Millisecond), hwm, cfg.Scanned, cfg.Selected, len(cfg.Records))
	fmt.Printf("peak-rss-kb %s\n", hwm)
}
