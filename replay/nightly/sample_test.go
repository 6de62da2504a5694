package nightly

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/ingest"
	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/system"
)

// TestSampleKeyIsSplitMix64: SampleKey(seed, r) is the r-th output of
// SplitMix64 seeded with seed. Reference values from the reference
// implementation (Vigna, prng.di.unimi.it/splitmix64.c): seed 0 gives
// 0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f; seed 1234567
// gives 6457827717110365317, 3203168211198807973, 9817491932198370423.
func TestSampleKeyIsSplitMix64(t *testing.T) {
	want := map[uint64][]uint64{
		0:       {0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f},
		1234567: {6457827717110365317, 3203168211198807973, 9817491932198370423},
	}
	for seed, w := range want {
		for i, v := range w {
			if got := SampleKey(seed, int64(i+1)); got != v {
				t.Errorf("SampleKey(%d, %d) = %#x, want %#x", seed, i+1, got, v)
			}
		}
	}
}

// TestReservoirIsUniform draws 10 of 50 rows with 20000 seeds (pinned:
// 0..19999, so the test is deterministic); each row's inclusion count is
// Binomial(20000, 0.2) under a uniform sample: mean 4000, sd 56.6. A bound
// of 6 sd fails by chance with probability < 50 * 2e-9 = 1e-7.
func TestReservoirIsUniform(t *testing.T) {
	const n, k, draws = 50, 10, 20000
	counts := make([]int, n)
	for seed := range uint64(draws) {
		r := NewReservoir(k, seed)
		for row := range int64(n) {
			r.Offer(stratumKey{}, row+1)
		}
		_, rows, trunc := r.sorted()
		if len(rows) != 1 || len(rows[0]) != k || !trunc[0] {
			t.Fatalf("seed %d: %d strata, %d rows", seed, len(rows), len(rows[0]))
		}
		for _, c := range rows[0] {
			counts[c.row-1]++
		}
	}
	mean := float64(draws) * k / n
	sd := math.Sqrt(mean * (1 - float64(k)/n))
	for i, c := range counts {
		if math.Abs(float64(c)-mean) > 6*sd {
			t.Errorf("row %d drawn %d times, want %.0f ± %.0f", i+1, c, mean, 6*sd)
		}
	}
}

// TestReservoirMergeIsOrderFree: offering rows in any order, split in any
// way and merged, keeps the same rows.
func TestReservoirMergeIsOrderFree(t *testing.T) {
	one := NewReservoir(7, 3)
	for row := int64(1); row <= 500; row++ {
		one.Offer(stratumKey{"a", "x"}, row)
	}
	parts := []*Reservoir{NewReservoir(7, 3), NewReservoir(7, 3), NewReservoir(7, 3)}
	for row := int64(500); row >= 1; row-- {
		parts[row%3].Offer(stratumKey{"a", "x"}, row)
	}
	parts[0].Merge(parts[1])
	parts[0].Merge(parts[2])
	_, a, ta := one.sorted()
	_, b, tb := parts[0].sorted()
	if !slices.Equal(a[0], b[0]) || !ta[0] || !tb[0] || parts[0].strata[stratumKey{"a", "x"}].seen != 500 {
		t.Errorf("merged %v, want %v", b, a)
	}
}

// sampleLog writes n records over 3 systems (model versions 0..2, one
// hardware class each), 1 s apart, in row groups of 128 rows and 1 KiB
// pages. Every 9th record has a NULL config digest and every 6th a bad
// hardware class (not valid records), every 4th no score. It returns the
// records as written.
func sampleLog(t *testing.T, n int) ([]byte, []*record.Record, time.Time) {
	t.Helper()
	t0 := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	var systems []system.System
	for v := range 3 {
		s := system.System{Image: system.ImageRef{Name: "registry.example.com/loan", Digest: digest.FromBytes([]byte{byte(v)})},
			Model:  system.Artifact{Name: "loan", Version: fmt.Sprint(v), Digest: digest.FromBytes([]byte{'m', byte(v)})},
			Config: system.Artifact{Name: "c", Version: "1", Digest: digest.FromBytes([]byte("c"))}}
		s.Seal()
		systems = append(systems, s)
	}
	in := digest.FromBytes([]byte("input"))
	var buf bytes.Buffer
	w := record.NewParquetWriter(&buf, parquet.MaxRowsPerRowGroup(128), parquet.PageBufferSize(1<<10))
	var recs []*record.Record
	for i := range n {
		l := "approved"
		out := output.Output{Label: &l}
		if i%4 != 2 {
			sc := float64(i%97) / 97
			out.Score = &sc
		}
		r := &record.Record{Schema: record.Schema, RequestID: fmt.Sprintf("req_%05d", i), Timestamp: t0.Add(time.Duration(i) * time.Second),
			Input: record.Input{Digest: in, MediaType: "application/json"}, System: systems[i%3],
			Runtime: record.Runtime{Protocol: "jsonl-stdio", HardwareClass: fmt.Sprintf("cpu/amd64/x86-64-v%d", i%3+1)},
			Output:  record.Output{Output: out, Digest: digest.FromBytes(out.Canonical())}}
		if i%9 == 4 {
			r.System.Config.Digest = digest.Digest{}
		}
		if i%6 == 2 { // half of version 2: many invalid drawn rows
			r.Runtime.HardwareClass = "cpu/2"
		}
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), recs, t0
}

// TestDrawSampleIsBottomK checks the two-pass draw against the definition:
// the k valid selected rows with the smallest keys (per system when
// stratified), the invalid rows met before them listed, the rows the filter
// cannot judge listed, the same for 1 and 3 workers.
func TestDrawSampleIsBottomK(t *testing.T) {
	const n = 2000
	data, recs, t0 := sampleLog(t, n)
	l, err := record.OpenParquetLog(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	where, err := ingest.CompileWhere(`model.version != "0" && output.score < 0.8`)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		f        ingest.Filter
		k        int
		stratify bool
	}{
		{"where", ingest.Filter{Where: where}, 50, false},
		{"where+time", ingest.Filter{Where: where, Time: record.TimeRange{Since: t0.Add(500 * time.Second), Until: t0.Add(1300 * time.Second)}}, 40, false},
		{"stratified", ingest.Filter{Where: where}, 30, true},
		{"all of few", ingest.Filter{Time: record.TimeRange{Until: t0.Add(60 * time.Second)}}, 0, false},
		{"more than there are", ingest.Filter{Where: where, Time: record.TimeRange{Until: t0.Add(300 * time.Second)}}, 500, true},
	}
	for _, c := range cases {
		for _, seed := range []uint64{1, 99} {
			// The definition, from the records as written.
			type cand struct {
				key uint64
				row int64
			}
			strata := map[string][]cand{}
			var wantErrs []int64
			var selected int64
			for i, r := range recs {
				row := int64(i + 1)
				keep, kerr := c.f.Keep(r)
				if kerr != nil {
					wantErrs = append(wantErrs, row)
					continue
				}
				if !keep {
					continue
				}
				selected++
				st := ""
				if c.stratify {
					st = SystemKey(r)
				}
				strata[st] = append(strata[st], cand{SampleKey(seed, row), row})
			}
			var want []string
			for _, cs := range strata {
				slices.SortFunc(cs, func(a, b cand) int {
					if a.key != b.key {
						return cmpU(a.key, b.key)
					}
					return int(a.row - b.row)
				})
				got := 0
				for _, x := range cs {
					if c.k > 0 && got == c.k {
						break
					}
					if len(recs[x.row-1].Validate()) > 0 { // invalid: listed, replaced
						wantErrs = append(wantErrs, x.row)
						continue
					}
					want = append(want, recs[x.row-1].RequestID)
					got++
				}
			}
			slices.Sort(want)
			slices.Sort(wantErrs)
			for _, workers := range []int{1, 3} {
				d, err := drawSample(l, c.f, c.k, c.stratify, seed, workers)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, r := range d.Records {
					got = append(got, r.RequestID)
				}
				slices.Sort(got)
				var gotErrs []int64
				for _, e := range d.Listed {
					gotErrs = append(gotErrs, e.Row)
				}
				if len(d.Listed) > 0 && testing.Verbose() {
					t.Logf("first row error: %v", &d.Listed[0])
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s seed %d workers %d: sample %v\nwant %v", c.name, seed, workers, got, want)
				}
				if !slices.Equal(gotErrs, wantErrs[:min(len(wantErrs), MaxRowErrors)]) || d.RowErrors != int64(len(wantErrs)) {
					t.Errorf("%s seed %d workers %d: %d row errors %v\nwant %d %v", c.name, seed, workers, d.RowErrors, gotErrs, len(wantErrs), wantErrs)
				}
				if d.Selected != selected {
					t.Errorf("%s: selected %d, want %d", c.name, d.Selected, selected)
				}
				if len(want) == 0 {
					t.Errorf("%s: empty sample, a test that cannot fail", c.name)
				}
			}
		}
	}
}

func cmpU(a, b uint64) int {
	if a < b {
		return -1
	}
	return 1
}
