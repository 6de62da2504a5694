package record

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/reprise-dev/reprise/record/parquettest"
)

// smallLog is a zstd decision log of n rows.
func smallLog(t *testing.T, n int) []byte {
	t.Helper()
	base := validRecord(t)
	var buf bytes.Buffer
	w := NewParquetWriter(&buf)
	for i := range n {
		r := *base
		r.RequestID = fmt.Sprintf("req_%04d", i)
		r.Timestamp = base.Timestamp.Add(time.Duration(i) * time.Second)
		if err := w.Write(&r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readLog opens and scans the log as nightly and record import do.
func readLog(data []byte, lim ParquetLimits) error {
	l, err := OpenParquetLogContext(context.Background(), bytes.NewReader(data), int64(len(data)), lim)
	if err != nil {
		return err
	}
	return l.Scan(ScanOptions{}, func(int64, *Record, error) bool { return true })
}

// TestParquetBombs: a page that declares, or decodes to, 1 GiB is refused
// before parquet-go allocates it, naming column, row group and page, in
// well under a second and with a few MB allocated in all.
func TestParquetBombs(t *testing.T) {
	const gib = 1 << 30
	log := smallLog(t, 300)
	patch := func(p parquettest.Patch) []byte {
		b, err := p.Apply(log)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	bomb := parquettest.ZstdZeros(gib)
	twice := func(ps ...parquettest.Patch) []byte {
		b := log
		for _, p := range ps {
			var err error
			if b, err = p.Apply(b); err != nil {
				t.Fatal(err)
			}
		}
		return b
	}
	const mib40 = 40 << 20
	cases := []struct {
		name string
		file []byte
		lim  ParquetLimits
		want string
	}{
		{"declared over the chunk", patch(parquettest.Patch{Column: "timestamp", Declared: gib, Data: bomb}),
			ParquetLimits{}, "column timestamp, row group 0, page 0: declares 1073741824 bytes uncompressed, more than its column chunk's total_uncompressed_size"},
		{"declared over the cap", patch(parquettest.Patch{Column: "timestamp", Declared: gib, Data: bomb, ChunkTotal: 2 * gib}),
			ParquetLimits{}, "column timestamp, row group 0, page 0: declares 1073741824 bytes uncompressed, over the page size limit of 67108864 bytes (--max-page-size raises it)"},
		{"decodes to more than declared", patch(parquettest.Patch{Column: "timestamp", Declared: 1000, Data: bomb}),
			ParquetLimits{}, "column timestamp, row group 0, page 0: ZSTD data decompresses to more than the 995 bytes it declares"},
		{"a second column", patch(parquettest.Patch{Column: "output_label", Declared: 1000, Data: bomb}),
			ParquetLimits{MaxPageSize: 2 * gib}, "column output_label, row group 0, page 0: ZSTD data decompresses to more than the 995 bytes it declares"},
		{"pages adding up", twice(parquettest.Patch{Column: "timestamp", Declared: mib40, Data: parquettest.ZstdZeros(mib40), ChunkTotal: gib},
			parquettest.Patch{Column: "output_label", Declared: mib40, Data: parquettest.ZstdZeros(mib40), ChunkTotal: gib}),
			ParquetLimits{}, "row group 0: the largest pages of its columns add up to"},
		{"a small cap", log, ParquetLimits{MaxPageSize: 64}, "over the page size limit of 64 bytes (--max-page-size raises it)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			err := readLog(c.file, c.lim)
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			var pe *PageError
			if !errors.As(err, &pe) || !errors.Is(err, ErrParquetLimit) {
				t.Fatalf("err = %v, want a *PageError", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %q, want it to contain %q", err, c.want)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20 {
				t.Errorf("allocated %d bytes to refuse the file, want under 32 MiB", alloc)
			}
			if elapsed > time.Second {
				t.Errorf("took %v, want under a second", elapsed)
			}
		})
	}
}

// TestParquetCheckPasses: logs that parquet-go writes (zstd; and the same
// log with an honest patched header) pass the check and read whole.
func TestParquetCheckPasses(t *testing.T) {
	log := smallLog(t, 3000)
	if err := CheckParquet(context.Background(), bytes.NewReader(log), int64(len(log)), ParquetLimits{}); err != nil {
		t.Fatal(err)
	}
	recs, errs := scanAll(t, log, ScanOptions{})
	if len(recs) != 3000 || len(errs) != 0 {
		t.Fatalf("read %d records, %d errors", len(recs), len(errs))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := CheckParquet(ctx, bytes.NewReader(log), int64(len(log)), ParquetLimits{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled check: err = %v", err)
	}
}
