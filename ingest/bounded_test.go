package ingest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/reprise-dev/reprise/fsread"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/record/parquettest"
)

// TestImportRefusesAmbiguousRows: a row with a key given twice (at the top
// or nested, or a dotted key that collides with a nested one) and a row
// whose timestamp is a sentinel far outside any decision are row errors
// naming the line and reason; the good row still imports.
func TestImportRefusesAmbiguousRows(t *testing.T) {
	im, in := fixture(t)
	const model, image = "registry://models/loan-approver:v2.4.1", "docker.io/mycompany/inference-loan:sha-a1b2c3d4"
	good := seedLine("req_1", in.String(), model, image, 0.87)
	lines := []string{
		good,
		`{"request_id": "req_a", ` + strings.TrimPrefix(seedLine("req_2", in.String(), model, image, 0.5), "{"),
		strings.Replace(seedLine("req_3", in.String(), model, image, 0.5), `"confidence": 0.5`, `"confidence": 0.5, "confidence": 0.9`, 1),
		strings.Replace(seedLine("req_4", in.String(), model, image, 0.5), `"output": {`, `"output.decision": "denied", "output": {`, 1),
		strings.Replace(seedLine("req_5", in.String(), model, image, 0.5), "2026-08-02T10:00:00Z", "9999-12-31T23:59:59Z", 1),
		strings.Replace(seedLine("req_6", in.String(), model, image, 0.5), "2026-08-02T10:00:00Z", "0000-01-01T00:00:00Z", 1),
		strings.Replace(seedLine("req_7", in.String(), model, image, 0.5), "2026-08-02T10:00:00Z", "1970-01-01T00:00:00Z", 1),
	}
	path := filepath.Join(t.TempDir(), "log.jsonl")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := importFile(t, im, path)
	if len(res.recs) != 1 || res.recs[0].RequestID != "req_1" {
		t.Fatalf("imported %d records, want req_1 alone; errors %v", len(res.recs), res.errs)
	}
	want := map[int64]string{
		2: `malformed JSON: duplicate key "request_id"`,
		3: `malformed JSON: duplicate key "output.confidence"`,
		4: `malformed JSON: duplicate key "output.decision"`,
		5: "timestamp: 9999-12-31T23:59:59Z is outside the accepted range [2000-01-01, 2100-01-01)",
		6: "timestamp: 0000-01-01T00:00:00Z is outside the accepted range [2000-01-01, 2100-01-01)",
		7: "timestamp: 1970-01-01T00:00:00Z is outside the accepted range [2000-01-01, 2100-01-01)",
	}
	for line, w := range want {
		if !strings.Contains(res.errs[line], w) {
			t.Errorf("line %d: error %q, want %q", line, res.errs[line], w)
		}
	}
	if len(res.errs) != len(want) {
		t.Errorf("errors %v, want lines 2-7", res.errs)
	}
}

// seedParquet is a seed-shaped Parquet log (zstd) of n rows.
func seedParquet(t *testing.T, n int) []byte {
	t.Helper()
	type row struct {
		RequestID string    `parquet:"request_id"`
		Timestamp time.Time `parquet:"timestamp,timestamp(millisecond)"`
		Model     string    `parquet:"model_version"`
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[row](&buf, parquet.Compression(&parquet.Zstd))
	ts := time.Date(2026, 8, 2, 10, 0, 0, 0, time.UTC)
	rows := make([]row, n)
	for i := range rows {
		rows[i] = row{RequestID: "req_" + strings.Repeat("x", i%7), Timestamp: ts.Add(time.Duration(i) * time.Second), Model: "m"}
	}
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestImportParquetBomb: a seed-shaped Parquet log whose first timestamp
// page declares 1 GiB (and decodes to it) is refused before a row is read:
// ErrLog and record.ErrParquetLimit, naming the file, column and row
// group, with a few MB allocated.
func TestImportParquetBomb(t *testing.T) {
	im, _ := fixture(t)
	log := seedParquet(t, 200)
	for _, c := range []struct {
		patch parquettest.Patch
		want  string
	}{
		{parquettest.Patch{Column: "timestamp", Declared: 1 << 30, Data: parquettest.ZstdZeros(1 << 30), ChunkTotal: 2 << 30},
			"column timestamp, row group 0, page 0: declares 1073741824 bytes uncompressed, over the page size limit of 67108864 bytes (--max-page-size raises it)"},
		{parquettest.Patch{Column: "timestamp", Declared: 1000, Data: parquettest.ZstdZeros(1 << 30)},
			"column timestamp, row group 0, page 0: ZSTD data decompresses to more than the"},
	} {
		bomb, err := c.patch.Apply(log)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "bomb.parquet")
		if err := os.WriteFile(path, bomb, 0o644); err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		rows := 0
		err = im.Import(context.Background(), path, func(int64, *record.Record, error) bool { rows++; return true })
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrLog) || !errors.Is(err, record.ErrParquetLimit) || rows != 0 {
			t.Fatalf("err = %v after %d rows, want ErrLog and ErrParquetLimit before any row", err, rows)
		}
		if !strings.Contains(err.Error(), path+": ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("err = %q, want the path and %q", err, c.want)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20 {
			t.Errorf("allocated %d bytes to refuse the log, want under 32 MiB", alloc)
		}
	}
}

// TestImportNotRegular: a FIFO as the log and /dev/zero as the version
// map are refused at once (ErrLog, ErrVersionMap; fsread.ErrNotRegular),
// naming the path and what it is.
func TestImportNotRegular(t *testing.T) {
	im, _ := fixture(t)
	fifo := filepath.Join(t.TempDir(), "log.jsonl")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	err := im.Import(context.Background(), fifo, func(int64, *record.Record, error) bool { return true })
	if !errors.Is(err, ErrLog) || !errors.Is(err, fsread.ErrNotRegular) || !strings.Contains(err.Error(), fifo+": is a named pipe, not a regular file") {
		t.Errorf("FIFO log: err = %v", err)
	}
	_, err = LoadVersionMap("/dev/zero")
	if !errors.Is(err, ErrVersionMap) || !errors.Is(err, fsread.ErrNotRegular) || !strings.Contains(err.Error(), "/dev/zero: is a character device, not a regular file") {
		t.Errorf("/dev/zero version map: err = %v", err)
	}
	big := filepath.Join(t.TempDir(), "versions.json")
	if err := os.WriteFile(big, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, MaxVersionMapSize+1); err != nil {
		t.Fatal(err)
	}
	_, err = LoadVersionMap(big)
	if !errors.Is(err, ErrVersionMap) || !errors.Is(err, fsread.ErrTooLarge) || !strings.Contains(err.Error(), "over the limit of 16777216 bytes") {
		t.Errorf("large version map: err = %v", err)
	}
}

// TestImportStopsWithContext: a cancelled context ends a long import with
// context.Canceled.
func TestImportStopsWithContext(t *testing.T) {
	im, _ := fixture(t)
	path := filepath.Join(t.TempDir(), "log.jsonl")
	if err := os.WriteFile(path, bytes.Repeat([]byte(`{"request_id": "r"}`+"\n"), 100000), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rows := 0
	err := im.Import(ctx, path, func(int64, *record.Record, error) bool {
		if rows++; rows == 10 {
			cancel()
		}
		return true
	})
	if !errors.Is(err, context.Canceled) || rows != 10 {
		t.Errorf("err = %v after %d rows, want context.Canceled after 10", err, rows)
	}
}
